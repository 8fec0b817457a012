"""Call-outs in the JSON API: create (and send), read counts per role and status, stand down."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext, gettext_lazy
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ValidationError

from vecinos.core.ids import ApiId
from vecinos.mobilize import guidance as guidance_texts
from vecinos.mobilize import selectors, services
from vecinos.mobilize.models import Activation
from vecinos.network.models import Zone
from vecinos.reports.api import FieldErrorsOut
from vecinos.reports.models import Incident

router = Router(tags=["mobilize"])


class ActivationIn(Schema):
    staging_point: str
    needed_by: datetime
    roles: dict[str, int]
    tiers: list[str] = ["responders"]
    guidance: dict[str, str] = {}
    # Row ids: integers from 1 to 2**63 - 1 (422 otherwise); an unknown zone answers 400.
    incident_id: ApiId | None = None
    zone_ids: list[ApiId] = []
    lat: float | None = None
    lng: float | None = None
    # The call-out page's bounds.
    radius_m: int | None = Field(None, ge=50, le=50_000)
    # An area drawn on a map: [[lat, lng], ...], 3 to 200 corners (as the alert composer's).
    polygon: list[list[float]] = []
    quota: bool = False
    wave_size: int = 20
    wave_minutes: int = 10
    # Slug of a rights library article: its link (in each person's language when the article
    # is written in it) goes into the ask.
    rights_article: str = ""


class ActivationOut(Schema):
    id: int
    code: str
    status: str
    needed_by: datetime
    recipients: int
    needed: dict[str, int]
    rights_article: str
    counts: dict[str, dict[str, int]]


class Error(Schema):
    detail: str
    errors: dict[str, str] = {}


def _out(activation: Activation) -> dict:
    return {
        "id": activation.pk,
        "code": activation.code,
        "status": activation.status,
        "needed_by": activation.needed_by,
        "recipients": activation.recipients_count,
        "needed": activation.roles,
        "rights_article": activation.rights_article,
        "counts": services.counts(activation),
    }


def _get(request, activation_id: int) -> Activation:
    if not services.can_activate(request.auth):
        raise HttpError(403, "Not allowed")
    activation = selectors.activation_get(activation_id, request.auth)
    if activation is None:
        raise HttpError(404, "Not found")
    return activation


@router.post("/activations", response={201: ActivationOut, 400: FieldErrorsOut, 403: Error})
def activation_create(request, payload: ActivationIn):
    actor = request.auth
    if not services.can_activate(actor):
        return Status(403, {"detail": "Not allowed"})
    incident = None
    if payload.incident_id is not None:
        incident = Incident.objects.filter(pk=payload.incident_id).first()
        if incident is None:
            return Status(400, {"detail": "Invalid", "errors": {"incident": "Unknown incident."}})
    zones = list(Zone.objects.filter(pk__in=payload.zone_ids)) if payload.zone_ids else []
    missing = sorted(set(payload.zone_ids) - {zone.pk for zone in zones})
    if missing:
        # As an unknown zone slug in POST /alerts: refused, never dropped.
        unknown = gettext("Unknown zones: %(slugs)s") % {"slugs": ", ".join(map(str, missing))}
        return Status(400, {"detail": "Invalid", "errors": {"zone_ids": unknown}})
    point = (
        (payload.lat, payload.lng) if payload.lat is not None and payload.lng is not None else None
    )
    try:
        activation = services.activation_create(
            actor=actor,
            staging_point=payload.staging_point,
            needed_by=payload.needed_by,
            roles=payload.roles,
            tiers=payload.tiers,
            guidance=payload.guidance,
            incident=incident,
            zones=zones,
            point=point,
            radius_m=payload.radius_m,
            polygon=payload.polygon or None,
            quota=payload.quota,
            wave_size=payload.wave_size,
            wave_minutes=payload.wave_minutes,
            rights_article=payload.rights_article,
        )
        activation = services.activation_send(activation=activation, actor=actor)
    except services.ActivationError as exc:
        return Status(400, {"detail": "Invalid", "errors": exc.errors})
    except services.NotAllowed:
        return Status(403, {"detail": "Not allowed"})
    return Status(201, _out(activation))


@router.get("/activations/{activation_id}", response=ActivationOut)
def activation_read(request, activation_id: int):
    return _out(_get(request, activation_id))


class StandDownIn(Schema):
    # An optional note after the stand-down text, by language code; whoever's language has
    # none reads the Spanish one, then the English one.
    note: dict[str, str] = {}


@router.post(
    "/activations/{activation_id}/stand-down",
    response={200: ActivationOut, 400: FieldErrorsOut, 403: Error},
)
def activation_stand_down(request, activation_id: int):
    activation = _get(request, activation_id)
    # The body is optional (a bare POST stands down with no note), so it is read here.
    try:
        is_json = request.content_type == "application/json" and request.body.strip()
        note = StandDownIn.model_validate_json(request.body if is_json else b"{}").note
    except ValidationError:
        return Status(
            400, {"detail": "Invalid", "errors": {"note": 'Send {"note": {"<code>": "<text>"}}.'}}
        )
    errors: dict[str, str] = {}
    known = guidance_texts.guidance_languages()
    for code, text in note.items():
        if code not in known:
            errors["note"] = str(
                gettext_lazy("Unknown language code: %(code)s. Use one of: %(codes)s.")
                % {"code": code[:20], "codes": ", ".join(known)}
            )
        elif len(text.strip()) > guidance_texts.MAX_GUIDANCE:
            errors["note_" + code.replace("-", "_")] = str(
                gettext_lazy("Keep the message under %(n)s characters.")
                % {"n": guidance_texts.MAX_GUIDANCE}
            )
    if errors:
        return Status(400, {"detail": "Invalid", "errors": errors})
    try:
        services.stand_down(activation=activation, actor=request.auth, texts=note)
    except services.NotAllowed:
        return Status(403, {"detail": "Not allowed"})
    activation.refresh_from_db()
    return Status(200, _out(activation))
