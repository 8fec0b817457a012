"""Member patrol pages: the shift finder, a shift, its actions, the patrol report.

Permissions per persona (a member of another organization never sees a place's notes or a
shift's roster), refusals as clear messages (no 500, nothing lost), and activity seen -> patrol
report -> the dispatcher queue, marked as a trusted report.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from tests.conftest import make_member
from vecinos.alerts.models import Subscriber, SubscriptionArea
from vecinos.core import geo
from vecinos.network.models import Role, Tier, Zone
from vecinos.patrols.models import PatrolLogEntry, Place, Shift, Signup
from vecinos.reports.models import Report

NOTES = "Stand at the north gate; the contact is Ms. Rivera"
SCHOOL_AT = (34.0400, -118.2100)


@pytest.fixture(autouse=True)
def _fresh_rate_keys(settings):
    # Rate-limit counters live in Redis at scale and outlive the test database.
    settings.SECRET_KEY = secrets.token_urlsafe(50)


@pytest.fixture
def school(personas):
    return Place.objects.create(
        name="Escuela Primaria Sol",
        kind="school",
        lat=SCHOOL_AT[0],
        lng=SCHOOL_AT[1],
        organization=personas.org_a,
        notes=NOTES,
    )


@pytest.fixture
def people(personas):
    class People:
        lead = make_member("pat.lead", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.TRAINED)
        walker = make_member("pat.walker", org=personas.org_a, roles=(Role.PATROL,))
        walker2 = make_member("pat.walker2", org=personas.org_a, roles=(Role.PATROL,))
        other_org = make_member(
            "pat.orgb", org=personas.org_b, roles=(Role.PATROL,), tier=Tier.TRAINED
        )
        # A new member of org A whose only role is subscriber: no patrol role.
        no_patrol = make_member("sub.only", org=personas.org_a, roles=(Role.SUBSCRIBER,))

    return People


def make_shift(place, *, in_minutes=60 * 24, hours=1, **extra) -> Shift:
    start = timezone.now() + timedelta(minutes=in_minutes)
    return Shift.objects.create(
        place=place, starts_at=start, ends_at=start + timedelta(hours=hours), **extra
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def follow_post(client, url, data=None):
    response = client.post(url, data or {}, follow=True)
    assert response.status_code == 200, response.status_code
    return response, " ".join(messages_of(response))


# --- Permissions ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in(client, school):
    shift = make_shift(school)
    for url in (
        reverse("patrol_shifts"),
        reverse("patrol_shift", args=[shift.pk]),
        reverse("patrol_report", args=[shift.pk]),
        reverse("patrol_report_done", args=[shift.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    for name in ("patrol_signup", "patrol_check_in", "patrol_outcome", "patrol_log_add"):
        response = client.post(reverse(name, args=[shift.pk]), {"outcome": "all_clear"})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Signup.objects.exists()


@pytest.mark.django_db
def test_finder_is_for_members_who_can_patrol(personas, people, login):
    expected = {
        "coalition": 403,
        "coordinator": 403,
        "dispatcher": 403,
        "verifier": 403,
        "newcomer": 200,  # a new member with the patrol role
        "outsider": 403,
    }
    for name, member in personas.all().items():
        if member is None:
            continue
        response = login(member).get(reverse("patrol_shifts"))
        assert response.status_code == expected[name], name
    assert login(people.no_patrol).get(reverse("patrol_shifts")).status_code == 403
    assert login(people.other_org).get(reverse("patrol_shifts")).status_code == 200


@pytest.mark.django_db
def test_nav_link_only_for_patrol_members(personas, people, login):
    link = f'href="{reverse("patrol_shifts")}"'
    assert link in login(people.walker).get(reverse("home")).content.decode()
    assert link not in login(personas.dispatcher).get(reverse("home")).content.decode()
    assert link not in login(people.no_patrol).get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_shift_page_hides_notes_and_roster_from_other_organizations(personas, people, login):
    school = Place.objects.create(
        name="Escuela Primaria Sol",
        kind="school",
        lat=SCHOOL_AT[0],
        lng=SCHOOL_AT[1],
        organization=personas.org_a,
        notes=NOTES,
    )
    shift = make_shift(school)
    Signup.objects.create(shift=shift, member=people.walker)
    url = reverse("patrol_shift", args=[shift.pk])
    # persona -> (status, sees notes and roster)
    expected = {
        "coalition": (200, True),
        "coordinator": (200, True),
        "dispatcher": (200, True),
        "verifier": (200, True),
        "newcomer": (200, False),  # unvetted: sees the shift, not the notes or who signed up
        "outsider": (403, False),  # coordinator of org B, no patrol role
    }
    for name, member in personas.all().items():
        if member is None:
            anonymous = login(None)
            anonymous.logout()
            assert anonymous.get(url).status_code == 302
            continue
        response = login(member).get(url)
        status, private = expected[name]
        assert response.status_code == status, name
        body = response.content.decode()
        assert (NOTES in body) is private, name
        assert ("pat.walker" in body) is private, name
        assert ('data-private="roster"' in body) is private, name

    # A patrol member of organization B may see and take the shift, never the notes or roster.
    other = login(people.other_org)
    body = other.get(url).content.decode()
    assert "Escuela Primaria Sol" in body and "Sign up" in body
    assert NOTES not in body and "pat.walker" not in body and "data-private" not in body
    assert "north gate" not in body
    # ...not even once signed up for it: the log is theirs, but not the other people's names.
    other.post(reverse("patrol_signup", args=[shift.pk]))
    assert Signup.objects.filter(shift=shift, member=people.other_org).exists()
    PatrolLogEntry.objects.create(shift=shift, author=people.walker, text="Quiet so far")
    body = other.get(url).content.decode()
    assert NOTES not in body and "pat.walker" not in body
    assert "Quiet so far" in body and "a patrol member" in body


@pytest.mark.django_db
def test_shift_page_tells_a_newcomer_the_real_reason_notes_are_hidden(personas, people, login):
    """Outside walk: a newcomer of the place's own organization was told the notes and roster
    are for the organization's members. The rule that hid them is their tier: say so."""
    school = Place.objects.create(
        name="Escuela Primaria Sol",
        kind="school",
        lat=SCHOOL_AT[0],
        lng=SCHOOL_AT[1],
        organization=personas.org_a,
        notes=NOTES,
    )
    shift = make_shift(school)
    url = reverse("patrol_shift", args=[shift.pk])
    org_rule = "shown to members of the organization responsible for this place"
    tier_rule = "shown only to members someone has vouched for"

    newcomer = personas.newcomer  # org A, patrol role, tier New
    assert newcomer.tier == Tier.NEW
    body = login(newcomer).get(url).content.decode()
    assert NOTES not in body
    assert tier_rule in body and 'data-hidden="tier"' in body and org_rule not in body

    # Another organization's patrol member: the organization is the reason, as before.
    body = login(people.other_org).get(url).content.decode()
    assert NOTES not in body
    assert org_rule in body and tier_rule not in body

    # Once vouched for, the newcomer sees them.
    newcomer.tier = Tier.VOUCHED
    newcomer.save(update_fields=["tier"])
    body = login(newcomer).get(url).content.decode()
    assert NOTES in body and tier_rule not in body and org_rule not in body


