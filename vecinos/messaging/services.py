"""The one sender: create deliveries, claim them under a lease, send, record the outcome.

Nothing lost: a delivery row is written in the caller's transaction before any provider call;
a worker that dies mid-send leaves rows in "sending" whose lease expires, and the sweeper puts
them back in the queue. Nothing doubled: the unique idempotency key refuses a second row, and
the provider call carries the same key.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from vecinos.core.bulk import insert_rows
from vecinos.core.coalition import brand_sms
from vecinos.core.crypto import blind_index, encrypt
from vecinos.messaging import metrics  # issue 15: provider latency, errors, outcomes
from vecinos.messaging.models import (
    FINAL_STATUSES,
    Channel,
    ContactPoint,
    Delivery,
    DeliveryStatus,
)
from vecinos.transports.base import OutboundMessage, SendResult, TransportError
from vecinos.transports.registry import get_transport

log = logging.getLogger(__name__)

# Transient errors: a message with an expiry (every alert has one) is retried until its next
# try would come after that expiry, so a provider outage of minutes only delays it; a message
# without one gives up after MAX_ATTEMPTS. RETRY_CAP bounds both.
MAX_ATTEMPTS = 6
RETRY_CAP = 60
BACKOFF_MAX = 120  # seconds between tries at most
LEASE_SECONDS = 20  # default of settings.DELIVERY_LEASE_SECONDS (VECINOS_DELIVERY_LEASE)
BACKOFF_BASE = 5  # default of settings.DELIVERY_BACKOFF_BASE (VECINOS_DELIVERY_BACKOFF_BASE)


def address_index(channel: str, address: str) -> str:
    # Phones share one index across SMS and voice and with Member.phone_index.
    if channel in (Channel.SMS, Channel.VOICE, Channel.SIGNAL):
        return blind_index(address, purpose="phone")
    if channel == Channel.EMAIL:
        return blind_index(address.strip().lower(), purpose="email")
    return blind_index(address, purpose=channel)


def contact_point(*, channel: str, address: str, member=None, language: str = "es") -> ContactPoint:
    index = address_index(channel, address)
    contact, created = ContactPoint.objects.get_or_create(
        channel=channel,
        address_index=index,
        defaults={"address": address, "member": member, "language": language},
    )
    if not created and member is not None and contact.member_id is None:
        contact.member = member
        contact.save(update_fields=["member"])
    return contact


@dataclass
class DeliverySpec:
    purpose: str
    contact: ContactPoint | None
    body: str
    language: str
    key: str  # unique per (purpose, ref, contact, channel, step)
    ref_type: str = ""
    ref_id: int | None = None
    ref_item: int | None = None
    subject: str = ""
    expires_at: datetime | None = None
    # For large fan-outs: the contact point by id and channel, without loading it.
    contact_id: int | None = None
    channel: str = ""


_INSERT_COLUMNS = (
    "purpose", "ref_type", "ref_id", "ref_item", "contact_id", "channel", "language", "subject",
    "body", "idempotency_key", "status", "attempts", "next_attempt_at", "expires_at",
    "provider_id", "last_error", "created_at", "outcome_unknown",
)  # fmt: skip


def deliveries_enqueue(specs: Iterable[DeliverySpec]) -> int:
    # Every message starts with the coalition's short name (core.coalition.brand_sms).
    """Insert deliveries (in the caller's transaction) and wake a worker on commit.

    Plain multi-row INSERTs (core.bulk). A second insert of the same idempotency key is
    ignored by the database (ON CONFLICT DO NOTHING / INSERT OR IGNORE).
    """
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    now_db = adapt(now)
    values = [
        (
            s.purpose,
            s.ref_type,
            s.ref_id,
            s.ref_item,
            s.contact.pk if s.contact is not None else s.contact_id,
            s.contact.channel if s.contact is not None else s.channel,
            s.language,
            s.subject[:200],
            encrypt(brand_sms(s.body)),  # the raw INSERT skips the field's own encryption
            s.key,
            DeliveryStatus.QUEUED.value,
            0,
            now_db,
            adapt(s.expires_at) if s.expires_at is not None else None,
            "",
            "",
            now_db,
            False,
        )
        for s in specs
    ]
    if not values:
        return 0
    insert_rows(Delivery._meta.db_table, _INSERT_COLUMNS, values, ignore_conflicts=True)
    # Big fan-outs wake several senders (they claim disjoint batches); small ones, one.
    senders = min(settings.DELIVERY_PARALLEL_TASKS, -(-len(values) // settings.DELIVERY_BATCH_SIZE))
    transaction.on_commit(lambda: kick(senders))
    return len(values)


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

    Read with one values_list query (no model instances): at tens of thousands of messages a
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


def claim_batch(limit: int = 200, lease_seconds: int | None = None) -> list[Claimed]:
    if lease_seconds is None:
        lease_seconds = getattr(settings, "DELIVERY_LEASE_SECONDS", LEASE_SECONDS)
    now = timezone.now()
    lease_until = now + timedelta(seconds=lease_seconds)
    with transaction.atomic():
        due = Delivery.objects.filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now)
        if connection.features.has_select_for_update_skip_locked:
            # Several workers on several hosts each take a disjoint batch.
            due = due.select_for_update(skip_locked=True)
        ids = list(due.order_by("id").values_list("id", flat=True)[:limit])
        if not ids:
            return []
        Delivery.objects.filter(id__in=ids).update(
            status=DeliveryStatus.SENDING,
            lease_until=lease_until,
            lease_owner=process_id(),
            attempts=F("attempts") + 1,
        )
    rows = (
        Delivery.objects.filter(id__in=ids)
        .order_by("id")
        .values_list(
            "id", "channel", "language", "subject", "body", "idempotency_key", "expires_at",
            "attempts", "contact_id", "contact__address", "outcome_unknown",
            "contact__usable", "contact__unusable_reason", "acknowledged_at",
        )
    )  # fmt: skip
    return [Claimed(*row, lease_until=lease_until, lease_seconds=lease_seconds) for row in rows]


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


def process_id() -> str | None:
    """This worker process, as recorded on the leases it holds; None where /proc is missing."""
    host = _this_host()
    if not host:
        return None
    try:
        return f"{host}/{os.getpid()}/{_proc_start(os.getpid())}"
    except (OSError, IndexError):
        return None


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


class RateLimiter:
    """Token bucket per transport, per process."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_at = time.monotonic()
        self.lock = threading.Lock()

    def reserve(self, deadline: float | None = None) -> float | None:
        """Book the next slot: seconds to wait for it, or None when it is after deadline."""
        if not self.interval:
            return 0.0
        with self.lock:
            now = time.monotonic()
            at = max(self.next_at, now)
            if deadline is not None and at > deadline:
                return None
            self.next_at = at + self.interval
        return max(0.0, at - now)

    def wait(self, deadline: float | None = None) -> bool:
        """Wait for a slot; False (no slot taken) when the next one is after deadline."""
        delay = self.reserve(deadline)
        if delay is None:
            return False
        if delay:
            time.sleep(delay)
        return True


_limiters: dict[str, RateLimiter] = {}


def _limiter(channel: str, rate: float) -> RateLimiter:
    lim = _limiters.get(channel)
    if lim is None:
        lim = _limiters[channel] = RateLimiter(rate)
    return lim


def _status_callback_url() -> str:
    return f"{settings.PUBLIC_URL}/hooks/twilio/status"


def _send_by(delivery: Claimed) -> datetime:
    """The last moment to hand a claimed delivery to the provider: half-way through its lease.

    The rest of the lease is for the provider call itself (keep the lease above twice the
    slowest transport timeout): if the lease ran out while we sent, the sweeper could give the
    row to another worker, and a provider without idempotency keys (Twilio) would get it twice.
    """
    return delivery.lease_until - timedelta(seconds=delivery.lease_seconds / 2)


@dataclass(frozen=True, slots=True)
class Skip:
    """The outcome of a claimed delivery that must not be handed over any more (the number
    texted STOP, the recipient acknowledged, its owner cancelled it, it expired): the row is
    cancelled with this reason, unsent."""

    reason: str


# The outcome of a claimed delivery not handed to the provider because its lease was running
# out (a slow rate limit, a long queue in the thread pool): it goes back to the queue unsent.
NOT_SENT = None
EXPIRED = Skip("expired before sending")

Outcome = tuple[int, SendResult | TransportError | Skip | None]


def _message(delivery: Claimed, now: datetime, callback: str) -> OutboundMessage:
    validity = None
    if delivery.expires_at is not None:
        validity = max(1, int((delivery.expires_at - now).total_seconds()))
    return OutboundMessage(
        channel=delivery.channel,
        address=delivery.address,
        body=delivery.body,
        language=delivery.language,
        idempotency_key=delivery.idempotency_key,
        subject=delivery.subject,
        validity_seconds=validity,
        status_callback=callback,
        extra={"delivery_id": delivery.pk},
    )


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


def _verdict(
    pk: int, message: OutboundMessage, expires_at: datetime | None
) -> OutboundMessage | Skip | None:
    """Right before a delivery goes to the provider: the message to send, with the validity
    left now (not when the batch was claimed), or why not."""
    if not _held.lease_ok(pk):
        return NOT_SENT
    reason = _held.withdrawn.get(pk)
    if reason is not None:
        return Skip(reason)
    if expires_at is None:
        return message
    left = int((expires_at - timezone.now()).total_seconds())
    if left < 1:
        return EXPIRED
    if left == message.validity_seconds:
        return message  # the usual case on the hot path: no new object
    return dataclasses.replace(message, validity_seconds=left)


class _Loop:
    """One event loop per worker process, in a daemon thread, for transports with send_async.

    Thousands of provider requests can be in flight on a handful of sockets while the
    worker's own threads record outcomes; the ORM never runs on this loop. A batch goes over
    in one call and its outcomes come back through a thread-safe queue as they finish, so the
    per-message cost of crossing between threads is one queue put.
    """

    def __init__(self) -> None:
        import asyncio

        self.loop = asyncio.new_event_loop()
        self.sessions: dict[str, Any] = {}
        self.semaphore: Any = None
        thread = threading.Thread(target=self.loop.run_forever, name="vecinos-send", daemon=True)
        thread.start()
        atexit.register(self.close)

    def close(self) -> None:
        import asyncio

        async def _close_all() -> None:
            for session in list(self.sessions.values()):
                await session.close()
            self.sessions.clear()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_close_all(), self.loop).result(timeout=2)

    def _session(self, transport) -> Any:
        import aiohttp

        key = type(transport).__name__
        session = self.sessions.get(key)
        if session is None:
            connector = aiohttp.TCPConnector(limit=settings.DELIVERY_CONCURRENCY * 4)
            session = self.sessions[key] = aiohttp.ClientSession(connector=connector)
        return session

    async def _send(self, pk: int, transport, message, expires_at, look: bool) -> Outcome:
        import asyncio

        async with self.semaphore:
            delay = _limiter(message.channel, transport.rate_limit).reserve(_held.slot_deadline(pk))
            if delay is None:
                return pk, NOT_SENT
            if delay:
                await asyncio.sleep(delay)
            try:
                session = self._session(transport)
                if look and hasattr(transport, "find_sent_async"):
                    # The last attempt may have gone through: that is settled first, before
                    # any other verdict (expired, withdrawn), and never sent twice.
                    if not _held.lease_ok(pk):
                        return pk, NOT_SENT
                    found = await transport.find_sent_async(message, session)
                    if found is not None:
                        return pk, found
                ready = _verdict(pk, message, expires_at)
                if not isinstance(ready, OutboundMessage):
                    return pk, ready
                return pk, await metrics.timed_send_async(transport, ready, session)
            except TransportError as exc:
                return pk, exc
            except Exception as exc:  # noqa: BLE001 - an adapter bug must not lose the delivery
                log.exception("transport %s crashed", message.channel)
                return pk, TransportError(f"crash: {type(exc).__name__}")

    async def _send_all(self, jobs: list, out: queue.SimpleQueue) -> None:
        import asyncio

        if self.semaphore is None:
            self.semaphore = asyncio.Semaphore(settings.DELIVERY_CONCURRENCY * 4)

        def done(pk: int, task: asyncio.Future) -> None:
            # _send catches every error; only a cancellation at shutdown gets here unanswered.
            if task.cancelled():
                out.put((pk, TransportError("cancelled")))
            else:
                out.put(task.result())

        for pk, transport, message, expires_at, look in jobs:
            task = asyncio.ensure_future(self._send(pk, transport, message, expires_at, look))
            task.add_done_callback(functools.partial(done, pk))

    def submit_all(self, jobs: list) -> queue.SimpleQueue:
        """Start sending every (pk, transport, message, expiry, look); outcomes come back."""
        import asyncio

        out: queue.SimpleQueue = queue.SimpleQueue()
        asyncio.run_coroutine_threadsafe(self._send_all(jobs, out), self.loop)
        return out


