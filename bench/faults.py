#!/usr/bin/env python3
"""Fault tests for the delivery pipeline: nothing lost, nothing doubled, whatever breaks.

Each scenario seeds subscribers, starts real `vecinos worker` processes against the
Twilio-speaking stub (bench/_twilio_stub.py), sends a public alert (two-person approval, as in
bench/fanout.py) and breaks something in the middle of the fan-out:

1. kill -9 worker (embedded SQLite): once the stub has taken ~30% of the messages the only
   worker is SIGKILLed and a new one started. The dead worker's claimed rows stay "sending"
   until their lease (VECINOS_DELIVERY_LEASE, 10 s here) expires; the sweeper then re-queues
   them as outcome unknown, and the next worker first looks each one up at the stub (which,
   like Twilio, ignores Idempotency-Key) before sending. Sending is capped at --rate
   messages/s (a carrier-like limit, VECINOS_TWILIO_SMS_RATE) so that a claimed batch takes
   longer than half its lease to send, and the stub answers 0.5 s after taking a message, so
   the kill lands on messages sent but not yet recorded.
2. flaky provider (embedded SQLite): the stub fails 30% of requests, half with a 500, half by
   stalling 3 s past the client's 2 s timeout (VECINOS_TWILIO_TIMEOUT=2) and then answering 500.
   Deliveries retry with backoff (VECINOS_DELIVERY_BACKOFF_BASE=1: 1, 2, 4, 8, ... s, at most
   120 s apart) until the alert's expiry, so all are expected to end sent; a timed-out request
   may have reached the stub, so its re-send first looks for it there.
3. Redis restart (--postgres only: PostgreSQL + Redis db 8, two workers): Redis is shut down
   (nosave) and started again during the fan-out, losing every task still in the queue; the
   database rows plus the sweeper's kick recover. Then a task round-trip (`vecinos check
   --worker`) shows the workers take tasks from the new Redis.

Who runs the sweeper: the workers run `sweep_deliveries` every minute; in addition the
orchestrator calls `vecinos.messaging.services.sweep()` every --sweep-every seconds from a
Django process of its own while it waits, as an operator's cron or auditor would. Without it
every scenario still ends, only later (each round of late retries or expired leases waits for
the next minute).

Checks, per scenario: every delivery of the alert is final (sent / delivered / failed /
undelivered / cancelled), and the stub answered 201 to exactly one request per delivered
number: messages == sent deliveries, numbers messaged twice == 0, and the set of numbers the
stub messaged equals the set of numbers whose delivery is recorded as sent. The stub, like
Twilio, ignores Idempotency-Key: a re-sent request is a second text, caught by "numbers
messaged twice". A worker that picks up a row whose outcome is unknown (its worker died, or the
answer timed out) first lists the messages to that number and adopts the one it finds; those
look-ups are reported.

    .venv/bin/python bench/faults.py [--subscribers 3000] [--postgres] [--sweep-every 3]

Prints one line per scenario and ends with `faults: <k>/3 scenarios passed`; exits 1 if any
scenario failed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
sys.path.insert(0, str(ROOT / "bench"))
import fanout  # noqa: E402  (seeding and the approve flow are shared with the fan-out bench)

# The seed spreads subscribers over a +-0.25 degree box around CENTER; 40 km takes them all.
RADIUS_M = 40_000
OPEN = ("queued", "sending")
FINAL = ("sent", "delivered", "failed", "undelivered", "cancelled")
SENT = ("sent", "delivered")
REDIS_PORT = "6379"
REDIS_DB = "8"
QUEUE_KEY = "huey.redis.vecinos"  # RedisHuey's list for VECINOS_QUEUE_NAME=vecinos
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    REDIS_PORT,
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


# --- Inner steps (run inside Django with the scenario's environment) ----------------------------


def approve() -> None:
    """Create a public alert to every subscriber, request and approve it; return at once."""
    fanout._django()
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
        point=fanout.CENTER,
        radius_m=RADIUS_M,
    )
    services.alert_send(alert=alert, actor=alice)
    services.alert_approve(alert=alert, actor=bruno)  # commits, then wakes the workers
    n = Delivery.objects.filter(ref_type="alert", ref_id=alert.pk).count()
    print(json.dumps({"alert": alert.pk, "deliveries": n}))


def _states(alert_id: int) -> dict[str, int]:
    from django.db.models import Count

    from vecinos.messaging.models import Delivery

    rows = (
        Delivery.objects.filter(ref_type="alert", ref_id=alert_id)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def states(alert_id: int) -> None:
    fanout._django()
    from vecinos.messaging.models import Delivery

    # The rows a worker held when it was killed: their recipients wait for the re-queue.
    held = Delivery.objects.filter(ref_type="alert", ref_id=alert_id, status="sending")
    print(
        json.dumps({"states": _states(alert_id), "held": list(held.values_list("id", flat=True))})
    )


def late(ids_file: str, killed_at: float) -> None:
    """How long after the kill the rows the dead worker held reached their recipients."""
    fanout._django()
    from vecinos.messaging.models import Delivery

    ids = json.loads(Path(ids_file).read_text())
    rows = Delivery.objects.filter(id__in=ids, status__in=SENT).values_list("sent_at", flat=True)
    delays = sorted(max(0.0, t.timestamp() - killed_at) for t in rows if t is not None)

    def pick(q: float) -> float:
        return round(delays[min(len(delays) - 1, int(q * len(delays)))], 1) if delays else 0.0

    print(json.dumps({"n": len(delays), "p50": pick(0.5), "p95": pick(0.95), "max": pick(1.0)}))


def settle(alert_id: int, timeout: float, sweep_every: float) -> None:
    """Wait until no delivery is queued or sending, sweeping every sweep_every s (0: never)."""
    fanout._django()
    from django.db.models import Count

    from vecinos.messaging import services
    from vecinos.messaging.models import Delivery

    rows = Delivery.objects.filter(ref_type="alert", ref_id=alert_id)
    started = time.monotonic()
    deadline = started + timeout
    requeued = sweeps = 0
    last_sweep = -1e9
    while True:
        now = time.monotonic()
        if sweep_every > 0 and now - last_sweep >= sweep_every:
            requeued += services.sweep()  # re-queues expired leases and kicks a dispatch
            sweeps += 1
            last_sweep = now
        if not rows.filter(status__in=OPEN).exists() or now > deadline:
            break
        time.sleep(0.25)
    sent_numbers = [
        d.contact.address for d in rows.filter(status__in=SENT).select_related("contact")
    ]
    attempts = dict(rows.values_list("attempts").annotate(n=Count("id")))
    print(
        json.dumps(
            {
                "states": _states(alert_id),
                "settle_s": time.monotonic() - started,
                "requeued": requeued,
                "sweeps": sweeps,
                "sent_numbers": sent_numbers,
                "attempts": {str(k): v for k, v in sorted(attempts.items())},
                "errors": sorted(
                    set(rows.filter(status="failed").values_list("last_error", flat=True))
                )[:5],
            }
        )
    )


# --- Orchestration -------------------------------------------------------------------------------


class ScenarioError(Exception):
    pass


def inner(step: str, env: dict, *args: str, timeout: float = 600) -> dict:
    out = subprocess.run(
        [PY, __file__, "--inner", step, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise ScenarioError(f"inner step {step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - localhost
        return json.loads(r.read())


class Stub:
    def __init__(
        self, data: Path, fail_rate: float = 0.0, stall: float = 12.0, answer_delay: float = 0.0
    ) -> None:
        port_file = data / "stub.port"
        self.proc = subprocess.Popen(
            [
                PY,
                str(ROOT / "bench" / "_twilio_stub.py"),
                "--port-file",
                str(port_file),
                "--fail-rate",
                str(fail_rate),
                "--stall",
                str(stall),
                "--answer-delay",
                str(answer_delay),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            if port_file.exists() and port_file.read_text():
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise ScenarioError("stub did not start")
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"

    def stats(self) -> dict:
        return get_json(self.url + "/_stats")

    def numbers(self) -> dict[str, int]:
        return get_json(self.url + "/_numbers")["to"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Workers:
    def __init__(self, env: dict, log: Path) -> None:
        self.env, self.log, self.procs = env, log, []

    def start(self, n: int = 1) -> None:
        with open(self.log, "a") as fh:
            for _ in range(n):
                self.procs.append(
                    subprocess.Popen(
                        [PY, "-m", "vecinos.cli", "worker"],
                        env=self.env,
                        cwd=ROOT,
                        stdout=fh,
                        stderr=fh,
                    )
                )

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def environment(data: Path, stub: Stub, extra: dict) -> dict:
    return {
        **os.environ,
        "VECINOS_ENV": "development",
        "VECINOS_DATA_DIR": str(data),
        "VECINOS_SMS_TRANSPORT": "twilio",
        "VECINOS_TWILIO_API_URL": stub.url,
        "VECINOS_TWILIO_ACCOUNT_SID": "ACbench",
        "VECINOS_TWILIO_AUTH_TOKEN": "token",
        "VECINOS_TWILIO_MESSAGING_SERVICE_SID": "MGbench",
        "VECINOS_LOG_LEVEL": "WARNING",
        **{k: str(v) for k, v in extra.items()},
    }


def prepare(env: dict, subscribers: int) -> None:
    subprocess.run(
        [PY, "-m", "vecinos.cli", "migrate", "--verbosity", "0"], env=env, cwd=ROOT, check=True
    )
    inner("seed", env, str(subscribers))


def wait_for_messages(stub: Stub, at_least: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = stub.stats()
        if stats["messages"] >= at_least:
            return stats
        time.sleep(0.02)
    raise ScenarioError(f"the stub got fewer than {at_least} messages in {timeout:.0f} s")


def verify(
    label: str, sent: dict, stub: Stub, deliveries: int, *, all_sent: bool, extra: dict
) -> tuple[bool, str, dict]:
    """Compare the database's outcome with what the stub answered 201 to."""
    time.sleep(1.0)  # let any straggling request land at the stub before counting
    stats, numbers = stub.stats(), stub.numbers()
    st = sent["states"]
    total = sum(st.values())
    open_rows = sum(st.get(s, 0) for s in OPEN)
    other = {s: n for s, n in st.items() if s not in FINAL and s not in OPEN}
    n_sent = sum(st.get(s, 0) for s in SENT)
    n_failed = st.get("failed", 0) + st.get("undelivered", 0) + st.get("cancelled", 0)
    sent_set = set(sent["sent_numbers"])
    problems = []
    if total != deliveries:
        problems.append(f"{total} delivery rows, expected {deliveries}")
    if open_rows or other:
        problems.append(f"not final: {open_rows} queued/sending {other or ''}".strip())
    if all_sent and n_sent != total:
        problems.append(f"only {n_sent} of {total} sent")
    if stats["messages"] != n_sent:
        problems.append(f"stub took {stats['messages']} messages for {n_sent} sent deliveries")
    if stats["numbers_twice"]:
        problems.append(f"{stats['numbers_twice']} numbers messaged twice")
    if len(sent_set) != n_sent:
        problems.append(f"{n_sent - len(sent_set)} sent deliveries share a number")
    if set(numbers) != sent_set:
        problems.append(
            f"{len(set(numbers) - sent_set)} numbers messaged but not recorded sent, "
            f"{len(sent_set - set(numbers))} recorded sent but never messaged"
        )
    detail = {
        "states": st,
        "settle_s": round(sent["settle_s"], 1),
        "attempts": sent["attempts"],
        "sweeps": sent["sweeps"],
        "requeued_by_sweep": sent["requeued"],
        "stub_messages": stats["messages"],
        "stub_duplicates": stats["duplicates"],
        "stub_failed": stats["failed"],
        "stub_stalled": stats["stalled"],
        "numbers_twice": stats["numbers_twice"],
        **extra,
    }
    if sent["errors"]:
        detail["failed_errors"] = sent["errors"]
    print(f"[{label}] {json.dumps(detail)}", flush=True)
    if problems:
        return False, f"faults: {label}: FAILED: {'; '.join(problems)}", detail
    outcome = "all final"
    if n_failed:
        ends = [f"{n_sent} sent"] + [f"{st[s]} {s}" for s in FINAL if s not in SENT and st.get(s)]
        outcome += f" ({', '.join(ends)})"
    line = (
        f"faults: {label}: {total} deliveries, {outcome}, sent once each "
        f"(look-ups before re-sending: {stats.get('lists', 0)})"
    )
    return True, line, detail


