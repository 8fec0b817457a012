"""Local servers that speak the documented APIs of the non-Twilio providers, for transport tests.

- ``PushServiceStub``: a Web Push service (RFC 8030 + RFC 8292 VAPID + RFC 8291 aes128gcm), as
  Mozilla autopush and FCM behave: ``POST /push/<id>`` with ``TTL``, ``Content-Encoding:
  aes128gcm`` and ``Authorization: vapid t=<JWT>,k=<key>`` (the JWT's ES256 signature, ``aud``
  and ``exp`` are verified); 201 with ``Location``; 404 for an unknown subscription, 410 for an
  expired one, 401/403 for bad VAPID, 400 without TTL, 413 for a body over 4096 bytes. A message
  with the same ``Topic`` as one still pending replaces it (RFC 8030 section 5.4).
  ``subscribe()`` makes a browser-side subscription with real keys, so tests can decrypt.
- ``SignalApiStub``: signal-cli-rest-api's ``POST /v2/send`` (201 ``{"timestamp"}``, errors as
  400 ``{"error"}``) and ``GET /v1/about``.
- ``AndroidGatewayStub``: SMS Gateway for Android's local server ``POST /message`` (and
  ``/messages``) with basic auth, request checks as the app makes them (400 ``{"message"}``),
  202 with the message state; a repeated ``id`` is refused as the app does ("Message with the
  same ID already exists", 500). Like the app, it does not check numbers when queueing.
  ``webhook(event, id, key=...)`` makes a signed delivery receipt as the app posts it.
- ``SmtpStub``: an aiosmtpd SMTP server on 127.0.0.1 that records every accepted mail and can
  refuse recipients with any code.

Every stub records requests, can ``fail_next(n, status=...)``, and starts on a free port.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self):
        return json.loads(self.body or b"{}")


class HttpStub:
    """A threaded HTTP/1.1 server on 127.0.0.1 that hands each request to ``handle``."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.lock = threading.Lock()
        self._failures: list[tuple[int, dict]] = []
        self._delays: list[float] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "stub not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                stub._serve(self, "POST")

            def do_GET(self) -> None:
                stub._serve(self, "GET")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail_next(self, n: int = 1, *, status: int = 500, body: dict | None = None) -> None:
        with self.lock:
            self._failures.extend([(status, body or {})] * n)

    def delay_next(self, n: int, seconds: float) -> None:
        with self.lock:
            self._delays.extend([seconds] * n)

    def _serve(self, http: BaseHTTPRequestHandler, method: str) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        headers = {k.title(): v for k, v in http.headers.items()}
        request = HttpRequest(method, http.path.split("?", 1)[0], headers, body)
        with self.lock:
            self.requests.append(request)
            failure = self._failures.pop(0) if self._failures else None
            delay = self._delays.pop(0) if self._delays else 0.0
        if failure is not None:
            status, payload, extra = failure[0], failure[1], {}
        else:
            status, payload, extra = self.handle(request)
        if delay:
            time.sleep(delay)
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            http.send_response(status)
            if payload is not None:
                http.send_header("Content-Type", "application/json; charset=utf-8")
            for name, value in extra.items():
                http.send_header(name, value)
            http.send_header("Content-Length", str(len(data)))
            http.end_headers()
            http.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def handle(self, request: HttpRequest) -> tuple[int, dict | None, dict[str, str]]:
        raise NotImplementedError


# --- Web Push ---------------------------------------------------------------------------------


@dataclass
class BrowserSubscription:
    """What a browser keeps: the subscription it hands out and the keys only it knows."""

    id: str
    info: dict  # PushSubscription.toJSON(): {"endpoint", "keys": {"p256dh", "auth"}}
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    def decrypt(self, body: bytes) -> bytes:
        import http_ece

        return http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )


def autopush_error(status: int, errno: int, message: str) -> dict:
    return {
        "code": status,
        "errno": errno,
        "error": {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}.get(status, "Error"),
        "message": message,
        "more_info": "https://mozilla-services.github.io/autopush-rs/errors",
    }


