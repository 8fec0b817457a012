"""The public verified map (/map/ and /map/data.json): checked outcomes only, coarse (H3 res-7
cell or zone), delayed, filterable, in English and Spanish; never an address, an unverified
report, a verifier or a patrol."""

from __future__ import annotations

import json
from datetime import timedelta

import h3
import pytest
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from tests.conftest import make_member
from vecinos.core import geo
from vecinos.network.models import Zone
from vecinos.reports.models import Incident

pytestmark = pytest.mark.django_db

LAT, LNG = 34.041234, -118.213456  # a street corner in Boyle Heights


def incident(
    outcome, *, minutes_ago=180, activity="workplace", lat=LAT, lng=LNG, zone=None, verifier=None
):
    now = timezone.now()
    obj = Incident.objects.create(
        status=outcome or Incident.Status.NEW,
        outcome=outcome,
        activity=activity,
        agency="ice",
        lat=lat,
        lng=lng,
        cell7=geo.cell_of(lat, lng, 9),  # stored finer than public: must come out as res 7
        zone=zone,
        verified_by=verifier,
        verified_at=now - timedelta(minutes=minutes_ago) if outcome else None,
        place_summary="1st St and Soto, the car wash",
    )
    Incident.objects.filter(pk=obj.pk).update(created_at=now - timedelta(minutes=minutes_ago + 20))
    return obj


def features(client, **params):
    response = client.get("/map/data.json", params)
    assert response.status_code == 200, response.content
    return response.json()["features"]


def test_only_checked_and_delayed_outcomes_are_public(client):
    verifier = make_member("vera.verifier")
    incident(Incident.Status.CONFIRMED, verifier=verifier)
    incident(Incident.Status.FALSE_ALARM, activity="checkpoint")
    incident(Incident.Status.CONFIRMED, minutes_ago=20, activity="home")  # checked too recently
    incident(Incident.Status.UNABLE, activity="street")
    incident("", activity="school")  # never verified
    found = features(client)
    assert sorted(f["properties"]["activity"] for f in found) == ["checkpoint", "workplace"]
    raw = client.get("/map/data.json").content.decode()
    for secret in ("vera.verifier", "car wash", "Soto", str(LAT)[:7], str(LNG)[:8]):
        assert secret not in raw


def test_places_are_res7_hexagons_never_the_point(client):
    incident(Incident.Status.CONFIRMED)
    (feature,) = features(client)
    assert feature["geometry"]["type"] == "Polygon"
    cell = h3.latlng_to_cell(LAT, LNG, 7)
    assert feature["properties"]["cell"] == cell
    ring = feature["geometry"]["coordinates"][0]
    expected = {(round(b, 5), round(a, 5)) for a, b in h3.cell_to_boundary(cell)}
    assert {tuple(p) for p in ring} == expected
    assert feature["properties"]["hour"].endswith(":00:00-07:00") or feature["properties"][
        "hour"
    ].endswith(":00:00-08:00")


def test_a_zone_is_shown_by_its_name_and_centre(client):
    zone = Zone.objects.create(
        name="Boyle Heights",
        slug="bh",
        kind="neighborhood",
        cells=geo.circle_cells(LAT, LNG, 800),
        center_lat=34.04,
        center_lng=-118.21,
    )
    incident(Incident.Status.CONFIRMED, zone=zone)
    (feature,) = features(client)
    assert feature["geometry"] == {"type": "Point", "coordinates": [-118.21, 34.04]}
    assert feature["properties"]["zone"] == "Boyle Heights"
    assert feature["properties"]["cell"] == ""


def test_delay_is_a_setting_of_at_least_an_hour(client, settings):
    incident(Incident.Status.CONFIRMED, minutes_ago=150)
    settings.PUBLIC_MAP_DELAY_MINUTES = 180
    assert features(client) == []
    settings.PUBLIC_MAP_DELAY_MINUTES = 5  # below the floor: still an hour
    incident(Incident.Status.CONFIRMED, minutes_ago=30, activity="home")
    assert [f["properties"]["activity"] for f in features(client)] == ["workplace"]


def test_filters_by_outcome_activity_and_dates(client):
    incident(Incident.Status.CONFIRMED)
    incident(Incident.Status.FALSE_ALARM, activity="checkpoint")
    old = incident(Incident.Status.CONFIRMED, minutes_ago=60 * 24 * 20, activity="courthouse")
    assert [f["properties"]["activity"] for f in features(client, outcome="false_alarm")] == [
        "checkpoint"
    ]
    assert [f["properties"]["activity"] for f in features(client, activity="workplace")] == [
        "workplace"
    ]
    day = timezone.localtime(old.verified_at).date()
    history = features(client, since=day.isoformat(), until=day.isoformat())
    assert [f["properties"]["activity"] for f in history] == ["courthouse"]


def test_bad_filters_get_a_clear_message_not_a_500(client):
    response = client.get("/map/data.json", {"since": "2026-05-10", "until": "2026-05-01"})
    assert response.status_code == 400
    assert "first day must come before" in json.dumps(response.json())
    response = client.get("/map/data.json", {"since": "yesterday-ish"})
    assert response.status_code == 400
    page = client.get(
        "/map/", {"since": "2020-01-01", "until": "2026-01-01"}, HTTP_ACCEPT_LANGUAGE="es"
    )
    assert page.status_code == 400
    assert "Elija como máximo un año" in page.content.decode()


def test_page_lists_outcomes_with_feed_links_in_english_and_spanish(client):
    incident(Incident.Status.CONFIRMED)
    incident(Incident.Status.FALSE_ALARM, activity="checkpoint")
    page = client.get("/map/").content.decode()
    assert "Map of checked reports" in page
    assert "/cap/alerts.atom" in page and "/map/data.json" in page
    assert "False alarm" in page and "Workplace" in page
    assert "car wash" not in page and str(LAT)[:7] not in page
    es = client.get("/map/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Mapa de reportes verificados" in es
    assert "Falsa alarma" in es


def test_query_count_does_not_grow_with_points(client, django_assert_max_num_queries):
    zone = Zone.objects.create(
        name="Boyle Heights",
        slug="bh",
        kind="neighborhood",
        cells=geo.circle_cells(LAT, LNG, 800),
        center_lat=34.04,
        center_lng=-118.21,
    )
    for i in range(12):
        incident(Incident.Status.CONFIRMED, zone=zone if i % 2 else None, lat=LAT + i * 0.02)
    with django_assert_max_num_queries(2):
        assert len(features(client)) == 12


@pytest.mark.parametrize("code", [c for c, _name in settings.LANGUAGES if c != "en"])
def test_the_page_is_in_every_shipped_language(client, code):
    """Issue 14: "in every language". Each shipped interface language serves the map page with
    its own words (title, outcome, the feed links' text), no English left in them."""
    incident(Incident.Status.CONFIRMED)
    incident(Incident.Status.FALSE_ALARM, activity="checkpoint")
    response = client.get("/map/", HTTP_ACCEPT_LANGUAGE=code)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'lang="{code}"' in page
    with translation.override(code):
        words = [
            gettext("Map of checked reports"),
            gettext("Confirmed"),
            gettext("Public alerts (Atom, CAP)"),
            gettext("These points as data (JSON)"),
        ]
    for word in words:
        assert word in page
    for english in ("Map of checked reports", "These points as data (JSON)"):
        assert english not in page, (code, english)
