"""The sender: claim due deliveries under a lease, send them concurrently, record each outcome.

Every provider call goes through here. A batch is claimed in one transaction (``FOR UPDATE
SKIP LOCKED`` where the database has it, so workers on several hosts take disjoint batches),
each message is checked once more right before it goes out (lease, STOP, acknowledgement,
cancellation, expiry), sent under the transport's rate limit (network transports with
``send_async`` on one event loop per process, the others in a thread pool), and the outcomes
are written in groups, each update guarded by the claim token. The leases themselves (renewal,
the sweeper, dead workers) are ``leases.py``.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import dataclasses
import functools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from vecinos.core.crypto import decrypt
from vecinos.messaging import dueset, metrics  # metrics: issue 15
from vecinos.messaging.calls import CALL_FLOW
from vecinos.messaging.leases import (
    LEASE_SECONDS,
    Claimed,
    _held,
    _why_not,
    process_id,
)
from vecinos.messaging.models import ContactPoint, Delivery, DeliveryStatus
from vecinos.transports import http
from vecinos.transports.base import OutboundMessage, SendResult, TransportError
from vecinos.transports.registry import get_transport

log = logging.getLogger(__name__)

# Transient errors: a message with an expiry (every alert has one) is retried until its next
# try would come after that expiry, so a provider outage of minutes only delays it; a message
# without one gives up after MAX_ATTEMPTS. RETRY_CAP bounds both.
MAX_ATTEMPTS = 6
RETRY_CAP = 60
BACKOFF_MAX = 120  # seconds between tries at most
BACKOFF_BASE = 5  # default of settings.DELIVERY_BACKOFF_BASE (VECINOS_DELIVERY_BACKOFF_BASE)


# What a claim reads of each delivery (then its contact point's address and state), in the
# order of Claimed's fields.
_CLAIM_COLUMNS = (
    "id", "channel", "language", "subject", "body", "idempotency_key", "expires_at", "attempts",
    "contact_id", "outcome_unknown", "acknowledged_at",
)  # fmt: skip


def _aware(value: Any) -> datetime | None:
    """A datetime column as the ORM reads it: aware, in UTC (SQLite's is naive UTC)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _plain(value: str | None) -> str:
    return decrypt(value) if value else ""


# The claim's plan on PostgreSQL, for its transaction only: walk delivery_due in its order and
# stop at the limit. The statistics seldom know how many rows are queued (a fan-out inserts
# tens of thousands between two ANALYZEs, and most of the table is final), so on a low estimate
# the planner chose a bitmap scan that read every queued row and sorted them all: each claim
# of 200 cost as much as the queue was long (13.8 ms instead of 0.35 ms with 15,000 queued).
# One statement (set_config(..., true) is SET LOCAL): it runs under any binding protocol.
PG_CLAIM_PLAN = (
    "SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)"
)


@functools.cache
def pg_claim_sql() -> str:
    """The claim on PostgreSQL, one statement: (now, limit, lease end) pick the due entries of
    ``messaging_due`` and make them due again when the lease ends; (status, lease_until,
    lease_owner, now) take their deliveries. It returns each with its contact point. Built once.

    A delivery still marked "sending" whose lease has ended (its worker died) is taken over
    here as the sweeper would have re-queued it: its outcome is unknown, so the next attempt
    asks the provider first. The delivery's own update touches no indexed column: a heap-only
    (HOT) update (see messaging.dueset)."""
    quote = connection.ops.quote_name
    table = quote(Delivery._meta.db_table)
    contacts = quote(ContactPoint._meta.db_table)
    columns = ", ".join(f"d.{c}" for c in _CLAIM_COLUMNS)
    return (
        # Picked once (MATERIALIZED): as "IN (SELECT ... LIMIT)" the planner may scan the
        # subquery again for each row, and since each pass moves the rows it took past now,
        # every pass finds 200 more (a claim of 200 took all 6,000 queued in a test).
        f"WITH picked AS MATERIALIZED (SELECT delivery_id FROM {dueset.DUE} "  # noqa: S608
        f"WHERE due_at <= %s ORDER BY due_at, delivery_id LIMIT %s FOR UPDATE SKIP LOCKED), "
        f"due AS (UPDATE {dueset.DUE} AS q SET due_at = %s, leased = true FROM picked "
        f"WHERE q.delivery_id = picked.delivery_id RETURNING q.delivery_id) "
        f"UPDATE {table} AS d SET status = %s, lease_until = %s, lease_owner = %s, "
        f"attempts = d.attempts + 1, "
        f"outcome_unknown = d.outcome_unknown OR d.status = 'sending' "
        f"FROM due, {contacts} AS c "
        f"WHERE d.id = due.delivery_id AND c.id = d.contact_id "
        f"AND (d.status = 'queued' OR (d.status = 'sending' AND d.lease_until <= %s)) "
        f"RETURNING {columns}, c.address, c.usable, c.unusable_reason"
    )


def claim_batch(limit: int = 200, lease_seconds: int | None = None) -> list[Claimed]:
    """Take up to ``limit`` due deliveries under a lease, the longest due first (then by id:
    the order the ``delivery_due`` index keeps them in, so a claim reads only the rows it
    takes, not every row sent before them).

    Plain SQL, one statement to claim: the ORM's query building and per-row conversion were
    a tenth of a busy worker's time. On PostgreSQL one statement also reads each row's contact
    point, and several workers take disjoint batches (FOR UPDATE SKIP LOCKED); on SQLite (one
    writer at a time) the claim returns the rows, and their contact points are read after the
    write transaction."""
    if lease_seconds is None:
        lease_seconds = getattr(settings, "DELIVERY_LEASE_SECONDS", LEASE_SECONDS)
    now = timezone.now()
    lease_until = now + timedelta(seconds=lease_seconds)
    adapt = connection.ops.adapt_datetimefield_value
    quote = connection.ops.quote_name
    table = quote(Delivery._meta.db_table)
    contacts = quote(ContactPoint._meta.db_table)
    taken = (DeliveryStatus.SENDING.value, adapt(lease_until), process_id())
    due = (DeliveryStatus.QUEUED.value, adapt(now), limit)
    if dueset.separate():
        claim = (adapt(now), limit, adapt(lease_until), *taken, adapt(now))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(PG_CLAIM_PLAN)
            cursor.execute(pg_claim_sql(), claim)
            rows = cursor.fetchall()
        if not rows and dueset.drop_stale(now):
            return claim_batch(limit, lease_seconds)
    else:
        sql = (
            f"UPDATE {table} SET status = %s, lease_until = %s, lease_owner = %s, "  # noqa: S608
            f"attempts = attempts + 1 WHERE id IN (SELECT id FROM {table} WHERE status = %s "
            f"AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s) "
            f"RETURNING {', '.join(_CLAIM_COLUMNS)}"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, (*taken, *due))
            claimed = cursor.fetchall()
        if not claimed:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, address, usable, unusable_reason FROM {contacts} "  # noqa: S608
                f"WHERE id IN (SELECT value FROM json_each(%s))",
                (json.dumps([row[8] for row in claimed]),),
            )
            contact_of = {row[0]: row[1:] for row in cursor.fetchall()}
        rows = [(*row, *contact_of[row[8]]) for row in claimed if row[8] in contact_of]
    rows.sort(key=lambda row: row[0])
    return [
        Claimed(
            pk,
            channel,
            language,
            subject,
            _plain(body),
            key,
            _aware(expires_at),
            attempts,
            contact_id,
            _plain(address),
            bool(unknown),
            bool(usable),
            reason,
            _aware(acknowledged_at),
            lease_until=lease_until,
            lease_seconds=lease_seconds,
        )
        for (
            pk,
            channel,
            language,
            subject,
            body,
            key,
            expires_at,
            attempts,
            contact_id,
            unknown,
            acknowledged_at,
            address,
            usable,
            reason,
        ) in rows
    ]


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
        # setdefault, not assignment: threads sending their first batch at the same time must
        # share one bucket, or each would keep the provider's whole rate for itself.
        lim = _limiters.setdefault(channel, RateLimiter(rate))
    return lim


