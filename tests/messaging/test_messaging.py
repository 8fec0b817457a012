"""Deliveries: written before sending, claimed under a lease, retried, never doubled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from vecinos.messaging import services
from vecinos.messaging.models import ContactPoint, Delivery, DeliveryStatus
from vecinos.transports import registry
from vecinos.transports.base import SendResult, Transport, TransportError
from vecinos.transports.models import OutboxMessage


class FlakyTransport(Transport):
    """Fails the first attempt of every message transiently, and +1555 numbers permanently."""

    seen: list[str] = []

    def send(self, message):
        FlakyTransport.seen.append(message.idempotency_key)
        if message.address.startswith("+1555"):
            raise TransportError("invalid number", permanent=True, code="21211")
        if FlakyTransport.seen.count(message.idempotency_key) == 1:
            raise TransportError("503 from provider")
        return SendResult(provider_id=f"SM{len(FlakyTransport.seen)}")


@pytest.fixture
def flaky():
    FlakyTransport.seen = []
    path = {"path": "tests.messaging.test_messaging.FlakyTransport"}
    with override_settings(TRANSPORTS={"sms": path}):
        registry.reset()
        yield FlakyTransport
    registry.reset()


def spec(contact, key, **kw):
    return services.DeliverySpec(
        purpose="test", contact=contact, body="hola", language="es", key=key, **kw
    )


@pytest.mark.django_db
def test_console_transport_records_each_message_once():
    registry.reset()
    contact = services.contact_point(channel="sms", address="+12135550150")
    assert services.deliveries_enqueue([spec(contact, "k1")]) == 1
    services.deliveries_enqueue([spec(contact, "k1")])  # same key: refused by the database
    services.dispatch()
    assert Delivery.objects.count() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    outbox = OutboxMessage.objects.get()
    assert outbox.address == "+12135550150" and outbox.body == "hola"


@pytest.mark.django_db
def test_transient_errors_retry_with_backoff_and_permanent_errors_stop(flaky):
    good = services.contact_point(channel="sms", address="+12135550151")
    bad = services.contact_point(channel="sms", address="+15555550100")
    services.deliveries_enqueue([spec(good, "g"), spec(bad, "b")])
    services.dispatch()
    g, b = Delivery.objects.get(idempotency_key="g"), Delivery.objects.get(idempotency_key="b")
    assert g.status == DeliveryStatus.QUEUED and g.next_attempt_at > timezone.now()
    assert b.status == DeliveryStatus.FAILED and b.attempts == 1
    assert not ContactPoint.objects.get(pk=bad.pk).usable
    Delivery.objects.filter(pk=g.pk).update(next_attempt_at=timezone.now())
    services.dispatch()
    g.refresh_from_db()
    assert g.status == DeliveryStatus.SENT and g.attempts == 2 and g.provider_id


@pytest.mark.django_db
def test_sweeper_requeues_deliveries_of_a_dead_worker(flaky):
    contact = services.contact_point(channel="sms", address="+12135550152")
    services.deliveries_enqueue([spec(contact, "dead")])
    claimed = services.claim_batch(10, lease_seconds=30)
    assert [d.idempotency_key for d in claimed] == ["dead"]
    assert services.claim_batch(10) == []  # leased: nobody else takes it
    Delivery.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    assert services.sweep() == 1
    assert Delivery.objects.get().status == DeliveryStatus.QUEUED


@pytest.mark.django_db
def test_expired_messages_are_cancelled_not_sent_late(flaky):
    contact = services.contact_point(channel="sms", address="+12135550153")
    services.deliveries_enqueue(
        [spec(contact, "stale", expires_at=timezone.now() - timedelta(minutes=1))]
    )
    services.dispatch()
    assert Delivery.objects.get().status == DeliveryStatus.CANCELLED
    assert flaky.seen == []


@pytest.mark.django_db
def test_status_callbacks_move_forward_only(flaky):
    contact = services.contact_point(channel="sms", address="+12135550154")
    services.deliveries_enqueue([spec(contact, "cb")])
    Delivery.objects.update(status=DeliveryStatus.SENT, provider_id="SMabc")
    pk = Delivery.objects.get().pk
    assert services.status_update(provider_id="SMabc", status="delivered", delivery_id=pk)
    assert services.status_update(provider_id="SMabc", status="sent", delivery_id=pk)
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    # A late "failed" after "delivered" changes nothing (and so starts no fallback).
    assert services.status_update(
        provider_id="SMabc", status="failed", error_code="30003", delivery_id=pk
    )
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    assert not services.status_update(provider_id="SMnope", status="delivered", delivery_id=pk)
    assert not services.status_update(provider_id="SMabc", status="delivered", delivery_id=pk + 1)


@pytest.mark.django_db
def test_a_late_callback_of_an_earlier_attempt_does_not_move_the_row(flaky):
    """The callback's URL names the delivery; its SID must be the one recorded last."""
    contact = services.contact_point(channel="sms", address="+12135550158")
    services.deliveries_enqueue([spec(contact, "again")])
    Delivery.objects.update(status=DeliveryStatus.SENT, provider_id="SMsecond")
    pk = Delivery.objects.get().pk
    assert not services.status_update(
        provider_id="SMfirst", status="failed", error_code="30003", delivery_id=pk
    )
    row = Delivery.objects.get()
    assert row.status == DeliveryStatus.SENT and row.last_error == ""
    assert ContactPoint.objects.get(pk=contact.pk).usable


