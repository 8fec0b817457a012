"""In Chromium with a real tiny tileset (tests/maptiles.py), on phone and desktop sizes: the
console map, the composer's drawn polygon and its live count, a subscription area picked by
tapping, the public map. Every request goes to the live server and nowhere else; screenshots
go to /tmp/shots/."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import browser_sign_in, make_member
from tests.maptiles import write_archive
from vecinos.alerts.models import Alert, Subscriber, SubscriptionArea
from vecinos.core import geo
from vecinos.network.models import Organization, Role, Tier
from vecinos.reports import services as reports
from vecinos.reports.models import Incident, OnDuty
from vecinos.transports import registry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/shots"


@pytest.fixture(autouse=True)
def _tiles_and_transports(settings, tmp_path):
    settings.MAP_TILES = str(write_archive(tmp_path / "socal.pmtiles"))
    registry.reset()
    yield
    registry.reset()


def only_our_host(page, base: str) -> set:
    hosts: set = set()
    page.on(
        "request", lambda req: hosts.add(req.url.split("/")[2]) if "://" in req.url[:8] else None
    )
    return hosts


def check_hosts(hosts: set, base: str) -> None:
    assert hosts == {base.split("/")[2]}, hosts


def tiles_drawn(page) -> int:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.leaflet-tile-pane canvas')).filter(c => {
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             const seen = new Set();
             for (let i = 0; i < d.length; i += 4 * 101) seen.add(d[i] + ',' + d[i+1] + ',' + d[i+2]);
             return seen.size > 1;
           }).length"""
    )


def member_with_device(username, org, role):
    member = make_member(username, org=org, roles=(role,), tier=Tier.TRAINED)
    return member, TOTPDevice.objects.create(user=member, name="phone", confirmed=True)


