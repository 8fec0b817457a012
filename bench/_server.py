"""Start `vecinos serve` the way the README's first command does, in a throwaway data dir."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, env: dict) -> str:
    return subprocess.run(
        [str(PY), "-m", "vecinos.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout


def _stat(path: Path) -> tuple[int, float]:
    """(parent pid, CPU seconds used so far, user + system) of one /proc/<pid> entry."""
    fields = (path / "stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 once it is gone."""
    try:
        return _stat(Path(f"/proc/{pid}"))[1]
    except OSError:
        return 0.0


def tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by a process and every live descendant: the whole server,
    gunicorn's processes and the background workers."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = _stat(entry)
            except OSError:
                continue
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == current)
    return total


@contextmanager
def served(extra_env: dict | None = None, serve_args: tuple[str, ...] = ()):
    data = Path(tempfile.mkdtemp(prefix="vecinos-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "VECINOS_ENV": "development",
        "VECINOS_DATA_DIR": str(data),
        "VECINOS_PORT": str(port),
        "VECINOS_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    proc = subprocess.Popen(
        [str(PY), "-m", "vecinos.cli", "serve", *serve_args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env["BENCH_SERVER_PID"] = str(proc.pid)  # for tree_cpu_s; not seen by the server
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:  # noqa: S310
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            sys.exit("server exited during start")
    try:
        yield base, env
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)