class PushServiceStub(HttpStub):
    MAX_BODY = 4096

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions: dict[str, BrowserSubscription] = {}
        self.expired: set[str] = set()
        # Pending messages per (subscription, topic or message id): what the browser will get.
        self.pending: dict[tuple[str, str], dict] = {}
        self.accepted: list[dict] = []  # every accepted POST, replaced or not
        self.vapid_keys: set[str] = set()  # application server keys seen (k=)

    def subscribe(self) -> BrowserSubscription:
        key = ec.generate_private_key(ec.SECP256R1())
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        auth = os.urandom(16)
        sub_id = secrets.token_urlsafe(24)
        info = {
            "endpoint": f"{self.url}/push/{sub_id}",
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(auth)},
        }
        sub = BrowserSubscription(sub_id, info, key, auth)
        with self.lock:
            self.subscriptions[sub_id] = sub
        return sub

    def expire(self, sub: BrowserSubscription) -> None:
        with self.lock:
            self.expired.add(sub.id)

    def delivered_to(self, sub: BrowserSubscription) -> list[dict]:
        with self.lock:
            return [m for (sid, _t), m in self.pending.items() if sid == sub.id]

    def handle(self, request: HttpRequest):
        match = re.fullmatch(r"/push/(?P<id>[\w-]+)", request.path)
        if request.method != "POST" or not match:
            return 404, autopush_error(404, 102, "Not found"), {}
        sub_id = match.group("id")
        with self.lock:
            known, expired = sub_id in self.subscriptions, sub_id in self.expired
        if expired:
            return 410, autopush_error(410, 106, "Subscription has expired"), {}
        if not known:
            return 404, autopush_error(404, 102, "Subscription not found"), {}
        problem = self._check_vapid(request)
        if problem:
            return problem
        if "Ttl" not in request.headers:
            return 400, autopush_error(400, 111, "Missing TTL header"), {}
        if request.body:
            if request.headers.get("Content-Encoding") != "aes128gcm":
                return 400, autopush_error(400, 110, "Unknown Content-Encoding"), {}
            if len(request.body) > self.MAX_BODY:
                return 413, autopush_error(413, 104, "Payload too large"), {}
        topic = request.headers.get("Topic", "")
        if topic and not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", topic):
            return 400, autopush_error(400, 110, "Invalid Topic header"), {}
        message_id = secrets.token_urlsafe(16)
        record = {
            "id": message_id,
            "subscription": sub_id,
            "headers": request.headers,
            "body": request.body,
            "ttl": int(request.headers["Ttl"]),
            "topic": topic,
            "urgency": request.headers.get("Urgency", "normal"),
        }
        with self.lock:
            self.accepted.append(record)
            self.pending[(sub_id, topic or message_id)] = record
        return 201, None, {"Location": f"{self.url}/m/{message_id}", "TTL": str(record["ttl"])}

    def _check_vapid(self, request: HttpRequest):
        header = request.headers.get("Authorization", "")
        found = re.fullmatch(r"vapid t=(?P<t>[\w.-]+),\s*k=(?P<k>[\w-]+)", header)
        if not found:
            return 401, autopush_error(401, 109, "Missing or malformed VAPID header"), {}
        token, key = found.group("t"), found.group("k")
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), b64url_decode(key)
            )
            signing_input, _dot, signature = token.rpartition(".")
            raw = b64url_decode(signature)
            if len(raw) != 64:
                raise ValueError("ES256 signatures are 64 bytes")
            public.verify(
                encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:])),
                signing_input.encode(),
                ec.ECDSA(hashes.SHA256()),
            )
            head, claims = (json.loads(b64url_decode(p)) for p in signing_input.split("."))
        except (ValueError, InvalidSignature):
            return 401, autopush_error(401, 109, "Invalid VAPID signature"), {}
        now = time.time()
        if head.get("alg") != "ES256":
            return 401, autopush_error(401, 109, "VAPID must be ES256"), {}
        if claims.get("aud") != self.url:
            return 403, autopush_error(403, 109, "VAPID aud is not this push service"), {}
        if not now < float(claims.get("exp", 0)) <= now + 24 * 3600:
            return 403, autopush_error(403, 109, "VAPID exp out of range"), {}
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return 403, autopush_error(403, 109, "VAPID sub must be mailto: or https:"), {}
        with self.lock:
            self.vapid_keys.add(key)
        return None


# --- signal-cli-rest-api ------------------------------------------------------------------------