def _status_callback_url() -> str:
    """The status callback's URL but the delivery's id, which each message appends: the
    callback finds its row by key (messaging.views.twilio_status). Twilio signs the whole URL,
    query included, so the id it posts back cannot be forged."""
    return f"{settings.PUBLIC_URL}/hooks/twilio/status?d="


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
        status_callback=f"{callback}{delivery.pk}",
        extra={"delivery_id": delivery.pk, "flow": CALL_FLOW},
    )


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


# Outcomes cross from the event loop to the recording thread at most this often (seconds).
SHIP_EVERY = 0.01


class _Batch:
    """The outcomes of one submit_all, crossing back to the thread that records them in lists,
    SHIP_EVERY seconds after the first of a list came back: a put per message (or per turn of
    the loop) would wake that thread, and pass the GIL over, thousands of times a second. The
    recorder writes a group every RECORD_WAIT (ten times as long) anyway."""

    __slots__ = ("loop", "out", "ready")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.out: queue.SimpleQueue = queue.SimpleQueue()
        self.ready: list[Outcome] = []

    def add(self, outcome: Outcome) -> None:
        if not self.ready:
            self.loop.call_later(SHIP_EVERY, self.ship)
        self.ready.append(outcome)

    def ship(self) -> None:
        self.out.put(self.ready)
        self.ready = []


