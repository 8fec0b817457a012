from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from vecinos.patrols import services


@db_periodic_task(crontab(minute="5", hour="3"))
def generate_shifts_daily() -> None:
    services.generate_shifts(weeks=4)


@db_periodic_task(crontab(minute="*/10"))
def patrol_reminders() -> None:
    services.send_reminders()
