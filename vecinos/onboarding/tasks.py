from __future__ import annotations

from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from vecinos.onboarding import services


@task()
def run_import_job(job_id: int, language: str = "") -> None:
    services.import_job_run(job_id=job_id, language=language)


@db_periodic_task(crontab(minute="17"))
def forget_abandoned_uploads() -> None:
    services.import_jobs_forget()