class _Loop:
    """One event loop per worker process, in a daemon thread, for transports with send_async.

    Thousands of provider requests can be in flight on a handful of sockets while the
    worker's own threads record outcomes; the ORM never runs on this loop. A batch goes over
    in one call, into one queue of jobs that at most a fixed number of sender coroutines take
    from in order (the concurrency: no task or semaphore per message), and its outcomes come
    back through a thread-safe queue as they finish.
    """

    def __init__(self) -> None:
        self.loop = new_send_loop()
        self.sessions: dict[str, Any] = {}
        self.jobs: collections.deque[tuple[Job, _Batch]] = collections.deque()
        self.senders = 0  # sender coroutines running; each ends when the queue is empty
        self.limit = settings.DELIVERY_CONCURRENCY * 4
        thread = threading.Thread(target=self.loop.run_forever, name="vecinos-send", daemon=True)
        thread.start()
        atexit.register(self.close)

    def close(self) -> None:
        async def _close_all() -> None:
            for session in list(self.sessions.values()):
                await session.close()
            self.sessions.clear()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_close_all(), self.loop).result(timeout=2)

    def _session(self, transport) -> Any:
        key = type(transport).__name__
        session = self.sessions.get(key)
        if session is None:
            session = self.sessions[key] = http.async_session(self.limit)
        return session

    async def _send(self, pk: int, transport, message, expires_at, look: bool) -> Outcome:
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

    async def _sender(self) -> None:
        jobs = self.jobs
        try:
            while jobs:
                job, batch = jobs.popleft()
                try:
                    outcome = await self._send(*job)
                except asyncio.CancelledError:
                    # Only at shutdown: the delivery is answered, its lease runs out.
                    batch.add((job[0], TransportError("cancelled")))
                    raise
                batch.add(outcome)
        finally:
            self.senders -= 1

    def _take(self, jobs: list[Job], batch: _Batch) -> None:
        """(On the loop.) Queue the jobs, and start a sender for each, up to the concurrency.

        The senders running are busy with a request each (a sender takes its next job only
        once its request is answered): new jobs get senders of their own, or a small batch
        would wait behind slow answers to earlier ones (a provider that answers in 10 s)
        with most of the concurrency unused. A sender that finds the queue empty ends."""
        self.jobs.extend((job, batch) for job in jobs)
        for _ in range(min(self.limit - self.senders, len(self.jobs))):
            self.senders += 1
            self.loop.create_task(self._sender())

    def submit_all(self, jobs: list[Job]) -> queue.SimpleQueue:
        """Start sending every (pk, transport, message, expiry, look); their outcomes come
        back in lists."""
        batch = _Batch(self.loop)
        self.loop.call_soon_threadsafe(self._take, jobs, batch)
        return batch.out