@pytest.mark.django_db
def test_missing_shift_is_404_for_patrol_and_403_for_others(personas, people, login, school):
    walker = login(people.walker)
    assert walker.get(reverse("patrol_shift", args=[999999])).status_code == 404
    huge = "/patrols/shifts/99999999999999999999999999/"
    assert walker.get(huge).status_code == 404
    assert walker.post(huge + "signup/").status_code == 404
    shift = make_shift(school)
    assert login(people.no_patrol).get(reverse("patrol_shift", args=[shift.pk])).status_code == 200
    outsider = login(personas.outsider)
    assert outsider.get(reverse("patrol_shift", args=[shift.pk])).status_code == 403
    for name in ("patrol_signup", "patrol_withdraw", "patrol_check_in", "patrol_log_add"):
        assert outsider.post(reverse(name, args=[shift.pk])).status_code == 403, name
    assert not Signup.objects.exists()


@pytest.mark.django_db
def test_member_without_patrol_role_cannot_sign_up(people, login, school):
    shift = make_shift(school)
    client = login(people.no_patrol)  # an org A member: may look, may not patrol
    body = client.get(reverse("patrol_shift", args=[shift.pk])).content.decode()
    assert "Sign up" not in body.split("your-part", 1)[1]
    assert client.post(reverse("patrol_signup", args=[shift.pk])).status_code == 403
    assert client.post(reverse("patrol_swap_take", args=[shift.pk])).status_code == 403
    assert not Signup.objects.exists()


