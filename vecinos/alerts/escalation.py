"""Escalation: voice and captain steps when nobody answered, the fall-back to a person's next
channel when every message failed, and the captains' phone tree."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from vecinos.alerts.acks import (
    acknowledge,
)
from vecinos.alerts.bodies import (
    _bodies,
)
from vecinos.alerts.models import (
    Alert,
    AlertRecipient,
    CaptainAssignment,
    Subscriber,
)
from vecinos.alerts.rules import (
    NotAllowed,
)
from vecinos.core.audit import audit
from vecinos.messaging import selectors as messaging_selectors
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Channel, ContactPoint
from vecinos.network import selectors as network
from vecinos.network.models import Member, Membership, Role


def _contact_for(sub: Subscriber, channel: str) -> ContactPoint | None:
    contact = {
        "sms": sub.sms,
        "voice": sub.voice,
        "email": sub.email_contact,
        "push": sub.push,
    }.get(channel)
    if contact is not None and contact.usable:
        return contact
    return None


# --- Escalation --------------------------------------------------------------------------------


def escalate_due(*, now: datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Run every escalation step that is due. Each step re-checks it is still due."""
    now = now or timezone.now()
    counts = {"voice": 0, "sms": 0, "email": 0, "captain": 0, "skipped": 0}
    due = list(
        AlertRecipient.objects.filter(
            next_step_at__lte=now,
            acknowledged_at__isnull=True,
            alert__status=Alert.Status.SENT,
            alert__stopped_at__isnull=True,
        ).select_related(
            "alert", "subscriber__sms", "subscriber__voice", "subscriber__email_contact"
        )[:limit]
    )
    specs = []
    makers: dict[int, Any] = {}  # one body maker per alert: its wording translated once
    for r in due:
        plan = r.alert.escalation.get(r.tier, [])
        step_no = r.step + 1
        if step_no >= len(plan) or r.alert.expires_at <= now:
            AlertRecipient.objects.filter(pk=r.pk, step=r.step).update(next_step_at=None)
            counts["skipped"] += 1
            continue
        step = plan[step_no]
        following = plan[step_no + 1] if step_no + 1 < len(plan) else None
        next_at = (
            r.alert.sent_at + timedelta(seconds=following["after"])  # type: ignore[operator]
            if following
            else None
        )
        fields: dict[str, Any] = {"step": step_no, "next_step_at": next_at}
        if step.get("action") == "captain":
            captain = _captain_for(r)
            fields.update(captain=captain, captain_status=AlertRecipient.CaptainStatus.PENDING)
        # The conditional update is the lock: only one runner moves a recipient past a step.
        # An all-clear sent meanwhile clears next_step_at, so a step it stopped never runs.
        if not AlertRecipient.objects.filter(
            pk=r.pk, step=r.step, acknowledged_at__isnull=True, next_step_at__isnull=False
        ).update(**fields):
            counts["skipped"] += 1
            continue
        if step.get("action") == "captain":
            counts["captain"] += 1
            continue
        contact = _contact_for(r.subscriber, step["channel"])
        if contact is None:
            counts["skipped"] += 1
            continue
        specs.append(
            messaging.DeliverySpec(
                purpose="alert",
                ref_type="alert",
                ref_id=r.alert_id,
                ref_item=r.pk,
                contact=contact,
                body=makers.setdefault(r.alert_id, _bodies(r.alert))(
                    r.pk, r.language, contact.channel
                ),
                language=r.language,
                key=f"alert:{r.alert_id}:{r.pk}:{contact.channel}:{step_no}",
                expires_at=r.alert.expires_at,
            )
        )
        counts[contact.channel] = counts.get(contact.channel, 0) + 1
    with transaction.atomic():
        live = _still_live({spec.ref_id for spec in specs})
        for spec in specs:
            if spec.ref_id not in live and spec.contact is not None:
                counts[spec.contact.channel] -= 1
                counts["skipped"] += 1
        messaging.deliveries_enqueue([spec for spec in specs if spec.ref_id in live])
    return counts


def _still_live(alert_ids: set[int | None]) -> set[int]:
    """The alerts among these not stopped, locked until the caller's transaction ends: an
    all-clear stopping one of them (which updates the same rows first) waits for the caller's
    new messages to be committed and then cancels them, or the caller sees it stopped."""
    ids = [pk for pk in alert_ids if pk is not None]
    if not ids:
        return set()
    return set(
        Alert.objects.select_for_update()
        .filter(pk__in=ids, stopped_at__isnull=True)
        .order_by("pk")  # one lock order for every runner
        .values_list("pk", flat=True)
    )


def _usable_contacts(sub: Subscriber) -> dict[str, ContactPoint]:
    """Every way to reach this person that still works, by channel."""
    found = {c: _contact_for(sub, c) for c in ("sms", "voice", "email", "push")}
    if messaging_selectors.channel_configured(Channel.SIGNAL) and sub.phone_index:
        found["signal"] = messaging_selectors.usable_contact(Channel.SIGNAL, sub.phone_index)
    return {c: contact for c, contact in found.items() if contact is not None}


