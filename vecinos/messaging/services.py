"""The one sender: create deliveries, claim them under a lease, send, record the outcome.

Nothing lost: a delivery row is written in the caller's transaction before any provider call;
a worker that dies mid-send leaves rows in "sending" whose lease expires, and the sweeper puts
them back in the queue. Nothing doubled: the unique idempotency key refuses a second row, and
the provider call carries the same key.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

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

MAX_ATTEMPTS = 6
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
    "provider_id", "last_error", "created_at",
)  # fmt: skip


def deliveries_enqueue(specs: Iterable[DeliverySpec]) -> int:
    """Insert deliveries (in the caller's transaction) and wake a worker on commit.

    A plain multi-row INSERT: Django's bulk_create spends ~200 us per row preparing the
    twenty-odd fields, which is most of a 50,000-person fan-out. A second insert of the same
    idempotency key is ignored by the database (ON CONFLICT DO NOTHING / INSERT OR IGNORE).
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
            encrypt(s.body),  # the raw INSERT skips the field's own encryption
            s.key,
            DeliveryStatus.QUEUED.value,
            0,
            now_db,
            adapt(s.expires_at) if s.expires_at is not None else None,
            "",
            "",
            now_db,
        )
        for s in specs
    ]
    if not values:
        return 0
    table = connection.ops.quote_name(Delivery._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _INSERT_COLUMNS)
    marks = ", ".join(["%s"] * len(_INSERT_COLUMNS))
    if connection.vendor == "sqlite":
        sql = f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
    else:
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
    with connection.cursor() as cursor:
        for i in range(0, len(values), 2000):
            cursor.executemany(sql, values[i : i + 2000])
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


def claim_batch(limit: int = 200, lease_seconds: int | None = None) -> list[Delivery]:
    if lease_seconds is None:
        lease_seconds = getattr(settings, "DELIVERY_LEASE_SECONDS", LEASE_SECONDS)
    now = timezone.now()
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
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=F("attempts") + 1,
        )
    claimed = list(Delivery.objects.filter(id__in=ids).select_related("contact").order_by("id"))
    for d in claimed:
        d.lease_seconds = lease_seconds  # type: ignore[attr-defined]  # read by _send_by
    return claimed


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


def _send_by(delivery: Delivery) -> datetime | None:
    """The last moment to hand a claimed delivery to the provider: half-way through its lease.

    The rest of the lease is for the provider call itself (keep the lease above twice the
    slowest transport timeout): if the lease ran out while we sent, the sweeper could give the
    row to another worker, and a provider without idempotency keys (Twilio) would get it twice.
    """
    if delivery.lease_until is None:
        return None
    held: int | None = getattr(delivery, "lease_seconds", None)
    lease = held or int(getattr(settings, "DELIVERY_LEASE_SECONDS", LEASE_SECONDS))
    return delivery.lease_until - timedelta(seconds=lease / 2)


# The outcome of a claimed delivery not handed to the provider because its lease was running
# out (a slow rate limit, a long queue in the thread pool): it goes back to the queue unsent.
NOT_SENT = None


def _message(delivery: Delivery) -> OutboundMessage:
    validity = None
    if delivery.expires_at is not None:
        validity = max(1, int((delivery.expires_at - timezone.now()).total_seconds()))
    return OutboundMessage(
        channel=delivery.channel,
        address=delivery.contact.address,
        body=delivery.body,
        language=delivery.language,
        idempotency_key=delivery.idempotency_key,
        subject=delivery.subject,
        validity_seconds=validity,
        status_callback=_status_callback_url(),
        extra={"delivery_id": delivery.pk},
    )


def _deadline(delivery: Delivery) -> float | None:
    """send_by as a monotonic deadline; -1.0 when it has already passed."""
    send_by = _send_by(delivery)
    if send_by is None:
        return None
    left = (send_by - timezone.now()).total_seconds()
    return time.monotonic() + left if left > 0 else -1.0


