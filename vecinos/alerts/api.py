"""Alerts over the JSON API (contract: POST /api/v1/alerts, POST /api/v1/alerts/{id}/approve,
GET /api/v1/alerts/{id}). Mounted at /api/v1/ by vecinos.api.

Callers are dispatchers and coordinators (``services.can_alert``), with a bearer token or a
signed-in session; everyone else gets 403, anonymous callers 401. Every call does exactly what
the same person could do on the alert pages, including the two-person rule for the public tier.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict

from vecinos.alerts import selectors, services, wording
from vecinos.alerts.models import Alert
from vecinos.core.ids import ApiId
from vecinos.network.models import Zone
from vecinos.reports.models import Incident

router = Router(tags=["alerts"])


class AlertIn(Schema):
    """A new alert, sent at once (or held for a second person when it includes the public)."""

    model_config = ConfigDict(extra="forbid")

    kind: Alert.Kind = Field(..., description="sighting, activation, update, all_clear, ...")
    tiers: list[str] = Field(
        default_factory=list,
        description="internal, responders, members, public. Follow-ups use the original's.",
    )
    messages: dict[str, str] = Field(
        default_factory=dict, description='Text per language: {"es": ..., "en": ...}'
    )
    facts: dict[str, str] | None = Field(
        None,
        description=(
            'The facts, written once: {"area": ..., "time": ..., "details": ...}. Every written '
            "language's message is then made from the kind's template; `messages` given too "
            "win for their languages (and the facts fill their `{placeholders}`). A fact the "
            'kind needs and lacks answers 400 with `{"errors": {"facts.<name>": ...}}`.'
        ),
    )
    zones: list[str] = Field(default_factory=list, description="Zone slugs to target.")
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    radius_m: int | None = Field(None, ge=50, le=50_000)
    area_label: str = Field("", max_length=120, description="Coarse public area name.")
    expires_at: datetime | None = Field(None, description="Default: 4 hours from now.")
    incident_id: ApiId | None = Field(None, description="A confirmed incident this alert is about.")
    rights_article: str = Field(
        "",
        description=(
            "Slug of a rights library article: its link (in each message's language when the "
            "article is written in it) is appended to every message."
        ),
    )
    parent_id: ApiId | None = Field(
        None, description="The sent alert an update, all-clear or correction follows."
    )


class AlertStatusOut(Schema):
    id: int
    status: str


class AlertOut(Schema):
    id: int
    kind: str
    status: str
    tiers: list[str]
    expires_at: datetime
    sent_at: datetime | None
    recipients: int
    deliveries: dict[str, int]
    acknowledged: int


class FieldErrorsOut(Schema):
    errors: dict[str, str]


class DetailOut(Schema):
    detail: str


def _alerter(request: HttpRequest):
    member = getattr(request, "auth", None)
    if member is None or not services.can_alert(member):
        raise HttpError(403, "Not allowed")
    return member


def _alert(alert_id: int, member) -> Alert:
    alert = selectors.alert_get(alert_id, member)
    if alert is None:
        raise HttpError(404, "Not found")
    return alert


def _errors(exc: services.AlertError) -> Status:
    return Status(400, {"errors": {k: str(v) for k, v in exc.errors.items()}})


@router.post(
    "/alerts",
    response={201: AlertStatusOut, 400: FieldErrorsOut, 401: DetailOut, 403: DetailOut},
    summary="Create and send an alert",
    description=(
        "Creates the alert and sends it. An alert that includes the `public` tier answers "
        '`{"status": "pending"}`: a second, different dispatcher or coordinator must approve '
        "it (`POST /alerts/{id}/approve`). Alerts without the public tier answer "
        '`{"status": "sent"}`. Input that is well-formed but cannot be sent (no message, '
        'unfilled `{placeholders}`, no target, unknown zone) answers 400 with `{"errors": '
        "{field: message}}`."
    ),
)
def alert_create(request: HttpRequest, payload: AlertIn):  # noqa: C901 - one check per API field, each a 400
    member = _alerter(request)
    errors: dict[str, str] = {}
    zones = list(Zone.objects.filter(slug__in=payload.zones)) if payload.zones else []
    missing = sorted(set(payload.zones) - {z.slug for z in zones})
    if missing:
        errors["zones"] = _("Unknown zones: %(slugs)s") % {"slugs": ", ".join(missing)}
    if (payload.lat is None) != (payload.lng is None):
        errors["target"] = _("Give both lat and lng, or neither.")
    incident = None
    if payload.incident_id is not None:
        # Whether it may become an alert (confirmed) is the service's rule.
        incident = Incident.objects.filter(pk=payload.incident_id).first()
        if incident is None:
            errors["incident_id"] = _("Only a confirmed incident can be turned into an alert.")
    parent = None
    if payload.parent_id is not None:
        # One the caller may not see is as good as none; what may follow it is the service's rule.
        parent = selectors.alert_get(payload.parent_id, member)
        if parent is None:
            errors["parent_id"] = _("A follow-up needs an alert that was sent.")
    messages = dict(payload.messages)
    if payload.facts is not None:
        facts = {k: v for k, v in payload.facts.items() if k in wording.PLACEHOLDERS}
        for name in wording.missing_facts(payload.kind.value, facts):
            errors[f"facts.{name}"] = str(wording.MISSING_FACT)
        made = wording.messages_for(payload.kind.value, facts)
        for lang, text in messages.items():
            made[lang] = wording.fill(text, wording.facts_in(lang, facts))
        messages = made
    if payload.rights_article:
        try:
            forms.ChoiceField(choices=wording.rights_choices()).clean(payload.rights_article)
        except ValidationError as exc:
            errors["rights_article"] = " ".join(exc.messages)
        else:
            messages = wording.attach_rights(messages, payload.rights_article)
    if errors:
        return Status(400, {"errors": errors})
    expires_at = payload.expires_at
    if expires_at is not None and timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at, timezone.get_default_timezone())
    point = (
        (payload.lat, payload.lng) if payload.lat is not None and payload.lng is not None else None
    )
    try:
        alert = services.alert_create(
            actor=member,
            kind=payload.kind.value,
            tiers=payload.tiers,
            messages=messages,
            zones=zones or None,
            point=point,
            radius_m=payload.radius_m,
            expires_at=expires_at,
            incident=incident,
            parent=parent,
            area_label=payload.area_label,
        )
        alert = services.alert_send(alert=alert, actor=member)
    except services.NotAllowed:
        raise HttpError(403, "Not allowed") from None
    except services.AlertError as exc:
        # The service names what an alert follows "incident" and "parent"; here they are ids.
        renamed = {"incident": "incident_id", "parent": "parent_id" if parent else "parent"}
        exc.errors = {renamed.get(k, k): v for k, v in exc.errors.items()}
        return _errors(exc)
    return Status(201, {"id": alert.pk, "status": alert.status})


@router.post(
    "/alerts/{alert_id}/approve",
    response={
        200: AlertStatusOut,
        400: FieldErrorsOut,
        401: DetailOut,
        403: DetailOut,
        404: DetailOut,
    },
    summary="Approve a public alert (second person)",
    description=(
        "The two-person rule: the person who created the alert gets 403. Approving an alert "
        "that is no longer waiting answers its current status and changes nothing."
    ),
)
def alert_approve(request: HttpRequest, alert_id: int):
    member = _alerter(request)
    alert = _alert(alert_id, member)
    try:
        alert = services.alert_approve(alert=alert, actor=member)
    except services.NotAllowed:
        raise HttpError(403, "A second, different person must approve a public alert.") from None
    except services.AlertError as exc:
        return _errors(exc)
    return {"id": alert.pk, "status": alert.status}


@router.get(
    "/alerts/{alert_id}",
    response={200: AlertOut, 401: DetailOut, 403: DetailOut, 404: DetailOut},
    summary="An alert and its delivery counts by state",
)
def alert_read(request: HttpRequest, alert_id: int):
    member = _alerter(request)
    alert = _alert(alert_id, member)
    data = services.progress(alert)
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "status": alert.status,
        "tiers": alert.tiers,
        "expires_at": alert.expires_at,
        "sent_at": alert.sent_at,
        "recipients": alert.recipients_count,
        "deliveries": data["totals"],
        "acknowledged": data["acknowledged"],
    }
