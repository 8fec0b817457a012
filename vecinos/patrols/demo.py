"""Demo patrols: fictional schools, a courthouse and two day-labor corners around the demo
neighborhoods, their recurring shifts, two weeks of generated shifts, a holiday, and sign-ups by
the demo patrol members, so the coverage page shows every state.

Every place here is invented (the names are not real schools); the points sit inside the demo
neighborhood outlines of ``vecinos.network.demo``. Called by ``network.demo.load_demo`` when it
creates the demo; idempotent on its own too.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from vecinos.core import geo
from vecinos.core.audit import audit
from vecinos.network.models import Member, Membership, Organization, Role, Tier, Zone
from vecinos.patrols import services
from vecinos.patrols.models import PatrolLogEntry, Place, Shift, ShiftTemplate, Signup

SEED = 7
WEEKS = 2
COORDINATOR = "coordinator"  # the demo coalition coordinator of network.demo
NEWCOMER = "newcomer"

SCHOOL_NOTES = (
    "Stand at the north gate and at the crosswalk on the corner; vests are in the office. "
    "School contact: the front office (fictional).\n"
    "Párense en la puerta norte y en el cruce de la esquina; los chalecos están en la oficina."
)
COURT_NOTES = (
    "Meet by the fountain at the main steps. Never block the entrance.\n"
    "Reúnanse junto a la fuente de la escalinata principal. Nunca bloqueen la entrada."
)
CORNER_NOTES = (
    "Workers gather by the hardware store parking lot from 6:00. Bring the know-your-rights "
    "cards.\nLos trabajadores se juntan en el estacionamiento de la ferretería desde las 6:00."
)

# (name, kind, organization short_name, lat, lng)
PLACES: list[tuple[str, str, str, float, float]] = [
    ("Escuela Primaria Los Robles", Place.Kind.SCHOOL, "rio-este", 34.0405, -118.2105),
    ("Escuela Secundaria Río Claro", Place.Kind.SCHOOL, "rio-este", 34.0300, -118.2050),
    ("Escuela Primaria Cuatro Vientos", Place.Kind.SCHOOL, "rio-este", 34.0730, -118.2080),
    ("Escuela Primaria Los Girasoles", Place.Kind.SCHOOL, "girasoles", 34.0335, -118.1700),
    ("Escuela Primaria Las Palmitas", Place.Kind.SCHOOL, "girasoles", 34.0250, -118.1650),
    ("Escuela Primaria Jacaranda", Place.Kind.SCHOOL, "jacaranda", 34.0440, -118.2870),
    ("Escuela Primaria Lago Azul", Place.Kind.SCHOOL, "jacaranda", 34.0600, -118.2760),
    ("Escuela Primaria Sampaguita", Place.Kind.SCHOOL, "sampaguita", 34.0740, -118.2720),
    ("Escuela Primaria Luz del Valle", Place.Kind.SCHOOL, "hanbit", 34.0600, -118.3050),
    ("Escuela Primaria Granada", Place.Kind.SCHOOL, "arev", 34.0970, -118.2990),
    ("Escuela Primaria Colibrí", Place.Kind.SCHOOL, "colibri", 34.1150, -118.1950),
    ("Escuela Primaria El Arroyo", Place.Kind.SCHOOL, "colibri", 34.0900, -118.2250),
    (
        "Palacio de Justicia Avenida Central (ficticio)",
        Place.Kind.COURTHOUSE,
        "observadores",
        34.0560,
        -118.2420,
    ),
    ("Esquina jornalera Calle Los Álamos", Place.Kind.CORNER, "mesa-jornalera", 33.9500, -118.2000),
    (
        "Esquina jornalera Calle Las Flores",
        Place.Kind.CORNER,
        "escudo-familiar",
        33.9870,
        -118.2200,
    ),
]

# Recurring shifts by kind: (weekdays, start, end, min, ideal, max)
SHIFTS: dict[str, list[tuple[list[int], time, time, int, int, int]]] = {
    Place.Kind.SCHOOL: [
        ([0, 1, 2, 3, 4], time(7, 15), time(8, 15), 2, 4, 6),
        ([0, 1, 2, 3, 4], time(14, 30), time(15, 30), 2, 4, 6),
    ],
    Place.Kind.COURTHOUSE: [([0, 1, 2, 3, 4], time(7, 30), time(10, 30), 2, 3, 6)],
    Place.Kind.CORNER: [([0, 1, 2, 3, 4, 5], time(6, 0), time(9, 0), 2, 3, 5)],
}

LOG_NOTES = {
    "all_clear": [
        "Todo tranquilo en la puerta norte. Saludamos a las familias.",
        "All quiet at drop-off; the crossing guard says it was a calm week.",
    ],
    "activity": [
        "Dos camionetas sin placas frente a la escuela a las 7:40; se fueron a las 7:55. "
        "Reporte enviado.",
    ],
}


def _zone_index() -> dict[str, int]:
    """cell -> zone id, the lowest id winning (as in reports.services.zone_id_for)."""
    index: dict[str, int] = {}
    for zone_id, cells in Zone.objects.order_by("-pk").values_list("pk", "cells"):
        for cell in cells:
            index[cell] = zone_id
    return index


def load_patrol_demo(*, say: Callable[[str], None] | None = None) -> bool:
    """Load the demo patrols once. False when they were already there or the demo coalition
    is missing."""
    if Place.objects.filter(name=PLACES[0][0]).exists():
        return False
    orgs = {
        o.short_name: o
        for o in Organization.objects.filter(short_name__in={p[2] for p in PLACES}).only(
            "id", "short_name"
        )
    }
    coordinator = Member.objects.filter(username=COORDINATOR).first()
    if coordinator is None or len(orgs) < len({p[2] for p in PLACES}):
        return False
    with transaction.atomic():
        counts = _load(orgs, coordinator)
    if say is not None:
        say(
            f"Patrols: {counts['places']} places, {counts['templates']} recurring shifts, "
            f"{counts['shifts']} shifts, {counts['signups']} sign-ups, "
            f"{counts['cancelled']} shifts cancelled by a holiday."
        )
    return True


def _load(orgs: dict[str, Organization], coordinator: Member) -> dict[str, int]:  # noqa: C901 - the demo data, straight-line
    rng = random.Random(SEED)
    today = timezone.localdate()
    now = timezone.now()
    zones = _zone_index()

    notes: dict[str, str] = {
        Place.Kind.SCHOOL: SCHOOL_NOTES,
        Place.Kind.COURTHOUSE: COURT_NOTES,
        Place.Kind.CORNER: CORNER_NOTES,
    }
    places = Place.objects.bulk_create(
        [
            Place(
                name=name,
                kind=kind,
                organization=orgs[short],
                lat=lat,
                lng=lng,
                zone_id=zones.get(geo.cell_of(lat, lng)),
                notes=notes[kind],
            )
            for name, kind, short, lat, lng in PLACES
        ]
    )
    templates = ShiftTemplate.objects.bulk_create(
        [
            ShiftTemplate(
                place=place,
                weekdays=days,
                start_time=start,
                end_time=end,
                min_people=low,
                ideal_people=ideal,
                max_people=high,
                active_from=today - timedelta(days=today.weekday()),
                created_by=coordinator,
            )
            for place in places
            for days, start, end, low, ideal, high in SHIFTS[place.kind]
        ]
    )
    services.generate_shifts(weeks=WEEKS, start=today)

    # A teacher training day for one organization's schools, within the week on show: those
    # shifts are cancelled (nobody has signed up yet, so nobody needs telling).
    day = next(
        today + timedelta(days=n) for n in range(2, 9) if (today + timedelta(days=n)).weekday() < 5
    )
    holiday = services.holiday_add(
        actor=coordinator,
        day=day,
        name="Día de capacitación docente / Teacher training day",
        organization_id=orgs["girasoles"].pk,
    )

    # Sign-ups by the demo patrol members of each place's organization.
    patrol: dict[int, list[int]] = {}
    for org_id, member_id in (
        Membership.objects.filter(role=Role.PATROL, organization__in=list(orgs.values()))
        .order_by("member_id")
        .values_list("organization_id", "member_id")
    ):
        patrol.setdefault(org_id, []).append(member_id)
    tiers = dict(
        Member.objects.filter(pk__in={m for ms in patrol.values() for m in ms}).values_list(
            "pk", "tier"
        )
    )
    newcomer_id = Member.objects.filter(username=NEWCOMER).values_list("pk", flat=True).first()

    shifts = list(
        Shift.objects.filter(place__in=places, status=Shift.Status.OPEN)
        .select_related("place")
        .order_by("starts_at", "place_id")
    )
    busy: dict[int, list[tuple[datetime, datetime]]] = {}

    def free(member_id: int, shift: Shift) -> bool:
        return all(
            not (start < shift.ends_at and end > shift.starts_at)
            for start, end in busy.get(member_id, [])
        )

    # Shifts that ended (closest to now first), then the coming ones (soonest first).
    ended = sorted((s for s in shifts if s.ends_at <= now), key=lambda s: now - s.ends_at)
    coming = [s for s in shifts if s.ends_at > now]
    plan: dict[int, str] = {}
    pool = ended + coming
    for state, shift in zip(("all_clear", "activity", "checked_in"), pool, strict=False):
        plan[shift.pk] = state
    for shift in ended:
        plan.setdefault(shift.pk, rng.choices(["all_clear", "uncovered"], weights=[4, 1])[0])
    upcoming = [s for s in coming if s.pk not in plan]
    for state, shift in zip(("staffed", "understaffed", "uncovered"), upcoming, strict=False):
        plan[shift.pk] = state
    for shift in upcoming:
        plan.setdefault(
            shift.pk,
            rng.choices(["staffed", "understaffed", "uncovered"], weights=[5, 3, 2])[0],
        )

    signups: list[Signup] = []
    outcomes: list[Shift] = []
    logs: list[PatrolLogEntry] = []
    for shift in shifts:
        state = plan[shift.pk]
        if state == "uncovered":
            continue
        if state == "understaffed":
            wanted = 1
        elif state == "staffed":
            wanted = rng.randint(shift.min_people, shift.ideal_people)
        else:
            wanted = rng.randint(shift.min_people, shift.min_people + 1)
        people = [m for m in patrol.get(shift.place.organization_id, []) if free(m, shift)]
        rng.shuffle(people)
        chosen = people[:wanted]
        lead = next((m for m in chosen if tiers.get(m, 0) >= Tier.TRAINED), None)
        on_site = state in ("checked_in", "all_clear", "activity")
        for member_id in chosen:
            busy.setdefault(member_id, []).append((shift.starts_at, shift.ends_at))
            signups.append(
                Signup(
                    shift=shift,
                    member_id=member_id,
                    is_lead=member_id == lead,
                    checked_in_at=(
                        shift.starts_at + timedelta(minutes=rng.randint(-10, 5))
                        if on_site
                        else None
                    ),
                    checked_in_at_place=True if on_site else None,
                )
            )
        if state in ("all_clear", "activity") and chosen:
            shift.outcome = state
            shift.outcome_at = min(now, shift.ends_at)
            shift.outcome_by_id = lead or chosen[0]
            outcomes.append(shift)
            logs.append(
                PatrolLogEntry(shift=shift, author_id=chosen[0], text=rng.choice(LOG_NOTES[state]))
            )

    # The demo newcomer has a coming shift of their own, to click through the member pages.
    if newcomer_id is not None and not any(s.member_id == newcomer_id for s in signups):
        taken: dict[int, int] = {}
        for row in signups:
            taken[row.shift.pk] = taken.get(row.shift.pk, 0) + 1
        for shift in coming:
            if (
                shift.place.organization_id == orgs["rio-este"].pk
                and free(newcomer_id, shift)
                and taken.get(shift.pk, 0) < shift.max_people
                and shift.starts_at > now + timedelta(hours=12)
            ):
                signups.append(Signup(shift=shift, member_id=newcomer_id))
                break

    Signup.objects.bulk_create(signups, batch_size=1000)
    Shift.objects.bulk_update(outcomes, ["outcome", "outcome_at", "outcome_by"], batch_size=500)
    PatrolLogEntry.objects.bulk_create(logs)
    counts = {
        "places": len(places),
        "templates": len(templates),
        "shifts": Shift.objects.filter(place__in=places).count(),
        "signups": len(signups),
        "cancelled": getattr(holiday, "cancelled_count", 0),
    }
    audit("demo.patrols", **counts)
    return counts


def demo_step(say: Callable[[str], None]) -> dict[str, str]:
    """The demo-step registry's entry (core.extensions): places and shifts, no credentials."""
    load_patrol_demo(say=say)
    return {}
