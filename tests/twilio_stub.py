"""A local HTTP server that speaks Twilio's REST API, for transport tests and benchmarks.

It implements what Twilio documents for ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``:
HTTP basic auth with the account SID and auth token, form-encoded fields (To, Body, From or
MessagingServiceSid, StatusCallback, ValidityPeriod), ``201`` with the Message resource as JSON,
and Twilio's error body ``{"code", "message", "more_info", "status"}`` otherwise. It also
fetches a message (``GET .../Messages/{Sid}.json``).

Voice: ``POST .../Calls.json`` (To, From, Url or Twiml, StatusCallback, StatusCallbackEvent,
Timeout) answers ``201`` with the Call resource (``sid`` "CA" + 32 hex, ``status`` "queued");
``GET .../Calls/{Sid}.json`` fetches it. Accepted calls are recorded once in ``calls``, with the
same failure injection, delays and ``Idempotency-Key`` handling as messages.

Test controls: every request is recorded (``requests``); accepted messages are recorded once
(``messages``); the ``Idempotency-Key`` header is honoured (same key -> same sid, recorded
once); ``fail_next(n, status=500)`` or ``fail_next(n, status=400, code=21211)`` fails the next
n requests; ``delay_next(n, seconds)`` accepts the next n messages but answers late (a client
timeout after the provider accepted: the case idempotency keys exist for); ``hold_next(n)``
accepts the next n but answers only once the event it returns is set (or after 30 s), so a test
can look at the client while those requests are certainly still open.

Recordings: ``GET .../Recordings/{Sid}.mp3`` (or ``.wav``) answers the audio bytes,
``GET .../Recordings/{Sid}.json`` the Recording resource, ``DELETE .../Recordings/{Sid}.json``
``204`` with no body; an unknown or deleted recording answers ``404`` (Twilio error 20404).
``add_recording(audio)`` puts one there and returns its sid; ``recording_url(sid)`` is the
``RecordingUrl`` Twilio would send to the ``<Record>`` action.

New resources are one more entry in ``ROUTES``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import phonenumbers
import pytest
from twilio.request_validator import RequestValidator

API = "/2010-04-01"
MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


@dataclass
class StubRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    at: float = field(default_factory=time.monotonic)

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def body(self) -> str:
        return self.form.get("Body", "")

    @property
    def resource(self) -> str:
        """The REST resource this request addressed: "Messages", "Calls", ..."""
        return self.path.rsplit("/", 1)[-1].split(".", 1)[0] if self.path.endswith(".json") else ""


@dataclass
class Failure:
    status: int
    code: int | None = None
    message: str = ""


def twilio_error(status: int, code: int | None, message: str) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": MORE_INFO.format(code=code) if code else None,
        "status": status,
    }


HOLD_LIMIT = 30.0  # seconds a held answer waits for its release at most
# How late a request is answered: seconds, or an event to wait for (hold_next).
Delay = float | threading.Event


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops connections a sender opens at once (a dozen
    # concurrent sends): each then waits a second for its SYN to be sent again.
    request_queue_size = 128


class TwilioStub:
    def __init__(self, account_sid: str | None = None, auth_token: str | None = None) -> None:
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self.requests: list[StubRequest] = []
        self.messages: list[dict] = []  # accepted Message resources, each once
        # Twilio ignores Idempotency-Key: a repeated request makes a second message, as here.
        # (True makes the stub fold repeats, as some gateways do.)
        self.honor_idempotency_key = False
        self.by_key: dict[str, dict] = {}
        self.by_sid: dict[str, dict] = {}
        self.calls: list[dict] = []  # accepted Call resources, each once
        self.calls_by_key: dict[str, dict] = {}
        self.recordings: dict[str, bytes] = {}  # sid -> audio, until deleted
        self.deleted_recordings: list[str] = []
        self.lock = threading.Lock()
        self._failures: list[Failure] = []
        self._delays: list[Delay] = []
        self._holds: list[threading.Event] = []  # every hold_next's event, released on stop
        self.in_flight = 0  # requests being answered now
        self.most_in_flight = 0  # the most at once since start (or reset)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "stub not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> TwilioStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real API

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                stub._handle(self, "POST")

            def do_GET(self) -> None:
                stub._handle(self, "GET")

            def do_DELETE(self) -> None:
                stub._handle(self, "DELETE")

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            self._release_holds()  # a test that failed before releasing them
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- test controls ---------------------------------------------------------------------

    def fail_next(
        self, n: int = 1, *, status: int = 500, code: int | None = None, message: str = ""
    ) -> None:
        with self.lock:
            self._failures.extend(Failure(status, code, message) for _ in range(n))

    def delay_next(self, n: int, seconds: float) -> None:
        with self.lock:
            self._delays.extend([seconds] * n)

    def hold_next(self, n: int) -> threading.Event:
        """Accept the next n messages (or calls), but answer them only once the returned event
        is set (at most HOLD_LIMIT seconds: a test that fails before setting it must not leave
        the server's threads waiting for ever)."""
        release = threading.Event()
        with self.lock:
            self._delays.extend([release] * n)
            self._holds.append(release)
        return release

    def _release_holds(self) -> None:
        """(Under self.lock.) Let every held answer go."""
        for release in self._holds:
            release.set()
        self._holds.clear()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.messages.clear()
            self.by_key.clear()
            self.by_sid.clear()
            self.calls.clear()
            self.calls_by_key.clear()
            self.recordings.clear()
            self.deleted_recordings.clear()
            self._failures.clear()
            self._delays.clear()
            self._release_holds()
            self.most_in_flight = 0

    def messages_to(self, number: str) -> list[dict]:
        with self.lock:
            return [m for m in self.messages if m["to"] == number]

    def calls_to(self, number: str) -> list[dict]:
        with self.lock:
            return [c for c in self.calls if c["to"] == number]

    def add_recording(self, audio: bytes) -> str:
        sid = "RE" + secrets.token_hex(16)
        with self.lock:
            self.recordings[sid] = audio
        return sid

    def recording_url(self, sid: str) -> str:
        """The RecordingUrl of a <Record> action callback (no extension: Twilio's form)."""
        return f"{self.url}{API}/Accounts/{self.account_sid}/Recordings/{sid}"

    # --- HTTP --------------------------------------------------------------------------------

    def _handle(self, http: BaseHTTPRequestHandler, method: str) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length).decode() if length else ""
        path, _sep, query = http.path.partition("?")
        # A GET's parameters are in its query string (Twilio's list filters: To, PageSize).
        source = query if method == "GET" else raw
        form = {k: v[-1] for k, v in parse_qs(source, keep_blank_values=True).items()}
        # Header names are case-insensitive on the wire: keep them in one canonical case.
        headers = {k.title(): v for k, v in http.headers.items()}
        request = StubRequest(method, path, headers, form)
        with self.lock:
            self.requests.append(request)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            status, body, delay = self._dispatch(request)
            if isinstance(delay, threading.Event):
                delay.wait(HOLD_LIMIT)
            elif delay:
                time.sleep(delay)
        finally:
            with self.lock:
                self.in_flight -= 1
        if isinstance(body, bytes):  # media (a recording's audio)
            data, content_type = body, "audio/mpeg"
        else:
            data, content_type = json.dumps(body).encode(), "application/json; charset=utf-8"
        if status == 204:
            data = b""
        try:
            http.send_response(status)
            if status != 204:
                http.send_header("Content-Type", content_type)
            http.send_header("Content-Length", str(len(data)))
            http.end_headers()
            http.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def _dispatch(self, request: StubRequest) -> tuple[int, dict | bytes, Delay]:
        for method, pattern, name in ROUTES:
            match = re.fullmatch(pattern, request.path)
            if match and method == request.method:
                if match.group("account") != self.account_sid or not self._authorized(request):
                    return 401, twilio_error(401, 20003, "Authenticate"), 0
                with self.lock:
                    failure = self._failures.pop(0) if self._failures else None
                if failure is not None:
                    return (
                        failure.status,
                        twilio_error(failure.status, failure.code, failure.message or "Injected"),
                        0,
                    )
                return getattr(self, name)(request, **match.groupdict())
        return 404, twilio_error(404, 20404, "The requested resource was not found"), 0

    def _authorized(self, request: StubRequest) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    # --- resources ---------------------------------------------------------------------------

    def create_message(self, request: StubRequest, account: str) -> tuple[int, dict, Delay]:
        form = request.form
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From", ""), form.get("MessagingServiceSid", "")
        if not to:
            return 400, twilio_error(400, 21604, "A 'To' phone number is required."), 0
        if not body:
            return 400, twilio_error(400, 21602, "Message body is required."), 0
        if not sender and not service:
            return 400, twilio_error(400, 21603, "A 'From' phone number is required."), 0
        if not _valid_e164(to):
            return 400, twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}"), 0
        if service and not re.fullmatch(r"MG[0-9a-fA-F]{32}", service):
            return 400, twilio_error(400, 21701, "The Messaging Service Sid is invalid."), 0
        if "ValidityPeriod" in form:
            try:
                validity = int(form["ValidityPeriod"])
            except ValueError:
                validity = 0
            if not 1 <= validity <= 36000:
                return 400, twilio_error(400, 21624, "Invalid validity period value"), 0
        key = request.headers.get("Idempotency-Key", "")
        with self.lock:
            if key and key in self.by_key and self.honor_idempotency_key:
                return 201, _public(self.by_key[key]), self._pop_delay()
            sid = "SM" + secrets.token_hex(16)
            resource = {
                "sid": sid,
                "account_sid": account,
                "to": to,
                "from": sender or None,
                "messaging_service_sid": service or None,
                "body": body,
                # Twilio answers "accepted" when a Messaging Service will pick the sender.
                "status": "accepted" if service and not sender else "queued",
                "num_segments": str(_segments(body)),
                "num_media": "0",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "price": None,
                "price_unit": "USD",
                "error_code": None,
                "error_message": None,
                "date_created": formatdate(usegmt=True),
                "date_updated": formatdate(usegmt=True),
                "date_sent": None,
                "uri": f"{API}/Accounts/{account}/Messages/{sid}.json",
                "subresource_uris": {
                    "media": f"{API}/Accounts/{account}/Messages/{sid}/Media.json"
                },
                # Not part of Twilio's answer; kept for tests that fire status callbacks.
                "_status_callback": form.get("StatusCallback", ""),
                "_validity_period": form.get("ValidityPeriod", ""),
            }
            self.messages.append(resource)
            self.by_sid[sid] = resource
            if key:
                self.by_key[key] = resource
            delay = self._pop_delay()
        return 201, _public(resource), delay

    def list_messages(self, request: StubRequest, account: str) -> tuple[int, dict, Delay]:
        """GET Messages.json: newest first, filtered by To, at most PageSize (default 50)."""
        to = request.form.get("To", "")
        try:
            size = max(1, min(1000, int(request.form.get("PageSize", "50"))))
        except ValueError:
            return 400, twilio_error(400, 20001, "Invalid PageSize"), 0
        with self.lock:
            found = [m for m in reversed(self.messages) if not to or m["to"] == to][:size]
        uri = f"{API}/Accounts/{account}/Messages.json"
        return (
            200,
            {
                "messages": [_public(m) for m in found],
                "page": 0,
                "page_size": size,
                "first_page_uri": uri,
                "next_page_uri": None,
                "previous_page_uri": None,
                "uri": uri,
                "end": max(0, len(found) - 1),
                "start": 0,
            },
            0,
        )

    def fetch_message(
        self, request: StubRequest, account: str, sid: str
    ) -> tuple[int, dict, Delay]:
        with self.lock:
            resource = self.by_sid.get(sid)
        if resource is None:
            return (
                404,
                twilio_error(404, 20404, f"The requested resource {request.path} was not found"),
                0,
            )
        return 200, _public(resource), 0

    def create_call(self, request: StubRequest, account: str) -> tuple[int, dict, Delay]:
        form = request.form
        to, sender = form.get("To", ""), form.get("From", "")
        url, twiml = form.get("Url", ""), form.get("Twiml", "")
        if not to:
            return 400, twilio_error(400, 21201, "No 'To' number is specified"), 0
        if not sender:
            return 400, twilio_error(400, 21213, "No 'From' number is specified"), 0
        if not url and not twiml and not form.get("ApplicationSid"):
            return 400, twilio_error(400, 21205, "Url parameter is required."), 0
        if url and not re.match(r"https?://", url):
            return 400, twilio_error(400, 21205, f"Url is not a valid URL: {url}"), 0
        if not _valid_e164(to):
            return 400, twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}"), 0
        if not _valid_e164(sender):
            return 400, twilio_error(400, 21212, f"Invalid 'From' Phone Number: {sender}"), 0
        key = request.headers.get("Idempotency-Key", "")
        with self.lock:
            if key and key in self.calls_by_key and self.honor_idempotency_key:
                return 201, _public(self.calls_by_key[key]), self._pop_delay()
            sid = "CA" + secrets.token_hex(16)
            resource = {
                "sid": sid,
                "account_sid": account,
                "to": to,
                "to_formatted": to,
                "from": sender,
                "from_formatted": sender,
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "answered_by": None,
                "caller_name": None,
                "duration": None,
                "start_time": None,
                "end_time": None,
                "forwarded_from": None,
                "group_sid": None,
                "parent_call_sid": None,
                "phone_number_sid": None,
                "price": None,
                "price_unit": "USD",
                "queue_time": "0",
                "trunk_sid": None,
                "annotation": None,
                "date_created": formatdate(usegmt=True),
                "date_updated": formatdate(usegmt=True),
                "uri": f"{API}/Accounts/{account}/Calls/{sid}.json",
                "subresource_uris": {
                    "notifications": f"{API}/Accounts/{account}/Calls/{sid}/Notifications.json",
                    "recordings": f"{API}/Accounts/{account}/Calls/{sid}/Recordings.json",
                    "payments": f"{API}/Accounts/{account}/Calls/{sid}/Payments.json",
                    "events": f"{API}/Accounts/{account}/Calls/{sid}/Events.json",
                },
                # Not part of Twilio's answer; kept for tests that fetch TwiML or fire callbacks.
                "_url": url,
                "_method": form.get("Method", "POST"),
                "_status_callback": form.get("StatusCallback", ""),
                "_status_callback_event": form.get("StatusCallbackEvent", ""),
                "_timeout": form.get("Timeout", ""),
            }
            self.calls.append(resource)
            self.by_sid[sid] = resource
            if key:
                self.calls_by_key[key] = resource
            delay = self._pop_delay()
        return 201, _public(resource), delay

    def fetch_call(self, request: StubRequest, account: str, sid: str) -> tuple[int, dict, Delay]:
        return self.fetch_message(request, account, sid)  # by_sid holds calls and messages

    def fetch_recording_media(
        self, request: StubRequest, account: str, sid: str, ext: str
    ) -> tuple[int, dict | bytes, Delay]:
        with self.lock:
            audio = self.recordings.get(sid)
        if audio is None:
            return (
                404,
                twilio_error(404, 20404, f"The requested resource {request.path} was not found"),
                0,
            )
        return 200, audio, 0

    def fetch_recording(
        self, request: StubRequest, account: str, sid: str
    ) -> tuple[int, dict, Delay]:
        with self.lock:
            audio = self.recordings.get(sid)
        if audio is None:
            return (
                404,
                twilio_error(404, 20404, f"The requested resource {request.path} was not found"),
                0,
            )
        return (
            200,
            {
                "sid": sid,
                "account_sid": account,
                "api_version": "2010-04-01",
                "status": "completed",
                "source": "RecordVerb",
                "channels": 1,
                "duration": "7",
                "price_unit": "USD",
                "date_created": formatdate(usegmt=True),
                "uri": f"{API}/Accounts/{account}/Recordings/{sid}.json",
            },
            0,
        )

    def delete_recording(
        self, request: StubRequest, account: str, sid: str
    ) -> tuple[int, dict, Delay]:
        with self.lock:
            audio = self.recordings.pop(sid, None)
            if audio is not None:
                self.deleted_recordings.append(sid)
        if audio is None:
            return (
                404,
                twilio_error(404, 20404, f"The requested resource {request.path} was not found"),
                0,
            )
        return 204, {}, 0

    def _pop_delay(self) -> Delay:
        return self._delays.pop(0) if self._delays else 0.0


