from __future__ import annotations

from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, on_startup

from vecinos.messaging import leases, replay, worker


@task()
def dispatch_deliveries() -> dict[str, int]:
    return worker.dispatch_woken()


@db_periodic_task(crontab(minute="*"))
def sweep_deliveries() -> None:
    leases.sweep()


@db_periodic_task(crontab(minute="17", hour="4"), name="messaging.prune_webhooks_seen")
def prune_webhooks_seen() -> None:
    replay.prune()


@on_startup()
def delivery_heartbeat() -> None:
    # Runs in each consumer thread of a worker process; the heartbeat starts once per process.
    leases.start_heartbeat()
