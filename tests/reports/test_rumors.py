"""The public rumor-check page: checked outcomes only, coarse place and hour, nothing about
reporters and never exact coordinates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.utils import translation

from vecinos.core import geo
from vecinos.network.models import Zone
from vecinos.reports import services
from vecinos.reports.models import Incident, VerificationRequest

URL = "/rumors/"
# 15:37 in Los Angeles (UTC-7 in June): shown as the hour 3 p.m. to 4 p.m.
WHEN = datetime(2025, 6, 10, 22, 37, tzinfo=UTC)
LAT, LNG = 34.0412, -118.2134  # Boyle Heights


@pytest.fixture(autouse=True)
def _fresh_zone_cache():
    services._ZONE_CACHE.clear()  # zone lookups are cached per process; tests recreate zones
    yield
    services._ZONE_CACHE.clear()


def boyle_heights() -> Zone:
    return Zone.objects.create(
        name="Boyle Heights",
        slug="boyle-heights",
        kind="neighborhood",
        cells=geo.circle_cells(LAT, LNG, 800),
        center_lat=LAT,
        center_lng=LNG,
    )


def checked_incident(personas, outcome, *, lat=LAT, lng=LNG, place="Soto St and 1st St"):
    report = services.report_submit(
        data=services.ReportInput(
            channel="web",
            activity="workplace",
            agency="ice",
            lat=lat,
            lng=lng,
            place_text=place,
            description="Agents at the car wash",
            reporter_contact="+12135550199",
        ),
        source_key_value="k",
    )
    services.report_triage(report=report, tier="verify", actor=personas.dispatcher)
    report.refresh_from_db()
    incident = report.incident
    if outcome is not None:
        request = VerificationRequest.objects.create(
            incident=incident, verifier=personas.verifier, requested_by=personas.dispatcher
        )
        incident = services.verification_outcome(request=request, outcome=outcome, notes="n")
    return incident


@pytest.mark.django_db
def test_confirmed_incident_shows_zone_and_hour_but_no_place_text_or_coordinates(client, personas):
    boyle_heights()
    with time_machine.travel(WHEN, tick=False):
        incident = checked_incident(personas, Incident.Status.CONFIRMED)
        response = client.get(URL)
    assert incident.zone is not None and incident.lat is not None
    assert response.status_code == 200
    html = response.content.decode()
    assert "Confirmed" in html
    assert "Boyle Heights" in html
    assert "June 10, 2025" in html and "3 p.m." in html and "4 p.m." in html
    assert 'datetime="2025-06-10T15:00:00-07:00"' in html
    assert "Workplace" in html and "ICE / ERO" in html
    for secret in ("Soto", "car wash", "555", "34.04", "-118.21", "3:37", "15:37", incident.cell7):
        assert secret not in html, secret


@pytest.mark.django_db
def test_incident_outside_any_zone_is_shown_as_its_coarse_cell(client, personas):
    with time_machine.travel(WHEN, tick=False):
        incident = checked_incident(personas, Incident.Status.FALSE_ALARM, lat=33.95, lng=-118.1)
        html = client.get(URL).content.decode()
    assert incident.zone is None
    assert f"area {incident.cell7}" in html
    assert incident.cell7 == geo.cell_of(33.95, -118.1, 7)
    assert "False alarm — this rumor was checked and is not true" in html
    assert "33.95" not in html


@pytest.mark.django_db
def test_unverified_and_other_outcomes_are_not_listed(client, personas):
    boyle_heights()
    with time_machine.travel(WHEN, tick=False):
        checked_incident(personas, None, place="Unchecked Place")  # still new
        checked_incident(personas, Incident.Status.UNABLE)
        checked_incident(personas, Incident.Status.NOT_ENFORCEMENT)
        html = client.get(URL).content.decode()
    assert "Boyle Heights" not in html
    assert "Nothing has been checked in the last 7 days." in html


@pytest.mark.django_db
def test_outcomes_older_than_a_week_drop_off(client, personas):
    boyle_heights()
    with time_machine.travel(WHEN, tick=False):
        checked_incident(personas, Incident.Status.CONFIRMED)
    with time_machine.travel(datetime(2025, 6, 18, 12, tzinfo=UTC), tick=False):
        html = client.get(URL).content.decode()
    assert "Boyle Heights" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es"])
def test_rumor_page_in_english_and_spanish(client, personas, language):
    with time_machine.travel(WHEN, tick=False):
        checked_incident(personas, Incident.Status.CONFIRMED)
        response = client.get(URL, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert response["Content-Language"] == language
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    with translation.override(language):
        assert translation.gettext("Rumor check") in html
        assert translation.gettext("Confirmed") in html


@pytest.mark.django_db
def test_rumor_page_is_public_and_cacheable(client, personas):
    response = client.get(URL)
    assert response.status_code == 200
    assert "max-age=60" in response["Cache-Control"]


@pytest.mark.django_db
def test_rumor_page_query_count_does_not_grow(client, personas, django_assert_max_num_queries):
    boyle_heights()
    with time_machine.travel(WHEN, tick=False):
        for _ in range(5):
            checked_incident(personas, Incident.Status.CONFIRMED)
        with django_assert_max_num_queries(2):
            assert client.get(URL).content.decode().count("Boyle Heights") == 5
