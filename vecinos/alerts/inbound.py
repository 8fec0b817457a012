"""SMS keywords of the alerts app, registered with messaging's inbound router.

priority  name              what
  1010    alerts.stop       STOP / ALTO / BAJA (+ STOPALL, UNSUBSCRIBE, END, QUIT): opt out of
                            everything, at once, for every organization
  1005    alerts.start      START / INICIO / UNSTOP: lift the opt-out (audited)
  1000    alerts.help       HELP / AYUDA / INFO: what this number is, and the keywords
    95    alerts.join       JOIN / UNIRME + ZIP code or place: a pending subscription
    95    alerts.language   ESPAÑOL / ENGLISH / 한국어 / TIẾNG VIỆT ... (each language's name):
                            the language we write in
    85    alerts.confirm    YES / SÍ / OO / 네 / はい ... (every shipped language) from a number
                            with a pending subscription (double opt-in)
    60    alerts.ack        1 / OK / the yes words: the latest unacknowledged alert sent there
voice     alert             the alert call: message + "press 1" (alerts/voice.py)

STOP, START and HELP sit above everything (carrier rules: they must work in the middle of any
conversation). JOIN and the language words sit above a report in progress (90): neither is a
plausible answer to "where?" or "how many?". A pending subscription's YES comes before an
acknowledgement: it answers the question asked most recently of someone not yet subscribed.

A keyword counts when it is the first word of a short message (at most three words, as in
reports' reserved words), so "Alto" opening a long report is still a report. Replies go out in
the language the person chose (their subscription's, their member profile's, or the one they
named by SMS before subscribing, which their SMS contact point keeps), else the language of the
keyword they used: English keywords work in every language and switch nobody to English (the
flyers in every language say JOIN), and a JOIN keeps the chosen language for the subscription.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vecinos.alerts import services, voice
from vecinos.alerts.models import AlertRecipient, OptOut, Subscriber
from vecinos.core import languages
from vecinos.core.audit import audit
from vecinos.messaging import selectors as messaging_selectors
from vecinos.messaging import services as messaging
from vecinos.messaging.inbound import REPLY_LANGUAGES, InboundSms, register_sms, register_voice
from vecinos.messaging.models import Channel

EN, ES = "en", "es"
# STOP / START / HELP / JOIN in every shipped language: the one table in core.languages.
STOP_WORDS = languages.sms_keywords("stop")
START_WORDS = languages.sms_keywords("start")
HELP_WORDS = languages.sms_keywords("help")
JOIN_WORDS = languages.sms_keywords("join")
# Reply words too (YES / SÍ / 네 / はい ..., the languages' own names): the same table.
LANGUAGE_WORDS = languages.sms_keywords("language")
CONFIRM_WORDS = languages.sms_keywords("yes")
ACK_WORDS = {**CONFIRM_WORDS, "1": "", "OK": "", "OKAY": ""}
MAX_KEYWORD_WORDS = 3
POLITE_WORDS = {"PLEASE", "PLS", "POR", "FAVOR", "GRACIAS", "THANKS"}
ZIP_RADIUS_M = 1500
CODE_LENGTH = 6  # services.subscribe's confirm_code (the web sign-up texts it to the phone)
MAX_PLACE_TEXT = 60


def keyword(msg: InboundSms, vocabulary: dict[str, str]) -> str | None:
    found = languages.match_keyword(msg.body, vocabulary, max_words=MAX_KEYWORD_WORDS)
    return found[0] if found is not None else None


def subscriber_of(msg: InboundSms) -> Subscriber | None:
    if not msg.from_index:
        return None
    return Subscriber.objects.filter(phone_index=msg.from_index).first()


def chosen_language(msg: InboundSms, sub: Subscriber | None) -> str:
    """The language this person chose, "" when none we write in: their subscription's, else
    their member profile's, else the one their SMS contact point keeps (a language's name they
    texted before subscribing, an event's sign-up)."""
    if sub is not None and sub.language in REPLY_LANGUAGES:
        return sub.language
    preferred = getattr(msg.member, "preferred_language", "")
    if preferred in REPLY_LANGUAGES:
        return preferred
    kept = messaging_selectors.contact_language(Channel.SMS, msg.from_index)
    return kept if kept in REPLY_LANGUAGES else ""


