"""Alerts' rules: who may alert or approve, what a message may hold, the escalation policy
and the kinds that follow an alert. No database writes here."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils.translation import gettext_lazy

from vecinos.alerts.models import (
    Alert,
    Tier,
)
from vecinos.core import geo, languages
from vecinos.network import selectors as network
from vecinos.network.models import Member, Role
from vecinos.reports.models import Incident

DEFAULT_EXPIRY = timedelta(hours=4)
MAX_MESSAGE = 640
THROTTLE_PER_HOUR = 6
FOLLOWUP_KINDS = (Alert.Kind.UPDATE, Alert.Kind.ALL_CLEAR, Alert.Kind.CORRECTION)
THROTTLE_EXEMPT = (Alert.Kind.ALL_CLEAR, Alert.Kind.CORRECTION)
FALLBACK_LANGUAGES = ("es", "en")
APPROVAL_REF = "alert_approval"  # Delivery.ref_type of "an alert waits for your approval"
MAX_APPROVERS_NOTIFIED = 20
APPROVAL_WIDEN_AFTER = timedelta(minutes=5)  # then every approver is told, not only on duty

# Escalation per tier, copied onto each alert when it is sent. "after" is seconds since send.
DEFAULT_ESCALATION: dict[str, list[dict]] = {
    Tier.INTERNAL: [
        {"after": 0, "channel": "sms"},
        {"after": 300, "channel": "voice"},
        {"after": 900, "action": "captain"},
    ],
    Tier.RESPONDERS: [
        {"after": 0, "channel": "sms"},
        {"after": 300, "channel": "voice"},
        {"after": 900, "action": "captain"},
    ],
    Tier.MEMBERS: [
        {"after": 0, "channel": "sms"},
        {"after": 300, "channel": "voice"},
        {"after": 900, "action": "captain"},
    ],
    # A million robocalls is neither affordable nor kind: the public gets one message.
    Tier.PUBLIC: [{"after": 0, "channel": "sms"}],
}


class AlertError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class NotAllowed(PermissionError):
    pass


# --- Alerts ------------------------------------------------------------------------------------


def can_alert(member: Member) -> bool:
    return network.has_role(
        member, Role.DISPATCHER, Role.COALITION_COORDINATOR, Role.ORG_COORDINATOR
    )


# A language key is a short language tag ("es", "zh-hant"): it is written into CAP documents
# and SMS templates. It must also be one of the registry's written languages, the codes call-out
# guidance takes (nobody reads "xx-evil", and the key goes out in the feeds). Control characters
# (but tab and newlines) are refused: XML 1.0 cannot carry them, and one would break the public
# feeds for as long as the alert is listed.
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2}")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def validate_messages(messages: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    written = [lang.code for lang in languages.written_languages()]
    clean = {k: (v or "").strip() for k, v in messages.items() if (v or "").strip()}
    if not clean:
        errors["messages"] = str(gettext_lazy("Write the message in at least one language."))
    for lang, text in clean.items():
        if not LANGUAGE_TAG.fullmatch(lang):
            errors["messages"] = str(gettext_lazy("Unknown language code."))
            continue
        if lang not in written:
            errors["messages"] = str(
                gettext_lazy("Unknown language code: %(code)s. Use one of: %(codes)s.")
                % {"code": lang[:20], "codes": ", ".join(written)}
            )
            continue
        if CONTROL_CHARS.search(text):
            errors[f"message_{lang}"] = str(
                gettext_lazy("Remove the invisible control characters from the message.")
            )
        if len(text) > MAX_MESSAGE:
            errors[f"message_{lang}"] = str(
                gettext_lazy("Keep each message under %(n)s characters.") % {"n": MAX_MESSAGE}
            )
        if "{" in text or "}" in text:
            errors[f"message_{lang}"] = str(
                gettext_lazy("Remove the curly braces: they look like an unfilled template.")
            )
    if errors:
        raise AlertError(errors)
    return clean


def may_approve(member: Member, alert: Alert) -> bool:
    """Dispatchers and coalition coordinators, or a coordinator of the alert's organization:
    a coordinator of another group cannot approve (and be charged for) someone else's alert."""
    if member.pk == alert.created_by_id:
        return False
    # Two people, not one person and an account they vouched for and trained themselves.
    if network.vetted_only_by(member, alert.created_by):
        return False
    if network.has_role(member, Role.DISPATCHER, Role.COALITION_COORDINATOR):
        return True
    return alert.organization_id is not None and network.has_role(
        member, Role.ORG_COORDINATOR, organization_id=alert.organization_id
    )


def needs_second_person(alert: Alert) -> bool:
    """An alert to the public, and any alert by someone who is only an organization's
    coordinator: a dispatcher or the coalition's coordinators send alerts to the coalition's
    own people at once; an organization's coordinator alone reached every dispatcher,
    verifier, responder and member of every organization with "sighting confirmed", nothing
    verified (outside probe, session 19)."""
    if Tier.PUBLIC in alert.tiers:
        return True
    author = alert.created_by
    return author is not None and not network.has_role(
        author, Role.DISPATCHER, Role.COALITION_COORDINATOR
    )


def incident_confirmed(incident) -> bool:
    """Only a confirmed incident becomes an alert (verified, or closed as confirmed)."""
    confirmed = Incident.Status.CONFIRMED
    return incident is not None and confirmed in (incident.status, incident.outcome)


def origin_errors(*, kind: str, parent: Alert | None, incident) -> dict[str, str]:
    """What an alert follows: a follow-up kind follows an alert that was sent, an alert that
    follows one is a follow-up kind, and an incident it is made from was confirmed."""
    errors: dict[str, str] = {}
    if kind not in Alert.Kind.values:
        errors["kind"] = str(gettext_lazy("Choose what kind of alert this is."))
    if parent is None:
        if kind in FOLLOWUP_KINDS:
            errors["parent"] = str(
                gettext_lazy("An update, all-clear or correction follows an alert.")
            )
    elif parent.status != Alert.Status.SENT:
        errors["parent"] = str(gettext_lazy("A follow-up needs an alert that was sent."))
    elif kind not in FOLLOWUP_KINDS:
        errors.setdefault(
            "kind", str(gettext_lazy("A follow-up is an update, an all-clear or a correction."))
        )
    if incident is not None and not incident_confirmed(incident):
        errors["incident"] = str(
            gettext_lazy("Only a confirmed incident can be turned into an alert.")
        )
    return errors


def target_errors(
    *,
    needs_area: bool,
    zones: list | None,
    point: tuple[float, float] | None,
    radius_m: int | None,
    polygon: list[list[float]] | None,
) -> dict[str, str]:
    """Where an alert goes: an area when it reaches members or the public, on the map."""
    errors: dict[str, str] = {}
    if needs_area and not zones and not (point and radius_m) and not polygon:
        errors["target"] = str(gettext_lazy("Choose zones or a place and radius."))
    if polygon:
        try:
            for corner in polygon:
                geo.validate_lat_lng(*corner)
            if not 3 <= len(polygon) <= 200:
                raise geo.GeoError("corners")
        except (geo.GeoError, TypeError, ValueError):
            errors["target"] = str(gettext_lazy("That place is not on the map."))
    if point is not None:
        try:
            geo.validate_lat_lng(*point)
        except geo.GeoError:
            errors["target"] = str(gettext_lazy("That place is not on the map."))
    if radius_m is not None and not (50 <= radius_m <= 50_000):
        errors["radius_m"] = str(gettext_lazy("The radius must be between 50 m and 50 km."))
    return errors
