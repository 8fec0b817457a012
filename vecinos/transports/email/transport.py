"""Email over SMTP (smtplib), STARTTLS or implicit TLS optional.

Settings (read at send time, so tests and operators can change them without a restart):
SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS, SMTP_SSL, SMTP_TIMEOUT,
EMAIL_FROM, EMAIL_RATE.

Error mapping: a recipient the server refuses for good (550 no such mailbox, 551 not local,
553 mailbox name not allowed) is permanent and marks the contact point unusable. Every other
answer is transient: 4xx means "try later" by definition, and a 5xx on the sender, on the
message or on our login is our configuration or content, never the recipient's fault, so it
must not mark thousands of addresses unusable (it is logged, and retried until the attempts
run out). Refused connections, timeouts and dropped connections are transient.

SMTP has no idempotency key. The Message-ID is derived from the delivery's key, so a re-send
after a lost reply carries the same Message-ID: mail stores and clients that de-duplicate on
it show one message, and anyone reading the headers can see it is the same delivery.

Connections are pooled per process: a fan-out sends thousands of mails through a handful of
SMTP sessions instead of one TCP + TLS + AUTH handshake each.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
import threading
import time
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from vecinos.transports.base import OutboundMessage, SendResult, Transport, TransportError

log = logging.getLogger(__name__)

# Recipient refusals that mean "this address will never take mail from anyone".
PERMANENT_RCPT_CODES = {550, 551, 553}
DEFAULT_TIMEOUT = 10.0
IDLE_CHECK_SECONDS = 5.0  # a connection idle longer than this is checked with NOOP first
IDLE_MAX_SECONDS = 60.0  # ... and one idle longer than this is closed (servers drop them)
SUBJECT_MAX = 78


def message_id(idempotency_key: str, domain: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _conf() -> tuple:
    return (
        settings.SMTP_HOST,
        int(settings.SMTP_PORT),
        settings.SMTP_USER,
        settings.SMTP_PASSWORD,
        bool(settings.SMTP_STARTTLS),
        bool(getattr(settings, "SMTP_SSL", False)),
        float(getattr(settings, "SMTP_TIMEOUT", DEFAULT_TIMEOUT)),
    )


class _Pool:
    """Idle SMTP sessions, each used by one thread at a time."""

    def __init__(self) -> None:
        self.idle: list[tuple[smtplib.SMTP, float, tuple]] = []
        self.lock = threading.Lock()

    def take(self, conf: tuple) -> smtplib.SMTP:
        while True:
            with self.lock:
                if not self.idle:
                    break
                conn, since, conn_conf = self.idle.pop()
            age = time.monotonic() - since
            if conn_conf != conf or age > IDLE_MAX_SECONDS:
                _close(conn)
                continue
            if age > IDLE_CHECK_SECONDS:
                try:
                    if conn.noop()[0] != 250:
                        raise smtplib.SMTPServerDisconnected("noop refused")
                except (smtplib.SMTPException, OSError):
                    _close(conn)
                    continue
            return conn
        return _connect(conf)

    def give_back(self, conn: smtplib.SMTP, conf: tuple) -> None:
        with self.lock:
            if len(self.idle) < max(4, settings.DELIVERY_CONCURRENCY):
                self.idle.append((conn, time.monotonic(), conf))
                return
        _close(conn)

    def clear(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for conn, _since, _conf in idle:
            _close(conn)


_pool = _Pool()


def _connect(conf: tuple) -> smtplib.SMTP:
    host, port, user, password, starttls, implicit_tls, timeout = conf
    context = ssl.create_default_context()
    conn: smtplib.SMTP
    if implicit_tls:
        conn = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        conn = smtplib.SMTP(host, port, timeout=timeout)
    try:
        conn.ehlo()
        if starttls and not implicit_tls:
            conn.starttls(context=context)
            conn.ehlo()
        if user:
            conn.login(user, password)
    except BaseException:
        _close(conn)
        raise
    return conn


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        try:
            conn.close()
        except OSError:
            pass


def build_message(message: OutboundMessage, sender: str) -> EmailMessage:
    name, address = parseaddr(sender)
    domain = address.rpartition("@")[2] or "localhost"
    mail = EmailMessage()
    mail.set_content(message.body)  # first: it drops every Content-* header already set
    mail["From"] = str(Address(display_name=name, addr_spec=address)) if name else address
    mail["To"] = message.address
    subject = message.subject
    if not subject:
        lines = message.body.strip().splitlines()
        subject = lines[0] if lines else ""
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1].rstrip() + "…"
    mail["Subject"] = subject or "Vecinos"
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message_id(message.idempotency_key, domain)
    mail["Content-Language"] = message.language or "es"
    # An alert is machine-sent: vacation responders must not answer it (RFC 3834).
    mail["Auto-Submitted"] = "auto-generated"
    return mail


class SmtpEmailTransport(Transport):
    channel = "email"
    rate_limit = 5.0  # messages/s; settings.EMAIL_RATE or TRANSPORTS["email"]["rate"] override

    def __init__(self) -> None:
        self.rate_limit = float(getattr(settings, "EMAIL_RATE", self.rate_limit))

    def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "email":
            raise TransportError(f"not an email: {message.channel}", code="config")
        try:
            validate_email(message.address)
        except ValidationError:
            raise TransportError(
                "invalid email address", permanent=True, code="bad-address"
            ) from None
        if not settings.SMTP_HOST or not settings.EMAIL_FROM:
            raise TransportError("smtp is not configured", code="config")
        mail = build_message(message, settings.EMAIL_FROM)
        envelope_from = parseaddr(settings.EMAIL_FROM)[1]
        conf = _conf()
        try:
            conn = _pool.take(conf)
        except smtplib.SMTPAuthenticationError as exc:
            log.error("smtp login refused (%s): check VECINOS_SMTP_USER/PASSWORD", exc.smtp_code)
            raise TransportError(f"smtp login refused {exc.smtp_code}", code="auth") from None
        except smtplib.SMTPNotSupportedError as exc:
            log.error("smtp server lacks %s: check VECINOS_SMTP_STARTTLS/SSL/USER", exc)
            raise TransportError(f"smtp server lacks {exc}", code="config") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(
                f"smtp unreachable: {type(exc).__name__}", code="unreachable"
            ) from None
        try:
            refused = conn.send_message(mail, from_addr=envelope_from, to_addrs=[message.address])
        except smtplib.SMTPRecipientsRefused as exc:
            _pool.give_back(conn, conf)  # the session is still good after a refused RCPT
            code, text = next(iter(exc.recipients.values()), (0, b""))
            raise _refused(code, text) from None
        except smtplib.SMTPResponseException as exc:
            # Sender refused, data refused, or the server closed on us: the session may be in
            # any state, so it is dropped.
            _close(conn)
            if exc.smtp_code >= 500:
                log.warning("smtp refused a message (%s): not retried forever", exc.smtp_code)
            raise TransportError(
                f"smtp {exc.smtp_code} {_text(exc.smtp_error)}", code=str(exc.smtp_code)
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(conn)
            raise TransportError(f"smtp failed: {type(exc).__name__}", code="unreachable") from None
        if refused:  # cannot happen with one recipient, but never report a refusal as sent
            _pool.give_back(conn, conf)
            code, text = next(iter(refused.values()))
            raise _refused(code, text)
        _pool.give_back(conn, conf)
        return SendResult(provider_id=mail["Message-ID"].strip("<>")[:64], status="sent")


def _text(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return " ".join(raw.split())[:100]


def _refused(code: int, text: bytes | str) -> TransportError:
    detail = f"smtp recipient refused {code} {_text(text)}".strip()
    return TransportError(detail, permanent=code in PERMANENT_RCPT_CODES, code=f"smtp-{code}")


def reset() -> None:
    """Close pooled sessions (tests, or after the SMTP settings change)."""
    _pool.clear()