ROUTES = [
    ("POST", rf"{API}/Accounts/(?P<account>AC\w+)/Messages\.json", "create_message"),
    ("GET", rf"{API}/Accounts/(?P<account>AC\w+)/Messages\.json", "list_messages"),
    ("GET", rf"{API}/Accounts/(?P<account>AC\w+)/Messages/(?P<sid>SM\w+)\.json", "fetch_message"),
    ("POST", rf"{API}/Accounts/(?P<account>AC\w+)/Calls\.json", "create_call"),
    ("GET", rf"{API}/Accounts/(?P<account>AC\w+)/Calls/(?P<sid>CA\w+)\.json", "fetch_call"),
    (
        "GET",
        rf"{API}/Accounts/(?P<account>AC\w+)/Recordings/(?P<sid>RE\w+)\.(?P<ext>mp3|wav)",
        "fetch_recording_media",
    ),
    (
        "GET",
        rf"{API}/Accounts/(?P<account>AC\w+)/Recordings/(?P<sid>RE\w+)\.json",
        "fetch_recording",
    ),
    (
        "DELETE",
        rf"{API}/Accounts/(?P<account>AC\w+)/Recordings/(?P<sid>RE\w+)\.json",
        "delete_recording",
    ),
]


def _public(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if not k.startswith("_")}