_loop_holder: dict[str, _Loop] = {}
_loop_lock = threading.Lock()


def _send_loop() -> _Loop:
    with _loop_lock:
        if "loop" not in _loop_holder:
            _loop_holder["loop"] = _Loop()
        return _loop_holder["loop"]


def _send_one(delivery: Claimed, message: OutboundMessage) -> Outcome:
    transport = get_transport(delivery.channel)
    pk = delivery.pk
    try:
        if not _limiter(delivery.channel, transport.rate_limit).wait(_held.slot_deadline(pk)):
            return pk, NOT_SENT
        if delivery.outcome_unknown and hasattr(transport, "find_sent"):
            # The last attempt may have gone through: settled first, never sent twice.
            if not _held.lease_ok(pk):
                return pk, NOT_SENT
            found = transport.find_sent(message)
            if found is not None:
                return pk, found
        ready = _verdict(pk, message, delivery.expires_at)
        if not isinstance(ready, OutboundMessage):
            return pk, ready
        return pk, metrics.timed_send(transport, ready)
    except TransportError as exc:
        return pk, exc
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not lose the delivery
        log.exception("transport %s crashed", delivery.channel)
        return pk, TransportError(f"crash: {type(exc).__name__}")


def _backoff(attempts: int) -> timedelta:
    base = getattr(settings, "DELIVERY_BACKOFF_BASE", BACKOFF_BASE)
    return timedelta(seconds=min(BACKOFF_MAX, base * 2 ** max(0, min(attempts, 20) - 1)))


