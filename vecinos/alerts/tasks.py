from __future__ import annotations

from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from vecinos.alerts import services


@task()
def run_escalations() -> dict[str, int]:
    services.stop_expired()
    counts = services.escalate_due()
    counts["fallback"] = services.fall_back_failed()
    return counts


@task()
def finish_fan_out(alert_id: int) -> int:
    """The rest of a fan-out after its first chunk (alerts/fanout.py)."""
    return services.finish_fan_out(alert_id)


@task()
def watch_fan_out(alert_id: int) -> int:
    """Takes over a fan-out whose writer stopped (alerts/fanout.py)."""
    return services.watch_fan_out(alert_id)


@db_periodic_task(crontab(minute="*"))
def escalation_auditor() -> None:
    """Finds escalation steps that fell behind schedule (a lost task, a stopped worker), and
    people whose message failed for good, who get it by their next channel; expired alerts
    stop (their captains' open calls close); public alerts still waiting for approval are
    announced to every approver; a fan-out whose writer died is finished."""
    services.resume_fan_outs()
    services.stop_expired()
    services.escalate_due()
    services.fall_back_failed()
    services.remind_approvers()