def _valid_e164(number: str) -> bool:
    if not re.fullmatch(r"\+[1-9]\d{6,14}", number):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def _segments(body: str) -> int:
    try:
        body.encode("ascii")
        single, multi = 160, 153  # close enough to GSM-7 for a stub
    except UnicodeEncodeError:
        single, multi = 70, 67
    return 1 if len(body) <= single else -(-len(body) // multi)


# --- Webhooks: requests as Twilio signs them --------------------------------------------------

WEBHOOK_TOKEN = "test-token"
PUBLIC_URL = "http://testserver"


def twilio_signature(path: str, params: dict, *, token: str = WEBHOOK_TOKEN) -> str:
    """What Twilio would put in X-Twilio-Signature, computed by the SDK itself."""
    return RequestValidator(token).compute_signature(PUBLIC_URL + path, params)


def callback_path(url: str) -> str:
    """The path and query of a callback URL the stub was given (``_status_callback``): where
    Twilio posts, and what it signs (the query, which names the delivery, included)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def signed_post(client, path: str, params: dict, *, token: str = WEBHOOK_TOKEN, signature=None):
    """POST a webhook with Django's test client; signature=False sends none."""
    if signature is None:
        signature = twilio_signature(path, params, token=token)
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}
    return client.post(path, params, **headers)


