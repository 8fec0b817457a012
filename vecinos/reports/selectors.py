"""Reads of the reports pipeline and who may see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from vecinos.core import geo
from vecinos.network import selectors as network
from vecinos.network.models import Member, Role, Tier
from vecinos.reports.models import (
    Incident,
    IncidentEvent,
    OnDuty,
    Report,
    ReportStatus,
    VerificationRequest,
)

CONSOLE_ROLES = (Role.DISPATCHER, Role.COALITION_COORDINATOR, Role.ORG_COORDINATOR)
# A report and an open incident describe one event when they are this close in place and time.
MERGE_RADIUS_M = 500
MERGE_WINDOW = timedelta(minutes=60)


def can_use_console(member: Member) -> bool:
    """Dispatchers and coordinators (trained: the tier rule is inside has_role)."""
    return member.is_authenticated and network.has_role(member, *CONSOLE_ROLES)


def can_dispatch(member: Member) -> bool:
    """Who sends verifiers, verifies otherwise and hears of new reports: dispatchers and
    coalition coordinators. Organization coordinators read the console but do not dispatch."""
    return member.is_authenticated and network.has_role(
        member, Role.DISPATCHER, Role.COALITION_COORDINATOR
    )


def can_take_duty(member: Member) -> bool:
    """Dispatchers and verifiers mark themselves on duty."""
    return member.is_authenticated and network.has_role(member, Role.DISPATCHER, Role.VERIFIER)


def can_verify(member: Member) -> bool:
    return member.is_authenticated and network.has_role(member, Role.VERIFIER)


def can_quick_report(member: Member) -> bool:
    """Any active signed-in member may file a quick report; it carries their tier."""
    return member.is_authenticated and member.is_active


def is_trusted_reporter(member: Member) -> bool:
    return member.is_authenticated and member.tier >= Tier.VOUCHED


def queue_reports(
    limit: int = 100,
    *,
    flood: bool | None = None,
    trusted: bool | None = None,
    offset: int = 0,
) -> QuerySet[Report]:
    """New (untriaged) reports for the console, newest first; floods are grouped separately.

    ``flood=False`` leaves out flood-flagged reports and ``flood=True`` keeps only them, so a
    burst of hundreds cannot push ordinary reports past the limit. ``trusted`` picks the lane
    of reports from vouched members and patrols (never flood-flagged), which no anonymous
    burst can push off the console.
    """
    qs = Report.objects.filter(status=ReportStatus.NEW)
    if flood is True:
        qs = qs.exclude(flood_group="")
    elif flood is False:
        qs = qs.filter(flood_group="")
    if trusted is not None:
        qs = qs.filter(trusted=trusted)
    qs = qs.select_related("zone", "incident").order_by("-created_at", "-id")
    return qs[offset : offset + limit]


def queue_counts() -> dict[str, int]:
    """How many new reports each console lane holds, in one read."""
    counts = Report.objects.filter(status=ReportStatus.NEW).aggregate(
        n_trusted=Count("id", filter=Q(trusted=True)),
        n_open=Count("id", filter=Q(trusted=False, flood_group="")),
        n_flood=Count("id", filter=~Q(flood_group="")),
    )
    return {name[2:]: value for name, value in counts.items()}


@dataclass(frozen=True)
class Surge:
    reports: int  # anonymous reports in the last SURGE_WINDOW
    sources: int  # from this many different connections or phones
    usual: float  # the average per SURGE_WINDOW over the SURGE_BASELINE before it


def anonymous_surge(now: datetime | None = None) -> Surge | None:
    """A sudden rise of anonymous reports coalition-wide, whatever their sources and places.

    Flood groups catch one source or one small area; a campaign spread over many addresses and
    many cells passes both. This compares the last 10 minutes with the two hours before: at
    least SURGE_MIN_REPORTS and SURGE_FACTOR times the usual rate is a surge.
    """
    now = now or timezone.now()
    window = timedelta(seconds=settings.SURGE_WINDOW_SECONDS)
    baseline = timedelta(seconds=settings.SURGE_BASELINE_SECONDS)
    recent = Q(created_at__gte=now - window)
    counts = (
        Report.objects.filter(trusted=False, created_at__gte=now - window - baseline)
        .exclude(status=ReportStatus.DRAFT)
        .aggregate(
            n_reports=Count("id", filter=recent),
            n_sources=Count("source_key", filter=recent & ~Q(source_key=""), distinct=True),
            n_before=Count("id", filter=~recent),
        )
    )
    counts = {name[2:]: value for name, value in counts.items()}
    usual = counts["before"] * window / baseline
    if counts["reports"] < settings.SURGE_MIN_REPORTS:
        return None
    if counts["reports"] < settings.SURGE_FACTOR * usual:
        return None
    return Surge(reports=counts["reports"], sources=counts["sources"], usual=usual)


def open_incidents(limit: int = 100) -> QuerySet[Incident]:
    return (
        Incident.objects.exclude(status=Incident.Status.CLOSED)
        .select_related("zone", "lock_holder", "verified_by")
        .order_by("-created_at", "-id")[:limit]
    )


def on_duty_ids(role: str) -> set[int]:
    """Members on duty in this role right now (dispatcher | verifier)."""
    return set(
        OnDuty.objects.filter(role=role, until__gt=timezone.now()).values_list(
            "member_id", flat=True
        )
    )


def public_rumors(days: int = 7) -> QuerySet[Incident]:
    """Incidents with a known outcome, for the public rumor-check page (coarse data only).

    ``alert_state`` is the incident's latest alert event (alert_sent, alert_all_clear,
    alert_correction), so the page shows the latest state even after the incident is closed.
    """
    since = timezone.now() - timedelta(days=days)
    latest_alert = (
        IncidentEvent.objects.filter(
            incident=OuterRef("pk"),
            kind__in=("alert_sent", "alert_all_clear", "alert_correction"),
        )
        .order_by("-created_at", "-id")
        .values("kind")[:1]
    )
    return (
        Incident.objects.filter(
            outcome__in=[Incident.Status.CONFIRMED, Incident.Status.FALSE_ALARM],
            verified_at__gte=since,
        )
        .annotate(alert_state=Subquery(latest_alert))
        .select_related("zone")
        .only(
            "id",
            "outcome",
            "activity",
            "agency",
            "cell7",
            "zone__name",
            "verified_at",
            "created_at",
        )
        .order_by("-verified_at")
    )


def verifiers_on_duty_located() -> list[tuple[int, str, float | None, float | None]]:
    """(member id, username, lat, lng) of verifiers on duty now who gave a location."""
    return list(
        OnDuty.objects.filter(
            role="verifier", until__gt=timezone.now(), lat__isnull=False, lng__isnull=False
        )
        .order_by("member_id")
        .values_list("member_id", "member__username", "lat", "lng")
    )


def open_requests_for(member) -> list:
    """A verifier's open verification requests (asked or going), newest first."""

    return list(
        VerificationRequest.objects.filter(
            verifier=member,
            status__in=[VerificationRequest.Status.SENT, VerificationRequest.Status.ACCEPTED],
            created_at__gte=timezone.now() - timedelta(hours=24),  # the signed links' lifetime
        )
        .select_related("incident", "incident__zone")
        .order_by("-created_at")[:50]
    )


