"""The sender records outcomes in groups, not one transaction per message that comes back.

Sends go to a local server that speaks Twilio's API (tests/twilio_stub.py), on the worker's
event loop, as in production.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
import threading
import time
from datetime import timedelta

import pytest
import uvloop
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.messaging.test_delivery_worker_death import (  # noqa: F401  (fixture)
    enqueue,
    slow_rate,
    twilio,
)
from tests.twilio_stub import fresh_rate_limits, twilio_webhooks  # noqa: F401  (fixtures)
from vecinos.messaging import services, worker
from vecinos.messaging.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")


@pytest.mark.django_db
def test_a_batch_is_recorded_in_a_few_groups_and_every_message_goes_once(twilio, settings):  # noqa: F811
    # A carrier's rate: the answers come back one by one, 20 ms apart, where a record per
    # arrival (a write transaction each) would cost the sender most of its time.
    settings.TWILIO_SMS_RATE = 50
    n = 100
    for i in range(n):
        enqueue(f"+1213556{i:04d}", f"batch-{i}")
    started = time.monotonic()
    with CaptureQueriesContext(connection) as ctx:
        counts = services.dispatch(batch_size=n)
    took = time.monotonic() - started
    assert counts["sent"] == n, counts
    outcome_writes = [
        q["sql"] for q in ctx.captured_queries if "UPDATE" in q["sql"] and "provider_id" in q["sql"]
    ]
    # A group is written when it holds RECORD_EVERY outcomes or RECORD_WAIT seconds after its
    # first arrived: at most one per RECORD_WAIT of sending, plus the full ones. One per
    # answer (or per momentary lull between answers) would be hundreds, or dozens.
    most = took / worker.RECORD_WAIT + -(-n // worker.RECORD_EVERY) + 1
    assert len(outcome_writes) <= most, (len(outcome_writes), took)
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == n
    # Each number exactly once at the provider.
    assert len(twilio.messages) == n
    assert len({m["to"] for m in twilio.messages}) == n


@pytest.fixture
def own_send_loop():
    """A send loop made for this test (its concurrency is read when it is made)."""
    saved = dict(worker._loop_holder)
    worker._loop_holder.clear()
    try:
        yield
    finally:
        made = worker._loop_holder.get("loop")
        if made is not None:
            made.close()
            made.loop.call_soon_threadsafe(made.loop.stop)
            atexit.unregister(made.close)
        worker._loop_holder.clear()
        worker._loop_holder.update(saved)


@pytest.mark.django_db(transaction=True)
def test_the_send_loop_keeps_its_concurrency_for_two_batches_at_once(
    twilio,  # noqa: F811
    settings,
    own_send_loop,
    monkeypatch,
):
    # Four in flight per unit of DELIVERY_CONCURRENCY, whichever batch the messages are from:
    # two batches sent from two threads share the loop's senders, and each gets its own
    # outcomes back.
    settings.TWILIO_SMS_RATE = 100_000
    settings.DELIVERY_CONCURRENCY = 2
    # Sent below, not by the commit of each row (tasks run inline in tests).
    monkeypatch.setattr(services, "kick", lambda senders=1: None)
    n = 40
    for i in range(n):
        enqueue(f"+1213557{i:04d}", f"loop-{i}")
    twilio.delay_next(n, 0.1)
    first = services.claim_batch(n // 2)
    second = services.claim_batch(n // 2)
    results: list[dict] = []

    def send(claimed) -> None:
        try:
            results.append(services.send_batch(claimed))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r["sent"] for r in results) == [n // 2, n // 2], [
        sorted(r.items()) for r in results
    ]
    assert twilio.most_in_flight == 4 * settings.DELIVERY_CONCURRENCY
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == n
    assert len({m["to"] for m in twilio.messages}) == n
    # ... on uvloop, the loop the worker runs in production.
    assert isinstance(worker._loop_holder["loop"].loop, uvloop.Loop)


def test_without_uvloop_the_sender_runs_on_asyncio_s_loop(monkeypatch):
    # A platform with no uvloop build: the import fails and the sender still gets a loop.
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes "import uvloop" raise ImportError
    loop = worker.new_send_loop()
    try:
        assert not isinstance(loop, uvloop.Loop)
        assert isinstance(loop, asyncio.BaseEventLoop)
        # In a thread of its own, as the worker runs it (this one may have a loop running).
        ran: list[str] = []
        thread = threading.Thread(
            target=lambda: ran.append(loop.run_until_complete(asyncio.sleep(0, result="ran")))
        )
        thread.start()
        thread.join(10)
        assert ran == ["ran"]
    finally:
        loop.close()
    monkeypatch.undo()
    made = worker.new_send_loop()
    try:
        assert isinstance(made, uvloop.Loop)
    finally:
        made.close()


@pytest.mark.django_db(transaction=True)
def test_workers_claiming_at_once_take_disjoint_batches_read_in_clear(twilio, monkeypatch):  # noqa: F811
    # Four senders claim at the same moment until nothing is due: every row is claimed once
    # (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer), and what a claim reads back
    # is the plaintext number and text, with aware datetimes, as the ORM would give them.
    monkeypatch.setattr(services, "kick", lambda senders=1: None)
    expires = timezone.now() + timedelta(minutes=30)
    phones = {f"claim-{i}": f"+1213558{i:04d}" for i in range(60)}
    for key, phone in phones.items():
        enqueue(phone, key, expires_at=expires)
    start = threading.Barrier(4)
    taken: list[list] = [[] for _ in range(4)]

    def claim(mine: list) -> None:
        try:
            start.wait(10)
            while batch := services.claim_batch(7):
                mine.extend(batch)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(mine,)) for mine in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    claimed = [d for mine in taken for d in mine]
    assert len(claimed) == len(phones) == len({d.pk for d in claimed})
    for d in claimed:
        assert d.address == phones[d.idempotency_key]
        assert d.body == f"Aviso {d.idempotency_key}"
        assert d.expires_at == expires.replace(microsecond=d.expires_at.microsecond)
        assert d.expires_at.tzinfo is not None and d.acknowledged_at is None
        assert (d.attempts, d.usable, d.outcome_unknown, d.channel) == (1, True, False, "sms")
    rows = Delivery.objects.filter(idempotency_key__in=phones)
    assert set(rows.values_list("status", "attempts")) == {(DeliveryStatus.SENDING, 1)}
    assert all(mine == sorted(mine, key=lambda d: d.pk) for mine in taken)


@pytest.mark.django_db
def test_rows_whose_rate_slot_is_past_half_their_lease_go_back_unsent_and_uncounted(
    twilio,  # noqa: F811
    settings,
):
    # A slot every two seconds and a two-second lease: the first message goes, the others'
    # slots come after half their lease, so they go back to the queue (the attempt does not
    # count) to be claimed again later, never sent late under a lease that may run out.
    slow_rate(settings, 0.5)
    settings.DELIVERY_LEASE_SECONDS = 2
    for i in range(3):
        enqueue(f"+1213560{i:04d}", f"slot-{i}")
    counts = services.dispatch(batch_size=3)
    assert counts["sent"] == 1 and counts["released"] >= 2, counts
    rows = Delivery.objects.order_by("id")
    assert [r.status for r in rows] == [
        DeliveryStatus.SENT,
        DeliveryStatus.QUEUED,
        DeliveryStatus.QUEUED,
    ]
    assert [r.attempts for r in rows] == [1, 0, 0]
    assert all(r.lease_until is None for r in rows)
    assert len(twilio.messages) == 1
