"""Delivery receipts from "SMS Gateway for Android" at /hooks/android/.

An SMS goes out through the Android transport to a local server speaking the app's local API;
the receipts come back as the app posts them (JSON event, ``X-Signature`` = hex HMAC-SHA256 of
the raw body + ``X-Timestamp`` with the webhook signing key), through the real URL.
"""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from tests.stubs_providers import android_gateway, enqueue  # noqa: F401
from vecinos.messaging import services, worker
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.transports import registry

PATH = "vecinos.transports.android.transport.AndroidSmsTransport"
HOOK = "/hooks/android/"
KEY = "signing-key-from-the-phone"

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(android_gateway, settings, monkeypatch):  # noqa: F811
    settings.TRANSPORTS = {"sms": {"path": PATH}}
    settings.ANDROID_GATEWAY_URL = android_gateway.url
    settings.ANDROID_GATEWAY_USER = android_gateway.username
    settings.ANDROID_GATEWAY_PASSWORD = android_gateway.password
    settings.ANDROID_GATEWAY_TIMEOUT = 2
    settings.ANDROID_WEBHOOK_KEY = KEY
    monkeypatch.setattr(worker, "_limiters", {})
    registry.reset()
    yield android_gateway
    registry.reset()


def sent_sms(key: str = "alert:1:1:sms:0", phone: str = "+13235550131") -> Delivery:
    delivery = enqueue("sms", phone, key)
    services.dispatch()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.provider_id
    return delivery


def post(client: Client, body: bytes, headers: dict[str, str]):
    return client.post(
        HOOK,
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )


def receipt(client, gateway, event, delivery, **kw):
    body, headers = gateway.webhook(event, delivery.provider_id, key=KEY, **kw)
    return post(client, body, headers)


def test_sent_then_delivered_moves_the_delivery(client, gateway):
    delivery = sent_sms()
    assert delivery.provider_id in gateway.messages  # the id the phone knows the message by
    response = receipt(client, gateway, "sms:sent", delivery)
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.final_at is None
    assert receipt(client, gateway, "sms:delivered", delivery).status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.final_at is not None


def test_failed_records_the_reason_and_keeps_the_contact(client, gateway):
    delivery = sent_sms()
    response = receipt(
        client, gateway, "sms:failed", delivery, reason="RESULT_ERROR_GENERIC_FAILURE"
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "android: RESULT_ERROR_GENERIC_FAILURE"
    assert delivery.final_at is not None
    assert delivery.contact.usable  # a radio failure says nothing about the number


@pytest.mark.parametrize(
    ("first", "then", "final"),
    [
        ("sms:delivered", "sms:sent", DeliveryStatus.DELIVERED),
        ("sms:delivered", "sms:failed", DeliveryStatus.DELIVERED),
        ("sms:failed", "sms:delivered", DeliveryStatus.FAILED),
        ("sms:failed", "sms:sent", DeliveryStatus.FAILED),
    ],
)
def test_a_final_status_never_steps_back(client, gateway, first, then, final):
    delivery = sent_sms()
    assert receipt(client, gateway, first, delivery, reason="x").status_code == 200
    delivery.refresh_from_db()
    final_at, error = delivery.final_at, delivery.last_error
    # Late, repeated and out-of-order events (the app retries for two days) change nothing.
    for event in (then, first):
        assert receipt(client, gateway, event, delivery, reason="later").status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == final
    assert delivery.final_at == final_at and delivery.last_error == error


def test_a_cancelled_delivery_stays_cancelled(client, gateway):
    delivery = sent_sms()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.CANCELLED)
    assert receipt(client, gateway, "sms:delivered", delivery).status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.CANCELLED


def test_unknown_ids_and_unused_events_are_a_quiet_200(client, gateway):
    delivery = sent_sms()
    body, headers = gateway.webhook("sms:delivered", "not-one-of-ours", key=KEY)
    assert post(client, body, headers).status_code == 200
    for event in ("sms:received", "system:ping", "mms:received"):
        body = json.dumps({"event": event, "id": "e1", "payload": {"health": {}}}).encode()
        stamp = str(int(time.time()))
        headers = {"X-Signature": sign(body, stamp), "X-Timestamp": stamp}
        assert post(client, body, headers).status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_only_sms_deliveries_are_moved(client, gateway):
    """An id from another provider that happens to match is not the phone's message."""
    delivery = sent_sms()
    other = enqueue("email", "ana@example.org", "alert:1:1:email:0")
    Delivery.objects.filter(pk=other.pk).update(
        status=DeliveryStatus.SENT, provider_id=delivery.provider_id
    )
    assert receipt(client, gateway, "sms:failed", delivery, reason="x").status_code == 200
    other.refresh_from_db()
    assert other.status == DeliveryStatus.SENT


def sign(body: bytes, stamp: str, key: str = KEY) -> str:
    import hashlib
    import hmac

    return hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()