def kill_worker(args: argparse.Namespace) -> tuple[bool, str]:
    label = "kill -9 worker"
    data = Path(tempfile.mkdtemp(prefix="vecinos-faults-kill-"))
    # The stub answers each message half a second after taking it, so the kill lands while
    # messages are sent but not yet recorded: the next worker must find them, not resend.
    stub = Stub(data, answer_delay=0.5)
    env = environment(
        data,
        stub,
        {
            "VECINOS_DELIVERY_LEASE": args.lease,
            "VECINOS_TWILIO_TIMEOUT": 2,  # a provider call must end within half the lease
            # Slow enough that the kill lands in the middle of claimed, half-recorded batches.
            "VECINOS_TWILIO_SMS_RATE": args.rate,
        },
    )
    workers = Workers(env, data / "worker.log")
    try:
        prepare(env, args.subscribers)
        workers.start(1)
        time.sleep(2)
        sent = inner("approve", env)
        n = sent["deliveries"]
        at_kill = wait_for_messages(stub, int(n * args.kill_at))
        victim = workers.procs[0]
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.time()
        victim.wait()
        after_kill = stub.stats()["messages"]
        at_kill_states = inner("states", env, str(sent["alert"]))
        frozen = at_kill_states["states"]
        held_file = data / "held.json"
        held_file.write_text(json.dumps(at_kill_states["held"]))
        workers.start(1)
        t_restart = time.monotonic()
        restarted_after = time.time() - killed_at  # the orchestrator's own steps, under load
        result = inner(
            "settle",
            env,
            str(sent["alert"]),
            str(args.timeout),
            str(args.sweep_every),
            timeout=args.timeout + 60,
        )
        # Messages the stub accepted but the dead worker never recorded: the next worker must
        # find each at the provider instead of sending it again ("numbers messaged twice").
        unrecorded = after_kill - sum(frozen.get(s, 0) for s in SENT)
        # The extra delay: from the kill until each row the dead worker held went out (or was
        # found already sent at the provider, which counts as no delay).
        delay = inner("late", env, str(held_file), repr(killed_at))
        ok, line, detail = verify(
            label,
            result,
            stub,
            n,
            all_sent=True,
            extra={
                "stub_messages_at_kill": at_kill["messages"],
                "stub_messages_after_kill": after_kill,
                "states_after_kill": frozen,
                "accepted_unrecorded_at_kill": unrecorded,
                "recovery_s": round(time.monotonic() - t_restart, 1),
                "held_delay_s": delay,
            },
        )
        if ok:
            line += (
                f"; {unrecorded} taken by the provider but unrecorded at the kill, "
                f"{frozen.get('sending', 0)} in flight at the kill, "
                f"{result['requeued']} re-queued after the lease expired by the orchestrator; "
                f"extra delay of the held rows p95 {delay['p95']} s (max {delay['max']} s, "
                f"{delay['n']} rows; new worker started {restarted_after:.1f} s after the kill)"
            )
        return ok, line
    finally:
        workers.stop()
        stub.stop()


