"""An operator's shell settings never change what the suite sees (tests/hermetic_env.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.hermetic_env import KEPT, scrub

ROOT = Path(__file__).resolve().parents[2]


def test_settings_come_from_defaults_not_the_callers_shell():
    # Run plainly this holds trivially; the test below runs it under an operator's shell.
    assert settings.PUBLIC_URL == "http://127.0.0.1:8000"
    assert settings.VECINOS_ENV == "test"
    assert settings.SMS_TRANSPORT == "console"
    leaked = [k for k in os.environ if k.startswith("VECINOS_") and k not in KEPT]
    # Set by the suite itself, not the shell: the test mode, and core.metrics' marker that this
    # process chose its metrics directory (a child with another data dir chooses its own).
    assert set(leaked) <= {"VECINOS_ENV", "VECINOS_METRICS_DIR_CHOSEN"}, leaked
    assert "VECINOS_ENV" in leaked


def test_suite_run_from_an_operators_shell_ignores_its_vecinos_settings(tmp_path):
    env = {
        **os.environ,
        "VECINOS_PUBLIC_URL": "https://example.org",
        "VECINOS_ENV": "production",
        "VECINOS_SMS_TRANSPORT": "twilio",
        "VECINOS_PORT": "9999",
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"{Path(__file__).relative_to(ROOT)}::test_settings_come_from_defaults_not_the_callers_shell",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_scrub_keeps_only_what_chooses_the_database_and_services():
    environ = {
        "VECINOS_DATABASE_URL": "postgres://x/y",
        "VECINOS_REDIS_URL": "redis://x/1",
        "VECINOS_REQUIRE_BROWSER": "1",
        "VECINOS_PUBLIC_URL": "https://example.org",
        "VECINOS_FIELD_KEY": "k",
        "PATH": "/usr/bin",
    }
    assert scrub(environ) == ["VECINOS_FIELD_KEY", "VECINOS_PUBLIC_URL"]
    assert environ["VECINOS_ENV"] == "test"
    assert environ["PATH"] == "/usr/bin"
    assert environ["VECINOS_DATABASE_URL"] == "postgres://x/y"
    assert environ["VECINOS_DATA_DIR"].endswith("var/test")
