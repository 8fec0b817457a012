"""Production mode: HSTS, a documented proxy TLS header, secrets with real variety, and no
fictional demo in a production database."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.core.test_cli import _production_env, run_cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_one_repeated_character_is_not_a_secret_key(tmp_path):
    result = run_cli("check", env=_production_env(tmp_path, VECINOS_SECRET_KEY="a" * 60))
    assert result.returncode == 1
    assert "vecinos.E001" in result.stderr


def test_field_key_of_all_equal_bytes_is_refused(tmp_path):
    zeros = "A" * 43 + "="  # 32 zero bytes in urlsafe base64
    env = _production_env(tmp_path, VECINOS_FIELD_KEY=zeros, VECINOS_FIELD_KEY_FILE="")
    result = run_cli("check", env=env)
    assert result.returncode == 1
    assert "vecinos.E006" in result.stderr


def settings_value(env: dict, expression: str) -> str:
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'vecinos.settings');"
        f"django.setup(); from django.conf import settings; print({expression})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_production_sends_hsts_and_honours_the_documented_proxy_header(tmp_path):
    env = _production_env(tmp_path, VECINOS_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert settings_value(env, "settings.SECURE_HSTS_SECONDS") == "31536000"
    assert settings_value(env, "settings.SECURE_PROXY_SSL_HEADER") == (
        "('HTTP_X_FORWARDED_PROTO', 'https')"
    )
    dev = {"VECINOS_ENV": "development", "VECINOS_DATA_DIR": str(tmp_path / "dev")}
    assert settings_value(dev, "settings.SECURE_HSTS_SECONDS") == "0"
    bad = run_cli("check", env={**env, "VECINOS_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"})
    assert bad.returncode == 2 and "VECINOS_PROXY_SSL_HEADER" in bad.stderr


@pytest.mark.django_db
def test_hsts_header_on_https_through_the_proxy(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    through_tls = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert through_tls["Strict-Transport-Security"] == "max-age=31536000"
    plain = client.get("/healthz")
    assert "Strict-Transport-Security" not in plain


def test_serve_never_loads_the_demo_into_a_production_database(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        **_production_env(tmp_path, VECINOS_PORT=str(port), VECINOS_TASKS_IMMEDIATE="false"),
    }
    env.pop("VECINOS_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vecinos.cli", "serve", "--web-workers", "1", "--threads", "2"],
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
        db = sqlite3.connect(Path(tmp_path / "data" / "vecinos.sqlite3"))
        assert db.execute("select count(*) from network_organization").fetchone()[0] == 0
        assert db.execute("select count(*) from network_member").fetchone()[0] == 0
        assert not (tmp_path / "data" / "demo-credentials.json").exists()
    finally:
        proc.send_signal(2)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    refused = run_cli("demo", env=_production_env(tmp_path))
    assert refused.returncode == 1 and "never loaded in production" in refused.stderr


def test_an_sqlite_too_old_for_the_claims_is_refused_by_name(monkeypatch):
    # The senders claim with UPDATE ... RETURNING: an older SQLite would fail at the first
    # alert, so the check refuses to start instead, and says what to do.
    from django.db import connection

    from vecinos.core import checks

    assert checks.sqlite_version(None) == []  # this machine's SQLite
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    errors = checks.sqlite_version(None)
    if connection.vendor != "sqlite":
        assert errors == []  # on PostgreSQL the SQLite library is not used
        return
    assert [e.id for e in errors] == ["vecinos.E007"]
    assert "3.31.1" in errors[0].msg and "3.35.0" in errors[0].msg
