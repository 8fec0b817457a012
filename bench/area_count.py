#!/usr/bin/env python3
"""The alert composer's live count for a drawn area among 1,000,000 subscribers: the same
selection the fan-out uses (alerts.services.select_recipients on the draft, through
maps.selectors.reach), for a drawn polygon over East Los Angeles, on the embedded default.
Seeds with bench/fanout.py's 1M-subscriber selection seed.

    .venv/bin/python bench/area_count.py [--subscribers 1000000] [--postgres] [--data-dir DIR]

Ends with:
area count: <N> of <M> in <T> ms (median of 5)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
sys.path.insert(0, str(ROOT / "bench"))

import fanout  # noqa: E402  (its seeding and helpers)

# A drawn area of about 60 km² (Boyle Heights, East LA, Lincoln Heights), as a person would
# click it: eight corners, not a regular shape.
POLYGON = [
    [34.0905, -118.2270],
    [34.0830, -118.1830],
    [34.0600, -118.1560],
    [34.0290, -118.1610],
    [34.0120, -118.1950],
    [34.0190, -118.2290],
    [34.0440, -118.2420],
    [34.0700, -118.2440],
]


def seed(n: int) -> None:
    """fanout.py's 1M selection seed; tops up a data dir an interrupted run left part-seeded."""
    fanout._django()
    from vecinos.alerts.models import Subscriber

    have = Subscriber.objects.count()
    if have >= n:
        print(json.dumps({"seeded": have}))
        return
    if have:  # a different random stream for the rest, so no place is seeded twice
        real = fanout.random.Random
        fanout.random.Random = lambda _seed: real(_seed + have)  # type: ignore[assignment,misc]
    fanout.seed_selection(n - have)


def time_count() -> None:
    fanout._django()
    from vecinos.alerts.models import Tier
    from vecinos.maps.selectors import reach

    runs = []
    result: dict = {}
    for _ in range(5):
        t0 = time.perf_counter()
        result = reach(tiers=[Tier.PUBLIC, Tier.MEMBERS], polygon=POLYGON)
        runs.append((time.perf_counter() - t0) * 1000)
    runs.sort()
    # The area step alone (what bench/fanout.py's "selection" line times for a circle).
    from vecinos.alerts.services import subscribers_in_polygon

    area_runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        subscribers_in_polygon(ring=POLYGON)
        area_runs.append((time.perf_counter() - t0) * 1000)
    area_runs.sort()
    print(
        json.dumps(
            {
                "median_ms": runs[len(runs) // 2],
                "area_ms": area_runs[2],
                "result": result,
                "runs": runs,
            }
        )
    )


def run(label: str, extra_env: dict, n: int, data_dir: str = "") -> str:
    data = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="vecinos-area-"))
    seeded = (data / "seeded").exists()
    env = {
        **os.environ,
        "VECINOS_ENV": "development",
        "VECINOS_DATA_DIR": str(data),
        "VECINOS_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    subprocess.run(
        [PY, "-m", "vecinos.cli", "migrate", "--verbosity", "0"], env=env, cwd=ROOT, check=True
    )
    if not seeded:
        out = subprocess.run(
            [PY, __file__, "--inner", "seed", str(n)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            sys.exit(out.stderr[-3000:])
        (data / "seeded").write_text(str(n))
    out = subprocess.run(
        [PY, __file__, "--inner", "time_count"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        sys.exit(out.stderr[-3000:])
    t = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"[{label}] {json.dumps(t['result'])} runs {[round(r) for r in t['runs']]}", flush=True)
    print(f"[{label}] polygon area step alone: {t['area_ms']:.0f} ms (median of 5)", flush=True)
    line = f"area count: {t['result']['total']} of {n} in {t['median_ms']:.0f} ms (median of 5)"
    print(f"[{label}] {line}", flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inner", nargs="+")
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--data-dir", default="", help="reuse a seeded data dir (SQLite)")
    args = parser.parse_args()
    if args.inner:
        step, *rest = args.inner
        {"time_count": time_count, "seed": lambda: seed(int(rest[0]))}[step]()
        return
    line = run("embedded SQLite", {}, args.subscribers, args.data_dir)
    if args.postgres:
        run("PostgreSQL", {"VECINOS_DATABASE_URL": fanout._pg("vecinos_area")}, args.subscribers)
    print(line)


if __name__ == "__main__":
    main()
