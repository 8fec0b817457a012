from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from vecinos.mobilize import events, services


@db_periodic_task(crontab(minute="*"))
def callout_waves() -> None:
    services.next_waves()


@db_periodic_task(crontab(minute="*/10"))
def event_reminders() -> None:
    events.send_reminders()


@db_periodic_task(crontab(minute="35", hour="3"))
def event_retention() -> None:
    events.purge_past()
