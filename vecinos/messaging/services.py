"""Messaging's public API: contact points, deliveries, status callbacks.

Nothing lost: a delivery row is written in the caller's transaction before any provider call;
a worker that dies mid-send leaves rows in "sending" whose lease expires, and the sweeper puts
them back in the queue. Nothing doubled: the unique idempotency key refuses a second row, and
the provider call carries the same key.

The sender itself lives in ``worker.py`` (claim, send, record) and ``leases.py`` (heartbeat,
sweeper, dead workers); the names of theirs that callers and tests use are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from vecinos.core.bulk import insert_rows
from vecinos.core.coalition import brand_sms
from vecinos.core.crypto import blind_index, encrypt
from vecinos.messaging import dueset, leases, worker
from vecinos.messaging.models import (
    FINAL_STATUSES,
    Channel,
    ContactPoint,
    Delivery,
    DeliveryStatus,
)

# --- the sender's names, re-exported (callers and tests import them from here) ---------------
Claimed = leases.Claimed
LEASE_SECONDS = leases.LEASE_SECONDS
DEAD_OWNER_GRACE = leases.DEAD_OWNER_GRACE
STARTUP_GRACE = leases.STARTUP_GRACE
_held = leases._held
kick = leases.kick
process_id = leases.process_id
sweep = leases.sweep
heartbeat = leases.heartbeat
refresh_withdrawn = leases.refresh_withdrawn
renew_leases = leases.renew_leases
start_heartbeat = leases.start_heartbeat
MAX_ATTEMPTS = worker.MAX_ATTEMPTS
RETRY_CAP = worker.RETRY_CAP
BACKOFF_MAX = worker.BACKOFF_MAX
BACKOFF_BASE = worker.BACKOFF_BASE
RECORD_EVERY = worker.RECORD_EVERY
RateLimiter = worker.RateLimiter
Skip = worker.Skip
NOT_SENT = worker.NOT_SENT
EXPIRED = worker.EXPIRED
_limiters = worker._limiters
_message = worker._message
claim_batch = worker.claim_batch
send_batch = worker.send_batch
dispatch = worker.dispatch


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


def deliveries_enqueue(specs: Iterable[DeliverySpec], *, new_keys: bool = False) -> int:
    """Insert deliveries (in the caller's transaction) and wake a worker on commit.

    Plain multi-row INSERTs (core.bulk). A second insert of the same idempotency key is
    ignored by the database (ON CONFLICT DO NOTHING / INSERT OR IGNORE). A caller whose keys
    cannot exist yet (``new_keys``: each names a row it has just inserted, as a fan-out's
    recipients) skips that check: on PostgreSQL the rows are copied straight into the table,
    not through a scratch table; a key that did exist fails the caller's transaction.
    """
    return deliveries_insert(delivery_rows(specs), new_keys=new_keys)


# Where a delivery's reference item (an alert's recipient row) sits in a row of delivery_rows.
ROW_REF_ITEM = _INSERT_COLUMNS.index("ref_item")


def delivery_rows(specs: Iterable[DeliverySpec]) -> list[tuple]:
    """The rows ``deliveries_insert`` writes, bodies encrypted: no database work, so a large
    fan-out makes them before it takes the (embedded database's single) write lock. Every
    message starts with the coalition's short name (core.coalition.brand_sms)."""
    adapt = connection.ops.adapt_datetimefield_value
    now_db = adapt(timezone.now())
    expiry = lru_cache(maxsize=16)(adapt)  # a fan-out's rows share one expiry: adapted once
    return [
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
            expiry(s.expires_at),
            "",
            "",
            now_db,
            False,
        )
        for s in specs
    ]


def deliveries_insert(rows: list[tuple], *, new_keys: bool = False) -> int:
    """Insert rows made by ``delivery_rows`` (in the caller's transaction) and wake a worker on
    commit; ``new_keys`` as for ``deliveries_enqueue``."""
    if not rows:
        return 0
    insert_rows(Delivery._meta.db_table, _INSERT_COLUMNS, rows, ignore_conflicts=not new_keys)
    # Big fan-outs wake several senders (they claim disjoint batches); small ones, one.
    senders = min(settings.DELIVERY_PARALLEL_TASKS, -(-len(rows) // settings.DELIVERY_BATCH_SIZE))
    transaction.on_commit(lambda: kick(senders))
    return len(rows)


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


def status_update(
    *, provider_id: str, status: str, error_code: str = "", delivery_id: int | None = None
) -> bool:
    """A Twilio status callback. ``delivery_id``: the delivery its URL names (every message the
    worker sends since issue 15's provider-id change): the row is found by its key, and only
    while the callback's SID is the one recorded for it, so a late callback of an earlier
    attempt never moves a row sent again since. Without it (a message sent before that
    change), the row is found by its provider id."""
    mapped = TWILIO_STATUS.get(status)
    if mapped is None or not provider_id:
        return False
    if delivery_id is not None:
        rows = Delivery.objects.filter(pk=delivery_id, provider_id=provider_id)
    else:
        rows = dueset.by_provider(Delivery.objects.all(), provider_id)
    # One row: no order (first() orders by id). On PostgreSQL, with statistics taken while a
    # fan-out's rows had no provider id yet, ORDER BY id LIMIT 1 was planned as a walk of the
    # primary key from the oldest row: 32 ms and 107,000 buffers for each callback of a
    # 51,557-message fan-out (Twilio sends two or three a message), instead of one lookup.
    # Only what is needed: no body decrypted for each callback.
    found = rows.order_by().only("id", "status", "contact_id")[:1]
    delivery = found[0] if found else None
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


RECEIPT_STATUS = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "failed": DeliveryStatus.FAILED,
}


def receipt_update(
    *, channel: str, provider_id: str, status: str, source: str, reason: str = ""
) -> int:
    """A receipt from a provider that reports on its own webhook (the Android gateway): move
    the delivery sent on this channel under this provider id. Rows already final stay as they
    are (retries and out-of-order events never step one back). Returns the rows moved."""
    mapped = RECEIPT_STATUS[status]
    fields: dict = {"status": mapped}
    if mapped in FINAL_STATUSES:
        fields["final_at"] = timezone.now()
    if mapped == DeliveryStatus.FAILED:
        fields["last_error"] = f"{source}: {reason or 'failed'}"[:200]
    return (
        dueset.by_provider(Delivery.objects.filter(channel=channel), provider_id)
        .exclude(status__in=FINAL_STATUSES)
        .update(**fields)
    )


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


# --- the one door: writes other apps ask for (issue 10) ---
# Domain apps never write Delivery or ContactPoint rows themselves: they ask here. Reads for
# their pages and decisions are in messaging.selectors.


def deliveries_cancel_items(
    *, ref_type: str, ref_id: int, ref_items: Iterable[int], reason: str
) -> int:
    """Like deliveries_cancel, for some items of one reference only (the people of a call-out
    who have not answered when its quota is met)."""
    items = list(ref_items)
    if not items:
        return 0
    return Delivery.objects.filter(
        ref_type=ref_type, ref_id=ref_id, ref_item__in=items, status=DeliveryStatus.QUEUED
    ).update(status=DeliveryStatus.CANCELLED, final_at=timezone.now(), last_error=reason[:200])


def deliveries_acknowledge(
    *, ref_type: str, ref_id: int, ref_item: int, at: datetime | None = None
) -> int:
    """The person answered (``at``, by default now): their messages of this item are marked
    acknowledged, and the ones still queued (an escalation step) are cancelled. Returns how
    many were cancelled."""
    now = at or timezone.now()
    mine = Delivery.objects.filter(ref_type=ref_type, ref_id=ref_id, ref_item=ref_item)
    mine.filter(acknowledged_at__isnull=True).update(acknowledged_at=now)
    return mine.filter(status=DeliveryStatus.QUEUED).update(
        status=DeliveryStatus.CANCELLED, final_at=now, last_error="acknowledged"
    )


def contacts_disable(*, address_index: str, channels: Iterable[str], reason: str) -> int:
    """Nothing more goes to this address on these channels (a STOP): its contact points become
    unusable and its waiting messages are cancelled. Claimed rows too: a worker checks right
    before handing each one over, and one found at the provider after all is recorded as sent.
    Returns how many messages were cancelled."""
    contacts = ContactPoint.objects.filter(address_index=address_index, channel__in=list(channels))
    contacts.update(usable=False, unusable_reason=reason[:200])
    return Delivery.objects.filter(
        contact__in=contacts, status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING]
    ).update(status=DeliveryStatus.CANCELLED, final_at=timezone.now(), last_error=reason[:200])


def contacts_enable(*, address_index: str) -> int:
    """The address may be used again on every channel (a STOP undone, a subscription
    confirmed by its own reply)."""
    return ContactPoint.objects.filter(address_index=address_index).update(
        usable=True, unusable_reason=""
    )


def contacts_set_language(*, contact_ids: Iterable[int], language: str) -> int:
    """The person chose the language their messages are written in."""
    ids = [pk for pk in contact_ids if pk]
    if not ids:
        return 0
    return ContactPoint.objects.filter(pk__in=ids).update(language=language)
