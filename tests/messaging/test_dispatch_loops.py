"""A worker process runs at most settings.DELIVERY_LOOPS dispatch loops at once, and a wake-up
beyond them is never lost: a running loop takes over its work before it ends.

Sends go to a local server that speaks Twilio's API (tests/twilio_stub.py), which holds its
answers to a loop's first three messages until the test releases them: that loop is certainly
still busy when the next wake-up comes, however slow the machine.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connections

from tests.messaging.test_delivery_worker_death import (  # noqa: F401  (fixture)
    enqueue,
    twilio,
)
from tests.twilio_stub import fresh_rate_limits, twilio_webhooks  # noqa: F401  (fixtures)
from vecinos.messaging import services, tasks, worker
from vecinos.messaging.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits", "quiet_kicks")


@pytest.fixture
def quiet_kicks(monkeypatch, settings):
    """Rows are enqueued without waking anyone (tasks run inline in tests); the test wakes
    the workers itself. Fresh loop accounting for each test."""
    settings.TWILIO_SMS_RATE = 100_000
    monkeypatch.setattr(services, "kick", lambda senders=1: None)
    monkeypatch.setattr(worker, "_loops", worker._Loops())


def _busy_loop(
    twilio,  # noqa: F811
    prefix: str,
) -> tuple[threading.Thread, list[dict], threading.Event]:
    """A dispatch loop in a thread, busy with three messages the provider has taken but not
    answered; then two more rows are queued (no wake-up yet). Returns the thread, its result
    list, and the event that lets the provider answer."""
    for i in range(3):
        enqueue(f"+1213{prefix}0{i:03d}", f"loops-{prefix}-busy-{i}")
    answer = twilio.hold_next(3)  # taken at once, answered when the test says: the loop stays busy
    results: list[dict] = []

    def run() -> None:
        try:
            results.append(tasks.dispatch_deliveries.call())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    _wait_for(lambda: len(twilio.messages) == 3)
    for i in range(2):
        enqueue(f"+1213{prefix}1{i:03d}", f"loops-{prefix}-later-{i}")
    return thread, results, answer


def _wait_for(condition, seconds: float = 10) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_by_default_one_thread_of_a_worker_stays_free_for_other_tasks():
    assert max(1, django_settings.WORKER_THREADS - 1) == django_settings.DELIVERY_LOOPS


@pytest.mark.django_db(transaction=True)
def test_a_wake_up_beyond_the_cap_is_taken_over_by_the_running_loop(
    twilio,  # noqa: F811
    settings,
):
    settings.DELIVERY_LOOPS = 1
    first, results, answer = _busy_loop(twilio, "558")
    # While it waits for its answers, a wake-up for the two later rows: the cap is reached, so
    # that wake-up returns, having sent nothing, without waiting for the running loop (whose
    # answers are still held: nothing is recorded yet)...
    refused = tasks.dispatch_deliveries.call()
    assert refused["sent"] == 0, refused
    assert first.is_alive()
    assert worker._loops.running == 1
    assert worker._loops.pending is True
    assert len(twilio.messages) == 3
    assert not Delivery.objects.filter(status=DeliveryStatus.SENT).exists()
    # ... and the running loop, before it ends, sends those two as well.
    answer.set()
    first.join(30)
    assert not first.is_alive()
    assert results == [{**refused, "sent": 5}], results
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 5
    assert len(twilio.messages) == 5
    assert len({m["to"] for m in twilio.messages}) == 5
    assert worker._loops.running == 0
    assert worker._loops.pending is False


@pytest.mark.django_db(transaction=True)
def test_below_the_cap_a_wake_up_runs_its_own_loop(
    twilio,  # noqa: F811
    settings,
):
    settings.DELIVERY_LOOPS = 2
    first, results, answer = _busy_loop(twilio, "560")
    second = tasks.dispatch_deliveries.call()
    # Its own rows, sent and answered while the first loop still waits for its answers: the
    # process's send loop starts senders for them rather than queue them behind busy ones.
    assert second["sent"] == 2, second
    assert first.is_alive()
    assert len(twilio.messages) == 5
    answer.set()
    first.join(30)
    assert results[0]["sent"] == 3, results
    assert worker._loops.running == 0
    assert len({m["to"] for m in twilio.messages}) == 5


@pytest.mark.django_db(transaction=True)
def test_a_loop_that_fails_gives_its_place_back(twilio, settings, monkeypatch):  # noqa: F811
    settings.DELIVERY_LOOPS = 1
    enqueue("+12135620000", "loops-fails")
    real_claim = worker.claim_batch
    calls = {"n": 0}

    def claim_once_broken(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(worker, "claim_batch", claim_once_broken)
    with pytest.raises(RuntimeError):
        tasks.dispatch_deliveries.call()
    assert worker._loops.running == 0
    # The next wake-up is not refused: it sends the row.
    assert tasks.dispatch_deliveries.call()["sent"] == 1
    assert Delivery.objects.get(idempotency_key="loops-fails").status == DeliveryStatus.SENT
