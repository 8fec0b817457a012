"""Acknowledgement: the signed link, a reply of 1, a captain's "reached"; each stops that
person's escalation."""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.encoding import force_bytes

from vecinos.alerts.models import (
    Alert,
    AlertRecipient,
)
from vecinos.alerts.rules import (
    THROTTLE_EXEMPT,
)
from vecinos.messaging import services as messaging


class FanOutSigner(signing.TimestampSigner):
    """Django's TimestampSigner for the ack tokens of one fan-out: the same tokens (checked
    by signing.loads), with the HMAC key derived and set up once instead of for each of tens
    of thousands of people (salted_hmac hashes the salt and secret, then keys a new HMAC, on
    every call), and a recipient id turned into JSON as the text of an int."""

    def __init__(self) -> None:
        super().__init__(salt="vecinos.ack")
        # What salted_hmac derives for this salt and key.
        derived = hashlib.sha256(
            force_bytes(self.salt) + b"signer" + force_bytes(self.key)
        ).digest()
        self._mac = hmac.new(derived, digestmod=hashlib.sha256)
        self._second = -1
        self._stamp = ""

    def timestamp(self) -> str:
        # The same stamp as Django's (the second, in base 62), encoded once a second.
        second = int(time.time())
        if second != self._second:
            self._second, self._stamp = second, signing.b62_encode(second)
        return self._stamp

    def signature(self, value, key=None):
        if key is not None and key != self.key:  # a fallback key: Django's own way
            return super().signature(value, key)
        mac = self._mac.copy()
        mac.update(force_bytes(value))
        return signing.b64_encode(mac.digest()).decode()

    def sign_object(self, obj, serializer=signing.JSONSerializer, compress=False):
        if type(obj) is int and serializer is signing.JSONSerializer and not compress:
            return self.sign(signing.b64_encode(str(obj).encode()).decode())
        return super().sign_object(obj, serializer=serializer, compress=compress)


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
