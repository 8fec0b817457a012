"""The dispatchers' coverage map builds its tooltips and popups from text: a patrol place's
name is user input, and markup in it must show as characters, never become elements."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import browser_sign_in, make_member
from vecinos.network.models import Organization, Role, Tier
from vecinos.patrols.models import Place, Shift
from vecinos.patrols.services import local_tz

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVIL = '<img src="x" id="injected" onerror="window.__pwned=1">Escuela'


def test_place_name_with_markup_shows_as_text_in_the_coverage_tooltip(live_server, new_page):
    base = live_server.url
    org = Organization.objects.create(name="Vecinos de Boyle Heights", short_name="boyle")
    coordinator = make_member(
        "coord.ana", org=org, roles=(Role.ORG_COORDINATOR,), tier=Tier.TRAINED, phone="+12135550131"
    )
    device = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    place = Place.objects.create(name=EVIL, kind="school", lat=34.04, lng=-118.21, organization=org)
    # A shift later today, local time, whatever the hour the test runs: the map shows today's
    # shifts, and an hour from now is tomorrow in the last hour of the day.
    tomorrow = datetime.combine(timezone.localdate() + timedelta(days=1), time.min, local_tz())
    start = min(timezone.now() + timedelta(hours=1), tomorrow - timedelta(minutes=5))
    Shift.objects.create(place=place, starts_at=start, ends_at=start + timedelta(hours=1))

    page = new_page()
    browser_sign_in(page, base, "coord.ana", device, to="/patrols/coverage/")
    marker = page.locator("#coverage-map path.cov-marker").first
    marker.wait_for()
    marker.hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert EVIL in tooltip.inner_text()
    assert page.locator("#injected").count() == 0
    marker.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert EVIL in popup.inner_text()
    assert page.locator("#injected").count() == 0
    assert page.evaluate("window.__pwned === undefined")
