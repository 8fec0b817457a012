"""Phone numbers as contact points: E.164 or nothing. Never parse numbers by hand.

Messaging owns this (a webhook's ``From`` is a contact point's address before it is anyone's
phone); ``network.phones`` re-exports it for members' numbers.
"""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "US"


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 or InvalidPhone."""
    raw = (raw or "").strip()
    if not raw or len(raw) > 32:
        raise InvalidPhone(raw)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(raw) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
