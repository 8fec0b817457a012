"""Named system checks. In production mode each misconfiguration refuses to start."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from vecinos.core.crypto import FieldKeyError, _decode_key

MIN_DISTINCT_SECRET_CHARS = 16
MIN_DISTINCT_KEY_BYTES = 16  # 32 random bytes: about 30 distinct values
WEAK_SECRETS = {"", "changeme", "change-me", "secret", "insecure", "django-insecure"}


@register(Tags.security, deploy=False)
def production_settings(app_configs, **kwargs):
    errors = []
    try:
        _decode_key(settings.FIELD_KEY)
    except FieldKeyError as exc:
        errors.append(Error(str(exc), id="vecinos.E005", hint="Generate one: vecinos genkey"))
    if not settings.PRODUCTION:
        return errors
    secret = settings.SECRET_KEY
    # A generated key (token_urlsafe(50)) has 30-odd distinct characters; "aaaa..." has one.
    if (
        not settings.SECRET_KEY_FROM_ENV
        or secret.lower() in WEAK_SECRETS
        or len(secret) < 40
        or len(set(secret)) < MIN_DISTINCT_SECRET_CHARS
    ):
        errors.append(
            Error(
                "Production needs its own secret key: set VECINOS_SECRET_KEY or "
                "VECINOS_SECRET_KEY_FILE (at least 40 random characters).",
                id="vecinos.E001",
            )
        )
    if not settings.FIELD_KEY_FROM_ENV:
        errors.append(
            Error(
                "Production needs a field-encryption key kept outside the data directory: set "
                "VECINOS_FIELD_KEY or VECINOS_FIELD_KEY_FILE.",
                hint="Generate one with: vecinos genkey",
                id="vecinos.E002",
            )
        )
    try:
        weak_field_key = len(set(_decode_key(settings.FIELD_KEY))) < MIN_DISTINCT_KEY_BYTES
    except FieldKeyError:
        weak_field_key = False  # reported as vecinos.E005 above
    if weak_field_key:
        errors.append(
            Error(
                "VECINOS_FIELD_KEY is not random (too few distinct bytes).",
                hint="Generate one with: vecinos genkey",
                id="vecinos.E006",
            )
        )
    if not (settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE):
        errors.append(
            Error(
                "Production cookies must be HTTPS-only: do not set VECINOS_SECURE_COOKIES=false.",
                id="vecinos.E003",
            )
        )
    if settings.DEBUG:
        errors.append(
            Error("DEBUG must be off in production: unset VECINOS_DEBUG.", id="vecinos.E004")
        )
    return errors


@register(Tags.security, deploy=False)
def delivery_receipts(app_configs, **kwargs):
    """Texts sent through an Android phone gateway report delivered / failed only through its
    signed webhook: without the key every receipt is refused, and a failed text never falls
    back to the person's next channel."""
    if getattr(settings, "SMS_TRANSPORT", "") == "android" and not settings.ANDROID_WEBHOOK_KEY:
        return [
            Warning(
                "The Android SMS gateway is on but VECINOS_ANDROID_WEBHOOK_KEY is not set: its "
                "delivery receipts (/hooks/android/) will be refused.",
                hint="Set the same signing key in the gateway app's webhook settings.",
                id="vecinos.W001",
            )
        ]
    return []


@register(Tags.security, deploy=False)
def proxy_addresses(app_configs, **kwargs):
    """An https address means a proxy in front (``vecinos serve`` speaks plain HTTP): unless
    its address is trusted, every request seems to come from it, so all clients share one
    rate-limit bucket (one flooder locks everyone out) and, with the proxy on this host,
    /metrics answers anyone (outside probe, session 18)."""
    if (
        settings.PRODUCTION
        and settings.PUBLIC_URL.startswith("https://")
        and not settings.TRUSTED_PROXIES
    ):
        return [
            Warning(
                "VECINOS_PUBLIC_URL is https but VECINOS_TRUSTED_PROXIES is not set: behind a "
                "reverse proxy every client shares one rate limit, and /metrics is readable "
                "through a proxy on this host.",
                hint="Set VECINOS_TRUSTED_PROXIES to the proxy's address (127.0.0.1/32 for one "
                "on this host).",
                id="vecinos.W002",
            )
        ]
    return []


# The senders claim with UPDATE ... RETURNING (SQLite 3.35, March 2021; Debian 12 ships 3.40).
MIN_SQLITE = (3, 35, 0)


@register(Tags.compatibility)
def sqlite_version(app_configs, **kwargs):
    from django.db import connection

    if connection.vendor != "sqlite":
        return []
    import sqlite3

    if sqlite3.sqlite_version_info >= MIN_SQLITE:
        return []
    return [
        Error(
            f"SQLite {sqlite3.sqlite_version} is too old: Vecinos needs "
            f"{'.'.join(map(str, MIN_SQLITE))} or newer.",
            hint="Use a newer Python build or operating system, or PostgreSQL "
            "(VECINOS_DATABASE_URL).",
            id="vecinos.E007",
        )
    ]
