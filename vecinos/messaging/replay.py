"""Replay protection for provider webhooks: each message (MessageSid) or call step (CallSid and
the step's URL) is handled once. Rows hold only a keyed hash and are pruned after
``settings.WEBHOOK_REPLAY_DAYS``."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from vecinos.core.crypto import blind_index
from vecinos.messaging.models import WebhookSeen


def first_time(kind: str, *parts: str) -> bool:
    """Record this webhook; False when it was seen before (a replay). Webhooks without an id
    (``parts`` empty or blank) cannot be told apart and always pass."""
    if not any(parts):
        return True
    key = blind_index("|".join((kind, *parts)), purpose="webhook-replay")
    # One statement and no savepoint: it runs inside the webhook's write transaction, where
    # every statement counts (the write lock is held meanwhile).
    table = WebhookSeen._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, seen_at) VALUES (%s, %s) "  # noqa: S608 - our table
            "ON CONFLICT (key) DO NOTHING RETURNING id",
            [key, now],
        )
        return cursor.fetchone() is not None


def prune(*, now=None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_REPLAY_DAYS)
    deleted, _by_model = WebhookSeen.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