def new_send_loop() -> asyncio.AbstractEventLoop:
    """The sender's event loop: uvloop (libuv: its timers and callbacks in C). With aiohttp's
    client, whose sockets were the loop's, it cost a twentieth less CPU per message than
    asyncio's own loop (bench/fanout.py); pyreqwest's sockets are its own, and the loop runs
    the sender coroutines. asyncio's loop where uvloop has no build."""
    try:
        import uvloop
    except ImportError:  # a platform without a uvloop build (Windows)
        log.warning("uvloop is not installed: the sender uses asyncio's event loop")
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


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
# ... and at most this long after the first outcome of a group came back (seconds).
RECORD_WAIT = 0.1


# What a send, a dispatch loop and a wake-up count, by outcome.
_COUNTED = ("sent", "retry", "failed", "expired", "released", "withdrawn")


def _no_counts() -> dict[str, int]:
    return dict.fromkeys(_COUNTED, 0)


def _add(total: dict[str, int], counts: dict[str, int]) -> None:
    for key, value in counts.items():
        total[key] += value


def _can_look(transport) -> bool:
    return hasattr(transport, "find_sent") or hasattr(transport, "find_sent_async")


def send_batch(deliveries: list[Claimed], *, concurrency: int | None = None) -> dict[str, int]:
    """Send claimed deliveries concurrently and record every outcome."""
    now = timezone.now()
    mono = time.monotonic()
    _held.add(deliveries, now, mono)
    counts = _no_counts()
    transports = {channel: get_transport(channel) for channel in {d.channel for d in deliveries}}
    live, pending = _triage(deliveries, transports, now)
    by_id = {d.pk: d for d in deliveries}
    # Transports that write to our own database (console) run in this thread, in this
    # transaction's connection; network transports with send_async run on the worker's event
    # loop; the rest in a thread pool. Each delivery is checked again right before it goes
    # out (_verdict): lease, STOP / acknowledgement / cancellation, expiry.
    jobs: list[Job] = []
    pooled: list[tuple[Claimed, OutboundMessage]] = []
    callback = _status_callback_url()
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

    try:
        if jobs:
            _send_on_loop(jobs, pending, flush)
        if pooled:
            _send_in_pool(pooled, concurrency or settings.DELIVERY_CONCURRENCY, pending, flush)
        flush()
    finally:
        # Recorded rows are dropped already. Should recording fail (a database error), the
        # rest must not stay held: the heartbeat would renew their leases for as long as this
        # process lives. Let go, their leases run out and the sweeper re-queues them "outcome
        # unknown" (the next attempt asks the provider first); unsent ones are not sent now.
        _held.drop(by_id)
    return counts


Job = tuple[
    int, Any, OutboundMessage, datetime | None, bool
]  # pk, transport, message, expiry, look


def _triage(
    deliveries: list[Claimed], transports: dict[str, Any], now: datetime
) -> tuple[list[Claimed], list[Outcome]]:
    """(the deliveries to hand over, the outcomes of those that must not go out)."""
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
    return live, pending


def _send_on_loop(jobs: list[Job], pending: list[Outcome], flush: Callable[[], None]) -> None:
    """Outcomes are recorded RECORD_EVERY at a time, or RECORD_WAIT seconds after the first
    of a group arrived, whichever comes first: one transaction per group, not per trickle."""
    out = _send_loop().submit_all(jobs)
    left = len(jobs)
    flush_at: float | None = time.monotonic() + RECORD_WAIT if pending else None
    while left:
        wait = None if flush_at is None else flush_at - time.monotonic()
        try:
            if wait is not None and wait <= 0:
                raise queue.Empty
            arrived = out.get(timeout=wait)
        except queue.Empty:
            flush()
            flush_at = None
            continue
        pending.extend(arrived)
        left -= len(arrived)
        if flush_at is None:
            flush_at = time.monotonic() + RECORD_WAIT
        if len(pending) >= RECORD_EVERY:
            flush()
            flush_at = None


