#!/usr/bin/env python3
"""Import benchmark: 50,000 subscriber rows from a CSV, through the command a coordinator runs.

Builds a throwaway data directory (SQLite, the embedded default; or PostgreSQL with
--postgres), migrates it, loads the demo coalition, writes a CSV of 50,000 rows (LA ZIP codes,
Spanish and English headers' worth of columns, 1% duplicate phones, 1% bad phones, 1% on the
stop list), then times `vecinos import subscribers FILE --organization <short name>` twice: the
first run imports, the second must change nothing.

    .venv/bin/python bench/imports.py [--rows 50000] [--postgres]

Ends with one line:
import: <N> rows in <T> s = <R> rows/s (<new> new); again in <T2> s (<new2> new)
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
LA_ZIPS = [
    "90001", "90002", "90003", "90011", "90012", "90013", "90015", "90017", "90019", "90022",
    "90023", "90026", "90031", "90032", "90033", "90037", "90042", "90044", "90063", "90065",
]  # fmt: skip


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PY), "-m", "vecinos.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def make_csv(path: Path, rows: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    stop: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Teléfono", "Idioma", "Código postal", "Consentimiento", "Notes"])
        for i in range(rows):
            roll = rng.random()
            if roll < 0.01 and i > 0:
                number = f"(213) 55{(i - 1) // 10000 % 10}-{(i - 1) % 10000:04d}"  # duplicate
            elif roll < 0.02:
                number = "12345"  # not a phone
            else:
                number = f"(213) 55{i // 10000 % 10}-{i % 10000:04d}"
            if 0.02 <= roll < 0.03:
                stop.append(number)
            lang = "español" if rng.random() < 0.7 else "English"
            writer.writerow([number, lang, rng.choice(LA_ZIPS), "hoja de firmas 2025", ""])
    return stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="vecinos-import-"))
    env = {**os.environ, "VECINOS_ENV": "development", "VECINOS_DATA_DIR": str(data)}
    if args.postgres:
        env["VECINOS_DATABASE_URL"] = os.environ.get(
            "VECINOS_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vecinos_bench_import"
        )
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists",
                        "vecinos_bench_import"], check=False)  # fmt: skip
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", "vecinos_bench_import"],
                       check=True)  # fmt: skip
    try:
        for step in (("migrate", "--verbosity", "0"), ("demo",)):
            done = cli(env, *step)
            if done.returncode:
                sys.exit(done.stderr)
        path = data / "subscribers.csv"
        stop = make_csv(path, args.rows)
        # The stop list: numbers that texted STOP before (a few dozen are enough to exercise it).
        stop_code = (
            "from vecinos.alerts.services import opt_out;"
            "from vecinos.network.phones import normalize_phone, phone_index;"
            f"[opt_out(index=phone_index(normalize_phone(p))) for p in {stop[:500]!r}]"
        )
        subprocess.run(
            [str(PY), "manage.py", "shell", "-c", stop_code], env=env, cwd=ROOT, check=True
        )
        org = "boyle-heights-rr"
        listing = cli(env, "import", "subscribers", str(path), "--organization", "none")
        names = re.search(r"Short names: (.*)", listing.stderr)
        if names and org not in names.group(1):
            org = names.group(1).split(", ")[0]
        times, lines = [], []
        for _ in range(2):
            start = time.perf_counter()
            done = cli(env, "import", "subscribers", str(path), "--organization", org)
            times.append(time.perf_counter() - start)
            if done.returncode:
                sys.exit(done.stderr[-2000:])
            lines.append(done.stdout.strip().splitlines()[-1])
            print(f"  {lines[-1]}  ({times[-1]:.1f} s)")
        new = [int(re.search(r"(\d+) new", line).group(1)) for line in lines]
        print(
            f"import: {args.rows} rows in {times[0]:.1f} s = {args.rows / times[0]:.0f} rows/s "
            f"({new[0]} new); again in {times[1]:.1f} s ({new[1]} new)"
        )
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
