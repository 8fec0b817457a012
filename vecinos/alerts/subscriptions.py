"""Subscriptions: joining (double opt-in), confirming, STOP and its undo, a member's own
subscription and their browser's push channel."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vecinos.alerts.models import (
    OptOut,
    Subscriber,
    SubscriptionArea,
)
from vecinos.alerts.rules import (
    NotAllowed,
)
from vecinos.core import geo, languages
from vecinos.core.audit import audit
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Channel
from vecinos.messaging.push import push_subscribe, push_unsubscribe
from vecinos.network import selectors as network
from vecinos.network.models import Member, Zone
from vecinos.network.phones import normalize_phone, phone_index

# --- Subscriptions ---------------------------------------------------------------------------


def is_opted_out(index: str) -> bool:
    return OptOut.objects.filter(phone_index=index).exists()


def _contacts_for(sub: Subscriber) -> None:
    if sub.phone:
        sub.sms = messaging.contact_point(
            channel=Channel.SMS, address=sub.phone, member=sub.member, language=sub.language
        )
        sub.voice = messaging.contact_point(
            channel=Channel.VOICE, address=sub.phone, member=sub.member, language=sub.language
        )
        if Channel.SIGNAL in sub.channels:
            # The Signal number is their phone: found again by the phone's blind index.
            messaging.contact_point(
                channel=Channel.SIGNAL, address=sub.phone, member=sub.member, language=sub.language
            )
    if sub.email:
        sub.email_contact = messaging.contact_point(
            channel=Channel.EMAIL, address=sub.email, member=sub.member, language=sub.language
        )


def resolve_place(text: str) -> tuple[Zone | None, tuple[float, float] | None, str]:
    """A ZIP code (offline centroid) or a zone name; never asks an outside service."""
    import zipcodes

    cleaned = text.strip()
    # Any script's decimal digits ("９００３３", "٩٠٠٣٣") as ASCII: zipcodes (Rust) panicked on
    # a full-width one, which killed the web server's process (outside walk).
    digits = "".join(str(int(c)) for c in cleaned if c.isdecimal())
    if len(digits) == 5 and len(cleaned) <= 10:
        try:
            match = zipcodes.matching(digits)
        except (ValueError, TypeError):
            match = []
        if match:
            lat, lng = float(match[0]["lat"]), float(match[0]["long"])
            zone = _zone_at(lat, lng)
            return zone, (lat, lng), zone.name if zone else f"{digits}"
        return None, None, ""
    if cleaned:
        zone = (
            Zone.objects.filter(name__iexact=cleaned).first()
            or Zone.objects.filter(name__icontains=cleaned).first()
        )
        if zone:
            return zone, (zone.center_lat, zone.center_lng), zone.name
    return None, None, ""


def _zone_at(lat: float, lng: float) -> Zone | None:
    cell = geo.cell_of(lat, lng)
    for zone in Zone.objects.only("pk", "name", "cells", "center_lat", "center_lng"):
        if cell in zone.cells:
            return zone
    return None


# Alert areas per subscription: a person's home, work, school and a few more. Each area is read
# by every fan-out's selection, and a script could otherwise add thousands by SMS or form.
MAX_AREAS = 10


def has_room_for_area(sub: Subscriber) -> bool:
    return sub.pk is None or SubscriptionArea.objects.filter(subscriber=sub).count() < MAX_AREAS


@transaction.atomic
def subscribe(
    *,
    phone: str = "",
    email: str = "",
    language: str = "es",
    channels: list[str] | None = None,
    zone: Zone | None = None,
    point: tuple[float, float] | None = None,
    radius_m: int | None = None,
    label: str = "",
    member: Member | None = None,
    source: str = "web",
    confirmed: bool = False,
) -> Subscriber:
    """Create or extend a subscription. Public ones wait for a confirming reply (double opt-in)."""
    e164 = normalize_phone(phone) if phone else ""
    index = phone_index(e164) if e164 else ""
    if index and is_opted_out(index) and not confirmed:
        # They said STOP before; only their own new JOIN (confirmed by reply) brings them back.
        pass
    sub = None
    if member is not None:
        sub = Subscriber.objects.filter(member=member).first()
    if sub is None and index:
        sub = Subscriber.objects.filter(phone_index=index).first()
        if sub is not None and member is not None and sub.member_id is None:
            # Subscribed publicly before joining: the same person, one subscription.
            sub.member = member
    if sub is None:
        sub = Subscriber(member=member, source=source)
    sub.phone, sub.phone_index = (e164, index) if e164 else (sub.phone, sub.phone_index)
    if email:
        sub.email = email.strip()
    sub.language = language if language in ("en", "es") else (language[:8] or "es")
    wanted = [c for c in (channels or ["sms"]) if c in Channel.values]
    sub.channels = wanted or ["sms"]
    if confirmed:
        sub.status, sub.confirmed_at = Subscriber.Status.ACTIVE, timezone.now()
    elif sub.status != Subscriber.Status.ACTIVE:
        sub.status = Subscriber.Status.PENDING
        sub.confirm_code = f"{secrets.randbelow(10**6):06d}"
    _contacts_for(sub)
    sub.save()
    if (zone is not None or point is not None) and not has_room_for_area(sub):
        return sub  # at the cap: the places they have stay, none is added
    if zone is not None or point is not None:
        area = SubscriptionArea(subscriber=sub, label=label[:40], zone=zone)
        if point is not None:
            geo.validate_lat_lng(*point)
            area.lat, area.lng = point
            area.radius_m = radius_m or 1500
            area.cell7 = geo.cell_of(point[0], point[1], geo.COARSE_RESOLUTION)
            if sub.member_id is not None:  # a named person: only their neighborhood in clear
                area.place_coarsely(point[0], point[1], area.radius_m)
            if zone is not None:
                area.zone = None  # a point with a radius is more precise than the zone
        area.save()
    return sub


def _confirmation_sms(sub: Subscriber, area: str) -> None:
    """Ask for the confirming reply now: one delivery keyed to this confirmation code."""
    if sub.sms is None or not sub.confirm_code:
        return
    # The person's own language when the interface ships in it: the same reply words as the
    # page they signed up on.
    lang = languages.text_language(sub.language)
    with translation.override(lang):
        body = _(
            "Vecinos: reply YES to get alerts for %(area)s (or enter the code %(code)s on the "
            "web page). Reply STOP to cancel."
        ) % {"area": area, "code": sub.confirm_code}
    messaging.deliveries_enqueue([_confirmation_spec(sub, body, lang)])


def _subscriber_text(sub: Subscriber, body: str, lang: str, key: str) -> messaging.DeliverySpec:
    """A text about a subscription to its phone, good for a day."""
    return messaging.DeliverySpec(
        purpose="subscribe",
        ref_type="subscriber",
        ref_id=sub.pk,
        contact=sub.sms,
        body=body,
        language=lang,
        key=key,
        expires_at=timezone.now() + timedelta(days=1),
    )


def _confirmation_spec(sub: Subscriber, body: str, lang: str) -> messaging.DeliverySpec:
    """The text asking a pending subscriber for their YES: one per confirmation code."""
    return _subscriber_text(sub, body, lang, f"subscribe:{sub.pk}:{sub.confirm_code}")


def import_confirmations(subscriber_ids: list[int], organization_name: str) -> int:
    """Ask each subscriber an organization imported (pending) for their YES: who added them, for
    which place, and how to say no. Read in chunks, queued in one call per chunk; a number
    whose contact point is unusable (STOP) is not texted."""
    queued = 0
    for start in range(0, len(subscriber_ids), 2000):
        chunk = subscriber_ids[start : start + 2000]
        subs = Subscriber.objects.filter(
            pk__in=chunk, status=Subscriber.Status.PENDING, sms__usable=True
        ).select_related("sms")
        labels: dict[int, str] = {}
        for sid, label in (
            SubscriptionArea.objects.filter(subscriber_id__in=chunk)
            .order_by("pk")
            .values_list("subscriber_id", "label")
        ):
            labels.setdefault(sid, label)
        specs = []
        for sub in subs:
            lang = languages.text_language(sub.language)
            with translation.override(lang):
                body = _(
                    "Vecinos: %(organization)s added this number to its alert list for "
                    "%(area)s. Reply YES to get alerts (or the code %(code)s). If you do not "
                    "reply, you get none."
                ) % {
                    "organization": organization_name,
                    "area": labels.get(sub.pk) or _("your area"),
                    "code": sub.confirm_code,
                }
            specs.append(_confirmation_spec(sub, body, lang))
        queued += messaging.deliveries_enqueue(specs)
    return queued


def _already_subscribed_sms(sub: Subscriber, area: str, place: str) -> None:
    if sub.sms is None or not sub.sms.usable:
        return
    # The person's own language when the interface ships in it: the same reply words as the
    # page they signed up on.
    lang = languages.text_language(sub.language)
    with translation.override(lang):
        body = _(
            "Vecinos: this number already gets alerts. To add %(area)s, reply JOIN %(place)s. "
            "Reply STOP to cancel."
        ) % {"area": area, "place": place}
    day = timezone.now().date().isoformat()
    place_key = hashlib.sha256(place.lower().encode()).hexdigest()[:12]
    key = f"subscribe:{sub.pk}:active:{place_key}:{day}"
    messaging.deliveries_enqueue([_subscriber_text(sub, body, lang, key)])


def subscribe_public(
    *,
    phone: str,
    language: str,
    channels: list[str],
    zone: Zone | None,
    point: tuple[float, float] | None,
    radius_m: int | None,
    area: str,
    place_text: str,
) -> Subscriber | None:
    """Someone typed a number on the public subscribe page. Nothing here says whether the
    number was known: an opted-out number gets nothing (only a JOIN from that phone brings it
    back); an active one changes nothing and its owner is told how to add the place (someone
    else may have typed it); otherwise the subscription waits for the confirming reply (double
    opt-in: consent is that reply, or the code typed on the page). Returns the pending
    subscription, if one was asked for."""
    index = phone_index(phone)
    with transaction.atomic():
        existing = Subscriber.objects.filter(phone_index=index).first()
        if is_opted_out(index):
            return None
        if existing is not None and existing.status == Subscriber.Status.ACTIVE:
            _already_subscribed_sms(existing, area, place_text)
            return None
        sub = subscribe(
            phone=phone,
            language=language,
            channels=channels,
            zone=zone,
            point=point,
            radius_m=radius_m,
            label=area[:40],
            source="web",
            confirmed=False,
        )
        _confirmation_sms(sub, area)
        audit("subscription.request", target=sub, source="web", channels=sub.channels)
    return sub


def subscription_confirm(*, subscriber: Subscriber) -> Subscriber:
    subscriber.status = Subscriber.Status.ACTIVE
    subscriber.confirmed_at = timezone.now()
    subscriber.confirm_code = ""
    subscriber.save(update_fields=["status", "confirmed_at", "confirm_code"])
    if subscriber.phone_index:
        OptOut.objects.filter(phone_index=subscriber.phone_index).delete()
        messaging.contacts_enable(address_index=subscriber.phone_index)
    return subscriber


@transaction.atomic
def subscription_resume(*, member: Member, subscriber: Subscriber) -> Subscriber:
    """A member turns their stopped alerts back on from their page (audited)."""
    subscriber = subscription_confirm(subscriber=subscriber)
    audit("subscription.resume", actor=member, target=subscriber)
    return subscriber


def area_remove(*, member: Member, area_id: int) -> bool:
    """Remove one of the member's own alert areas; False when it is not theirs (or gone)."""
    deleted, _rows = SubscriptionArea.objects.filter(pk=area_id, subscriber__member=member).delete()
    return bool(deleted)