def flaky_provider(args: argparse.Namespace) -> tuple[bool, str]:
    label = f"flaky provider ({args.fail_rate:.0%} 5xx/timeouts)"
    data = Path(tempfile.mkdtemp(prefix="vecinos-faults-flaky-"))
    stub = Stub(data, fail_rate=args.fail_rate, stall=3)
    env = environment(
        data,
        stub,
        {
            "VECINOS_TWILIO_TIMEOUT": 2,
            "VECINOS_DELIVERY_BACKOFF_BASE": 1,
            "VECINOS_TWILIO_SMS_RATE": 100000,
        },
    )
    workers = Workers(env, data / "worker.log")
    try:
        prepare(env, args.subscribers)
        workers.start(1)
        time.sleep(2)
        sent = inner("approve", env)
        result = inner(
            "settle",
            env,
            str(sent["alert"]),
            str(args.timeout),
            str(args.sweep_every),
            timeout=args.timeout + 60,
        )
        ok, line, _ = verify(label, result, stub, sent["deliveries"], all_sent=False, extra={})
        return ok, line
    finally:
        workers.stop()
        stub.stop()


def redis(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["redis-cli", "-p", REDIS_PORT, *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=10,
    )


def redis_up() -> bool:
    try:
        return redis("ping").stdout.strip() == "PONG"
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_redis() -> None:
    if redis_up():
        return
    subprocess.run(REDIS_START, check=False, capture_output=True)
    for _ in range(50):
        if redis_up():
            return
        time.sleep(0.1)


def restart_redis(down_s: float) -> float:
    t0 = time.monotonic()
    redis("shutdown", "nosave")
    for _ in range(50):
        if not redis_up():
            break
        time.sleep(0.05)
    time.sleep(down_s)
    subprocess.run(REDIS_START, check=True, capture_output=True)
    for _ in range(100):
        if redis_up():
            return time.monotonic() - t0
        time.sleep(0.05)
    raise ScenarioError("Redis did not come back")


def redis_restart(args: argparse.Namespace) -> tuple[bool, str]:
    label = "Redis restart"
    data = Path(tempfile.mkdtemp(prefix="vecinos-faults-redis-"))
    stub = Stub(data)
    env = environment(
        data,
        stub,
        {
            "VECINOS_DATABASE_URL": fanout._pg("vecinos_faults"),
            "VECINOS_REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_DB}",
            "VECINOS_DELIVERY_LEASE": args.lease,
            "VECINOS_TWILIO_TIMEOUT": 2,
            "VECINOS_TWILIO_SMS_RATE": max(1, args.rate // 2),  # per worker: two share it
            # One consumer thread each: two of the fan-out's four dispatch tasks wait in Redis,
            # so the restart really loses enqueued tasks.
            "VECINOS_WORKER_THREADS": 1,
        },
    )
    redis("-n", REDIS_DB, "FLUSHDB")
    workers = Workers(env, data / "worker.log")
    try:
        prepare(env, args.subscribers)
        workers.start(2)
        time.sleep(3)
        sent = inner("approve", env)
        n = sent["deliveries"]
        at_restart = wait_for_messages(stub, int(n * args.kill_at))["messages"]
        queued_tasks = redis("-n", REDIS_DB, "llen", QUEUE_KEY).stdout.strip()
        down = restart_redis(args.redis_down)
        after = stub.stats()["messages"]
        result = inner(
            "settle",
            env,
            str(sent["alert"]),
            str(args.timeout),
            str(args.sweep_every),
            timeout=args.timeout + 60,
        )
        # The workers must take tasks from the new Redis: round-trip one through the queue.
        alive = subprocess.run(
            [PY, "-m", "vecinos.cli", "check", "--worker", "--timeout", "30"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        workers_alive = sum(p.poll() is None for p in workers.procs)
        ok, line, _ = verify(
            label,
            result,
            stub,
            n,
            all_sent=True,
            extra={
                "stub_messages_at_restart": at_restart,
                "stub_messages_when_back": after,
                "tasks_in_redis_at_restart": queued_tasks,
                "redis_down_s": round(down, 1),
                "workers_alive": workers_alive,
                "worker_roundtrip": alive.returncode == 0,
            },
        )
        if ok and (alive.returncode != 0 or workers_alive != 2):
            ok, line = (
                False,
                (
                    f"faults: {label}: FAILED: after the restart {workers_alive}/2 "
                    f"workers alive, task round-trip: {alive.stderr.strip()[-300:]}"
                ),
            )
        if ok:
            line += (
                f"; Redis down {down:.1f} s with {n - after} messages still to send and "
                f"{queued_tasks} enqueued tasks lost; workers took tasks again"
            )
        return ok, line
    finally:
        ensure_redis()  # whatever happened, leave Redis running for everyone else
        workers.stop()
        stub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inner", nargs="+")
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--sweep-every",
        type=float,
        default=3.0,
        help="seconds between the orchestrator's sweeps (0: rely on the "
        "workers' once-a-minute sweeper)",
    )
    parser.add_argument("--lease", type=int, default=10, help="VECINOS_DELIVERY_LEASE (s)")
    parser.add_argument(
        "--rate",
        type=int,
        default=60,
        help="VECINOS_TWILIO_SMS_RATE (per process; split between the two "
        "Redis-scenario workers) for the kill and Redis scenarios: a "
        "carrier-like cap, so the fault lands mid-fan-out and claimed "
        "batches take longer to send than half their lease",
    )
    parser.add_argument(
        "--kill-at",
        type=float,
        default=0.3,
        help="share of messages the stub has taken when the fault strikes",
    )
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--redis-down", type=float, default=1.5, help="seconds Redis stays down")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300,
        help="seconds to wait for every delivery to be final, per scenario",
    )
    parser.add_argument("--only", choices=("kill", "flaky", "redis"), action="append")
    args = parser.parse_args()
    if args.inner:
        step, *rest = args.inner
        {
            "seed": lambda: fanout.seed(int(rest[0])),
            "approve": approve,
            "states": lambda: states(int(rest[0])),
            "late": lambda: late(rest[0], float(rest[1])),
            "settle": lambda: settle(int(rest[0]), float(rest[1]), float(rest[2])),
        }[step]()
        return
    scenarios = [
        ("kill", "kill -9 worker", kill_worker),
        ("flaky", "flaky provider", flaky_provider),
        ("redis", "Redis restart", redis_restart),
    ]
    passed = failed = skipped = 0
    lines = []
    for name, label, fn in scenarios:
        if args.only and name not in args.only:
            skipped += 1
            continue
        if name == "redis" and not args.postgres:
            lines.append(f"faults: {label}: skipped (needs --postgres)")
            print(lines[-1], flush=True)
            skipped += 1
            continue
        t0 = time.monotonic()
        try:
            ok, line = fn(args)
        except Exception as exc:  # noqa: BLE001 - report it as a failed scenario
            traceback.print_exc()
            ok, line = False, f"faults: {label}: FAILED: {type(exc).__name__}: {exc}"[:2000]
        print(f"[{name}] {time.monotonic() - t0:.0f} s", flush=True)
        print(line, flush=True)
        lines.append(line)
        passed += ok
        failed += not ok
    print()
    for line in lines:
        print(line)
    summary = f"faults: {passed}/3 scenarios passed"
    if skipped:
        summary += f" ({skipped} skipped)"
    print(summary)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
