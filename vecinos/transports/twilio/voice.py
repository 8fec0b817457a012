"""Twilio Programmable Voice: POST /2010-04-01/Accounts/{Sid}/Calls.json.

An outbound call carries no text: Twilio fetches the call's TwiML from ``Url`` when the person
answers. The URL names the delivery by a signed token (``d``), so the voice webhook can find
what to say without trusting anything Twilio echoes back, and a guessed or expired token gets a
generic apology rather than somebody else's alert.

Settings (read at send time): TWILIO_API_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
TWILIO_FROM_NUMBER (a call always needs a caller id; Messaging Services do not place calls),
PUBLIC_URL (the address Twilio fetches TwiML from), TWILIO_VOICE_RATE (calls per second:
Twilio's default is one call per second per account).

Error mapping, as for SMS: only the codes that mean "this number will never take a call from
us" are permanent; 429, 5xx, timeouts, refused connections and other 4xx (a wrong token) are
transient and retried with backoff, so a configuration mistake never marks contacts unusable.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core import signing

from vecinos.transports.base import OutboundMessage, SendResult, Transport, TransportError
from vecinos.transports.twilio.sms import API_VERSION, post_form, result_of, timeout

# 21211 invalid To, 21215 geo permissions forbid calling that number, 21217 not a valid
# phone number, 13223 / 13224 invalid number format for calling, 21610 the number said STOP.
PERMANENT_CODES = {21211, 21215, 21217, 13223, 13224, 21610}
RING_SECONDS = 30
VOICE_SALT = "vecinos.voice"
VOICE_PATH = "/hooks/twilio/voice"
# A token only has to live from the call being placed to the last key press of that call; a
# day leaves room for a queue backlog without keeping old links valid for long.
TOKEN_MAX_AGE = 24 * 3600


def delivery_token(delivery_id: int) -> str:
    return signing.dumps(delivery_id, salt=VOICE_SALT, compress=True)


def load_delivery_token(token: str, max_age: int = TOKEN_MAX_AGE) -> int | None:
    """The delivery id a token names, or None when it is forged, mangled or expired."""
    try:
        value = signing.loads(token or "", salt=VOICE_SALT, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def call_path(token: str, *, flow: str, **extra: str) -> str:
    """The voice webhook path (with query) of a step of a call on a voice flow; Twilio resolves
    it on PUBLIC_URL."""
    return f"{VOICE_PATH}?{urlencode({'flow': flow, 'd': token, **extra})}"


class TwilioVoiceTransport(Transport):
    channel = "voice"
    rate_limit = 1.0  # calls/s; settings.TRANSPORTS["voice"]["rate"] overrides

    def __init__(self) -> None:
        self.rate_limit = float(getattr(settings, "TWILIO_VOICE_RATE", self.rate_limit))

    def fields(self, message: OutboundMessage) -> dict[str, str]:
        delivery_id = message.extra.get("delivery_id")
        if not isinstance(delivery_id, int):
            raise TransportError("voice call without a delivery id", code="config")
        # The voice flow that answers the call is the sender's to say (``extra["flow"]``): the
        # transport knows no flow of its own (issue 10), so a call that names none is refused.
        flow = message.extra.get("flow")
        if not isinstance(flow, str) or not flow:
            raise TransportError("voice call without a flow", code="config")
        fields = {
            "To": message.address,
            "From": settings.TWILIO_FROM_NUMBER,
            "Url": f"{settings.PUBLIC_URL}{call_path(delivery_token(delivery_id), flow=flow)}",
            "Method": "POST",
            "Timeout": str(RING_SECONDS),
        }
        if message.status_callback:
            fields["StatusCallback"] = message.status_callback
            fields["StatusCallbackMethod"] = "POST"
            fields["StatusCallbackEvent"] = "completed"
        return fields

    def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "voice":
            # A misconfigured TRANSPORTS map must never turn a text into a robocall.
            raise TransportError(f"not a call: {message.channel}", code="config")
        sid, token = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
        if not (sid and token and settings.TWILIO_FROM_NUMBER and settings.PUBLIC_URL):
            raise TransportError("twilio voice is not configured", code="config")
        url = f"{settings.TWILIO_API_URL}/{API_VERSION}/Accounts/{sid}/Calls.json"
        status, body = post_form(  # http.Unreachable: timeouts, refused, reset
            url,
            self.fields(message),
            auth=(sid, token),
            headers={"Idempotency-Key": message.idempotency_key},
            timeout=timeout(),
        )
        return result_of(status, body, PERMANENT_CODES)
