"""The README's first command: `vecinos serve` runs web + worker and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import migrated_data_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - localhost
        return response.status, response.read().decode()


@pytest.fixture
def served(tmp_path, migrated_data_template):
    port = free_port()
    env = {
        **os.environ,
        "VECINOS_ENV": "development",
        "VECINOS_DATA_DIR": str(migrated_data_dir(migrated_data_template, tmp_path / "data")),
        "VECINOS_PORT": str(port),
        "VECINOS_TASKS_IMMEDIATE": "false",
    }
    env.pop("VECINOS_DATABASE_URL", None)  # the embedded default, as the README runs it
    env.pop("VECINOS_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vecinos.cli", "serve", "--web-workers", "1", "--threads", "4"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # a wait, not a speed check: CI runs two suites at once
    while time.monotonic() < deadline:
        try:
            if get(base + "/healthz", 1)[0] == 200:
                break
        except OSError:
            time.sleep(0.3)
        assert proc.poll() is None, proc.stdout.read()
    else:
        proc.kill()
        pytest.fail("server did not answer /healthz within 240 s")
    yield proc, base, env
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_serve_runs_web_and_worker_with_demo_and_stops_on_ctrl_c(served):
    proc, base, env = served
    status, body = get(base + "/healthz")
    assert json.loads(body) == {
        "status": "ok",
        "database": "ok",
        "queue": "ok",
        "worker": "running",
        "worker_processes": 2,
        "worker_restarts": 0,
    }
    # Two workers (one sends on one core at most); only the first runs the periodic tasks.
    workers = _workers(proc.pid)
    assert len(workers) == 2, workers
    assert sorted(b"--no-periodic" in cmdline for _pid, cmdline in workers) == [False, True]
    assert get(base + "/signin/")[0] == 200
    # The workers started beside the web server consume the queue.
    check = subprocess.run(
        [sys.executable, "-m", "vecinos.cli", "check", "--worker", "--timeout", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert check.returncode == 0, check.stderr
    assert "worker: ok" in check.stdout
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert f"running at {base}/" in output
    assert "coordinator / " in output  # the demo sign-in is printed
    assert "Stopped." in output
    # Every worker stopped with it.
    assert not [pid for pid, _cmdline in workers if Path(f"/proc/{pid}").exists()]


def _workers(serve_pid: int) -> list[tuple[int, list[bytes]]]:
    """The `vecinos worker` children of a running `vecinos serve`: (pid, command line)."""
    found = []
    try:
        tasks = list(Path(f"/proc/{serve_pid}/task").iterdir())
    except OSError:
        return []  # serve has exited
    for task in tasks:
        for child in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"vecinos.cli" in cmdline and b"worker" in cmdline:
                found.append((int(child), cmdline))
    return found


def worker_pid(serve_pid: int) -> int | None:
    """The first `vecinos worker` child of a running `vecinos serve`."""
    found = _workers(serve_pid)
    return found[0][0] if found else None


def test_a_killed_worker_is_started_again_while_the_web_server_stays_up(served):
    proc, base, env = served
    victim = worker_pid(proc.pid)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    # The web server (and every webhook with it) keeps answering; /healthz tells the story.
    deadline = time.monotonic() + 30
    state: dict = {}
    while time.monotonic() < deadline:
        status, body = get(base + "/healthz")
        assert status == 200
        state = json.loads(body)
        if state.get("worker_restarts") == 1 and state.get("worker") == "running":
            break
        time.sleep(0.2)
    assert state["worker_restarts"] == 1 and state["worker"] == "running", state
    assert state["worker_last_exit_code"] == -signal.SIGKILL
    assert state["worker_last_exit"].endswith("Z")
    replacement = worker_pid(proc.pid)
    assert replacement is not None and replacement != victim
    # The new worker consumes the queue.
    check = subprocess.run(
        [sys.executable, "-m", "vecinos.cli", "check", "--worker", "--timeout", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert check.returncode == 0, check.stderr
    assert get(base + "/signin/")[0] == 200
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "The worker exited (code -9)" in output
    assert "starting it again now" in output
    assert "stopping" not in output
    assert not (Path(env["VECINOS_DATA_DIR"]) / "serve-state.json").exists()
