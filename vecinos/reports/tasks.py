"""Scheduled work of the reports app. Thin: each task calls a service and nothing else."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from vecinos.core import ratelimit
from vecinos.reports import services


@db_periodic_task(crontab(minute="7"), name="reports.purge_expired")
def purge_expired() -> dict[str, int]:
    """Hourly retention: precise places, free text, media and contacts of old reports go;
    expired rate-limit counters go with them."""
    result = services.purge_expired_reports()
    result["rate_counters"] = ratelimit.purge_expired()
    return result
