"""An alert's life: drafting (alert_create), sending, the second person's approval, cancel."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vecinos.alerts.approvals import (
    _notify_approvers,
)
from vecinos.alerts.fanout import (
    _fan_out,
)
from vecinos.alerts.models import (
    TIER_ORDER,
    Alert,
    Tier,
)
from vecinos.alerts.rules import (
    APPROVAL_REF,
    DEFAULT_EXPIRY,
    AlertError,
    NotAllowed,
    can_alert,
    may_approve,
    needs_second_person,
    origin_errors,
    target_errors,
    validate_messages,
)
from vecinos.alerts.stopping import (
    _stop,
)
from vecinos.core.audit import audit
from vecinos.messaging import services as messaging
from vecinos.network.models import Member, Membership, Zone


@transaction.atomic
def alert_create(
    *,
    actor: Member,
    kind: str,
    tiers: list[str],
    messages: dict[str, str],
    zones: list[Zone] | None = None,
    point: tuple[float, float] | None = None,
    radius_m: int | None = None,
    expires_at: datetime | None = None,
    incident=None,
    parent: Alert | None = None,
    area_label: str = "",
    polygon: list[list[float]] | None = None,
) -> Alert:
    if not can_alert(actor):
        raise NotAllowed
    if parent is not None:
        parent.refresh_from_db(fields=["status"])  # the caller's copy may predate its sending
    errors = origin_errors(kind=kind, parent=parent, incident=incident)
    tiers = [t for t in TIER_ORDER if t in tiers]
    if parent is not None:
        tiers = list(parent.tiers)
    if not tiers:
        errors["tiers"] = str(gettext_lazy("Choose who should get this alert."))
    needs_area = parent is None and any(t in (Tier.MEMBERS, Tier.PUBLIC) for t in tiers)
    errors.update(
        target_errors(
            needs_area=needs_area, zones=zones, point=point, radius_m=radius_m, polygon=polygon
        )
    )
    try:
        clean = validate_messages(messages)
    except AlertError as exc:
        errors.update(exc.errors)
        clean = {}
    now = timezone.now()
    expires_at = expires_at or now + DEFAULT_EXPIRY
    if expires_at <= now or expires_at > now + timedelta(days=7):
        errors["expires_at"] = str(gettext_lazy("The expiry must be within the next 7 days."))
    if errors:
        raise AlertError(errors)
    org = (
        Membership.objects.filter(member=actor)
        .order_by("pk")
        .values_list("organization_id", flat=True)
        .first()
    )
    alert = Alert.objects.create(
        kind=kind,
        tiers=tiers,
        messages=clean,
        lat=point[0] if point else (parent.lat if parent else None),
        lng=point[1] if point else (parent.lng if parent else None),
        radius_m=radius_m or (parent.radius_m if parent else None),
        polygon=[list(c) for c in polygon] if polygon else (list(parent.polygon) if parent else []),
        area_label=(area_label or (parent.area_label if parent else ""))[:120],
        expires_at=expires_at,
        incident=incident or (parent.incident if parent else None),
        parent=parent,
        organization_id=org,
        created_by=actor,
    )
    if zones:
        alert.zones.set(zones)
    elif parent is not None:
        alert.zones.set(parent.zones.all())
    audit("alert.create", actor=actor, target=alert, kind=kind, tiers=tiers)
    return alert


@transaction.atomic
def alert_send(*, alert: Alert, actor: Member) -> Alert:
    """Send now, or wait for a second person when the public tier is included."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != Alert.Status.DRAFT:
        return alert
    # Only the author sends their draft: otherwise a second person could press Send on
    # someone else's public draft and then approve it themselves, alone.
    if not can_alert(actor) or actor.pk != alert.created_by_id:
        raise NotAllowed
    if needs_second_person(alert):
        alert.status = Alert.Status.PENDING
        alert.requested_at = timezone.now()
        alert.save(update_fields=["status", "requested_at"])
        notified = _notify_approvers(alert)
        audit("alert.request_approval", actor=actor, target=alert, notified=notified)
        return alert
    return _fan_out(alert, actor)


@transaction.atomic
def alert_approve(*, alert: Alert, actor: Member) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != Alert.Status.PENDING:
        return alert
    if actor.pk == alert.created_by_id:
        raise NotAllowed(_("A second, different person must approve a public alert."))
    if not may_approve(actor, alert):
        raise NotAllowed
    alert.approved_by = actor
    alert.save(update_fields=["approved_by"])
    audit("alert.approve", actor=actor, target=alert)
    messaging.deliveries_cancel(ref_type=APPROVAL_REF, ref_ids=[alert.pk], reason="answered")
    return _fan_out(alert, actor)


@transaction.atomic
def alert_cancel(*, alert: Alert, actor: Member) -> Alert:
    """A draft or a pending alert is cancelled (nothing was sent). A sent alert cannot be
    unsent: it is stopped, so no escalation step, queued message or captain call follows."""
    if not can_alert(actor):
        raise NotAllowed
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status in (Alert.Status.DRAFT, Alert.Status.PENDING):
        alert.status = Alert.Status.CANCELLED
        alert.save(update_fields=["status"])
        messaging.deliveries_cancel(ref_type=APPROVAL_REF, ref_ids=[alert.pk], reason="cancelled")
        audit("alert.cancel", actor=actor, target=alert)
    elif alert.status in (Alert.Status.SENDING, Alert.Status.SENT) and alert.stopped_at is None:
        stopped = _stop([alert.pk], Alert.StopReason.CANCELLED)
        audit("alert.stop", actor=actor, target=alert, **stopped)
        alert.refresh_from_db()
    return alert