# --- Finder ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_finder_by_areas_and_by_distance(personas, people, login, school):
    near_b = Place.objects.create(  # org B, about 1.7 km east, in the walker's alert zone
        name="Esquina Soto", kind="corner", lat=34.0400, lng=-118.1915, organization=personas.org_b
    )
    far_b = Place.objects.create(  # org B, about 37 km away, nobody's area
        name="Corte Lejana", kind="courthouse", lat=34.2, lng=-118.55, organization=personas.org_b
    )
    zone = Zone.objects.create(
        name="Soto",
        slug="soto",
        kind="neighborhood",
        cells=geo.circle_cells(34.0400, -118.1915, 400),
        center_lat=34.04,
        center_lng=-118.1915,
    )
    near_b.zone = zone
    near_b.save()
    subscriber = Subscriber.objects.create(member=people.walker, status="active")
    SubscriptionArea.objects.create(subscriber=subscriber, zone=zone)

    s_school = make_shift(school, in_minutes=120)
    s_near = make_shift(near_b, in_minutes=60)
    s_far = make_shift(far_b, in_minutes=30)
    s_later = make_shift(school, in_minutes=60 * 24 * 20)  # beyond 14 days
    s_cancelled = make_shift(school, in_minutes=300, status=Shift.Status.CANCELLED)
    mine = make_shift(school, in_minutes=60 * 24 * 2)
    Signup.objects.create(shift=mine, member=people.walker, is_lead=False)
    # Vouched for: the finder reaches past their own organization (a newcomer's does not).
    people.walker.tier = Tier.VOUCHED
    people.walker.save(update_fields=["tier"])

    client = login(people.walker)
    response = client.get(reverse("patrol_shifts"))
    assert response.status_code == 200
    shown = [s.pk for s in response.context["finder"].shifts]
    # Soonest first: org A's school (their organization) and the corner in their alert zone.
    assert shown == [s_near.pk, s_school.pk]
    assert s_far.pk not in shown and s_later.pk not in shown and s_cancelled.pk not in shown
    body = response.content.decode()
    assert f'data-my-shift="{mine.pk}"' in body and mine.pk not in shown
    assert "Lead needed" in body and "0 of 4 signed up" in body

    # "Use my location": nearest place first, then soonest; 20 km at most.
    response = client.get(reverse("patrol_shifts"), {"lat": "34.040", "lng": "-118.210"})
    finder = response.context["finder"]
    assert finder.mode == "distance"
    assert [s.pk for s in finder.shifts] == [s_school.pk, s_near.pk]
    assert finder.shifts[1].distance_km == pytest.approx(1.7, abs=0.1)
    assert "1.7 km away" in response.content.decode()

    # From near the far courthouse: only it.
    response = client.get(reverse("patrol_shifts"), {"lat": "34.2", "lng": "-118.55"})
    assert [s.pk for s in response.context["finder"].shifts] == [s_far.pk]

    # Bad coordinates: a clear message and the member's areas, never a 500.
    for bad in ({"lat": "999", "lng": "0"}, {"lat": "abc", "lng": "1"}, {"lat": "34.0"}):
        response = client.get(reverse("patrol_shifts"), bad)
        assert response.status_code == 200
        assert "That location could not be used" in response.content.decode()
        assert response.context["finder"].mode == "zone"
    response = client.get(reverse("patrol_shifts"), {"lat": "", "lng": ""})
    assert "That location could not be used" not in response.content.decode()


