from __future__ import annotations

from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from vecinos.alerts import services


@task()
def run_escalations() -> dict[str, int]:
    return services.escalate_due()


@db_periodic_task(crontab(minute="*"))
def escalation_auditor() -> None:
    """Finds escalation steps that fell behind schedule (a lost task, a stopped worker)."""
    services.escalate_due()
