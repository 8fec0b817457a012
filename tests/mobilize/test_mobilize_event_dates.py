"""An event's dates through the coordinator's form and the public page (outside walk: a year-0001
start was accepted, and a two-day event read as two hours on one day; the page listed its
languages as codes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import dateformat, timezone, translation

from tests.conftest import sign_in
from tests.mobilize.test_mobilize_events import rally
from vecinos.mobilize.models import Event

pytestmark = pytest.mark.django_db


def _post(client, personas, starts_at: str, ends_at: str):
    return client.post(
        "/events/new/",
        {
            "kind": "rally",
            "title_en": "Rally",
            "place": "Plaza",
            "public": "on",
            "starts_at": starts_at,
            "ends_at": ends_at,
            "organization": personas.org_a.pk,
        },  # fmt: skip
        HTTP_ACCEPT_LANGUAGE="en",
    )


@pytest.mark.parametrize(
    ("start", "end", "field_error"),
    [
        ("0001-01-01T00:00", "0001-01-01T12:00", "Choose a start between a year ago and two years"),
        ("9999-01-01T10:00", "9999-01-01T12:00", "Choose a start between a year ago and two years"),
        (None, "+40d", "An event lasts at most 31 days."),
    ],
)
def test_a_slip_in_the_dates_is_refused_with_a_message(client, personas, start, end, field_error):
    sign_in(client, personas.coordinator)
    soon = timezone.localtime() + timedelta(days=2)
    starts = start or soon.strftime("%Y-%m-%dT%H:%M")
    ends = (soon + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M") if end == "+40d" else end
    page = _post(client, personas, starts, ends)
    assert page.status_code == 200
    assert field_error in page.content.decode()
    assert not Event.objects.exists()
    # The same form with sane dates goes through.
    ok = _post(
        client,
        personas,
        soon.strftime("%Y-%m-%dT%H:%M"),
        (soon + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    )
    assert ok.status_code == 302 and Event.objects.count() == 1


def _when(client, event: Event) -> str:
    page = client.get(f"/events/{event.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    return page.split("When</dt><dd>", 1)[1].split("</dd>", 1)[0]


def _day(when) -> str:
    with translation.override("en"):
        return dateformat.format(timezone.localtime(when), "N j, Y")


def test_an_event_over_two_days_shows_the_day_it_ends(client, personas):
    start = timezone.localtime().replace(hour=10, minute=0) + timedelta(days=3)
    event = rally(personas)
    event.starts_at, event.ends_at = start, start + timedelta(days=1, hours=2)
    event.save(update_fields=["starts_at", "ends_at"])
    when = _when(client, event)
    assert _day(event.starts_at) in when and _day(event.ends_at) in when, when
    # On one day: the day once, then the hours.
    event.ends_at = start + timedelta(hours=2)
    event.save(update_fields=["ends_at"])
    when = _when(client, event)
    assert when.count(_day(event.starts_at)) == 1 and when.count(",") == 2, when


def test_the_public_page_names_the_events_languages(client, personas):
    event = rally(personas, languages=["es", "en", "ko"])
    page = client.get(f"/events/{event.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span lang="es">Español</span>' in page
    assert '<span lang="ko">한국어</span>' in page
    assert "es, en" not in page


def test_a_call_out_due_another_day_shows_that_day(client, personas):
    from tests.mobilize.test_mobilize_callouts import callout

    activation = callout(personas)
    sign_in(client, personas.dispatcher)

    def needed_by() -> str:
        page = client.get(f"/mobilize/{activation.pk}/", HTTP_ACCEPT_LANGUAGE="en")
        return page.content.decode().split("Needed by", 1)[1].split("</p>", 1)[0]

    soon = timezone.localtime(activation.needed_by)
    if soon.date() == timezone.localdate():  # due today: the time alone
        assert needed_by().strip() == soon.strftime("%H:%M")
    activation.needed_by = timezone.now() + timedelta(days=3)
    activation.save(update_fields=["needed_by"])
    with translation.override("en"):
        day = dateformat.format(timezone.localtime(activation.needed_by), "m/d/Y")
    assert day in needed_by()