class SignalApiStub(HttpStub):
    def __init__(self, number: str = "+12135550999") -> None:
        super().__init__()
        self.number = number  # the account registered in signal-cli
        self.unregistered: set[str] = set()  # recipients without a Signal account
        self.messages: list[dict] = []

    def handle(self, request: HttpRequest):
        if request.method == "GET" and request.path == "/v1/about":
            return 200, {"versions": ["v1", "v2"], "build": 2, "mode": "json-rpc"}, {}
        if request.method != "POST" or request.path != "/v2/send":
            return 404, {"error": "404 page not found"}, {}
        try:
            data = request.json()
            recipients, number = list(data["recipients"]), str(data["number"])
            text = str(data.get("message", ""))
        except (ValueError, KeyError, TypeError):
            return 400, {"error": "Couldn't process request - invalid request"}, {}
        if not recipients:
            return (
                400,
                {"error": "Couldn't process request - please provide at least one recipient"},
                {},
            )
        if not number:
            return 400, {"error": "Couldn't process request - please provide a valid number"}, {}
        if number != self.number:
            return 400, {"error": f"User {number} is not registered."}, {}
        missing = [r for r in recipients if r in self.unregistered]
        if missing:
            lines = "\n".join(f'{r}: Unregistered user "{r}"' for r in missing)
            return 400, {"error": f"Failed to send message to some recipients:\n{lines}"}, {}
        timestamp = str(int(time.time() * 1000) + len(self.messages))
        with self.lock:
            self.messages.append(
                {"timestamp": timestamp, "number": number, "recipients": recipients, "text": text}
            )
        return 201, {"timestamp": timestamp}, {}


# --- SMS Gateway for Android (local server) -------------------------------------------------------


