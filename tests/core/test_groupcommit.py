"""Group commit on the embedded database: writes queued by several threads run in one
transaction, each caller gets its own result or its own exception, a failing one rolls back
alone, and callers already in a transaction (or on PostgreSQL) keep their own."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from vecinos.core import groupcommit
from vecinos.core.models import RateCounter

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="group commit is for the embedded database only"
)


def _counter(name: str):
    def fn() -> int:
        return RateCounter.objects.create(name=name, count=1, expires=0).pk

    return fn


def _failing(name: str):
    def fn() -> int:
        RateCounter.objects.create(name=name, count=1, expires=0)
        raise ValueError(f"refused {name}")

    return fn


def _together(calls) -> list[int]:
    """Run each call on a thread of its own while this thread holds the process's turn, until
    every call has queued its writes, so they form groups when it lets go. Returns the sizes
    of the groups that ran."""
    groups: list[int] = []
    real_run = groupcommit._run

    def run(group):
        groups.append(len(group))
        real_run(group)

    def target(call) -> None:
        try:
            call()
        finally:
            connections.close_all()

    groupcommit._run = run
    try:
        with groupcommit._turn:
            threads = [threading.Thread(target=target, args=(call,)) for call in calls]
            for t in threads:
                t.start()
            for _ in range(500):
                with groupcommit._queue_lock:
                    if len(groupcommit._queued) == len(calls):
                        break
                threading.Event().wait(0.01)
        for t in threads:
            t.join(30)
    finally:
        groupcommit._run = real_run
    return groups


def _in_threads(fns) -> tuple[list, list, list[int]]:
    """Each fn through groupcommit.write on a thread of its own, all in one queue."""
    results: list = [None] * len(fns)
    errors: list = [None] * len(fns)

    def call(i: int):
        def write() -> None:
            try:
                results[i] = groupcommit.write(fns[i])
            except Exception as exc:  # noqa: BLE001 - checked by the test
                errors[i] = exc

        return write

    groups = _together([call(i) for i in range(len(fns))])
    return results, errors, groups


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_queued_writes_share_one_transaction_and_each_gets_its_result():
    fns = [_counter(f"g{i}") for i in range(8)]
    results, errors, groups = _in_threads(fns)
    assert errors == [None] * 8
    assert groups == [8]  # one group, one transaction
    rows = dict(RateCounter.objects.filter(name__startswith="g").values_list("name", "pk"))
    assert [rows[f"g{i}"] for i in range(8)] == results  # each caller got its own row's id


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_failing_write_rolls_back_alone_and_its_caller_gets_the_exception():
    fns = [_counter("ok1"), _failing("bad"), _counter("ok2")]
    results, errors, groups = _in_threads(fns)
    assert groups == [3]
    assert isinstance(errors[1], ValueError) and str(errors[1]) == "refused bad"
    assert errors[0] is None and errors[2] is None
    assert results[0] and results[2]
    names = set(RateCounter.objects.values_list("name", flat=True))
    assert names == {"ok1", "ok2"}  # the failing one's row is gone, the others committed


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_groups_are_capped_and_every_write_still_runs(monkeypatch):
    monkeypatch.setattr(groupcommit, "MAX_GROUP", 3)
    results, errors, groups = _in_threads([_counter(f"c{i}") for i in range(7)])
    assert errors == [None] * 7 and all(results)
    assert sum(groups) == 7 and max(groups) <= 3
    assert RateCounter.objects.filter(name__startswith="c").count() == 7


@pytest.mark.django_db
def test_inside_a_transaction_the_caller_keeps_its_own():
    with transaction.atomic():
        pk = groupcommit.write(_counter("inner"))
        assert RateCounter.objects.filter(pk=pk).exists()
    with pytest.raises(ValueError, match="refused x"), transaction.atomic():
        groupcommit.write(_failing("x"))
    assert not RateCounter.objects.filter(name="x").exists()
    assert groupcommit._queued == []  # nothing was queued for another thread


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_reports_grouped_together_answer_each_in_its_own_language(settings):
    """Two public reports in one group: a valid one in English and an invalid one in Spanish.
    Whichever thread runs the group, each answer is its own, in its own language."""
    import json

    from django.test import Client

    from vecinos.reports.models import Report

    settings.REPORT_RATE_LIMIT = 1000
    good = {"activity": "checkpoint", "agency": "cbp", "lat": 34.0412, "lng": -118.2134,
            "place_text": "Cesar Chavez & Soto", "language": "en"}  # fmt: skip
    bad = {**good, "lng": None, "language": "es"}  # latitude without longitude: a 400
    answers: dict[str, object] = {}

    def post(name: str, body: dict, language: str):
        def fn() -> None:
            answers[name] = Client().post(
                "/api/v1/reports", json.dumps(body), content_type="application/json",
                HTTP_ACCEPT_LANGUAGE=language,
            )  # fmt: skip

        return fn

    groups = _together([post("good", good, "en"), post("bad", bad, "es")])
    assert groups == [2]
    good_answer, bad_answer = answers["good"], answers["bad"]
    assert good_answer.status_code == 201  # type: ignore[attr-defined]
    receipt = good_answer.json()["receipt"]  # type: ignore[attr-defined]
    assert Report.objects.filter(receipt=receipt).count() == 1
    assert bad_answer.status_code == 400  # type: ignore[attr-defined]
    message = bad_answer.json()["errors"]["location"]  # type: ignore[attr-defined]
    assert "latitud" in message.lower() and "latitude and longitude" not in message
    assert Report.objects.count() == 1
