"""Signal through signal-cli-rest-api: ``POST {SIGNAL_API_URL}/v2/send``.

Request: JSON ``{"message": body, "number": SIGNAL_NUMBER, "recipients": [address]}``; answer
``201 {"timestamp": "<ms>"}``, the timestamp being Signal's id for the message (our provider
id). Every failure comes back as ``400 {"error": "..."}`` (the API wraps whatever signal-cli
said), so the text decides.

Settings (read at send time): SIGNAL_API_URL, SIGNAL_NUMBER, SIGNAL_TIMEOUT, SIGNAL_RATE.

Error mapping: "Unregistered user" / "not registered" about the recipient is permanent (the
number has no Signal account: the contact point is marked unusable). The same words about our
own SIGNAL_NUMBER are a configuration mistake and stay transient, as do every other 400 (the
API also answers 400 when signal-cli cannot reach Signal), 429 (Signal's rate limit, which
asks for a captcha challenge: logged), 5xx, timeouts and refused connections.

Idempotency: signal-cli-rest-api takes no idempotency key, so "never doubled" rests on the
delivery lease; a timeout after Signal accepted the message can, rarely, send it twice. The
timeout is kept generous for that reason. Meant for small groups (the brief), not fan-outs.
"""

from __future__ import annotations

import logging

from django.conf import settings

from vecinos.transports import http
from vecinos.transports.base import OutboundMessage, SendResult, Transport, TransportError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0  # signal-cli can take seconds per message; a short timeout risks doubles
UNREGISTERED_MARKERS = ("unregistered user", "not registered")


def post_json(
    url: str, payload: dict, *, headers: dict[str, str] | None = None, timeout: float
) -> tuple[int, dict]:
    """POST JSON; (status, JSON body or {}). Network trouble raises http.Unreachable."""
    answer = http.request(
        "POST",
        url,
        label="signal api",
        code="unreachable",
        timeout=timeout,
        headers={"Accept": "application/json", **(headers or {})},
        json_body=payload,
    )
    return answer.status, answer.json()


class SignalTransport(Transport):
    channel = "signal"
    rate_limit = 1.0  # messages/s; settings.SIGNAL_RATE or TRANSPORTS["signal"]["rate"] override

    def __init__(self) -> None:
        self.rate_limit = float(getattr(settings, "SIGNAL_RATE", self.rate_limit))

    def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "signal":
            raise TransportError(f"not a Signal message: {message.channel}", code="config")
        if not message.address:
            raise TransportError("no address", permanent=True, code="no-address")
        api, number = settings.SIGNAL_API_URL.rstrip("/"), settings.SIGNAL_NUMBER
        if not (api and number):
            raise TransportError("signal is not configured", code="config")
        status, body = post_json(  # http.Unreachable: timeouts, refused, reset
            f"{api}/v2/send",
            {"message": message.body, "number": number, "recipients": [message.address]},
            timeout=float(getattr(settings, "SIGNAL_TIMEOUT", DEFAULT_TIMEOUT)),
        )
        if status == 201 and body.get("timestamp"):
            return SendResult(provider_id=str(body["timestamp"]), status="sent")
        error = " ".join(str(body.get("error") or "").split())
        detail = f"signal {status} {error[:120]}".strip()
        lowered = error.lower()
        if status == 400 and any(m in lowered for m in UNREGISTERED_MARKERS):
            if number in error and message.address not in error:
                log.error("signal-cli says our own number %s is not registered", number)
                raise TransportError(detail, code="config")
            raise TransportError(detail, permanent=True, code="unregistered")
        if status == 429:
            log.warning("signal rate limit hit: lift it with the challenge token signal-cli logs")
            raise TransportError(detail, code="rate-limited")
        raise TransportError(detail, code=str(status))
