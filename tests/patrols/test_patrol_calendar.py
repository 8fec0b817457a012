"""Calendar feeds (RFC 5545): parsed back with the icalendar library.

- The organization feed: each template is one recurring VEVENT (RRULE weekly on its days, UNTIL
  when it ends), holidays and cancelled shifts are EXDATE recurrence exceptions, times carry
  TZID=America/Los_Angeles with a VTIMEZONE, no volunteer's name appears.
- The member feed: only that member's shifts, as single events.
- Revoked and unknown tokens: 410 Gone with a short text body.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
from dateutil.rrule import rrulestr
from django.urls import reverse
from django.utils import timezone, translation

from tests.conftest import make_member, sign_in
from vecinos.network.models import Role, Tier
from vecinos.patrols import services
from vecinos.patrols.models import CalendarFeed, Holiday, Place, Shift, ShiftTemplate

TZ = services.local_tz()
TZID = "America/Los_Angeles"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ)


def next_monday(after: date) -> date:
    return after + timedelta(days=7 - after.weekday())


@pytest.fixture
def places(personas):
    school = Place.objects.create(
        name="Escuela Primaria Sol",
        kind="school",
        lat=34.04,
        lng=-118.21,
        organization=personas.org_a,
        notes="Secret gate code 1234",
    )
    corner = Place.objects.create(
        name="Esquina Bahía", kind="corner", lat=34.06, lng=-118.25, organization=personas.org_b
    )
    return school, corner


@pytest.fixture
def patrollers(personas):
    return [
        make_member(
            f"walker{i}",
            org=personas.org_a,
            roles=(Role.PATROL,),
            tier=Tier.TRAINED if i == 0 else Tier.VOUCHED,
            full_name=f"Walker Number{i}",
            phone=f"+1213555018{i}",
        )
        for i in range(3)
    ]


def fetch(client, token: str):
    return client.get(reverse("patrol_feed", args=[token]))


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content)


def events(cal: icalendar.Calendar) -> list[icalendar.Event]:
    return list(cal.walk("VEVENT"))


def assert_la(prop) -> datetime:
    """A DTSTART/EXDATE-like value written with TZID=America/Los_Angeles."""
    assert prop.params.get("TZID") == TZID
    value = prop.dt
    assert isinstance(value, datetime) and str(value.tzinfo) == TZID
    return value


def test_first_occurrence_is_on_a_rule_day():
    from vecinos.patrols.calendar import first_occurrence

    template = ShiftTemplate(weekdays=[2, 4], active_from=date(2026, 12, 7))  # a Monday
    assert first_occurrence(template) == date(2026, 12, 9)
    template.active_until = date(2026, 12, 8)
    assert first_occurrence(template) is None


@pytest.mark.django_db
def test_org_feed_recurring_events_with_holiday_exceptions(client, personas, places, patrollers):
    school, corner = places
    monday = next_monday(timezone.localdate())
    until = monday + timedelta(weeks=6, days=4)  # a Friday
    morning = services.template_create(
        actor=personas.coordinator,
        place=school,
        weekdays=[0, 1, 2, 3, 4],
        start_time=time(7, 15),
        end_time=time(8, 15),
        active_from=monday,
        active_until=until,
    )
    afternoon = services.template_create(
        actor=personas.coordinator,
        place=school,
        weekdays=[0, 2, 4],
        start_time=time(14, 30),
        end_time=time(15, 30),
        active_from=monday,
    )
    services.template_create(
        actor=personas.outsider,
        place=corner,
        weekdays=[5],
        start_time=time(6, 0),
        end_time=time(9, 0),
        active_from=monday,
    )
    services.generate_shifts(weeks=2, start=monday)
    # A holiday on the first Wednesday (org A), one for org B only, a cancelled Thursday.
    wednesday, thursday = monday + timedelta(days=2), monday + timedelta(days=3)
    services.holiday_add(
        actor=personas.coordinator,
        day=wednesday,
        name="Teacher training day",
        organization_id=personas.org_a.pk,
    )
    Holiday.objects.create(
        date=monday + timedelta(days=1), name="B only", organization=personas.org_b
    )
    thursday_morning = Shift.objects.get(place=school, starts_at=at(thursday, 7, 15))
    services.shift_cancel(shift=thursday_morning, reason="Field trip")
    # Sign-ups: the feed shows counts, never names.
    tuesday_morning = Shift.objects.get(
        place=school, starts_at=at(monday + timedelta(days=1), 7, 15)
    )
    services.signup(shift=tuesday_morning, member=patrollers[0], lead=True)
    services.signup(shift=tuesday_morning, member=patrollers[1])
    # A one-off shift without a template.
    loose_day = monday + timedelta(days=5)
    loose = Shift.objects.create(
        place=school, starts_at=at(loose_day, 10), ends_at=at(loose_day, 12)
    )

    token = services.feed_create(member=personas.coordinator, organization_id=personas.org_a.pk)
    response = fetch(client, token)  # no sign-in: the token is the credential
    cal = parse(response)
    body = response.content.decode()

    # Time zone: a VTIMEZONE for every TZID used.
    zones = [tz["TZID"] for tz in cal.walk("VTIMEZONE")]
    assert zones == [TZID]
    assert not cal.get_missing_tzids()

    by_uid: dict[str, list[icalendar.Event]] = {}
    for event in events(cal):
        by_uid.setdefault(str(event["UID"]), []).append(event)
    morning_uid = next(u for u in by_uid if u.startswith(f"template-{morning.pk}@"))
    master = next(e for e in by_uid[morning_uid] if "RECURRENCE-ID" not in e)
    # Org A serves Spanish first: its calendar speaks Spanish.
    with translation.override("es"):
        summary = translation.gettext("Patrol: %(place)s") % {"place": "Escuela Primaria Sol"}
    assert str(master["SUMMARY"]) == summary
    start = assert_la(master["DTSTART"])
    assert (start.date(), start.hour, start.minute) == (monday, 7, 15)
    end = assert_la(master["DTEND"])
    assert (end.hour, end.minute) == (8, 15)
    rule = master["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"]
    assert rule["BYDAY"] == ["MO", "TU", "WE", "TH", "FR"]
    (until_value,) = rule["UNTIL"]
    assert until_value == at(until, 7, 15).astimezone(UTC)  # UTC, as RFC 5545 requires

    exdates = [assert_la(prop_value) for prop_value in _exdate_values(master)]
    assert at(wednesday, 7, 15) in exdates  # the holiday
    assert at(thursday, 7, 15) in exdates  # the cancelled shift
    assert at(monday + timedelta(days=1), 7, 15) not in exdates  # org B's holiday: not ours

    # Expanding the rule minus the exceptions: the holiday is gone, ordinary days stay.
    occurrences = set(rrulestr(rule.to_ical().decode(), dtstart=start)) - set(exdates)
    assert at(wednesday, 7, 15) not in occurrences
    assert at(thursday, 7, 15) not in occurrences
    assert at(monday, 7, 15) in occurrences
    assert at(until, 7, 15) in occurrences
    assert max(occurrences) == at(until, 7, 15)
    # Across the daylight-saving change the local time stays 7:15.
    assert {(o.hour, o.minute) for o in occurrences} == {(7, 15)}

    # The coming generated shifts carry counts in an override of the same UID.
    overrides = [e for e in by_uid[morning_uid] if "RECURRENCE-ID" in e]
    tuesday_override = next(
        e
        for e in overrides
        if assert_la(e["RECURRENCE-ID"]) == at(monday + timedelta(days=1), 7, 15)
    )
    with translation.override("es"):
        signed = translation.gettext("%(signed)s signed up (minimum %(min)s, ideally %(ideal)s).")
    assert str(tuesday_override["DESCRIPTION"]) == signed % {"signed": 2, "min": 2, "ideal": 4}
    assert all(assert_la(e["RECURRENCE-ID"]) not in exdates for e in overrides)

    # The open-ended template: RRULE without UNTIL, on Mon/Wed/Fri, same holiday excluded.
    afternoon_uid = next(u for u in by_uid if u.startswith(f"template-{afternoon.pk}@"))
    master2 = next(e for e in by_uid[afternoon_uid] if "RECURRENCE-ID" not in e)
    assert master2["RRULE"]["BYDAY"] == ["MO", "WE", "FR"]
    assert "UNTIL" not in master2["RRULE"]
    assert at(wednesday, 14, 30) in [assert_la(v) for v in _exdate_values(master2)]

    # The shift without a template: a single event.
    (single,) = by_uid[f"shift-{loose.pk}@{morning_uid.split('@', 1)[1]}"]
    assert "RRULE" not in single
    assert assert_la(single["DTSTART"]) == at(loose_day, 10)

    # Only org A's places, and no personal data.
    assert "Esquina Bahía" not in body
    for person in patrollers:
        assert person.username not in body and person.full_name not in body
    assert "Secret gate code" not in body

    # Stable UIDs: a second fetch gives the same ones.
    again = {str(e["UID"]) for e in events(parse(fetch(client, token)))}
    assert again == set(by_uid)


def _exdate_values(event: icalendar.Event):
    """Each EXDATE value as a property with its params (EXDATE may repeat or hold a list)."""
    raw = event.get("EXDATE")
    if raw is None:
        return []
    lists = raw if isinstance(raw, list) else [raw]
    values = []
    for item in lists:
        for value in item.dts:
            value.params = item.params
            values.append(value)
    return values


@pytest.mark.django_db
def test_member_feed_has_only_their_shifts(client, personas, places, patrollers):
    school, corner = places
    day = timezone.localdate() + timedelta(days=3)
    mine_a = Shift.objects.create(place=school, starts_at=at(day, 7, 15), ends_at=at(day, 8, 15))
    mine_b = Shift.objects.create(place=corner, starts_at=at(day, 10), ends_at=at(day, 12))
    theirs = Shift.objects.create(place=school, starts_at=at(day, 14, 30), ends_at=at(day, 15, 30))
    cancelled = Shift.objects.create(
        place=school,
        starts_at=at(day + timedelta(days=1), 7, 15),
        ends_at=at(day + timedelta(days=1), 8, 15),
    )
    me, other = patrollers[0], patrollers[1]
    me.preferred_language = "en"
    me.save(update_fields=["preferred_language"])
    services.signup(shift=mine_a, member=me, lead=True)
    services.signup(shift=mine_b, member=me)
    services.signup(shift=cancelled, member=me)
    services.signup(shift=mine_a, member=other)
    services.signup(shift=theirs, member=other)
    services.shift_cancel(shift=cancelled, reason="Holiday")

    token = services.feed_create(member=me)
    response = fetch(client, token)
    cal = parse(response)
    body = response.content.decode()
    found = {str(e["UID"]).split("@")[0]: e for e in events(cal)}
    assert set(found) == {f"shift-{mine_a.pk}", f"shift-{mine_b.pk}", f"shift-{cancelled.pk}"}
    first = found[f"shift-{mine_a.pk}"]
    assert str(first["SUMMARY"]) == "Patrol: Escuela Primaria Sol"
    start = assert_la(first["DTSTART"])
    assert (start.date(), start.hour, start.minute) == (day, 7, 15)
    assert "lead" in str(first["DESCRIPTION"])
    assert "RRULE" not in first
    assert str(found[f"shift-{cancelled.pk}"]["STATUS"]) == "CANCELLED"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == [TZID]
    # Nothing about other people.
    assert other.username not in body and other.full_name not in body
    assert "Walker" not in body and "Secret gate code" not in body

    # Their feed is theirs alone.
    other_token = services.feed_create(member=other)
    other_uids = {str(e["UID"]).split("@")[0] for e in events(parse(fetch(client, other_token)))}
    assert other_uids == {f"shift-{mine_a.pk}", f"shift-{theirs.pk}"}


@pytest.mark.django_db
def test_revoked_and_unknown_tokens_are_gone(client, personas, patrollers):
    me = patrollers[0]
    token = services.feed_create(member=me)
    assert fetch(client, token).status_code == 200
    feed = CalendarFeed.objects.get(member=me)
    services.feed_revoke(member=me, feed=feed)
    response = fetch(client, token)
    assert response.status_code == 410
    assert response["Content-Type"].startswith("text/plain")
    assert "no longer works" in response.content.decode()
    assert len(response.content) < 300
    assert fetch(client, "not-a-real-token-at-all-0000").status_code == 410
    assert fetch(client, "x").status_code == 410
    assert client.post(reverse("patrol_feed", args=[token])).status_code == 405
    # A deactivated member's link stops too.
    live = services.feed_create(member=me)
    me.is_active = False
    me.save(update_fields=["is_active"])
    assert fetch(client, live).status_code == 410


@pytest.mark.django_db
def test_a_volunteers_shifts_page_links_to_their_calendar_link(client, personas):
    sign_in(client, personas.newcomer)
    shifts = client.get(reverse("patrol_shifts")).content.decode()
    assert f'href="{reverse("patrol_calendar")}" data-calendar-link' in shifts


@pytest.mark.django_db
def test_calendar_page_shows_link_once_and_replaces_it(client, personas):
    sign_in(client, personas.newcomer)
    response = client.post(reverse("patrol_calendar"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "It will not be shown again." in body
    url = response.context["issued"]["url"]
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert url in body and fetch(client, token).status_code == 200
    assert token not in client.get(reverse("patrol_calendar")).content.decode()
    # A new link turns the old one off.
    newer = client.post(reverse("patrol_calendar")).context["issued"]["url"]
    newer_token = newer.rsplit("/", 1)[1].removesuffix(".ics")
    assert fetch(client, token).status_code == 410
    assert fetch(client, newer_token).status_code == 200
    # Turning it off from the page.
    feed = CalendarFeed.objects.get(member=personas.newcomer, revoked_at__isnull=True)
    client.post(reverse("patrol_calendar_revoke", args=[feed.pk]))
    assert fetch(client, newer_token).status_code == 410


@pytest.mark.django_db
def test_org_links_only_for_its_coordinators(client, personas):
    sign_in(client, personas.outsider)
    response = client.post(reverse("patrol_calendar"), {"organization": personas.org_a.pk})
    assert response.status_code == 403
    assert not CalendarFeed.objects.filter(organization=personas.org_a).exists()
    response = client.post(reverse("patrol_calendar"), {"organization": personas.org_b.pk})
    assert response.status_code == 200
    assert CalendarFeed.objects.filter(organization=personas.org_b, revoked_at=None).count() == 1
    # Another coordinator of org B's link cannot be turned off by org A's coordinator.
    feed = CalendarFeed.objects.get(organization=personas.org_b)
    sign_in(client, personas.coordinator)
    assert client.post(reverse("patrol_calendar_revoke", args=[feed.pk])).status_code == 403
    assert client.post(reverse("patrol_calendar"), {"organization": "abc"}).status_code == 302
    feed.refresh_from_db()
    assert feed.revoked_at is None


@pytest.mark.django_db
def test_feed_rule_matches_the_generated_shifts(client, personas, places):
    """Expanding the feed's RRULE minus its EXDATEs gives exactly the shifts Vecinos generated,
    the template's last day included."""
    school, _corner = places
    monday = next_monday(timezone.localdate())
    template = services.template_create(
        actor=personas.coordinator,
        place=school,
        weekdays=[0, 2, 3],
        start_time=time(14, 30),
        end_time=time(15, 30),
        active_from=monday,
        active_until=monday + timedelta(days=9),  # the second Wednesday
    )
    Holiday.objects.create(date=monday + timedelta(days=3), name="Thursday off")
    services.generate_shifts(weeks=3, start=monday)
    generated = {
        timezone.localtime(s, TZ)
        for s in Shift.objects.filter(template=template).values_list("starts_at", flat=True)
    }
    assert at(monday + timedelta(days=9), 14, 30) in generated  # the last day counts
    assert len(generated) == 4  # Mon, Wed, (Thu off), Mon, Wed
    token = services.feed_create(member=personas.coordinator, organization_id=personas.org_a.pk)
    (master,) = [
        e
        for e in events(parse(fetch(client, token)))
        if str(e["UID"]).startswith(f"template-{template.pk}@") and "RECURRENCE-ID" not in e
    ]
    start = assert_la(master["DTSTART"])
    expanded = set(rrulestr(master["RRULE"].to_ical().decode(), dtstart=start))
    expanded -= {assert_la(v) for v in _exdate_values(master)}
    assert expanded == generated