def reply_language(msg: InboundSms, sub: Subscriber | None, hint: str = "") -> str:
    """The language the person chose, else the keyword's, else a guess."""
    chosen = chosen_language(msg, sub)
    if chosen:
        return chosen
    return hint if hint in REPLY_LANGUAGES else msg.language


def rest_after_first_word(text: str) -> str:
    return re.sub(r"^\W*\w+[\s:,.;!-]*", "", text or "", count=1).strip()


# --- Texts (gettext; the caller activates the reply language) -----------------------------------


def stopped_text() -> str:
    return _(
        "Vecinos: you are unsubscribed and will get no more messages from us. "
        "Reply START to come back."
    )


def welcome_back_text() -> str:
    return _("Vecinos: welcome back. You will get alerts again. Reply STOP to stop, HELP for help.")


def already_subscribed_text() -> str:
    return _("Vecinos: you are already subscribed to alerts. Reply STOP to stop, HELP for help.")


def messages_again_text() -> str:
    return _(
        "Vecinos: you can get messages from us again. To get alerts, text JOIN and your "
        "ZIP code, for example JOIN 90033."
    )


def help_text() -> str:
    return _(
        "Vecinos community alerts. Text JOIN and your ZIP code to get alerts for your area, "
        "STOP to stop them, REPORT and what you see to report immigration enforcement, and 1 to "
        "confirm you got an alert. ESPAÑOL for Spanish."
    )


def ask_zip_text() -> str:
    return _(
        "Vecinos: to get alerts, reply JOIN and your 5-digit ZIP code, for example JOIN 90033."
    )


def unknown_zip_text(zip_code: str) -> str:
    return _(
        "Vecinos: we do not know the ZIP code %(zip)s. Check it and reply JOIN and your ZIP "
        "code, for example JOIN 90033."
    ) % {"zip": zip_code}


def unknown_place_text() -> str:
    return _(
        "Vecinos: we could not find that place. Reply JOIN and your 5-digit ZIP code, "
        "for example JOIN 90033."
    )


def zip_area_name(zip_code: str) -> str:
    return _("ZIP code %(zip)s") % {"zip": zip_code}


def confirm_question_text(area: str) -> str:
    return _(
        "Vecinos: reply YES to get alerts for %(area)s. Msg & data rates may apply. "
        "Reply STOP to cancel."
    ) % {"area": area}


def area_added_text(area: str) -> str:
    return _("Vecinos: you will now also get alerts for %(area)s. Reply STOP to stop.") % {
        "area": area
    }


def subscribed_text(areas: str) -> str:
    if areas:
        return _(
            "Vecinos: you are subscribed to alerts for %(area)s. Reply STOP to stop, HELP for help."
        ) % {"area": areas}
    return _("Vecinos: you are subscribed to alerts. Reply STOP to stop, HELP for help.")


def language_text(subscribed: bool) -> str:
    if subscribed:
        return _("Vecinos: from now on we will write to you in this language.")
    return _(
        "Vecinos: we will answer you in this language. To get alerts, text JOIN and your "
        "ZIP code, for example JOIN 90033."
    )


def ack_text() -> str:
    return _("Vecinos: thanks, we know you got it.")


def ack_again_text() -> str:
    return _("Vecinos: thanks, we already have your confirmation.")


# --- STOP / START / HELP ------------------------------------------------------------------------


def handle_stop(msg: InboundSms) -> str | None:
    word = keyword(msg, STOP_WORDS)
    if word is None or not msg.from_index:
        return None
    sub = subscriber_of(msg)
    lang = reply_language(msg, sub, STOP_WORDS[word])
    # Cancels this phone's queued deliveries too: a STOP in the middle of a fan-out wins.
    services.opt_out(index=msg.from_index)
    with translation.override(lang):
        return stopped_text()


def _lift_opt_out(index: str) -> bool:
    """A number with no subscription that says START: it may receive messages again."""
    deleted, _rows = OptOut.objects.filter(phone_index=index).delete()
    if deleted:
        messaging.contacts_enable(address_index=index)
    return bool(deleted)