class DownTransport(Transport):
    """A provider that is down: every attempt fails transiently."""

    def send(self, message):
        raise TransportError("503 from provider")


@pytest.mark.django_db
def test_a_provider_outage_delays_an_alert_until_its_expiry_instead_of_dropping_it():
    with override_settings(
        TRANSPORTS={"sms": {"path": "tests.messaging.test_messaging.DownTransport"}}
    ):
        registry.reset()
        contact = services.contact_point(channel="sms", address="+12135550155")
        now = timezone.now()
        services.deliveries_enqueue(
            [
                spec(contact, "alert", expires_at=now + timedelta(hours=4)),
                spec(contact, "no-expiry"),
            ]
        )
        for _ in range(services.MAX_ATTEMPTS + 2):
            Delivery.objects.filter(status=DeliveryStatus.QUEUED).update(next_attempt_at=now)
            services.dispatch()
        alert, other = (Delivery.objects.get(idempotency_key=k) for k in ("alert", "no-expiry"))
        # Without an expiry it gives up after MAX_ATTEMPTS; the alert is still trying.
        assert other.status == DeliveryStatus.FAILED and other.attempts == services.MAX_ATTEMPTS
        assert alert.status == DeliveryStatus.QUEUED
        assert alert.attempts == services.MAX_ATTEMPTS + 2
        # Once the next try would come after the alert's expiry, it stops.
        Delivery.objects.filter(pk=alert.pk).update(
            next_attempt_at=now, expires_at=timezone.now() + timedelta(seconds=30)
        )
        services.dispatch()
        alert.refresh_from_db()
        assert alert.status == DeliveryStatus.FAILED and "503" in alert.last_error
    registry.reset()


@pytest.mark.django_db(transaction=True)
def test_a_caller_that_says_its_keys_are_new_is_held_to_it():
    # A fan-out writes its deliveries without the conflict check (each key names a recipient
    # row it has just inserted). Should a key exist after all, its transaction fails whole:
    # nothing is half written, and the one delivery with that key is still the only one.
    from django.db import IntegrityError, transaction

    contact = services.contact_point(channel="sms", address="+12135550151")
    services.deliveries_enqueue([spec(contact, "taken")])
    with pytest.raises(IntegrityError), transaction.atomic():
        services.deliveries_enqueue([spec(contact, "fresh"), spec(contact, "taken")], new_keys=True)
    assert list(Delivery.objects.values_list("idempotency_key", flat=True)) == ["taken"]
    assert services.deliveries_enqueue([spec(contact, "fresh")], new_keys=True) == 1
    assert Delivery.objects.filter(idempotency_key="fresh").count() == 1