def _gives_up(delivery: Claimed, error: TransportError, now: datetime) -> bool:
    if error.permanent or delivery.attempts >= RETRY_CAP:
        return True
    if delivery.expires_at is None:
        return delivery.attempts >= MAX_ATTEMPTS
    return now + _backoff(delivery.attempts) >= delivery.expires_at


# Outcomes are recorded in groups of at most this many as they arrive: a worker killed
# mid-batch loses (and later re-sends under the same idempotency key) at most one group.
RECORD_EVERY = 100


def _can_look(transport) -> bool:
    return hasattr(transport, "find_sent") or hasattr(transport, "find_sent_async")


def send_batch(deliveries: list[Claimed], *, concurrency: int | None = None) -> dict[str, int]:
    """Send claimed deliveries concurrently and record every outcome."""
    now = timezone.now()
    mono = time.monotonic()
    _held.add(deliveries, now, mono)
    counts = {"sent": 0, "retry": 0, "failed": 0, "expired": 0, "released": 0, "withdrawn": 0}
    transports = {channel: get_transport(channel) for channel in {d.channel for d in deliveries}}
    live: list[Claimed] = []
    pending: list[Outcome] = []
    for d in deliveries:
        # Read with the claim, just now: a STOP or an acknowledgement since the alert went out.
        reason = _why_not(
            status=DeliveryStatus.SENDING,
            attempts=d.attempts,
            token=d.attempts,
            usable=d.usable,
            unusable_reason=d.unusable_reason,
            acknowledged_at=d.acknowledged_at,
        )
        if reason is not None:
            _held.withdraw(d.pk, d.attempts, reason)
        expired = d.expires_at is not None and d.expires_at <= now
        if d.outcome_unknown and _can_look(transports[d.channel]):
            live.append(d)  # the look-up comes before any verdict: it may have gone out
        elif reason is not None:
            pending.append((d.pk, Skip(reason)))
        elif expired:
            pending.append((d.pk, EXPIRED))
        else:
            live.append(d)
    workers = concurrency or settings.DELIVERY_CONCURRENCY
    by_id = {d.pk: d for d in deliveries}
    callback = _status_callback_url()
    # Transports that write to our own database (console) run in this thread, in this
    # transaction's connection; network transports with send_async run on the worker's event
    # loop; the rest in a thread pool. Each delivery is checked again right before it goes
    # out (_verdict): lease, STOP / acknowledgement / cancellation, expiry.
    jobs: list[tuple[int, Any, OutboundMessage, datetime | None, bool]] = []
    pooled: list[tuple[Claimed, OutboundMessage]] = []
    for d in live:
        transport = transports[d.channel]
        message = _message(d, now, callback)
        if transport.inline:
            pending.append(_send_one(d, message))
        elif not _held.lease_ok(d.pk):
            pending.append((d.pk, NOT_SENT))
        elif hasattr(transport, "send_async"):
            jobs.append((d.pk, transport, message, d.expires_at, d.outcome_unknown))
        else:
            pooled.append((d, message))

    def flush() -> None:
        _record(pending, by_id, counts)
        pending.clear()

    if jobs:
        out = _send_loop().submit_all(jobs)
        left = len(jobs)
        while left:
            pending.append(out.get())
            left -= 1
            # Take whatever else has already arrived, then record it in one transaction.
            while left and len(pending) < RECORD_EVERY:
                try:
                    pending.append(out.get_nowait())
                except queue.Empty:
                    break
                left -= 1
            if len(pending) >= RECORD_EVERY or not left or out.empty():
                flush()
    if pooled:

        def one(item: tuple[Claimed, OutboundMessage]) -> Outcome:
            try:
                return _send_one(*item)
            finally:
                # This pool's threads end with the batch: close any connection a transport
                # opened here (connections are per thread, and may be kept for minutes).
                connections.close_all()

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pooled)))) as pool:
            futures = [pool.submit(one, item) for item in pooled]
            for future in as_completed(futures):
                pending.append(future.result())
                if len(pending) >= RECORD_EVERY:
                    flush()
    flush()
    return counts


