"""The Signal transport against a local server speaking signal-cli-rest-api's /v2/send."""

from __future__ import annotations

import socket
import time

import pytest

from tests.stubs_providers import enqueue, retry_now, settings_with_env, signal_api  # noqa: F401
from vecinos.messaging import services, worker
from vecinos.messaging.models import ContactPoint, DeliveryStatus
from vecinos.transports import registry
from vecinos.transports.base import OutboundMessage, TransportError
from vecinos.transports.signal.transport import SignalTransport

PATH = "vecinos.transports.signal.transport.SignalTransport"

pytestmark = pytest.mark.django_db


@pytest.fixture
def signal(signal_api, settings, monkeypatch):  # noqa: F811
    settings.TRANSPORTS = {"signal": {"path": PATH}}
    settings.SIGNAL_API_URL = signal_api.url
    settings.SIGNAL_NUMBER = signal_api.number
    settings.SIGNAL_TIMEOUT = 0.5
    monkeypatch.setattr(worker, "_limiters", {})
    registry.reset()
    yield signal_api
    registry.reset()


def message(**kw) -> OutboundMessage:
    defaults = {
        "channel": "signal",
        "address": "+12135550170",
        "body": "Reunión de respuesta rápida a las 7",
        "language": "es",
        "idempotency_key": "k-1",
    }
    return OutboundMessage(**{**defaults, **kw})


def test_a_signal_delivery_is_sent_with_the_documented_request(signal):
    delivery = enqueue("signal", "+12135550171", "notice:1:signal", body="Hola equipo")
    assert services.dispatch()["sent"] == 1
    delivery.refresh_from_db()
    [sent] = signal.messages
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_id == sent["timestamp"] and sent["timestamp"].isdigit()
    assert sent["recipients"] == ["+12135550171"] and sent["text"] == "Hola equipo"
    [request] = signal.requests
    assert request.path == "/v2/send"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "message": "Hola equipo",
        "number": signal.number,
        "recipients": ["+12135550171"],
    }


def test_a_number_without_signal_stops_and_marks_the_contact_unusable(signal):
    signal.unregistered.add("+12135550172")
    delivery = enqueue("signal", "+12135550172", "unregistered")
    assert services.dispatch()["failed"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "Unregistered user" in delivery.last_error
    contact = ContactPoint.objects.get(pk=delivery.contact_id)
    assert not contact.usable and contact.unusable_reason == "unregistered"
    assert signal.messages == []


def test_our_own_number_not_registered_never_marks_contacts(signal, settings):
    settings.SIGNAL_NUMBER = "+12135550000"
    delivery = enqueue("signal", "+12135550173", "own-number")
    assert services.dispatch()["retry"] == 1
    delivery.refresh_from_db()
    assert "is not registered" in delivery.last_error
    assert ContactPoint.objects.get(pk=delivery.contact_id).usable


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "Failed to send message: connection to Signal closed"}),
        (429, {"error": "Rate limit exceeded", "challenge_tokens": ["abc"]}),
        (500, {"error": "internal"}),
        (503, {}),
    ],
)
def test_outages_and_rate_limits_are_transient(signal, status, body):
    signal.fail_next(1, status=status, body=body)
    with pytest.raises(TransportError) as caught:
        SignalTransport().send(message())
    assert not caught.value.permanent


def test_a_transient_error_is_retried_and_then_sent(signal):
    signal.fail_next(1, status=500, body={"error": "boom"})
    delivery = enqueue("signal", "+12135550174", "retry")
    assert services.dispatch()["retry"] == 1
    retry_now(delivery)
    assert services.dispatch()["sent"] == 1
    assert len(signal.messages) == 1


def test_a_slow_api_is_a_transient_timeout(signal):
    signal.delay_next(1, 1.0)
    with pytest.raises(TransportError) as caught:
        SignalTransport().send(message())
    assert not caught.value.permanent and caught.value.code == "unreachable"


def test_an_unreachable_api_is_transient(signal, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        settings.SIGNAL_API_URL = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(TransportError) as caught:
        SignalTransport().send(message())
    assert not caught.value.permanent


def test_missing_configuration_is_transient(signal, settings):
    settings.SIGNAL_NUMBER = ""
    with pytest.raises(TransportError) as caught:
        SignalTransport().send(message())
    assert caught.value.code == "config" and not caught.value.permanent
    assert signal.requests == []


def test_the_rate_limit_spaces_messages(signal, settings):
    settings.TRANSPORTS = {"signal": {"path": PATH, "rate": 10}}
    registry.reset()
    for n in range(5):
        enqueue("signal", f"+1213555018{n}", f"rate-{n}")
    started = time.monotonic()
    assert services.dispatch()["sent"] == 5
    assert time.monotonic() - started >= 0.4
    assert SignalTransport().rate_limit == 1.0  # the default for Signal: small groups


def test_settings_turn_signal_on_only_with_url_and_number(tmp_path):
    assert settings_with_env({}, tmp_path)["signal"]["path"].endswith("ConsoleTransport")
    half = settings_with_env({"VECINOS_SIGNAL_API_URL": "http://127.0.0.1:8080"}, tmp_path)
    assert half["signal"]["path"].endswith("ConsoleTransport")
    chosen = settings_with_env(
        {"VECINOS_SIGNAL_API_URL": "http://127.0.0.1:8080", "VECINOS_SIGNAL_NUMBER": "+1213"},
        tmp_path,
    )
    assert chosen["signal"]["path"] == PATH
