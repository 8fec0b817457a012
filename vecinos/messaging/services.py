"""The one sender: create deliveries, claim them under a lease, send, record the outcome.

Nothing lost: a delivery row is written in the caller's transaction before any provider call;
a worker that dies mid-send leaves rows in "sending" whose lease expires, and the sweeper puts
them back in the queue. Nothing doubled: the unique idempotency key refuses a second row, and
the provider call carries the same key.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import queue
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
LEASE_SECONDS = 60  # default of settings.DELIVERY_LEASE_SECONDS (VECINOS_DELIVERY_LEASE)
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


def kick(senders: int = 1) -> None:
    """Wake workers. If the queue is down the rows are safe in the database: the sweeper (or
    the next kick) sends them, so the person who sent the alert must not see an error and be
    tempted to send it again."""
    from vecinos.messaging.tasks import dispatch_deliveries

    try:
        for _ in range(max(1, senders)):
            dispatch_deliveries.enqueue()
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
            attempts=F("attempts") + 1,
        )
    rows = (
        Delivery.objects.filter(id__in=ids)
        .order_by("id")
        .values_list(
            "id", "channel", "language", "subject", "body", "idempotency_key", "expires_at",
            "attempts", "contact_id", "contact__address", "outcome_unknown",
        )
    )  # fmt: skip
    return [Claimed(*row, lease_until=lease_until, lease_seconds=lease_seconds) for row in rows]


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


# The outcome of a claimed delivery not handed to the provider because its lease was running
# out (a slow rate limit, a long queue in the thread pool): it goes back to the queue unsent.
NOT_SENT = None

Outcome = tuple[int, SendResult | TransportError | None]


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


def _deadline(delivery: Claimed, now: datetime, mono: float) -> float:
    """send_by as a monotonic deadline; -1.0 when it has already passed."""
    left = (_send_by(delivery) - now).total_seconds()
    return mono + left if left > 0 else -1.0


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

    async def _send(self, pk: int, transport, message, deadline, look: bool) -> Outcome:
        import asyncio

        async with self.semaphore:
            delay = _limiter(message.channel, transport.rate_limit).reserve(deadline)
            if delay is None:
                return pk, NOT_SENT
            if delay:
                await asyncio.sleep(delay)
            try:
                session = self._session(transport)
                if look and hasattr(transport, "find_sent_async"):
                    # The last attempt may have gone through: never send it twice.
                    found = await transport.find_sent_async(message, session)
                    if found is not None:
                        return pk, found
                return pk, await transport.send_async(message, session)
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

        for pk, transport, message, deadline, look in jobs:
            task = asyncio.ensure_future(self._send(pk, transport, message, deadline, look))
            task.add_done_callback(functools.partial(done, pk))

    def submit_all(self, jobs: list) -> queue.SimpleQueue:
        """Start sending every (pk, transport, message, deadline); outcomes arrive on the queue."""
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


def _send_one(delivery: Claimed, message: OutboundMessage, deadline: float) -> Outcome:
    transport = get_transport(delivery.channel)
    try:
        if deadline == -1.0:
            return delivery.pk, NOT_SENT
        if not _limiter(delivery.channel, transport.rate_limit).wait(deadline):
            return delivery.pk, NOT_SENT
        if delivery.outcome_unknown and hasattr(transport, "find_sent"):
            # The last attempt may have gone through: never send it twice.
            found = transport.find_sent(message)
            if found is not None:
                return delivery.pk, found
        return delivery.pk, transport.send(message)
    except TransportError as exc:
        return delivery.pk, exc
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not lose the delivery
        log.exception("transport %s crashed", delivery.channel)
        return delivery.pk, TransportError(f"crash: {type(exc).__name__}")


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


def send_batch(deliveries: list[Claimed], *, concurrency: int | None = None) -> dict[str, int]:
    """Send claimed deliveries concurrently and record every outcome."""
    now = timezone.now()
    mono = time.monotonic()
    live: list[Claimed] = []
    expired: list[Claimed] = []
    for d in deliveries:
        (expired if d.expires_at is not None and d.expires_at <= now else live).append(d)
    counts = {"sent": 0, "retry": 0, "failed": 0, "expired": len(expired), "released": 0}
    if expired:
        Delivery.objects.filter(pk__in=[d.pk for d in expired]).update(
            status=DeliveryStatus.CANCELLED,
            final_at=now,
            last_error="expired before sending",
            lease_until=None,
        )
    workers = concurrency or settings.DELIVERY_CONCURRENCY
    by_id = {d.pk: d for d in live}
    callback = _status_callback_url()
    transports = {channel: get_transport(channel) for channel in {d.channel for d in live}}
    # Transports that write to our own database (console) run in this thread, in this
    # transaction's connection; network transports with send_async run on the worker's event
    # loop; the rest in a thread pool.
    inline: list[Outcome] = []
    jobs: list[tuple[int, Any, OutboundMessage, float, bool]] = []
    pooled: list[tuple[Claimed, OutboundMessage, float]] = []
    for d in live:
        transport = transports[d.channel]
        message = _message(d, now, callback)
        deadline = _deadline(d, now, mono)
        if transport.inline:
            inline.append(_send_one(d, message, deadline))
        elif deadline == -1.0:
            inline.append((d.pk, NOT_SENT))
        elif hasattr(transport, "send_async"):
            jobs.append((d.pk, transport, message, deadline, d.outcome_unknown))
        else:
            pooled.append((d, message, deadline))
    pending: list[Outcome] = inline

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

        def one(item: tuple[Claimed, OutboundMessage, float]) -> Outcome:
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
    now_db = connection.ops.adapt_datetimefield_value(now)
    done: list[tuple] = []
    released: list[tuple[int, int]] = []
    errors: list[tuple[Claimed, TransportError]] = []
    for pk, outcome in outcomes:
        d = by_id[pk]
        if outcome is NOT_SENT:
            released.append((pk, d.attempts))
        elif isinstance(outcome, SendResult):
            delivered = outcome.status == "delivered"
            status = DeliveryStatus.DELIVERED if delivered else DeliveryStatus.SENT
            final = now_db if delivered else None
            done.append(
                (status.value, outcome.provider_id[:64], now_db, final, False, pk, d.attempts)
            )
        else:
            errors.append((d, outcome))
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sending = DeliveryStatus.SENDING.value
    with transaction.atomic(), connection.cursor() as cursor:
        if done:
            cursor.executemany(
                f"UPDATE {table} SET status = %s, provider_id = %s, sent_at = %s, "  # noqa: S608
                f"final_at = %s, lease_until = NULL, last_error = '', outcome_unknown = %s "
                f"WHERE id = %s AND status = '{sending}' AND attempts = %s",
                done,
            )
            counts["sent"] += len(done)
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


def dispatch(*, batch_size: int | None = None, max_batches: int | None = None) -> dict[str, int]:
    """Claim and send until nothing is due. Safe to run in many workers at once."""
    total = {"sent": 0, "retry": 0, "failed": 0, "expired": 0, "released": 0}
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


def sweep() -> int:
    """Put deliveries whose worker died (lease expired) back in the queue."""
    now = timezone.now()
    # Their worker may have handed them to the provider before it died: the next attempt
    # asks the provider first (outcome_unknown).
    requeued = Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_until__lt=now).update(
        status=DeliveryStatus.QUEUED, lease_until=None, next_attempt_at=now, outcome_unknown=True
    )
    due = Delivery.objects.filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now).exists()
    if requeued or due:
        kick()
    return requeued


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
        mapped == DeliveryStatus.SENT or delivery.status == DeliveryStatus.DELIVERED
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
