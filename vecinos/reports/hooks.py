"""What apps above `reports` add to its pages, without `reports` importing them.

An alert is made *from* an incident, so `alerts` imports `reports` and never the reverse. The
incident's timeline still shows each alert with live counts, and the console still shows the
alerts waiting for a second person: `alerts` registers these two providers when it loads
(`AlertsConfig.ready`), and `reports` asks whoever registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# alert ids -> {alert id: {"label": str, "recipients": int, "sent": int, "acknowledged": int}}
AlertCounts = Callable[[list[int]], dict[int, dict[str, Any]]]
# a console viewer -> notices to show them: {"text": str, "url": str}
ConsoleNotices = Callable[[Any], list[dict[str, str]]]

_alert_counts: list[AlertCounts] = []
_console_notices: list[ConsoleNotices] = []


def register_alert_counts(provider: AlertCounts) -> None:
    if provider not in _alert_counts:
        _alert_counts.append(provider)


def register_console_notices(provider: ConsoleNotices) -> None:
    if provider not in _console_notices:
        _console_notices.append(provider)


def alert_counts(alert_ids: list[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for provider in _alert_counts:
        found.update(provider(alert_ids) if alert_ids else {})
    return found


def console_notices(member: Any) -> list[dict[str, str]]:
    return [notice for provider in _console_notices for notice in provider(member)]
