"""The console transport's outbox: its purge and retention steps (TransportsConfig.ready)."""

from __future__ import annotations

from datetime import datetime

from vecinos.transports.models import OutboxMessage


def purge_outbox() -> dict[str, int]:
    return {"outbox": OutboxMessage.objects.all().delete()[0]}


def empty_old_bodies(cutoff: datetime) -> dict[str, int]:
    emptied = OutboxMessage.objects.filter(created_at__lt=cutoff).exclude(body="").update(body="")
    return {"message_bodies": emptied}