def _send_in_pool(
    pooled: list[tuple[Claimed, OutboundMessage]],
    workers: int,
    pending: list[Outcome],
    flush: Callable[[], None],
) -> None:
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


def _json_time(value: object) -> str:
    """A held row's datetime in JSON (ISO 8601, with its offset: PostgreSQL reads it back)."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _update_held(
    cursor,
    table: str,
    *,
    sets: str,
    shared: tuple,
    own: tuple[tuple[str, str], ...],
    status_in: tuple[str, ...],
    rows: list[tuple],
) -> None:
    """Update rows still held under their claim: ``sets`` (with placeholders for ``shared``)
    and each row's own values for the ``own`` columns (name, PostgreSQL type), matching the
    row's id and claim token (the last two values of each row) and a status in
    ``status_in``. SQLite runs one statement per row (in-process, prepared once);
    PostgreSQL one for the whole group, the rows going as one JSON array of arrays, so the
    server plans and runs one UPDATE instead of one per row."""
    statuses = ", ".join(f"'{status}'" for status in status_in)
    if connection.vendor == "postgresql":
        # The held rows' columns are named new_<column> (held_id, held_attempts): the SET
        # clause's own column names stay unambiguous. One JSON parameter, not an array per
        # column: psycopg's client-side binding quoted arrays element by element in Python,
        # 4.9 us a row in the thread that shares the GIL with the send loop (as JSON: 1.5).
        names = [f"new_{name}" for name, _kind in own] + ["held_id", "held_attempts"]
        kinds = [kind for _name, kind in own] + ["bigint", "integer"]
        assigned = "".join(f", {name} = new_{name}" for name, _kind in own)
        columns = ", ".join(
            f"(r->>{i})::{kind} AS {name}"
            for i, (name, kind) in enumerate(zip(names, kinds, strict=True))
        )
        # "status || ''" keeps delivery_due out of the plan: the rows are found by their ids
        # (a primary-key lookup per held row). On a status the statistics think rare
        # ("sending": a fan-out's rows pass through it between two ANALYZEs) the planner
        # otherwise read every row in flight from delivery_due and joined them to the held
        # rows in a nested loop, building each held row again for every row in flight: 50 µs
        # of server time per message instead of 15 (a claim-and-record loop over the fan-out
        # benchmark's data, issue 15).
        cursor.execute(
            f"UPDATE {table} SET {sets}{assigned} "  # noqa: S608
            f"FROM (SELECT {columns} FROM json_array_elements(%s::json) AS r) AS held "
            f"WHERE id = held_id AND attempts = held_attempts "
            f"AND status || '' IN ({statuses})",
            (*shared, json.dumps(rows, default=_json_time)),
        )
        return
    assigned = "".join(f", {name} = %s" for name, _kind in own)
    cursor.executemany(
        f"UPDATE {table} SET {sets}{assigned} "  # noqa: S608
        f"WHERE id = %s AND attempts = %s AND status IN ({statuses})",
        [(*shared, *row) for row in rows],
    )


def _found_by_provider_id(done: list[tuple], by_id: dict[int, Claimed]) -> list[int]:
    """The ids among ``done`` rows (pk fifth) sent by a transport whose receipts name the
    provider's id alone (Transport.receipts_by_provider_id)."""
    wants: dict[str, bool] = {}
    found = []
    for row in done:
        pk = row[4]
        channel = by_id[pk].channel
        if channel not in wants:
            wants[channel] = bool(getattr(get_transport(channel), "receipts_by_provider_id", False))
        if wants[channel]:
            found.append(pk)
    return found


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
            done.append((status.value, provider_id, sent, final, pk, d.attempts))
        else:
            errors.append((d, outcome))
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sending = DeliveryStatus.SENDING.value
    cancelled = DeliveryStatus.CANCELLED.value
    with transaction.atomic(), connection.cursor() as cursor:
        if done:
            # A row its owner cancelled while the message was already on its way is recorded
            # as what happened: sent.
            _update_held(
                cursor,
                table,
                sets="lease_until = NULL, last_error = '', outcome_unknown = %s",
                shared=(False,),
                own=(
                    ("status", "varchar"),
                    ("provider_id", "varchar"),
                    ("sent_at", "timestamptz"),
                    ("final_at", "timestamptz"),
                ),
                status_in=(sending, cancelled),
                rows=done,
            )
            counts["sent"] += len(done)
            if dueset.separate():
                dueset.list_provider_ids(cursor, _found_by_provider_id(done, by_id))
        if skipped:
            _update_held(
                cursor,
                table,
                sets=f"status = '{cancelled}', final_at = %s, lease_until = NULL",
                shared=(now_db,),
                own=(("last_error", "varchar"),),
                status_in=(sending,),
                rows=skipped,
            )
        if released:
            # Never reached the provider: back to the queue, and the attempt does not count.
            _update_held(
                cursor,
                table,
                sets=f"status = '{DeliveryStatus.QUEUED.value}', lease_until = NULL, "
                "next_attempt_at = %s, attempts = attempts - 1",
                shared=(now_db,),
                own=(),
                status_in=(sending,),
                rows=released,
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


class _Loops:
    """At most ``settings.DELIVERY_LOOPS`` dispatch loops in this process at once.

    A big fan-out wakes the workers after every chunk it writes, dozens of times; with a loop
    per wake-up every thread of every worker would be sending until the alert is out, and
    any other task (another alert's fan-out writer, an escalation step, a watchdog) would
    wait for it. A wake-up that finds the loops all running marks the work ``pending`` and
    returns; the loop that would have ended looks at that mark under the same lock, so no
    wake-up is lost: either a loop sees the mark and runs once more, or it has already left
    and the wake-up runs a loop itself.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.pending = False

    def enter(self) -> bool:
        with self.lock:
            if self.running >= settings.DELIVERY_LOOPS:
                self.pending = True
                return False
            self.running += 1
            self.pending = False
            return True

    def again(self) -> bool:
        """(A loop that found nothing due.) Run once more if a wake-up came meanwhile; else
        leave."""
        with self.lock:
            if self.pending:
                self.pending = False
                return True
            self.running -= 1
            return False

    def leave(self) -> None:
        """(A loop that failed.)"""
        with self.lock:
            self.running -= 1


_loops = _Loops()


def dispatch_woken() -> dict[str, int]:
    """A wake-up (the ``dispatch_deliveries`` task): run a dispatch loop, unless this process
    runs as many as it may; then one of those runs once more before it ends."""
    total = _no_counts()
    if not _loops.enter():
        return total
    try:
        while True:
            _add(total, dispatch())
            if not _loops.again():
                return total
    except BaseException:
        _loops.leave()
        raise


def dispatch(*, batch_size: int | None = None, max_batches: int | None = None) -> dict[str, int]:
    """Claim and send until nothing is due. Safe to run in many workers at once."""
    total = _no_counts()
    batches = 0
    size = batch_size or settings.DELIVERY_BATCH_SIZE
    while max_batches is None or batches < max_batches:
        claimed = claim_batch(size)
        if not claimed:
            break
        counts = send_batch(claimed)
        _add(total, counts)
        batches += 1
        if counts["released"] == len(claimed):
            # Every slot of the rate limit is taken by other senders in this process for
            # longer than half a lease: they carry on (and take these rows again); stop here
            # rather than claim and release in a loop.
            break
    return total
