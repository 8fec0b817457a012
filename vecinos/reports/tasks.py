"""Scheduled work of the reports app. Thin: each task calls a service and nothing else."""

from __future__ import annotations

from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from vecinos.core import ratelimit
from vecinos.reports import recordings, services


@db_periodic_task(crontab(minute="7"), name="reports.purge_expired")
def purge_expired() -> dict[str, int]:
    """Hourly retention: precise places, free text, media and contacts of old reports go;
    expired rate-limit counters go with them."""
    result = services.purge_expired_reports()
    result["rate_counters"] = ratelimit.purge_expired()
    return result


@db_periodic_task(crontab(minute="*/5"), name="reports.purge_expired_duty")
def purge_expired_duty() -> int:
    """Duty rows whose time is over go, with the position they held."""
    return services.duty_purge_expired()


@task()
def fetch_recording(attachment_id: int) -> str:
    """A hotline message just committed: fetch it from Twilio, store it, delete it there."""
    return recordings.recording_collect(attachment_id=attachment_id)


@db_periodic_task(crontab(minute="*/5"), name="reports.collect_recordings")
def collect_recordings() -> dict[str, int]:
    """Catch-up for recordings still held at Twilio (a lost task, an outage, retention)."""
    return recordings.recordings_catch_up()


@task()
def notify_dispatchers() -> dict[str, int]:
    """New reports committed: push, and text when nobody watches the console (notify.py)."""
    from vecinos.reports.notify import dispatchers_notify

    return dispatchers_notify()


@db_periodic_task(crontab(minute="*"), name="reports.notify_dispatchers")
def notify_dispatchers_minutely() -> dict[str, int]:
    """The same check every minute, for a burst that began while the last notice was fresh."""
    from vecinos.reports.notify import dispatchers_notify

    return dispatchers_notify()