@transaction.atomic
def opt_out(*, index: str, source: str = "sms") -> bool:
    """STOP: at once, from everything, for every organization. Queued messages are cancelled.
    True when the number was not on the stop list yet."""
    _row, created = OptOut.objects.get_or_create(phone_index=index, defaults={"source": source})
    Subscriber.objects.filter(phone_index=index).update(status=Subscriber.Status.STOPPED)
    messaging.contacts_disable(
        address_index=index, channels=[Channel.SMS, Channel.VOICE], reason="opted out"
    )
    return created


def opt_out_undo(*, index: str, actor: Member) -> bool:
    """Only the coalition's coordinators (selectors.can_manage_optouts): STOP is the
    person's word to every organization at once."""
    if not network.is_coalition_coordinator(actor):
        raise NotAllowed
    deleted, _rows = OptOut.objects.filter(phone_index=index).delete()
    if deleted:
        messaging.contacts_enable(address_index=index)
        audit("optout.undo", actor=actor, index_prefix=index[:8])
    else:
        # "Not on the stop list" answers whether a number texted STOP: a sensitive read, so
        # recorded too (outside probe, session 18).
        audit("optout.lookup", actor=actor, index_prefix=index[:8], found=False)
    return bool(deleted)


def opt_out_import(*, phones: Iterable[str], actor: Member) -> dict[str, int]:
    """Only the coalition's coordinators (selectors.can_manage_optouts)."""
    if not network.is_coalition_coordinator(actor):
        raise NotAllowed
    invalid = 0
    # Each number once, however often it is pasted or written: "added" counts numbers newly on
    # the stop list, so it agrees with the list's total (it counted lines).
    indexes: dict[str, None] = {}
    for raw in phones:
        raw = raw.strip()
        if not raw:
            continue
        try:
            indexes[phone_index(normalize_phone(raw))] = None
        except ValueError:
            invalid += 1
    added = sum(opt_out(index=index, source="import") for index in indexes)
    already = len(indexes) - added
    audit("optout.import", actor=actor, added=added, already=already, invalid=invalid)
    return {"added": added, "already": already, "invalid": invalid}


