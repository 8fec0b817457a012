"""Call-outs' constants and who may do what (split from services.py)."""

from __future__ import annotations

from typing import cast

from vecinos.alerts import services as alert_services
from vecinos.alerts.models import Alert
from vecinos.mobilize.guidance import DEFAULT_GUIDANCE, MAX_GUIDANCE  # noqa: F401 - re-exported
from vecinos.mobilize.models import Activation, CalloutRole, Response
from vecinos.network import selectors as network
from vecinos.network.models import Member

MAX_STAGING = 200
MAX_COUNT = 5000
MAX_ETA_MINUTES = 600
DEFAULT_OPEN_HOURS = 6
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LINK_SALT = "vecinos.mobilize"
LANGUAGES = ("es", "en")  # the languages role names are kept in
SAYS_YES = (Response.Status.COMING, Response.Status.ARRIVED)


class ActivationError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class NotAllowed(PermissionError):
    pass


# --- rules ------------------------------------------------------------------------------------


def can_activate(member: Member) -> bool:
    """Dispatchers and coordinators: the people who may alert may call people out."""
    return alert_services.can_alert(member)


def may_act_on(member: Member, activation: Activation) -> bool:
    """Dispatchers and coalition coordinators: every call-out; org coordinators: their own."""
    if network.has_role(member, "dispatcher", "coalition_coordinator"):
        return True
    return activation.organization_id is not None and network.has_role(
        member, "org_coordinator", organization_id=activation.organization_id
    )


def needs_second_person(activation: Activation) -> bool:
    return alert_services.needs_second_person(cast(Alert, activation))


def may_approve(member: Member, activation: Activation) -> bool:
    # The alerts rule, unchanged: another person, independent of the author.
    return alert_services.may_approve(member, cast(Alert, activation))


DEFAULT_ROLES = [
    ("observer", "Legal observer", "Observador legal"),
    ("documenter", "Documenter", "Documentación"),
    ("accompaniment", "Accompaniment / family support", "Acompañamiento / apoyo a familias"),
    ("presence", "Presence", "Presencia"),
    ("driver", "Driver", "Conductor"),
    ("interpreter", "Interpreter", "Intérprete"),
]


def active_roles() -> list[CalloutRole]:
    """The editable role list (admin). A migration seeds it; an empty table (a database
    flushed by tests, or every role deleted by mistake) gets the defaults back."""
    roles = list(CalloutRole.objects.filter(active=True))
    if roles or CalloutRole.objects.exists():
        return roles
    for order, (key, en, es) in enumerate(DEFAULT_ROLES):
        CalloutRole.objects.get_or_create(
            key=key, defaults={"names": {"en": en, "es": es}, "order": order}
        )
    return list(CalloutRole.objects.filter(active=True))


def role_names(language: str) -> dict[str, str]:
    return {r.key: r.name(language) for r in active_roles()}
