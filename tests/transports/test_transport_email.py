"""The SMTP email transport against a local aiosmtpd server (real SMTP on 127.0.0.1)."""

from __future__ import annotations

import socket
import ssl
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.stubs_providers import (  # noqa: F401
    SmtpStub,
    enqueue,
    retry_now,
    self_signed_certificate,
    settings_with_env,
    smtp_server,
)
from vecinos.messaging import services, worker
from vecinos.messaging.models import ContactPoint, DeliveryStatus
from vecinos.transports import registry
from vecinos.transports.base import OutboundMessage, TransportError
from vecinos.transports.email import transport as email_transport
from vecinos.transports.email.transport import SmtpEmailTransport, message_id

PATH = "vecinos.transports.email.transport.SmtpEmailTransport"

pytestmark = pytest.mark.django_db


def configure(settings, server: SmtpStub, **extra) -> None:
    settings.TRANSPORTS = {"email": {"path": PATH}}
    settings.SMTP_HOST = "127.0.0.1"
    settings.SMTP_PORT = server.port
    settings.SMTP_USER = ""
    settings.SMTP_PASSWORD = ""
    settings.SMTP_STARTTLS = False
    settings.SMTP_SSL = False
    settings.SMTP_TIMEOUT = 2
    settings.EMAIL_FROM = "Vecinos <alertas@vecinos.test>"
    for name, value in extra.items():
        setattr(settings, name, value)
    registry.reset()
    email_transport.reset()


@pytest.fixture
def smtp(smtp_server, settings, monkeypatch):  # noqa: F811
    configure(settings, smtp_server)
    # Rate limiters are per process and per channel; each test starts with its own.
    monkeypatch.setattr(worker, "_limiters", {})
    yield smtp_server
    email_transport.reset()
    registry.reset()


def message(**kw) -> OutboundMessage:
    defaults = {
        "channel": "email",
        "address": "ana@example.org",
        "body": "Alerta: retén en la calle 5.\nResponde 1 para confirmar.",
        "language": "es",
        "idempotency_key": "alert:1:email",
    }
    return OutboundMessage(**{**defaults, **kw})


def test_an_email_delivery_is_sent_over_smtp(smtp):
    delivery = enqueue(
        "email",
        "ana@example.org",
        "alert:1:r:1:email",
        body="Alerta: retén en la calle 5.\nConfirma aquí: http://testserver/a/abc/",
        subject="Alerta Vecinos",
        expires_at=timezone.now() + timedelta(hours=4),
    )
    assert services.dispatch()["sent"] == 1
    delivery.refresh_from_db()
    [mail] = smtp.mails
    assert delivery.status == DeliveryStatus.SENT
    assert mail.mail_from == "alertas@vecinos.test" and mail.rcpt_tos == ["ana@example.org"]
    headers = mail.message
    assert headers["To"] == "ana@example.org"
    assert headers["From"] == "Vecinos <alertas@vecinos.test>"
    assert headers["Subject"] == "Alerta Vecinos"
    assert headers["Content-Language"] == "es"
    assert headers["Auto-Submitted"] == "auto-generated"
    assert headers["Message-ID"] == message_id("alert:1:r:1:email", "vecinos.test")
    assert delivery.provider_id == headers["Message-ID"].strip("<>")
    assert "retén en la calle 5" in headers.get_content()


def test_a_resent_email_carries_the_same_message_id(smtp):
    # SMTP has no idempotency key: the Message-ID is what lets a mail store fold a re-send.
    SmtpEmailTransport().send(message())
    SmtpEmailTransport().send(message())
    SmtpEmailTransport().send(message(idempotency_key="alert:2:email"))
    ids = [m.message["Message-ID"] for m in smtp.mails]
    assert ids[0] == ids[1] != ids[2]


def test_without_a_subject_the_first_line_is_used_and_cut(smtp):
    SmtpEmailTransport().send(message(body="x" * 200 + "\nsecond line"))
    subject = smtp.mails[0].message["Subject"]
    assert len(subject) <= 78 and subject.startswith("xxx") and subject.endswith("…")


