from __future__ import annotations

from vecinos.core.crypto import blind_index

# One parser for every phone number; messaging owns it (a webhook's From is a contact point).
from vecinos.messaging.phones import DEFAULT_REGION, InvalidPhone, normalize_phone

__all__ = ["DEFAULT_REGION", "InvalidPhone", "email_index", "normalize_phone", "phone_index"]


def phone_index(e164: str) -> str:
    return blind_index(e164, purpose="phone")


def email_index(email: str) -> str:
    return blind_index(email.strip().lower(), purpose="email")
