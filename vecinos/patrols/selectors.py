"""Patrol reads for members: what may this person see, my shifts, open shifts near me."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from vecinos.alerts.models import SubscriptionArea
from vecinos.core import geo
from vecinos.network import selectors as network
from vecinos.network.models import Member, Membership, Role, Tier
from vecinos.patrols import services
from vecinos.patrols.models import PatrolLogEntry, Place, Shift, Signup

FINDER_DAYS = 14
FINDER_LIMIT = 60
NEAR_RADIUS_M = 20_000
SHIFTS_PER_PLACE_NEAR = 5
MY_SHIFTS_LIMIT = 20
# "My shifts" keeps a finished shift in view for a while: the lead may still file the report.
MY_SHIFTS_AFTER_END = timedelta(hours=6)
LOG_LIMIT = 200


# --- Who may see what ---------------------------------------------------------------------------


def can_see_coverage(member: Member) -> bool:
    """Coordinators (their organizations' places) and dispatchers (every place)."""
    return network.is_coordinator(member) or network.has_role(member, Role.DISPATCHER)


def coverage_scope(member: Member) -> set[int] | None:
    """Organizations whose places the member sees on the coverage page; None means all."""
    if network.has_role(member, Role.DISPATCHER):
        return None
    return network.coordinated_org_ids(member)


def _own_orgs_only(member: Member) -> bool:
    """A newcomer nobody has vouched for yet patrols with their own organizations: other
    organizations' schools and times are not theirs to read (outside probe, session 19: one
    sign-up could read every organization's patrol schedule)."""
    return member.tier < Tier.VOUCHED


def may_view_shift(member: Member, shift: Shift) -> bool:
    """Patrol members (any organization once vouched for; a newcomer their own organizations'),
    the place's organization, its coordinators, dispatch."""
    if not member.is_authenticated:
        return False
    return (
        (services.can_patrol(member) and not _own_orgs_only(member))
        or services.is_org_member(member, shift.place.organization_id)
        or services.can_coordinate_place(member, shift.place)
        or network.has_role(member, Role.DISPATCHER, Role.COALITION_COORDINATOR)
    )


# Why can_see_private refused: the page says the rule that applied.
HIDDEN_NOT_IN_ORG = "organization"  # not a member of the place's organization
HIDDEN_NOT_VOUCHED = "tier"  # a member of it, but a newcomer nobody has vouched for yet


def private_hidden_reason(member: Member, place: Place) -> str | None:
    """None when the member sees a place's notes and a shift's roster (its coordinators and the
    vouched members of its organization), else why not (HIDDEN_*)."""
    if services.can_coordinate_place(member, place):
        return None
    if not services.is_org_member(member, place.organization_id):
        return HIDDEN_NOT_IN_ORG
    # A newcomer sees nothing about others.
    if member.tier < Tier.VOUCHED:
        return HIDDEN_NOT_VOUCHED
    return None


def can_see_private(member: Member, place: Place) -> bool:
    """A place's notes and a shift's roster: the place's organization and its coordinators."""
    return private_hidden_reason(member, place) is None


def can_see_log(member: Member, shift: Shift, mine: Signup | None) -> bool:
    """The patrol log: the shift's people and the coordinators of the place's organization."""
    return mine is not None or services.can_coordinate_place(member, shift.place)


def may_file_report(member: Member, shift: Shift, mine: Signup | None) -> bool:
    """Mirrors services.patrol_report: someone on the shift, or a coordinator of the place."""
    return mine is not None or services.can_coordinate_place(member, shift.place)


# --- Shift page -----------------------------------------------------------------------------------


def shift_for_page(shift_id: int) -> Shift | None:
    return (
        Shift.objects.select_related("place", "place__zone", "place__organization", "report")
        .filter(pk=shift_id)
        .first()
    )


def my_signup(shift: Shift, member: Member) -> Signup | None:
    if not member.is_authenticated:
        return None
    return Signup.objects.filter(shift=shift, member=member).first()


@dataclass
class Staffing:
    signed: int
    has_lead: bool
    offered: int  # places offered for swap by someone else

    def lead_needed(self) -> bool:
        return not self.has_lead


def staffing(shift: Shift, member: Member) -> Staffing:
    counts = Signup.objects.filter(shift=shift).aggregate(
        signed=Count("id"),
        leads=Count("id", filter=Q(is_lead=True)),
        offered=Count("id", filter=Q(offered_for_swap=True) & ~Q(member_id=member.pk)),
    )
    return Staffing(counts["signed"], bool(counts["leads"]), counts["offered"])


def roster(shift: Shift) -> list[Signup]:
    return list(
        Signup.objects.filter(shift=shift)
        .select_related("member")
        .order_by("-is_lead", "created_at", "pk")
    )


def log_entries(shift: Shift) -> list[PatrolLogEntry]:
    return list(PatrolLogEntry.objects.filter(shift=shift).select_related("author")[:LOG_LIMIT])


def offered_row_for(shift: Shift, member: Member) -> Signup | None:
    """The offered place this member would take: a non-lead one first for untrained members."""
    rows = Signup.objects.filter(shift=shift, offered_for_swap=True).exclude(member=member)
    return rows.order_by("is_lead", "created_at", "pk").first()


# --- Finder ---------------------------------------------------------------------------------------


def my_shifts(member: Member, *, now: datetime | None = None) -> list[Signup]:
    now = now or timezone.now()
    return list(
        Signup.objects.filter(member=member, shift__ends_at__gt=now - MY_SHIFTS_AFTER_END)
        .select_related("shift", "shift__place")
        .order_by("shift__starts_at", "shift__place__name")[:MY_SHIFTS_LIMIT]
    )


def _open_upcoming(member: Member, now: datetime) -> QuerySet[Shift]:
    leads = Signup.objects.filter(shift=OuterRef("pk"), is_lead=True)
    shifts = Shift.objects.filter(
        status=Shift.Status.OPEN,
        ends_at__gt=now,
        starts_at__lt=now + timedelta(days=FINDER_DAYS),
        place__active=True,
    )
    if _own_orgs_only(member):
        shifts = shifts.filter(
            place__organization_id__in=Membership.objects.filter(member=member).values(
                "organization_id"
            )
        )
    return (
        shifts.exclude(signups__member=member)
        # "Sign up" would only answer "You already have a shift at that time": left out, in
        # the same query (services.signup's rule).
        .exclude(
            Exists(
                services.overlapping_signups(
                    member, starts_at=OuterRef("starts_at"), ends_at=OuterRef("ends_at")
                )
            )
        )
        .select_related("place", "place__zone")
        .annotate(
            n_signed=Count("signups", distinct=True),
            n_offered=Count("signups", filter=Q(signups__offered_for_swap=True), distinct=True),
            has_lead=Exists(leads),
        )
    )


def _places_near(lat: float, lng: float, radius_m: float) -> dict[int, float]:
    """place id -> metres, for active places within the radius (bounding box, then haversine)."""
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(lat, lng, radius_m)
    found = {}
    for pk, plat, plng in Place.objects.filter(
        active=True,
        lat__gte=min_lat,
        lat__lte=max_lat,
        lng__gte=min_lng,
        lng__lte=max_lng,
    ).values_list("pk", "lat", "lng"):
        metres = geo.haversine_m(lat, lng, plat, plng)
        if metres <= radius_m:
            found[pk] = metres
    return found


@dataclass
class Finder:
    shifts: list[Shift]
    mode: str  # "distance" | "zone" | "none"
    truncated: bool


def open_shifts_near_location(
    member: Member, lat: float, lng: float, *, now: datetime | None = None
) -> Finder:
    """Open shifts at places within NEAR_RADIUS_M, nearest place first, then soonest."""
    now = now or timezone.now()
    distances = _places_near(lat, lng, NEAR_RADIUS_M)
    if not distances:
        return Finder([], "distance", False)
    # Decorated with distance_m / distance_km for the template.
    rows: list[Any] = list(_open_upcoming(member, now).filter(place_id__in=list(distances)))
    for shift in rows:
        shift.distance_m = distances[shift.place_id]
        shift.distance_km = round(shift.distance_m / 1000, 1)
    rows.sort(key=lambda s: (round(s.distance_m / 100), s.starts_at, s.pk))
    per_place: dict[int, int] = {}
    chosen = []
    for shift in rows:
        per_place[shift.place_id] = per_place.get(shift.place_id, 0) + 1
        if per_place[shift.place_id] <= SHIFTS_PER_PLACE_NEAR:
            chosen.append(shift)
    return Finder(chosen[:FINDER_LIMIT], "distance", len(chosen) > FINDER_LIMIT)


def open_shifts_in_my_areas(member: Member, *, now: datetime | None = None) -> Finder:
    """Open shifts in the zones of the member's alert areas, near their alert places, and at
    their organizations' places; soonest first."""

    now = now or timezone.now()
    zone_ids: set[int] = set()
    near_place_ids: set[int] = set()
    for zone_id, lat, lng, radius in SubscriptionArea.objects.filter(
        subscriber__member=member
    ).values_list("zone_id", "lat", "lng", "radius_m"):
        if zone_id:
            zone_ids.add(zone_id)
        elif lat is not None and lng is not None:
            near_place_ids.update(_places_near(lat, lng, max(radius or 0, 2000)))
    org_ids = set(
        Membership.objects.filter(member=member).values_list("organization_id", flat=True)
    )
    if not (zone_ids or near_place_ids or org_ids):
        return Finder([], "none", False)
    where = (
        Q(place__zone_id__in=zone_ids)
        | Q(place__organization_id__in=org_ids)
        | Q(place_id__in=near_place_ids)
    )
    rows = list(
        _open_upcoming(member, now)
        .filter(where)
        .order_by("starts_at", "place__name", "pk")[: FINDER_LIMIT + 1]
    )
    return Finder(rows[:FINDER_LIMIT], "zone", len(rows) > FINDER_LIMIT)


def checked_in_now(*, now: datetime | None = None) -> list[tuple[int, str, float, float, int]]:
    """(place id, name, lat, lng, people checked in) for shifts under way now: places only,
    never who or where a person is."""
    now = now or timezone.now()
    rows = (
        Signup.objects.filter(
            shift__starts_at__lte=now + timedelta(minutes=30),
            shift__ends_at__gte=now,
            shift__status=Shift.Status.OPEN,
            checked_in_at__isnull=False,
            checked_out_at__isnull=True,
        )
        .values("shift__place_id", "shift__place__name", "shift__place__lat", "shift__place__lng")
        .annotate(n=Count("id"))
        .order_by("shift__place_id")
    )
    return [
        (
            r["shift__place_id"],
            r["shift__place__name"],
            r["shift__place__lat"],
            r["shift__place__lng"],
            r["n"],
        )
        for r in rows
    ]
