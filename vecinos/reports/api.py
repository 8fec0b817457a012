"""Reports over the JSON API: intake for apps and partner hotlines, incidents for the console.

Mounted at /api/v1/ by vecinos.api; documented in /api/v1/openapi.json.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import BaseModel, ConfigDict

from vecinos.core import groupcommit
from vecinos.core.clientip import limit_key
from vecinos.network.api_auth import BearerToken, VerifiedSession
from vecinos.reports import selectors, services
from vecinos.reports.api_console import router as console_router
from vecinos.reports.models import Activity, Agency, Incident, Report

router = Router(tags=["reports"])
routers = [console_router, router]  # mounted by vecinos.api, the console's first


class ReportIn(BaseModel):
    """A report (SALUTE). Every field is optional, but a report needs at least a place (lat/lng
    or place_text) and something seen (activity or description).

    A plain pydantic model, not a ninja Schema: a Schema's root validator (for reading ORM
    objects) validates a model with extra="forbid" twice, a sixteenth of a report's time."""

    model_config = ConfigDict(extra="forbid")

    activity: Activity | None = Field(None, description="What is happening.")
    agency: Agency = Field(Agency.UNKNOWN, description="Who was seen.")
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude (WGS84); with lng.")
    lng: float | None = Field(None, ge=-180, le=180, description="Longitude (WGS84); with lat.")
    place_text: str = Field(
        "", max_length=300, description="Address, cross streets or landmark, as free text."
    )
    agents_count: int | None = Field(None, ge=0, le=500, description="How many agents.")
    vehicles_count: int | None = Field(None, ge=0, le=500, description="How many vehicles.")
    seen_at: datetime | None = Field(
        None,
        description="When it was seen (ISO 8601). Without an offset it is read in the "
        "coalition's time zone; missing means now.",
    )
    equipment: str = Field("", max_length=200, description="Equipment seen (vests, vans...).")
    description: str = Field(
        "", max_length=2000, description="What was seen: the operation, never the officers."
    )
    reporter_contact: str = Field(
        "",
        max_length=200,
        description="Optional way to reach the reporter; stored encrypted "
        "and purged with the report.",
    )
    language: str | None = Field(
        None,
        max_length=8,
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$",
        description="The reporter's language (en, es, ...). Defaults to the request's language.",
    )


class ReportCreatedOut(Schema):
    id: int
    receipt: str


class FieldErrorsOut(Schema):
    errors: dict[str, str]


class DetailOut(Schema):
    detail: str


class IncidentOut(Schema):
    id: int
    status: str
    outcome: str
    activity: str
    agency: str
    credibility: int
    zone: str | None
    created_at: datetime
    report_count: int
    lat: float | None
    lng: float | None


class IncidentEventOut(Schema):
    kind: str
    created_at: datetime
    actor: str | None


class IncidentDetailOut(IncidentOut):
    timeline: list[IncidentEventOut]


def _reporter(request: HttpRequest):
    """The member behind a bearer token or a signed-in session, if any.

    A session counts only when it passes the CSRF check: otherwise another website could make a
    member's browser file "trusted" reports. Without it the report is simply anonymous.
    """
    if request.headers.get("Authorization"):
        member = BearerToken()(request)
        if member is None:
            raise HttpError(401, "Unauthorized")
        return member
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        try:
            return VerifiedSession()(request)
        except HttpError:
            return None
    return None


def _console_member(request: HttpRequest):
    member = getattr(request, "auth", None)
    if member is None or not selectors.can_use_console(member):
        raise HttpError(403, "Not allowed")
    return member