def _record(outcomes: list[Outcome], by_id: dict[int, Claimed], counts: dict[str, int]) -> None:
    """Write outcomes in one transaction, with plain parameterized UPDATEs.

    Every update matches (status "sending", attempts as claimed): the claim counter is the
    lease holder's token. If our lease expired and the sweeper gave the row to another worker
    (which bumped attempts), our outcome must not overwrite theirs.
    """
    if not outcomes:
        return
    now = timezone.now()
    metrics.count_outcomes(outcomes, by_id, now)  # issue 15
    adapt = connection.ops.adapt_datetimefield_value
    now_db = adapt(now)
    done: list[tuple] = []
    released: list[tuple[int, int]] = []
    skipped: list[tuple[str, int, int]] = []
    errors: list[tuple[Claimed, TransportError]] = []
    for pk, outcome in outcomes:
        d = by_id[pk]
        if outcome is NOT_SENT:
            released.append((pk, d.attempts))
        elif isinstance(outcome, Skip):
            skipped.append((outcome.reason[:200], pk, d.attempts))
            counts["expired" if outcome is EXPIRED else "withdrawn"] += 1
        elif isinstance(outcome, SendResult):
            delivered = outcome.status == "delivered"
            status = DeliveryStatus.DELIVERED if delivered else DeliveryStatus.SENT
            final = now_db if delivered else None
            # A message found at the provider went out when it says, not when we looked.
            sent = adapt(outcome.sent_at) if outcome.sent_at is not None else now_db
            provider_id = outcome.provider_id[:64]
            done.append((status.value, provider_id, sent, final, False, pk, d.attempts))
        else:
            errors.append((d, outcome))
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sending = DeliveryStatus.SENDING.value
    cancelled = DeliveryStatus.CANCELLED.value
    with transaction.atomic(), connection.cursor() as cursor:
        if done:
            # A row its owner cancelled while the message was already on its way is recorded
            # as what happened: sent.
            cursor.executemany(
                f"UPDATE {table} SET status = %s, provider_id = %s, sent_at = %s, "  # noqa: S608
                f"final_at = %s, lease_until = NULL, last_error = '', outcome_unknown = %s "
                f"WHERE id = %s AND status IN ('{sending}', '{cancelled}') AND attempts = %s",
                done,
            )
            counts["sent"] += len(done)
        if skipped:
            cursor.executemany(
                f"UPDATE {table} SET status = '{cancelled}', final_at = %s, "  # noqa: S608
                f"lease_until = NULL, last_error = %s "
                f"WHERE id = %s AND status = '{sending}' AND attempts = %s",
                [(now_db, reason, pk, attempts) for reason, pk, attempts in skipped],
            )
        if released:
            # Never reached the provider: back to the queue, and the attempt does not count.
            cursor.executemany(
                f"UPDATE {table} SET status = '{DeliveryStatus.QUEUED.value}', "  # noqa: S608
                f"lease_until = NULL, next_attempt_at = %s, attempts = attempts - 1 "
                f"WHERE id = %s AND status = '{sending}' AND attempts = %s",
                [(now_db, pk, attempts) for pk, attempts in released],
            )
            counts["released"] += len(released)
        for d, error in errors:
            holder = Delivery.objects.filter(
                pk=d.pk, status=DeliveryStatus.SENDING, attempts=d.attempts
            )
            fields: dict = {
                "lease_until": None,
                "last_error": str(error)[:200],
                # A timeout after sending leaves the outcome open: look before the next try.
                "outcome_unknown": error.uncertain,
            }
            if _gives_up(d, error, now):
                fields.update(status=DeliveryStatus.FAILED, final_at=now)
                counts["failed"] += 1
                if error.permanent:
                    ContactPoint.objects.filter(pk=d.contact_id).update(
                        usable=False, unusable_reason=(error.code or str(error))[:80]
                    )
            else:
                fields.update(
                    status=DeliveryStatus.QUEUED, next_attempt_at=now + _backoff(d.attempts)
                )
                counts["retry"] += 1
            # Only the worker holding the lease records the outcome.
            holder.update(**fields)
    _held.drop(pk for pk, _outcome in outcomes)


