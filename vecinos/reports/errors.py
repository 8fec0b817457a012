"""The reports pipeline's refusals, shared by its service modules."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from vecinos.network.models import Member

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ReportInvalid(ValueError):
    """Field errors: {field: message}. Messages are lazily translated strings."""

    def __init__(self, errors: dict[str, StrOrPromise]) -> None:
        super().__init__(errors)
        self.errors = errors


class RateLimited(Exception):
    pass


class Banned(Exception):
    pass


class LockedByOther(Exception):
    def __init__(self, holder: Member | None, until: datetime | None) -> None:
        super().__init__("locked")
        self.holder, self.until = holder, until


class NotAllowed(PermissionError):
    pass