def handle_start(msg: InboundSms) -> str | None:
    word = keyword(msg, START_WORDS)
    if word is None or not msg.from_index:
        return None  # (before any savepoint: every inbound message passes here, twice)
    with transaction.atomic():
        return _start(msg, word)


def _start(msg: InboundSms, word: str) -> str:
    index = msg.from_index
    sub = subscriber_of(msg)
    lang = reply_language(msg, sub, START_WORDS[word])
    was_out = services.is_opted_out(index) or (
        sub is not None and sub.status == Subscriber.Status.STOPPED
    )
    already = sub is not None and sub.status == Subscriber.Status.ACTIVE and not was_out
    if sub is not None and not already:
        # START is consent: it also confirms a JOIN that was waiting for its YES.
        services.subscription_confirm(subscriber=sub)
    elif sub is None and was_out:
        _lift_opt_out(index)
    if was_out:
        # Not a coordinator's undo but the person's own: the actor is nobody.
        audit("optout.undo", actor=None, target=sub, index_prefix=index[:8], via="sms")
    with translation.override(lang):
        if already:
            return already_subscribed_text()
        if sub is not None and (sub.member_id or sub.areas.exists()):
            return welcome_back_text()
        return messages_again_text()


def handle_help(msg: InboundSms) -> str | None:
    word = keyword(msg, HELP_WORDS)
    if word is None:
        return None
    with translation.override(reply_language(msg, subscriber_of(msg), HELP_WORDS[word])):
        return help_text()


# --- JOIN, the confirming YES, language ---------------------------------------------------------


def _same_area(sub: Subscriber, zone, point) -> bool:
    areas = sub.areas.all()
    if point is not None:
        return areas.filter(lat=point[0], lng=point[1]).exists()
    return zone is not None and areas.filter(zone=zone, lat__isnull=True).exists()


@transaction.atomic
def handle_join(msg: InboundSms) -> str | None:
    found = languages.match_keyword(msg.body, JOIN_WORDS, max_words=None)
    if found is None or not msg.from_e164:
        return None
    sub = subscriber_of(msg)
    lang = reply_language(msg, sub, JOIN_WORDS[found[0]])
    place = found[1].strip()[:MAX_PLACE_TEXT]
    digits = "".join(c for c in place if c.isdigit())
    is_zip = len(digits) == 5 and len(place) <= 10
    with translation.override(lang):
        if not place:
            return ask_zip_text()
        zone, point, name = services.resolve_place(place)
        if zone is None and point is None:
            return unknown_zip_text(digits) if is_zip else unknown_place_text()
        if is_zip and zone is None:
            name = zip_area_name(digits)
        # A ZIP code is a point with a radius around its centroid; a place name is the zone.
        new_zone, new_point = (None, point) if is_zip else (zone, None)
        if sub is not None and _same_area(sub, new_zone, new_point):
            new_zone = new_point = None  # joining the same place twice adds nothing
        if (
            sub is not None
            and sub.status == Subscriber.Status.ACTIVE
            and (new_zone is not None or new_point is not None)
            and not services.has_room_for_area(sub)
        ):
            return subscribed_text(area_names(sub))  # at the cap: what they have, nothing new
        sub = services.subscribe(
            phone=msg.from_e164,
            language=sub.language if sub is not None else lang,
            channels=sub.channels if sub is not None and sub.channels else ["sms"],
            member=msg.member,
            label=name[:40],
            source="sms",
            confirmed=False,
            zone=new_zone,
            point=new_point,
            radius_m=ZIP_RADIUS_M if new_point is not None else None,
        )
        if sub.status == Subscriber.Status.ACTIVE:
            return area_added_text(name)
        return confirm_question_text(name)


def area_names(sub: Subscriber) -> str:
    names = []
    for area in sub.areas.select_related("zone").order_by("pk"):
        name = area.label or (area.zone.name if area.zone else "")
        if name and name not in names:
            names.append(name)
    return ", ".join(names)[:120]