class _Loop:
    """One event loop per worker process, in a daemon thread, for transports with send_async.

    Thousands of provider requests can be in flight on a handful of sockets while the
    worker's own thread records outcomes; the ORM never runs on this loop.
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

    async def _send(self, pk: int, transport, message, deadline):
        import asyncio

        import aiohttp

        if self.semaphore is None:
            self.semaphore = asyncio.Semaphore(settings.DELIVERY_CONCURRENCY * 4)
        key = type(transport).__name__
        session = self.sessions.get(key)
        if session is None:
            connector = aiohttp.TCPConnector(limit=settings.DELIVERY_CONCURRENCY * 4)
            session = self.sessions[key] = aiohttp.ClientSession(connector=connector)
        async with self.semaphore:
            delay = _limiter(message.channel, transport.rate_limit).reserve(deadline)
            if delay is None:
                return pk, NOT_SENT
            if delay:
                await asyncio.sleep(delay)
            try:
                return pk, await transport.send_async(message, session)
            except TransportError as exc:
                return pk, exc
            except Exception as exc:  # noqa: BLE001 - an adapter bug must not lose the delivery
                log.exception("transport %s crashed", message.channel)
                return pk, TransportError(f"crash: {type(exc).__name__}")

    def submit(self, pk: int, transport, message, deadline):
        import asyncio

        return asyncio.run_coroutine_threadsafe(
            self._send(pk, transport, message, deadline), self.loop
        )


_loop_holder: dict[str, _Loop] = {}
_loop_lock = threading.Lock()


def _send_loop() -> _Loop:
    with _loop_lock:
        if "loop" not in _loop_holder:
            _loop_holder["loop"] = _Loop()
        return _loop_holder["loop"]


def _send_one(
    delivery: Delivery, close: bool = True
) -> tuple[int, SendResult | TransportError | None]:
    transport = get_transport(delivery.channel)
    message = _message(delivery)
    try:
        deadline = _deadline(delivery)
        if deadline == -1.0:
            return delivery.pk, NOT_SENT
        if not _limiter(delivery.channel, transport.rate_limit).wait(deadline):
            return delivery.pk, NOT_SENT
        return delivery.pk, transport.send(message)
    except TransportError as exc:
        return delivery.pk, exc
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not lose the delivery
        log.exception("transport %s crashed", delivery.channel)
        return delivery.pk, TransportError(f"crash: {type(exc).__name__}")
    finally:
        if close:
            close_old_connections()


def _backoff(attempts: int) -> timedelta:
    base = getattr(settings, "DELIVERY_BACKOFF_BASE", BACKOFF_BASE)
    return timedelta(seconds=min(600, base * 2 ** max(0, attempts - 1)))


def send_batch(deliveries: list[Delivery], *, concurrency: int | None = None) -> dict[str, int]:
    """Send claimed deliveries concurrently and record every outcome."""
    now = timezone.now()
    live: list[Delivery] = []
    expired: list[Delivery] = []
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
    pending: list[tuple[int, SendResult | TransportError | None]] = []

    def flush() -> None:
        _record(pending, by_id, counts)
        pending.clear()

    # Transports that write to our own database (console) run in this thread, in this
    # transaction's connection; network transports run concurrently. Outcomes are recorded
    # in small groups as they arrive, so a crash loses (and later re-sends, under the same
    # idempotency key) at most one group.
    inline = [d for d in live if get_transport(d.channel).inline]
    asynchronous = [
        d
        for d in live
        if not get_transport(d.channel).inline and hasattr(get_transport(d.channel), "send_async")
    ]
    pooled = [
        d
        for d in live
        if not get_transport(d.channel).inline
        and not hasattr(get_transport(d.channel), "send_async")
    ]
    for d in inline:
        pending.append(_send_one(d, close=False))
    if asynchronous:
        runner = _send_loop()
        futures = []
        for d in asynchronous:
            deadline = _deadline(d)
            if deadline == -1.0:
                pending.append((d.pk, NOT_SENT))
                continue
            futures.append(runner.submit(d.pk, get_transport(d.channel), _message(d), deadline))
        for future in as_completed(futures):
            pending.append(future.result())
            if len(pending) >= RECORD_EVERY:
                flush()
    if pooled:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pooled)))) as pool:
            futures = [pool.submit(_send_one, d) for d in pooled]
            for future in as_completed(futures):
                pending.append(future.result())
                if len(pending) >= RECORD_EVERY:
                    flush()
    flush()
    return counts


RECORD_EVERY = 50


def _record(
    outcomes: list[tuple[int, SendResult | TransportError | None]],
    by_id: dict[int, Delivery],
    counts: dict[str, int],
) -> None:
    if not outcomes:
        return
    now = timezone.now()
    done: dict[str, list[tuple[int, str, int]]] = {"sent": [], "delivered": []}
    # Every update below matches (status "sending", attempts as claimed): the claim counter is
    # the lease holder's token. If our lease expired and the sweeper gave the row to another
    # worker (which bumped attempts), our outcome must not overwrite theirs.
    for pk, outcome in outcomes:
        d = by_id[pk]
        holder = Delivery.objects.filter(pk=pk, status=DeliveryStatus.SENDING, attempts=d.attempts)
        if outcome is NOT_SENT:
            # Never reached the provider: back to the queue, and the attempt does not count.
            holder.update(
                status=DeliveryStatus.QUEUED,
                lease_until=None,
                next_attempt_at=now,
                attempts=F("attempts") - 1,
            )
            counts["released"] += 1
            continue
        if isinstance(outcome, SendResult):
            key = "delivered" if outcome.status == "delivered" else "sent"
            done[key].append((pk, outcome.provider_id[:64], d.attempts))
            counts["sent"] += 1
            continue
        fields: dict = {"lease_until": None}
        if outcome.permanent or d.attempts >= MAX_ATTEMPTS:
            fields.update(status=DeliveryStatus.FAILED, final_at=now, last_error=str(outcome)[:200])
            counts["failed"] += 1
            if outcome.permanent:
                ContactPoint.objects.filter(pk=d.contact_id).update(
                    usable=False, unusable_reason=(outcome.code or str(outcome))[:80]
                )
        else:
            fields.update(
                status=DeliveryStatus.QUEUED,
                next_attempt_at=now + _backoff(d.attempts),
                last_error=str(outcome)[:200],
            )
            counts["retry"] += 1
        # Only the worker holding the lease records the outcome.
        holder.update(**fields)
    for key, rows in done.items():
        by_attempts: dict[int, list[tuple[int, str]]] = {}
        for pk, pid, attempts in rows:
            by_attempts.setdefault(attempts, []).append((pk, pid))
        for attempts, group in by_attempts.items():
            fields = {
                "lease_until": None,
                "sent_at": now,
                "last_error": "",
                "provider_id": Case(*[When(pk=pk, then=Value(pid)) for pk, pid in group]),
                "status": DeliveryStatus.DELIVERED if key == "delivered" else DeliveryStatus.SENT,
            }
            if key == "delivered":
                fields["final_at"] = now
            Delivery.objects.filter(
                pk__in=[pk for pk, _pid in group],
                status=DeliveryStatus.SENDING,
                attempts=attempts,
            ).update(**fields)


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
    requeued = Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_until__lt=now).update(
        status=DeliveryStatus.QUEUED, lease_until=None, next_attempt_at=now
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
    if delivery.status in FINAL_STATUSES and mapped == DeliveryStatus.SENT:
        return True  # callbacks arrive out of order; never step back
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
