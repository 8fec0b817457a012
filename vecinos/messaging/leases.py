"""The leases a worker holds, and how they come back when it dies.

A claimed delivery is "sending" under a lease (until when, and which process holds it). This
module keeps, per process, the rows it holds (``_held``: read by the senders at hand-over, so
no query per message), renews their leases from a heartbeat thread, learns which of them must
not go out any more (STOP, acknowledgement, cancelled by their owner), and sweeps: rows whose
lease ran out, or whose process is certainly dead, go back to the queue "outcome unknown" (the
next attempt asks the provider before sending again). ``kick`` wakes the workers.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from vecinos.messaging import dueset
from vecinos.messaging.models import Delivery, DeliveryStatus

log = logging.getLogger(__name__)

LEASE_SECONDS = 20  # default of settings.DELIVERY_LEASE_SECONDS (VECINOS_DELIVERY_LEASE)


def kick(senders: int = 1, *, at: datetime | None = None) -> None:
    """Wake workers. If the queue is down the rows are safe in the database: the sweeper (or
    the next kick) sends them, so the person who sent the alert must not see an error and be
    tempted to send it again."""
    from vecinos.messaging.tasks import dispatch_deliveries

    try:
        task = dispatch_deliveries if at is None else dispatch_deliveries.using(run_after=at)
        for _ in range(max(1, senders)):
            task.enqueue()
    except Exception:  # noqa: BLE001 - Redis/SQLite queue unavailable
        log.exception("could not wake a worker; the sweeper will send the queued deliveries")


@dataclass(slots=True)
class Claimed:
    """A delivery a worker holds under a lease: only what sending and recording need.

    Read with plain SQL (no model instances): at tens of thousands of messages a
    minute the ORM's per-row cost would be most of the worker's time.
    """

    pk: int
    channel: str
    language: str
    subject: str
    body: str
    idempotency_key: str
    expires_at: datetime | None
    attempts: int  # as claimed: the lease holder's token
    contact_id: int
    address: str
    outcome_unknown: bool
    usable: bool  # the contact point, as read right after the claim (STOP makes it False)
    unusable_reason: str
    acknowledged_at: datetime | None
    lease_until: datetime
    lease_seconds: int


def _proc_start(pid: int | str) -> str:
    """A process's start time in clock ticks since boot (/proc/PID/stat field 22)."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
        return fh.read().rsplit(")", 1)[1].split()[19]


