#!/usr/bin/env python3
"""Fan-out benchmark: a public alert to ~50,000 of 100,000 synthetic subscribers around Los
Angeles, every delivery handed by real `vecinos worker` processes to a local Twilio-speaking
stub (bench/_twilio_stub.py), compared in the same run with a plain async HTTP client posting
the same number of requests to the same stub. Also times recipient selection within 10 km among
1,000,000 subscribers.

    .venv/bin/python bench/fanout.py [--subscribers 100000] [--postgres] [--selection 1000000]
        [--workers 2] [--runs 5] [--pg-database NAME] [--pg-select-database NAME] [--redis-db N]

The workers are as many `vecinos worker` processes as `vecinos serve` runs (2); "peak worker"
is the largest peak resident memory of any one of them.

The subscribers are seeded once per database; each of the ``--runs`` fan-outs (default 5) then
runs on a fresh copy of that seeded data (a copied data directory; on PostgreSQL a database
made from the seeded one as a template), with its own stub. Each run prints its own line; the
last line gives the medians of the runs, except "first", which is their 95th percentile
(nearest rank: with fewer than 20 runs, the slowest) and "peak worker", their largest.

Ends with:
fanout: <N> deliveries in <T> s = <R>/s; raw client <R0>/s; ratio <X>; selection <S> ms; peak worker <M> MB; first <F> ms

Before it, a line gives the raw client again sending the same requests as ours (the fields,
body and idempotency key length of one the workers sent, as the stub took it), and the ratio to
that: the request's size is the provider's API, which no client escapes. Another gives a raw
client on the workers' own HTTP library (pyreqwest; the raw client is aiohttp's) sending the
short request, and the ratio to it: how much of the ratio the library makes.

"first" is the time from the approving click (alert_approve) to the first message the stub
takes (wall clocks of two processes on one machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _server import cpu_s  # bench/ is the script's own directory

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
CENTER = (34.05, -118.25)
SPREAD = 0.25  # degrees each way: a ~55 x 46 km box over the LA basin
TARGET_RADIUS_M = 19_500  # covers about half of that box
# The 1,000,000-subscriber selection spreads over Los Angeles County (~100 x 90 km).
WIDE_SPREAD = 0.45


# --- Inner steps (run inside Django with the benchmark's environment) ---------------------------


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vecinos.settings")
    import django

    django.setup()


def seed(n: int) -> None:
    """n public subscribers with a home area each, plus two trained dispatchers."""
    _django()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from vecinos.alerts.models import Subscriber, SubscriptionArea
    from vecinos.core import geo
    from vecinos.core.crypto import blind_index
    from vecinos.messaging.models import ContactPoint
    from vecinos.network.models import Member, Membership, Organization, Role, Tier

    rng = random.Random(7)
    org = Organization.objects.create(name="Bench Org", short_name="bench")
    for name in ("alice", "bruno"):
        m = Member.objects.create(username=name, tier=Tier.TRAINED, password=make_password(None))
        Membership.objects.create(member=m, organization=org, role=Role.DISPATCHER)
    chunk = 5000
    for start in range(0, n, chunk):
        with transaction.atomic():
            contacts, subs, areas = [], [], []
            for i in range(start, min(n, start + chunk)):
                phone = f"+1213{2000000 + i:07d}"
                index = blind_index(phone, purpose="phone")
                contacts.append(ContactPoint(channel="sms", address=phone, address_index=index))
            ContactPoint.objects.bulk_create(contacts)
            for contact in contacts:
                subs.append(
                    Subscriber(
                        # The number lives (encrypted) in the contact point only.
                        phone_index=contact.address_index,
                        language=rng.choice(["es", "es", "en"]),
                        channels=["sms"],
                        status=Subscriber.Status.ACTIVE,
                        source="bench",
                        sms=contact,
                    )
                )
            Subscriber.objects.bulk_create(subs)
            for sub in subs:
                lat = CENTER[0] + rng.uniform(-SPREAD, SPREAD)
                lng = CENTER[1] + rng.uniform(-SPREAD, SPREAD)
                areas.append(
                    SubscriptionArea(
                        subscriber=sub,
                        lat=lat,
                        lng=lng,
                        radius_m=1000,
                        cell7=geo.cell_of(lat, lng, geo.COARSE_RESOLUTION),
                    )
                )
            SubscriptionArea.objects.bulk_create(areas)
    print(json.dumps({"seeded": n}))


def any_open() -> bool:
    """Whether any delivery is still queued or in flight: the benchmark's poll, five times a
    second on the cores the system under test needs, so it must cost next to nothing.

    By status alone on SQLite (the delivery_due index): the benchmark's database holds this
    alert's deliveries only (a poll by alert read all 51,557 rows). On PostgreSQL from the due
    set, stopping at its first entry whose delivery is open (LIMIT 1 keeps the lateral lookup
    a nested loop by key). As ``dueset.open_rows(...).exists()`` it read every entry into an
    array first: 10 ms a poll with the fan-out queued, about 0.005-0.007 ms of the database's
    CPU a message (session 28)."""
    from django.db import connection

    from vecinos.messaging import dueset
    from vecinos.messaging.models import Delivery, DeliveryStatus

    open_states = (DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value)
    if not dueset.separate():
        return Delivery.objects.filter(status__in=open_states).exists()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {dueset.DUE} AS q, LATERAL (SELECT 1 "  # noqa: S608
            f"FROM {table} AS d WHERE d.id = q.delivery_id AND d.status IN (%s, %s) "
            "LIMIT 1) AS open)",
            open_states,
        )
        return bool(cursor.fetchone()[0])


def send() -> None:
    """Create a public alert, time selection, approve it (fan-out) and wait for every delivery."""
    _django()
    from vecinos.alerts import services
    from vecinos.alerts.models import Alert, Tier
    from vecinos.messaging.models import Delivery
    from vecinos.network.models import Member

    alice, bruno = Member.objects.get(username="alice"), Member.objects.get(username="bruno")
    alert = services.alert_create(
        actor=alice,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.PUBLIC],
        messages={
            "es": "Operativo confirmado cerca de usted. Conozca sus derechos.",
            "en": "Confirmed operation near you. Know your rights.",
        },
        point=CENTER,
        radius_m=TARGET_RADIUS_M,
    )
    services.alert_send(alert=alert, actor=alice)
    t0 = time.perf_counter()
    selected = len(services.select_recipients(alert))
    selection_ms = (time.perf_counter() - t0) * 1000
    started = time.perf_counter()
    approved_at = time.time()
    services.alert_approve(alert=alert, actor=bruno)
    fanned = time.perf_counter() - started
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        # Done when a worker has written every recipient (the approval writes the first
        # chunk only) and no delivery is still open.
        writing = Alert.objects.filter(pk=alert.pk, fanout_resume_after__isnull=False).exists()
        if not writing and not any_open():
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    states = dict(
        Delivery.objects.filter(ref_type="alert", ref_id=alert.pk)
        .values_list("status")
        .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id"))
    )
    print(
        json.dumps(
            {
                "selected": selected,
                "selection_ms": selection_ms,
                "fanout_write_s": fanned,
                "elapsed_s": elapsed,
                "approved_at": approved_at,
                "states": states,
            }
        )
    )


def seed_selection(n: int) -> None:
    """n bare subscribers with areas (no contacts) for the 1M selection timing."""
    _django()
    from django.db import connection, transaction

    from vecinos.alerts.models import Subscriber, SubscriptionArea
    from vecinos.core import geo

    rng = random.Random(11)
    chunk = 20000
    for start in range(0, n, chunk):
        with transaction.atomic():
            subs = Subscriber.objects.bulk_create(
                [
                    Subscriber(status=Subscriber.Status.ACTIVE, source="bench", channels=["sms"])
                    for _ in range(min(chunk, n - start))
                ],
                batch_size=chunk,
            )
            areas = []
            for sub in subs:
                lat = CENTER[0] + rng.uniform(-WIDE_SPREAD, WIDE_SPREAD)
                lng = CENTER[1] + rng.uniform(-WIDE_SPREAD, WIDE_SPREAD)
                areas.append(
                    SubscriptionArea(
                        subscriber_id=sub.pk,
                        lat=lat,
                        lng=lng,
                        radius_m=1000,
                        cell7=geo.cell_of(lat, lng, geo.COARSE_RESOLUTION),
                    )
                )
            SubscriptionArea.objects.bulk_create(areas, batch_size=chunk)
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load on PostgreSQL (it also marks pages all-visible,
        # which index-only scans need); SQLite only gathers statistics.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(json.dumps({"seeded": n}))


def time_selection() -> None:
    _django()
    from vecinos.alerts import services

    runs = []
    found = 0
    for _ in range(5):
        t0 = time.perf_counter()
        found = len(services.subscribers_in_area(point=(34.06, -118.24), radius_m=10_000))
        runs.append((time.perf_counter() - t0) * 1000)
    runs.sort()
    print(json.dumps({"median_ms": runs[len(runs) // 2], "found": found, "runs": runs}))


# --- Orchestration -------------------------------------------------------------------------------


def inner(step: str, env: dict, *args: str) -> dict:
    out = subprocess.run(
        [PY, __file__, "--inner", step, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"{step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_stub(port_file: Path, fail_rate: float = 0.0) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            PY,
            str(ROOT / "bench" / "_twilio_stub.py"),
            "--port-file",
            str(port_file),
            "--fail-rate",
            str(fail_rate),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        if port_file.exists() and port_file.read_text():
            return proc
        time.sleep(0.1)
    sys.exit("stub did not start")


def peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def postgres_cpu_s() -> float:
    """CPU seconds the local PostgreSQL server has used so far: every live server process,
    plus what the postmaster has reaped from backends that have ended (cutime and cstime)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parent = (Path("/proc") / fields[1] / "comm").read_text().strip()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if parent != "postgres":  # the postmaster: its ended children's time too
            total += int(fields[13]) + int(fields[14])
    return total / tick


