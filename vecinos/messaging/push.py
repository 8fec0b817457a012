"""Browser push subscriptions, kept as contact points on the "push" channel.

A subscription needs no table of its own: the PushSubscription JSON (endpoint and keys) is the
contact point's address, encrypted like every other address, in one canonical spelling so the
blind index finds it again. The transport (vecinos.transports.webpush) reads it back at send
time; a push service answering 404/410 marks the contact point unusable (pruned).

The page's "Turn on notifications" button (static/js/push.js) POSTs
``PushSubscription.toJSON()`` to ``/me/push/``; the view there calls ``push_subscribe``, and
``push_unsubscribe`` on DELETE. ``vapid_public_key()`` is what the button's ``data-vapid-key``
attribute carries.
"""

from __future__ import annotations

import json

from django.db import transaction

from vecinos.messaging import services
from vecinos.messaging.models import Channel, ContactPoint
from vecinos.transports.webpush.transport import (
    InvalidSubscription,
    canonical_json,
    parse_subscription,
    vapid_public_key,
)

__all__ = [
    "InvalidSubscription",
    "push_subscribe",
    "push_unsubscribe",
    "vapid_public_key",
]


def _endpoint(contact: ContactPoint) -> str:
    try:
        return str(json.loads(contact.address).get("endpoint") or "")
    except (ValueError, AttributeError):
        return ""


@transaction.atomic
def push_subscribe(*, member, subscription: dict | str, language: str = "es") -> ContactPoint:
    """Store (or revive) the member's subscription; raises InvalidSubscription on bad input.

    A browser that subscribes again (new keys for the same endpoint, or a new endpoint after
    the old one expired) leaves its older contact points unusable, so nobody gets two copies.
    """
    address = canonical_json(subscription)
    endpoint = parse_subscription(address)["endpoint"]
    contact = services.contact_point(
        channel=Channel.PUSH, address=address, member=member, language=language
    )
    fields = {}
    if contact.member_id != member.pk:
        # The same browser, now signed in as someone else: it is theirs now.
        fields["member"] = member
    if not contact.usable or contact.unusable_reason:
        fields.update(usable=True, unusable_reason="")
    if contact.language != language:
        fields["language"] = language
    if fields:
        ContactPoint.objects.filter(pk=contact.pk).update(**fields)
        for name, value in fields.items():
            setattr(contact, name, value)
    older = ContactPoint.objects.filter(channel=Channel.PUSH, member=member, usable=True).exclude(
        pk=contact.pk
    )
    stale = [c.pk for c in older if _endpoint(c) == endpoint]
    if stale:
        ContactPoint.objects.filter(pk__in=stale).update(usable=False, unusable_reason="replaced")
    return contact


@transaction.atomic
def push_unsubscribe(*, member, endpoint: str) -> int:
    """Stop pushing to this browser (the person turned notifications off). Rows are kept so
    delivery history stays whole; returns how many contact points were turned off."""
    mine = ContactPoint.objects.filter(channel=Channel.PUSH, member=member, usable=True)
    ids = [c.pk for c in mine if _endpoint(c) == endpoint]
    if ids:
        ContactPoint.objects.filter(pk__in=ids).update(usable=False, unusable_reason="unsubscribed")
    return len(ids)
