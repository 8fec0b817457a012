"""Event counters for /metrics (issue 15), which any app may increment; core imports no app.

Counters and histograms count events as they happen in whichever process they happen in (the
gunicorn workers, ``vecinos worker``): prometheus-client's multiprocess mode keeps each
process's values in a small memory-mapped file under ``<data dir>/metrics`` and /metrics adds
them up, so every process's counts are in one scrape. That mode is chosen when the library is
imported, from PROMETHEUS_MULTIPROC_DIR: nothing else in Vecinos imports prometheus_client, so
this module sets the variable first (an operator's own value wins). ``vecinos serve`` empties
the directory when it starts (vecinos.metrics.clear_stale_files).

State (the queue, what is in flight) is not counted here: vecinos.metrics reads it from the
database at scrape time, so it is true whichever process or host changed it.

No label ever carries personal data: label values are fixed names (a channel, a source, a
provider, an outcome), and ``_name`` turns anything else into "other" before it is used.
"""

from __future__ import annotations

import os
import re
import threading
import time
from bisect import bisect_left
from collections import Counter as _Tally
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

# Set beside PROMETHEUS_MULTIPROC_DIR when this module chose it: a child process (a test's
# `vecinos serve`, a benchmark's worker) inherits both, and one with another data dir must use
# its own directory, not count into (and, at serve start, empty) its parent's.
_CHOSEN = "VECINOS_METRICS_DIR_CHOSEN"


def _multiprocess_dir() -> Path:
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given and os.environ.get(_CHOSEN) != given:
        path = Path(given)  # the operator's own choice
    else:
        path = settings.DATA_DIR / "metrics"
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ[_CHOSEN] = str(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


MULTIPROCESS_DIR = _multiprocess_dir()

# After the directory is set: the library picks its storage when it is first imported.
from prometheus_client import CollectorRegistry, Counter, Histogram  # noqa: E402
from prometheus_client import values as _values  # noqa: E402

# False only if something imported prometheus_client before this module (then counts are per
# process, kept in REGISTRY, and /metrics shows this process's alone).
MULTIPROCESS = _values.ValueClass is not _values.MutexValue
REGISTRY = CollectorRegistry(auto_describe=True)

_NAME = re.compile(r"[a-z][a-z0-9_]{0,23}")


def _name(value: object) -> str:
    """A label value: a short lower-case name, or "other" (never a number, never free text)."""
    text = str(value)
    return text if _NAME.fullmatch(text) else "other"


DELIVERY_OUTCOMES = Counter(
    "vecinos_delivery_outcomes",
    "Deliveries a worker finished with, by channel and outcome (sent, delivered at once, "
    "retry, failed, expired, withdrawn, released back to the queue unsent).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PROVIDER_LATENCY = Histogram(
    "vecinos_provider_latency_seconds",
    "Time a provider took to answer one send request, by channel.",
    ["channel"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
PROVIDER_ERRORS = Counter(
    "vecinos_provider_errors",
    "Send requests a provider refused or failed, by channel and kind (transient: retried; "
    "permanent: the address will never work).",
    ["channel", "kind"],
    registry=REGISTRY,
)
REPORTS_RECEIVED = Counter(
    "vecinos_reports_received",
    "Reports that entered the dispatcher queue, by source (web, api, sms, voice, patrol, ...).",
    ["source"],
    registry=REGISTRY,
)
REPORT_VISIBILITY = Histogram(
    "vecinos_report_queue_visibility_seconds",
    "From the moment a report's request was taken up to its commit, when the dispatcher "
    "queue can show it.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
ESCALATION_STEPS = Counter(
    "vecinos_escalation_steps",
    "Escalation steps taken for people who had not acknowledged an alert, by action "
    "(a channel, or captain for a person's call).",
    ["action"],
    registry=REGISTRY,
)
WEBHOOK_FAILURES = Counter(
    "vecinos_webhook_failures",
    "Provider webhook requests refused, by provider and reason (bad_signature, bad_input).",
    ["provider", "reason"],
    registry=REGISTRY,
)


def delivery_outcomes(counts: Mapping[tuple[str, str], int]) -> None:
    """Add {(channel, outcome): n} to the delivery outcome counter."""
    for (channel, outcome), n in counts.items():
        if n:
            DELIVERY_OUTCOMES.labels(channel=_name(channel), outcome=_name(outcome)).inc(n)


_latency_of: dict[str, Any] = {}  # channel -> its labelled latency histogram
_LATENCY_BOUNDS = (*LATENCY_BUCKETS, float("inf"))  # each bucket's upper bound, as observe()


class _Latencies:
    """Provider latencies observed but not yet written to the histogram.

    In multiprocess mode each observation is two writes to a memory-mapped file, each with a
    lock and a check of the process id: at thousands of messages a second that was a
    twentieth of a worker's time. The sender notes each latency here (a lock and a list
    append) and ``flush`` adds them up per bucket and writes each bucket once, when the
    outcomes are recorded (a fraction of a second later)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[str, list[float]] = {}

    def note(self, channel: str, seconds: float) -> None:
        with self.lock:
            found = self.pending.get(channel)
            if found is None:
                self.pending[channel] = [seconds]
            else:
                found.append(seconds)

    def flush(self) -> None:
        with self.lock:
            taken, self.pending = self.pending, {}
        for channel, seconds in taken.items():
            latency = _latency_of.get(channel)
            if latency is None:  # once per channel: labels() takes a lock and checks the name
                latency = _latency_of[channel] = PROVIDER_LATENCY.labels(channel=_name(channel))
            buckets = getattr(latency, "_buckets", None)
            total = getattr(latency, "_sum", None)
            if buckets is None or total is None or len(buckets) != len(_LATENCY_BOUNDS):
                for value in seconds:  # another prometheus-client: one at a time
                    latency.observe(value)
                continue
            counts = _Tally(bisect_left(_LATENCY_BOUNDS, value) for value in seconds)
            for index, n in counts.items():
                buckets[index].inc(n)  # what observe() does, n observations at once
            total.inc(sum(seconds))


_latencies = _Latencies()
flush_provider_latency = _latencies.flush


def provider_answered(channel: str, started: float, error: BaseException | None = None) -> None:
    """One provider call that began at ``started`` (time.monotonic()) has ended. ``error`` is
    the transport's error, if it raised one: its ``permanent`` flag picks the kind. The
    latency reaches the histogram at the next ``flush_provider_latency``."""
    _latencies.note(channel, max(0.0, time.monotonic() - started))
    if error is not None:
        kind = "permanent" if getattr(error, "permanent", False) else "transient"
        PROVIDER_ERRORS.labels(channel=_name(channel), kind=kind).inc()


def report_received(source: str, started: float) -> None:
    """A report taken up at ``started`` (time.monotonic()) was written: counted when its
    transaction commits, which is when the queue can show it."""

    def count() -> None:
        REPORTS_RECEIVED.labels(source=_name(source)).inc()
        REPORT_VISIBILITY.observe(max(0.0, time.monotonic() - started))

    transaction.on_commit(count)


def escalation_steps(counts: Mapping[str, int]) -> None:
    """Count the steps an escalation run took ({action: n}; "skipped" is not a step)."""
    for action, n in counts.items():
        if n and action != "skipped":
            ESCALATION_STEPS.labels(action=_name(action)).inc(n)


def webhook_failed(provider: str, reason: str) -> None:
    WEBHOOK_FAILURES.labels(provider=_name(provider), reason=_name(reason)).inc()