def test_a_refused_mailbox_stops_and_marks_the_contact_unusable(smtp):
    smtp.refuse("nadie@example.org", 550, "5.1.1 No such user here")
    delivery = enqueue("email", "nadie@example.org", "refused")
    assert services.dispatch()["failed"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "550" in delivery.last_error
    contact = ContactPoint.objects.get(pk=delivery.contact_id)
    assert not contact.usable and contact.unusable_reason == "smtp-550"
    assert smtp.mails == []


@pytest.mark.parametrize("code", [550, 551, 553])
def test_recipient_refusals_that_never_change_are_permanent(smtp, code):
    smtp.refuse("ana@example.org", code)
    with pytest.raises(TransportError) as caught:
        SmtpEmailTransport().send(message())
    assert caught.value.permanent and caught.value.code == f"smtp-{code}"


@pytest.mark.parametrize("code", [421, 450, 451, 452, 552, 554])
def test_other_refusals_are_transient(smtp, code):
    smtp.refuse("ana@example.org", code, "try again later")
    with pytest.raises(TransportError) as caught:
        SmtpEmailTransport().send(message())
    assert not caught.value.permanent


def test_a_greylisted_recipient_is_retried_and_then_delivered(smtp):
    smtp.refuse("ana@example.org", 450, "4.2.0 Greylisted, come back later")
    delivery = enqueue("email", "ana@example.org", "grey")
    assert services.dispatch()["retry"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED and "450" in delivery.last_error
    assert ContactPoint.objects.get(pk=delivery.contact_id).usable

    smtp.refusals.clear()
    retry_now(delivery)
    assert services.dispatch()["sent"] == 1
    assert len(smtp.mails) == 1


def test_an_invalid_address_is_permanent_and_never_reaches_the_server(smtp):
    with pytest.raises(TransportError) as caught:
        SmtpEmailTransport().send(message(address="not an address"))
    assert caught.value.permanent and caught.value.code == "bad-address"
    assert smtp.sessions == 0


def test_an_unreachable_server_is_transient(smtp, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        settings.SMTP_PORT = sock.getsockname()[1]
    delivery = enqueue("email", "ana@example.org", "down")
    assert services.dispatch()["retry"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED and "unreachable" in delivery.last_error
    assert ContactPoint.objects.get(pk=delivery.contact_id).usable


def test_missing_configuration_is_transient(smtp, settings):
    settings.SMTP_HOST = ""
    with pytest.raises(TransportError) as caught:
        SmtpEmailTransport().send(message())
    assert not caught.value.permanent and caught.value.code == "config"


def test_one_smtp_session_carries_many_mails(smtp):
    for n in range(4):
        SmtpEmailTransport().send(message(idempotency_key=f"k-{n}"))
    assert len(smtp.mails) == 4 and smtp.sessions == 1


def test_a_session_the_server_dropped_is_replaced(smtp, monkeypatch):
    SmtpEmailTransport().send(message(idempotency_key="before"))
    monkeypatch.setattr(email_transport, "IDLE_CHECK_SECONDS", 0.0)
    [(conn, _since, _conf)] = email_transport._pool.idle
    conn.sock.shutdown(socket.SHUT_RDWR)  # as if the server had timed the idle session out
    SmtpEmailTransport().send(message(idempotency_key="after"))
    assert len(smtp.mails) == 2 and smtp.sessions == 2


@pytest.fixture
def tls_smtp(settings, monkeypatch, tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # The client verifies the server against the default trust store: make ours trusted.
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    server = SmtpStub(tls_context=context, login=("vecinos", "s3cret")).start()
    configure(settings, server, SMTP_STARTTLS=True, SMTP_USER="vecinos", SMTP_PASSWORD="s3cret")
    monkeypatch.setattr(worker, "_limiters", {})
    yield server
    email_transport.reset()
    server.stop()


def test_starttls_and_login_are_used_when_configured(tls_smtp):
    delivery = enqueue("email", "ana@example.org", "tls")
    assert services.dispatch()["sent"] == 1
    assert len(tls_smtp.mails) == 1 and tls_smtp.authenticated == ["vecinos"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_a_wrong_password_is_transient_and_marks_no_contact(tls_smtp, settings):
    settings.SMTP_PASSWORD = "wrong"
    delivery = enqueue("email", "ana@example.org", "bad-login")
    assert services.dispatch()["retry"] == 1
    delivery.refresh_from_db()
    assert "535" in delivery.last_error
    assert ContactPoint.objects.get(pk=delivery.contact_id).usable
    assert tls_smtp.mails == []


def test_without_starttls_a_server_that_requires_it_refuses_transiently(tls_smtp, settings):
    settings.SMTP_STARTTLS = False
    with pytest.raises(TransportError) as caught:
        SmtpEmailTransport().send(message())
    assert not caught.value.permanent and tls_smtp.mails == []


def test_starttls_asked_of_a_server_without_it_is_a_configuration_error(smtp, settings):
    settings.SMTP_STARTTLS = True
    with pytest.raises(TransportError) as caught:
        SmtpEmailTransport().send(message())
    assert not caught.value.permanent and caught.value.code == "config"


def test_the_rate_limit_spaces_sends(smtp, settings):
    settings.TRANSPORTS = {"email": {"path": PATH, "rate": 10}}
    registry.reset()
    for n in range(5):
        enqueue("email", f"vecino{n}@example.org", f"rate-{n}")
    started = time.monotonic()
    assert services.dispatch()["sent"] == 5
    assert time.monotonic() - started >= 0.4
    assert registry.get_transport("email").rate_limit == 10


def test_settings_choose_smtp_only_when_asked(tmp_path):
    assert settings_with_env({}, tmp_path)["email"]["path"].endswith("ConsoleTransport")
    chosen = settings_with_env({"VECINOS_EMAIL_TRANSPORT": "smtp"}, tmp_path)
    assert chosen["email"]["path"] == PATH