def report_at(lat, lng, key):
    return reports.report_submit(
        data=reports.ReportInput(channel="web", activity="workplace", lat=lat, lng=lng),
        source_key_value=key,
    )


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_console_map_shows_the_queue_live_and_opens_an_incident(live_server, new_page, phone):
    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    dispatcher, device = member_with_device("disp.dana", org, Role.DISPATCHER)
    verifier = make_member("vera.v", org=org, roles=(Role.VERIFIER,), tier=Tier.TRAINED)
    OnDuty.objects.create(
        member=verifier,
        role="verifier",
        until=timezone.now() + timedelta(hours=2),
        lat=34.06,
        lng=-118.23,
    )
    report_at(34.0407, -118.2110, "a")
    report_at(34.0700, -118.2900, "b")
    triaged = report_at(34.0200, -118.2500, "c")
    reports.report_triage(report=triaged, tier="verify", actor=dispatcher)
    page = new_page(phone=phone)
    hosts = only_our_host(page, base)
    browser_sign_in(page, base, "disp.dana", device, to="/console/")
    page.wait_for_selector("#console-map[data-shown='3']", state="attached", timeout=8000)
    expect(page.locator("#console-map .cm-verifier")).to_have_count(1)
    page.wait_for_timeout(600)
    assert tiles_drawn(page) >= 1
    page.screenshot(
        path=f"{SHOTS}/console-map-{'phone' if phone else 'desk'}.png", full_page=not phone
    )
    # Live: a new report appears within the one-second refresh.
    report_at(34.0500, -118.2000, "d")
    page.wait_for_selector("#console-map[data-shown='4']", state="attached", timeout=5000)
    # A click on the incident opens it.
    incident = Incident.objects.get()
    marker = page.locator("#console-map .cm-status-new").first
    marker.scroll_into_view_if_needed()
    with page.expect_navigation():
        marker.click()
    page.wait_for_url(f"**/console/incidents/{incident.pk}/")
    assert not page.problems, page.problems
    check_hosts(hosts, base)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_console_map_shows_a_callouts_staging_point_and_opens_its_board(
    live_server, new_page, phone
):
    from vecinos.alerts.models import Tier as AudienceTier
    from vecinos.mobilize import services as mobilize

    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    dispatcher, device = member_with_device("disp.dana", org, Role.DISPATCHER)
    report_at(34.0407, -118.2110, "a")
    page = new_page(phone=phone)
    hosts = only_our_host(page, base)
    browser_sign_in(page, base, "disp.dana", device, to="/console/")
    page.wait_for_selector("#console-map[data-callouts='0']", state="attached", timeout=8000)
    # Live: a call-out sent now shows its staging point within the one-second refresh.
    activation = mobilize.activation_send(
        activation=mobilize.activation_create(
            actor=dispatcher,
            staging_point="Mariachi Plaza, east side",
            needed_by=timezone.now() + timedelta(minutes=30),
            roles={"observer": 2},
            tiers=[AudienceTier.RESPONDERS],
            point=(34.0472, -118.2197),
            radius_m=2000,
        ),
        actor=dispatcher,
    )
    page.wait_for_selector("#console-map[data-callouts='1']", state="attached", timeout=5000)
    marker = page.locator("#console-map .cm-callout")
    expect(marker).to_have_count(1)
    expect(page.locator(f"#console-map [title='Staging point {activation.code}']")).to_have_count(1)
    page.screenshot(
        path=f"{SHOTS}/console-map-callout-{'phone' if phone else 'desk'}.png", full_page=not phone
    )
    marker.scroll_into_view_if_needed()
    with page.expect_navigation():
        marker.click()
    page.wait_for_url(f"**/mobilize/{activation.pk}/")
    expect(page.get_by_text("Mariachi Plaza, east side").first).to_be_visible()
    assert not page.problems, page.problems
    check_hosts(hosts, base)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_composer_polygon_shows_its_live_count_and_is_saved(live_server, new_page, phone):
    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    coordinator, device = member_with_device("coord.ana", org, Role.COALITION_COORDINATOR)
    for lat, lng, lang in [(34.05, -118.25, "es"), (34.052, -118.248, "en"), (34.30, -118.0, "es")]:
        sub = Subscriber.objects.create(
            status=Subscriber.Status.ACTIVE, language=lang, source="web"
        )
        SubscriptionArea.objects.create(
            subscriber=sub, lat=lat, lng=lng, radius_m=500, cell7=geo.cell_of(lat, lng, 7)
        )
    page = new_page(phone=phone)
    hosts = only_our_host(page, base)
    browser_sign_in(page, base, "coord.ana", device, to="/alerts/new/")
    page.get_by_role("checkbox", name="Public subscribers").check()
    box = page.locator("#alert-map")
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.locator(".leaflet-pm-icon-polygon").click()
    bb = box.bounding_box()
    cx, cy = bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2
    corners = [(-60, -50), (60, -50), (60, 50), (-60, 50)]
    for dx, dy in corners:
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_timeout(120)
    page.mouse.click(cx + corners[0][0], cy + corners[0][1])  # close the ring
    count = page.locator("[data-reach]")
    expect(count).to_have_attribute("data-total", "2", timeout=3000)
    expect(count).to_contain_text(
        re.compile(
            # Languages by the registry's label ("Español (Spanish)"), in either order.
            r"Would reach 2 people \(Public subscribers: 2; [^;]*(English|Spanish)\)?: 1, "
            r"[^;]*(English|Spanish)\)?: 1\)"
        )
    )
    assert page.locator("input[name=polygon]").input_value().startswith("[[")
    page.wait_for_timeout(400)
    assert tiles_drawn(page) >= 1
    page.screenshot(
        path=f"{SHOTS}/composer-polygon-{'phone' if phone else 'desk'}.png", full_page=True
    )
    page.get_by_label("Area name").fill("Downtown")
    with page.expect_navigation():
        page.get_by_role("button", name="Review before sending").click()
    page.wait_for_url("**/alerts/*/")
    alert = Alert.objects.get()
    assert len(alert.polygon) == 4
    expect(page.get_by_text("This alert would reach 2 people right now.")).to_be_visible()
    assert not page.problems, page.problems
    check_hosts(hosts, base)


