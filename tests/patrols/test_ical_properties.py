"""iCalendar writers (patrols/calendar.py, the events feed): any name a coordinator types keeps
the feed readable. A calendar app that cannot parse a feed drops every shift in it, silently."""

from __future__ import annotations

import itertools
from datetime import time, timedelta

import icalendar
import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecinos.mobilize import events
from vecinos.network.models import Organization
from vecinos.patrols import calendar
from vecinos.patrols.models import Place, ShiftTemplate

_seq = itertools.count(1)
# What people type into a name field, line breaks and tabs included (pasted from a document).
_letters = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12
)
names = (
    st.lists(
        st.one_of(_letters, st.sampled_from(["\n", "\r\n", "\r", "\t", " ; ", ","])),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .filter(lambda s: s.strip())
)
db_examples = settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])


def newlines(text: str) -> str:
    # iCalendar text has one kind of line break; a CR typed into a field comes back as LF.
    # RFC 5545 writes a line break as "\n" or "\N", and the icalendar library (documented in
    # its _escape_char) reads a backslash-N typed into a field as that line break too: a
    # random place name found it in CI ("M=쎧\NÕĢ"). Nobody types that into a place name.
    return text.replace("\\N", "\n").replace("\r\n", "\n").replace("\r", "\n")


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


@pytest.mark.django_db
@db_examples
@given(org_name=names, place_name=names)
def test_an_organizations_feed_parses_whatever_its_names_hold(org_name, place_name):
    k = next(_seq)
    org = Organization.objects.create(
        name=f"{org_name}{k}", short_name=f"ical-{k}", languages=["en"]
    )
    place = Place.objects.create(
        name=place_name, kind="school", lat=34.05, lng=-118.25, organization=org
    )
    ShiftTemplate.objects.create(
        place=place,
        weekdays=[0, 2, 4],
        start_time=time(7, 15),
        end_time=time(8, 15),
        active_from=timezone.localdate(),
    )
    cal = parse(calendar.org_calendar(org))
    # The calendar's name is one line: line breaks in the organization's name become spaces.
    assert str(cal["X-WR-CALNAME"]) == f"Patrols of {' '.join(org.name.split())} (Vecinos)"
    (event,) = cal.walk("VEVENT")
    assert str(event["LOCATION"]) == newlines(place_name)


def test_an_organization_with_a_line_break_in_its_name_keeps_its_feed(db):
    org = Organization.objects.create(name="Unión del\nBarrio", short_name="udb", languages=["es"])
    cal = parse(calendar.org_calendar(org))
    assert str(cal["X-WR-CALNAME"]) == "Patrullas de Unión del Barrio (Vecinos)"


@pytest.mark.django_db
@db_examples  # a form never stores NUL (Django refuses it), and PostgreSQL cannot
@given(
    title=names,
    place=names,
    description=st.text(st.characters(blacklist_characters="\x00"), max_size=200),
)
def test_the_public_events_feed_parses_and_keeps_each_text(
    client, personas, title, place, description
):
    start = timezone.now() + timedelta(days=2)
    event = events.event_create(
        actor=personas.coordinator,
        organization=personas.org_a,
        kind="rally",
        titles={"en": title},
        descriptions={"en": description},
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place=place,
    )
    response = client.get("/events/feed.ics", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    (item,) = parse(response.content).walk("VEVENT")
    assert str(item["SUMMARY"]) == newlines(event.title("en"))
    assert str(item["LOCATION"]) == newlines(event.place)
    event.delete()  # the next example's feed holds its own event
