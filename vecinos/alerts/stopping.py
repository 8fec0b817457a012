"""Stopping: all-clear, correction, cancel and expiry end an alert's escalation and queued
messages."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from vecinos.alerts.models import (
    Alert,
    AlertRecipient,
)
from vecinos.messaging import services as messaging

# --- Stopping: all-clear, correction, cancel, expiry ---------------------------------------------


def _thread_of(alert: Alert) -> list[int]:
    """The alerts an all-clear or correction supersedes: the original and every follow-up of
    it that went out (updates in between), but not the new one."""
    root_id = alert.parent_id
    seen: set[int] = set()
    while root_id is not None and root_id not in seen:
        seen.add(root_id)
        parent_id = Alert.objects.filter(pk=root_id).values_list("parent_id", flat=True).first()
        if parent_id is None:
            break
        root_id = parent_id
    ids: set[int] = {root_id} if root_id is not None else set()
    frontier = list(ids)
    while frontier:
        frontier = list(
            Alert.objects.filter(parent_id__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids.update(frontier)
    ids.discard(alert.pk)
    return sorted(
        Alert.objects.filter(
            pk__in=ids, status__in=(Alert.Status.SENDING, Alert.Status.SENT)
        ).values_list("pk", flat=True)
    )


def _stop(alert_ids: list[int], reason: str) -> dict[str, int]:
    """Nothing more of these alerts goes out: no escalation step (voice, captain), no queued
    message (cancelled, not sent late), and captains' open calls close with the reason."""
    if not alert_ids:
        return {"steps": 0, "captain_calls": 0, "cancelled": 0}
    now = timezone.now()
    Alert.objects.filter(pk__in=alert_ids, stopped_at__isnull=True).update(
        stopped_at=now, stop_reason=reason
    )
    steps = AlertRecipient.objects.filter(
        alert_id__in=alert_ids, next_step_at__isnull=False
    ).update(next_step_at=None)
    calls = AlertRecipient.objects.filter(
        alert_id__in=alert_ids,
        captain_status__in=(
            AlertRecipient.CaptainStatus.PENDING,
            AlertRecipient.CaptainStatus.NO_ANSWER,
        ),
    ).update(captain_status=AlertRecipient.CaptainStatus.CLOSED, captain_at=now)
    cancelled = messaging.deliveries_cancel(
        ref_type="alert", ref_ids=alert_ids, reason=f"stopped: {reason}"
    )
    return {"steps": steps, "captain_calls": calls, "cancelled": cancelled}


def stop_expired(*, now: datetime | None = None, limit: int = 500) -> int:
    """Expired alerts stop too: their captains' open calls close (run by the minute auditor)."""
    now = now or timezone.now()
    ids = list(
        Alert.objects.filter(
            status=Alert.Status.SENT, stopped_at__isnull=True, expires_at__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    with transaction.atomic():
        _stop(ids, Alert.StopReason.EXPIRED)
    return len(ids)