@functools.cache
def _this_host() -> str:
    """host/pid namespace: where a process id means the same process as here ("" if unknown)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return ""
    return f"{socket.gethostname()[:24]}/{namespace}"


_process_ids: dict[int, str | None] = {}


def process_id() -> str | None:
    """This worker process, as recorded on the leases it holds; None where /proc is missing.
    Read once per process (every claim records it; a forked child has another pid)."""
    pid = os.getpid()
    if pid not in _process_ids:
        host = _this_host()
        try:
            _process_ids[pid] = f"{host}/{pid}/{_proc_start(pid)}" if host else None
        except (OSError, IndexError):
            _process_ids[pid] = None
    return _process_ids[pid]


def _is_dead(owner: str) -> bool:
    """True only for a process of this host and pid namespace that is certainly gone (no such
    pid, or the pid now belongs to a process started at another time)."""
    parts = owner.rsplit("/", 2)
    if len(parts) != 3 or not _this_host() or parts[0] != _this_host():
        return False
    _host, pid, started = parts
    if not pid.isdigit():
        return False
    try:
        return _proc_start(pid) != started
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        return False


def _send_by(delivery: Claimed) -> datetime:
    """The last moment to hand a claimed delivery to the provider: half-way through its lease.

    The rest of the lease is for the provider call itself (keep the lease above twice the
    slowest transport timeout): if the lease ran out while we sent, the sweeper could give the
    row to another worker, and a provider without idempotency keys (Twilio) would get it twice.
    """
    return delivery.lease_until - timedelta(seconds=delivery.lease_seconds / 2)


class _Held:
    """The deliveries this process holds under a lease, shared by its senders and heartbeat.

    For each: until when (monotonic) it may still be handed to a provider (half its lease as
    last written; the rest covers the provider call), its claim token, and, once known, why it
    must not be sent any more. The senders only read these dicts (no query at hand-over); the
    heartbeat renews the leases and refreshes the reasons.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.until: dict[int, float] = {}
        self.lease_end: dict[int, float] = {}
        self.claimed_at: dict[int, float] = {}
        self.tokens: dict[int, int] = {}
        self.withdrawn: dict[int, str] = {}
        self.beating = False  # a heartbeat thread renews this process's leases

    def add(self, deliveries: list[Claimed], now: datetime, mono: float) -> None:
        with self.lock:
            for d in deliveries:
                self.until[d.pk] = mono + (_send_by(d) - now).total_seconds()
                self.lease_end[d.pk] = mono + (d.lease_until - now).total_seconds()
                self.claimed_at[d.pk] = mono
                self.tokens[d.pk] = d.attempts
                self.withdrawn.pop(d.pk, None)

    def withdraw(self, pk: int, token: int, reason: str) -> None:
        with self.lock:
            if self.tokens.get(pk) == token:  # not a row recorded (and dropped) meanwhile
                self.withdrawn.setdefault(pk, reason)

    def drop(self, pks: Iterable[int]) -> None:
        with self.lock:
            for pk in pks:
                self.until.pop(pk, None)
                self.lease_end.pop(pk, None)
                self.claimed_at.pop(pk, None)
                self.tokens.pop(pk, None)
                self.withdrawn.pop(pk, None)

    def tokens_of(self, *, claimed_before: float | None = None) -> dict[int, int]:
        with self.lock:
            if claimed_before is None:
                return dict(self.tokens)
            return {pk: t for pk, t in self.tokens.items() if self.claimed_at[pk] <= claimed_before}

    def renewable(self, mono: float, margin: float) -> dict[int, int]:
        """Rows whose lease has more than margin seconds to run: nobody can have swept them.
        Rows already handed to a provider are renewed too, until their answer is recorded."""
        with self.lock:
            return {pk: t for pk, t in self.tokens.items() if self.lease_end[pk] > mono + margin}

    def renewed(self, pks: Iterable[int], mono: float, lease: float) -> None:
        with self.lock:
            for pk in pks:
                if pk in self.until:
                    self.until[pk] = max(self.until[pk], mono + lease / 2)
                    self.lease_end[pk] = max(self.lease_end[pk], mono + lease)

    def lease_ok(self, pk: int) -> bool:
        return time.monotonic() < self.until.get(pk, 0.0)

    def slot_deadline(self, pk: int) -> float:
        """The latest rate-limit slot worth booking for this row. A live heartbeat keeps
        renewing the lease, so a slot further ahead is fine; hand-over checks again anyway."""
        until = self.until.get(pk, 0.0)
        if self.beating:
            return max(until, time.monotonic() + _lease_seconds())
        return until


_held = _Held()


def _lease_seconds() -> int:
    return int(getattr(settings, "DELIVERY_LEASE_SECONDS", LEASE_SECONDS))


def _why_not(
    *,
    status: str,
    attempts: int,
    token: int,
    usable: bool,
    unusable_reason: str,
    acknowledged_at: datetime | None,
) -> str | None:
    """Why a held delivery must not be sent any more, or None. Messaging knows no alerts: an
    owner that stops a message (an all-clear, a cancelled alert) cancels its rows, a STOP
    makes the contact point unusable, an acknowledgement stamps the recipient's rows."""
    if status != DeliveryStatus.SENDING or attempts != token:
        return "cancelled while claimed" if status == DeliveryStatus.CANCELLED else "not held"
    if not usable:
        return unusable_reason or "contact unusable"
    if acknowledged_at is not None:
        return "acknowledged"
    return None


def sweep(*, kick_due: bool = True) -> int:
    """Put deliveries whose worker died (lease expired) back in the queue."""
    now = timezone.now()
    # Their worker may have handed them to the provider before it died: the next attempt
    # asks the provider first (outcome_unknown).
    expired = dueset.lease_ended(Delivery.objects.all(), now)
    requeued = expired.filter(status=DeliveryStatus.SENDING, lease_until__lt=now).update(
        status=DeliveryStatus.QUEUED, lease_until=None, next_attempt_at=now, outcome_unknown=True
    )
    if requeued:
        log.warning("re-queued %d deliveries whose worker stopped renewing their lease", requeued)
    requeued += _requeue_dead_owners(now)
    due = (
        kick_due
        and dueset.first_due(Delivery.objects.all(), now)
        .filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now)
        .exists()
    )
    if requeued or due:
        kick()
    return requeued


# A worker seen dead may have handed a message over just before: give the provider a moment to
# finish taking it, so the look-up before the next attempt finds it.
DEAD_OWNER_GRACE = 3.0
STARTUP_GRACE = 1.0


