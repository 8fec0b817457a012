"""Delivery receipts from "SMS Gateway for Android": checking and reading ``POST /hooks/android/``.

Register this URL on the phone once per event (``sms:sent``, ``sms:delivered``, ``sms:failed``)
with ``POST /webhooks {"url": ..., "event": ...}`` (local server) and copy the app's signing key
(Settings > Webhooks > Signing Key) into ``VECINOS_ANDROID_WEBHOOK_KEY``.

The app posts one JSON event per request (docs-web ``features/webhooks.md``)::

    {"deviceId": "...", "event": "sms:delivered", "id": "<event id>", "webhookId": "...",
     "payload": {"messageId": "<message id>", "phoneNumber": "...", "deliveredAt": "..."}}

``payload.messageId`` is the message's id: the ``id`` this project gave when sending
(``transport.gateway_id``), which the transport stored as the delivery's ``provider_id``. The
top-level ``id`` names the event, not the message. ``sms:failed`` adds ``payload.reason``.

Signature: ``X-Signature`` is the hex HMAC-SHA256, keyed with the signing key, of the raw body
followed by the ``X-Timestamp`` header (Unix seconds). Answers: 403 for a missing or wrong
signature, a timestamp more than 5 minutes away from now (a replay), or no key configured; 400
for a body that is not such an event; 200 otherwise, including ids we do not know and events we
do not use (``sms:received``, ``system:ping``), so the phone does not retry them for two days.

Status moves: sent -> sent, delivered -> delivered, failed -> failed (with the reason). The
view is messaging's (``messaging.views.android_webhook``), which records the receipt through
``messaging.services.receipt_update``: a row already final never changes, so retries and
out-of-order events cannot step it back. This module only checks and reads the request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

from django.conf import settings
from django.http import HttpRequest

MAX_SKEW_SECONDS = 300
MAX_ID = 64  # the longest provider id a delivery keeps
TIMESTAMP = re.compile(r"\d{1,12}")
# The app's events we use, and the delivery status each one reports.
EVENTS = {
    "sms:sent": "sent",
    "sms:delivered": "delivered",
    "sms:failed": "failed",
}


class BadEvent(ValueError):
    pass


def signature(key: str, body: bytes, timestamp: str) -> str:
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def is_valid_request(request: HttpRequest, *, now: float | None = None) -> bool:
    """A signature made with our key over this body and a timestamp within 5 minutes."""
    key = getattr(settings, "ANDROID_WEBHOOK_KEY", "") or ""
    given = request.headers.get("X-Signature", "").strip().lower()
    stamp = request.headers.get("X-Timestamp", "").strip()
    if not key or not given or not TIMESTAMP.fullmatch(stamp):
        return False
    now = time.time() if now is None else now
    if abs(now - int(stamp)) > MAX_SKEW_SECONDS:
        return False
    expected = signature(key, request.body, stamp)
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def parse(body: bytes) -> tuple[str, str, str]:
    """(event, message id, reason) of a receipt; ("", "", "") for an event we do not use."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadEvent("not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise BadEvent("no event")
    event = data["event"]
    if event not in EVENTS:
        return "", "", ""
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise BadEvent("no payload")
    message_id = payload.get("messageId")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_ID:
        raise BadEvent("no messageId")
    reason = payload.get("reason")
    reason = " ".join(reason.split()) if isinstance(reason, str) else ""
    return event, message_id, reason