def fall_back_failed(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Someone whose every message of a live alert failed for good (no Signal account, a
    rejected email, an expired push subscription, a carrier's 'undelivered') gets the alert by
    their next channel that was not tried yet, in their order of preference, then SMS.

    Run every minute by the escalation auditor; each channel is tried once per alert (the
    idempotency key), so two runners never double it.
    """
    now = now or timezone.now()
    stranded = list(
        AlertRecipient.objects.filter(
            acknowledged_at__isnull=True,
            alert__status=Alert.Status.SENT,
            alert__stopped_at__isnull=True,
            alert__expires_at__gt=now,
            alert__sent_at__gte=now - timedelta(days=1),
        )
        .filter(messaging_selectors.item_failed_for_good("alert", ref_field="alert_id"))
        .exclude(messaging_selectors.item_still_live("alert", ref_field="alert_id"))
        .select_related(
            "alert",
            "subscriber__sms",
            "subscriber__voice",
            "subscriber__email_contact",
            "subscriber__push",
        )[:limit]
    )
    if not stranded:
        return 0
    tried = messaging_selectors.channels_tried(ref_type="alert", ref_items=[r.pk for r in stranded])
    specs = []
    makers: dict[int, Any] = {}
    for r in stranded:
        contacts = _usable_contacts(r.subscriber)
        order = [*r.subscriber.channels, "sms"]
        untried = [c for c in order if c in contacts and c not in tried[r.pk]]
        if not untried:
            continue  # nothing left to try: the phone tree (captain step) is their way
        channel = untried[0]
        contact = contacts[channel]
        specs.append(
            messaging.DeliverySpec(
                purpose="alert",
                ref_type="alert",
                ref_id=r.alert_id,
                ref_item=r.pk,
                contact=contact,
                body=makers.setdefault(r.alert_id, _bodies(r.alert))(r.pk, r.language, channel),
                language=r.language,
                key=f"alert:{r.alert_id}:{r.pk}:{channel}:fallback",
                expires_at=r.alert.expires_at,
                subject=str(r.alert.get_kind_display()),
            )
        )
    with transaction.atomic():
        running = _still_live({spec.ref_id for spec in specs})
        return messaging.deliveries_enqueue([spec for spec in specs if spec.ref_id in running])


def _captain_for(recipient: AlertRecipient) -> Member | None:
    standing = (
        CaptainAssignment.objects.filter(subscriber_id=recipient.subscriber_id)
        .select_related("captain")
        .first()
    )
    if standing is not None and standing.captain.is_active:
        return standing.captain
    org_id = recipient.alert.organization_id
    member_id = recipient.subscriber.member_id
    if member_id:
        org_id = (
            Membership.objects.filter(member_id=member_id)
            .values_list("organization_id", flat=True)
            .first()
            or org_id
        )
    if org_id is None:
        return None  # every membership has an organization: no captain can match
    captains = list(
        Member.objects.filter(
            is_active=True, memberships__role=Role.CAPTAIN, memberships__organization_id=org_id
        )
        .distinct()
        .order_by("pk")
    )
    captains = [c for c in captains if network.has_role(c, Role.CAPTAIN)]
    if not captains:
        return None
    # Spread the calls: the captain with the fewest open assignments on this alert.
    load = dict(
        AlertRecipient.objects.filter(
            alert_id=recipient.alert_id,
            captain__in=captains,
            captain_status=AlertRecipient.CaptainStatus.PENDING,
        )
        .values_list("captain_id")
        .annotate(n=Count("id"))
    )
    return min(captains, key=lambda c: (load.get(c.pk, 0), c.pk))


def captain_mark(*, recipient: AlertRecipient, captain: Member, status: str) -> AlertRecipient:
    if recipient.captain_id != captain.pk and not network.is_coordinator(captain):
        raise NotAllowed
    if status not in (
        AlertRecipient.CaptainStatus.REACHED,
        AlertRecipient.CaptainStatus.NO_ANSWER,
        AlertRecipient.CaptainStatus.WRONG_NUMBER,
    ):
        raise ValueError(status)
    if recipient.captain_status == AlertRecipient.CaptainStatus.CLOSED:
        return recipient  # the alert was stopped (all-clear, correction): nothing to mark
    recipient.captain_status = status
    recipient.captain_at = timezone.now()
    recipient.save(update_fields=["captain_status", "captain_at"])
    if status == AlertRecipient.CaptainStatus.REACHED:
        acknowledge(recipient=recipient, via="captain")
    audit("tree.mark", actor=captain, target=recipient, status=status)
    return recipient


def captain_queue(captain: Member):
    return (
        AlertRecipient.objects.filter(
            captain=captain,
            acknowledged_at__isnull=True,
            captain_status__in=[
                AlertRecipient.CaptainStatus.PENDING,
                AlertRecipient.CaptainStatus.NO_ANSWER,
            ],
        )
        .select_related("alert", "subscriber", "subscriber__member")
        .order_by("-alert__sent_at", "pk")
    )
