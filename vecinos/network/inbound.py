"""Who sent an inbound SMS or placed a call: messaging knows the phone's blind index (a contact
point), the member behind it is ours to say. Registered when this module is imported
(``NetworkConfig.ready``)."""

from __future__ import annotations

from vecinos.messaging import inbound
from vecinos.network.models import Member


def member_by_phone(index: str) -> Member | None:
    """The active member with this phone (the oldest account if two share it), or None."""
    return Member.objects.filter(phone_index=index, is_active=True).order_by("pk").first()


inbound.register_sender_lookup(member_by_phone)
