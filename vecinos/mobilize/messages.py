"""What a call-out says and to whom: links, texts, the ask and its deliveries."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vecinos.alerts import voice as alert_voice
from vecinos.alerts.models import Subscriber
from vecinos.core import languages
from vecinos.core.bulk import with_ids
from vecinos.messaging import selectors as messaging_selectors
from vecinos.messaging import services as messaging
from vecinos.messaging.inbound import REPLY_LANGUAGES
from vecinos.messaging.models import Channel
from vecinos.mobilize.guidance import FALLBACK_LANGUAGES, callout_language, guidance_for
from vecinos.mobilize.models import Activation, Response
from vecinos.mobilize.rules import LINK_SALT

# --- messages ----------------------------------------------------------------------------------


def link_token(response_id: int, signer: signing.TimestampSigner | None = None) -> str:
    return (signer or signing.TimestampSigner(salt=LINK_SALT)).sign_object(response_id)


def link(response_id: int, signer: signing.TimestampSigner | None = None) -> str:
    return f"{settings.PUBLIC_URL}/r/{link_token(response_id, signer)}/"


def load_link(token: str, max_age_days: int = 3) -> Response | None:
    try:
        rid = signing.loads(token, salt=LINK_SALT, max_age=max_age_days * 86400)
    except signing.BadSignature:
        return None
    if not isinstance(rid, int):
        return None
    return Response.objects.select_related("activation").filter(pk=rid).first()


def local_time(when: datetime) -> str:
    return timezone.localtime(when).strftime("%H:%M")


def _page_language(activation: Activation, language: str) -> str:
    """The link page's language: the one the responder is told this call-out in."""
    return callout_language(activation, language)


# What a responder may answer by SMS (core.languages.SMS_KEYWORDS' kinds; "no" is "declined").
REPLY_KINDS = ("coming", "arrived", "left", "no")


def reply_words(language: str) -> dict[str, str]:
    """{kind: the word to send} in ``language``: the texts name them as placeholders
    (%(coming)s, %(arrived)s, %(left)s, %(no)s), so they are the parser's own words."""
    return {kind: languages.reply_word(kind, language) for kind in REPLY_KINDS}


def text_language(language: str) -> str:
    """The language a person's texts can be written in: theirs when the interface is written
    in it, else Spanish (the spoken-only languages' speakers read Spanish more often)."""
    return language if language in REPLY_LANGUAGES else "es"


def voice_language(activation: Activation, language: str) -> str:
    """The language a call-out's call speaks: the responder's call-out language when a voice
    reads it, else Spanish (the call then plays their language's recording first, as alerts'
    calls do)."""
    code = callout_language(activation, languages.normalize(language, "es"))
    return code if alert_voice.has_voice(code) else alert_voice.DEFAULT_LANGUAGE


def _head(activation: Activation) -> str:
    return _("Vecinos call-out %(code)s: we need %(n)s people at %(place)s by %(time)s.") % {
        "code": activation.code,
        "n": activation.needed_total,
        "place": activation.staging_point,
        "time": local_time(activation.needed_by),
    }


def voice_parts(activation: Activation, language: str) -> list[tuple[str, str]]:
    """What a call-out's call says, as (text, language it is spoken in): the ask and the keys
    in ``language`` (one with a voice), the guidance in it too when it is written in it (else
    in the language it falls back to, by that language's voice)."""
    guidance, guidance_lang = guidance_for(activation, language)
    with translation.override(language):
        head = _head(activation)
        keys = _("Press 1 if you are coming. Press 2 if you cannot come.")
    if not alert_voice.has_voice(guidance_lang):
        return [(head, language), (keys, language)]  # no voice could read it
    return [(head, language), (guidance, guidance_lang), (keys, language)]


def ask_text(activation: Activation, language: str, channel: str, url: str = "") -> str:
    if channel == Channel.VOICE:
        voiced = voice_language(activation, language)
        return " ".join(text for text, _lang in voice_parts(activation, voiced))
    lang = callout_language(activation, language)
    guidance, _lang = guidance_for(activation, lang)
    with translation.override(lang):
        head = _head(activation)
        tail = _(
            "Reply %(coming)s and your minutes away (%(coming)s 15) if you are coming, %(no)s "
            "if not: %(link)s"
        ) % {**reply_words(lang), "link": url}
        rights = rights_link(activation, language)
        return " ".join(part for part in (head, guidance, tail, rights) if part)


