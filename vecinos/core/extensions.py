"""Extension points: what each app adds to the whole, registered in its AppConfig.ready().

core names the registries and knows no app. An app adds

- its **page rules** (``add_page_rule``): "may this member open the page named X?", answered by
  the app's own selector, for templates that link to another app's page (``nav.may.X``);
- its **navigation entries** (``add_nav``, each also a page rule): a label, a URL name, the
  menu it belongs in and the app's own permission predicate, the same one its view checks, so a
  link is shown exactly when the page would open;
- its **purge steps** (``add_purge_step``): what the emergency purge deletes of the app's own
  rows; ``vecinos.purge`` runs every step in order;
- its **retention steps** (``add_retention_step``): what it empties with the reports' retention;
- its **demo steps** (``add_demo_step``): its part of the demo coalition, run after network's;
- its **audit action labels** (``add_audit_actions``): what each action code the app writes with
  ``core.audit.audit`` means, in words a coordinator reads in their own language on the audit
  log (``audit_action_label``); the code stays beside it, people search for codes.

Registering twice under the same key replaces the first entry (``ready()`` may run again in
tests), so nothing is listed twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# --- navigation ----------------------------------------------------------------------------------

# The menus of the signed-in navigation, in order: grouped by task, not by app.
NAV_GROUPS: tuple[tuple[str, Promise], ...] = (
    ("now", _("Now")),
    ("patrols", _("Patrols")),
    # The menu of rosters and imports, not a head count ("人数": outside walk, session 18).
    ("people", pgettext_lazy("navigation", "People")),
    ("me", _("Me")),
)


@dataclass(frozen=True)
class NavEntry:
    url_name: str
    label: str | Promise
    group: str
    allowed: Callable[[Any], bool]  # the app's own rule: may this member open the page?
    order: int = 100


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: str | Promise
    entries: tuple[NavEntry, ...]


_nav: dict[str, NavEntry] = {}
_page_rules: dict[str, Callable[[Any], bool]] = {}


def add_page_rule(url_name: str, allowed: Callable[[Any], bool]) -> None:
    _page_rules[url_name] = allowed


def may_open(url_name: str, member: Any) -> bool:
    """The app's own answer; a page nobody registered is not linked (answers no)."""
    rule = _page_rules.get(url_name)
    if rule is None or member is None or not getattr(member, "is_authenticated", False):
        return False
    return bool(rule(member))


def add_nav(
    url_name: str,
    label: str | Promise,
    *,
    group: str,
    allowed: Callable[[Any], bool],
    order: int = 100,
) -> None:
    if group not in dict(NAV_GROUPS):
        raise ValueError(f"unknown navigation group {group!r}")
    _nav[url_name] = NavEntry(url_name, label, group, allowed, order)
    _page_rules[url_name] = allowed


def nav_entries() -> list[NavEntry]:
    """Every registered entry, whoever may see it (tests walk these)."""
    return sorted(_nav.values(), key=lambda e: (e.group, e.order, e.url_name))


def navigation_for(member: Any) -> list[NavGroup]:
    """The menus this member sees: only entries whose rule allows them, no empty menus."""
    if member is None or not getattr(member, "is_authenticated", False):
        return []
    groups = []
    for key, label in NAV_GROUPS:
        entries = sorted(
            (e for e in _nav.values() if e.group == key and may_open(e.url_name, member)),
            key=lambda e: (e.order, e.url_name),
        )
        if entries:
            groups.append(NavGroup(key, label, tuple(entries)))
    return groups


# --- steps: the emergency purge and the demo -----------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[..., Any]
    order: int


_purge_steps: dict[str, Step] = {}
_retention_steps: dict[str, Step] = {}
_demo_steps: dict[str, Step] = {}


def add_purge_step(name: str, run: Callable[[], dict[str, int]], *, order: int) -> None:
    """``run()`` deletes what the app holds about people and returns counts by kind.

    Lower orders run first: rows that point at people (messages, answers) go before the people.
    """
    _purge_steps[name] = Step(name, run, order)


def purge_steps() -> list[Step]:
    return sorted(_purge_steps.values(), key=lambda s: (s.order, s.name))


def add_retention_step(name: str, run: Callable[[Any], dict[str, int]], *, order: int) -> None:
    """``run(cutoff)`` empties what the app keeps from before ``cutoff`` (a datetime) that the
    reports' retention covers (message bodies name places); counts by kind are summed."""
    _retention_steps[name] = Step(name, run, order)


def retention_steps() -> list[Step]:
    return sorted(_retention_steps.values(), key=lambda s: (s.order, s.name))


def add_demo_step(
    name: str, run: Callable[[Callable[[str], None]], dict[str, str] | None], *, order: int
) -> None:
    """``run(say)`` adds the app's part of the demo; it may return extra demo credentials."""
    _demo_steps[name] = Step(name, run, order)


def demo_steps() -> list[Step]:
    return sorted(_demo_steps.values(), key=lambda s: (s.order, s.name))


# --- audit actions -------------------------------------------------------------------------------

_audit_actions: dict[str, str | Promise] = {}


def add_audit_actions(mapping: Mapping[str, str | Promise]) -> None:
    """Labels (lazy translations) of the app's own audit action codes."""
    _audit_actions.update(mapping)


def audit_action_label(code: str) -> str:
    """The label in the active language; the code itself when nobody registered one (an action
    written before its label existed, or by a removed app: the log still shows something)."""
    label = _audit_actions.get(code)
    return code if label is None else str(label)


def audit_actions() -> dict[str, str | Promise]:
    """Every registered code and its label (tests check each action written has one)."""
    return dict(_audit_actions)
