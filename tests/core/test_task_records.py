"""Task records do not pile up in the queue's result store.

django_tasks' Huey backend writes a record for every task it runs and never removes it; the
hourly ``core.prune_task_records`` deletes those last touched more than a day ago. Runs on the
real queue storage of the suite: the SQLite queue file, or Redis with VECINOS_REDIS_URL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from vecinos.core import tasks

pytestmark = pytest.mark.django_db


def _run_selftest(capture, token: str) -> str:
    with capture(execute=True):
        result = tasks.selftest.enqueue(token)
    return f"djt.{result.id}"


def _age(key: str, hours: float) -> None:
    record = HUEY.get(key, peek=True)
    old = (timezone.now() - timedelta(hours=hours)).isoformat()
    for field in ("enqueued_at", "started_at", "last_attempted_at", "finished_at"):
        record[field] = old
    HUEY.put_result(key, record)


def test_records_older_than_a_day_are_pruned_and_newer_ones_kept(
    django_capture_on_commit_callbacks,
):
    old = _run_selftest(django_capture_on_commit_callbacks, "old")
    recent = _run_selftest(django_capture_on_commit_callbacks, "recent")
    young = _run_selftest(django_capture_on_commit_callbacks, "young")
    try:
        record = HUEY.get(old, peek=True)
        assert record["status"] == "SUCCESSFUL"  # the backend did write it
        assert record["return_value"] == "old"
        _age(old, 25)
        _age(recent, 23)
        removed = tasks.prune_task_records()
        assert removed >= 1
        assert HUEY.get(old, peek=True) is None
        assert HUEY.get(recent, peek=True)["return_value"] == "recent"
        assert HUEY.get(young, peek=True)["return_value"] == "young"
    finally:
        for key in (old, recent, young):
            HUEY.delete(key)


def test_a_record_still_running_counts_from_its_last_attempt(django_capture_on_commit_callbacks):
    key = _run_selftest(django_capture_on_commit_callbacks, "running")
    try:
        record = HUEY.get(key, peek=True)
        long_ago = (timezone.now() - timedelta(days=3)).isoformat()
        record.update(
            status="RUNNING",
            enqueued_at=long_ago,
            started_at=long_ago,
            finished_at=None,
            last_attempted_at=(timezone.now() - timedelta(hours=1)).isoformat(),
        )
        HUEY.put_result(key, record)
        tasks.prune_task_records()
        assert HUEY.get(key, peek=True)["status"] == "RUNNING"
        record["last_attempted_at"] = long_ago
        HUEY.put_result(key, record)
        tasks.prune_task_records()
        assert HUEY.get(key, peek=True) is None
    finally:
        HUEY.delete(key)


def test_other_results_and_unreadable_records_are_left_alone():
    HUEY.put_result("not-a-task-record", {"finished_at": "2000-01-01T00:00:00+00:00"})
    HUEY.storage.put_data("djt.unreadable", b"\x00not a serialized record", is_result=True)
    HUEY.put_result("djt.no-times", {"status": "READY"})
    try:
        tasks.prune_task_records()
        assert HUEY.get("not-a-task-record", peek=True) is not None
        assert HUEY.get_raw("djt.unreadable", peek=True) == b"\x00not a serialized record"
        assert HUEY.get("djt.no-times", peek=True) == {"status": "READY"}
    finally:
        for key in ("not-a-task-record", "djt.unreadable", "djt.no-times"):
            HUEY.delete(key)


def test_the_pruning_runs_every_hour(django_capture_on_commit_callbacks):
    (task,) = [t for t in HUEY._registry.periodic_tasks if t.name == "core.prune_task_records"]
    assert task.validate_datetime(timezone.now().replace(minute=41))
    assert not task.validate_datetime(timezone.now().replace(minute=40))
    key = _run_selftest(django_capture_on_commit_callbacks, "hourly")
    try:
        _age(key, 48)
        tasks.prune_task_records_hourly.call_local()
        assert HUEY.get(key, peek=True) is None
    finally:
        HUEY.delete(key)