def dispatch(*, batch_size: int | None = None, max_batches: int | None = None) -> dict[str, int]:
    """Claim and send until nothing is due. Safe to run in many workers at once."""
    total = {"sent": 0, "retry": 0, "failed": 0, "expired": 0, "released": 0, "withdrawn": 0}
    batches = 0
    size = batch_size or settings.DELIVERY_BATCH_SIZE
    while max_batches is None or batches < max_batches:
        claimed = claim_batch(size)
        if not claimed:
            break
        counts = send_batch(claimed)
        for key, value in counts.items():
            total[key] += value
        batches += 1
        if counts["released"] == len(claimed):
            # Every slot of the rate limit is taken by other senders in this process for
            # longer than half a lease: they carry on (and take these rows again); stop here
            # rather than claim and release in a loop.
            break
    return total


def sweep(*, kick_due: bool = True) -> int:
    """Put deliveries whose worker died (lease expired) back in the queue."""
    now = timezone.now()
    # Their worker may have handed them to the provider before it died: the next attempt
    # asks the provider first (outcome_unknown).
    requeued = Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_until__lt=now).update(
        status=DeliveryStatus.QUEUED, lease_until=None, next_attempt_at=now, outcome_unknown=True
    )
    if requeued:
        log.warning("re-queued %d deliveries whose worker stopped renewing their lease", requeued)
    requeued += _requeue_dead_owners(now)
    due = (
        kick_due
        and Delivery.objects.filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now).exists()
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
        Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_owner__isnull=False)
        .values_list("lease_owner", flat=True)
        .distinct()
    )
    dead = [owner for owner in owners if owner and _is_dead(owner)]
    if not dead:
        return 0
    at = now + timedelta(seconds=grace)
    requeued = Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_owner__in=dead).update(
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
    """Extend the lease of every delivery this process holds (and may still hand over)."""
    lease = _lease_seconds()
    mono = time.monotonic()
    now = timezone.now()
    margin = min(1.0, lease / 4)
    tokens = _held.renewable(mono, margin)
    renewed = 0
    for chunk in _chunks(list(tokens)):
        renewed += Delivery.objects.filter(
            pk__in=chunk, status=DeliveryStatus.SENDING, lease_until__gt=now
        ).update(lease_until=now + timedelta(seconds=lease))
        # Only after the write: a sender hands a row over only within half its written lease.
        _held.renewed(chunk, mono, lease)
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


TWILIO_STATUS = {
    "queued": DeliveryStatus.SENT,
    "accepted": DeliveryStatus.SENT,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "completed": DeliveryStatus.DELIVERED,
    "no-answer": DeliveryStatus.UNDELIVERED,
    "busy": DeliveryStatus.UNDELIVERED,
    "canceled": DeliveryStatus.FAILED,
}
# Twilio error codes that mean this number will never work.
PERMANENT_CODES = {"21211", "21610", "21614", "30003", "30005", "30006", "21408"}


def status_update(*, provider_id: str, status: str, error_code: str = "") -> bool:
    mapped = TWILIO_STATUS.get(status)
    if mapped is None or not provider_id:
        return False
    delivery = Delivery.objects.filter(provider_id=provider_id).first()
    if delivery is None:
        return False
    if delivery.status in FINAL_STATUSES and (
        mapped == DeliveryStatus.SENT
        or delivery.status == DeliveryStatus.DELIVERED
        # The same final status again (a replayed callback): nothing to do, and above all not
        # marking a contact unusable that was made usable again since.
        or delivery.status == mapped
    ):
        # Callbacks arrive out of order: never step back, and once the carrier said
        # "delivered" a late "failed" must not make the fallback send it again.
        return True
    fields: dict = {"status": mapped}
    if mapped in FINAL_STATUSES:
        fields["final_at"] = timezone.now()
    if error_code:
        fields["last_error"] = f"provider error {error_code}"[:200]
        if error_code in PERMANENT_CODES:
            ContactPoint.objects.filter(pk=delivery.contact_id).update(
                usable=False, unusable_reason=f"twilio {error_code}"
            )
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    return True


def contact_points_ensure(*, channel: str, entries: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Contact points for many addresses at once (imports): {address index: contact id}.

    `entries` are (address, language). Existing points are kept as they are (their language,
    their usable flag: a carrier's "unusable" is never undone by an import).
    """
    wanted: dict[str, tuple[str, str]] = {}
    for address, language in entries:
        wanted.setdefault(address_index(channel, address), (address, language))
    found: dict[str, int] = {}
    keys = list(wanted)
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        found.update(
            ContactPoint.objects.filter(channel=channel, address_index__in=chunk).values_list(
                "address_index", "id"
            )
        )
    missing = [key for key in keys if key not in found]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    insert_rows(
        ContactPoint._meta.db_table,
        ("channel", "address", "address_index", "language", "usable", "unusable_reason",
         "created_at"),
        [(channel, encrypt(wanted[key][0]), key, wanted[key][1], True, "", now) for key in missing],
        ignore_conflicts=True,  # a point created meanwhile is simply found below
    )  # fmt: skip
    for start in range(0, len(missing), 5000):
        chunk = missing[start : start + 5000]
        found.update(
            ContactPoint.objects.filter(channel=channel, address_index__in=chunk).values_list(
                "address_index", "id"
            )
        )
    return found


def deliveries_cancel(*, ref_type: str, ref_ids: Iterable[int], reason: str) -> int:
    """Cancel the messages still waiting in the queue for these references (an alert that an
    all-clear superseded, an approval request already answered): they are not sent late.

    Rows a worker holds right now (SENDING) are left to it: they were handed over already or
    are about to be, and taking them back here would race the worker's outcome.
    """
    ids = list(ref_ids)
    if not ids:
        return 0
    return Delivery.objects.filter(
        ref_type=ref_type, ref_id__in=ids, status=DeliveryStatus.QUEUED
    ).update(status=DeliveryStatus.CANCELLED, final_at=timezone.now(), last_error=reason[:200])