def _requeue_dead_owners(now: datetime, grace: float = DEAD_OWNER_GRACE) -> int:
    """Re-queue at once (well before their lease ends) the rows of dead workers of this host."""
    owners = (
        dueset.in_flight(Delivery.objects.all())
        .filter(status=DeliveryStatus.SENDING, lease_owner__isnull=False)
        .values_list("lease_owner", flat=True)
        .distinct()
    )
    dead = [owner for owner in owners if owner and _is_dead(owner)]
    if not dead:
        return 0
    at = now + timedelta(seconds=grace)
    in_flight = dueset.in_flight(Delivery.objects.all())
    requeued = in_flight.filter(status=DeliveryStatus.SENDING, lease_owner__in=dead).update(
        status=DeliveryStatus.QUEUED, lease_until=None, next_attempt_at=at, outcome_unknown=True
    )
    if requeued:
        log.warning("re-queued %d deliveries of a worker that died (%s)", requeued, dead)
        kick(at=at)
    return requeued


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def refresh_withdrawn(*, min_age: float = 0.5) -> int:
    """Learn which held deliveries must not go out any more (STOP, acknowledgement, cancelled
    by their owner): one query per 500 rows held longer than min_age seconds (the rest were
    checked with their claim). Senders waiting for a rate slot consult the result."""
    tokens = _held.tokens_of(claimed_before=time.monotonic() - min_age)
    found = 0
    for chunk in _chunks(list(tokens)):
        rows = Delivery.objects.filter(pk__in=chunk).values_list(
            "id", "status", "attempts", "contact__usable", "contact__unusable_reason",
            "acknowledged_at",
        )  # fmt: skip
        for pk, status, attempts, usable, unusable_reason, acknowledged_at in rows:
            reason = _why_not(
                status=status,
                attempts=attempts,
                token=tokens[pk],
                usable=usable,
                unusable_reason=unusable_reason,
                acknowledged_at=acknowledged_at,
            )
            if reason is not None:
                _held.withdraw(pk, tokens[pk], reason)
                found += 1
    return found


def renew_leases() -> int:
    """Extend the lease of every delivery this process holds (and may still hand over).

    Rows another transaction has locked are skipped, not waited for: that is this process's
    own sender recording their outcome (which ends the lease anyway). Waiting would lock rows
    in another order than the sender does, and PostgreSQL would end one of the two as a
    deadlock; a sender so ended left its rows "sending", renewed here for ever. A row skipped
    is not renewed in ``_held`` either: it is handed over only within its written lease."""
    lease = _lease_seconds()
    mono = time.monotonic()
    now = timezone.now()
    margin = min(1.0, lease / 4)
    tokens = _held.renewable(mono, margin)
    renewed = 0
    for chunk in _chunks(list(tokens)):
        with transaction.atomic():
            rows = Delivery.objects.filter(
                pk__in=chunk, status=DeliveryStatus.SENDING, lease_until__gt=now
            )
            if connection.features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True)
            ids = list(rows.values_list("id", flat=True))
            # (On PostgreSQL a trigger moves their due entries to the new end.)
            renewed += Delivery.objects.filter(pk__in=ids).update(
                lease_until=now + timedelta(seconds=lease)
            )
        # Only after the write: a sender hands a row over only within half its written lease.
        _held.renewed(ids, mono, lease)
    return renewed


def heartbeat() -> None:
    """One beat of a live worker: which held rows were withdrawn, renew, sweep the dead."""
    refresh_withdrawn()
    renew_leases()
    sweep(kick_due=False)


_heartbeat_lock = threading.Lock()


def start_heartbeat() -> bool:
    """Start this process's heartbeat thread (once). A worker keeps its leases short and
    renewed, so when it dies its rows come back within one lease, not after a long one and
    the once-a-minute sweep; the same thread sweeps every quarter lease and, every second,
    refreshes which held rows were withdrawn."""
    with _heartbeat_lock:
        if _held.beating:
            return False
        # A worker starting after another one of this host died (serve restarts it at once)
        # takes back the dead one's rows before any task runs, so they go out first (they come
        # first in the queue); the death was at least a boot ago, so a short grace will do.
        try:
            if _requeue_dead_owners(timezone.now(), grace=STARTUP_GRACE):
                time.sleep(STARTUP_GRACE)
        except Exception:  # noqa: BLE001 - the heartbeat will try again
            log.exception("could not re-queue the deliveries of a dead worker at startup")
        _held.beating = True
    threading.Thread(target=_beat_forever, name="vecinos-heartbeat", daemon=True).start()
    return True


def _beat_forever() -> None:
    quarter = max(0.5, _lease_seconds() / 4)
    tick = min(1.0, quarter)
    last = 0.0
    while True:
        time.sleep(tick)
        try:
            if time.monotonic() - last >= quarter:
                heartbeat()
                last = time.monotonic()
            else:
                refresh_withdrawn()
        except Exception:  # noqa: BLE001 - a busy database must not end the heartbeat
            log.exception("delivery heartbeat failed; retrying")
            connection.close()