@router.post(
    "/reports",
    auth=None,
    response={201: ReportCreatedOut, 400: FieldErrorsOut, 401: DetailOut, 429: DetailOut},
    summary="Submit a report",
    description=(
        "Anonymous submissions are allowed. With a valid `Authorization: Bearer` token (or a "
        "signed-in session with its CSRF token) the report carries the member's vetting tier, "
        "and reports of vouched members are marked trusted; an invalid token is refused "
        "(401) rather than silently ignored.\n\n"
        "Schema errors (wrong types, out-of-range numbers or coordinates, unknown fields) "
        "answer 422. A report that is well-formed but cannot be accepted (no place, nothing "
        "seen, latitude without longitude, a time in the future) answers 400 with "
        '`{"errors": {field: message}}`. Too many reports from one connection answer 429.\n\n'
        "**Photos are not accepted over JSON**: send them through the web form at /report/, "
        "which strips their metadata. Unknown fields (such as `photos`) are refused with 422."
    ),
)
def report_create(request: HttpRequest, payload: ReportIn):
    member = _reporter(request)
    # One answer for "over the limit" and "banned": a flooder learns nothing from it.
    refused = Status(
        429,
        {
            "detail": _(
                "Too many reports from this connection. Wait a few minutes, or call the hotline."
            )
        },
    )
    try:
        key = services.unbanned_source(limit_key(request))
    except services.Banned:
        return refused
    # Validation and building the row need no write: done before the transaction, so on
    # SQLite the one writer is held only for the writes.
    prepared, invalid = None, None
    try:
        prepared = services.report_prepare(data=_input(payload, member), source_key_value=key)
    except services.ReportInvalid as exc:
        invalid = exc
    # The writes: the rate counter and the report, in one transaction. A refused or invalid
    # one still counts (its answer commits). On SQLite concurrent reports of this process
    # share one transaction (core.groupcommit): the writes may run on another request's
    # thread, so every message is turned into text here, in this request's language.
    errors = {name: str(msg) for name, msg in invalid.errors.items()} if invalid else None

    def writes():
        try:
            services.count_source(key, bucket="api")
        except services.RateLimited:
            return refused
        if errors is not None:
            return Status(400, {"errors": errors})
        assert prepared is not None
        report = services.report_store(prepared)
        # The answer as JSON at once: ninja would validate this dict against ReportCreatedOut
        # (what the API's description shows) on every report, a twelfth of its time.
        return JsonResponse({"id": report.pk, "receipt": report.receipt}, status=201)

    return groupcommit.write(writes)


def _input(payload: ReportIn, member) -> services.ReportInput:
    seen_at = payload.seen_at
    if seen_at is not None and timezone.is_naive(seen_at):
        seen_at = timezone.make_aware(seen_at, timezone.get_default_timezone())
    return services.ReportInput(
        channel="api",
        language=payload.language or get_language() or "es",
        activity=payload.activity.value if payload.activity else "",
        agency=payload.agency.value,
        agents_count=payload.agents_count,
        vehicles_count=payload.vehicles_count,
        lat=payload.lat,
        lng=payload.lng,
        place_text=payload.place_text,
        seen_at=seen_at,
        equipment=payload.equipment,
        description=payload.description,
        reporter_contact=payload.reporter_contact,
        reporter_member=member,
    )


def _incident_row(incident: Incident, report_count: int) -> dict:
    return {
        "id": incident.pk,
        "status": incident.status,
        "outcome": incident.outcome,
        "activity": incident.activity,
        "agency": incident.agency,
        "credibility": incident.credibility,
        "zone": incident.zone.name if incident.zone_id and incident.zone else None,
        "created_at": incident.created_at,
        "report_count": report_count,
        # Console users may see precise coordinates (null once purged by retention).
        "lat": incident.lat,
        "lng": incident.lng,
    }


@router.get(
    "/incidents",
    response={200: list[IncidentOut], 403: DetailOut},
    summary="List open incidents (dispatchers and coordinators)",
    description="Open (not closed) incidents, newest first, with precise coordinates. "
    "Only members who may use the dispatcher console: others get 403, anonymous callers 401.",
)
def incident_list(request: HttpRequest, limit: int = Query(100, ge=1, le=500)):
    _console_member(request)
    incidents = list(selectors.open_incidents(limit=limit))
    counts = dict(
        Report.objects.filter(incident_id__in=[i.pk for i in incidents])
        .values_list("incident_id")
        .annotate(n=Count("id"))
    )
    return [_incident_row(i, counts.get(i.pk, 0)) for i in incidents]


@router.get(
    "/incidents/{incident_id}",
    response={200: IncidentDetailOut, 403: DetailOut, 404: DetailOut},
    summary="One incident with its timeline (dispatchers and coordinators)",
    description="Every step of the incident with who and when. Same permission as the list.",
)
def incident_detail(request: HttpRequest, incident_id: int):
    _console_member(request)  # before the lookup: others cannot probe which ids exist
    incident = Incident.objects.select_related("zone").filter(pk=incident_id).first()
    if incident is None:
        raise HttpError(404, "Not found")
    row = _incident_row(incident, incident.reports.count())
    row["timeline"] = [
        {
            "kind": event.kind,
            "created_at": event.created_at,
            "actor": event.actor.username if event.actor else None,
        }
        for event in incident.events.select_related("actor")
    ]
    return row
