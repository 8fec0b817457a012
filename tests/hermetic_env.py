"""A hermetic suite: the caller's VECINOS_* settings never reach the tests.

An operator's shell carries VECINOS_PUBLIC_URL, VECINOS_SMS_TRANSPORT, a production
VECINOS_ENV...; the suite must give the same answers there as in CI. Django reads its settings
while pytest-django starts, before any conftest.py is imported, so this runs as a plugin
(`-p tests.hermetic_env` in pyproject's addopts), imported while pytest parses its arguments.

Kept: the variables with which the README and .ci/run choose where the tests run.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

KEPT = frozenset(
    {
        "VECINOS_DATABASE_URL",  # PostgreSQL instead of SQLite (.ci/run, README)
        "VECINOS_REDIS_URL",  # Huey on Redis instead of the SQLite queue
        "VECINOS_DATA_DIR",  # each run's own data directory
        "VECINOS_REQUIRE_BROWSER",  # CI: a missing Chromium fails instead of skipping
        "VECINOS_CHROMIUM",  # where the system Chromium is, if not /usr/bin/chromium
    }
)


def scrub(environ: os._Environ[str] | dict[str, str]) -> list[str]:
    """Drop every VECINOS_* variable but the kept ones; return the names dropped."""
    dropped = sorted(k for k in environ if k.startswith("VECINOS_") and k not in KEPT)
    for name in dropped:
        del environ[name]
    environ["VECINOS_ENV"] = "test"
    # Tests keep their own data directory so they never touch ./var.
    environ.setdefault("VECINOS_DATA_DIR", str(ROOT / "var" / "test"))
    return dropped


DROPPED = scrub(os.environ)
