"""Outbound deliveries and the contact points they go to.

The database row is the truth: a Delivery exists before any provider is called, carries a lease
while a worker sends it, and ends in a final state. Queues only say "look at the table".
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vecinos.core.crypto import EncryptedTextField


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice call")
    EMAIL = "email", _("Email")
    PUSH = "push", _("Push")
    SIGNAL = "signal", _("Signal")


class ContactPoint(models.Model):
    """One way to reach someone: a phone for SMS/voice, an email, a push subscription."""

    channel = models.CharField(max_length=16, choices=Channel.choices)
    address = EncryptedTextField()
    address_index = models.CharField(max_length=64)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="contact_points",
    )
    language = models.CharField(max_length=8, default="es")
    usable = models.BooleanField(default=True)
    unusable_reason = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "address_index"], name="contact_unique"),
        ]


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    UNDELIVERED = "undelivered", _("Undelivered")
    CANCELLED = "cancelled", _("Cancelled")


FINAL_STATUSES = (
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.UNDELIVERED,
    DeliveryStatus.CANCELLED,
)


class Delivery(models.Model):
    """One message to one contact point on one channel, for one purpose."""

    purpose = models.CharField(max_length=24)  # alert, verify, reminder, ...
    ref_type = models.CharField(max_length=24, blank=True)
    ref_id = models.BigIntegerField(null=True, blank=True)
    # A row inside the reference (an alert's recipient): acknowledgements find their way back.
    # Indexed after the reference (delivery_ref): every lookup by item names its reference.
    ref_item = models.BigIntegerField(null=True, blank=True)
    contact = models.ForeignKey(ContactPoint, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    language = models.CharField(max_length=8, default="es")
    subject = models.CharField(max_length=200, blank=True)
    # Encrypted: a verification request names a place, a body may hold a signed link.
    body = EncryptedTextField()
    # (purpose, ref, contact, channel, step): a second insert of the same delivery is refused
    # by the database, and the provider gets the same key so a re-send is never doubled.
    # Unique by a constraint, not unique=True: on PostgreSQL that would add a second index
    # (varchar_pattern_ops, for LIKE, which nothing here asks), written with every row.
    idempotency_key = models.CharField(max_length=120)
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    # The worker process holding the lease (host/pid namespace/pid/start time): a worker on
    # the same host sees at once that it died and re-queues its rows without waiting for the
    # lease to run out.
    lease_owner = models.CharField(max_length=64, null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=64, blank=True)  # indexed below (no LIKE index)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    final_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # The last attempt may have reached the provider (its worker died, or the answer timed
    # out): the next attempt first asks the provider whether it went through.
    outcome_unknown = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # A claim's order (the longest due first, then by id) straight from the index.
            models.Index(fields=["status", "next_attempt_at", "id"], name="delivery_due"),
            # One index for a reference's messages and for an item's: on PostgreSQL every
            # claim and every outcome writes a new version of the row into each index.
            models.Index(fields=["ref_type", "ref_id", "ref_item"], name="delivery_ref"),
            models.Index(fields=["provider_id"], name="delivery_provider"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="delivery_key_unique"),
        ]


class WebhookSeen(models.Model):
    """A provider webhook already handled, so a captured copy re-sent later (a saved STOP
    replayed after START) is ignored. Twilio's signature has no timestamp or nonce: the
    message's or call step's SID is the only thing that tells a replay apart. Only a keyed hash
    is kept (no SID, no phone number), for ``VECINOS_WEBHOOK_REPLAY_DAYS``."""

    key = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)
