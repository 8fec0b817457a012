"""The Android SMS gateway transport against a local server speaking the app's local API."""

from __future__ import annotations

import base64
import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.stubs_providers import (  # noqa: F401
    android_gateway,
    enqueue,
    retry_now,
    settings_with_env,
)
from vecinos.messaging import services, worker
from vecinos.messaging.models import ContactPoint, DeliveryStatus
from vecinos.transports import registry
from vecinos.transports.android.transport import AndroidSmsTransport, gateway_id
from vecinos.transports.base import OutboundMessage, TransportError

PATH = "vecinos.transports.android.transport.AndroidSmsTransport"

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(android_gateway, settings, monkeypatch):  # noqa: F811
    settings.TRANSPORTS = {"sms": {"path": PATH}}
    settings.ANDROID_GATEWAY_URL = android_gateway.url
    settings.ANDROID_GATEWAY_USER = android_gateway.username
    settings.ANDROID_GATEWAY_PASSWORD = android_gateway.password
    settings.ANDROID_GATEWAY_TIMEOUT = 0.5
    monkeypatch.setattr(worker, "_limiters", {})
    registry.reset()
    yield android_gateway
    registry.reset()


def message(**kw) -> OutboundMessage:
    defaults = {
        "channel": "sms",
        "address": "+12135550190",
        "body": "Hola vecinos",
        "language": "es",
        "idempotency_key": "k-1",
    }
    return OutboundMessage(**{**defaults, **kw})


def test_an_sms_is_queued_on_the_phone_with_the_documented_request(gateway):
    delivery = enqueue(
        "sms", "+12135550191", "alert:1:r:1:sms", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert services.dispatch()["sent"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_id == "alert:1:r:1:sms"
    [request] = gateway.requests
    assert request.path == "/message"
    user, _sep, password = (
        base64.b64decode(request.headers["Authorization"][6:]).decode().partition(":")
    )
    assert (user, password) == (gateway.username, gateway.password)
    sent = request.json()
    assert sent["id"] == "alert:1:r:1:sms"
    assert sent["message"] == "Hola vecinos" and sent["phoneNumbers"] == ["+12135550191"]
    assert 3590 <= sent["ttl"] <= 3600


def test_long_keys_become_a_stable_id_the_app_accepts():
    key = "alert:123456:recipient:7890123:sms:step:2:escalation"
    assert len(key) > 36
    assert gateway_id(key) == gateway_id(key) and len(gateway_id(key)) <= 36
    assert gateway_id("short-key") == "short-key"


def test_a_resend_with_the_same_id_is_not_a_second_text(gateway):
    first = AndroidSmsTransport().send(message(idempotency_key="alert:7:sms"))
    second = AndroidSmsTransport().send(message(idempotency_key="alert:7:sms"))
    assert first.provider_id == second.provider_id == "alert:7:sms"
    assert len(gateway.messages) == 1 and len(gateway.requests) == 2


def test_a_timeout_after_the_phone_queued_it_is_resent_without_a_double(gateway):
    gateway.delay_next(1, 1.0)
    delivery = enqueue("sms", "+12135550192", "slow")
    assert services.dispatch()["retry"] == 1
    retry_now(delivery)
    assert services.dispatch()["sent"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.provider_id == "slow"
    assert len(gateway.messages) == 1


def test_a_number_that_is_not_e164_stops_and_marks_the_contact_unusable(gateway):
    # The phone would only fail it later; we know now, and never queue it.
    delivery = enqueue("sms", "+1234", "bad-number")
    assert services.dispatch()["failed"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    contact = ContactPoint.objects.get(pk=delivery.contact_id)
    assert not contact.usable and contact.unusable_reason == "bad-number"
    assert gateway.requests == []


def test_a_request_the_app_refuses_never_marks_contacts(gateway):
    # A 400 is about the request (the same for every recipient), not about this number.
    gateway.fail_next(1, status=400, body={"message": "Text message is empty"})
    delivery = enqueue("sms", "+12135550195", "refused")
    assert services.dispatch()["retry"] == 1
    delivery.refresh_from_db()
    assert "400" in delivery.last_error and "Text message is empty" in delivery.last_error
    assert ContactPoint.objects.get(pk=delivery.contact_id).usable


def test_an_empty_text_is_refused_by_the_app_as_documented(gateway):
    with pytest.raises(TransportError) as caught:
        AndroidSmsTransport().send(message(body=""))
    assert "Text message is empty" in str(caught.value) and not caught.value.permanent
    assert gateway.messages == {}


def test_a_wrong_password_is_transient_and_marks_no_contact(gateway, settings):
    settings.ANDROID_GATEWAY_PASSWORD = "wrong"
    delivery = enqueue("sms", "+12135550193", "auth")
    assert services.dispatch()["retry"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED and "401" in delivery.last_error
    assert ContactPoint.objects.get(pk=delivery.contact_id).usable


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_phone_in_trouble_is_transient(gateway, status):
    gateway.fail_next(1, status=status, body={"message": "No SIMs found"})
    with pytest.raises(TransportError) as caught:
        AndroidSmsTransport().send(message())
    assert not caught.value.permanent


def test_a_phone_off_the_network_is_transient(gateway, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        settings.ANDROID_GATEWAY_URL = f"http://127.0.0.1:{sock.getsockname()[1]}"
    delivery = enqueue("sms", "+12135550194", "offline")
    assert services.dispatch()["retry"] == 1
    assert ContactPoint.objects.get(pk=delivery.contact_id).usable


def test_without_an_expiry_no_ttl_is_sent(gateway):
    AndroidSmsTransport().send(message())
    assert "ttl" not in gateway.requests[0].json()


def test_missing_configuration_is_transient(gateway, settings):
    settings.ANDROID_GATEWAY_PASSWORD = ""
    with pytest.raises(TransportError) as caught:
        AndroidSmsTransport().send(message())
    assert caught.value.code == "config" and not caught.value.permanent
    assert gateway.requests == []


def test_a_voice_message_is_never_sent_as_a_text(gateway):
    with pytest.raises(TransportError):
        AndroidSmsTransport().send(message(channel="voice"))
    assert gateway.requests == []


def test_the_rate_limit_spaces_texts(gateway, settings):
    settings.TRANSPORTS = {"sms": {"path": PATH, "rate": 10}}
    registry.reset()
    for n in range(5):
        enqueue("sms", f"+1213555019{n + 5}", f"rate-{n}")
    started = time.monotonic()
    assert services.dispatch()["sent"] == 5
    assert time.monotonic() - started >= 0.4


def test_vecinos_sms_transport_android_selects_this_transport(tmp_path):
    chosen = settings_with_env({"VECINOS_SMS_TRANSPORT": "android"}, tmp_path)
    assert chosen["sms"]["path"] == PATH
