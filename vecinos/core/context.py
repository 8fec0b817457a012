from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

import phonenumbers
from django.conf import settings
from django.urls import reverse

from vecinos.core import extensions
from vecinos.core.coalition import coalition


class _MayOpen(Mapping[str, bool]):
    """``nav.may.<url name>`` in templates: each app's own rule, asked only when used."""

    def __init__(self, member: Any) -> None:
        self._member = member
        self._answers: dict[str, bool] = {}

    def __getitem__(self, url_name: str) -> bool:
        if url_name not in self._answers:
            self._answers[url_name] = extensions.may_open(url_name, self._member)
        return self._answers[url_name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._answers)

    def __len__(self) -> int:
        return len(self._answers)


class _Navigation:
    def __init__(self, member: Any, path: str = "") -> None:
        self.may = _MayOpen(member)
        self._member = member
        self._path = path
        self._menus: list[extensions.NavGroup] | None = None

    @property
    def menus(self) -> list[extensions.NavGroup]:
        if self._menus is None:
            self._menus = extensions.navigation_for(self._member)
        return self._menus

    @cached_property
    def open_key(self) -> str:
        """The menu shown open: the one holding this page; on the home page the first. Open on
        every page, "Now" took a third of a phone's screen above each page's own content
        (outside walk, session 19)."""
        menus = self.menus
        for menu in menus:
            if any(reverse(entry.url_name) == self._path for entry in menu.entries):
                return menu.key
        if menus and self._path == reverse("home"):
            return menus[0].key
        return ""


def phone_display(number: str, region: str = "US") -> str:
    """A phone number as people write it where it is ("(213) 555-0100" in the US; "+52 55 1234
    5678" elsewhere), isolated left to right (U+2066...U+2069) so a right-to-left sentence
    keeps its digits in order. The raw number stays for tel: links."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return f"\u2066{number}\u2069"
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(parsed) == region
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return f"\u2066{phonenumbers.format_number(parsed, style)}\u2069"


def site(request):
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    current = coalition()
    language = getattr(request, "LANGUAGE_CODE", None)
    hotline = current.hotline_for(language)
    return {
        "site_name": current.name,
        "coalition": current,
        "hotline": hotline,
        "hotline_display": phone_display(hotline),
        "public_url": settings.PUBLIC_URL,
        # The number people text (keywords: an event's code, JOIN, REPORT), when there is one.
        # Isolated left to right (U+2066...U+2069): inside a right-to-left sentence too.
        "sms_number": f"\u2066{settings.TWILIO_FROM_NUMBER}\u2069"
        if settings.TWILIO_FROM_NUMBER
        else "",
        "nav": _Navigation(user if signed_in else None, getattr(request, "path", "")),
    }
