"""Role questions that apps above ``network`` may ask without importing it.

``network`` answers them (registered in its AppConfig.ready); an app that must depend only on
``core`` (rights) asks ``allowed("coordinator", member)``. Unknown questions answer no.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_checks: dict[str, Callable[[Any], bool]] = {}


def register(question: str, check: Callable[[Any], bool]) -> None:
    _checks[question] = check


def allowed(question: str, member: Any) -> bool:
    check = _checks.get(question)
    if check is None or member is None or not getattr(member, "is_authenticated", False):
        return False
    return bool(check(member))