@transaction.atomic
def follow_member_phone(member: Member) -> None:
    """A member's subscription follows their phone once it changed (confirmed by a code, or
    removed): alerts go to the phone they have now, not to the one they gave up.

    If the new number already has a public subscription (theirs, since they proved they hold
    the phone), that one becomes the member's and takes their areas; the old one keeps its
    history but reaches nobody. If another member's subscription has it, that one already
    reaches the phone: this one keeps its areas and no phone."""
    sub = Subscriber.objects.select_for_update().filter(member=member).first()
    if sub is None:
        return
    e164 = member.phone
    index = phone_index(e164) if e164 else ""
    if index == sub.phone_index:
        return
    other = (
        Subscriber.objects.select_for_update().filter(phone_index=index).exclude(pk=sub.pk).first()
        if index
        else None
    )
    if other is not None and other.member_id is None:
        SubscriptionArea.objects.filter(subscriber=sub).update(subscriber=other)
        _retire(sub)
        other.member = member
        other.channels = sub.channels
        other.status, other.confirmed_at = Subscriber.Status.ACTIVE, timezone.now()
        if is_opted_out(index):
            other.status = Subscriber.Status.STOPPED  # STOP holds until they text START
        _contacts_for(other)
        other.save()
        audit("subscription.phone_followed", actor=member, target=other)
        return
    if other is not None:
        e164 = index = ""
    sub.phone, sub.phone_index = e164, index
    sub.sms = sub.voice = None
    _contacts_for(sub)
    sub.save(update_fields=["phone", "phone_index", "sms", "voice"])
    audit("subscription.phone_followed", actor=member, target=sub)


