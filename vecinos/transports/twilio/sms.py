"""Twilio Programmable Messaging: POST /2010-04-01/Accounts/{Sid}/Messages.json.

Settings (read at send time; the worker's event loop keeps what it built from them until a
setting changes): TWILIO_API_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
TWILIO_MESSAGING_SERVICE_SID (preferred: Twilio picks the sender and handles 10DLC throughput)
or TWILIO_FROM_NUMBER.

Error mapping: the four Twilio codes that mean "this number will never take an SMS from us"
are permanent (the contact point is marked unusable); everything else (429, 5xx, timeouts,
refused connections, other 4xx such as a wrong token) is transient and retried with backoff,
so a configuration mistake never marks thousands of contacts unusable.

Every request carries ``Idempotency-Key: <delivery key>``, but Twilio's Messages API does not
honour one. So when an attempt may have gone through without us hearing (a timeout waiting for
the answer, a worker that died mid-send) the error is ``uncertain`` and the next attempt first
looks: ``find_sent`` lists the recent messages to that number (``GET Messages.json?To=``) and
adopts the one with the same body (every alert body carries its recipient's own signed link),
instead of texting the person twice.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cache, lru_cache
from urllib.parse import quote_plus, urlencode

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from vecinos.transports import http
from vecinos.transports.base import OutboundMessage, SendResult, Transport, TransportError

# How many of the newest messages to one number are looked through for a lost attempt.
LOOK_BACK = 50
LABEL = "twilio"


def _created(value) -> datetime | None:
    """Twilio's date_created (RFC 2822, "Thu, 03 Dec 2026 18:00:00 +0000"), or None."""
    if not isinstance(value, str):
        return None
    try:
        created = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return created if created.tzinfo is not None else None


API_VERSION = "2010-04-01"
# 21211 invalid To, 21610 unsubscribed (STOP), 21614 not a mobile number, 21408 region disabled
PERMANENT_CODES = {21211, 21610, 21614, 21408}
MAX_VALIDITY = 36000  # seconds (10 hours), Twilio's documented maximum
DEFAULT_TIMEOUT = 10.0


def timeout() -> float:
    return float(getattr(settings, "TWILIO_TIMEOUT_SECONDS", DEFAULT_TIMEOUT))


def post_form(
    url: str,
    fields: dict[str, str],
    *,
    auth: tuple[str, str],
    headers: dict[str, str],
    timeout: float,
) -> tuple[int, dict]:
    """POST a form with basic auth; (status, JSON body or {}). Network trouble raises
    http.Unreachable."""
    all_headers = http.basic_auth(*auth)
    all_headers.update(headers)
    all_headers["Accept"] = "application/json"
    answer = http.request(
        "POST", url, label=LABEL, timeout=timeout, headers=all_headers, form=fields
    )
    return answer.status, answer.json()


