"""Signed links are credentials: a request with one that fails (CSRF, 403, 404, 410) must not
write the token into the server log; ordinary 403s carry no traceback; gunicorn's error log
names no client address."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import migrated_data_dir
from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, Tier
from vecinos.core.logs import redact
from vecinos.transports import registry


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def ack_link(personas) -> tuple[str, str]:
    for member in (personas.dispatcher, personas.verifier):
        services.ensure_member_subscriber(member)
    alert = services.alert_send(
        alert=services.alert_create(
            actor=personas.dispatcher,
            kind=Alert.Kind.ACTIVATION,
            tiers=[Tier.INTERNAL],
            messages={"es": "Activación de prueba."},
        ),
        actor=personas.dispatcher,
    )
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=personas.verifier)
    token = services.ack_token(recipient.pk)
    return token, reverse("alert_ack", args=[token])


@pytest.mark.django_db
def test_csrf_failure_on_an_ack_link_does_not_log_the_token(personas, caplog):
    token, url = ack_link(personas)
    caplog.set_level(logging.INFO)
    response = Client(enforce_csrf_checks=True).post(url, {"via": "link"})
    assert response.status_code == 403
    assert caplog.records, "the CSRF failure is still logged"
    assert "Forbidden (CSRF" in caplog.text
    assert token not in caplog.text
    assert token.split(":")[0] not in caplog.text
    assert "[redacted]" in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/v/{t}/",
        "/v/{t}/outcome/",
        "/join/{t}/",
        "/patrols/cal/{t}.ics",
        "/a/{t}/",
    ],
)
def test_failed_signed_link_requests_do_not_log_the_token(client, caplog, path):
    token = "eyJyIjo0Mn0:1vQx7Z:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abc"
    caplog.set_level(logging.INFO)
    client.post(path.format(t=token), {"x": "1"})
    client.get(path.format(t=token))
    assert token not in caplog.text
    assert "AbCdEfGhIjKlMnOpQrStUvWxYz" not in caplog.text


@pytest.mark.django_db
def test_an_ordinary_403_is_logged_without_a_traceback(client, login, personas, caplog):
    login(personas.newcomer)
    caplog.set_level(logging.INFO)
    assert client.get(reverse("console")).status_code == 403
    forbidden = [r for r in caplog.records if r.name == "django.request"]
    assert forbidden and all(r.exc_info is None for r in forbidden)
    assert "Traceback" not in caplog.text


def test_redaction_keeps_ordinary_text():
    assert redact("Not Found: /rumors/") == "Not Found: /rumors/"
    assert redact("sent 3 messages at 18:17:53") == "sent 3 messages at 18:17:53"
    assert "10.1.2.3" not in redact("Invalid request from ip=10.1.2.3: Invalid HTTP method")
    assert redact("Invalid request from ip=::1: bad") == "Invalid request: bad"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_under_vecinos_serve_logs_no_client_address(tmp_path, migrated_data_template):
    port = free_port()
    env = {
        **os.environ,
        "VECINOS_ENV": "development",
        "VECINOS_DATA_DIR": str(migrated_data_dir(migrated_data_template, tmp_path / "data")),
        "VECINOS_PORT": str(port),
        "VECINOS_TASKS_IMMEDIATE": "false",
    }
    env.pop("VECINOS_DATABASE_URL", None)
    env.pop("VECINOS_REDIS_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vecinos.cli",
            "serve",
            "--no-demo",
            "--web-workers",
            "1",
            "--threads",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240  # a wait, not a speed check: CI runs two suites at once
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
            assert proc.poll() is None, proc.stdout.read()
        else:
            pytest.fail("server did not answer /healthz within 240 s")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"GARBAGE / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
            raw.recv(1024)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    invalid = [line for line in output.splitlines() if "Invalid request" in line]
    assert invalid, output
    assert all("127.0.0.1" not in line and "ip=" not in line for line in invalid), invalid


def test_redaction_keeps_iso_times_and_removes_signed_values():
    assert redact("eta 2026-12-03T10:49:39.850-08:00") == "eta 2026-12-03T10:49:39.850-08:00"
    signed = "eyJ2ciI6N30:1vQx7Z:Q2hhbGVjb3N2ZXJkZXNjb25sYXBhbGFicmE"
    assert signed not in redact(f"Forbidden: /x?t={signed}")