def rights_link(activation: Activation, language: str) -> str:
    """The attached rights article's link, in the person's language when it is written in it
    (the link goes into the message, as alerts do), else ""."""
    if not activation.rights_article:
        return ""
    from vecinos.alerts import wording

    linked = wording.attach_rights({language: "x"}, activation.rights_article)[language]
    return linked[2:] if linked != "x" else ""


def _first_contacts(sub_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Each person's first usable channel (their own order, then SMS)."""
    chosen: dict[int, tuple[int, str]] = {}
    for i in range(0, len(sub_ids), 5000):
        rows = list(
            with_ids(Subscriber.objects.all(), sub_ids[i : i + 5000]).values_list(
                "pk", "channels", "sms_id", "voice_id", "email_contact_id", "push_id"
            )
        )
        contact_ids = [c for r in rows for c in r[2:] if c]
        usable = messaging_selectors.usable_contact_ids(contact_ids)
        for pk, chans, sms, voice, email, push in rows:
            by = {"sms": sms, "voice": voice, "email": email, "push": push}
            for channel in [*(chans or []), "sms"]:
                cid = by.get(channel)
                if cid and cid in usable:
                    chosen[pk] = (cid, channel)
                    break
    return chosen


def _ask(activation: Activation, *, wave: int) -> int:
    now = timezone.now()
    rows = list(
        Response.objects.filter(activation=activation, wave=wave).values_list(
            "pk", "subscriber_id", "language"
        )
    )
    Response.objects.filter(
        activation=activation, wave=wave, status=Response.Status.WAITING
    ).update(status=Response.Status.ASKED, asked_at=now)
    contacts = _first_contacts([sub for _pk, sub, _lang in rows])
    signer = signing.TimestampSigner(salt=LINK_SALT)
    texts: dict[tuple[str, str], str] = {}
    specs = []
    for pk, sub, language in rows:
        if sub not in contacts:
            continue
        contact_id, channel = contacts[sub]
        key = (language, channel)
        if key not in texts:
            texts[key] = ask_text(activation, language, channel, "\x00")
        body = texts[key].replace("\x00", link(pk, signer))
        specs.append(
            _spec(activation, pk, contact_id, channel, body, language, "ask",
                  subject=str(gettext_lazy("Call-out")))
        )  # fmt: skip
    return messaging.deliveries_enqueue(specs)


def _spec(
    activation: Activation,
    response_id: int,
    contact_id: int,
    channel: str,
    body: str,
    language: str,
    tag: str,
    *,
    subject: str = "",
) -> messaging.DeliverySpec:
    """One call-out message to one responder; the key makes each (response, channel, tag) once."""
    return messaging.DeliverySpec(
        purpose="callout",
        ref_type="activation",
        ref_id=activation.pk,
        ref_item=response_id,
        contact=None,
        contact_id=contact_id,
        channel=channel,
        body=body,
        language=language,
        key=f"callout:{activation.pk}:{response_id}:{channel}:{tag}",
        expires_at=activation.expires_at,
        subject=subject,
    )


def _send_to(
    activation: Activation, response_ids: list[int], texts: dict[str, str], tag: str
) -> int:
    """One message (by SMS, else their first channel) to each of these responders, in their
    call-out language (``texts`` by language; Spanish, then English, when it lacks theirs)."""
    rows = list(
        Response.objects.filter(pk__in=response_ids).values_list("pk", "subscriber_id", "language")
    )
    contacts = _first_contacts([sub for _pk, sub, _lang in rows])
    specs = []
    for pk, sub, language in rows:
        if sub not in contacts:
            continue
        contact_id, channel = contacts[sub]
        lang = callout_language(activation, language)
        text = next(
            (texts[c] for c in (lang, *FALLBACK_LANGUAGES) if texts.get(c)),
            next(iter(texts.values())),
        )
        specs.append(_spec(activation, pk, contact_id, channel, text, language, tag))
    return messaging.deliveries_enqueue(specs)


def _translated(fn) -> dict[str, str]:
    """``fn()`` in every language a call-out's texts go out in."""
    out = {}
    for lang in REPLY_LANGUAGES:
        with translation.override(lang):
            out[lang] = fn()
    return out


def enough_text(code: str) -> str:
    return _("Vecinos call-out %(code)s: we have enough people now. Thank you!") % {"code": code}