@pytest.mark.django_db
def test_finder_leaves_out_shifts_at_the_same_time_as_my_own(personas, people, login, school):
    """Outside walk: every "Sign up" of the first ten open shifts answered "You already have a
    shift at that time." A shift overlapping one of the person's own is no longer offered."""
    corner = Place.objects.create(
        name="Esquina Soto", kind="corner", lat=34.0410, lng=-118.2110, organization=personas.org_a
    )
    base = timezone.now().replace(microsecond=0) + timedelta(hours=5)

    def at(place, hours, length=1, **extra):
        start = base + timedelta(hours=hours)
        return Shift.objects.create(
            place=place, starts_at=start, ends_at=start + timedelta(hours=length), **extra
        )

    mine = at(school, 0, length=2)
    Signup.objects.create(shift=mine, member=people.walker)
    clash = at(corner, 1)  # inside my shift
    clash_start = at(corner, -0.5)  # ends half an hour into it
    after = at(corner, 2)  # starts as mine ends
    before = at(corner, -1)  # ends as mine starts
    # A cancelled shift of mine holds no time (the sign-up rule says the same).
    gone = at(school, 24, status=Shift.Status.CANCELLED)
    Signup.objects.create(shift=gone, member=people.walker)
    free = at(corner, 24)

    client = login(people.walker)
    for params in ({}, {"lat": "34.040", "lng": "-118.210"}):
        response = client.get(reverse("patrol_shifts"), params)
        shown = {s.pk for s in response.context["finder"].shifts}
        assert shown == {before.pk, after.pk, free.pk}, params
        body = response.content.decode()
        for hidden in (clash, clash_start):
            assert reverse("patrol_signup", args=[hidden.pk]) not in body
        for offered in (before, after, free):
            assert reverse("patrol_signup", args=[offered.pk]) in body
            _, said = follow_post(client, reverse("patrol_signup", args=[offered.pk]))
            assert "You are signed up" in said
            Signup.objects.filter(shift=offered, member=people.walker).delete()
    # The shift's own page says so instead of a "Sign up" that can only be refused (session 18).
    page = client.get(reverse("patrol_shift", args=[clash.pk])).content.decode()
    assert "You already have a shift at that time." in page
    assert reverse("patrol_signup", args=[clash.pk]) not in page
    page = client.get(reverse("patrol_shift", args=[free.pk])).content.decode()
    assert reverse("patrol_signup", args=[free.pk]) in page
    # Another member, free at that time, still sees all of them.
    response = login(people.walker2).get(reverse("patrol_shifts"))
    shown = {s.pk for s in response.context["finder"].shifts}
    assert {clash.pk, clash_start.pk, before.pk, after.pk, free.pk, mine.pk} <= shown


@pytest.mark.django_db
def test_finder_for_member_with_no_areas_suggests_location(people, login):
    lonely = make_member("pat.lonely", roles=())
    from vecinos.network.models import Membership, Organization

    org = Organization.objects.create(name="Org C", short_name="org-c")
    Membership.objects.create(member=lonely, organization=org, role=Role.PATROL)
    body = login(lonely).get(reverse("patrol_shifts")).content.decode()
    assert "No open shifts here" in body or "Use your location" in body


# --- Refusals are messages -----------------------------------------------------------------------


@pytest.mark.django_db
def test_signup_refusals_are_clear_messages(personas, people, login, school):
    shift = make_shift(school, max_people=2)
    url = reverse("patrol_signup", args=[shift.pk])

    client = login(people.walker)
    _, said = follow_post(client, url)
    assert "You are signed up" in said
    _, said = follow_post(client, url)  # double sign-up
    assert "already signed up for this shift" in said
    assert Signup.objects.filter(shift=shift).count() == 1

    # An untrained member asking to lead.
    _, said = follow_post(login(people.walker2), url, {"lead": "on"})
    assert "Leads must be trained" in said
    _, said = follow_post(login(people.walker2), url)
    assert "You are signed up" in said

    # Past the maximum.
    response, said = follow_post(login(people.lead), url, {"lead": "on"})
    assert "This shift is full" in said
    assert Signup.objects.filter(shift=shift).count() == 2
    assert (
        "Sign up" not in response.content.decode().split("your-part", 1)[1].split("</section>")[0]
    )

    # Overlapping with a shift one is already on.
    corner = Place.objects.create(
        name="Corner", kind="corner", lat=34.05, lng=-118.2, organization=personas.org_a
    )
    overlapping = Shift.objects.create(
        place=corner,
        starts_at=shift.starts_at + timedelta(minutes=30),
        ends_at=shift.ends_at + timedelta(minutes=30),
    )
    _, said = follow_post(login(people.walker), reverse("patrol_signup", args=[overlapping.pk]))
    assert "already have a shift at that time" in said
    assert not Signup.objects.filter(shift=overlapping).exists()

    # A cancelled shift.
    cancelled = make_shift(school, in_minutes=60 * 24 * 3, status=Shift.Status.CANCELLED)
    _, said = follow_post(login(people.walker), reverse("patrol_signup", args=[cancelled.pk]))
    assert "no longer open" in said


