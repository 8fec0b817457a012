from __future__ import annotations

import phonenumbers

from vecinos.core.crypto import blind_index

DEFAULT_REGION = "US"


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 or InvalidPhone. Never parse numbers by hand."""
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


def phone_index(e164: str) -> str:
    return blind_index(e164, purpose="phone")


def email_index(email: str) -> str:
    return blind_index(email.strip().lower(), purpose="email")
