"""Reads of the reports pipeline and who may see them."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from vecinos.network import selectors as network
from vecinos.network.models import Member, Role, Tier
from vecinos.reports.models import Incident, OnDuty, Report, ReportStatus

CONSOLE_ROLES = (Role.DISPATCHER, Role.COALITION_COORDINATOR, Role.ORG_COORDINATOR)


def can_use_console(member: Member) -> bool:
    """Dispatchers and coordinators (trained: the tier rule is inside has_role)."""
    return member.is_authenticated and network.has_role(member, *CONSOLE_ROLES)


def can_verify(member: Member) -> bool:
    return member.is_authenticated and network.has_role(member, Role.VERIFIER)


def can_quick_report(member: Member) -> bool:
    """Any active signed-in member may file a quick report; it carries their tier."""
    return member.is_authenticated and member.is_active


def is_trusted_reporter(member: Member) -> bool:
    return member.is_authenticated and member.tier >= Tier.VOUCHED


def queue_reports(limit: int = 100, *, flood: bool | None = None) -> QuerySet[Report]:
    """New (untriaged) reports for the console, newest first; floods are grouped separately.

    ``flood=False`` leaves out flood-flagged reports and ``flood=True`` keeps only them, so a
    burst of hundreds cannot push ordinary reports past the limit.
    """
    qs = Report.objects.filter(status=ReportStatus.NEW)
    if flood is True:
        qs = qs.exclude(flood_group="")
    elif flood is False:
        qs = qs.filter(flood_group="")
    return qs.select_related("zone", "incident").order_by("-created_at", "-id")[:limit]


def open_incidents(limit: int = 100) -> QuerySet[Incident]:
    return (
        Incident.objects.exclude(status=Incident.Status.CLOSED)
        .select_related("zone", "lock_holder", "verified_by")
        .order_by("-created_at", "-id")[:limit]
    )


def public_rumors(days: int = 7) -> QuerySet[Incident]:
    """Incidents with a known outcome, for the public rumor-check page (coarse data only)."""
    since = timezone.now() - timedelta(days=days)
    return (
        Incident.objects.filter(
            outcome__in=[Incident.Status.CONFIRMED, Incident.Status.FALSE_ALARM],
            verified_at__gte=since,
        )
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