@pytest.mark.django_db
def test_check_in_refusals_are_clear_messages(people, login, school):
    soon = make_shift(school, in_minutes=10)
    later = make_shift(school, in_minutes=60 * 24)
    Signup.objects.create(shift=later, member=people.walker)

    # Check-in to a shift one is not on.
    _, said = follow_post(login(people.walker), reverse("patrol_check_in", args=[soon.pk]))
    assert "not signed up for this shift" in said
    # Too early.
    _, said = follow_post(login(people.walker), reverse("patrol_check_in", args=[later.pk]))
    assert "Check-in opens 30 minutes before" in said
    # Check-out before checking in; withdraw from a shift one is not on.
    _, said = follow_post(login(people.walker), reverse("patrol_check_out", args=[later.pk]))
    assert "Check in first" in said
    _, said = follow_post(login(people.walker), reverse("patrol_withdraw", args=[soon.pk]))
    assert "were not signed up" in said
    assert not Signup.objects.filter(checked_in_at__isnull=False).exists()


@pytest.mark.django_db
def test_check_in_keeps_only_at_the_place(people, login, school):
    shift = make_shift(school, in_minutes=10)
    Signup.objects.create(shift=shift, member=people.walker)
    Signup.objects.create(shift=shift, member=people.walker2)
    url = reverse("patrol_check_in", args=[shift.pk])
    page = login(people.walker).get(reverse("patrol_shift", args=[shift.pk])).content.decode()
    assert "data-check-in" in page and "<script>" not in page and "style=" not in page

    _, said = follow_post(login(people.walker), url, {"lat": "34.0401", "lng": "-118.2101"})
    assert "checked in at the place" in said
    _, said = follow_post(login(people.walker2), url, {"lat": "34.09", "lng": "-118.30"})
    assert "not at the place" in said
    rows = {r.member_id: r for r in Signup.objects.filter(shift=shift)}
    assert rows[people.walker.pk].checked_in_at_place is True
    assert rows[people.walker2.pk].checked_in_at_place is False
    field_names = {f.name for f in Signup._meta.get_fields()}
    assert not {"lat", "lng", "latitude", "longitude"} & field_names

    # A second check-in, junk coordinates: messages, nothing changes.
    _, said = follow_post(login(people.walker), url, {"lat": "nan", "lng": "x"})
    assert "already checked in" in said
    # Withdraw after check-in is refused (history kept); check out works once.
    _, said = follow_post(login(people.walker), reverse("patrol_withdraw", args=[shift.pk]))
    assert "check out instead" in said
    _, said = follow_post(login(people.walker), reverse("patrol_check_out", args=[shift.pk]))
    assert "checked out" in said
    _, said = follow_post(login(people.walker), reverse("patrol_check_out", args=[shift.pk]))
    assert "already checked out" in said
    assert Signup.objects.filter(shift=shift).count() == 2


@pytest.mark.django_db
def test_check_in_without_location(people, login, school):
    shift = make_shift(school, in_minutes=10)
    Signup.objects.create(shift=shift, member=people.walker)
    _, said = follow_post(login(people.walker), reverse("patrol_check_in", args=[shift.pk]))
    assert "You are checked in." in said
    assert Signup.objects.get(shift=shift).checked_in_at_place is None


@pytest.mark.django_db
def test_withdraw_swap_offer_and_take(people, login, school):
    shift = make_shift(school, max_people=2)
    Signup.objects.create(shift=shift, member=people.walker)
    Signup.objects.create(shift=shift, member=people.lead, is_lead=True)
    page = login(people.walker2).get(reverse("patrol_shift", args=[shift.pk])).content.decode()
    assert "This shift is full" in page and "Take the offered place" not in page
    _, said = follow_post(login(people.walker2), reverse("patrol_swap_take", args=[shift.pk]))
    assert "no longer offered" in said

    _, said = follow_post(login(people.walker), reverse("patrol_swap_offer", args=[shift.pk]))
    assert "offered for a swap" in said
    page = login(people.walker2).get(reverse("patrol_shift", args=[shift.pk])).content.decode()
    assert "Take the offered place" in page
    _, said = follow_post(login(people.walker2), reverse("patrol_swap_take", args=[shift.pk]))
    assert "You took the offered place" in said
    members = set(Signup.objects.filter(shift=shift).values_list("member__username", flat=True))
    assert members == {"pat.walker2", "pat.lead"}

    _, said = follow_post(login(people.walker2), reverse("patrol_withdraw", args=[shift.pk]))
    assert "no longer on this shift" in said
    assert Signup.objects.filter(shift=shift).count() == 1


