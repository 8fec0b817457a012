"""The background workers `vecinos serve` runs beside its web server (no Django here).

Several worker processes, not one with more threads: the sender is Python, and one process
sends on one core at most (its GIL), so a fan-out on a two-core host needs two. The first runs
the periodic tasks (sweeps, auditors), the others only take work from the queue; each claims
its own batches (leases, SKIP LOCKED), so they never send the same row. Each is started again
on its own when it dies, at once if it had run a while, else with a growing pause (a bad
setting, a database that is down). What serve knows about them goes to a JSON file in the data
directory for /healthz (vecinos.core.views), which reads it in the same shape as with one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

SERVE_STATE = "serve-state.json"
RESTART_PAUSE_MAX = 60.0  # seconds between restarts of a worker that keeps dying
STEADY_AFTER = 60.0  # a worker that ran this long before dying is restarted at once


class _Slot:
    """One worker process, and its restart history."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.pause = 0.0
        self.started = self.start_at = 0.0


class WorkerSupervisor:
    """Starts the workers, and each again when it dies (back-off if it keeps dying)."""

    def __init__(
        self, env: dict, state_file: Path, processes: int, preexec: Callable[[], None]
    ) -> None:
        self.env, self.state_file, self.preexec = env, state_file, preexec
        base = [sys.executable, "-m", "vecinos.cli", "worker"]
        self.slots = [_Slot(base if n == 0 else [*base, "--no-periodic"]) for n in range(processes)]
        self.state: dict = {"serve_pid": os.getpid(), "worker": "starting", "worker_restarts": 0}
        for slot in self.slots:
            self._start(slot)

    @property
    def procs(self) -> list[subprocess.Popen]:
        return [slot.proc for slot in self.slots if slot.proc is not None]

    def _start(self, slot: _Slot) -> None:
        slot.proc = subprocess.Popen(slot.command, env=self.env, preexec_fn=self.preexec)  # noqa: PLW1509 - serve runs no threads
        slot.started = time.monotonic()
        self._update()

    def poll(self) -> None:
        for slot in self.slots:
            if slot.proc is None:
                if time.monotonic() >= slot.start_at:
                    self._start(slot)
                continue
            rc = slot.proc.poll()
            if rc is not None:
                self._died(slot, rc)

    def _died(self, slot: _Slot, rc: int) -> None:
        ran = time.monotonic() - slot.started
        # At once after a worker that had been running a while; 1, 2, 4 ... 60 s while it keeps
        # dying soon after starting (a bad setting, a database that is down).
        slot.pause = 0.0 if ran >= STEADY_AFTER else min(RESTART_PAUSE_MAX, slot.pause * 2 or 1.0)
        if slot.restarts == 0:
            slot.pause = 0.0
        slot.restarts += 1
        slot.proc = None
        slot.start_at = time.monotonic() + slot.pause
        when = "now" if not slot.pause else f"in {slot.pause:g} s"
        print(
            f"{time.strftime('%Y-%m-%d %H:%M:%S')} The worker exited (code {rc}) after "
            f"{ran:.0f} s; starting it again {when}. The web server keeps running.",
            file=sys.stderr,
            flush=True,
        )
        self.state.update(
            worker_last_exit=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            worker_last_exit_code=rc,
        )
        self._update()

    def _update(self) -> None:
        running = [slot.proc.pid for slot in self.slots if slot.proc is not None]
        self.state.update(
            worker="running" if len(running) == len(self.slots) else "restarting",
            worker_pid=running[0] if running else None,
            worker_pids=running,
            worker_processes=len(self.slots),
            worker_restarts=sum(slot.restarts for slot in self.slots),
        )
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state))
        os.replace(tmp, self.state_file)

    def stop(self, deadline: float) -> None:
        """SIGTERM every worker (they finish their running tasks), SIGKILL any left at the
        deadline (time.monotonic())."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def forget(self) -> None:
        with contextlib.suppress(OSError):
            self.state_file.unlink()
