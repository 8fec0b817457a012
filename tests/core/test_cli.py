"""The `vecinos` command, run as a person runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import migrated_data_dir
from vecinos.cli import build_parser, main
from vecinos.network.models import ApiToken

SUBCOMMANDS = [
    "serve",
    "worker",
    "migrate",
    "createadmin",
    "demo",
    "check",
    "token",
    "purge",
    "import",
]


def run_cli(*args: str, env: dict | None = None, timeout: int = 120):
    return subprocess.run(
        [sys.executable, "-m", "vecinos.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_every_subcommand_has_help(sub, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([sub, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: vecinos {sub}" in capsys.readouterr().out


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    key_file = tmp_path / "field.key"
    key_file.write_text(run_cli("genkey").stdout.strip())
    env = {
        "VECINOS_ENV": "production",
        "VECINOS_DATA_DIR": str(tmp_path / "data"),
        "VECINOS_SECRET_KEY": "k" * 10 + "A9b8C7d6E5f4G3h2I1j0K9l8M7n6O5p4Q3r2S1t0",
        "VECINOS_FIELD_KEY_FILE": str(key_file),
        "VECINOS_DATABASE_URL": "",
        "VECINOS_DEBUG": "false",
    }
    env.update(overrides)
    return env


def test_production_refuses_default_secrets_debug_and_plain_http_cookies(tmp_path):
    env = _production_env(
        tmp_path,
        VECINOS_SECRET_KEY="",
        VECINOS_FIELD_KEY_FILE="",
        VECINOS_DEBUG="true",
        VECINOS_SECURE_COOKIES="false",
    )
    result = run_cli("check", env=env)
    assert result.returncode == 1
    for check_id in ("vecinos.E001", "vecinos.E002", "vecinos.E003", "vecinos.E004"):
        assert check_id in result.stderr
    assert "VECINOS_FIELD_KEY" in result.stderr
    # serve refuses to start on the same grounds, before binding a port.
    served = run_cli("serve", "--port", "8799", "--no-demo", env=env, timeout=60)
    assert served.returncode == 1 and "vecinos.E001" in served.stderr


def test_production_with_proper_settings_passes_check(tmp_path):
    result = run_cli("check", env=_production_env(tmp_path))
    assert result.returncode == 0, result.stderr


def test_bad_environment_value_is_a_clear_error(tmp_path):
    result = run_cli("check", env={"VECINOS_DEBUG": "maybe", "VECINOS_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "VECINOS_DEBUG must be true or false" in result.stderr


@pytest.mark.django_db
def test_token_create_prints_a_working_token_once(personas, client, capsys):
    assert main(["token", "create", "dispatcher", "--name", "partner hotline"]) == 0
    secret = capsys.readouterr().out.strip()
    stored = ApiToken.objects.get(member=personas.dispatcher)
    assert stored.name == "partner hotline"
    assert secret not in stored.token_hash and len(stored.token_hash) == 64
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert response.json()["username"] == "dispatcher"


@pytest.mark.django_db
def test_token_create_for_unknown_member_fails(capsys):
    assert main(["token", "create", "nobody", "--name", "x"]) == 1
    assert "No active member" in capsys.readouterr().err


def test_emergency_purge_from_the_command_line(tmp_path, migrated_data_template):
    import sqlite3

    data = migrated_data_dir(migrated_data_template, tmp_path / "data")
    env = {"VECINOS_DATA_DIR": str(data), "VECINOS_ENV": "development"}
    env_clear = {"VECINOS_DATABASE_URL": "", "VECINOS_REDIS_URL": ""}
    assert run_cli("demo", env={**env, **env_clear}).returncode == 0
    refused = run_cli("purge", "--personal-data", env={**env, **env_clear})
    assert refused.returncode == 1 and "--yes" in refused.stderr
    done = run_cli("purge", "--personal-data", "--yes", env={**env, **env_clear})
    assert done.returncode == 0, done.stderr
    assert '"members": ' in done.stdout
    db = sqlite3.connect(data / "vecinos.sqlite3")
    assert db.execute("select count(*) from network_member").fetchone()[0] == 0
    assert db.execute("select count(*) from network_membership").fetchone()[0] == 0
    assert db.execute("select count(*) from network_organization").fetchone()[0] >= 8
    assert db.execute("select count(*) from network_zone").fetchone()[0] >= 10
    # Everything else that points at a person is gone too.
    for table in (
        "alerts_subscriber",
        "messaging_contactpoint",
        "messaging_delivery",
        "patrols_signup",
        "transports_outboxmessage",
    ):
        assert db.execute(f"select count(*) from {table}").fetchone()[0] == 0, table
    assert db.execute("select count(*) from patrols_place").fetchone()[0] > 0
    assert db.execute("select count(*) from patrols_place where notes != ''").fetchone()[0] == 0


def test_worker_refuses_to_start_in_production_with_generated_secrets(tmp_path):
    data = tmp_path / "data"
    env = {"VECINOS_DATA_DIR": str(data), "VECINOS_ENV": "development"}
    env_clean = {k: v for k, v in os.environ.items() if k != "VECINOS_DATABASE_URL"}
    migrate = subprocess.run(
        [sys.executable, "-m", "vecinos.cli", "migrate", "--verbosity", "0"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env_clean, **env},
    )
    assert migrate.returncode == 0, migrate.stderr
    # A worker skips only the URL checks: the production rules still stop it before it runs.
    result = subprocess.run(
        [sys.executable, "-m", "vecinos.cli", "worker"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env_clean, **env, "VECINOS_ENV": "production"},
    )
    assert result.returncode == 1
    assert "vecinos.E001" in result.stderr and "vecinos.E002" in result.stderr


def test_worker_checks_import_no_view():
    # The URL checks would load every view, and the PDF and font libraries behind the rights
    # pages, into a process that serves no page (tens of MB of a worker's memory).
    code = (
        "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
        "'vecinos.settings'); django.setup(); from vecinos import cli; "
        "errors = cli._worker_check_errors(); "
        "print(len(errors), 'vecinos.urls' in sys.modules, 'fpdf' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "False", "False"]