def sms_reply(client, sender: str, body: str, *, to: str = "+12135550000") -> str | None:
    """Text ``body`` from ``sender`` to the SMS webhook, signed as Twilio signs it, and return
    the one reply in the TwiML answer (None when it answers nothing)."""
    params = {
        "From": sender,
        "To": to,
        "Body": body,
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "NumMedia": "0",
    }
    response = signed_post(client, "/hooks/twilio/sms", params)
    assert response.status_code == 200, response.content
    messages = ElementTree.fromstring(response.content).findall("Message")
    assert len(messages) <= 1, response.content
    return messages[0].text if messages else None


@pytest.fixture
def twilio_webhooks(settings):
    """Webhook settings as a deployment would have them (signatures checked with this token)."""
    settings.TWILIO_AUTH_TOKEN = WEBHOOK_TOKEN
    settings.PUBLIC_URL = PUBLIC_URL
    return settings


@pytest.fixture
def fresh_rate_limits(settings):
    """Rate-limit keys hash SECRET_KEY: a per-test key keeps Redis counters of earlier runs
    (and of the fixed persona phones) from spilling into this test."""
    settings.SECRET_KEY = secrets.token_urlsafe(50)


@pytest.fixture
def twilio_stub():
    stub = TwilioStub().start()
    try:
        yield stub
    finally:
        stub.stop()
