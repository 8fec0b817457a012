"""SMS through an Android phone running "SMS Gateway for Android" (capcom6/android-sms-gateway)
in local-server mode, for networks that cannot pay a provider.

``POST {ANDROID_GATEWAY_URL}/message`` with HTTP basic auth (the app's username, "sms" by
default, and password) and JSON ``{"message": body, "phoneNumbers": [e164], "id": <key>,
"ttl": <seconds>}``; the phone answers ``202 {"id", "state": "Pending", "recipients": [...]}``
and sends from its own queue (and SIM), so the answer means "queued on the phone". The phone
reports sent / delivered / failed later by signed webhooks to ``/hooks/android/``
(``webhook.py``), matched by the message id kept as the delivery's provider id.

Settings (read at send time): ANDROID_GATEWAY_URL, ANDROID_GATEWAY_USER,
ANDROID_GATEWAY_PASSWORD, ANDROID_GATEWAY_TIMEOUT, ANDROID_SMS_RATE. Selected with
VECINOS_SMS_TRANSPORT=android.

Idempotency: the delivery key is the gateway message ``id`` (hashed when longer than 36
characters). The app refuses a second message with the same id ("Message with the same ID
already exists", answered as 500 by the versions read, 409 by any that map it), which we take
as "already queued": a re-send after a lost reply never texts anyone twice.

Error mapping: the app checks phone numbers only when the phone sends (a bad number fails
there, reported by its webhooks), so this transport refuses an address that is not E.164
itself: permanent, code "bad-number", the contact point is marked unusable. A 400 from the app
is about the request's shape (empty text, conflicting fields), the same for every recipient,
so it is logged and not permanent: one bug must not mark every SMS contact unusable in a
fan-out (it fails after the usual attempts). 401 is our password (transient, logged: nothing is
lost while someone fixes it); 5xx, timeouts and refused connections (the phone left the Wi-Fi,
the app was killed) are transient.
"""

from __future__ import annotations

import hashlib
import logging
import re

from django.conf import settings

from vecinos.transports import http
from vecinos.transports.base import OutboundMessage, SendResult, Transport, TransportError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
MAX_ID = 36
DUPLICATE_MARKER = "same id already exists"
E164 = re.compile(r"\+[1-9]\d{6,14}")


def gateway_id(idempotency_key: str) -> str:
    if len(idempotency_key) <= MAX_ID:
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def post_json(
    url: str, payload: dict, *, auth: tuple[str, str], timeout: float
) -> tuple[int, dict]:
    """POST JSON with basic auth; (status, JSON body or {}). Network trouble raises
    http.Unreachable (code "unreachable")."""
    headers = http.basic_auth(*auth)
    headers["Accept"] = "application/json"
    answer = http.request(
        "POST",
        url,
        label="android gateway",
        code="unreachable",
        timeout=timeout,
        headers=headers,
        json_body=payload,
    )
    return answer.status, answer.json()


class AndroidSmsTransport(Transport):
    channel = "sms"
    # A phone sends a few texts a second at best, and carriers flag bursts as spam.
    rate_limit = 1.0  # messages/s; settings.ANDROID_SMS_RATE or TRANSPORTS["sms"]["rate"]
    # Its receipts (messaging.views.android_webhook) name the message by its id alone.
    receipts_by_provider_id = True

    def __init__(self) -> None:
        self.rate_limit = float(getattr(settings, "ANDROID_SMS_RATE", self.rate_limit))

    def payload(self, message: OutboundMessage) -> dict:
        data: dict = {
            "id": gateway_id(message.idempotency_key),
            "message": message.body,
            "phoneNumbers": [message.address],
        }
        if message.validity_seconds is not None:
            # The phone drops the text once the alert is stale instead of sending it late.
            data["ttl"] = max(1, int(message.validity_seconds))
        return data

    def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "sms":
            raise TransportError(f"not an SMS: {message.channel}", code="config")
        if not E164.fullmatch(message.address):
            raise TransportError("not an E.164 phone number", permanent=True, code="bad-number")
        url = settings.ANDROID_GATEWAY_URL.rstrip("/")
        if not url or not settings.ANDROID_GATEWAY_PASSWORD:
            raise TransportError("android gateway is not configured", code="config")
        data = self.payload(message)
        status, body = post_json(  # http.Unreachable: timeouts, refused, reset
            f"{url}/message",
            data,
            auth=(settings.ANDROID_GATEWAY_USER, settings.ANDROID_GATEWAY_PASSWORD),
            timeout=float(getattr(settings, "ANDROID_GATEWAY_TIMEOUT", DEFAULT_TIMEOUT)),
        )
        if status in (200, 201, 202) and body.get("id"):
            return SendResult(provider_id=str(body["id"])[:64], status="sent")
        error = " ".join(str(body.get("message") or "").split())
        if status in (409, 500) and DUPLICATE_MARKER in error.lower():
            return SendResult(provider_id=data["id"], status="sent")  # queued by an earlier try
        detail = f"android gateway {status} {error[:120]}".strip()
        if status == 400:
            log.error("android gateway refused the request: %s", error[:200])
            raise TransportError(detail, code="android-400")
        if status in (401, 403):
            log.error("android gateway refused our credentials (%s): check the password", status)
            raise TransportError(detail, code="auth")
        raise TransportError(detail, code=str(status))
