from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from vecinos.core.crypto import EncryptedTextField


class OutboxMessage(models.Model):
    """What the console transport "sent": shown on the Outbox page instead of leaving the server."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    channel = models.CharField(max_length=16)
    address = EncryptedTextField()
    subject = models.CharField(max_length=200, blank=True)
    body = EncryptedTextField()
    language = models.CharField(max_length=8, blank=True)
    provider_id = models.CharField(max_length=40, unique=True)
    idempotency_key = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outbox message")