# --- the merge rule --------------------------------------------------------------------------


def merge_time(report: Report) -> datetime:
    """When the report's event happened, for the merge window: the sighting, else the report."""
    return report.seen_at or report.created_at


def merge_distance(report: Report, incident: Incident) -> float | None:
    """The one merge rule: an open incident (not the report's own), created within
    MERGE_WINDOW of the sighting and within MERGE_RADIUS_M of it, is a merge candidate; the
    answer is its distance in metres, or None when it is not one."""
    if report.lat is None or report.lng is None or incident.lat is None or incident.lng is None:
        return None
    if incident.status == Incident.Status.CLOSED or incident.pk == report.incident_id:
        return None
    if abs(incident.created_at - merge_time(report)) > MERGE_WINDOW:
        return None
    metres = geo.haversine_m(report.lat, report.lng, incident.lat, incident.lng)
    return metres if metres <= MERGE_RADIUS_M else None


def merge_candidates(report: Report, limit: int = 5) -> list[Incident]:
    """Open incidents within about 500 m and 60 minutes of the report."""
    if report.lat is None or report.lng is None:
        return []
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(report.lat, report.lng, MERGE_RADIUS_M)
    when = merge_time(report)
    qs = (
        Incident.objects.filter(
            lat__gte=min_lat,
            lat__lte=max_lat,
            lng__gte=min_lng,
            lng__lte=max_lng,
            created_at__gte=when - MERGE_WINDOW,
            created_at__lte=when + MERGE_WINDOW,
        )
        .exclude(status=Incident.Status.CLOSED)
        .exclude(pk=report.incident_id or 0)
    )
    return [i for i in qs[:50] if merge_distance(report, i) is not None][:limit]
