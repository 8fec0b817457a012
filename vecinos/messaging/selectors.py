"""What other apps may read of messaging and of the transports behind it (issue 10).

Domain apps never import ``vecinos.transports`` nor query Delivery / ContactPoint rows
themselves: which channels a provider sends, the console outbox, which contact points still
work and how an app's messages fared are asked here. Writes are in messaging.services.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, QuerySet

from vecinos.core.bulk import with_ids
from vecinos.messaging import dueset
from vecinos.messaging.models import Channel, ContactPoint, Delivery, DeliveryStatus
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

OUT_STATES = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
LIVE_STATES = (
    DeliveryStatus.QUEUED,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
)
FAILED_STATES = (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED)


# --- channels and the console outbox ----------------------------------------------------------


def channel_configured(channel: str) -> bool:
    """True when a real provider (not the console Outbox) sends this channel: optional channels
    such as Signal are offered and used only then."""
    return registry.is_configured(channel)


def channel_rate(channel: str) -> float:
    """The configured sending rate of a channel (messages a second; 0 when not set)."""
    try:
        return float(registry.get_transport(channel).rate_limit or 0)
    except LookupError:
        return 0.0


def outbox_recent(limit: int) -> list[OutboxMessage]:
    """What the console transport "sent", newest first."""
    return list(OutboxMessage.objects.order_by("-created_at", "-id")[:limit])


# --- contact points ---------------------------------------------------------------------------


def usable_contact_ids(contact_ids: Iterable[int]) -> set[int]:
    """Those of these contact points that still work."""
    ids = [pk for pk in contact_ids if pk]
    if not ids:
        return set()
    return set(with_ids(ContactPoint.objects.filter(usable=True), ids).values_list("pk", flat=True))


def contact_ids_by_index(channel: str, indexes: Iterable[str]) -> dict[str, int]:
    """{address index: contact point id} of this channel (a Signal number shares its phone's
    blind index, so a phone's index finds its Signal contact point)."""
    wanted = list(indexes)
    if not wanted:
        return {}
    return {
        index: pk
        for pk, index in ContactPoint.objects.filter(
            channel=channel, address_index__in=wanted
        ).values_list("pk", "address_index")
    }


def usable_contact(channel: str, address_index: str) -> ContactPoint | None:
    return ContactPoint.objects.filter(
        channel=channel, address_index=address_index, usable=True
    ).first()


def contact_language(channel: str, address_index: str) -> str:
    """The language messages to this address are written in ("" when we have no contact point
    there), whether or not it still works: the one its person chose (a language keyword by SMS,
    an event's sign-up)."""
    if not address_index:
        return ""
    found = (
        ContactPoint.objects.filter(channel=channel, address_index=address_index)
        .values_list("language", flat=True)
        .first()
    )
    return found or ""


def push_contacts_of(member_ids: Iterable[int]) -> list[ContactPoint]:
    """The working Web Push subscriptions of these people (by id)."""
    return list(
        ContactPoint.objects.filter(
            channel=Channel.PUSH, member_id__in=list(member_ids), usable=True
        )
    )


# --- how an app's messages fared --------------------------------------------------------------


def deliveries_count(*, ref_type: str, ref_ids, channels: Iterable[str]) -> int:
    """Messages of these references on these channels (``ref_ids`` may be a subquery)."""
    return Delivery.objects.filter(
        ref_type=ref_type, ref_id__in=ref_ids, channel__in=list(channels)
    ).count()


def delivery_states(*, ref_type: str, ref_id: int) -> list[tuple[str, str, int]]:
    """(channel, status, count) of one reference's messages."""
    return list(
        Delivery.objects.filter(ref_type=ref_type, ref_id=ref_id)
        .values_list("channel", "status")
        .annotate(n=Count("id"))
    )


def sent_counts(*, ref_type: str, ref_ids: Iterable[int]) -> dict[int, int]:
    """{reference id: messages that went out (sent or delivered)}."""
    return dict(
        Delivery.objects.filter(ref_type=ref_type, ref_id__in=list(ref_ids), status__in=OUT_STATES)
        .values_list("ref_id")
        .annotate(n=Count("id"))
    )


def items_messaged_since(*, purpose: str, ref_type: str, ref_id: int, since: datetime) -> set[int]:
    """Items of one reference (a shift's members asked to fill it) that were given a message
    of this purpose since then, whatever became of it (the ``delivery_ref`` index's prefix)."""
    rows = Delivery.objects.filter(
        ref_type=ref_type, ref_id=ref_id, purpose=purpose, created_at__gte=since
    ).values_list("ref_item", flat=True)
    return {item for item in rows if item is not None}


def item_failed_for_good(ref_type: str, *, ref_field: str, item_field: str = "pk") -> Exists:
    """For a query of an app's items (``ref_field`` and ``item_field`` naming each row's
    reference and item): some message of the item failed for good."""
    return Exists(
        dueset.failed_only(_item_deliveries(ref_type, ref_field, item_field)).filter(
            status__in=FAILED_STATES
        )
    )


def item_still_live(ref_type: str, *, ref_field: str, item_field: str = "pk") -> Exists:
    """Likewise: some message of the item is waiting, being sent, sent or delivered."""
    return Exists(_item_deliveries(ref_type, ref_field, item_field).filter(status__in=LIVE_STATES))


def _item_deliveries(ref_type: str, ref_field: str, item_field: str) -> QuerySet:
    return Delivery.objects.filter(
        ref_type=ref_type, ref_id=OuterRef(ref_field), ref_item=OuterRef(item_field)
    )


def channels_tried(
    *, ref_type: str, items: Iterable[tuple[int, int]]
) -> dict[int | None, set[str]]:
    """{item: the channels a message of it was already tried on}, for (reference id, item)
    pairs: the reference narrows the search to the ``delivery_ref`` index's prefix."""
    pairs = list(items)
    tried: dict[int | None, set[str]] = defaultdict(set)
    for item, channel in Delivery.objects.filter(
        ref_type=ref_type,
        ref_id__in={ref_id for ref_id, _ in pairs},
        ref_item__in=[item for _, item in pairs],
    ).values_list("ref_item", "channel"):
        tried[item].add(channel)
    return tried
