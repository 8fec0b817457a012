#!/usr/bin/env python3
"""Scale-out benchmark: several hosts on one machine, one of them killed mid fan-out.

Builds a small cluster as Linux network namespaces joined by a bridge (which lives in a
namespace of its own, so nothing here touches the machine's own network). Each host also has its
own host name (a UTS namespace), so to the workers' leases they are separate machines: a dead
host's deliveries come back when its leases run out, as they would across real machines.

    vx-db     10.77.0.2   PostgreSQL and Redis (fresh instances, data in a temporary directory)
    vx-web    10.77.0.3   gunicorn vecinos.wsgi (the web host; the approving click runs here)
    vx-w1     10.77.0.4   `vecinos worker`
    vx-w2     10.77.0.5   `vecinos worker`
    vx-stub   10.77.0.6   a Twilio-speaking stub (bench/_twilio_stub.py)

Each host runs exactly what ARCHITECTURE.md's runbook tells an operator to run, with the same
settings (production mode, database, Redis, secrets from files) and nothing else. It seeds 50,000 public subscribers, then
sends a public alert to all of them three times: with one worker host, with two, and with two
while every process of one worker host is killed (SIGKILL) halfway through. Every message is
counted at the stub: "lost" is a selected person the stub never received a message for,
"doubled" a number that received more than one. Then it backs the database up and restores it
into an empty one, as the runbook says.

Each worker host also gets its own CPU budget, as a real machine has its own processors: a CPU
cgroup per worker host (cgroup v2 ``cpu.max``, or v1 ``cpu.cfs_quota_us``) that lets its
processes use at most ``--host-cpus`` cores (default 0.5). Without it the "hosts" would all
share this machine's two cores with the database, the web host and the stub, and a second
worker host could add only contention, not capacity: the speedup would measure the machine, not
the design. ``--host-cpus 0`` turns the budgets off. The database, web and stub hosts are not
limited.

Needs root (ip netns) and PostgreSQL's and Redis's server binaries (Debian's postgresql and
redis-server packages). Traffic stays inside these namespaces: no namespace has a route to
anything but 10.77.0.0/24 and its loopback, and at the end the benchmark counts, in every
namespace, the attempts to address anything else (the kernel's OutNoRoutes); it fails if there
were any. The namespaces and processes are removed at the end, also when interrupted (SIGINT,
SIGTERM, SIGHUP); if this process is killed outright, every process it started gets SIGKILL
from the kernel (PostgreSQL an immediate shutdown), and `--cleanup` removes what is left.

    sudo .venv/bin/python bench/scaleout.py [--subscribers 50000] [--host-cpus 0.5] [--cleanup]

Ends with:
scaleout: 1 host <R1>/s, 2 hosts <R2>/s, speedup <S>; host killed mid fan-out: lost <L>, doubled <D>
(preceded by a line that says each worker host's CPU budget)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import glob
import json
import os
import re
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
VECINOS = str(ROOT / ".venv" / "bin" / "vecinos")  # the command the runbook names
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
    from vecinos.alerts.models import Alert, SmsBudget, Tier
    from vecinos.network.models import Member

    sys.path.insert(0, str(ROOT / "bench"))
    from fanout import CENTER

    alice, bruno = Member.objects.get(username="alice"), Member.objects.get(username="bruno")
    # Three alerts to everyone in one month: a budget above the default 50,000 messages (as a
    # coalition this size would set it), or the second is refused.
    org = alice.memberships.first().organization
    SmsBudget.objects.update_or_create(organization=org, defaults={"monthly_limit": 10_000_000})
    alert = services.alert_create(
        actor=alice,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.PUBLIC],
        messages={"es": "Operativo confirmado cerca.", "en": "Confirmed operation nearby."},
        point=CENTER,
        radius_m=50_000,  # everyone seeded (fanout.py spreads them over ~55 x 46 km)
    )
    services.alert_send(alert=alert, actor=alice)
    # Said before approving: the fan-out is watched (and a host killed) while this runs.
    print(json.dumps({"alert": alert.pk, "t0": time.time()}), flush=True)
    # Returns once the first chunk is written; a worker writes the rest (alerts/fanout.py).
    services.alert_approve(alert=alert, actor=bruno)


# --- Cluster plumbing ----------------------------------------------------------------------------


def sh(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def ns(host: str) -> str:
    return PREFIX + host


def in_ns(host: str, *args: str) -> list[str]:
    """A command on a host: its network namespace, and a UTS namespace with its own host name
    (the leases tell machines apart by host name; one shared name would make a dead host's
    processes look like dead processes of every host)."""
    return [
        "ip", "netns", "exec", ns(host), "unshare", "--uts", "--",
        "sh", "-c", 'hostname "$0" && exec "$@"', ns(host), *args,
    ]  # fmt: skip


def _pids(name: str) -> list[int]:
    out = sh("ip", "netns", "pids", name, check=False).stdout.split()
    return [int(pid) for pid in out if pid.isdigit()]


def _signal(pids: list[int], signum: int) -> int:
    sent = 0
    for pid in pids:
        try:
            os.kill(pid, signum)
            sent += 1
        except ProcessLookupError:
            pass
    return sent


def _comm(pid: int) -> tuple[str, int]:
    """A process's name and parent id (("", 0) once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            head, tail = fh.read().rsplit(")", 1)
        return head.split("(", 1)[1], int(tail.split()[1])
    except (OSError, IndexError, ValueError):
        return "", 0