def hot_updates(database_url: str) -> tuple[int, int, int]:
    """(updates, heap-only updates, write-ahead log bytes so far) of the delivery table on a
    PostgreSQL run's database: a claim or an outcome that finds no room on its page, or
    changes an indexed column, writes an entry into every index of the table."""
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        upd, hot = conn.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
            "WHERE relname = 'messaging_delivery'"
        ).fetchone()
        (wal,) = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
    return int(upd), int(hot), int(wal)


async def raw_client(
    url: str, n: int, concurrency: int = 64, sample: dict | None = None
) -> tuple[float, float]:
    """(requests a second, client CPU seconds a request). With ``sample`` (one request the
    workers sent, as the stub took it), every request carries the same fields, body and
    idempotency key length as ours, a number of its own; without it, the short request the
    issue's ratio was first measured against. The client is aiohttp's, the issue's "plain async
    HTTP client" (raw_pyreqwest: the workers' own library)."""
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    auth = aiohttp.encode_basic_auth("ACbench", "token")
    if sample:
        shared = {k: v for k, v in sample["fields"].items() if k != "To"}
        width = len(sample["key"])
    else:
        shared = {"Body": "raw client benchmark", "MessagingServiceSid": "MGbench"}
        width = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:

        async def one(i: int) -> None:
            async with (
                sem,
                s.post(
                    url,
                    headers={
                        "Authorization": auth,
                        "Idempotency-Key": f"raw-{i}".ljust(width, "x"),
                    },
                    data={"To": f"+1323{3000000 + i:07d}", **shared},
                ) as r,
            ):
                await r.read()

        t0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - t0), (time.process_time() - cpu0) / n


