"""The embedded database's connections: write-ahead log, and the log copied back once it holds
VECINOS_SQLITE_WAL_CHECKPOINT_MB (not SQLite's 4 MB), the file then cut back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        bool(os.environ.get("VECINOS_DATABASE_URL")), reason="the embedded database only"
    ),
]

ROOT = Path(__file__).resolve().parents[2]


def _pragmas() -> dict:
    found = {}
    with connection.cursor() as cursor:
        for name in ("journal_mode", "wal_autocheckpoint", "journal_size_limit", "page_size"):
            cursor.execute(f"PRAGMA {name}")
            found[name] = cursor.fetchone()[0]
    return found


def test_a_connection_copies_the_log_back_at_the_configured_size():
    mb = settings.SQLITE_WAL_CHECKPOINT_MB
    assert mb == 40  # the default
    assert _pragmas() == {
        "journal_mode": "wal",
        "wal_autocheckpoint": mb * 1024 * 1024 // 4096,
        "journal_size_limit": 2 * mb * 1024 * 1024,
        "page_size": 4096,
    }


def test_the_size_comes_from_the_environment(tmp_path):
    code = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "c = connection.cursor(); c.execute('PRAGMA wal_autocheckpoint')\n"
        "print(c.fetchone()[0])\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vecinos.settings",
        "VECINOS_DATA_DIR": str(tmp_path),
        "VECINOS_SQLITE_WAL_CHECKPOINT_MB": "8",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(8 * 256)
    env["VECINOS_SQLITE_WAL_CHECKPOINT_MB"] = "0"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "VECINOS_SQLITE_WAL_CHECKPOINT_MB" in out.stderr