def result_of(status: int, body: dict, permanent_codes: set[int]) -> SendResult:
    """A Messages or Calls answer as a SendResult, or the TransportError it means: permanent
    only for a 400 whose code says the number will never work; anything else is transient."""
    if status in (200, 201) and body.get("sid"):
        return SendResult(provider_id=str(body["sid"]), status="sent")
    try:
        code = int(body.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    detail = f"twilio {status} {code or ''} {str(body.get('message') or '')[:100]}".strip()
    if status == 400 and code in permanent_codes:
        raise TransportError(detail, permanent=True, code=str(code))
    raise TransportError(detail, code=str(code or status))


@lru_cache(maxsize=64)
def _quoted(text: str) -> str:
    return quote_plus(text)


# quote_plus for ASCII text as one str.translate: the letters, digits and "_.-~" stay, a space
# becomes "+", any other character %XX (a phone number's "+", a link's ":" and "/").
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_ASCII_QUOTES = {c: (chr(c) if chr(c) in _SAFE else f"%{c:02X}") for c in range(128)}
_ASCII_QUOTES[ord(" ")] = "+"


def quote_text(text: str) -> str:
    """quote_plus(text): a C-speed path for ASCII (numbers, links), quote_plus for the rest."""
    if text.isascii():
        return text.translate(_ASCII_QUOTES)
    return quote_plus(text)


def form_value(text: str) -> str:
    """quote_plus(text), as urlencode writes a form value. A fan-out's bodies are one text per
    language followed by each person's own link: the text before the last space is encoded
    once (quote_plus encodes character by character, so the halves join with "+")."""
    head, space, tail = text.rpartition(" ")
    if not space:
        return quote_text(tail)
    return f"{_quoted(head)}+{quote_text(tail)}"


@cache
def _post_setup() -> tuple[str, dict[str, str], str, float] | None:
    """What every message's POST shares (the URL, the headers but its own key, the encoded
    fields, the timeout), built once from the settings; None when Twilio is not configured.
    Forgotten when a TWILIO_ setting changes (tests; a deployment changes them by restarting).
    The status callback is each message's own (it names the delivery)."""
    sid, token = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
    if not (sid and token) or not (
        settings.TWILIO_MESSAGING_SERVICE_SID or settings.TWILIO_FROM_NUMBER
    ):
        return None
    url = f"{settings.TWILIO_API_URL}/{API_VERSION}/Accounts/{sid}/Messages.json"
    headers = {
        "Authorization": http.auth_header_async(sid, token),
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    shared = _shared_fields(settings.TWILIO_MESSAGING_SERVICE_SID, settings.TWILIO_FROM_NUMBER)
    return url, headers, shared, timeout()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs) -> None:
    if setting.startswith("TWILIO_"):
        _post_setup.cache_clear()


def _shared_fields(service_sid: str, from_number: str) -> str:
    """The urlencoded fields (with a leading "&") that are the same for every message."""
    fields = {"MessagingServiceSid": service_sid} if service_sid else {"From": from_number}
    return "&" + urlencode(fields)


class TwilioSmsTransport(Transport):
    channel = "sms"
    rate_limit = 10.0  # messages/s; settings.TRANSPORTS["sms"]["rate"] overrides

    def __init__(self) -> None:
        self.rate_limit = float(getattr(settings, "TWILIO_SMS_RATE", self.rate_limit))

    def fields(self, message: OutboundMessage) -> dict[str, str]:
        fields = {"To": message.address, "Body": message.body}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            fields["MessagingServiceSid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            fields["From"] = settings.TWILIO_FROM_NUMBER
        if message.status_callback:
            fields["StatusCallback"] = message.status_callback
        if message.validity_seconds is not None:
            fields["ValidityPeriod"] = str(max(1, min(MAX_VALIDITY, message.validity_seconds)))
        return fields

    def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "sms":
            # VECINOS_VOICE_TRANSPORT=twilio must never turn a call into a text.
            raise TransportError(f"not an SMS: {message.channel}", code="config")
        sid, token = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
        if not (sid and token) or not (
            settings.TWILIO_MESSAGING_SERVICE_SID or settings.TWILIO_FROM_NUMBER
        ):
            raise TransportError("twilio is not configured", code="config")
        url = f"{settings.TWILIO_API_URL}/{API_VERSION}/Accounts/{sid}/Messages.json"
        status, body = post_form(  # http.Unreachable: timeouts, refused, reset
            url,
            self.fields(message),
            auth=(sid, token),
            headers={"Idempotency-Key": message.idempotency_key},
            timeout=timeout(),
        )
        return self.result(status, body)

    def _list_url(self, message: OutboundMessage) -> str:
        sid = settings.TWILIO_ACCOUNT_SID
        query = urlencode({"To": message.address, "PageSize": LOOK_BACK})
        return f"{settings.TWILIO_API_URL}/{API_VERSION}/Accounts/{sid}/Messages.json?{query}"

    @staticmethod
    def _match(message: OutboundMessage, status: int, body: dict) -> SendResult | None:
        if status != 200:
            raise TransportError(f"twilio list {status}", uncertain=True)
        # The same text, or (should a Messaging Service's smart encoding have swapped a curly
        # quote) the same signed link, which is this recipient's alone.
        links = [w for w in message.body.split() if w.startswith(("http://", "https://"))]
        for resource in body.get("messages") or []:
            text = resource.get("body") if isinstance(resource, dict) else None
            if (
                isinstance(text, str)
                and resource.get("to") == message.address
                and (text == message.body or (links and links[-1] in text))
                and resource.get("sid")
                and resource.get("status") not in ("failed", "canceled")
            ):
                return SendResult(
                    provider_id=str(resource["sid"]),
                    status="sent",
                    sent_at=_created(resource.get("date_created")),
                )
        return None

    def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """The message an earlier, unanswered attempt made, if Twilio has it; else None."""
        headers = http.basic_auth(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
        headers["Accept"] = "application/json"
        try:
            answer = http.request(
                "GET", self._list_url(message), label=LABEL, timeout=timeout(), headers=headers
            )
            body = answer.json(strict=True)
        except http.Unreachable as exc:
            raise TransportError(f"twilio list: {exc.cause}", uncertain=True) from None
        except ValueError:
            raise TransportError("twilio list: not JSON", uncertain=True) from None
        return self._match(message, answer.status, body)

    async def find_sent_async(self, message: OutboundMessage, session) -> SendResult | None:
        headers = {
            "Authorization": http.auth_header_async(
                settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
            ),
            "Accept": "application/json",
        }
        try:
            answer = await http.request_async(
                session,
                "GET",
                self._list_url(message),
                label=LABEL,
                timeout=timeout(),
                headers=headers,
            )
            body = answer.json(strict=True)
        except http.Unreachable as exc:
            raise TransportError(f"twilio list: {exc.cause}", uncertain=True) from None
        except ValueError:
            raise TransportError("twilio list: not JSON", uncertain=True) from None
        return self._match(message, answer.status, body)

    def result(self, status: int, body: dict) -> SendResult:
        """Twilio's answer as a SendResult, or the TransportError it means."""
        return result_of(status, body, PERMANENT_CODES)

    async def send_async(self, message: OutboundMessage, session) -> SendResult:
        """The same request on the worker's event loop (pyreqwest): many in flight, few threads."""
        if message.channel != "sms":
            raise TransportError(f"not an SMS: {message.channel}", code="config")
        setup = _post_setup()
        if setup is None:
            raise TransportError("twilio is not configured", code="config")
        url, shared_headers, shared, wait = setup
        headers = {**shared_headers, "Idempotency-Key": message.idempotency_key}
        # Encoded here, as bytes: this message's own fields only; the fields every message
        # shares are encoded once.
        own = f"To={quote_text(message.address)}&Body={form_value(message.body)}"
        if message.validity_seconds is not None:
            own += f"&ValidityPeriod={max(1, min(MAX_VALIDITY, message.validity_seconds))}"
        if message.status_callback:
            own += f"&StatusCallback={quote_text(message.status_callback)}"
        answer = await http.request_async(  # http.Unreachable: timeouts, refused, reset
            session,
            "POST",
            url,
            label=LABEL,
            timeout=wait,
            headers=headers,
            data=f"{own}{shared}".encode(),
        )
        return self.result(answer.status, answer.json())
