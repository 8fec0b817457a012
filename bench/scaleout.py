#!/usr/bin/env python3
"""Scale-out benchmark: several hosts on one machine, one of them killed mid fan-out.

Builds a small cluster as Linux network namespaces joined by a bridge (which lives in a
namespace of its own, so nothing here touches the machine's own network):

    vx-db     10.77.0.2   PostgreSQL and Redis (fresh instances, data in a temporary directory)
    vx-web    10.77.0.3   gunicorn vecinos.wsgi (the web host; the approving click runs here)
    vx-w1     10.77.0.4   `vecinos worker`
    vx-w2     10.77.0.5   `vecinos worker`
    vx-stub   10.77.0.6   a Twilio-speaking stub (bench/_twilio_stub.py)

Each host runs exactly what ARCHITECTURE.md's runbook tells an operator to run, with the same
settings (database, Redis, secrets) and nothing else. It seeds 50,000 public subscribers, then
sends a public alert to all of them three times: with one worker host, with two, and with two
while every process of one worker host is killed (SIGKILL) halfway through. Every message is
counted at the stub: "lost" is a selected person the stub never received a message for,
"doubled" a number that received more than one.

Needs root (ip netns) and PostgreSQL's and Redis's server binaries (Debian's postgresql and
redis-server packages). Traffic stays inside these namespaces: it addresses nothing else. The
namespaces and processes are removed at the end, also when interrupted.

    sudo .venv/bin/python bench/scaleout.py [--subscribers 50000]

Ends with:
scaleout: 1 host <R1>/s, 2 hosts <R2>/s, speedup <S>; host killed mid fan-out: lost <L>, doubled <D>
"""

from __future__ import annotations

import argparse
import base64
import glob
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
PREFIX = "vx-"
HOSTS = {"db": "10.77.0.2", "web": "10.77.0.3", "w1": "10.77.0.4", "w2": "10.77.0.5",
         "stub": "10.77.0.6"}  # fmt: skip
SWITCH = PREFIX + "sw"
STUB_PORT = 8081
WEB_PORT = 8000
PROCS: list[subprocess.Popen] = []
TMP: list[Path] = []


# --- Inner steps (run inside a host's namespace, with the cluster's settings) --------------------


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vecinos.settings")
    import django

    django.setup()


def inner_approve() -> None:
    """What the dispatcher and the approver do on the web host: create, send, approve."""
    _django()
    from vecinos.alerts import services
    from vecinos.alerts.models import Alert, Tier
    from vecinos.network.models import Member

    sys.path.insert(0, str(ROOT / "bench"))
    from fanout import CENTER

    alice, bruno = Member.objects.get(username="alice"), Member.objects.get(username="bruno")
    alert = services.alert_create(
        actor=alice,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.PUBLIC],
        messages={"es": "Operativo confirmado cerca.", "en": "Confirmed operation nearby."},
        point=CENTER,
        radius_m=50_000,  # everyone seeded (fanout.py spreads them over ~55 x 46 km)
    )
    services.alert_send(alert=alert, actor=alice)
    started = time.time()
    services.alert_approve(alert=alert, actor=bruno)
    alert.refresh_from_db()
    print(json.dumps({"alert": alert.pk, "recipients": alert.recipients_count, "t0": started}))


# --- Cluster plumbing ----------------------------------------------------------------------------


