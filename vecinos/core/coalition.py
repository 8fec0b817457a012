"""The coalition's public identity (name, short name, hotline, logo, colour, time zone).

One row (``CoalitionSettings``, pk 1), created from the environment on first use
(``VECINOS_COALITION_NAME``, ``VECINOS_COALITION_SHORT_NAME``, ``VECINOS_HOTLINE_NUMBER``,
``VECINOS_PUBLIC_CONTACT``, ``VECINOS_ACCENT_COLOR``,
``VECINOS_TIME_ZONE``). Read on every page and every text message, so it is cached in the
process: the process that saves drops its copy at once, the others re-read within
``CACHE_SECONDS`` (one small query).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError

CACHE_SECONDS = 15.0
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Coalition:
    name: str
    short_name: str
    hotline: dict[str, str] = field(default_factory=dict)
    public_contact: str = ""
    accent_color: str = "#0b6e4f"
    languages: tuple[str, ...] = ("en", "es")
    time_zone: str = "America/Los_Angeles"
    logo_version: int = 0
    reviewed_languages: frozenset[str] = frozenset()

    def hotline_for(self, language: str | None) -> str:
        """The hotline number for a language, else the default one ("" when none is set)."""
        if language and self.hotline.get(language[:2]):
            return self.hotline[language[:2]]
        return self.hotline.get("default") or next(iter(self.hotline.values()), "")


_lock = threading.Lock()
_cached: tuple[float, Coalition] | None = None


def defaults() -> dict:
    """The first row's values, from the environment (settings.COALITION_DEFAULTS)."""
    return dict(settings.COALITION_DEFAULTS)


def _from_row(row) -> Coalition:
    return Coalition(
        name=row.name,
        short_name=row.short_name,
        hotline={k: v for k, v in (row.hotline or {}).items() if v},
        public_contact=row.public_contact,
        accent_color=row.accent_color if HEX_COLOR.match(row.accent_color or "") else "#0b6e4f",
        languages=tuple(row.languages or ()) or ("en", "es"),
        time_zone=row.time_zone,
        logo_version=row.logo_version if row.logo_png else 0,
        reviewed_languages=frozenset(row.reviewed_languages or ()),
    )


def settings_row():
    """The settings row, created from the environment the first time."""
    from vecinos.core.models import CoalitionSettings

    row = CoalitionSettings.objects.defer("logo_png").filter(pk=1).first()
    if row is None:
        row, _created = CoalitionSettings.objects.get_or_create(pk=1, defaults=defaults())
    return row


def coalition() -> Coalition:
    global _cached
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    try:
        value = _from_row(settings_row())
    except DatabaseError:
        # Before the first migration (or with the database away) pages still render.
        return _from_defaults()
    with _lock:
        _cached = (now, value)
    return value


def _from_defaults() -> Coalition:
    d = defaults()
    return Coalition(
        name=d["name"],
        short_name=d["short_name"],
        hotline=d["hotline"],
        public_contact=d["public_contact"],
        accent_color=d["accent_color"],
        time_zone=d["time_zone"],
    )


def prime_for_tests() -> None:
    """Cache the environment's defaults without reading the database (tests only)."""
    global _cached
    with _lock:
        _cached = (float("inf"), _from_defaults())


def invalidate() -> None:
    global _cached
    with _lock:
        _cached = None


def set_language_reviewed(code: str, reviewed: bool, *, actor) -> bool:
    """A coalition coordinator marks an interface language reviewed by a native speaker (or
    back to needs-review). Audited; the footer notice follows at once in this process and
    within ``CACHE_SECONDS`` in the others. Returns whether anything changed."""
    from django.db import transaction

    from vecinos.core.audit import audit
    from vecinos.core.models import CoalitionSettings

    with transaction.atomic():
        settings_row()
        row = CoalitionSettings.objects.select_for_update().defer("logo_png").get(pk=1)
        codes = set(row.reviewed_languages or ())
        if (code in codes) == reviewed:
            return False
        codes = codes | {code} if reviewed else codes - {code}
        row.reviewed_languages = sorted(codes)
        row.save(update_fields=["reviewed_languages", "updated_at"])
        audit(
            "language.reviewed" if reviewed else "language.needs_review",
            actor=actor,
            target=row,
            language=code,
        )
    invalidate()
    return True


PRODUCT = "Vecinos"
# Where the product's name sits in a text's opening words: at the start in English ("Vecinos:
# ...", "Vecinos call-out ..."), after a word or two in many languages ("Convocatoria de
# Vecinos ...", "استنفار Vecinos ...", "Вызов Vecinos ..."), before an Armenian or Khmer colon.
# Only the first whole word within the opening is the sender's name; what follows may be a
# place or a title someone typed.
_PRODUCT_AT_OPENING = re.compile(rf"(?<!\w){PRODUCT}(?!\w)")
_OPENING = 40


def brand_sms(text: str) -> str:
    """Name the coalition (its short name) where a text names the product as its sender."""
    # Only the opening is searched (a fan-out brands every message): one character past the
    # name's last possible end, so the "not followed by a letter" check sees it.
    found = _PRODUCT_AT_OPENING.search(text, 0, _OPENING + len(PRODUCT) + 1)
    if found is None or found.start() > _OPENING:
        return text
    short = coalition().short_name
    if not short or short == PRODUCT:
        return text
    return f"{text[: found.start()]}{short}{text[found.end() :]}"