def test_a_subscription_area_is_picked_by_tapping_on_a_phone(live_server, new_page):
    base = live_server.url
    page = new_page(phone=True, locale="es-US")
    hosts = only_our_host(page, base)
    page.goto(f"{base}/subscribe/")
    page.wait_for_load_state("load")
    box = page.locator("[data-pick-map]")
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    bb = box.bounding_box()
    page.mouse.click(bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2)
    expect(page.locator("[data-pick-status]")).to_contain_text("Lugar elegido en el mapa")
    lat = float(page.locator("input[name=lat]").input_value())
    lng = float(page.locator("input[name=lng]").input_value())
    assert 33.5 < lat < 34.6 and -118.8 < lng < -117.7
    page.locator("select[name=radius_m]").select_option("2000")
    page.wait_for_timeout(300)
    assert tiles_drawn(page) >= 1
    page.screenshot(path=f"{SHOTS}/subscribe-tap-phone.png", full_page=True)
    page.locator("input[name=phone]").fill("3235550177")
    with page.expect_navigation():
        page.locator('form[action="/subscribe/"] button[type=submit]').click()
    area = SubscriptionArea.objects.get()
    assert (area.lat, area.lng, area.radius_m) == (lat, lng, 2000)
    assert not page.problems, page.problems
    check_hosts(hosts, base)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_public_map_shows_checked_outcomes_coarsely(live_server, new_page, phone):
    base = live_server.url
    now = timezone.now()
    for lat, lng, outcome in [
        (34.0407, -118.2110, "confirmed"),
        (34.0700, -118.2900, "false_alarm"),
    ]:
        Incident.objects.create(
            status=outcome,
            outcome=outcome,
            activity="workplace",
            agency="ice",
            lat=lat,
            lng=lng,
            cell7=geo.cell_of(lat, lng, 7),
            verified_at=now - timedelta(hours=3),
        )
    page = new_page(phone=phone, locale="en-US" if not phone else "es-US")
    hosts = only_our_host(page, base)
    page.goto(f"{base}/map/")
    page.wait_for_load_state("load")
    expect(page.locator("#public-map path.pm-confirmed")).to_have_count(1)
    expect(page.locator("#public-map path.pm-false")).to_have_count(1)
    page.wait_for_timeout(600)
    assert tiles_drawn(page) >= 1
    page.screenshot(path=f"{SHOTS}/public-map-{'phone' if phone else 'desk'}.png", full_page=True)
    assert "34.0407" not in page.content()
    assert not page.problems, page.problems
    check_hosts(hosts, base)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_coalition_coordinator_draws_a_zone_then_moves_a_corner(live_server, new_page, phone):
    """Issue 14, "zones are edited on the map": drawn with the polygon tool and saved, then
    opened again, a corner dragged in edit mode and saved; the zone's cells follow the outline."""
    from vecinos.network.models import Zone

    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    _coordinator, device = member_with_device("coord.ana", org, Role.COALITION_COORDINATOR)
    page = new_page(phone=phone)
    hosts = only_our_host(page, base)
    browser_sign_in(page, base, "coord.ana", device, to="/zones/edit/new/")
    page.get_by_label("Name").fill("Boyle Heights")
    page.get_by_label("Kind").select_option("neighborhood")
    box = page.locator("#zone-map")
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.locator("[data-zone-editor] .leaflet-pm-icon-polygon").click()
    bb = box.bounding_box()
    cx, cy = bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2
    corners = [(-60, -50), (60, -50), (60, 50), (-60, 50)]
    for dx, dy in corners:
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_timeout(120)
    page.mouse.click(cx + corners[0][0], cy + corners[0][1])  # close the ring
    drawn = json.loads(page.locator("input[name=boundary]").input_value())
    assert len(drawn) == 4
    page.wait_for_timeout(400)
    assert tiles_drawn(page) >= 1
    page.screenshot(path=f"{SHOTS}/zone-drawn-{'phone' if phone else 'desk'}.png", full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Save zone").click()
    page.wait_for_url("**/zones/edit/")
    expect(page.locator(".messages")).to_contain_text("Zone “Boyle Heights” saved.")
    zone = Zone.objects.get()
    lats, lngs = [p[0] for p in drawn], [p[1] for p in drawn]
    assert min(lats) < zone.center_lat < max(lats) and min(lngs) < zone.center_lng < max(lngs)
    cells_before = set(zone.cells)
    assert cells_before

    # Opened again: the outline is on the map; edit mode, drag one corner, save.
    page.goto(f"{base}/zones/edit/{zone.pk}/")
    page.wait_for_load_state("load")
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.locator("[data-zone-editor] .leaflet-pm-icon-edit").click()
    corner = page.locator("#zone-map .marker-icon:not(.marker-icon-middle)").first
    expect(corner).to_be_visible()
    before = page.locator("input[name=boundary]").input_value()
    cb = corner.bounding_box()
    x, y = cb["x"] + cb["width"] / 2, cb["y"] + cb["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(x - 8 * step, y - 8 * step)
        page.wait_for_timeout(30)
    page.mouse.up()
    expect(page.locator("input[name=boundary]")).not_to_have_value(before)
    moved = json.loads(page.locator("input[name=boundary]").input_value())
    assert len(moved) == 4 and moved != drawn
    page.screenshot(path=f"{SHOTS}/zone-edited-{'phone' if phone else 'desk'}.png", full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Save zone").click()
    page.wait_for_url("**/zones/edit/")
    zone.refresh_from_db()
    ring = [[lat, lng] for lng, lat in zone.boundary["coordinates"][0][:-1]]
    assert ring == moved
    # The cells follow the new outline.
    assert set(zone.cells) != cells_before
    assert not page.problems, page.problems
    check_hosts(hosts, base)