def sh(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def ns(host: str) -> str:
    return PREFIX + host


def in_ns(host: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns(host), *args]


def teardown(*, files: bool = True) -> None:
    for proc in PROCS:
        if proc.poll() is None:
            proc.kill()
    for name in [*(ns(h) for h in HOSTS), SWITCH]:
        pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh("ip", "netns", "del", name, check=False)
    for path in TMP if files else []:
        shutil.rmtree(path, ignore_errors=True)


def build_network() -> None:
    teardown(files=False)  # what an interrupted earlier run may have left
    sh("ip", "netns", "add", SWITCH)
    sh("ip", "netns", "exec", SWITCH, "ip", "link", "add", "br0", "type", "bridge")
    sh("ip", "netns", "exec", SWITCH, "ip", "link", "set", "br0", "up")
    for host, address in HOSTS.items():
        name = ns(host)
        sh("ip", "netns", "add", name)
        # A veth pair: one end in the host, the other in the switch, enslaved to the bridge.
        sh("ip", "link", "add", f"vx{host}", "type", "veth", "peer", "name", f"vxp{host}")
        sh("ip", "link", "set", f"vx{host}", "netns", name)
        sh("ip", "link", "set", f"vxp{host}", "netns", SWITCH)
        sh("ip", "netns", "exec", SWITCH, "ip", "link", "set", f"vxp{host}", "master", "br0")
        sh("ip", "netns", "exec", SWITCH, "ip", "link", "set", f"vxp{host}", "up")
        sh("ip", "netns", "exec", name, "ip", "addr", "add", f"{address}/24", "dev", f"vx{host}")
        sh("ip", "netns", "exec", name, "ip", "link", "set", f"vx{host}", "up")
        sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")


def start(host: str, *args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    proc = subprocess.Popen(
        in_ns(host, *args),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=kw.pop("stderr", subprocess.DEVNULL),
        **kw,
    )
    PROCS.append(proc)
    return proc


def wait_for(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    sys.exit(f"scaleout: {what} did not come up (logs in {TMP[0] if TMP else '-'})")


def start_database(tmp: Path) -> None:
    pg_bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    data = tmp / "pg"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    sh("runuser", "-u", "postgres", "--", f"{pg_bin}/initdb", "-D", str(data), "-A", "trust",
       "-U", "postgres")  # fmt: skip
    with (data / "pg_hba.conf").open("a") as fh:
        fh.write("host all all 10.77.0.0/24 trust\n")
    db = HOSTS["db"]
    start(
        "db", "runuser", "-u", "postgres", "--", f"{pg_bin}/postgres", "-D", str(data),
        "-c", f"listen_addresses={db}", "-c", f"unix_socket_directories={data}",
        "-c", "max_connections=200",
    )  # fmt: skip
    wait_for(
        lambda: sh(*in_ns("db", "pg_isready", "-q", "-h", db), check=False).returncode == 0,
        "PostgreSQL",
    )
    sh(*in_ns("db", "createdb", "-h", db, "-U", "postgres", "vecinos"))
    start(
        "db", "redis-server", "--bind", db, "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no",
        "--dir", str(tmp), "--logfile", str(tmp / "redis.log"),
    )  # fmt: skip
    wait_for(
        lambda: (
            sh(*in_ns("db", "redis-cli", "-h", db, "ping"), check=False).stdout.strip() == "PONG"
        ),
        "Redis",
    )


def cluster_env(tmp: Path) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VECINOS_")},
        "VECINOS_ENV": "development",
        "VECINOS_DATA_DIR": str(tmp / "data"),  # media would live on shared storage
        "VECINOS_SECRET_KEY": secrets.token_urlsafe(48),
        "VECINOS_FIELD_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "VECINOS_DATABASE_URL": f"postgres://postgres@{HOSTS['db']}:5432/vecinos",
        "VECINOS_REDIS_URL": f"redis://{HOSTS['db']}:6379/0",
        "VECINOS_ALLOWED_HOSTS": HOSTS["web"],
        "VECINOS_PUBLIC_URL": f"http://{HOSTS['web']}:{WEB_PORT}",
        "VECINOS_SMS_TRANSPORT": "twilio",
        "VECINOS_TWILIO_API_URL": f"http://{HOSTS['stub']}:{STUB_PORT}",
        "VECINOS_TWILIO_ACCOUNT_SID": "ACbench",
        "VECINOS_TWILIO_AUTH_TOKEN": "token",
        "VECINOS_TWILIO_MESSAGING_SERVICE_SID": "MGbench",
        "VECINOS_TWILIO_SMS_RATE": "100000",  # measure this software, not the carrier's cap
        "VECINOS_LOG_LEVEL": "WARNING",
    }


def run_in(host: str, env: dict, *args: str) -> str:
    done = subprocess.run(
        in_ns(host, *args), env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"scaleout: {' '.join(args[:4])} failed on {host}:\n{done.stderr[-3000:]}")
    return done.stdout


def stub(path: str, method: str = "GET") -> dict:
    out = run_in(
        "stub", dict(os.environ), PY, "-c",
        "import sys,urllib.request;"
        f"r=urllib.request.Request('http://{HOSTS['stub']}:{STUB_PORT}{path}',method='{method}');"
        "sys.stdout.write(urllib.request.urlopen(r).read().decode())",
    )  # fmt: skip
    return json.loads(out)


def final_count(env: dict, alert: int) -> tuple[int, int]:
    sql = (
        "SELECT count(*) FILTER (WHERE status IN ('sent','delivered','failed','undelivered',"
        f"'cancelled')), count(*) FROM messaging_delivery WHERE ref_type='alert' AND ref_id={alert}"
    )
    out = run_in(
        "db", env, "psql", "-h", HOSTS["db"], "-U", "postgres", "-d", "vecinos", "-tAc", sql
    )
    done, total = out.strip().split("|")
    return int(done), int(total)


def start_workers(env: dict, hosts: list[str]) -> None:
    for host in hosts:
        start(host, PY, "-m", "vecinos.cli", "worker", env=env)
    time.sleep(3)  # connected to Redis and waiting


def stop_workers(hosts: list[str]) -> None:
    for host in hosts:
        for pid in sh("ip", "netns", "pids", ns(host), check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass
    time.sleep(2)
    kill_host(hosts)


def kill_host(hosts: list[str]) -> int:
    killed = 0
    for host in hosts:
        for pid in sh("ip", "netns", "pids", ns(host), check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def fan_out(env: dict, hosts: list[str], *, kill: str = "") -> dict:
    stub("/_reset", "POST")
    start_workers(env, hosts)
    sent = json.loads(run_in("web", env, PY, __file__, "--inner", "approve").splitlines()[-1])
    alert, recipients = sent["alert"], sent["recipients"]
    killed_at = None
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        done, total = final_count(env, alert)
        if kill and killed_at is None and done >= total // 2:
            killed_at = done
            print(f"  killing every process of {ns(kill)} at {done} of {total} final", flush=True)
            kill_host([kill])
        if total and done >= total:
            break
        time.sleep(0.5)
    elapsed = time.time() - sent["t0"]
    stop_workers([h for h in hosts if h != kill])
    stats = stub("/_stats")
    result = {
        "recipients": recipients,
        "elapsed_s": round(elapsed, 1),
        "rate": recipients / elapsed,
        "stub_numbers": stats["numbers"],
        "lost": recipients - stats["numbers"],
        "doubled": stats["numbers_twice"],
        "killed_at": killed_at,
    }
    print(f"  {len(hosts)} worker host(s){' (one killed)' if kill else ''}: {json.dumps(result)}",
          flush=True)  # fmt: skip
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inner", default="")
    parser.add_argument("--subscribers", type=int, default=50_000)
    args = parser.parse_args()
    if args.inner == "approve":
        inner_approve()
        return 0
    if os.geteuid() != 0:
        sys.exit("scaleout: needs root (ip netns)")
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda s, f: sys.exit(f"scaleout: interrupted ({s})"))
    tmp = Path(tempfile.mkdtemp(prefix="vecinos-scaleout-"))
    os.chmod(tmp, 0o755)
    TMP.append(tmp)
    try:
        build_network()
        start_database(tmp)
        env = cluster_env(tmp)
        run_in("web", env, PY, "-m", "vecinos.cli", "migrate", "--verbosity", "0")
        run_in("web", env, PY, str(ROOT / "bench" / "fanout.py"), "--inner", "seed",
               str(args.subscribers))  # fmt: skip
        start("stub", PY, str(ROOT / "bench" / "_twilio_stub.py"), "--host", HOSTS["stub"],
              "--port", str(STUB_PORT))  # fmt: skip
        stub_up = (
            "import urllib.request;"
            f"urllib.request.urlopen('http://{HOSTS['stub']}:{STUB_PORT}/_stats',timeout=2)"
        )
        wait_for(lambda: sh(*in_ns("stub", PY, "-c", stub_up), check=False).returncode == 0, "stub")
        web = start("web", str(ROOT / ".venv" / "bin" / "gunicorn"), "vecinos.wsgi",
                    "-b", f"{HOSTS['web']}:{WEB_PORT}", "-w", "2", "--threads", "8", env=env)  # fmt: skip
        probe = (
            "import urllib.request;"
            f"urllib.request.urlopen('http://{HOSTS['web']}:{WEB_PORT}/healthz',timeout=2)"
        )
        wait_for(lambda: sh(*in_ns("web", PY, "-c", probe), check=False).returncode == 0, "web")
        one = fan_out(env, ["w1"])
        two = fan_out(env, ["w1", "w2"])
        killed = fan_out(env, ["w1", "w2"], kill="w1")
        if web.poll() is not None:
            sys.exit("scaleout: the web host died")
        print(
            f"scaleout: 1 host {one['rate']:.0f}/s, 2 hosts {two['rate']:.0f}/s, speedup "
            f"{two['rate'] / one['rate']:.2f}; host killed mid fan-out: lost {killed['lost']}, "
            f"doubled {killed['doubled']}"
        )
    finally:
        teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
