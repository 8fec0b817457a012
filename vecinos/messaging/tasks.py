from __future__ import annotations

from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from vecinos.messaging import replay, services


@task()
def dispatch_deliveries() -> dict[str, int]:
    return services.dispatch()


@db_periodic_task(crontab(minute="*"))
def sweep_deliveries() -> None:
    services.sweep()


@db_periodic_task(crontab(minute="17", hour="4"), name="messaging.prune_webhooks_seen")
def prune_webhooks_seen() -> None:
    replay.prune()