# --- Outcome, report, log ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_the_lead_or_a_coordinator_marks_the_outcome(personas, people, login, school):
    shift = make_shift(school, in_minutes=10)
    Signup.objects.create(shift=shift, member=people.walker)
    Signup.objects.create(shift=shift, member=people.lead, is_lead=True)
    url = reverse("patrol_outcome", args=[shift.pk])
    walker_page = login(people.walker).get(reverse("patrol_shift", args=[shift.pk]))
    assert "All clear" not in walker_page.content.decode().split("your-part", 1)[1]
    assert login(people.walker).post(url, {"outcome": "all_clear"}).status_code == 403
    assert login(people.other_org).post(url, {"outcome": "all_clear"}).status_code == 403
    _, said = follow_post(login(people.lead), url, {"outcome": "nonsense"})
    assert "Choose all clear or activity seen" in said
    _, said = follow_post(login(people.lead), url, {"outcome": "all_clear"})
    assert "All clear is recorded" in said
    assert Shift.objects.get(pk=shift.pk).outcome == Shift.Outcome.ALL_CLEAR
    _, said = follow_post(login(personas.coordinator), url, {"outcome": "all_clear"})
    assert "All clear is recorded" in said

    # Not before the shift: a message, nothing recorded.
    later = make_shift(school, in_minutes=60 * 24)
    Signup.objects.create(shift=later, member=people.lead, is_lead=True)
    _, said = follow_post(
        login(people.lead), reverse("patrol_outcome", args=[later.pk]), {"outcome": "activity"}
    )
    assert "has not started yet" in said
    assert Shift.objects.get(pk=later.pk).outcome == ""


