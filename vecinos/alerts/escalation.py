"""Escalation: voice and captain steps when nobody answered, the fall-back to a person's next
channel when every message failed, and the captains' phone tree."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
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
from vecinos.core import metrics
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
    finished: defaultdict[int, list[int]] = defaultdict(list)  # step -> recipients at its end
    moves: defaultdict[tuple, list[AlertRecipient]] = defaultdict(list)
    for r in due:
        plan = r.alert.escalation.get(r.tier, [])
        step_no = r.step + 1
        if step_no >= len(plan) or r.alert.expires_at <= now:
            finished[r.step].append(r.pk)
            continue
        following = plan[step_no + 1] if step_no + 1 < len(plan) else None
        next_at = (
            r.alert.sent_at + timedelta(seconds=following["after"])  # type: ignore[operator]
            if following
            else None
        )
        moves[(r.step, step_no, next_at, plan[step_no].get("action") == "captain")].append(r)
    for step_from, ids in finished.items():
        AlertRecipient.objects.filter(pk__in=ids, step=step_from).update(next_step_at=None)
        counts["skipped"] += len(ids)
    specs = []
    makers: dict[int, Any] = {}  # one body maker per alert: its wording translated once
    for (step_from, step_no, next_at, captain_step), group in moves.items():
        if captain_step:
            assigned = _captain_step(group, step_from, step_no, next_at)
            counts["captain"] += assigned
            counts["skipped"] += len(group) - assigned
            continue
        moved = _advance([r.pk for r in group], step_from, step_no, next_at)
        for r in group:
            if r.pk not in moved:
                counts["skipped"] += 1
                continue
            spec = _step_message(r, step_no, makers)
            if spec is None:
                counts["skipped"] += 1
                continue
            specs.append(spec)
            counts[spec.channel] = counts.get(spec.channel, 0) + 1
    with transaction.atomic():
        live = _still_live({spec.ref_id for spec in specs})
        for spec in specs:
            if spec.ref_id not in live:
                counts[spec.channel] -= 1
                counts["skipped"] += 1
        messaging.deliveries_enqueue([spec for spec in specs if spec.ref_id in live])
    metrics.escalation_steps(counts)  # issue 15
    return counts


def _advance(ids: list[int], step_from: int, step_no: int, next_at: datetime | None) -> set[int]:
    """Move these recipients from one step to the next; the ones actually moved.

    The conditional update is the lock: only one runner moves a recipient past a step. An
    all-clear sent meanwhile clears next_step_at, so a step it stopped never runs. One UPDATE
    ... RETURNING per 500 people (PostgreSQL, SQLite >= 3.35), not one per person.
    """
    table = AlertRecipient._meta.db_table
    pk = AlertRecipient._meta.pk.column  # type: ignore[union-attr]
    when = connection.ops.adapt_datetimefield_value(next_at) if next_at else None
    moved: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET step = %s, next_step_at = %s "  # noqa: S608
                f"WHERE {pk} IN ({marks}) AND step = %s AND acknowledged_at IS NULL "
                f"AND next_step_at IS NOT NULL RETURNING {pk}",
                [step_no, when, *chunk, step_from],
            )
            moved.update(row[0] for row in cursor.fetchall())
    return moved


def _captain_step(
    group: list[AlertRecipient], step_from: int, step_no: int, next_at: datetime | None
) -> int:
    """The phone tree: each recipient is given a captain (the least loaded), one by one."""
    moved = 0
    for r in group:
        fields: dict[str, Any] = {
            "step": step_no,
            "next_step_at": next_at,
            "captain": _captain_for(r),
            "captain_status": AlertRecipient.CaptainStatus.PENDING,
        }
        moved += AlertRecipient.objects.filter(
            pk=r.pk, step=step_from, acknowledged_at__isnull=True, next_step_at__isnull=False
        ).update(**fields)
    return moved


def _step_message(
    r: AlertRecipient, step_no: int, makers: dict[int, Any]
) -> messaging.DeliverySpec | None:
    step = r.alert.escalation.get(r.tier, [])[step_no]
    contact = _contact_for(r.subscriber, step["channel"])
    if contact is None:
        return None
    return messaging.DeliverySpec(
        purpose="alert",
        ref_type="alert",
        ref_id=r.alert_id,
        ref_item=r.pk,
        contact=contact,
        channel=contact.channel,
        body=makers.setdefault(r.alert_id, _bodies(r.alert))(r.pk, r.language, contact.channel),
        language=r.language,
        key=f"alert:{r.alert_id}:{r.pk}:{contact.channel}:{step_no}",
        expires_at=r.alert.expires_at,
    )


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
    tried = messaging_selectors.channels_tried(
        ref_type="alert", items=[(r.alert_id, r.pk) for r in stranded]
    )
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
