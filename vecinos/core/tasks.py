from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone
from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task

# django_tasks' Huey backend keeps a record of every task it runs (status, times, arguments,
# return value) in the queue's result store, so that a caller can read the task's result; it
# never removes one. Vecinos enqueues a task for every wake of the delivery workers, every
# dispatcher notification and every escalation step: without pruning, the store (Redis's
# memory at scale, the queue file in the embedded default) grows for as long as it runs. The
# records hold ids only (no personal data); a task whose record is gone still runs.
TASK_RECORD_KEEP = timedelta(hours=24)
log = logging.getLogger(__name__)
_RECORD_PREFIX = "djt."  # huey.contrib.djhuey.tasks_backend.KEY


@task()
def selftest(token: str) -> str:
    """Echo a token back: `vecinos check --worker` proves a worker is consuming the queue."""
    return token


def _last_touched(record: dict) -> datetime | None:
    times = [
        datetime.fromisoformat(value)
        for field in ("finished_at", "last_attempted_at", "started_at", "enqueued_at")
        if isinstance(value := record.get(field), str)
    ]
    return max(times) if times else None


def prune_task_records(keep: timedelta = TASK_RECORD_KEEP) -> int:
    """Delete the task records last touched longer than ``keep`` ago; returns how many."""
    cutoff = timezone.now() - keep
    removed = 0
    for key, raw in HUEY.all_results().items():
        if not key.startswith(_RECORD_PREFIX):
            continue
        try:
            record = HUEY.serializer.deserialize(raw)
            touched = _last_touched(record) if isinstance(record, dict) else None
            old = touched is not None and touched < cutoff
        except Exception:  # noqa: BLE001 - not a record we can read: leave it alone
            log.warning("task record %s is unreadable; left in place", key)
            continue
        if old:
            HUEY.delete(key)
            removed += 1
    return removed


@db_periodic_task(crontab(minute="41"), name="core.prune_task_records")
def prune_task_records_hourly() -> None:
    prune_task_records()