class AndroidGatewayStub(HttpStub):
    def __init__(self, username: str = "sms", password: str | None = None) -> None:
        super().__init__()
        self.username = username
        self.password = password or secrets.token_urlsafe(8)
        self.device_id = secrets.token_hex(10)
        self.messages: dict[str, dict] = {}  # by id, each accepted once

    def handle(self, request: HttpRequest):
        if request.path not in ("/message", "/messages") or request.method != "POST":
            return 404, None, {}
        if not self._authorized(request):
            return 401, None, {"WWW-Authenticate": 'Basic realm="Access to SMS Gateway"'}
        try:
            data = request.json()
        except ValueError:
            return 400, {"message": "Failed to convert request body"}, {}
        texts = [k for k in ("message", "textMessage", "dataMessage") if data.get(k) is not None]
        if len(texts) != 1:
            return (
                400,
                {"message": "Must specify exactly one of: textMessage, dataMessage, or message"},
                {},
            )
        if not data.get("message") and not (data.get("textMessage") or {}).get("text"):
            return 400, {"message": "Text message is empty"}, {}
        phones = data.get("phoneNumbers") or []
        if not phones:
            return 400, {"message": "phoneNumbers is empty"}, {}
        if "ttl" in data and "validUntil" in data:
            return 400, {"message": "fields conflict: ttl and validUntil"}, {}
        if "ttl" in data and int(data["ttl"]) <= 0:
            return 400, {"message": "message already expired"}, {}
        # Numbers are checked on the phone when it sends (a bad one ends "Failed", reported by
        # webhook), not here: the app queues whatever it is given.
        message_id = data.get("id") or secrets.token_urlsafe(16)
        with self.lock:
            if message_id in self.messages:
                # The app's ConflictException, answered by its catch-all status page.
                return 500, {"message": "Message with the same ID already exists"}, {}
            now = datetime.now(UTC).isoformat()
            self.messages[message_id] = {
                "id": message_id,
                "message": data.get("message"),
                "phoneNumbers": phones,
                "ttl": data.get("ttl"),
            }
        return (
            202,
            {
                "id": message_id,
                "deviceId": self.device_id,
                "state": "Pending",
                "isHashed": False,
                "isEncrypted": False,
                "recipients": [
                    {"phoneNumber": p, "state": "Pending", "error": None} for p in phones
                ],
                "states": {"Pending": now},
            },
            {},
        )

    def _authorized(self, request: HttpRequest) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == (self.username, self.password)

    def webhook(
        self,
        event: str,
        message_id: str,
        *,
        key: str,
        reason: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A delivery receipt as the app posts it: (raw body, headers), signed with ``key``.

        Body per the app's webhook docs (``deviceId``, ``event``, event ``id``, ``payload``
        with ``messageId``, ``phoneNumber``, ``simNumber`` and the event's time, ``reason``
        for ``sms:failed``, ``webhookId``); ``X-Signature`` is the hex HMAC-SHA256 of the raw
        body followed by ``X-Timestamp`` (Unix seconds).
        """
        import hashlib
        import hmac

        sent = self.messages.get(message_id, {})
        when = datetime.now(UTC).astimezone().isoformat(timespec="milliseconds")
        payload: dict = {
            "messageId": message_id,
            "phoneNumber": (sent.get("phoneNumbers") or ["+13235550100"])[0],
            "simNumber": None,
        }
        payload[{"sms:sent": "sentAt", "sms:delivered": "deliveredAt"}.get(event, "failedAt")] = (
            when
        )
        if reason is not None:
            payload["reason"] = reason
        body = json.dumps(
            {
                "deviceId": self.device_id,
                "event": event,
                "id": secrets.token_urlsafe(15),
                "payload": payload,
                "webhookId": "vecinos-" + event.split(":")[-1],
            },
            separators=(",", ":"),
        ).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
        return body, {
            "Content-Type": "application/json",
            "X-Signature": signature,
            "X-Timestamp": stamp,
        }


# --- SMTP -----------------------------------------------------------------------------------------


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: Message


class SmtpStub:
    """aiosmtpd on 127.0.0.1: records accepted mail; ``refuse(address, code)`` refuses RCPT.

    With ``tls_context`` it offers STARTTLS and requires it; with ``login=(user, password)``
    it requires AUTH (after STARTTLS when TLS is on)."""

    def __init__(self, *, tls_context=None, login: tuple[str, str] | None = None) -> None:
        self.mails: list[Mail] = []
        self.refusals: dict[str, tuple[int, str]] = {}
        self.sessions = 0
        self.tls_context = tls_context
        self.login = login
        self.authenticated: list[str] = []
        self._controller = None

    def refuse(self, address: str, code: int = 550, text: str = "5.1.1 No such user") -> None:
        self.refusals[address.lower()] = (code, text)

    def start(self) -> SmtpStub:
        import logging

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        stub = self

        class Handler:
            async def handle_EHLO(self, server, session, envelope, hostname, responses):
                stub.sessions += 1
                session.host_name = hostname
                return responses

            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                refusal = stub.refusals.get(address.lower())
                if refusal:
                    return f"{refusal[0]} {refusal[1]}"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                stub.mails.append(
                    Mail(
                        envelope.mail_from,
                        list(envelope.rcpt_tos),
                        message_from_bytes(envelope.original_content, policy=default_policy),
                    )
                )
                return "250 Message accepted for delivery"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login.decode(), auth_data.password.decode()) == stub.login
            if ok:
                stub.authenticated.append(auth_data.login.decode())
            return AuthResult(success=ok, handled=False)

        class FreePortController(Controller):
            # aiosmtpd connects to its own port to check it is up; with port 0 it must first
            # learn which port the system chose.
            def _trigger_server(self):
                self.port = self.server.sockets[0].getsockname()[1]
                super()._trigger_server()

        options: dict = {}
        if self.tls_context is not None:
            options.update(tls_context=self.tls_context, require_starttls=True)
        if self.login is not None:
            options.update(
                authenticator=authenticator,
                auth_required=True,
                auth_require_tls=self.tls_context is not None,
            )
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP command
        self._controller = FreePortController(Handler(), hostname="127.0.0.1", port=0, **options)
        self._controller.start()
        return self

    @property
    def port(self) -> int:
        assert self._controller is not None
        return self._controller.port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def self_signed_certificate(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 (cert path, key path): point SSL_CERT_FILE at the cert and
    clients that verify against the default store trust it."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = f"{directory}/cert.pem", f"{directory}/key.pem"
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


# --- helpers --------------------------------------------------------------------------------------


def enqueue(channel: str, address: str, key: str, *, body: str = "Hola vecinos", **kw):
    """One delivery through the real messaging service, as alerts and reports create them."""
    from vecinos.messaging import services
    from vecinos.messaging.models import Delivery

    contact = services.contact_point(channel=channel, address=address)
    services.deliveries_enqueue(
        [
            services.DeliverySpec(
                purpose="test", contact=contact, body=body, language="es", key=key, **kw
            )
        ]
    )
    return Delivery.objects.get(idempotency_key=key)


def retry_now(delivery) -> None:
    from django.utils import timezone

    from vecinos.messaging.models import Delivery

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def settings_with_env(env: dict[str, str], tmp_path) -> dict:
    """settings.TRANSPORTS as a process started with these variables would compute it."""
    import subprocess
    import sys

    code = "import json, vecinos.settings as s; print(json.dumps(s.TRANSPORTS))"
    full = {
        k: v for k, v in os.environ.items() if not k.startswith("VECINOS_") or k in ("VECINOS_ENV",)
    }
    full.update(VECINOS_DATA_DIR=str(tmp_path), **env)
    done = subprocess.run(
        [sys.executable, "-c", code], env=full, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def push_service():
    stub = PushServiceStub().start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def signal_api():
    stub = SignalApiStub().start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def android_gateway():
    stub = AndroidGatewayStub().start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def smtp_server():
    stub = SmtpStub().start()
    try:
        yield stub
    finally:
        stub.stop()
