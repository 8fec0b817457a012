"""Helpers that keep client addresses out of rows and logs."""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.http import HttpRequest


def no_client_ip(request: HttpRequest) -> str:
    """Given to django-axes so it never records a real address."""
    return "0.0.0.0"  # noqa: S104 - a placeholder, not a bind address


def source_key(value: str, *, period_seconds: int = 86400, now: float | None = None) -> str:
    """A rotating keyed hash of an IP or phone number for rate limits and ban lists.

    The key changes every period, so yesterday's hashes cannot be linked to today's.
    """
    epoch = int((now if now is not None else time.time()) // period_seconds)
    key = hashlib.sha256(f"{settings.SECRET_KEY}:source:{epoch}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]
