"""Delivery when a worker dies or waits: STOP, acknowledgements and cancellations reach rows
already claimed, validity is computed when each message goes out, an unknown outcome is looked
up before any other verdict, and a dead worker's rows come back within one short lease.

Sends go to a local server that speaks Twilio's API (tests/twilio_stub.py); STOP and "1" come
in through the signed SMS webhook."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest
from django.db import connections
from django.utils import timezone

from tests.alerts.test_alert_sms_keywords import new_number, public_alert, say, subscriber
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    WEBHOOK_TOKEN,
    TwilioStub,
    fresh_rate_limits,
    twilio_webhooks,
)
from vecinos.alerts.models import AlertRecipient
from vecinos.messaging import services
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

pytestmark = pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")


@pytest.fixture
def twilio(twilio_webhooks):  # noqa: F811
    """Deliveries go to the Twilio stub, which also takes the webhook token as its own."""
    stub = TwilioStub(auth_token=WEBHOOK_TOKEN).start()
    settings = twilio_webhooks
    settings.TRANSPORTS = {"sms": {"path": "vecinos.transports.twilio.sms.TwilioSmsTransport"}}
    settings.TWILIO_API_URL = stub.url
    settings.TWILIO_ACCOUNT_SID = stub.account_sid
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "ab" * 16
    settings.TWILIO_FROM_NUMBER = ""
    settings.TWILIO_TIMEOUT_SECONDS = 2
    registry.reset()
    services._limiters.clear()
    try:
        yield stub
    finally:
        stub.stop()
        registry.reset()
        services._limiters.clear()


def slow_rate(settings, per_second: float) -> None:
    # A carrier-like limit, so later rows of a batch wait for their slot.
    settings.TWILIO_SMS_RATE = per_second
    registry.reset()
    services._limiters.clear()


def dispatch_in_background() -> threading.Thread:
    def run() -> None:
        try:
            services.dispatch()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- 25: STOP / acknowledgement / cancellation reach claimed rows ------------------------------


@pytest.mark.django_db
def test_stop_cancels_the_rows_a_dead_worker_held(client, personas):
    registry.reset()
    phones = [new_number() for _ in range(2)]
    subs = [subscriber(p) for p in phones]
    alert = public_alert(personas)
    # A worker claims the fan-out and dies before sending anything.
    assert len(services.claim_batch(10)) == 2
    say(client, phones[1], "STOP")
    stopped = Delivery.objects.get(ref_id=alert.pk, contact_id=subs[1].sms_id)
    assert stopped.status == DeliveryStatus.CANCELLED  # claimed, and cancelled at once
    Delivery.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    assert services.sweep() == 1
    assert services.dispatch()["sent"] == 1
    assert set(OutboxMessage.objects.values_list("address", flat=True)) == {phones[0]}
    stopped = Delivery.objects.get(ref_id=alert.pk, contact_id=subs[1].sms_id)
    assert stopped.status == DeliveryStatus.CANCELLED and stopped.last_error == "opted out"
    registry.reset()


@pytest.mark.django_db
def test_an_acknowledgement_cancels_a_claimed_row_of_that_recipient(client, personas):
    registry.reset()
    phone = new_number()
    sub = subscriber(phone)
    alert = public_alert(personas)
    services.dispatch()
    recipient = AlertRecipient.objects.get(alert=alert, subscriber=sub)
    # A further message to them (an escalation step) is claimed; then they answer "1".
    services.deliveries_enqueue(
        [
            services.DeliverySpec(
                purpose="alert",
                contact=None,
                contact_id=sub.sms_id,
                channel="sms",
                body="Segundo aviso",
                language="es",
                key=f"test-step-{recipient.pk}",
                ref_type="alert",
                ref_id=alert.pk,
                ref_item=recipient.pk,
            )
        ]
    )
    claimed = services.claim_batch(10)
    assert [d.body for d in claimed] == ["Segundo aviso"]
    say(client, phone, "1")
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is not None
    Delivery.objects.filter(status=DeliveryStatus.SENDING).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    services.sweep()
    services.dispatch()
    step = Delivery.objects.get(idempotency_key=f"test-step-{recipient.pk}")
    assert step.status == DeliveryStatus.CANCELLED and step.last_error == "acknowledged"
    assert not OutboxMessage.objects.filter(body="Segundo aviso").exists()
    registry.reset()


@pytest.mark.django_db(transaction=True)
def test_stop_and_cancellation_reach_rows_waiting_for_a_rate_slot(
    client, personas, twilio, settings, monkeypatch
):
    slow_rate(settings, 1)  # one message a second: the last two wait 2 and 3 s
    # The worker is started below, not by the alert's commit (tasks run inline in tests).
    monkeypatch.setattr(services, "kick", lambda senders=1: None)
    phones = [new_number() for _ in range(4)]
    subs = {phone: subscriber(phone) for phone in phones}
    alert = public_alert(personas)
    rows = {
        p: Delivery.objects.get(ref_id=alert.pk, contact_id=s.sms_id).pk for p, s in subs.items()
    }
    sender = dispatch_in_background()
    try:
        wait_for(lambda: len(twilio.messages) >= 1)
        # While later rows wait for their slot: one person texts STOP, and the owner of
        # another message cancels it (as an all-clear cancels what it supersedes).
        stopper, dropped = sorted(phones, key=rows.__getitem__)[-2:]  # sent last, by id
        say(client, stopper, "STOP")
        Delivery.objects.filter(pk=rows[dropped]).update(
            status=DeliveryStatus.CANCELLED, last_error="superseded"
        )
        # What a live worker's heartbeat does every second.
        assert services.refresh_withdrawn(min_age=0) >= 1
    finally:
        sender.join(30)
    sent_to = {m["to"] for m in twilio.messages}
    assert stopper not in sent_to and dropped not in sent_to
    assert len(sent_to) == 2 == len(twilio.messages)
    stopped = Delivery.objects.get(pk=rows[stopper])
    assert stopped.status == DeliveryStatus.CANCELLED and stopped.last_error == "opted out"
    assert Delivery.objects.get(pk=rows[dropped]).last_error == "superseded"


@pytest.mark.django_db
def test_a_row_whose_number_became_unusable_after_it_was_queued_is_not_sent():
    registry.reset()
    row = enqueue("+12135550195", "unusable")
    # An opt-out imported by a coordinator, or a carrier's "invalid number" on another message.
    row.contact.__class__.objects.filter(pk=row.contact_id).update(
        usable=False, unusable_reason="twilio 21211"
    )
    counts = services.dispatch()
    row.refresh_from_db()
    assert counts["withdrawn"] == 1 and counts["sent"] == 0
    assert row.status == DeliveryStatus.CANCELLED and row.last_error == "twilio 21211"
    assert not OutboxMessage.objects.exists()


# --- 26: validity at send time, never an expired message ----------------------------------------


def enqueue(address: str, key: str, **kw) -> Delivery:
    contact = services.contact_point(channel="sms", address=address)
    services.deliveries_enqueue(
        [
            services.DeliverySpec(
                purpose="test", contact=contact, body=f"Aviso {key}", language="es", key=key, **kw
            )
        ]
    )
    return Delivery.objects.get(idempotency_key=key)


@pytest.mark.django_db
def test_validity_is_what_is_left_when_each_message_goes_out(twilio, settings):
    slow_rate(settings, 0.5)  # a slot every two seconds
    expires = timezone.now() + timedelta(seconds=5.5)
    rows = [enqueue(f"+1213555018{i}", f"v{i}", expires_at=expires) for i in range(4)]
    counts = services.dispatch()
    validities = [int(m["_validity_period"]) for m in twilio.messages]
    assert len(validities) >= 2, (counts, validities)
    # Each waited longer for its slot, and is told what is left then: not the claim-time figure
    # (under load two may go out in the same second, so only "never more" is certain).
    assert validities == sorted(validities, reverse=True), validities
    assert validities[0] <= 5
    # The last slot comes after the expiry: that one is never handed over.
    last = Delivery.objects.get(pk=rows[-1].pk)
    assert last.status == DeliveryStatus.CANCELLED
    assert last.last_error == "expired before sending"
    assert not twilio.messages_to(rows[-1].contact.address)
    assert counts["expired"] >= 1 and counts["sent"] + counts["expired"] == 4


# --- 27: an unknown outcome is looked up first; found messages keep their time -------------------


@pytest.mark.django_db
def test_an_in_flight_message_found_after_expiry_counts_as_sent_when_it_went_out(twilio):
    expires = timezone.now() + timedelta(minutes=5)
    taken = enqueue("+12135550190", "in-flight", expires_at=expires)
    never = enqueue("+12135550191", "never-left", expires_at=expires)
    claimed = {d.pk: d for d in services.claim_batch(10)}
    # The provider took the first one two minutes ago; then the worker was killed.
    from vecinos.transports.twilio.sms import TwilioSmsTransport

    TwilioSmsTransport().send(services._message(claimed[taken.pk], timezone.now(), ""))
    went_out = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    twilio.messages[0]["date_created"] = formatdate(went_out.timestamp(), usegmt=True)
    # By the time the rows come back, the alert has expired.
    Delivery.objects.update(
        lease_until=timezone.now() - timedelta(seconds=1),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert services.sweep() == 2
    counts = services.dispatch()
    assert counts["sent"] == 1 and counts["expired"] == 1
    taken.refresh_from_db()
    never.refresh_from_db()
    assert taken.status == DeliveryStatus.SENT
    assert taken.provider_id == twilio.messages[0]["sid"]
    assert taken.sent_at == went_out  # when it went out, not when it was looked up
    assert never.status == DeliveryStatus.CANCELLED
    assert never.last_error == "expired before sending"
    assert len(twilio.messages) == 1  # nothing sent late, nothing twice


# --- 28: short leases, renewed while the worker lives ------------------------------------------


@pytest.mark.django_db
def test_a_live_worker_keeps_its_rows_and_a_dead_ones_come_back_within_one_lease(settings):
    settings.DELIVERY_LEASE_SECONDS = 2
    enqueue("+12135550192", "a")
    enqueue("+12135550193", "b")
    [claimed_dead] = services.claim_batch(1)  # claimed by a worker that is then killed
    [claimed_alive] = services.claim_batch(1)
    # This process holds one of them (as a worker does while it waits for a slot).
    services._held.add([claimed_alive], timezone.now(), time.monotonic())
    try:
        # A live worker beats every quarter lease; the dead one does not.
        for _ in range(6):
            time.sleep(0.45)
            services.heartbeat()
        rows = {d.pk: d for d in Delivery.objects.all()}
        held, lost = rows[claimed_alive.pk], rows[claimed_dead.pk]
        assert held.status == DeliveryStatus.SENDING
        assert held.lease_until > timezone.now() + timedelta(seconds=1)
        assert lost.status == DeliveryStatus.QUEUED and lost.outcome_unknown
    finally:
        services._held.drop([claimed_alive.pk])


def test_every_worker_process_starts_the_heartbeat():
    from huey.contrib.djhuey import HUEY

    import vecinos.messaging.tasks  # noqa: F401  (registers the startup hook)

    assert "delivery_heartbeat" in HUEY._startup


@pytest.mark.django_db
def test_rows_of_a_worker_seen_dead_on_this_host_come_back_at_once_without_its_lease():
    import subprocess
    import sys

    # A worker process of this host that has exited (as after kill -9).
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    mine = services.process_id()
    assert mine is not None
    host = mine.rsplit("/", 2)[0]
    owners = {
        "dead": f"{host}/{gone.pid}/1",
        "alive": mine,
        "elsewhere": f"other-host/4026531836/{gone.pid}/1",  # cannot be judged from here
    }
    for name, owner in owners.items():
        enqueue(f"+1213555020{len(name)}", name)
        [claimed] = services.claim_batch(1)
        Delivery.objects.filter(pk=claimed.pk).update(lease_owner=owner)
    # Every lease still has most of its time to run.
    assert (
        Delivery.objects.filter(lease_until__gt=timezone.now() + timedelta(seconds=5)).count() == 3
    )
    services.sweep()
    rows = {d.idempotency_key: d for d in Delivery.objects.all()}
    assert rows["dead"].status == DeliveryStatus.QUEUED and rows["dead"].outcome_unknown
    # A short grace first: the provider may still be taking what it was sending.
    assert rows["dead"].next_attempt_at <= timezone.now() + timedelta(
        seconds=services.DEAD_OWNER_GRACE
    )
    assert rows["alive"].status == rows["elsewhere"].status == DeliveryStatus.SENDING
    assert rows["alive"].lease_owner == mine