def test_bad_or_missing_signatures_are_refused(client, gateway):
    delivery = sent_sms()
    body, headers = gateway.webhook("sms:failed", delivery.provider_id, key=KEY, reason="x")
    cases = [
        {},  # nothing
        {"X-Timestamp": headers["X-Timestamp"]},  # no signature
        {"X-Signature": headers["X-Signature"]},  # no timestamp
        {**headers, "X-Signature": "0" * 64},  # wrong
        {**headers, "X-Signature": sign(body, headers["X-Timestamp"], key="another key")},
        {**headers, "X-Timestamp": str(int(headers["X-Timestamp"]) + 1)},  # not what was signed
        {**headers, "X-Timestamp": "soon"},
        {**headers, "X-Signature": "é" * 64},
    ]
    for bad in cases:
        response = post(client, body, bad)
        assert response.status_code == 403, bad
    # The body is part of what is signed: the same headers over another body do not pass.
    tampered = body.replace(b'"sms:failed"', b'"sms:delivered"')
    assert post(client, tampered, headers).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert post(client, body, headers).status_code == 200  # the genuine one still works


def test_an_upper_case_signature_is_the_same_signature(client, gateway):
    delivery = sent_sms()
    body, headers = gateway.webhook("sms:delivered", delivery.provider_id, key=KEY)
    headers["X-Signature"] = headers["X-Signature"].upper()
    assert post(client, body, headers).status_code == 200


@pytest.mark.parametrize("age", [330, 3600, -330, -86400])  # 30 s margin: CI is slow
def test_old_or_future_timestamps_are_refused(client, gateway, age):
    delivery = sent_sms()
    body, headers = gateway.webhook(
        "sms:delivered", delivery.provider_id, key=KEY, timestamp=int(time.time()) - age
    )
    assert post(client, body, headers).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_a_timestamp_within_five_minutes_is_accepted(client, gateway):
    delivery = sent_sms()
    body, headers = gateway.webhook(
        "sms:delivered", delivery.provider_id, key=KEY, timestamp=int(time.time()) - 240
    )
    assert post(client, body, headers).status_code == 200


def test_no_key_configured_refuses_everything(client, gateway, settings):
    delivery = sent_sms()
    body, headers = gateway.webhook("sms:delivered", delivery.provider_id, key="")
    settings.ANDROID_WEBHOOK_KEY = ""
    assert post(client, body, headers).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[]",
        b"null",
        b'"sms:delivered"',
        b"{}",
        b'{"event": 5}',
        b'{"event": "sms:delivered"}',
        b'{"event": "sms:delivered", "payload": []}',
        b'{"event": "sms:delivered", "payload": {}}',
        b'{"event": "sms:delivered", "payload": {"messageId": 12}}',
        b'{"event": "sms:delivered", "payload": {"messageId": ""}}',
        b'{"event": "sms:delivered", "payload": {"messageId": "' + b"x" * 65 + b'"}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"event": "sms:failed", "payload": {"messageId": "m", "reason": {"a": 1}}} trailing',
    ],
)
def test_malformed_bodies_are_400_never_500(client, gateway, body):
    stamp = str(int(time.time()))
    response = post(client, body, {"X-Signature": sign(body, stamp), "X-Timestamp": stamp})
    assert response.status_code == 400


def test_a_failed_reason_that_is_not_text_still_fails_the_delivery(client, gateway):
    delivery = sent_sms()
    body = json.dumps(
        {"event": "sms:failed", "payload": {"messageId": delivery.provider_id, "reason": 7}}
    ).encode()
    stamp = str(int(time.time()))
    headers = {"X-Signature": sign(body, stamp), "X-Timestamp": stamp}
    assert post(client, body, headers).status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_error == "android: failed"


def test_get_is_not_allowed(client, gateway):
    assert client.get(HOOK).status_code == 405


def test_a_live_phone_posts_receipts_over_http(live_server, gateway):
    """The same receipts through a real socket, as the phone on the Wi-Fi sends them."""
    import urllib3

    delivery = sent_sms(key="alert:2:9:sms:0", phone="+13235550132")
    http = urllib3.PoolManager(retries=False)
    for event in ("sms:sent", "sms:delivered"):
        body, headers = gateway.webhook(event, delivery.provider_id, key=KEY)
        response = http.request("POST", live_server.url + HOOK, body=body, headers=headers)
        assert response.status == 200, response.data
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_a_gateway_without_a_webhook_key_is_warned_about(settings):
    from vecinos.core.checks import delivery_receipts

    settings.SMS_TRANSPORT = "android"
    settings.ANDROID_WEBHOOK_KEY = ""
    [warning] = delivery_receipts(None)
    assert warning.id == "vecinos.W001" and "VECINOS_ANDROID_WEBHOOK_KEY" in warning.msg
    settings.ANDROID_WEBHOOK_KEY = "k" * 32
    assert delivery_receipts(None) == []
    settings.SMS_TRANSPORT, settings.ANDROID_WEBHOOK_KEY = "twilio", ""
    assert delivery_receipts(None) == []


def test_an_https_address_without_trusted_proxies_warns(settings):
    """Outside probe, session 18: behind a proxy on the same host, with no trusted proxies,
    every client shared one rate limit and /metrics answered through the proxy."""
    from vecinos.core.checks import proxy_addresses

    settings.PRODUCTION, settings.PUBLIC_URL = True, "https://alertas.example.org"
    settings.TRUSTED_PROXIES = []
    [warning] = proxy_addresses(None)
    assert warning.id == "vecinos.W002" and "VECINOS_TRUSTED_PROXIES" in warning.msg
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    assert proxy_addresses(None) == []
    settings.TRUSTED_PROXIES, settings.PUBLIC_URL = [], "http://localhost:8000"
    assert proxy_addresses(None) == []
