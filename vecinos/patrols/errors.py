"""The patrols app's refusals, shared by its service modules (services, feeds)."""

from __future__ import annotations


class PatrolError(ValueError):
    """A refusal with a message for the person (lazily translated)."""


class NotAllowed(PermissionError):
    pass