async def raw_pyreqwest(url: str, n: int, concurrency: int = 64) -> float:
    """Requests a second: the short request, sent by the workers' own HTTP library (pyreqwest)
    as plainly as raw_client sends it by aiohttp, so the report can say how much of the
    ratio is the library."""
    import aiohttp
    from pyreqwest.client import ClientBuilder

    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": aiohttp.encode_basic_auth("ACbench", "token"),
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    async with ClientBuilder().no_proxy().max_connections(concurrency).build() as client:

        async def one(i: int) -> None:
            async with sem:
                body = f"To=%2B1323{3000000 + i:07d}&Body=raw+client+benchmark&MessagingServiceSid=MGbench"
                request = (
                    client.post(url)
                    .headers({**headers, "Idempotency-Key": f"raw-{i}"})
                    .body_bytes(body.encode())
                )
                response = await request.build().send()
                await response.bytes()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - t0)


def stub_stats(base: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(base + "/_stats") as r:  # noqa: S310 - localhost
        return json.loads(r.read())


def _one_run(label: str, env: dict, template: Path, workers: int, k: int) -> dict:
    """One fan-out on a fresh copy of the seeded data (and, on PostgreSQL, of its database)."""
    data = Path(tempfile.mkdtemp(prefix="vecinos-fanout-run-"))
    shutil.copytree(template, data, dirs_exist_ok=True)
    env = {**env, "VECINOS_DATA_DIR": str(data)}
    if env.get("VECINOS_DATABASE_URL"):
        seeded = env["VECINOS_DATABASE_URL"].rsplit("/", 1)[1]
        env["VECINOS_DATABASE_URL"] = _pg(f"{seeded}_run", template=seeded)
    if env.get("VECINOS_REDIS_URL"):
        db = env["VECINOS_REDIS_URL"].rsplit("/", 1)[1]
        subprocess.run(["redis-cli", "-n", db, "FLUSHDB"], check=False, capture_output=True)
    port_file = data / "stub.port"
    port_file.unlink(missing_ok=True)
    stub = start_stub(port_file)
    port = int(port_file.read_text())
    api = f"http://127.0.0.1:{port}"
    env["VECINOS_TWILIO_API_URL"] = api
    procs = [
        subprocess.Popen(
            # As `vecinos serve` starts them: the first runs the periodic tasks.
            [PY, "-m", "vecinos.cli", "worker", *(["--no-periodic"] if n else [])],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(workers)
    ]
    time.sleep(2)
    cpu0 = sum(cpu_s(p.pid) for p in procs)  # their start-up is not the fan-out's
    # Where the machine's time goes, per message: the workers, the database server (on
    # PostgreSQL; SQLite runs inside the workers) and the stub, which share the cores.
    stub0, db0 = cpu_s(stub.pid), postgres_cpu_s()
    pg_url = env.get("VECINOS_DATABASE_URL", "")
    hot0 = hot_updates(pg_url) if pg_url else None
    try:
        result = inner("send", env)
        peak = max(peak_mb(p.pid) for p in procs)
        cpu = sum(cpu_s(p.pid) for p in procs) - cpu0
        stub_cpu, db_cpu = cpu_s(stub.pid) - stub0, postgres_cpu_s() - db0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    if hot0:
        time.sleep(1)  # the workers' server processes report their counts as they end
    hot1 = hot_updates(pg_url) if hot0 else None
    stats = stub_stats(api)
    first_ms = (
        (stats["first_at"] - result["approved_at"]) * 1000 if stats["first_at"] else float("nan")
    )
    n = sum(result["states"].values())
    rate = n / result["elapsed_s"]
    stub_raw0 = cpu_s(stub.pid)
    messages_url = f"{api}/2010-04-01/Accounts/ACbench/Messages.json"
    raw, raw_cpu = asyncio.run(raw_client(messages_url, n))
    stub_raw = cpu_s(stub.pid) - stub_raw0
    # The same requests as ours (a longer body with its link, the status callback, the
    # validity): what a client that did nothing but send them could do.
    same = (
        asyncio.run(raw_client(messages_url, n, sample=stats["sample"]))[0]
        if stats["sample"]
        else float("nan")
    )
    ours = asyncio.run(raw_pyreqwest(messages_url, n))
    stub.terminate()
    shutil.rmtree(data, ignore_errors=True)
    detail = {
        "run": k + 1,
        "selected": result["selected"],
        "states": result["states"],
        "fan-out write (s)": round(result["fanout_write_s"], 2),
        "stub messages": stats["messages"],
        "stub duplicate attempts": stats["duplicates"],
        "numbers messaged twice": stats["numbers_twice"],
        "workers": workers,
        "worker CPU (s)": round(cpu, 1),
        "worker CPU per message (ms)": round(1000 * cpu / max(1, stats["messages"]), 3),
        "stub CPU per message (ms)": round(1000 * stub_cpu / max(1, stats["messages"]), 3),
        **(
            {"PostgreSQL CPU per message (ms)": round(1000 * db_cpu / max(1, stats["messages"]), 3)}
            if env.get("VECINOS_DATABASE_URL")
            else {}
        ),
        **(
            {
                # Of the delivery table's updates in the fan-out, how many were heap-only, and
                # the write-ahead log a message (the whole server's, this run's only).
                "HOT updates": f"{hot1[1] - hot0[1]} of {hot1[0] - hot0[0]}",
                "WAL per message (bytes)": (hot1[2] - hot0[2]) // max(1, stats["messages"]),
            }
            if hot0 and hot1
            else {}
        ),
        # The raw client's own CPU a request, and the stub's while it answered the raw client.
        "raw client CPU per message (ms)": round(1000 * raw_cpu, 3),
        "stub CPU per raw request (ms)": round(1000 * stub_raw / max(1, n), 3),
        "raw client, the same requests as ours (/s)": round(same, 0),  # nan: no sample
        "ratio to it": round(rate / same, 2),
        "raw client on pyreqwest, the short request (/s)": round(ours, 0),
        "ratio to that": round(rate / ours, 2),
        # Approval to the stub's first message, first to last, last to the end seen.
        "phases (s)": [
            round(stats["first_at"] - result["approved_at"], 2),
            round(stats["last_at"] - stats["first_at"], 2),
            round(result["approved_at"] + result["elapsed_s"] - stats["last_at"], 2),
        ]
        if stats["first_at"]
        else None,
    }
    print(f"[{label}] {json.dumps(detail)}", flush=True)
    print(
        f"[{label}] run {k + 1}: {n} deliveries in {result['elapsed_s']:.1f} s = {rate:.0f}/s; "
        f"raw client {raw:.0f}/s; ratio {rate / raw:.2f}; selection "
        f"{result['selection_ms']:.0f} ms; peak worker {peak:.0f} MB; first {first_ms:.0f} ms",
        flush=True,
    )
    return {"n": n, "elapsed": result["elapsed_s"], "rate": rate, "raw": raw, "same": same, "ours": ours,
            "selection_ms": result["selection_ms"], "peak": peak, "first_ms": first_ms}  # fmt: skip


def run(label: str, extra_env: dict, subscribers: int, workers: int, runs: int = 1) -> str:
    """Seed once, then ``runs`` fan-outs, each on a fresh copy of the seeded data. The last line
    gives the medians of the rates, the ratio and the selection, the largest peak, and the
    95th percentile of the time to the first message (nearest rank: the slowest of fewer
    than 20 runs)."""
    template = Path(tempfile.mkdtemp(prefix="vecinos-fanout-"))
    env = {
        **os.environ,
        "VECINOS_ENV": "development",
        "VECINOS_DATA_DIR": str(template),
        "VECINOS_SMS_TRANSPORT": "twilio",
        "VECINOS_TWILIO_API_URL": "http://127.0.0.1:9",  # each run points it at its own stub
        "VECINOS_TWILIO_ACCOUNT_SID": "ACbench",
        "VECINOS_TWILIO_AUTH_TOKEN": "token",
        "VECINOS_TWILIO_MESSAGING_SERVICE_SID": "MGbench",
        "VECINOS_TWILIO_SMS_RATE": "100000",  # measure this software, not the carrier's cap
        "VECINOS_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    subprocess.run(
        [PY, "-m", "vecinos.cli", "migrate", "--verbosity", "0"], env=env, cwd=ROOT, check=True
    )
    inner("seed", env, str(subscribers))
    done = [_one_run(label, env, template, workers, k) for k in range(runs)]
    shutil.rmtree(template, ignore_errors=True)
    firsts = sorted(r["first_ms"] for r in done)
    first_p95 = firsts[max(0, math.ceil(0.95 * len(firsts)) - 1)]
    mid = statistics.median
    n = done[0]["n"]
    line = (
        f"fanout: {n} deliveries in {mid(r['elapsed'] for r in done):.1f} s = "
        f"{mid(r['rate'] for r in done):.0f}/s; raw client {mid(r['raw'] for r in done):.0f}/s; "
        f"ratio {mid(r['rate'] / r['raw'] for r in done):.2f}; selection "
        f"{mid(r['selection_ms'] for r in done):.0f} ms; peak worker "
        f"{max(r['peak'] for r in done):.0f} MB; first {first_p95:.0f} ms"
    )
    print(
        f"[{label}] the raw client sending the same requests as ours: "
        f"{mid(r['same'] for r in done):.0f}/s; ratio {mid(r['rate'] / r['same'] for r in done):.2f}",
        flush=True,
    )
    print(
        f"[{label}] the raw client on the workers' own HTTP library (pyreqwest), the short "
        f"request: {mid(r['ours'] for r in done):.0f}/s; ratio "
        f"{mid(r['rate'] / r['ours'] for r in done):.2f}",
        flush=True,
    )
    if runs > 1:
        print(f"[{label}] {runs} runs: medians; first is the p95 (runs: "
              f"{', '.join(f'{f:.0f}' for f in firsts)} ms)", flush=True)  # fmt: skip
    print(f"[{label}] {line}", flush=True)
    return line


def selection(label: str, extra_env: dict, n: int) -> str:
    data = Path(tempfile.mkdtemp(prefix="vecinos-select-"))
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
    inner("seed_selection", env, str(n))
    t = inner("time_selection", env)
    line = (
        f"selection: {t['found']} of {n} subscribers within 10 km in "
        f"{t['median_ms']:.0f} ms (median of 5)"
    )
    print(f"[{label}] {line}", flush=True)
    return line


def _pg(name: str, template: str = "") -> str:
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q"]
    subprocess.run(
        [*psql, "-c", "SET client_min_messages = warning",
         "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
        check=True,
    )  # fmt: skip
    create = f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")
    subprocess.run([*psql, "-c", create], check=True)
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inner", nargs="+")
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--selection", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--skip-sqlite", action="store_true", help="with --postgres: PostgreSQL + Redis only"
    )
    parser.add_argument(
        "--pg-database", default="vecinos_fanout", help="PostgreSQL database (dropped, created)"
    )
    parser.add_argument(
        "--pg-select-database",
        default="vecinos_select",
        help="PostgreSQL database for the 1M selection (dropped, created)",
    )
    parser.add_argument("--redis-db", type=int, default=7, help="Redis database number (flushed)")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="`vecinos worker` processes (default 2, as many as `vecinos serve` runs)",
    )
    parser.add_argument(
        "--runs", type=int, default=5,
        help="fan-outs per database, each on a fresh copy of the seeded data (default 5)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.inner:
        step, *rest = args.inner
        {
            "seed": lambda: seed(int(rest[0])),
            "send": send,
            "seed_selection": lambda: seed_selection(int(rest[0])),
            "time_selection": time_selection,
        }[step]()
        return
    lines = []
    sqlite = not (args.skip_sqlite and args.postgres)
    sel = selection("embedded SQLite", {}, args.selection) if args.selection and sqlite else ""
    if sqlite:
        lines.append(
            run("embedded SQLite", {}, args.subscribers, workers=args.workers, runs=args.runs)
        )
    if args.postgres:
        pg = {
            "VECINOS_DATABASE_URL": _pg(args.pg_database),
            "VECINOS_REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        }
        subprocess.run(
            ["redis-cli", "-n", str(args.redis_db), "FLUSHDB"], check=False, capture_output=True
        )
        line = run("PostgreSQL + Redis", pg, args.subscribers, workers=args.workers, runs=args.runs)
        lines.append(line)
        if args.selection:
            pg_select = {"VECINOS_DATABASE_URL": _pg(args.pg_select_database)}
            selection("PostgreSQL", pg_select, args.selection)
    if sel:
        print(sel)
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