def _alive(pids: list[int]) -> list[int]:
    """Those of pids still running (a zombie has finished: only its parent has not reaped it)."""
    running = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                    running.append(pid)
        except (OSError, IndexError):
            pass
    return running


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := _alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def stop_database() -> None:
    """PostgreSQL's immediate shutdown (SIGQUIT to the postmaster): no checkpoint (the data is
    thrown away), but it removes its shared memory, which a SIGKILL would leave behind (and a
    fast shutdown's checkpoint of a busy 50,000-person database can outlast the wait)."""
    pids = _pids(ns("db"))
    postgres = [pid for pid in pids if _comm(pid)[0] == "postgres"]
    postmasters = [pid for pid in postgres if _comm(_comm(pid)[1])[0] != "postgres"]
    _signal(postmasters, signal.SIGQUIT)
    _wait_gone(postgres, 20)


def teardown(*, files: bool = True, keep_logs: str = "") -> None:
    """Stop every process of the cluster and remove its namespaces (and files). Signals are
    held off meanwhile: a second Ctrl-C must not leave half a cluster behind."""
    held = {
        s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        for proc in PROCS:
            if proc.poll() is None and not proc.args[3].endswith("db"):
                proc.kill()
        for host in HOSTS:
            if host != "db":
                _signal(_pids(ns(host)), signal.SIGKILL)
        stop_database()
        remove_cpu_budgets()
        for name in [*(ns(h) for h in HOSTS), SWITCH]:
            pids = _pids(name)
            _signal(pids, signal.SIGKILL)
            _wait_gone(pids, 5)
            sh("ip", "netns", "del", name, check=False)
        for proc in PROCS:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        # Veth ends are made inside the namespaces, but an older version of this script made
        # them here first: an interrupted run of it could have left one behind.
        for line in sh("ip", "-o", "link", "show", check=False).stdout.splitlines():
            name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
            if name.startswith("vx") and name.removeprefix("vxp").removeprefix("vx") in HOSTS:
                sh("ip", "link", "del", name, check=False)
        if keep_logs and TMP and (TMP[0] / "logs").is_dir():
            shutil.copytree(TMP[0] / "logs", keep_logs, dirs_exist_ok=True)
        for path in TMP if files else []:
            shutil.rmtree(path, ignore_errors=True)
    finally:
        for signum, handler in held.items():
            signal.signal(signum, handler)


def build_network() -> None:
    teardown(files=False)  # what an interrupted earlier run may have left
    sh("ip", "netns", "add", SWITCH)
    sh("ip", "netns", "exec", SWITCH, "ip", "link", "add", "br0", "type", "bridge")
    sh("ip", "netns", "exec", SWITCH, "ip", "link", "set", "br0", "up")
    for host, address in HOSTS.items():
        name = ns(host)
        sh("ip", "netns", "add", name)
        # IPv4 on the bridge only: no IPv6 (no router solicitations, no multicast listeners).
        for key in ("all", "default"):
            sh("ip", "netns", "exec", name, "sysctl", "-qw", f"net.ipv6.conf.{key}.disable_ipv6=1")
        # A veth pair made right where its ends live (one in the host, one in the switch,
        # enslaved to the bridge): the machine's own namespace never holds either end.
        sh("ip", "-n", name, "link", "add", f"vx{host}", "type", "veth", "peer", "name",
           f"vxp{host}", "netns", SWITCH)  # fmt: skip
        sh("ip", "-n", SWITCH, "link", "set", f"vxp{host}", "master", "br0")
        sh("ip", "-n", SWITCH, "link", "set", f"vxp{host}", "up")
        sh("ip", "-n", name, "addr", "add", f"{address}/24", "dev", f"vx{host}")
        sh("ip", "-n", name, "link", "set", f"vx{host}", "up")
        sh("ip", "-n", name, "link", "set", "lo", "up")


def _die_with_us() -> None:
    """Started processes get SIGKILL from the kernel should this process be killed outright."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# --- CPU budgets: a worker host's processes share its own cores, not the machine's ---------------

CGROUP_V2 = Path("/sys/fs/cgroup")
CGROUP_V1 = Path("/sys/fs/cgroup/cpu")
CPU_PERIOD_US = 100_000
CGROUPS: dict[str, Path] = {}  # host -> its cgroup directory


def _cgroup_root() -> tuple[Path, int] | None:
    """Where CPU cgroups can be made here: (directory, cgroup version), or None."""
    controllers = CGROUP_V2 / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return CGROUP_V2, 2
    if (CGROUP_V1 / "cpu.cfs_quota_us").exists():
        return CGROUP_V1, 1
    return None


def make_cpu_budgets(hosts: list[str], cpus: float) -> str:
    """A CPU cgroup per host limited to ``cpus`` cores; returns what was set up, to print."""
    remove_cpu_budgets()
    if cpus <= 0:
        return "off (every host shares the machine's cores)"
    found = _cgroup_root()
    if found is None:
        sys.exit("scaleout: no CPU cgroup controller here; run with --host-cpus 0")
    root, version = found
    quota = max(1000, int(cpus * CPU_PERIOD_US))
    for host in hosts:
        path = root / (PREFIX + host)
        path.mkdir(exist_ok=True)
        if version == 2:
            (root / "cgroup.subtree_control").write_text("+cpu")
            (path / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
        else:
            (path / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(quota))
        CGROUPS[host] = path
    return f"{cpus:g} core(s) per worker host (cgroup v{version} CPU quota)"


def remove_cpu_budgets() -> None:
    found = _cgroup_root()
    for host in HOSTS:
        paths = [CGROUPS.pop(host, None)]
        if found is not None:
            paths.append(found[0] / (PREFIX + host))
        for path in filter(None, paths):
            with_procs = path / "cgroup.procs"
            if with_procs.exists() and with_procs.read_text().split():
                _signal([int(p) for p in with_procs.read_text().split()], signal.SIGKILL)
                time.sleep(0.2)
            with contextlib.suppress(OSError):
                path.rmdir()


def _enter(cgroup: Path | None):
    """preexec_fn: die with us, and join the host's CPU cgroup (children inherit it)."""

    def enter() -> None:
        _die_with_us()
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    return enter


def start(host: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    """A long-running process on a host; what it writes goes to <tmp>/logs/<host>.log."""
    logs = TMP[0] / "logs"
    logs.mkdir(exist_ok=True)
    with (logs / f"{host}.log").open("a") as log:
        proc = subprocess.Popen(
            in_ns(host, *args),
            env=on_host(host, env),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_enter(CGROUPS.get(host)),  # noqa: PLW1509 - this process runs no threads
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
    # setpriv rather than runuser: no parent process in between, and after the change of user
    # the postmaster still gets a signal should this process die (SIGQUIT: immediate shutdown).
    start(
        "db", "setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
        "--pdeathsig=QUIT", "--", f"{pg_bin}/postgres", "-D", str(data),
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
    """The settings every host gets, as the runbook lists them: production mode, the keys from
    files (root-only), the same database, Redis and provider."""
    keys = tmp / "keys"
    keys.mkdir(mode=0o700)
    (keys / "secret_key").write_text(secrets.token_urlsafe(48))
    (keys / "field_key").write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
    for key in keys.iterdir():
        key.chmod(0o600)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VECINOS_")},
        "VECINOS_ENV": "production",
        "VECINOS_DATA_DIR": str(tmp / "data"),  # media would live on shared storage
        "VECINOS_SECRET_KEY_FILE": str(keys / "secret_key"),
        "VECINOS_FIELD_KEY_FILE": str(keys / "field_key"),
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


def on_host(host: str, env: dict | None) -> dict | None:
    """The cluster's settings plus what is local to a machine: prometheus-client's directory
    of per-process counter files (the data directory is shared; these must not be)."""
    if env is None or "VECINOS_DATA_DIR" not in env:
        return env
    return {**env, "PROMETHEUS_MULTIPROC_DIR": str(TMP[0] / "local" / host / "metrics")}


def run_in(host: str, env: dict, *args: str) -> str:
    done = subprocess.run(
        in_ns(host, *args),
        env=on_host(host, env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
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


def psql(env: dict, sql: str, database: str = "vecinos") -> list[str]:
    out = run_in(
        "db", env, "psql", "-h", HOSTS["db"], "-U", "postgres", "-d", database, "-tAc", sql
    )
    return out.strip().split("|")


def progress(env: dict, alert: int) -> tuple[int, int, int, bool]:
    """Deliveries of the alert in a final state, deliveries written, recipients selected, and
    whether its recipients are still being written (by a worker, after the approval)."""
    done, total, recipients, writing = psql(
        env,
        "SELECT count(d.id) FILTER (WHERE d.status IN ('sent','delivered','failed',"
        "'undelivered','cancelled')), count(d.id), a.recipients_count, "
        "a.fanout_resume_after IS NOT NULL FROM alerts_alert a LEFT JOIN messaging_delivery d "
        f"ON d.ref_type='alert' AND d.ref_id=a.id WHERE a.id={alert} GROUP BY a.id",
    )
    return int(done), int(total), int(recipients or 0), writing == "t"


def start_workers(env: dict, hosts: list[str]) -> None:
    for host in hosts:
        start(host, VECINOS, "worker", env=env)
    # The runbook's check that a worker answers (a task round trip through Redis).
    run_in(hosts[-1], env, VECINOS, "check", "--worker", "--timeout", "60")
    time.sleep(1)  # the other hosts' workers are connected too


def stop_workers(hosts: list[str]) -> None:
    for host in hosts:
        _signal(_pids(ns(host)), signal.SIGTERM)
    time.sleep(2)
    kill_host(hosts)


def kill_host(hosts: list[str]) -> int:
    """kill -9 every process of these hosts: as if the machines lost power."""
    return sum(_signal(_pids(ns(host)), signal.SIGKILL) for host in hosts)


def fan_out(env: dict, tmp: Path, hosts: list[str], *, kill: str = "") -> dict:
    stub("/_reset", "POST")
    start_workers(env, hosts)
    with (tmp / "logs" / "approve.log").open("w") as log:
        approving = subprocess.Popen(
            in_ns("web", PY, __file__, "--inner", "approve"), env=on_host("web", env), cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE, stderr=log, preexec_fn=_die_with_us,  # noqa: PLW1509
        )  # fmt: skip
    PROCS.append(approving)
    line = approving.stdout.readline() if approving.stdout else ""
    if not line:
        approving.wait()
        sys.exit(
            f"scaleout: the approval failed:\n{(tmp / 'logs' / 'approve.log').read_text()[-3000:]}"
        )
    sent = json.loads(line)
    alert = sent["alert"]
    killed_at = None
    killed_while_writing = False
    done = total = recipients = 0
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        done, total, recipients, writing = progress(env, alert)
        if kill and killed_at is None and recipients and done >= recipients // 2:
            killed_at = done
            killed_while_writing = writing  # the fan-out's recipients were still being written
            killed = kill_host([kill])
            print(
                f"  killed {killed} processes of {ns(kill)} at {done} of {recipients}", flush=True
            )
        if approving.poll() is not None and (
            approving.returncode or (done >= total and not writing)
        ):
            break  # written and all final, or the approval failed (reported below)
        time.sleep(0.5)
    elapsed = time.time() - sent["t0"]
    if approving.wait() != 0:
        sys.exit(
            f"scaleout: the approval failed:\n{(tmp / 'logs' / 'approve.log').read_text()[-3000:]}"
        )
    stop_workers([h for h in hosts if h != kill])
    stats = stub("/_stats")
    result = {
        "recipients": recipients,
        "final": done,
        "elapsed_s": round(elapsed, 1),
        "rate": recipients / elapsed,
        "stub_numbers": stats["numbers"],
        "lost": recipients - stats["numbers"],
        "doubled": stats["numbers_twice"],
        "looked_up": stats["lists"],  # attempts of unknown outcome that asked the stub first
        "killed_at": killed_at,
        "killed_while_writing": killed_while_writing,
    }
    print(f"  {len(hosts)} worker host(s){' (one killed)' if kill else ''}: {json.dumps(result)}",
          flush=True)  # fmt: skip
    return result


def outside_attempts() -> dict[str, int]:
    """Per namespace: packets the kernel could not route, i.e. attempts to address anything
    but 10.77.0.0/24 and the loopback (no namespace has any other route), and routes other than
    those (there must be none)."""
    found = {}
    for name in [*(ns(h) for h in HOSTS), SWITCH]:
        snmp = sh("ip", "netns", "exec", name, "cat", "/proc/net/snmp").stdout.splitlines()
        ip = [line.split() for line in snmp if line.startswith("Ip:")]
        attempts = int(dict(zip(ip[0], ip[1], strict=True))["OutNoRoutes"])
        snmp6 = sh("ip", "netns", "exec", name, "cat", "/proc/net/snmp6", check=False).stdout
        for line in snmp6.splitlines():
            if line.startswith("Ip6OutNoRoutes"):
                attempts += int(line.split()[1])
        routes = sh("ip", "-n", name, "-4", "route", "show", "table", "all").stdout.splitlines()
        other = [r for r in routes if not r.startswith(("10.77.0.0/24 ", "local ", "broadcast "))]
        found[name] = attempts + len(other)
    return found


def backup_restore(env: dict, tmp: Path) -> dict:
    """The runbook's backup and restore: pg_dump -Fc, pg_restore into an empty database, then
    read it back with the same field key (phone numbers are ciphertext in the dump)."""
    dump = tmp / "backup.dump"
    run_in("db", env, "pg_dump", "-Fc", "-h", HOSTS["db"], "-U", "postgres", "-d", "vecinos",
           "-f", str(dump))  # fmt: skip
    run_in("db", env, "createdb", "-h", HOSTS["db"], "-U", "postgres", "vecinos_restored")
    run_in("db", env, "pg_restore", "-h", HOSTS["db"], "-U", "postgres", "-d", "vecinos_restored",
           str(dump))  # fmt: skip
    plain = run_in("db", env, "pg_restore", "-f", "-", str(dump))
    count = (
        "SELECT (SELECT count(*) FROM messaging_delivery), (SELECT count(*) FROM alerts_subscriber)"
    )
    restored_env = {**env, "VECINOS_DATABASE_URL": env["VECINOS_DATABASE_URL"] + "_restored"}
    readable = run_in("web", restored_env, PY, __file__, "--inner", "read").strip()
    # Where a seeded number appears in the clear, by table (COPY blocks) and column: none is
    # expected (contact points, members and deliveries hold ciphertext).
    # A whole number only: base64 ciphertext contains "+1213" by chance about once per 40 MB.
    number = re.compile(r"(?<![A-Za-z0-9+/])\+1213\d{7}(?!\d)")
    clear: dict[str, int] = {}
    table, columns = "", []
    for line in plain.splitlines():
        if line.startswith("COPY "):
            table = line.split()[1]
            columns = line[line.index("(") + 1 : line.index(")")].split(", ")
        elif number.search(line):
            cells = line.split("\t")
            where = [c for c, v in zip(columns, cells, strict=False) if number.search(v)] or ["?"]
            for column in where:
                key = f"{table}.{column}"
                clear[key] = clear.get(key, 0) + 1
    return {
        "dump_mb": round(dump.stat().st_size / 1e6, 1),
        "original": psql(env, count),
        "restored": psql(env, count, "vecinos_restored"),
        "numbers_in_clear": len(number.findall(plain)),
        "clear_in": clear,
        "read_with_field_key": readable,
    }


def inner_read() -> None:
    """On the restored database: one phone number, decrypted with the cluster's field key."""
    _django()
    from vecinos.messaging.models import ContactPoint

    contact = ContactPoint.objects.order_by("pk").first()
    print("yes" if contact and contact.address.startswith("+1213") else "no")


def cleanup_only() -> None:
    """What a run killed outright (SIGKILL) leaves: namespaces, and its temporary files."""
    teardown(files=False)
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "vecinos-scaleout-*")):
        shutil.rmtree(path, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path) -> int:
    build_network()
    budget = make_cpu_budgets(["w1", "w2"], args.host_cpus)
    print(f"  worker host CPU budget: {budget}", flush=True)
    start_database(tmp)
    env = cluster_env(tmp)
    run_in("web", env, VECINOS, "migrate", "--verbosity", "0")
    run_in("web", env, PY, str(ROOT / "bench" / "fanout.py"), "--inner", "seed",
           str(args.subscribers))  # fmt: skip
    start("stub", PY, str(ROOT / "bench" / "_twilio_stub.py"), "--host", HOSTS["stub"],
          "--port", str(STUB_PORT))  # fmt: skip
    stub_up = (
        "import urllib.request;"
        f"urllib.request.urlopen('http://{HOSTS['stub']}:{STUB_PORT}/_stats',timeout=2)"
    )
    wait_for(lambda: sh(*in_ns("stub", PY, "-c", stub_up), check=False).returncode == 0, "stub")
    # The web host, as the runbook starts it (behind the TLS proxy in real life).
    web = start("web", str(ROOT / ".venv" / "bin" / "gunicorn"), "vecinos.wsgi",
                "-b", f"{HOSTS['web']}:{WEB_PORT}", "-w", "2", "--threads", "8",
                "--logger-class", "vecinos.core.gunicorn_logger.PrivateLogger",
                "--no-control-socket", env=env)  # fmt: skip
    probe = (
        "import urllib.request;"
        f"urllib.request.urlopen('http://{HOSTS['web']}:{WEB_PORT}/healthz',timeout=2)"
    )
    wait_for(lambda: sh(*in_ns("web", PY, "-c", probe), check=False).returncode == 0, "web")
    one = fan_out(env, tmp, ["w1"])
    two = fan_out(env, tmp, ["w1", "w2"])
    killed = fan_out(env, tmp, ["w1", "w2"], kill="w1")
    if web.poll() is not None:
        sys.exit("scaleout: the web host died")
    print(f"  backup and restore: {json.dumps(backup_restore(env, tmp))}", flush=True)
    outside = outside_attempts()
    print(f"  attempts to address anything but 10.77.0.0/24 and loopback: {json.dumps(outside)}",
          flush=True)  # fmt: skip
    print(
        f"scaleout: 1 host {one['rate']:.0f}/s, 2 hosts {two['rate']:.0f}/s, speedup "
        f"{two['rate'] / one['rate']:.2f}; host killed mid fan-out: lost {killed['lost']}, "
        f"doubled {killed['doubled']}"
    )
    return 1 if any(outside.values()) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inner", default="", help=argparse.SUPPRESS)
    parser.add_argument("--subscribers", type=int, default=50_000)
    parser.add_argument(
        "--host-cpus", type=float, default=0.5,
        help="cores each worker host may use (a CPU cgroup per host); 0: no limit",
    )  # fmt: skip
    parser.add_argument("--cleanup", action="store_true", help="only remove what a killed run left")
    parser.add_argument("--logs", default="", help="copy every host's log to this directory")
    args = parser.parse_args()
    if args.inner:
        {"approve": inner_approve, "read": inner_read}[args.inner]()
        return 0
    if os.geteuid() != 0:
        sys.exit("scaleout: needs root (ip netns)")
    if args.cleanup:
        cleanup_only()
        return 0
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda s, f: sys.exit(f"scaleout: interrupted ({s})"))
    tmp = Path(tempfile.mkdtemp(prefix="vecinos-scaleout-"))
    os.chmod(tmp, 0o755)
    TMP.append(tmp)
    try:
        return run(args, tmp)
    finally:
        teardown(keep_logs=args.logs)


if __name__ == "__main__":
    sys.exit(main())
