"""Commands run before the database exists say so, instead of a traceback and a stray ./var/."""

from __future__ import annotations

import os
import subprocess
import sys


def _run(cwd, *args: str, **env: str):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VECINOS_")}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "vecinos.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**clean, **env},
    )


def test_token_create_without_a_data_directory_is_a_clear_message(tmp_path):
    result = _run(tmp_path, "token", "create", "someone", "--name", "x")
    assert result.returncode == 2
    assert "No data directory at" in result.stderr and "vecinos migrate" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()


def test_commands_with_an_empty_data_directory_name_the_missing_database(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for args in (("token", "list", "someone"), ("purge", "--personal-data", "--yes")):
        result = _run(tmp_path, *args, VECINOS_DATA_DIR=str(data))
        assert result.returncode == 2, result.stderr
        assert "No database in" in result.stderr and "Traceback" not in result.stderr
    assert list(data.iterdir()) == []


def test_a_database_without_tables_is_a_clear_message(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "vecinos.sqlite3").write_bytes(b"")
    result = _run(tmp_path, "token", "create", "someone", "--name", "x", VECINOS_DATA_DIR=str(data))
    assert result.returncode == 2, result.stderr
    assert "The database cannot be used" in result.stderr and "Traceback" not in result.stderr
