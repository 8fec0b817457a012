"""Events: create, RSVP (web and SMS keyword), waitlist, reminders, check-in, retention.

RSVP contact details are encrypted at rest and found by blind index; they are shown only to the
event's own organization (and a training's trainer), and purged VECINOS_EVENT_RETENTION_DAYS
after the event.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vecinos.core import ratelimit
from vecinos.core.audit import audit
from vecinos.core.languages import text_language, written_languages
from vecinos.core.privacy import source_key
from vecinos.messaging import services as messaging
from vecinos.messaging.inbound import REPLY_LANGUAGES, InboundSms
from vecinos.mobilize import selectors
from vecinos.mobilize.models import Event, Rsvp
from vecinos.network import selectors as network
from vecinos.network import services as network_services
from vecinos.network.models import Member, Organization
from vecinos.network.phones import InvalidPhone, normalize_phone, phone_index

MAX_NICKNAME = 60
# An event's title and description may be written in any written language (fallback: Spanish,
# then English).
LANGUAGES = tuple(lang.code for lang in written_languages())
CANCEL_WORDS = {"CANCEL": "en", "CANCELAR": "es", "CANCELO": "es"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EventError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class NotAllowed(PermissionError):
    pass


def _lang(language: str) -> str:
    """The language an RSVP's texts are written in: the page's or the phone's, when the
    interface ships in it (titles are Spanish and English; the words around them are in every
    catalog), else Spanish. It was Spanish or English only: a Vietnamese, Chinese or Arabic
    page's RSVP got its link in Spanish (outside walk, session 18)."""
    return text_language(language)


def _new_code(kind: str) -> str:
    # Spanish, the coalition's first language, like the others (a rally's was English "RALLY").
    prefix = {"rally": "MARCHA", "press": "PRENSA", "vigil": "VIGILIA", "training": "TALLER"}.get(
        kind, "EVENTO"
    )
    while True:
        code = f"{prefix}{secrets.randbelow(90) + 10}"
        if not Event.objects.filter(code=code).exists():
            return code


