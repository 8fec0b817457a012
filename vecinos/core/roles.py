"""Role questions that apps above ``network`` may ask without importing it.

``network`` answers them (registered in its AppConfig.ready); an app that must depend only on
``core`` (rights) asks ``allowed("coordinator", member)``. Unknown questions answer no.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_checks: dict[str, Callable[[Any], bool]] = {}
_relations: dict[str, Callable[[Any, Any], bool]] = {}


def register(question: str, check: Callable[[Any], bool]) -> None:
    _checks[question] = check


def allowed(question: str, member: Any) -> bool:
    check = _checks.get(question)
    if check is None or member is None or not getattr(member, "is_authenticated", False):
        return False
    return bool(check(member))


def register_independence(check: Callable[[Any, Any], bool]) -> None:
    """``check(a, b)``: whether two members are two independent people (``network``)."""
    _relations["independent"] = check


def independent(a: Any, b: Any) -> bool:
    """Two different people, neither of them an account the other alone vetted (vouched for,
    trained), directly or through such accounts. No answer registered: no."""
    check = _relations.get("independent")
    if check is None or a is None or b is None:
        return False
    return bool(check(a, b))
