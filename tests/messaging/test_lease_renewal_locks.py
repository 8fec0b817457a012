"""Leases against a sender recording outcomes (issue 15, found by bench/scaleout.py at 50,000).

The heartbeat renews the leases of every row its process holds, in one statement per 500
rows, while the process's senders record outcomes row by row in transactions of their own. On
PostgreSQL those two used to lock the same rows in different orders, and the database ended one
as a deadlock; when it ended a sender, that batch stayed "sending" and held, renewed by the
heartbeat for as long as the worker lived. Sends go to a local server speaking Twilio's API."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone

from tests.messaging.test_delivery_worker_death import enqueue, twilio  # noqa: F401  (fixture)
from tests.twilio_stub import fresh_rate_limits, twilio_webhooks  # noqa: F401  (fixtures)
from vecinos.messaging import services, worker
from vecinos.messaging.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")


@pytest.mark.django_db(transaction=True)
def test_renewing_leases_never_deadlocks_with_a_sender_recording_outcomes(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    # The rows are committed here; no worker is woken to send them (the test plays it).
    monkeypatch.setattr(services, "kick", lambda *args, **kwargs: None)
    for i in range(3):
        enqueue(f"+1213555031{i}", f"lock-{i}")
    claimed = services.claim_batch(3)
    first, middle, last = sorted(d.pk for d in claimed)
    claimed_until = Delivery.objects.get(pk=last).lease_until
    services._held.add(claimed, timezone.now(), time.monotonic())
    recording, renewing = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def record() -> None:
        """A sender recording outcomes in the order they came back: middle, then first."""
        try:
            with transaction.atomic():
                Delivery.objects.filter(pk=middle).update(
                    status=DeliveryStatus.SENT, lease_until=None
                )
                recording.set()
                renewing.wait(5)
                time.sleep(0.5)  # the heartbeat's renewal is under way meanwhile
                Delivery.objects.filter(pk=first).update(
                    status=DeliveryStatus.SENT, lease_until=None
                )
        except OperationalError as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    sender = threading.Thread(target=record)
    sender.start()
    try:
        assert recording.wait(5)
        renewing.set()
        try:
            services.renew_leases()
        except OperationalError as exc:
            errors.append(exc)
        sender.join(15)
    finally:
        services._held.drop([first, middle, last])
    assert not errors, errors  # neither was ended as a deadlock
    rows = {d.pk: d for d in Delivery.objects.all()}
    assert rows[first].status == rows[middle].status == DeliveryStatus.SENT
    assert rows[last].status == DeliveryStatus.SENDING
    assert rows[last].lease_until > claimed_until  # renewed: nobody was waiting on it


@pytest.mark.django_db
def test_a_batch_whose_recording_failed_comes_back_once_and_is_not_sent_twice(
    twilio,  # noqa: F811
    settings,
    monkeypatch,
):
    settings.DELIVERY_LEASE_SECONDS = 2
    numbers = ["+12135550321", "+12135550322"]
    for i, number in enumerate(numbers):
        enqueue(number, f"fails-{i}")
    claimed = services.claim_batch(2)

    def database_gone(*args, **kwargs):
        raise OperationalError("deadlock detected")

    # A message goes out; writing down that it did fails (the batch ends there: what had not
    # gone out yet stays unsent).
    monkeypatch.setattr(worker, "_record", database_gone)
    with pytest.raises(OperationalError):
        services.send_batch(claimed)
    monkeypatch.undo()
    assert sum(len(twilio.messages_to(n)) for n in numbers) >= 1
    # The worker lives on and beats every quarter lease: it must not keep these rows.
    for _ in range(7):
        time.sleep(0.45)
        services.heartbeat()
    rows = list(Delivery.objects.all())
    assert all(d.status == DeliveryStatus.QUEUED and d.outcome_unknown for d in rows), [
        (d.status, d.outcome_unknown, d.lease_until, d.lease_owner) for d in rows
    ]
    # The next attempt asks the provider first, finds each message, and sends nothing again.
    services.dispatch()
    assert all(d.status == DeliveryStatus.SENT for d in Delivery.objects.all())
    assert all(len(twilio.messages_to(n)) == 1 for n in numbers)