def _checked_details(
    titles: dict[str, str],
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    capacity: int | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """An event's titles (only the languages events have), and a message per wrong field."""
    errors: dict[str, str] = {}
    clean_titles = {k: v.strip() for k, v in titles.items() if k in LANGUAGES and (v or "").strip()}
    if not clean_titles:
        errors["title"] = str(gettext_lazy("Give the event a title in at least one language."))
    now = timezone.now()
    # A typing slip (year 0001, 20206) is refused; a past event may still be entered to record
    # who came, within the year.
    if not now - timedelta(days=366) <= starts_at <= now + timedelta(days=2 * 366):
        errors["starts_at"] = str(
            gettext_lazy("Choose a start between a year ago and two years from now.")
        )
    if ends_at <= starts_at:
        errors["ends_at"] = str(gettext_lazy("The event must end after it starts."))
    elif ends_at - starts_at > timedelta(days=31):
        errors["ends_at"] = str(gettext_lazy("An event lasts at most 31 days."))
    if not place.strip():
        errors["place"] = str(gettext_lazy("Say where the event is."))
    if capacity is not None and capacity < 1:
        errors["capacity"] = str(gettext_lazy("Capacity must be at least 1, or empty."))
    return clean_titles, errors


def _clean_descriptions(descriptions: dict[str, str]) -> dict[str, str]:
    return {
        k: v.strip()
        for k, v in descriptions.items()
        if k in LANGUAGES and isinstance(v, str) and v.strip()
    }


@transaction.atomic
def event_create(
    *,
    actor: Member,
    organization: Organization,
    kind: str,
    titles: dict[str, str],
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    descriptions: dict[str, str] | None = None,
    capacity: int | None = None,
    languages: list[str] | None = None,
    accessibility: str = "",
    public: bool = True,
    hosts: list[Organization] | None = None,
    trainer: Member | None = None,
) -> Event:
    if not (network.is_coordinator(actor) and network.can_manage_org(actor, organization)):
        raise NotAllowed
    clean_titles, errors = _checked_details(titles, starts_at, ends_at, place, capacity)
    if kind not in Event.Kind.values:
        errors["kind"] = str(gettext_lazy("Choose the kind of event."))
    if any(not network.can_manage_org(actor, host) for host in hosts or []):
        # A host's name on a public announcement is that organization's word.
        errors["hosts"] = str(
            gettext_lazy(
                "Only organizations you coordinate can be co-hosts. To add another "
                "organization, ask a coalition coordinator."
            )
        )
    if errors:
        raise EventError(errors)
    event = Event.objects.create(
        kind=kind,
        code=_new_code(kind),
        titles=clean_titles,
        descriptions=_clean_descriptions(descriptions or {}),
        starts_at=starts_at,
        ends_at=ends_at,
        place=place.strip()[:200],
        capacity=capacity,
        languages=languages or list(clean_titles),
        accessibility=accessibility.strip(),
        public=public,
        organization=organization,
        trainer=trainer,
        created_by=actor,
    )
    event.hosts.set({organization, *(hosts or [])})
    audit("event.create", actor=actor, target=event, organization_id=organization.pk)
    return event


def is_full(event: Event) -> bool:
    return event.capacity is not None and selectors.going_count(event) >= event.capacity


def _told(event: Event) -> list[Rsvp]:
    """Who hears about a change: everyone with a place or on the waitlist."""
    return list(
        Rsvp.objects.filter(event=event, status__in=[Rsvp.Status.GOING, Rsvp.Status.WAITLIST])
    )


@transaction.atomic
def event_update(
    *,
    event: Event,
    actor: Member,
    titles: dict[str, str],
    descriptions: dict[str, str],
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    capacity: int | None,
    accessibility: str,
    public: bool,
) -> Event:
    """Its organizers change an event. If the time or the place changed, everyone coming (or
    waiting) is told, in their language; more places move the waitlist up."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if not selectors.can_manage_event(actor, event):
        raise NotAllowed
    clean_titles, errors = _checked_details(titles, starts_at, ends_at, place, capacity)
    if event.cancelled:
        errors["event"] = str(gettext_lazy("This event is over or cancelled."))
    if errors:
        raise EventError(errors)
    moved = starts_at != event.starts_at or place.strip()[:200] != event.place
    event.titles = clean_titles
    event.descriptions = _clean_descriptions(descriptions)
    event.starts_at, event.ends_at = starts_at, ends_at
    event.place = place.strip()[:200]
    event.capacity = capacity
    event.accessibility = accessibility.strip()
    event.public = public
    event.languages = sorted(set(event.languages or []) | set(clean_titles))
    event.save()
    audit("event.update", actor=actor, target=event, moved=moved)
    if moved:
        for rsvp in _told(event):
            with translation.override(rsvp.language):
                text = _("Vecinos: %(title)s has changed. It is now %(when)s, at %(place)s.") % {
                    "title": event.title(rsvp.language),
                    "when": _when(event),
                    "place": event.place,
                }
            _send(rsvp, text, f"moved-{secrets.token_hex(4)}")
    while not is_full(event):
        nxt = Rsvp.objects.filter(event=event, status=Rsvp.Status.WAITLIST).order_by("pk").first()
        if nxt is None:
            break
        _move_up(event, nxt)
    return event


@transaction.atomic
def event_cancel(*, event: Event, actor: Member) -> int:
    """Its organizers call an event off: everyone coming (or waiting) is told. Returns how
    many were told."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if not selectors.can_manage_event(actor, event):
        raise NotAllowed
    if event.cancelled:
        return 0
    event.cancelled = True
    event.save(update_fields=["cancelled"])
    told = _told(event)
    for rsvp in told:
        with translation.override(rsvp.language):
            text = _("Vecinos: %(title)s, %(when)s, is cancelled. Sorry.") % {
                "title": event.title(rsvp.language),
                "when": _when(event),
            }
        _send(rsvp, text, "event-cancelled")
    audit("event.cancel", actor=actor, target=event, told=len(told))
    return len(told)


def _checked_contact(event: Event, nickname: str, phone: str, email: str) -> tuple[str, str]:
    """The phone (E.164) and email of an RSVP, or EventError with a message per field."""
    errors: dict[str, str] = {}
    e164 = ""
    if phone.strip():
        try:
            e164 = normalize_phone(phone)
        except InvalidPhone:
            errors["phone"] = str(gettext_lazy("That phone number does not look right."))
    email = email.strip().lower()
    if email and not EMAIL_RE.match(email):
        errors["email"] = str(gettext_lazy("That email address does not look right."))
    if not e164 and not email and "phone" not in errors and "email" not in errors:
        errors["contact"] = str(gettext_lazy("Give a phone number or an email address."))
    if len(nickname) > MAX_NICKNAME:
        errors["nickname"] = str(gettext_lazy("Keep the name under 60 characters."))
    if event.cancelled or event.ends_at < timezone.now():
        errors["event"] = str(gettext_lazy("This event is over or cancelled."))
    if errors:
        raise EventError(errors)
    return e164, email


def _rsvp_of(event: Event, index: str, email_index: str) -> Rsvp | None:
    existing = None
    if index:
        existing = Rsvp.objects.filter(event=event, phone_index=index).first()
    if existing is None and email_index:
        existing = Rsvp.objects.filter(event=event, email_index=email_index).first()
    return existing


def member_rsvp(event: Event, member: Member | None) -> Rsvp | None:
    """A signed-in member's own RSVP to an event (made while signed in, or by text or form from
    the phone in their profile), unless cancelled or still waiting for its link: the event's
    page shows it instead of the form (outside walk, session 19)."""
    if member is None or not member.is_authenticated:
        return None
    index = member.phone_index or ""
    found = Rsvp.objects.filter(event=event).exclude(
        status__in=(Rsvp.Status.CANCELLED, Rsvp.Status.PENDING)
    )
    by_member = found.filter(member=member).first()
    if by_member is not None or not index:
        return by_member
    return found.filter(phone_index=index).first()


@transaction.atomic
def rsvp_create(
    *,
    event: Event,
    nickname: str = "",
    phone: str = "",
    email: str = "",
    language: str = "es",
    member: Member | None = None,
    via: str = "web",
) -> Rsvp:
    """An RSVP from a phone or email known to be the person's (their text, their own signed-in
    phone, the door): one contact at least; the same phone or email twice is one RSVP."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    e164, email = _checked_contact(event, nickname, phone, email)
    index = phone_index(e164) if e164 else ""
    email_index = messaging.address_index("email", email) if email else ""
    existing = _rsvp_of(event, index, email_index)
    if existing is not None and existing.status not in (Rsvp.Status.CANCELLED, Rsvp.Status.PENDING):
        return existing
    status = Rsvp.Status.WAITLIST if is_full(event) else Rsvp.Status.GOING
    if existing is not None:
        existing.status = status
        existing.save(update_fields=["status"])
        return existing
    return _new_rsvp(event, nickname, e164, email, language, status, member=member, via=via)


def _new_rsvp(
    event: Event,
    nickname: str,
    e164: str,
    email: str,
    language: str,
    status: str,
    *,
    member: Member | None = None,
    via: str = "web",
) -> Rsvp:
    return Rsvp.objects.create(
        event=event,
        nickname=nickname.strip(),
        phone=e164,
        phone_index=phone_index(e164) if e164 else "",
        email=email,
        email_index=messaging.address_index("email", email) if email else "",
        language=_lang(language),
        member=member,
        status=status,
        via=via,
    )


# A link to one RSVP goes to its phone or email at most this often (a stranger typing
# someone's number again and again must not flood them).
RSVP_LINKS_PER_HOUR = 3


@transaction.atomic
def rsvp_request(
    *,
    event: Event,
    nickname: str = "",
    phone: str = "",
    email: str = "",
    language: str = "es",
    member: Member | None = None,
) -> Rsvp | None:
    """A web RSVP. A phone or email typed into a form may be anybody's: the place is kept once
    the link sent to it is opened (``rsvp_confirm``). Whether that phone or email had an RSVP
    already, the answer is the same and the count does not move, so the page never tells a
    stranger who is coming, never shows someone else's door code, and nobody is signed up (and
    texted reminders) by someone else (outside probe, session 17). An RSVP already made gets
    its link again. Returns the RSVP when no link is needed (a signed-in member's own phone),
    else None."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    e164, email = _checked_contact(event, nickname, phone, email)
    own_phone = bool(
        member is not None and e164 and member.phone and normalize_phone(member.phone) == e164
    )
    own_email = bool(member is not None and email and member.email.strip().lower() == email)
    if not event.public and ((e164 and not own_phone) or (email and not own_email)):
        # A members' event is for the signed-in member: its title, time and link are not
        # texted to whatever number they type (outside probe, session 17).
        raise EventError(
            {
                "contact": str(
                    gettext_lazy(
                        "This event is for members: give your own phone number or email, "
                        "the one in your profile."
                    )
                )
            }
        )
    if own_phone:
        # Their own phone keeps a place at once; an email typed with it that is not theirs is
        # not kept, and no RSVP is found by it (outside probe, session 18: a member's phone
        # with a stranger's email confirmed the stranger's pending RSVP, and filled events).
        return rsvp_create(
            event=event, nickname=nickname, phone=e164, email=email if own_email else "",
            language=language, member=member,
        )  # fmt: skip
    index = phone_index(e164) if e164 else ""
    email_index = messaging.address_index("email", email) if email else ""
    rsvp = _rsvp_of(event, index, email_index)
    if rsvp is None:
        rsvp = _new_rsvp(event, nickname, e164, email, language, Rsvp.Status.PENDING)
    elif rsvp.status == Rsvp.Status.CANCELLED:
        rsvp.status = Rsvp.Status.PENDING
        rsvp.save(update_fields=["status"])
    # Keyed like every rate limit (a shared Redis, or another run's counters, never collide).
    key = source_key(f"rsvp-link:{rsvp.pk}")
    if ratelimit.hit("rsvp-link", key, limit=RSVP_LINKS_PER_HOUR, window_seconds=3600):
        title, link = event.title(rsvp.language), rsvp_link(rsvp)
        values = {"title": title, "when": _when(event), "link": link}
        with translation.override(rsvp.language):
            # A full event offers the waitlist, not a place (outside walk, session 18).
            if is_full(event):
                text = (
                    _(
                        "Vecinos: %(title)s, %(when)s, is full. To join its waitlist, open "
                        "%(link)s. If you did not ask for it, ignore this message."
                    )
                    % values
                )
            else:
                text = (
                    _(
                        "Vecinos: to keep your place at %(title)s, %(when)s, open %(link)s. If you "
                        "did not ask for it, ignore this message."
                    )
                    % values
                )
            subject = _("Confirm your place")
        _send(rsvp, text, f"link-{secrets.token_hex(6)}", subject=subject)
    return None


@transaction.atomic
def rsvp_confirm(*, rsvp: Rsvp) -> Rsvp:
    """The person opened the link: a place if there is one, else the waitlist."""
    event = Event.objects.select_for_update().get(pk=rsvp.event_id)
    rsvp.refresh_from_db()
    if rsvp.status == Rsvp.Status.PENDING:
        rsvp.status = Rsvp.Status.WAITLIST if is_full(event) else Rsvp.Status.GOING
        rsvp.save(update_fields=["status"])
    return rsvp


@transaction.atomic
def rsvp_cancel(*, rsvp: Rsvp) -> Rsvp | None:
    """Cancels; the first on the waitlist moves up (and is told). Returns who moved up."""
    event = Event.objects.select_for_update().get(pk=rsvp.event_id)
    was_going = rsvp.status == Rsvp.Status.GOING
    Rsvp.objects.filter(pk=rsvp.pk).update(status=Rsvp.Status.CANCELLED)
    if not was_going or is_full(event):
        return None
    nxt = Rsvp.objects.filter(event=event, status=Rsvp.Status.WAITLIST).order_by("pk").first()
    if nxt is None:
        return None
    _move_up(event, nxt)
    return nxt


def _move_up(event: Event, nxt: Rsvp) -> None:
    nxt.status = Rsvp.Status.GOING
    nxt.save(update_fields=["status"])
    with translation.override(nxt.language):
        text = _("Vecinos: a place opened up. You are now going to %(title)s, %(when)s.") % {
            "title": event.title(nxt.language),
            "when": _when(event),
        }
    _send(nxt, text, "moved-up")


def _when(event: Event) -> str:
    return timezone.localtime(event.starts_at).strftime("%Y-%m-%d %H:%M")


def _send(rsvp: Rsvp, text: str, tag: str, *, subject: str = "") -> int:
    specs = []
    if rsvp.phone:
        contact = messaging.contact_point(channel="sms", address=rsvp.phone, language=rsvp.language)
        if contact.usable:
            specs.append((contact, "sms"))
    if not specs and rsvp.email:
        contact = messaging.contact_point(
            channel="email", address=rsvp.email, language=rsvp.language
        )
        if contact.usable:
            specs.append((contact, "email"))
    return messaging.deliveries_enqueue(
        messaging.DeliverySpec(
            purpose="event",
            ref_type="event",
            ref_id=rsvp.event_id,
            ref_item=rsvp.pk,
            contact=contact,
            body=text,
            language=rsvp.language,
            key=f"event:{rsvp.event_id}:{rsvp.pk}:{channel}:{tag}",
            subject=subject or str(gettext_lazy("Event reminder")),
        )
        for contact, channel in specs
    )


def reminder_text(event: Event, language: str, soon: bool) -> str:
    values = {
        "title": event.title(language),
        "when": _when(event),
        "place": event.place,
        "code": event.code,
    }
    with translation.override(_lang(language)):
        if soon:
            return (
                _(
                    "Vecinos: %(title)s starts in 2 hours at %(place)s. Reply CANCEL %(code)s "
                    "if you cannot come."
                )
                % values
            )
        return (
            _(
                "Vecinos: reminder, %(title)s is tomorrow, %(when)s, at %(place)s. Reply "
                "CANCEL %(code)s if you cannot come."
            )
            % values
        )


def send_reminders(*, now: datetime | None = None) -> int:
    """The day before and 2 hours before, in each person's language. Each once (flags)."""
    now = now or timezone.now()
    sent = 0
    for soon, window, flag in (
        (False, timedelta(hours=24), "reminded_day"),
        (True, timedelta(hours=2), "reminded_soon"),
    ):
        due = Rsvp.objects.filter(
            status=Rsvp.Status.GOING,
            event__cancelled=False,
            event__starts_at__gt=now,
            event__starts_at__lte=now + window,
            **{flag: False},
        ).select_related("event")
        for rsvp in due:
            with transaction.atomic():
                # The flag flips first and only once: two workers never remind twice.
                if not Rsvp.objects.filter(pk=rsvp.pk, **{flag: False}).update(**{flag: True}):
                    continue
                if not soon and rsvp.event.starts_at - now < timedelta(hours=3):
                    continue  # signed up late: the 2-hour reminder is enough
                sent += _send(rsvp, reminder_text(rsvp.event, rsvp.language, soon), flag)
    return sent


@transaction.atomic
def check_in(*, event: Event, rsvp: Rsvp, actor: Member) -> bool:
    """At the door. At a training, checked in by its trainer (or a coordinator), a member's
    training is recorded on their vetting (audited by network's service)."""
    if not selectors.can_manage_event(actor, event) or rsvp.event_id != event.pk:
        raise NotAllowed
    updated = Rsvp.objects.filter(pk=rsvp.pk, checked_in_at__isnull=True).update(
        checked_in_at=timezone.now(), checked_in_by=actor
    )
    audit("event.check_in", actor=actor, target=event, rsvp=rsvp.pk)
    if updated and event.kind == Event.Kind.TRAINING and rsvp.member_id:
        member = Member.objects.get(pk=rsvp.member_id)
        try:
            network_services.training_record(
                actor=actor,
                member=member,
                topic=event.title("en") or event.title("es"),
                completed_on=timezone.localdate(event.starts_at),
            )
        except (network_services.NotAllowed, ValueError):
            # Not vouched yet, or the trainer cannot vet this member: attendance still counts.
            audit("event.training_not_recorded", actor=actor, target=event, rsvp=rsvp.pk)
    return bool(updated)


@transaction.atomic
def walk_in(*, event: Event, actor: Member, delta: int = 1) -> int:
    if not selectors.can_manage_event(actor, event):
        raise NotAllowed
    event.walk_ins = max(event.walk_ins + delta, 0)
    event.save(update_fields=["walk_ins"])
    return event.walk_ins


def purge_past(*, now: datetime | None = None) -> int:
    """RSVP contact details of events that ended more than the retention period ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EVENT_RETENTION_DAYS)
    events = Event.objects.filter(ends_at__lt=cutoff, purged_at__isnull=True)
    ids = list(events.values_list("pk", flat=True))
    n = Rsvp.objects.filter(event_id__in=ids).update(
        nickname="", phone="", phone_index="", email="", email_index="", member=None
    )
    Event.objects.filter(pk__in=ids).update(purged_at=now)
    return n


# --- the RSVP's own QR code (shown after a web RSVP, scanned at the door) -------------------------

DOOR_SALT = "vecinos.rsvp.door"


def door_token(rsvp: Rsvp) -> str:
    return signing.dumps([rsvp.event_id, rsvp.pk], salt=DOOR_SALT, compress=True)


RSVP_SALT = "vecinos.rsvp.link"


def rsvp_link(rsvp: Rsvp) -> str:
    """The link sent to an RSVP's phone or email: it confirms the place and shows the door code
    (signed, this RSVP only; it dies with the RSVP)."""
    token = signing.dumps([rsvp.event_id, rsvp.pk], salt=RSVP_SALT, compress=True)
    return settings.PUBLIC_URL + reverse("event_rsvp", args=[rsvp.event_id, token])


def load_rsvp_link(token: str, event: Event) -> Rsvp | None:
    try:
        value = signing.loads(token or "", salt=RSVP_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(value, list) or len(value) != 2 or value[0] != event.pk:
        return None
    if not isinstance(value[1], int):
        return None
    rsvps = Rsvp.objects.filter(pk=value[1], event=event)
    return rsvps.exclude(status=Rsvp.Status.CANCELLED).first()


def load_door_token(token: str, event: Event) -> int | None:
    """The RSVP id a door QR code names, for this event only (no expiry: it dies with the RSVP)."""
    try:
        value = signing.loads(token or "", salt=DOOR_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(value, list) or len(value) != 2 or value[0] != event.pk:
        return None
    return value[1] if isinstance(value[1], int) else None


# --- SMS ----------------------------------------------------------------------------------------


def handle_sms(msg: InboundSms) -> str | None:
    tokens = msg.words
    if not tokens or len(tokens) > 3 or not msg.from_e164:
        return None
    cancel = tokens[0] in CANCEL_WORDS
    code = tokens[1] if cancel and len(tokens) > 1 else tokens[0]
    events = Event.objects.filter(code=code, cancelled=False, ends_at__gte=timezone.now())
    if msg.member is None:
        # A members' event is not there for a phone no member has: the same answer as a code
        # nobody made, so texting TALLER10..99 finds out nothing (outside probe, session 19).
        events = events.filter(public=True)
    event = events.first()
    if event is None:
        return None
    lang = CANCEL_WORDS.get(tokens[0]) if cancel else None
    lang = lang or getattr(msg.member, "preferred_language", "") or msg.language
    lang = lang if lang in REPLY_LANGUAGES else "es"
    with translation.override(lang):
        if cancel:
            rsvp = (
                Rsvp.objects.filter(event=event, phone_index=msg.from_index)
                .exclude(status=Rsvp.Status.CANCELLED)
                .first()
            )
            if rsvp is None:
                return _("Vecinos: we had no RSVP from this number for %(title)s.") % {
                    "title": event.title(lang)
                }
            rsvp_cancel(rsvp=rsvp)
            return _("Vecinos: your RSVP for %(title)s is cancelled.") % {
                "title": event.title(lang)
            }
        rsvp = rsvp_create(
            event=event, phone=msg.from_e164, language=lang, member=msg.member, via="sms"
        )
        if rsvp.status == Rsvp.Status.WAITLIST:
            return _("Vecinos: %(title)s is full. You are on the waitlist; we will text you if a "
                     "place opens.") % {"title": event.title(lang)}  # fmt: skip
        return _("Vecinos: you are going to %(title)s, %(when)s, at %(place)s. We will remind "
                 "you. Reply CANCEL %(code)s to cancel.") % {
            "title": event.title(lang), "when": _when(event), "place": event.place,
            "code": event.code}  # fmt: skip


def training_date(event: Event) -> date:
    return timezone.localdate(event.starts_at)
