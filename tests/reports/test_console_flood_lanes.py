"""A distributed flood must not push a genuine report off the dispatcher console: the queue
shows its total and pages, vetted members' reports have a lane of their own, a report that came
before an area burst is never folded into it, and a coalition-wide surge of anonymous reports
is announced."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.conftest import make_member, sign_in
from vecinos.core import geo
from vecinos.network.models import Tier
from vecinos.reports import selectors
from vecinos.reports.models import Report

# Midday UTC: source keys rotate at midnight UTC, rate windows must not roll over mid-test.
NOON = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.REPORT_RATE_LIMIT = 100
    settings.FLOOD_SOURCE_THRESHOLD = 4
    settings.FLOOD_AREA_THRESHOLD = 15
    settings.FLOOD_WINDOW_SECONDS = 600
    settings.SURGE_MIN_REPORTS = 30


def api_report(n: int, *, lat: float, lng: float, client: Client | None = None) -> str:
    """One anonymous report through the public API from its own address; its receipt."""
    client = client or Client(REMOTE_ADDR=f"10.{n // 250 % 250}.{n % 250}.{n % 7 + 1}")
    body = {"activity": "street", "lat": lat, "lng": lng, "place_text": f"Corner {n}"}
    response = client.post("/api/v1/reports", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["receipt"]


def spread(n: int) -> tuple[float, float]:
    # 110 different res-7 cells across the region: no area flood for any of them.
    return 33.7 + (n % 11) * 0.05, -118.5 + (n // 11) * 0.05


def fake_flood(count: int = 110, start: int = 1000) -> None:
    for n in range(start, start + count):
        api_report(n, lat=spread(n)[0], lng=spread(n)[1])


def receipts(html: str) -> set[str]:
    return set(re.findall(r'<span class="receipt" translate="no">([^<]+)</span>', html))


@pytest.mark.django_db
def test_genuine_report_before_a_distributed_flood_stays_reachable(personas, login):
    with time_machine.travel(NOON, tick=False):
        genuine = api_report(1, lat=34.0412, lng=-118.2134)
        fake_flood()
        client = login(personas.dispatcher)
        first = client.get(reverse("console")).content.decode()
        second = client.get(reverse("console") + "?page=2").content.decode()
        live = client.get(reverse("console_queue") + "?page=2", **HX).content.decode()
    assert not Report.objects.exclude(flood_group="").exists()  # nothing to group: many cells
    # The total is shown, and that there are more than the page shows.
    assert '<span class="count" data-total>111</span>' in first
    assert "Showing 1–100 of 111, newest first." in first
    assert 'href="/console/?page=2" rel="next"' in first
    assert genuine not in receipts(first)
    # The next page has it, and its live refresh stays on that page.
    assert genuine in receipts(second)
    assert "Showing 101–111 of 111, newest first." in second
    assert 'hx-get="/console/queue/?page=2"' in second
    assert genuine in receipts(live)
    assert len(receipts(live)) == 11


@pytest.mark.django_db
def test_vetted_members_report_keeps_its_own_lane_through_a_flood(personas, login):
    neighbor = make_member("neighbor", tier=Tier.VOUCHED)
    member = sign_in(Client(REMOTE_ADDR="10.9.9.9"), neighbor)
    with time_machine.travel(NOON, tick=False):
        vetted = api_report(1, lat=34.0412, lng=-118.2134, client=member)
        fake_flood()
        html = login(personas.dispatcher).get(reverse("console")).content.decode()
    assert Report.objects.get(receipt=vetted).trusted
    lane = html.split('id="col-trusted"', 1)[1].split('id="col-reports"', 1)[0]
    assert vetted in receipts(lane)
    assert receipts(lane) == {vetted}


@pytest.mark.django_db
def test_trolls_in_one_cell_do_not_fold_an_earlier_genuine_report(personas, login):
    lat, lng = 34.0412, -118.2134
    with time_machine.travel(NOON, tick=False) as clock:
        genuine = api_report(1, lat=lat, lng=lng)
        clock.shift(timedelta(minutes=2))
        trolls = [api_report(100 + n, lat=lat + n / 100000, lng=lng) for n in range(15)]
        html = login(personas.dispatcher).get(reverse("console")).content.decode()
    cell = geo.cell_of(lat, lng, 7)
    assert Report.objects.get(receipt=genuine).flood_group == ""
    folded = set(
        Report.objects.filter(flood_group=f"area:{cell}").values_list("receipt", flat=True)
    )
    assert folded == set(trolls)
    main, flood = html.split('<details class="flood"', 1)
    assert genuine in receipts(main)
    assert genuine not in receipts(flood)
    assert set(trolls) <= receipts(flood)


@pytest.mark.django_db
def test_surge_across_many_sources_is_announced(personas, login):
    with time_machine.travel(NOON, tick=False):
        fake_flood(40)
        html = login(personas.dispatcher).get(reverse("console")).content.decode()
    assert "Surge of anonymous reports" in html
    assert "40 anonymous reports in the last 10 minutes, from 40 different connections" in html
    surge = selectors.anonymous_surge(NOON)
    assert surge is not None and (surge.reports, surge.sources) == (40, 40)


@pytest.mark.django_db
def test_ordinary_traffic_is_not_a_surge(personas, login):
    # A busy but steady evening: 40 reports every 10 minutes for two hours, then 45.
    n = 0
    for step in range(12, 0, -1):
        with time_machine.travel(NOON - timedelta(minutes=10 * step), tick=False):
            for _ in range(40):
                n += 1
                api_report(n, lat=spread(n)[0], lng=spread(n)[1])
    with time_machine.travel(NOON, tick=False):
        fake_flood(45, start=5000)
        assert selectors.anonymous_surge() is None
        html = login(personas.dispatcher).get(reverse("console")).content.decode()
    assert "Surge of anonymous reports" not in html


@pytest.mark.django_db
def test_surge_notice_is_translated(personas, login):
    with time_machine.travel(NOON, tick=False):
        fake_flood(30)
        client = login(personas.dispatcher)
        html = client.get(reverse("console"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Oleada de reportes anónimos" in html


@pytest.mark.django_db
def test_a_page_past_the_end_shows_the_last_page(personas, login):
    with time_machine.travel(NOON, tick=False):
        api_report(1, lat=34.0412, lng=-118.2134)
        client = login(personas.dispatcher)
        for page in ("99", "nonsense", "-3"):
            response = client.get(reverse("console") + f"?page={page}")
            assert response.status_code == 200
            assert len(receipts(response.content.decode())) == 1


@pytest.mark.django_db
def test_queue_totals_stay_right_while_an_incident_is_open(personas, login):
    # The open incidents' request counts once overwrote the queue's totals (both were named
    # "counts"): with any incident open the console said 0 new reports and hid the pager.
    from vecinos.reports import services

    with time_machine.travel(NOON, tick=False):
        first = api_report(1, lat=34.0412, lng=-118.2134)
        for n in range(2, 5):
            api_report(n, lat=spread(n)[0], lng=spread(n)[1])
        services.incident_open(report=Report.objects.get(receipt=first), actor=personas.dispatcher)
        html = login(personas.dispatcher).get(reverse("console")).content.decode()
        total = selectors.queue_counts()["open"]
    assert total >= 3
    assert f'<span class="count" data-total>{total}</span>' in html
