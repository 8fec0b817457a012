"""What apps above `reports` add to its pages, without `reports` importing them.

An alert is made *from* an incident, so `alerts` imports `reports` and never the reverse. The
incident's timeline still shows each alert with live counts, and the console still shows the
alerts waiting for a second person: `alerts` registers these two providers when it loads
(`AlertsConfig.ready`), and `reports` asks whoever registered. The hotline's recorded prompts
are kept with the alerts' recorded templates (one machinery for coordinators' recordings):
`alerts` answers ``prompt_recordings`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# alert ids -> {alert id: {"label": str, "recipients": int, "sent": int, "acknowledged": int}}
AlertCounts = Callable[[list[int]], dict[int, dict[str, Any]]]
# a console viewer -> notices to show them: {"text": str, "url": str}
ConsoleNotices = Callable[[Any], list[dict[str, str]]]
# a hotline prompt kind, language codes -> {language: absolute URL the provider plays}
PromptRecordings = Callable[[str, list[str]], dict[str, str]]

_alert_counts: list[AlertCounts] = []
_console_notices: list[ConsoleNotices] = []
_prompt_recordings: list[PromptRecordings] = []


def register_alert_counts(provider: AlertCounts) -> None:
    if provider not in _alert_counts:
        _alert_counts.append(provider)


def register_console_notices(provider: ConsoleNotices) -> None:
    if provider not in _console_notices:
        _console_notices.append(provider)


def register_prompt_recordings(provider: PromptRecordings) -> None:
    if provider not in _prompt_recordings:
        _prompt_recordings.append(provider)


def alert_counts(alert_ids: list[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for provider in _alert_counts:
        found.update(provider(alert_ids) if alert_ids else {})
    return found


def console_notices(member: Any) -> list[dict[str, str]]:
    return [notice for provider in _console_notices for notice in provider(member)]


def prompt_recordings(kind: str, codes: list[str]) -> dict[str, str]:
    """The recorded prompt ``kind`` in each of ``codes`` that has one (none when no app keeps
    recordings: the hotline then speaks Spanish)."""
    found: dict[str, str] = {}
    for provider in _prompt_recordings:
        found.update(provider(kind, codes) if codes else {})
    return found
