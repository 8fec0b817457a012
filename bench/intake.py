#!/usr/bin/env python3
"""Intake benchmark: public reports from many concurrent clients into a server started as the
README's first command starts it; how fast they are accepted and how soon the dispatcher queue
shows them.

    .venv/bin/python bench/intake.py [--seconds 20] [--clients 64] [--postgres]

The server runs with the per-source rate limit lifted (every client here is 127.0.0.1). A
dispatcher's API token polls GET /api/v1/reports/queue (a cursor over new reports) every 50 ms;
"visibility" is the time from sending a report to the poll that first returns it.

In the same run and from the same server, the same clients then post to a minimal Django view
that inserts one row (bench/_baseline_urls.py, loaded only by this benchmark's settings,
bench/_baseline_settings.py): the baseline, what this server and database do at best.
Ends with: intake: <R> reports/s, p95 queue visibility <S> s, lost <N>; baseline <B>/s; ratio <X>
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import cli, served, tree_cpu_s  # noqa: E402

BENCH = Path(__file__).resolve().parent

SERVE_ARGS: tuple[str, ...] = ()  # exactly as the README runs it
ACTIVITIES = ["home", "street", "checkpoint", "workplace", "courthouse", "school", "staging"]


def report_body(rng: random.Random) -> dict:
    return {
        "activity": rng.choice(ACTIVITIES),
        "agency": rng.choice(["ice", "cbp", "unknown"]),
        "agents_count": rng.randint(1, 12),
        "vehicles_count": rng.randint(0, 5),
        "lat": 34.0 + rng.random() * 0.12,
        "lng": -118.3 + rng.random() * 0.15,
        "place_text": f"Cesar Chavez Ave & {rng.randint(1, 40)}th St",
        "description": "Two unmarked vans, agents in vests near the bus stop.",
        "language": rng.choice(["es", "en"]),
    }


async def run(
    base: str, token: str, seconds: float, clients: int
) -> tuple[int, float, float, int, int]:
    sent_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    errors = 0
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients + 4)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client(n: int) -> None:
            nonlocal errors
            rng = random.Random(n)
            while time.monotonic() < stop:
                t0 = time.monotonic()
                async with session.post(base + "/api/v1/reports", json=report_body(rng)) as r:
                    if r.status == 201:
                        sent_at[(await r.json())["receipt"]] = t0
                    else:
                        errors += 1

        done = asyncio.Event()

        async def poller() -> None:
            # PostgreSQL hands out ids at INSERT, not at COMMIT: a row with a lower id can become
            # visible just after a higher one. So the cursor trails the newest id by half a
            # second (what a partner polling this API should do too).
            after, newest = 0, 0
            history: list[tuple[float, int]] = []
            headers = {"Authorization": f"Bearer {token}"}
            while True:
                async with session.get(
                    f"{base}/api/v1/reports/queue?after_id={after}&limit=1000", headers=headers
                ) as r:
                    rows = await r.json()
                now = time.monotonic()
                for row in rows:
                    seen_at.setdefault(row["receipt"], now)
                    newest = max(newest, row["id"])
                history.append((now, newest))
                while len(history) > 1 and history[1][0] <= now - 0.5:
                    history.pop(0)
                after = history[0][1] if history[0][0] <= now - 0.5 else after
                if done.is_set() and (
                    all(k in seen_at for k in sent_at) or time.monotonic() > stop + 15
                ):
                    return
                if len(rows) < 1000:
                    await asyncio.sleep(0.1)

        started = time.monotonic()
        poll = asyncio.create_task(poller())
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.monotonic() - started
        done.set()
        await poll
    lags = sorted(seen_at[k] - sent_at[k] for k in sent_at if k in seen_at)
    p95 = lags[int(len(lags) * 0.95) - 1] if lags else float("nan")
    lost = sum(1 for k in sent_at if k not in seen_at)
    return len(sent_at), elapsed, p95, lost, errors


async def baseline(base: str, seconds: float, clients: int) -> tuple[int, float, int]:
    """The same clients, bodies and duration against the one-row baseline view."""
    done, errors = 0, 0
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients + 4)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client(n: int) -> None:
            nonlocal done, errors
            rng = random.Random(n)
            while time.monotonic() < stop:
                async with session.post(base + "/bench/baseline", json=report_body(rng)) as r:
                    await r.read()
                    if r.status == 201:
                        done += 1
                    else:
                        errors += 1

        started = time.monotonic()
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.monotonic() - started
    return done, elapsed, errors


def bench(label: str, extra_env: dict, seconds: float, clients: int) -> str:
    env_over = {
        "VECINOS_REPORT_RATE_LIMIT": "100000000",
        # Vecinos' settings plus the baseline URL (bench-only; see _baseline_settings.py).
        "DJANGO_SETTINGS_MODULE": "_baseline_settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), os.environ.get("PYTHONPATH")])),
        **extra_env,
    }
    with served(env_over, SERVE_ARGS) as (base, env):
        token = cli("token", "create", "dispatcher", "--name", "bench", env=env).strip()
        pid = int(env["BENCH_SERVER_PID"])
        cpu0 = tree_cpu_s(pid)
        reports, elapsed, p95, lost, errors = asyncio.run(run(base, token, seconds, clients))
        cpu1 = tree_cpu_s(pid)
        done, base_elapsed, base_errors = asyncio.run(baseline(base, seconds, clients))
        cpu2 = tree_cpu_s(pid)
    # The server's CPU (every process of it) per request: steadier than the rates on a noisy
    # machine. The report phase includes the dispatcher's queue polls.
    rate, base_rate = reports / elapsed, done / base_elapsed
    per_report = (cpu1 - cpu0) / max(1, reports) * 1000
    per_base = (cpu2 - cpu1) / max(1, done) * 1000
    print(
        f"[{label}] server CPU: {per_report:.2f} ms a report, {per_base:.2f} ms a baseline "
        f"request; ratio {per_base / per_report if per_report else float('nan'):.2f}",
        flush=True,
    )
    line = (
        f"intake: {rate:.0f} reports/s, p95 queue visibility {p95:.3f} s, lost {lost}; "
        f"baseline {base_rate:.0f}/s; ratio {rate / base_rate if base_rate else float('nan'):.2f}"
    )
    print(f"[{label}] errors {errors}, baseline errors {base_errors}; {line}", flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL + Redis")
    parser.add_argument("--serve-args", default="", help="extra arguments for vecinos serve")
    parser.add_argument("--redis-db", type=int, default=5, help="Redis database number to use")
    args = parser.parse_args()
    global SERVE_ARGS
    SERVE_ARGS = tuple(args.serve_args.split())
    lines = [bench("embedded SQLite", {}, args.seconds, args.clients)]
    if args.postgres:
        db = f"vecinos_bench_{int(time.time())}"
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}"],
            check=True,
        )
        try:
            lines.append(
                bench(
                    "PostgreSQL + Redis",
                    {
                        "VECINOS_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
                        "VECINOS_REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
                    },
                    args.seconds,
                    args.clients,
                )
            )
        finally:
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-qc",
                    f"DROP DATABASE IF EXISTS {db} WITH (FORCE)",
                ],
                check=False,
            )
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
