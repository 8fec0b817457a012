"""Coordinator and dispatcher pages of the patrols app: who may do what, bad input, holidays,
coverage states, "ask people to fill", and a pinned query count for the coverage page.

WHO_MAY is the permission spec: one row per named URL of vecinos/patrols/urls_coord.py, listing
the personas that must be let through. Every other signed-in persona gets the project's 403
page and an anonymous visitor is sent to sign in (except the calendar feed, whose token is the
credential: tested in tests/patrols/test_patrol_calendar.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.conftest import Personas, make_member, sign_in
from vecinos.core import geo
from vecinos.messaging.models import Delivery
from vecinos.network.models import Role, Tier, Zone, ZoneKind
from vecinos.patrols import services
from vecinos.patrols import urls_coord as coord_urls
from vecinos.patrols.models import (
    CalendarFeed,
    Holiday,
    PatrolLogEntry,
    Place,
    Shift,
    ShiftTemplate,
    Signup,
)

PERSONAS = ("coalition", "coordinator", "dispatcher", "verifier", "newcomer", "outsider")
SIGNED_IN = frozenset(PERSONAS)
COORDINATORS = frozenset({"coalition", "coordinator", "outsider"})
ORG_A_COORDINATORS = frozenset({"coalition", "coordinator"})
COVERAGE = frozenset({"coalition", "coordinator", "dispatcher", "outsider"})

WHO_MAY: dict[str, frozenset[str]] = {
    "patrol_coord": COORDINATORS,
    "patrol_place_new": COORDINATORS,
    "patrol_place": ORG_A_COORDINATORS,
    "patrol_template_new": ORG_A_COORDINATORS,
    "patrol_holidays": COORDINATORS,
    "patrol_generate": COORDINATORS,
    "patrol_logs": COORDINATORS,
    "patrol_coverage": COVERAGE,
    # An org A shift: its coordinators and the dispatchers (the outsider coordinates org B).
    "patrol_ask_fill": frozenset({"coalition", "coordinator", "dispatcher"}),
    "patrol_calendar": SIGNED_IN,
    # Each persona tries to turn off the newcomer's calendar link: only its owner may.
    "patrol_calendar_revoke": frozenset({"newcomer"}),
}
NOT_IN_MATRIX = {"patrol_feed"}  # no sign-in: see tests/patrols/test_patrol_calendar.py

TZ = services.local_tz()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ)


@dataclass
class World:
    personas: Personas
    school: Place  # org A
    corner_b: Place  # org B
    shift: Shift  # an uncovered org A shift, tomorrow
    patrollers: list
    feed_id: int  # the newcomer's calendar link


@pytest.fixture
def world(personas) -> World:
    school = Place.objects.create(
        name="Escuela Primaria Sol",
        kind="school",
        lat=34.04,
        lng=-118.21,
        organization=personas.org_a,
        notes="Stand at the north gate; ask for Ms. Rivera",
    )
    corner_b = Place.objects.create(
        name="Esquina Bahía",
        kind="corner",
        lat=34.06,
        lng=-118.25,
        organization=personas.org_b,
        notes="Org B only: the back lot",
    )
    tomorrow = timezone.localdate() + timedelta(days=1)
    shift = Shift.objects.create(
        place=school, starts_at=at(tomorrow, 12), ends_at=at(tomorrow, 13), min_people=2
    )
    patrollers = [
        make_member(
            f"pat{i}",
            org=personas.org_a,
            roles=(Role.PATROL,),
            tier=Tier.VOUCHED,
            phone=f"+1213555017{i}",
        )
        for i in range(3)
    ]
    services.feed_create(member=personas.newcomer)
    feed_id = CalendarFeed.objects.get(member=personas.newcomer).pk
    return World(personas, school, corner_b, shift, patrollers, feed_id)


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    data: dict


def call_for(name: str, w: World) -> Call:
    valid_template = {
        "weekdays": ["0", "2"],
        "start_time": "07:15",
        "end_time": "08:15",
        "min_people": "2",
        "ideal_people": "4",
        "max_people": "6",
        "active_from": str(timezone.localdate()),
    }
    calls = {
        "patrol_coord": Call("get", reverse("patrol_coord"), {}),
        "patrol_place_new": Call("get", reverse("patrol_place_new"), {}),
        "patrol_place": Call("get", reverse("patrol_place", args=[w.school.pk]), {}),
        "patrol_template_new": Call(
            "post", reverse("patrol_template_new", args=[w.school.pk]), valid_template
        ),
        "patrol_holidays": Call("get", reverse("patrol_holidays"), {}),
        "patrol_generate": Call("post", reverse("patrol_generate"), {}),
        "patrol_logs": Call("get", reverse("patrol_logs"), {}),
        "patrol_coverage": Call("get", reverse("patrol_coverage"), {}),
        "patrol_ask_fill": Call("post", reverse("patrol_ask_fill"), {"shift": w.shift.pk}),
        "patrol_calendar": Call("get", reverse("patrol_calendar"), {}),
        "patrol_calendar_revoke": Call(
            "post", reverse("patrol_calendar_revoke", args=[w.feed_id]), {}
        ),
    }
    return calls[name]


def test_every_coordinator_url_has_a_permission_row():
    names = {p.name for p in coord_urls.urlpatterns}
    assert names == set(WHO_MAY) | NOT_IN_MATRIX


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(WHO_MAY))
@pytest.mark.parametrize("persona", [*PERSONAS, "anonymous"])
def test_permissions(client, world, name, persona):
    member = world.personas.all()[persona]
    sign_in(client, member)
    call = call_for(name, world)
    response = getattr(client, call.method)(call.url, call.data)
    if persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    elif persona in WHO_MAY[name]:
        assert response.status_code in (200, 302), (persona, name, response.status_code)
    else:
        assert response.status_code == 403, (persona, name, response.status_code)


# --- what an outsider (org B coordinator) sees ------------------------------------------------


@pytest.mark.django_db
def test_outsider_cannot_see_or_change_org_a_places(client, world):
    sign_in(client, world.personas.outsider)
    body = client.get(reverse("patrol_coord")).content.decode()
    assert "Esquina Bahía" in body and "Escuela Primaria Sol" not in body
    response = client.get(reverse("patrol_place", args=[world.school.pk]))
    assert response.status_code == 403
    assert "north gate" not in response.content.decode()
    response = client.post(
        reverse("patrol_place", args=[world.school.pk]),
        {
            "name": "Taken over",
            "kind": "school",
            "organization": world.personas.org_b.pk,
            "lat": "34.04",
            "lng": "-118.21",
        },
    )
    assert response.status_code == 403
    world.school.refresh_from_db()
    assert world.school.name == "Escuela Primaria Sol"
    assert world.school.organization_id == world.personas.org_a.pk
    # Not on the coverage page either.
    body = client.get(reverse("patrol_coverage") + "?view=week").content.decode()
    assert "Escuela Primaria Sol" not in body


@pytest.mark.django_db
def test_outsider_cannot_read_org_a_logs(client, world):
    PatrolLogEntry.objects.create(
        shift=world.shift, author=world.patrollers[0], text="Van parked by the north gate"
    )
    sign_in(client, world.personas.coordinator)
    assert "Van parked by the north gate" in client.get(reverse("patrol_logs")).content.decode()
    sign_in(client, world.personas.outsider)
    assert "Van parked" not in client.get(reverse("patrol_logs")).content.decode()
    response = client.get(reverse("patrol_logs") + f"?org={world.personas.org_a.pk}")
    assert response.status_code == 403


@pytest.mark.django_db
def test_coordinator_sees_notes_of_own_place(client, world):
    sign_in(client, world.personas.coordinator)
    body = client.get(reverse("patrol_place", args=[world.school.pk])).content.decode()
    assert "Stand at the north gate" in body


# --- places -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_place_detects_zone(client, world):
    personas = world.personas
    cells = geo.circle_cells(34.05, -118.30, 600)
    zone = Zone.objects.create(
        name="Test Heights",
        slug="test-heights",
        kind=ZoneKind.NEIGHBORHOOD,
        organization=personas.org_a,
        cells=cells,
        center_lat=34.05,
        center_lng=-118.30,
    )
    sign_in(client, personas.coordinator)
    response = client.post(
        reverse("patrol_place_new"),
        {
            "name": "Escuela Primaria Luna",
            "kind": "school",
            "organization": personas.org_a.pk,
            "lat": "34.0501",
            "lng": "-118.3001",
            "notes": "Front gate",
            "active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    place = Place.objects.get(name="Escuela Primaria Luna")
    assert place.zone_id == zone.pk and place.notes == "Front gate" and place.active
    assert "Test Heights" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lat", "lng", "message"),
    [
        ("abc", "-118.2", "Enter a latitude between -90 and 90"),
        ("95", "-118.2", "Enter a latitude between -90 and 90"),
        ("34.0", "", "Enter a longitude between -180 and 180"),
        ("nan", "-118.2", "Enter a latitude between -90 and 90"),
    ],
)
def test_bad_coordinates_are_clear_errors(client, world, lat, lng, message):
    sign_in(client, world.personas.coordinator)
    response = client.post(
        reverse("patrol_place_new"),
        {
            "name": "X",
            "kind": "school",
            "organization": world.personas.org_a.pk,
            "lat": lat,
            "lng": lng,
        },
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Place.objects.filter(name="X").exists()


@pytest.mark.django_db
def test_cannot_put_a_place_in_another_organization(client, world):
    sign_in(client, world.personas.coordinator)
    response = client.post(
        reverse("patrol_place_new"),
        {
            "name": "Sneaky",
            "kind": "corner",
            "organization": world.personas.org_b.pk,
            "lat": "34.0",
            "lng": "-118.2",
        },
    )
    assert response.status_code == 400
    assert "Choose one of your organizations." in response.content.decode()
    assert not Place.objects.filter(name="Sneaky").exists()


# --- shift templates ----------------------------------------------------------------------------


def template_post(**overrides):
    data = {
        "weekdays": ["0", "1", "2", "3", "4"],
        "start_time": "07:15",
        "end_time": "08:15",
        "min_people": "2",
        "ideal_people": "4",
        "max_people": "6",
        "active_from": str(timezone.localdate()),
        "active_until": "",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start_time": "09:00", "end_time": "08:00"}, "The shift must end after it starts."),
        ({"start_time": "08:00", "end_time": "08:00"}, "The shift must end after it starts."),
        ({"weekdays": []}, "Choose at least one day of the week."),
        ({"weekdays": ["9"]}, "Choose at least one day of the week."),
        ({"min_people": "5", "max_people": "3"}, "minimum ≤ ideal ≤ maximum"),
        ({"min_people": "0"}, "minimum ≤ ideal ≤ maximum"),
        ({"max_people": "500"}, "minimum ≤ ideal ≤ maximum"),
        ({"start_time": "7 am-ish"}, "Enter a time such as 07:15"),
        ({"active_until": "2000-01-01"}, "The last day must be on or after the first day."),
    ],
)
def test_template_errors_are_clear_messages(client, world, overrides, message):
    sign_in(client, world.personas.coordinator)
    response = client.post(
        reverse("patrol_template_new", args=[world.school.pk]), template_post(**overrides)
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert "The shift template was not saved." in body
    assert not ShiftTemplate.objects.exists()


@pytest.mark.django_db
def test_template_created_then_generated(client, world):
    sign_in(client, world.personas.coordinator)
    response = client.post(
        reverse("patrol_template_new", args=[world.school.pk]), template_post(), follow=True
    )
    assert response.status_code == 200
    template = ShiftTemplate.objects.get()
    assert (
        template.weekdays == [0, 1, 2, 3, 4] and template.created_by == world.personas.coordinator
    )
    response = client.post(reverse("patrol_generate"), follow=True)
    created = Shift.objects.filter(template=template).count()
    assert 18 <= created <= 20  # four weeks of weekdays, today's shift may already be over
    assert f"{created} new shifts for the next 4 weeks." in response.content.decode()


@pytest.mark.django_db
def test_generating_from_a_places_page_makes_that_places_shifts_only(client, world):
    """Outside walk, session 19: "Generate the next 4 weeks" on one place's page made every
    place's shifts (278 of them). There it makes that place's; another organization's place
    cannot be named."""
    other = Place.objects.create(
        name="Parque Norte",
        kind="school",
        lat=34.05,
        lng=-118.22,
        organization=world.personas.org_a,
    )
    for place in (world.school, other):
        ShiftTemplate.objects.create(
            place=place, weekdays=[0, 1, 2, 3, 4], start_time=time(7, 30), end_time=time(8, 30),
            active_from=timezone.localdate(),
        )  # fmt: skip
    sign_in(client, world.personas.coordinator)
    page = client.get(reverse("patrol_place", args=[world.school.pk])).content.decode()
    assert f'name="place" value="{world.school.pk}"' in page
    client.post(reverse("patrol_generate"), {"place": world.school.pk})
    assert Shift.objects.filter(place=world.school, template__isnull=False).count() >= 18
    assert not Shift.objects.filter(place=other).exists()
    corner = client.post(reverse("patrol_generate"), {"place": world.corner_b.pk})
    assert corner.status_code == 403
    client.post(reverse("patrol_generate"))  # from the list of places: all of them
    assert Shift.objects.filter(place=other).count() >= 18


# --- holidays -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_holiday_cancels_shift_and_people_are_told(client, world):
    services.signup(shift=world.shift, member=world.patrollers[0])
    services.signup(shift=world.shift, member=world.patrollers[1])
    sign_in(client, world.personas.coordinator)
    response = client.post(
        reverse("patrol_holidays"),
        {
            "date": str(timezone.localdate(world.shift.starts_at)),
            "name": "Teacher training day",
            "organization": world.personas.org_a.pk,
        },
        follow=True,
    )
    body = response.content.decode()
    assert "1 shift cancelled" in body and "2 people told by text message" in body
    world.shift.refresh_from_db()
    assert world.shift.status == Shift.Status.CANCELLED
    assert world.shift.cancelled_reason == "Teacher training day"
    told = Delivery.objects.filter(purpose="patrol", ref_id=world.shift.pk)
    assert told.count() == 2
    assert Signup.objects.filter(shift=world.shift).count() == 2  # nothing lost
    assert Holiday.objects.filter(name="Teacher training day").exists()


@pytest.mark.django_db
def test_holiday_bad_input(client, world):
    sign_in(client, world.personas.coordinator)
    response = client.post(
        reverse("patrol_holidays"),
        {"date": "2001-01-01", "name": "", "organization": world.personas.org_b.pk},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose today or a later day." in body
    assert "Give the holiday a name" in body
    assert "Choose one of your organizations." in body
    assert not Holiday.objects.exists()
    # Only coalition coordinators may add a holiday for every organization.
    response = client.post(
        reverse("patrol_holidays"),
        {"date": str(timezone.localdate()), "name": "All", "organization": "all"},
    )
    assert response.status_code == 400
    assert not Holiday.objects.exists()


# --- coverage -----------------------------------------------------------------------------------


def make_state_shifts(personas, school) -> dict[str, Shift]:
    """One shift in each coverage state, two days ahead (always inside the week view)."""
    day = timezone.localdate() + timedelta(days=2)
    people = [
        make_member(f"cov{i}", org=personas.org_a, roles=(Role.PATROL,), phone=f"+1213555016{i}")
        for i in range(8)
    ]
    shifts = {}
    for hour, state in enumerate(
        [
            "uncovered",
            "understaffed",
            "staffed",
            "checked_in",
            "all_clear",
            "activity",
            "cancelled",
        ],
        start=6,
    ):
        shifts[state] = Shift.objects.create(
            place=school,
            starts_at=at(day, hour),
            ends_at=at(day, hour, 50),
            min_people=2,
        )
    s = shifts
    Signup.objects.create(shift=s["understaffed"], member=people[0])
    for i in (1, 2):
        Signup.objects.create(shift=s["staffed"], member=people[i])
    Signup.objects.create(shift=s["checked_in"], member=people[3], checked_in_at=timezone.now())
    Signup.objects.create(shift=s["checked_in"], member=people[4])
    Shift.objects.filter(pk=s["all_clear"].pk).update(outcome="all_clear")
    Shift.objects.filter(pk=s["activity"].pk).update(outcome="activity")
    Shift.objects.filter(pk=s["cancelled"].pk).update(status="cancelled")
    return shifts


@pytest.mark.django_db
def test_coverage_states_colors_and_labels(client, world):
    shifts = make_state_shifts(world.personas, world.school)
    sign_in(client, world.personas.dispatcher)
    response = client.get(reverse("patrol_coverage") + "?view=week")
    assert response.status_code == 200
    body = response.content.decode()
    labels = {
        "uncovered": "Uncovered",
        "understaffed": "Understaffed",
        "staffed": "Staffed",
        "checked_in": "Checked in",
        "all_clear": "All clear",
        "activity": "Activity seen",
        "cancelled": "Cancelled",
    }
    for state, label in labels.items():
        # A CSS class for the color and the same state in words.
        assert f'class="cov-row cov-{state}' in body, state
        assert f'<span class="cov-state cov-{state}">{label}</span>' in body, state
    # Gaps (uncovered, understaffed) are highlighted and get the one-tap button; others not.
    for state in ("uncovered", "understaffed"):
        assert f'name="shift" value="{shifts[state].pk}"' in body
    for state in ("staffed", "checked_in", "all_clear", "activity", "cancelled"):
        assert f'name="shift" value="{shifts[state].pk}"' not in body
    assert body.count("cov-row cov-uncovered cov-gap") >= 1
    # The map data: one marker for the place, with its most pressing state.
    data = response.context["map_data"]["places"]
    marker = next(p for p in data if p["name"] == "Escuela Primaria Sol")
    assert marker["state"] in ("activity", "uncovered")
    # The services agree with what the page shows.
    start = at(timezone.localdate(), 0)
    states = {
        r.shift.pk: r.state for r in services.coverage(start=start, end=start + timedelta(days=7))
    }
    assert {states[s.pk] for s in shifts.values()} == set(labels)
    for state, shift in shifts.items():
        assert states[shift.pk] == state
    # The page's lean variant (plain values) says the same.
    lean = services.coverage_values(start=start, end=start + timedelta(days=7))
    assert {r.shift_id: r.state for r in lean} == states


@pytest.mark.django_db
def test_coverage_today_view_and_filter(client, world):
    make_state_shifts(world.personas, world.school)
    sign_in(client, world.personas.coordinator)
    body = client.get(reverse("patrol_coverage")).content.decode()
    # Today has nothing of these (they are in two days), but the gaps of the week are listed.
    assert "gaps in the next 7 days" in body
    assert "Ask people to fill" in body
    body = client.get(reverse("patrol_coverage") + "?view=week&state=gaps").content.decode()
    assert "cov-row cov-staffed" not in body and "cov-row cov-uncovered" in body
    # Nonsense parameters are ignored, not a 500.
    response = client.get(reverse("patrol_coverage") + "?view=%00&state=<script>")
    assert response.status_code == 200


@pytest.mark.django_db
def test_ask_to_fill_creates_deliveries(client, world):
    sign_in(client, world.personas.dispatcher)
    response = client.post(
        reverse("patrol_ask_fill"),
        {"shift": world.shift.pk, "next": reverse("patrol_coverage") + "?view=week"},
        follow=True,
    )
    asked = Delivery.objects.filter(purpose="patrol_fill", ref_id=world.shift.pk)
    # The three patrollers and the newcomer (a patrol member of org A), all with phones.
    assert asked.count() == 4
    assert response.redirect_chain[-1][0].endswith("?view=week")
    assert "4 patrol members near Escuela Primaria Sol were asked" in response.content.decode()


@pytest.mark.django_db
def test_asking_again_within_the_hour_texts_nobody_twice(client, world):
    """Outside walk: pressing "Ask people to fill" twice within 30 s said the same 16 people
    were asked again. A press within the hour texts only people not asked yet and says how many
    were asked before; an hour later they may be asked again."""
    sign_in(client, world.personas.dispatcher)
    asked = Delivery.objects.filter(purpose="patrol_fill", ref_id=world.shift.pk)
    start = timezone.now()

    def press(at):
        with time_machine.travel(at, tick=False):
            response = client.post(
                reverse("patrol_ask_fill"), {"shift": world.shift.pk}, follow=True
            )
        assert response.status_code == 200
        return " ".join(str(m) for m in response.context["messages"])

    said = press(start)
    assert "4 patrol members near Escuela Primaria Sol were asked to fill the shift." in said
    assert "already" not in said and asked.count() == 4

    said = press(start + timedelta(seconds=30))
    assert "were asked to fill" not in said
    assert (
        "4 patrol members near Escuela Primaria Sol were already asked in the last hour and "
        "were not texted again." in said
    )
    assert asked.count() == 4

    # Someone who joined since is asked; the others are not asked twice.
    make_member("pat.late", org=world.personas.org_a, roles=(Role.PATROL,), phone="+12135550179")
    said = press(start + timedelta(minutes=20))
    assert "1 patrol member near Escuela Primaria Sol was asked to fill the shift." in said
    assert "4 patrol members near Escuela Primaria Sol were already asked" in said
    assert asked.count() == 5

    # An hour after the first ask, those four may be asked again; the late one not yet.
    said = press(start + timedelta(minutes=61))
    assert "4 patrol members near Escuela Primaria Sol were asked to fill the shift." in said
    assert "1 patrol member near Escuela Primaria Sol was already asked" in said
    assert asked.count() == 9
    per_person = [
        asked.filter(contact__member=m).count()
        for m in [*world.patrollers, world.personas.newcomer]
    ]
    assert per_person == [2, 2, 2, 2]


@pytest.mark.django_db
def test_ask_to_fill_refuses_what_needs_nobody(client, world):
    for member in world.patrollers[:2]:
        services.signup(shift=world.shift, member=member)
    sign_in(client, world.personas.coordinator)
    response = client.post(reverse("patrol_ask_fill"), {"shift": world.shift.pk}, follow=True)
    assert "no longer needs people" in response.content.decode()
    assert not Delivery.objects.filter(purpose="patrol_fill").exists()
    # Garbage and unknown shifts: a message or a 403, never a 500.
    response = client.post(reverse("patrol_ask_fill"), {"shift": "abc"}, follow=True)
    assert response.status_code == 200 and "Choose a shift" in response.content.decode()
    assert client.post(reverse("patrol_ask_fill"), {"shift": 999999}).status_code == 403
    # An org B coordinator may not ask for an org A shift.
    sign_in(client, world.personas.outsider)
    assert client.post(reverse("patrol_ask_fill"), {"shift": world.shift.pk}).status_code == 403


def make_shifts(place_count: int, per_place: int, personas) -> None:
    start = timezone.localdate()
    places = Place.objects.bulk_create(
        [
            Place(
                name=f"Place {i}",
                kind="school",
                lat=34.0 + i / 1000,
                lng=-118.2,
                organization=personas.org_a,
            )
            for i in range(place_count)
        ]
    )
    shifts = Shift.objects.bulk_create(
        [
            Shift(
                place=place,
                starts_at=at(start + timedelta(days=n % 7), 6 + n // 7),
                ends_at=at(start + timedelta(days=n % 7), 6 + n // 7, 45),
            )
            for place in places
            for n in range(per_place)
        ]
    )
    people = [make_member(f"q{i}", org=personas.org_a, roles=(Role.PATROL,)) for i in range(3)]
    Signup.objects.bulk_create(
        [
            Signup(shift=shift, member=people[j], checked_in_at=timezone.now() if j == 2 else None)
            for i, shift in enumerate(shifts)
            for j in range(i % 4)
        ]
    )


# session, member, OTP device, roles, services.coverage (one query), zone outlines
COVERAGE_MAX_QUERIES = 6


@pytest.mark.django_db
@pytest.mark.parametrize(("places", "per_place"), [(10, 5), (50, 10)])
@pytest.mark.parametrize("view", ["today", "week"])
def test_coverage_query_count_is_pinned(
    client, personas, django_assert_max_num_queries, places, per_place, view
):
    make_shifts(places, per_place, personas)
    assert Shift.objects.count() == places * per_place  # 50, then 500 shifts
    for member in (personas.coordinator, personas.dispatcher):
        sign_in(client, member)
        with django_assert_max_num_queries(COVERAGE_MAX_QUERIES):
            response = client.get(reverse("patrol_coverage") + f"?view={view}")
        assert response.status_code == 200


# --- the demo -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_coverage_shows_every_state(client, settings, tmp_path):
    from vecinos.network.demo import load_demo
    from vecinos.network.models import Member

    settings.DATA_DIR = tmp_path
    result = load_demo()
    assert result.created
    assert Place.objects.count() == 15
    assert Place.objects.filter(kind="school").count() == 12
    assert Place.objects.filter(kind="corner").count() == 2
    assert Place.objects.filter(kind="courthouse").count() == 1
    assert Place.objects.exclude(zone=None).count() >= 14
    assert Holiday.objects.count() == 1
    start = at(timezone.localdate(), 0)
    states = {r.state for r in services.coverage(start=start, end=start + timedelta(days=7))}
    assert states == {
        "uncovered",
        "understaffed",
        "staffed",
        "checked_in",
        "all_clear",
        "activity",
        "cancelled",
    }
    # Only patrol members signed up; nobody twice at the same time.
    patrol_ids = set(
        Member.objects.filter(memberships__role=Role.PATROL).values_list("pk", flat=True)
    )
    rows = list(Signup.objects.select_related("shift"))
    assert rows and {r.member_id for r in rows} <= patrol_ids
    by_member: dict[int, list[Shift]] = {}
    for row in rows:
        for other in by_member.get(row.member_id, []):
            assert not (other.starts_at < row.shift.ends_at and other.ends_at > row.shift.starts_at)
        by_member.setdefault(row.member_id, []).append(row.shift)
    # The page renders for the demo dispatcher.
    sign_in(client, Member.objects.get(username="dispatcher"))
    assert client.get(reverse("patrol_coverage") + "?view=week").status_code == 200
    # Loading again changes nothing.
    assert not load_demo().created
    assert Place.objects.count() == 15


@pytest.mark.django_db
def test_pages_speak_spanish(client, world):
    from django.conf import settings as django_settings
    from django.utils import translation

    make_state_shifts(world.personas, world.school)
    sign_in(client, world.personas.coordinator)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "es"
    with translation.override("es"):
        expected = [
            translation.gettext(text)
            for text in ("Patrol coverage", "Uncovered", "Understaffed", "Ask people to fill")
        ]
        places_title = translation.gettext("Places and shifts")
    assert expected[0] != "Patrol coverage"  # the catalog has it
    body = client.get(reverse("patrol_coverage") + "?view=week").content.decode()
    assert 'lang="es"' in body
    for text in expected:
        assert text in body
    assert places_title in client.get(reverse("patrol_coord")).content.decode()


# --- in a browser: the maps draw under the strict CSP, nothing leaves localhost ------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_maps_in_a_browser(live_server, new_page, personas):
    from django.test import Client

    school = Place.objects.create(
        name="Escuela Primaria Sol",
        kind="school",
        lat=34.04,
        lng=-118.21,
        organization=personas.org_a,
    )
    make_state_shifts(personas, school)
    session = sign_in(Client(), personas.coordinator).cookies["sessionid"].value
    page = new_page(phone=True)
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    page.goto(f"{live_server.url}{reverse('patrol_coverage')}?view=week")
    page.wait_for_selector("path.cov-marker")
    assert page.locator("path.cov-marker-activity").count() == 1  # the place's most pressing
    assert page.get_by_text("Ask people to fill").first.is_visible()
    page.goto(f"{live_server.url}{reverse('patrol_place_new')}")
    page.wait_for_selector("#place-map.leaflet-container")
    page.click("#place-map", position={"x": 120, "y": 80})
    assert page.input_value("input[name=lat]") and page.input_value("input[name=lng]")
    assert not page.problems, page.problems


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("next_value", "lands_on"),
    [
        ("-1", None),  # redirect() took it for a view's name: a 500 (fuzzed, session 21)
        ("coverage", None),  # a view-like word, not a path
        ("1e5", None),
        ("//evil.example/", None),
        ("/\\evil.example/", None),
        ("https://evil.example/", None),
        ("/patrols/coord/coverage/?week=1", "/patrols/coord/coverage/?week=1"),
    ],
)
def test_a_bad_next_goes_back_to_the_default_page(client, world, next_value, lands_on):
    sign_in(client, world.personas.coordinator)
    response = client.post(reverse("patrol_generate"), {"next": next_value})
    assert response.status_code == 302
    assert response["Location"] == (lands_on or reverse("patrol_coord"))
    response = client.post(
        reverse("patrol_ask_fill"), {"shift": world.shift.pk, "next": next_value}
    )
    assert response.status_code == 302
    assert response["Location"] == (lands_on or reverse("patrol_coverage"))
