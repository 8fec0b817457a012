"""The Twilio voice transport against a local server that speaks Twilio's documented Calls API."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from tests.twilio_stub import twilio_stub, twilio_webhooks  # noqa: F401
from vecinos.messaging import services
from vecinos.messaging.models import ContactPoint, Delivery, DeliveryStatus
from vecinos.transports import registry
from vecinos.transports.base import OutboundMessage, TransportError
from vecinos.transports.twilio.voice import (
    TwilioVoiceTransport,
    delivery_token,
    load_delivery_token,
)

FROM = "+12135550000"

pytestmark = pytest.mark.django_db


@pytest.fixture
def twilio(twilio_stub, twilio_webhooks):  # noqa: F811
    settings = twilio_webhooks
    settings.TRANSPORTS = {
        "voice": {"path": "vecinos.transports.twilio.voice.TwilioVoiceTransport"}
    }
    settings.TWILIO_API_URL = twilio_stub.url
    settings.TWILIO_ACCOUNT_SID = twilio_stub.account_sid
    settings.TWILIO_AUTH_TOKEN = twilio_stub.auth_token
    settings.TWILIO_FROM_NUMBER = FROM
    settings.TWILIO_TIMEOUT_SECONDS = 0.5
    # Tests place a handful of calls; the workers' one-call-a-second pacing is tested below.
    settings.TWILIO_VOICE_RATE = 1000
    registry.reset()
    yield twilio_stub
    registry.reset()


def enqueue(address: str, key: str, **kw) -> Delivery:
    contact = services.contact_point(channel="voice", address=address)
    services.deliveries_enqueue(
        [
            services.DeliverySpec(
                purpose="test", contact=contact, body="Hola vecinos", language="es", key=key, **kw
            )
        ]
    )
    return Delivery.objects.get(idempotency_key=key)


def retry_now(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def message(**kw) -> OutboundMessage:
    defaults = {
        "channel": "voice",
        "address": "+12135550160",
        "body": "hola",
        "language": "es",
        "idempotency_key": "call-1",
        "status_callback": "http://testserver/hooks/twilio/status",
        "extra": {"delivery_id": 7, "flow": "alert"},
    }
    return OutboundMessage(**{**defaults, **kw})


def test_a_voice_delivery_places_a_call_with_twilios_documented_request(twilio):
    delivery = enqueue("+12135550161", "alert:1:2:voice:1")
    counts = services.dispatch()
    assert counts["sent"] == 1, (counts, twilio.requests)

    delivery.refresh_from_db()
    [call] = twilio.calls
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_id == call["sid"]
    assert call["sid"].startswith("CA") and len(call["sid"]) == 34
    assert call["status"] == "queued" and call["direction"] == "outbound-api"
    assert (call["to"], call["from"]) == ("+12135550161", FROM)
    assert call["_status_callback"] == f"http://testserver/hooks/twilio/status?d={delivery.pk}"
    assert call["_status_callback_event"] == "completed"
    assert call["_timeout"] == "30"
    assert twilio.messages == []  # a call, never a text

    # Twilio fetches the TwiML from our voice webhook; the delivery is named by a signed token.
    url = urlsplit(call["_url"])
    assert f"{url.scheme}://{url.netloc}" == "http://testserver"
    assert url.path == "/hooks/twilio/voice"
    query = parse_qs(url.query)
    assert query["flow"] == ["alert"]
    assert load_delivery_token(query["d"][0]) == delivery.pk

    [request] = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Calls.json"
    assert request.headers["Idempotency-Key"] == "alert:1:2:voice:1"
    user, _sep, password = (
        base64.b64decode(request.headers["Authorization"][6:]).decode().partition(":")
    )
    assert (user, password) == (twilio.account_sid, twilio.auth_token)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_the_stub_answers_a_call_fetch_like_twilio(twilio):
    result = TwilioVoiceTransport().send(message())
    import urllib3

    http = urllib3.PoolManager()
    response = http.request(
        "GET",
        f"{twilio.url}/2010-04-01/Accounts/{twilio.account_sid}/Calls/{result.provider_id}.json",
        headers=urllib3.make_headers(basic_auth=f"{twilio.account_sid}:{twilio.auth_token}"),
    )
    assert response.status == 200
    assert response.json()["sid"] == result.provider_id
    assert not any(k.startswith("_") for k in response.json())


@pytest.mark.parametrize("code", [21211, 21215, 13223, 13224, 21610])
def test_a_permanent_error_stops_and_marks_the_contact_unusable(twilio, code):
    twilio.fail_next(1, status=400, code=code, message="Invalid 'To' Phone Number")
    delivery = enqueue("+12135550162", f"perm-{code}")
    assert services.dispatch()["failed"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    contact = ContactPoint.objects.get(pk=delivery.contact_id)
    assert not contact.usable and contact.unusable_reason == str(code)
    assert twilio.calls == []


def test_an_invalid_number_is_refused_by_the_stub_as_by_twilio(twilio):
    with pytest.raises(TransportError) as caught:
        TwilioVoiceTransport().send(message(address="+1555"))
    assert caught.value.permanent and caught.value.code == "21211"


def test_a_500_is_retried_and_the_retry_succeeds(twilio):
    twilio.fail_next(1, status=500)
    delivery = enqueue("+12135550163", "transient")
    assert services.dispatch()["retry"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED and "500" in delivery.last_error
    assert ContactPoint.objects.get(pk=delivery.contact_id).usable

    retry_now(delivery)
    assert services.dispatch()["sent"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    assert len(twilio.calls) == 1 and len(twilio.requests) == 2


@pytest.mark.parametrize(
    ("status", "code"), [(429, 20429), (503, None), (400, 21205), (401, 20003)]
)
def test_throttling_outages_and_other_errors_are_transient(twilio, status, code):
    twilio.fail_next(1, status=status, code=code)
    with pytest.raises(TransportError) as caught:
        TwilioVoiceTransport().send(message())
    assert not caught.value.permanent


def test_a_timeout_after_twilio_accepted_is_retried_without_a_second_call(twilio):
    # The client gives up (0.5 s) while the provider has already placed the call: the retry
    # carries the same Idempotency-Key and gets the same call back, so nobody rings twice.
    # Twilio's Calls API has no way to find a call by our key: this folding is the stub's
    # (as some gateways do); against Twilio a timed-out call attempt can ring twice.
    twilio.honor_idempotency_key = True
    twilio.delay_next(1, 1.5)
    delivery = enqueue("+12135550164", "slow")
    assert services.dispatch()["retry"] == 1
    delivery.refresh_from_db()
    assert "unreachable" in delivery.last_error
    retry_now(delivery)
    assert services.dispatch()["sent"] == 1
    delivery.refresh_from_db()
    assert len(twilio.calls) == 1 and len(twilio.requests) == 2
    assert delivery.provider_id == twilio.calls[0]["sid"]


def test_the_same_delivery_sent_twice_rings_once_where_the_key_is_honoured(twilio):
    twilio.honor_idempotency_key = True  # a gateway that honours it; Twilio does not
    first = TwilioVoiceTransport().send(message(idempotency_key="k"))
    second = TwilioVoiceTransport().send(message(idempotency_key="k"))
    assert first.provider_id == second.provider_id
    assert len(twilio.calls) == 1 and len(twilio.requests) == 2


def test_a_text_is_never_turned_into_a_call(twilio):
    with pytest.raises(TransportError) as caught:
        TwilioVoiceTransport().send(message(channel="sms"))
    assert caught.value.code == "config" and not caught.value.permanent
    assert twilio.requests == []


@pytest.mark.parametrize("extra", [{"delivery_id": 7}, {"delivery_id": 7, "flow": ""}])
def test_a_call_that_names_no_flow_is_refused_before_twilio_is_asked(twilio, extra):
    # The flow that answers a call is the sender's to say; the transport has none of its own.
    with pytest.raises(TransportError) as caught:
        TwilioVoiceTransport().send(message(extra=extra))
    assert caught.value.code == "config" and not caught.value.permanent
    assert twilio.requests == []


def test_without_a_caller_id_nothing_is_sent_and_nothing_is_marked_unusable(twilio, settings):
    settings.TWILIO_FROM_NUMBER = ""
    delivery = enqueue("+12135550165", "no-from")
    assert services.dispatch()["retry"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED
    assert ContactPoint.objects.get(pk=delivery.contact_id).usable
    assert twilio.requests == []


def test_a_wrong_token_never_marks_contacts_unusable(twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "wrong"
    delivery = enqueue("+12135550166", "auth")
    services.dispatch()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED and "401" in delivery.last_error
    assert ContactPoint.objects.get(pk=delivery.contact_id).usable


def test_default_rate_is_twilios_one_call_per_second(settings):
    settings.TWILIO_VOICE_RATE = 1
    assert TwilioVoiceTransport().rate_limit == 1.0
    assert TwilioVoiceTransport.channel == "voice"


def test_call_tokens_are_signed_and_expire():
    token = delivery_token(42)
    assert load_delivery_token(token) == 42
    assert load_delivery_token(token + "x") is None
    assert load_delivery_token("42") is None
    assert load_delivery_token(token, max_age=-1) is None
    from django.core import signing

    # Signed for another purpose (the acknowledgement link's salt): refused.
    assert load_delivery_token(signing.dumps(42, salt="vecinos.ack")) is None
