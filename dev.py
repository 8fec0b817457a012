#!/usr/bin/env python3
"""Set up everything and run Vecinos or its tests, on a machine that has only Python 3.11+.

    python3 dev.py serve    # create .venv, install pinned deps, migrate, demo data, web + worker
    python3 dev.py test     # create .venv, install pinned deps (with test tools), run the suite

Extra arguments after `test` go to pytest; after `serve`, to `vecinos serve`.
The environment is reinstalled only when a lock file changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("VECINOS_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def ensure_env(lock: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit("Vecinos needs Python 3.11 or newer.")
    if not PY.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    lock_path = ROOT / lock
    digest = hashlib.sha256(
        lock_path.read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()[:16]
    stamp = VENV / f".installed-{lock_path.stem}-{digest}"
    if stamp.exists():
        return
    print(f"Installing pinned dependencies from {lock} ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-r", str(lock_path)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    for old in VENV.glob(f".installed-{lock_path.stem}-*"):
        old.unlink()
    stamp.touch()


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "test"):
        print(__doc__)
        return 2
    what, extra = sys.argv[1], sys.argv[2:]
    os.chdir(ROOT)
    if what == "serve":
        ensure_env("requirements.lock")
        os.execv(str(BIN / "vecinos"), [str(BIN / "vecinos"), "serve", *extra])
    ensure_env("requirements-dev.lock")
    env = dict(os.environ, VECINOS_ENV="test")
    # Tests keep their own data directory so they never touch ./var.
    env.setdefault("VECINOS_DATA_DIR", str(ROOT / "var" / "test"))
    return subprocess.call([str(PY), "-m", "pytest", *extra], env=env)


if __name__ == "__main__":
    sys.exit(main())