def _retire(sub: Subscriber) -> None:
    """A subscription that reaches nobody any more; its rows (alerts received) stay."""
    sub.member = None
    sub.phone, sub.phone_index = "", ""
    sub.sms = sub.voice = None
    sub.status = Subscriber.Status.STOPPED
    sub.save(update_fields=["member", "phone", "phone_index", "sms", "voice", "status"])


def ensure_member_subscriber(member: Member) -> Subscriber | None:
    """Members are reachable on the phone they gave; their areas are their own choice."""
    if not member.phone:
        return None
    sub = Subscriber.objects.filter(member=member).first()
    if sub is not None:
        return sub
    return subscribe(
        phone=member.phone,
        language=member.preferred_language,
        channels=["sms", "voice"],
        member=member,
        source="member",
        confirmed=True,
    )


def push_attach(*, member: Member, subscription, language: str) -> Subscriber | None:
    """A member's browser turned notifications on: push becomes their first channel."""
    sub = ensure_member_subscriber(member)
    if sub is None:
        return None
    contact = push_subscribe(member=member, subscription=subscription, language=language)
    sub.push = contact
    sub.channels = ["push", *[c for c in sub.channels if c != "push"]]
    sub.save(update_fields=["push", "channels"])
    audit("push.subscribe", actor=member, target=sub)
    return sub


def push_detach(*, member: Member, endpoint: str) -> None:
    push_unsubscribe(member=member, endpoint=endpoint)
    Subscriber.objects.filter(member=member).update(push=None)
    sub = Subscriber.objects.filter(member=member).first()
    if sub is not None and "push" in sub.channels:
        sub.channels = [c for c in sub.channels if c != "push"] or ["sms"]
        sub.save(update_fields=["channels"])
