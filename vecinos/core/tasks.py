from __future__ import annotations

from django_tasks import task


@task()
def selftest(token: str) -> str:
    """Echo a token back: `vecinos check --worker` proves a worker is consuming the queue."""
    return token
