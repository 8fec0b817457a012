"""Flood signals: a burst from one source or one small area is grouped so it cannot bury other
reports; reports of vouched members are never flagged; banned sources are refused."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from tests.conftest import make_member, sign_in
from vecinos.core import geo
from vecinos.network.models import Tier
from vecinos.reports import services
from vecinos.reports.models import BannedSource, Report

URL = "/report/"
# Midday UTC: source keys rotate at midnight UTC, and rate windows must not roll over mid-test.
NOON = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def random_ip() -> str:
    return "10.{}.{}.{}".format(*(secrets.randbelow(254) + 1 for _ in range(3)))


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.REPORT_RATE_LIMIT = 100
    settings.FLOOD_SOURCE_THRESHOLD = 4
    settings.FLOOD_AREA_THRESHOLD = 5
    settings.FLOOD_WINDOW_SECONDS = 600


def web_report(client: Client, *, lat=34.0412, lng=-118.2134, text="Agents at the corner"):
    response = client.post(
        URL, {"activity": "street", "lat": str(lat), "lng": str(lng), "place_text": text}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return Report.objects.order_by("-id").first()


@pytest.mark.django_db
def test_burst_from_one_source_is_grouped():
    flooder = Client(REMOTE_ADDR=random_ip())
    neighbor = Client(REMOTE_ADDR=random_ip())
    with time_machine.travel(NOON, tick=False):
        honest = web_report(neighbor, lat=34.1, lng=-118.3)
        burst = [web_report(flooder, lat=34.0 + i / 100, lng=-118.2) for i in range(5)]
    groups = set(
        Report.objects.filter(pk__in=[r.pk for r in burst]).values_list("flood_group", flat=True)
    )
    assert len(groups) == 1
    (group,) = groups
    assert group.startswith("source:")
    honest.refresh_from_db()
    assert honest.flood_group == ""


@pytest.mark.django_db
def test_reports_spread_out_in_time_are_not_a_burst():
    source = Client(REMOTE_ADDR=random_ip())
    with time_machine.travel(NOON, tick=False):
        for _ in range(3):
            web_report(source)
    with time_machine.travel(NOON + timedelta(minutes=11), tick=False):
        web_report(source)
    assert not Report.objects.exclude(flood_group="").exists()


@pytest.mark.django_db
def test_burst_in_one_small_area_is_grouped():
    # Five different connections, all inside one H3 res-7 cell (about 5 km²).
    with time_machine.travel(NOON, tick=False):
        elsewhere = web_report(Client(REMOTE_ADDR=random_ip()), lat=33.95, lng=-118.1)
        burst = [
            web_report(Client(REMOTE_ADDR=random_ip()), lat=34.0412 + i / 10000, lng=-118.2134)
            for i in range(5)
        ]
    cell = geo.cell_of(34.0412, -118.2134, 7)
    assert {r.cell7 for r in burst} == {cell}
    groups = set(
        Report.objects.filter(pk__in=[r.pk for r in burst[1:]]).values_list(
            "flood_group", flat=True
        )
    )
    assert groups == {f"area:{cell}"}
    # The area's first report came before the burst: it is never folded away.
    burst[0].refresh_from_db()
    assert burst[0].flood_group == ""
    elsewhere.refresh_from_db()
    assert elsewhere.flood_group == ""


@pytest.mark.django_db
def test_vouched_members_reports_are_never_flood_flagged(personas):
    neighbor = make_member("neighbor", tier=Tier.VOUCHED)
    member_client = sign_in(Client(REMOTE_ADDR=random_ip()), neighbor)
    with time_machine.travel(NOON, tick=False):
        reports = [web_report(member_client) for _ in range(6)]
        # Anonymous reports in the same area around them are still grouped among themselves.
        for _ in range(5):
            web_report(Client(REMOTE_ADDR=random_ip()))
    mine = Report.objects.filter(pk__in=[r.pk for r in reports])
    assert all(r.trusted for r in mine)
    assert set(mine.values_list("flood_group", flat=True)) == {""}
    # (all but the first of them: it came before the burst)
    assert Report.objects.filter(trusted=False).exclude(flood_group="").count() == 4


@pytest.mark.django_db
def test_banned_web_source_is_refused_with_429(personas):
    ip = random_ip()
    source = Client(REMOTE_ADDR=ip)
    with time_machine.travel(NOON, tick=False):
        report = web_report(source)
        ban = services.ban_source(report=report, actor=personas.dispatcher, reason="flood")
        assert ban is not None and ip not in ban.key  # a hash, never the address
        response = source.post(URL, {"activity": "street", "place_text": "again"})
        assert response.status_code == 429
        # The same answer as a rate limit: a flooder cannot tell it was banned.
        assert "Too many reports from this connection" in response.content.decode()
        api = source.post(
            "/api/v1/reports",
            json.dumps({"place_text": "again", "activity": "street"}),
            content_type="application/json",
        )
        assert api.status_code == 429
        # Another connection is not affected.
        assert web_report(Client(REMOTE_ADDR=random_ip())).pk
    assert Report.objects.count() == 2
    assert BannedSource.objects.count() == 1


@pytest.mark.django_db
def test_web_ban_expires(personas):
    ip = random_ip()
    source = Client(REMOTE_ADDR=ip)
    with time_machine.travel(NOON, tick=False):
        services.ban_source(report=web_report(source), actor=personas.dispatcher)
        assert source.post(URL, {"place_text": "x", "activity": "street"}).status_code == 429
    with time_machine.travel(NOON + timedelta(days=1, minutes=1), tick=False):
        assert source.post(URL, {"place_text": "x", "activity": "street"}).status_code == 302
