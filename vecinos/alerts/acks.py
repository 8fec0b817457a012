"""Acknowledgement: the signed link, a reply of 1, a captain's "reached"; each stops that
person's escalation."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.utils import timezone

from vecinos.alerts.models import (
    Alert,
    AlertRecipient,
)
from vecinos.alerts.rules import (
    THROTTLE_EXEMPT,
)
from vecinos.messaging import services as messaging


def ack_token(recipient_id: int, signer: signing.TimestampSigner | None = None) -> str:
    # The same token as signing.dumps(..., salt="vecinos.ack"); a fan-out reuses one signer.
    return (signer or signing.TimestampSigner(salt="vecinos.ack")).sign_object(recipient_id)


def ack_link(recipient_id: int, signer: signing.TimestampSigner | None = None) -> str:
    return f"{settings.PUBLIC_URL}/a/{ack_token(recipient_id, signer)}/"


def load_ack_token(token: str, max_age_days: int = 7) -> AlertRecipient | None:
    try:
        rid = signing.loads(token, salt="vecinos.ack", max_age=max_age_days * 86400)
    except signing.BadSignature:
        return None
    return AlertRecipient.objects.select_related("alert").filter(pk=rid).first()


# --- Acknowledgement ---------------------------------------------------------------------------


def acknowledge(*, recipient: AlertRecipient, via: str) -> bool:
    """Record that the person got it; stops their escalation. Idempotent."""
    now = timezone.now()
    updated = AlertRecipient.objects.filter(pk=recipient.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, ack_via=via[:12], next_step_at=None
    )
    if updated:
        # Queued escalation messages to someone who already answered are not needed.
        messaging.deliveries_acknowledge(
            ref_type="alert", ref_id=recipient.alert_id, ref_item=recipient.pk, at=now
        )
    return bool(updated)


def acknowledge_by_phone(*, index: str) -> AlertRecipient | None:
    """A '1' / 'YES' / 'SI' reply: the most recent unacknowledged alert sent to that phone."""
    recipient = (
        AlertRecipient.objects.filter(
            subscriber__phone_index=index,
            acknowledged_at__isnull=True,
            alert__status=Alert.Status.SENT,
            alert__expires_at__gt=timezone.now(),
        )
        .exclude(alert__kind__in=THROTTLE_EXEMPT)
        .select_related("alert")
        .order_by("-alert__sent_at", "-pk")
        .first()
    )
    if recipient is None:
        return None
    acknowledge(recipient=recipient, via="sms")
    return recipient