@transaction.atomic
def handle_confirm(msg: InboundSms) -> str | None:
    word = keyword(msg, CONFIRM_WORDS)
    tokens = msg.words
    if not msg.from_index or (word is None and (not tokens or len(tokens) > MAX_KEYWORD_WORDS)):
        return None
    maybe_code = bool(tokens) and len(tokens[0]) == CODE_LENGTH and tokens[0].isdigit()
    if word is None and not maybe_code:
        return None
    sub = (
        Subscriber.objects.select_for_update()
        .filter(phone_index=msg.from_index, status=Subscriber.Status.PENDING)
        .first()
    )
    if sub is None:
        return None
    by_code = maybe_code and bool(sub.confirm_code) and tokens[0] == sub.confirm_code
    if word is None and not by_code:
        return None
    was_out = services.is_opted_out(msg.from_index)
    services.subscription_confirm(subscriber=sub)
    if was_out:
        # Someone who once said STOP came back with their own JOIN + YES.
        audit("optout.undo", actor=None, target=sub, index_prefix=msg.from_index[:8], via="sms")
    with translation.override(reply_language(msg, sub)):
        return subscribed_text(area_names(sub))


def handle_language(msg: InboundSms) -> str | None:
    # The name alone, or with "please": "Korean market" or "Persian Square" answer a report's
    # "where?" (90), not this.
    found = languages.match_keyword(msg.body, LANGUAGE_WORDS, max_words=MAX_KEYWORD_WORDS)
    if found is None or not set(languages.keyword_fold(found[1]).split()) <= POLITE_WORDS:
        return None
    lang = LANGUAGE_WORDS[found[0]]
    sub = subscriber_of(msg)
    if sub is not None:
        sub.language = lang
        sub.save(update_fields=["language"])
        contacts = [c for c in (sub.sms_id, sub.voice_id, sub.email_contact_id) if c]
        messaging.contacts_set_language(contact_ids=contacts, language=lang)
    elif msg.from_e164 and msg.from_index:
        _keep_language(msg, lang)
    with translation.override(lang):
        return language_text(sub is not None)


def _keep_language(msg: InboundSms, lang: str) -> None:
    """Someone not subscribed named a language: their SMS contact point keeps it, so the JOIN
    the reply asks for (and a STOP, a HELP) answers in it and the subscription takes it."""
    contact = messaging.contact_point(
        channel=Channel.SMS, address=msg.from_e164, member=msg.member, language=lang
    )
    messaging.contacts_set_language(contact_ids=[contact.pk], language=lang)
    if contact.usable and services.is_opted_out(msg.from_index):
        # A new contact point of a number that said STOP: it stays unusable until their START.
        messaging.contacts_disable(
            address_index=msg.from_index, channels=[Channel.SMS], reason="opted out"
        )


# --- Acknowledgements --------------------------------------------------------------------------


def _ack_language(msg: InboundSms, recipient: AlertRecipient) -> str:
    if recipient.language in REPLY_LANGUAGES:
        return recipient.language  # the language the alert reached them in
    return reply_language(msg, subscriber_of(msg))


def handle_ack(msg: InboundSms) -> str | None:
    word = keyword(msg, ACK_WORDS)
    if word is None or not msg.from_index:
        return None
    recipient = services.acknowledge_by_phone(index=msg.from_index)
    if recipient is None:
        recipient = (
            AlertRecipient.objects.filter(
                subscriber__phone_index=msg.from_index,
                acknowledged_at__isnull=False,
                alert__expires_at__gt=timezone.now(),
            )
            .order_by("-acknowledged_at")
            .first()
        )
        if recipient is None:
            return None  # nothing to acknowledge: the next handler or the fallback answers
        with translation.override(_ack_language(msg, recipient)):
            return ack_again_text()
    with translation.override(_ack_language(msg, recipient)):
        return ack_text()


register_sms("alerts.stop", handle_stop, priority=1010)
register_sms("alerts.start", handle_start, priority=1005)
register_sms("alerts.help", handle_help, priority=1000)
register_sms("alerts.join", handle_join, priority=95)
register_sms("alerts.language", handle_language, priority=95)
register_sms("alerts.confirm", handle_confirm, priority=85)
register_sms("alerts.ack", handle_ack, priority=60)
register_voice(voice.FLOW, voice.alert_call)
