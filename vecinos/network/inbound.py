"""Who sent an inbound SMS or placed a call: messaging knows the phone's blind index (a contact
point), the member behind it is ours to say. Registered when this module is imported
(``NetworkConfig.ready``)."""

from __future__ import annotations

from vecinos.core import sql
from vecinos.messaging import inbound
from vecinos.network.models import Member

_BY_PHONE = (
    f"SELECT * FROM {Member._meta.db_table} "  # noqa: S608 - our table
    "WHERE phone_index = %s AND is_active ORDER BY id LIMIT 1"
)


def member_by_phone(index: str) -> Member | None:
    """The active member with this phone (the oldest account if two share it), or None.

    Plain SQL: it runs for every inbound message (a surge of call-out replies), and building
    the query was most of its cost."""
    found = sql.rows(Member, _BY_PHONE, [index])
    return found[0] if found else None


inbound.register_sender_lookup(member_by_phone)
