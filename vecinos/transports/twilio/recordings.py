"""Twilio's Recording resource: GET a call recording's audio, DELETE it.

    GET    {TWILIO_API_URL}/2010-04-01/Accounts/{AC}/Recordings/{RE}.mp3
    DELETE {TWILIO_API_URL}/2010-04-01/Accounts/{AC}/Recordings/{RE}.json

SSRF guard: the ``RecordingUrl`` Twilio sent is only parsed, never requested. Its scheme, host
and port must be those of ``settings.TWILIO_API_URL`` and its path a Recording resource; the
request goes to a URL rebuilt from the configured base and the two SIDs, redirects are not
followed (``transports.http``), and the account's credentials are never sent anywhere else.

What to do with the audio (store it encrypted, when to delete) is the reports app's business,
reached through ``messaging.calls``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from vecinos.transports import http
from vecinos.transports.base import TransportError
from vecinos.transports.twilio.sms import API_VERSION, timeout

MAX_BYTES = 25 * 1024 * 1024  # 120 s of MP3 is about 2 MB; anything far larger is not ours
_RESOURCE = re.compile(
    rf"/{API_VERSION}/Accounts/(?P<account>AC[0-9A-Za-z]{{1,34}})"
    r"/Recordings/(?P<sid>RE[0-9A-Za-z]{1,34})(?:\.(?:mp3|wav|json))?"
)


class RecordingError(TransportError):
    """The step did not happen; the same step may work later. ``detail`` is the unexpected
    HTTP status, or the kind of network failure; ``busy`` when Twilio is unreachable, down or
    throttling (429, 5xx), as opposed to an answer that needs someone to look (a 401)."""

    def __init__(self, detail: int | str) -> None:
        super().__init__(f"twilio recording: {detail}", code=str(detail))
        self.detail = detail
        self.busy = isinstance(detail, str) or http.busy(detail)


@dataclass(frozen=True)
class RecordingRef:
    account: str
    sid: str

    def url(self, extension: str) -> str:
        base = settings.TWILIO_API_URL.rstrip("/")
        return f"{base}/{API_VERSION}/Accounts/{self.account}/Recordings/{self.sid}.{extension}"


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


def parse_recording_url(url: str) -> RecordingRef | None:
    """The Recording a URL names, or None unless it is one on the configured Twilio API host."""
    base = settings.TWILIO_API_URL.rstrip("/")
    origin = _origin(url)
    if origin is None or origin != _origin(base):
        return None
    path = urlsplit(url).path
    prefix = urlsplit(base).path.rstrip("/")
    if not path.startswith(prefix + "/"):
        return None
    match = _RESOURCE.fullmatch(path[len(prefix) :])
    if match is None:
        return None
    return RecordingRef(account=match["account"], sid=match["sid"])


def configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


def _call(method: str, url: str) -> http.Answer:
    headers = http.basic_auth(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    try:
        # Each read bounded by the timeout, not the whole download.
        return http.request(
            method, url, label="twilio", timeout=timeout(), headers=headers,
            max_bytes=MAX_BYTES, whole=False,
        )  # fmt: skip
    except http.Unreachable as exc:
        raise RecordingError(exc.cause) from None


def fetch(ref: RecordingRef) -> bytes | None:
    """The audio (MP3), or None when Twilio has no such recording (any more); RecordingError
    for anything else."""
    answer = _call("GET", ref.url("mp3"))
    if answer.status == 404:
        return None
    if answer.status != 200 or not answer.body:
        raise RecordingError(answer.status)
    if len(answer.body) > MAX_BYTES:
        raise RecordingError(413)
    return answer.body


def delete(ref: RecordingRef) -> None:
    """Delete the recording at Twilio (done, too, when it was gone already); else
    RecordingError."""
    status = _call("DELETE", ref.url("json")).status
    if status not in (200, 204, 404):
        raise RecordingError(status)
