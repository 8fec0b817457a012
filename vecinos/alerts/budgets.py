"""Counting what an alert cost and reached: the monthly SMS/call budget, an alert's progress."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q
from django.utils import timezone

from vecinos.alerts.models import (
    Alert,
    AlertRecipient,
    SmsBudget,
)
from vecinos.messaging import selectors as messaging_selectors
from vecinos.messaging.models import Channel


def budget_status(organization_id: int | None) -> dict[str, int | bool]:
    if organization_id is None:
        return {"used": 0, "limit": 0, "warn": False, "over": False}
    budget, _created = SmsBudget.objects.get_or_create(organization_id=organization_id)
    month = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    alert_ids = Alert.objects.filter(organization_id=organization_id, sent_at__gte=month).values(
        "pk"
    )
    used = messaging_selectors.deliveries_count(
        ref_type="alert", ref_ids=alert_ids, channels=[Channel.SMS, Channel.VOICE]
    )
    limit = budget.monthly_limit
    return {
        "used": used,
        "limit": limit,
        "warn": used >= limit * budget.warn_at_percent / 100,
        "over": used >= limit,
    }


# --- Progress ------------------------------------------------------------------------------------


def progress(alert: Alert) -> dict:
    """Delivery counts by tier and channel, acknowledgements, and who is not yet reached."""
    by: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = messaging_selectors.delivery_states(ref_type="alert", ref_id=alert.pk)
    totals: dict[str, int] = defaultdict(int)
    for channel, status, n in rows:
        by[channel][status] += n
        totals[status] += n
    tiers = (
        AlertRecipient.objects.filter(alert=alert)
        .values_list("tier")
        .annotate(
            n=Count("id"),
            acked=Count("id", filter=Q(acknowledged_at__isnull=False)),
        )
    )
    return {
        "channels": {c: dict(s) for c, s in by.items()},
        "totals": dict(totals),
        "tiers": {t: {"recipients": n, "acknowledged": a} for t, n, a in tiers},
        "recipients": alert.recipients_count,
        "acknowledged": sum(a for _t, _n, a in tiers),
    }