@pytest.mark.django_db
def test_activity_seen_report_reaches_the_console_as_trusted(personas, people, login, school):
    shift = make_shift(school, in_minutes=10)
    client = login(people.lead)
    _, said = follow_post(client, reverse("patrol_signup", args=[shift.pk]), {"lead": "on"})
    assert "as the lead" in said
    follow_post(
        client, reverse("patrol_check_in", args=[shift.pk]), {"lat": "34.04", "lng": "-118.21"}
    )

    response = client.post(reverse("patrol_outcome", args=[shift.pk]), {"outcome": "activity"})
    assert response.status_code == 302
    assert response["Location"] == reverse("patrol_report", args=[shift.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "Escuela Primaria Sol" in body and "Near a school" in body
    assert re.search(r'name="activity" value="school"[^>]*checked', body)
    assert re.search(r'name="agency" value="unknown"[^>]*checked', body)

    # Bad input: messages, the typed note is kept, nothing sent.
    bad = client.post(
        reverse("patrol_report", args=[shift.pk]),
        {"activity": "", "agents_count": "9999", "description": "Two vans by the gate"},
    )
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Tap what you see" in text and "between 0 and 500" in text
    assert "Two vans by the gate" in text
    assert not Report.objects.exists()

    sent = client.post(
        reverse("patrol_report", args=[shift.pk]),
        {
            "activity": "school",
            "agents_count": "3",
            "vehicles_count": "2",
            "agency": "ice",
            "description": "Two vans by the gate",
        },
    )
    assert sent.status_code == 302
    assert sent["Location"] == reverse("patrol_report_done", args=[shift.pk])
    report = Report.objects.get()
    assert report.trusted and report.channel == "patrol" and report.flood_group == ""
    assert report.place_text == "Escuela Primaria Sol" and report.lat == pytest.approx(34.04)
    assert (report.agents_count, report.vehicles_count, report.agency) == (3, 2, "ice")
    assert report.reporter_member == people.lead
    done = client.get(sent["Location"]).content.decode()
    assert report.receipt in done and "Sent to the dispatchers as a trusted report" in done
    shift.refresh_from_db()
    assert shift.outcome == Shift.Outcome.ACTIVITY and shift.report_id == report.pk

    # The dispatcher's queue: the row is marked trusted ("vetted member"), from a patrol.
    queue = login(personas.dispatcher).get(reverse("console_queue"))
    assert queue.status_code == 200
    html = queue.content.decode()
    start = html.index(f'data-row="r{report.pk}"')
    row_open = html.rindex("<li", 0, start)
    row = html[row_open : html.index("</li>", start)]
    assert "row-trusted" in row and "vetted member" in row and "Patrol / member" in row
    assert report.receipt in row and "Escuela Primaria Sol" in row
    assert re.search(r"3 agents", row) and "2 vehicles" in row

    # The shift page shows the receipt to the people on it.
    assert report.receipt in client.get(reverse("patrol_shift", args=[shift.pk])).content.decode()


@pytest.mark.django_db
def test_report_page_permissions(personas, people, login, school):
    shift = make_shift(school, in_minutes=10)
    Signup.objects.create(shift=shift, member=people.lead, is_lead=True)
    url = reverse("patrol_report", args=[shift.pk])
    data = {"activity": "school"}
    # Patrol members not on the shift (of either organization) and outsiders: 403, nothing sent.
    for member in (people.walker, people.other_org, personas.outsider, personas.dispatcher):
        client = login(member)
        assert client.get(url).status_code == 403
        assert client.post(url, data).status_code == 403
    assert not Report.objects.exists()
    # A coordinator of the place's organization may file it.
    assert login(personas.coordinator).get(url).status_code == 200
    # Before the shift: back to the shift page with a message.
    later = make_shift(school, in_minutes=60 * 24)
    Signup.objects.create(shift=later, member=people.lead, is_lead=True)
    response = login(people.lead).get(reverse("patrol_report", args=[later.pk]), follow=True)
    assert "has not started yet" in " ".join(messages_of(response))
    # The receipt page without a report: back to the shift.
    response = login(people.lead).get(reverse("patrol_report_done", args=[shift.pk]))
    assert response.status_code == 302


@pytest.mark.django_db
def test_patrol_log(personas, people, login, school):
    shift = make_shift(school, in_minutes=10)
    Signup.objects.create(shift=shift, member=people.walker)
    url = reverse("patrol_log_add", args=[shift.pk])
    client = login(people.walker)
    _, said = follow_post(client, url, {"text": "Gate opened 7:20, quiet"})
    assert "in the patrol log" in said
    # Too long or empty: the page comes back with the reason and what was typed.
    long_note = "x" * 1001
    response = client.post(url, {"text": long_note})
    assert response.status_code == 400
    assert "at most 1000 characters" in response.content.decode() and long_note in (
        response.content.decode()
    )
    assert client.post(url, {"text": "   "}).status_code == 400
    assert PatrolLogEntry.objects.count() == 1

    # Coordinators of the organization read it; others in the organization, not on the shift, do not.
    assert (
        "Gate opened 7:20"
        in login(personas.coordinator)
        .get(reverse("patrol_shift", args=[shift.pk]))
        .content.decode()
    )
    for member in (people.walker2, personas.dispatcher, people.other_org):
        body = login(member).get(reverse("patrol_shift", args=[shift.pk])).content.decode()
        assert "Gate opened 7:20" not in body and 'id="log"' not in body
        assert login(member).post(url, {"text": "hi"}).status_code == 403
    assert PatrolLogEntry.objects.count() == 1


@pytest.mark.django_db
def test_pages_render_in_spanish(people, login, school):
    shift = make_shift(school, in_minutes=10)
    Signup.objects.create(shift=shift, member=people.lead, is_lead=True)
    client = login(people.lead)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    urls = (
        reverse("patrol_shifts"),
        reverse("patrol_shift", args=[shift.pk]),
        reverse("patrol_report", args=[shift.pk]),
    )
    with translation.override("es"):
        expected = [
            translation.gettext(text)
            for text in ("Patrol shifts", "Your part", "Patrol report", "Lead needed")
        ]
    assert "Turnos de patrulla" in expected
    # The middleware activates Spanish in this thread; the override puts English back after.
    with translation.override("en"):
        bodies = []
        for url in urls:
            response = client.get(url, HTTP_ACCEPT_LANGUAGE="es")
            assert response.status_code == 200
            bodies.append(response.content.decode())
            assert 'lang="es"' in bodies[-1]
    finder, page, report = bodies
    assert expected[0] in finder and expected[1] in page and expected[2] in report


@pytest.mark.django_db
def test_finder_and_shift_page_queries_do_not_grow(personas, people, login, school):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(people.walker)

    def count(url, params=None):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, params or {}).status_code == 200
        return len(queries)

    def seed(n, offset):
        for i in range(n):
            shift = make_shift(school, in_minutes=60 * (offset + 2 * i + 3))
            Signup.objects.create(shift=shift, member=people.walker2, is_lead=i % 2 == 0)
        mine = make_shift(school, in_minutes=60 * (offset + 1))
        Signup.objects.create(shift=mine, member=people.walker)
        return mine

    mine = seed(1, 0)
    near = {"lat": "34.04", "lng": "-118.21"}
    small = (count(reverse("patrol_shifts")), count(reverse("patrol_shifts"), near))
    page_small = count(reverse("patrol_shift", args=[mine.pk]))
    mine = seed(25, 10)
    PatrolLogEntry.objects.bulk_create(
        PatrolLogEntry(shift=mine, author=people.walker, text=f"note {i}") for i in range(10)
    )
    large = (count(reverse("patrol_shifts")), count(reverse("patrol_shifts"), near))
    assert small == large
    assert count(reverse("patrol_shift", args=[mine.pk])) == page_small


@pytest.mark.django_db
def test_a_newcomer_patrols_with_their_own_organization_only(personas, people, login):
    """Outside probe, session 19: a newcomer nobody had vouched for read every organization's
    patrol shift pages (school, times, "lead needed") and found them in the finder. Until
    vouched for, they see and sign up for their own organizations' shifts only."""
    own = make_shift(
        Place.objects.create(
            name="Escuela Propia", kind="school", lat=SCHOOL_AT[0], lng=SCHOOL_AT[1],
            organization=personas.org_a,
        )
    )  # fmt: skip
    other = make_shift(
        Place.objects.create(
            name="Escuela Ajena", kind="school", lat=SCHOOL_AT[0] + 0.001, lng=SCHOOL_AT[1],
            organization=personas.org_b,
        )
    )  # fmt: skip
    newcomer = people.walker  # org A, patrol role, tier New
    assert newcomer.tier == Tier.NEW
    client = login(newcomer)
    assert client.get(reverse("patrol_shift", args=[own.pk])).status_code == 200
    assert client.get(reverse("patrol_shift", args=[other.pk])).status_code == 403
    client.post(reverse("patrol_signup", args=[other.pk]))
    assert not Signup.objects.filter(shift=other).exists()
    near = client.get(
        reverse("patrol_shifts"), {"lat": SCHOOL_AT[0], "lng": SCHOOL_AT[1]}
    ).content.decode()
    assert "Escuela Propia" in near and "Escuela Ajena" not in near
    assert "Escuela Ajena" not in client.get(reverse("patrol_shifts")).content.decode()
    # Vouched for: the coalition's shifts near them, every organization's.
    newcomer.tier = Tier.VOUCHED
    newcomer.save(update_fields=["tier"])
    assert client.get(reverse("patrol_shift", args=[other.pk])).status_code == 200
    near = client.get(
        reverse("patrol_shifts"), {"lat": SCHOOL_AT[0], "lng": SCHOOL_AT[1]}
    ).content.decode()
    assert "Escuela Ajena" in near


@pytest.mark.django_db
def test_a_shift_with_its_wanted_people_says_there_is_still_room(personas, people, login, school):
    """Outside walk, session 19: "4 of 4 signed up" beside "Sign up" read as full; the shift
    takes up to 6."""
    shift = make_shift(school)
    client = login(people.lead)
    url = reverse("patrol_shift", args=[shift.pk])
    assert "data-room" not in client.get(url).content.decode()
    for i in range(4):
        member = make_member(f"room{i}", org=personas.org_a, roles=(Role.PATROL,))
        Signup.objects.create(shift=shift, member=member)
    page = client.get(url).content.decode()
    assert "4 of 4 signed up" in page and "Still room for more, up to 6 people." in page
    finder = client.get(reverse("patrol_shifts")).content.decode()
    assert "Still room for more, up to 6 people." in finder
    for i in range(4, 6):
        member = make_member(f"room{i}", org=personas.org_a, roles=(Role.PATROL,))
        Signup.objects.create(shift=shift, member=member)
    assert "data-room" not in client.get(url).content.decode()
