"""Issue 14, the items test_browser_maps.py leaves out, in Chromium with the tiny real tileset:
the call-out composer's drawn circle and its live count (within a second), the alert composer
by keyboard alone (typed fields draw the circle and count), the console map clustered when
dense with the queue as the keyboard path, a subscription area tapped on the member page and on
the public page at desktop size, map labels and drawing tools in the page's language. Every
request goes to the live server only (hosts recorded); screenshots go to /tmp/shots/."""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import browser_sign_in, make_member
from tests.maptiles import write_archive
from tests.pagewait import wait_for_js
from vecinos.alerts import services as alert_services
from vecinos.alerts.models import Subscriber, SubscriptionArea
from vecinos.core import geo
from vecinos.mobilize.models import Activation
from vecinos.network.models import Organization, Role, Tier
from vecinos.reports import services as reports
from vecinos.transports import registry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/shots"


@pytest.fixture(autouse=True)
def _tiles_and_transports(settings, tmp_path):
    settings.MAP_TILES = str(write_archive(tmp_path / "socal.pmtiles"))
    registry.reset()
    yield
    registry.reset()


def record_hosts(page) -> set:
    hosts: set = set()
    page.on(
        "request", lambda req: hosts.add(req.url.split("/")[2]) if "://" in req.url[:8] else None
    )
    return hosts


def tiles_drawn(page) -> int:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.leaflet-tile-pane canvas')).filter(c => {
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             const seen = new Set();
             for (let i = 0; i < d.length; i += 4 * 101) seen.add(d[i] + ',' + d[i+1] + ',' + d[i+2]);
             return seen.size > 1;
           }).length"""
    )


def staff(username, org, role):
    member = make_member(username, org=org, roles=(role,), tier=Tier.TRAINED)
    return member, TOTPDevice.objects.create(user=member, name="phone", confirmed=True)


def public(lat, lng, language):
    sub = Subscriber.objects.create(
        status=Subscriber.Status.ACTIVE, language=language, source="web"
    )
    SubscriptionArea.objects.create(
        subscriber=sub, lat=lat, lng=lng, radius_m=300, cell7=geo.cell_of(lat, lng, 7)
    )
    return sub


def watch_count(page) -> None:
    """Records (in the page) when the live count last got a total."""
    page.evaluate(
        """() => {
             const out = document.querySelector('[data-reach]');
             window.__counted = null;
             new MutationObserver(() => {
               if (out.hasAttribute('data-total')) window.__counted = performance.now();
             }).observe(out, {attributes: true, attributeFilter: ['data-total'], childList: true});
           }"""
    )


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_call_out_composer_draws_a_circle_counts_it_live_and_sends_it(live_server, new_page, phone):
    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    _dispatcher, device = staff("disp.dana", org, Role.DISPATCHER)
    # The map opens on central Los Angeles (34.05, -118.25): two near the centre, one far away.
    public(34.050, -118.250, "es")
    public(34.052, -118.247, "en")
    public(34.300, -118.000, "es")
    page = new_page(phone=phone)
    hosts = record_hosts(page)
    browser_sign_in(page, base, "disp.dana", device, to="/mobilize/new/")
    page.get_by_label("Staging point").fill("Mariachi Plaza, east side")
    page.locator("input[name=role_observer]").fill("2")
    page.get_by_role("checkbox", name="Public subscribers").check()
    box = page.locator("#alert-map")
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    expect(page.locator("[data-reach]")).to_have_attribute("data-total", "0", timeout=3000)
    page.locator(".leaflet-pm-icon-circle").click()
    bb = box.bounding_box()
    cx, cy = bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2
    page.mouse.click(cx, cy)  # the centre
    page.wait_for_timeout(150)
    watch_count(page)
    started = page.evaluate("() => performance.now()")
    page.mouse.click(cx + 40, cy)  # the rim, about 2 km out at zoom 11
    count = page.locator("[data-reach]")
    expect(count).to_have_attribute("data-total", "2", timeout=3000)
    took = page.evaluate("() => window.__counted") - started
    # The one-second bar itself is measured by bench/area_count.py (1,000,000 subscribers) on a
    # quiet machine. Here the page, the live server and the browser share two cores with a
    # second whole test suite (CI runs SQLite and PostgreSQL side by side; 1,161 ms was seen):
    # the bound catches a count that is not live (a debounce stuck, a request per redraw
    # queued), not a slow core.
    assert took < 2000, f"the count took {took:.0f} ms"
    expect(count).to_contain_text(re.compile(r"Would reach 2 people \(Public subscribers: 2;"))
    radius = int(page.locator("input[name=radius_m]").input_value())
    assert 500 < radius < 5000
    assert page.locator("input[name=polygon]").input_value() == ""
    page.wait_for_timeout(400)
    assert tiles_drawn(page) >= 1
    page.screenshot(
        path=f"{SHOTS}/callout-circle-{'phone' if phone else 'desk'}.png", full_page=True
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Send call-out").click()
    activation = Activation.objects.get()
    assert activation.radius_m == radius and activation.polygon == []
    assert abs(activation.lat - 34.05) < 0.01 and abs(activation.lng + 118.25) < 0.01
    assert activation.status == Activation.Status.PENDING  # the public needs a second person
    assert not page.problems, page.problems
    assert hosts == {base.split("/")[2]}, hosts


def test_alert_composer_works_by_keyboard_alone(live_server, new_page):
    """The typed fields are the keyboard path: they draw the circle on the map and count."""
    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    _coordinator, device = staff("coord.ana", org, Role.COALITION_COORDINATOR)
    public(34.040, -118.210, "es")
    page = new_page()
    hosts = record_hosts(page)
    browser_sign_in(page, base, "coord.ana", device, to="/alerts/new/")
    page.get_by_role("checkbox", name="Public subscribers").focus()
    page.keyboard.press("Space")
    page.get_by_label("Latitude").focus()
    page.keyboard.type("34.04")
    page.keyboard.press("Tab")
    page.keyboard.type("-118.21")
    page.keyboard.press("Tab")
    page.keyboard.type("800")
    page.keyboard.press("Tab")
    count = page.locator("[data-reach]")
    expect(count).to_have_attribute("data-total", "1", timeout=3000)
    expect(page.locator("#alert-map path.am-drawn")).to_have_count(1)
    # The map's markers and drawn shapes are never in the tab order.
    focusable = page.evaluate(
        """() => Array.from(document.querySelectorAll('#alert-map .leaflet-marker-icon, #alert-map path'))
                  .filter(el => el.tabIndex >= 0 && el.getAttribute('tabindex') !== null).length"""
    )
    assert focusable == 0
    page.screenshot(path=f"{SHOTS}/composer-keyboard-desk.png", full_page=True)
    assert not page.problems, page.problems
    assert hosts == {base.split("/")[2]}, hosts


def test_the_composer_does_not_count_a_radius_still_being_typed(live_server, new_page):
    """A count asked for while the radius reads "8" on its way to "800" (a wake-up from an
    earlier change, late on a busy machine) was refused by the server (under 50 m), a 400 in
    the console. Only a value the person has left is asked about."""
    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    _coordinator, device = staff("coord.ana", org, Role.COALITION_COORDINATOR)
    public(34.040, -118.210, "es")
    page = new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "reach.json" in r.url else None)
    browser_sign_in(page, base, "coord.ana", device, to="/alerts/new/")
    page.get_by_role("checkbox", name="Public subscribers").check()
    page.get_by_label("Latitude").fill("34.04")
    page.get_by_label("Longitude").fill("-118.21")
    radius = page.get_by_label("Radius in meters")
    radius.fill("")
    radius.focus()
    page.keyboard.type("8")
    before = len(asked)
    # The late wake-up: a change elsewhere while the radius still has the focus.
    page.evaluate("() => document.querySelector('[name=tiers]').dispatchEvent(new Event('change'))")
    page.wait_for_timeout(800)
    assert not [url for url in asked[before:] if "radius_m=8&" in url + "&"], asked
    # The count shown before (radius 2000 m) also reads 1, so wait for the answer itself:
    # the debounced ask comes 250 ms after the change, and may come later on a busy machine.
    with page.expect_response(
        lambda r: "reach.json" in r.url and "radius_m=800&" in r.url + "&"
    ) as counted:
        page.keyboard.type("00")
        page.keyboard.press("Tab")
    assert counted.value.ok, counted.value.status
    expect(page.locator("[data-reach]")).to_have_attribute("data-total", "1", timeout=3000)
    assert not [url for url in asked if "radius_m=8&" in url + "&"], asked
    assert not page.problems, page.problems


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_console_map_clusters_when_dense_and_the_queue_is_the_keyboard_path(
    live_server, new_page, phone
):
    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    dispatcher, device = staff("disp.dana", org, Role.DISPATCHER)
    for i in range(30):  # thirty reports within a few hundred metres
        reports.report_submit(
            data=reports.ReportInput(
                channel="web",
                activity="workplace",
                lat=34.0400 + (i % 6) * 0.0004,
                lng=-118.2100 + (i // 6) * 0.0004,
            ),
            source_key_value=f"k{i}",
        )
    far = reports.report_submit(
        data=reports.ReportInput(channel="web", activity="checkpoint", lat=34.20, lng=-118.45),
        source_key_value="far",
    )
    reports.report_triage(report=far, tier="verify", actor=dispatcher)
    page = new_page(phone=phone)
    hosts = record_hosts(page)
    browser_sign_in(page, base, "disp.dana", device, to="/console/")
    page.wait_for_selector("#console-map[data-shown]", state="attached", timeout=8000)
    page.wait_for_timeout(1500)
    shown = page.locator("#console-map").get_attribute("data-shown")
    assert shown == "31", shown  # 30 reports and the incident (its report left the queue)
    clusters = page.locator("#console-map .marker-cluster")
    expect(clusters.first).to_be_visible()
    in_clusters = sum(int(t) for t in clusters.all_inner_texts())
    assert in_clusters >= 25, in_clusters
    page.wait_for_timeout(500)
    # The far incident is fitted into view, not hidden under the zoom buttons.
    far_box = page.locator(
        "#console-map .leaflet-marker-icon:has(.cm-incident)"
    ).first.bounding_box()
    zoom_box = page.locator("#console-map .leaflet-control-zoom").bounding_box()
    map_box = page.locator("#console-map").bounding_box()
    assert far_box and zoom_box and map_box
    assert not (
        far_box["x"] < zoom_box["x"] + zoom_box["width"]
        and zoom_box["x"] < far_box["x"] + far_box["width"]
        and far_box["y"] < zoom_box["y"] + zoom_box["height"]
        and zoom_box["y"] < far_box["y"] + far_box["height"]
    ), (far_box, zoom_box)
    assert map_box["x"] <= far_box["x"] <= map_box["x"] + map_box["width"] - far_box["width"]
    assert tiles_drawn(page) >= 1
    page.screenshot(
        path=f"{SHOTS}/console-cluster-{'phone' if phone else 'desk'}.png", full_page=not phone
    )
    # No marker or cluster takes keyboard focus; every row of the queue does (j/k, Enter).
    tabbable = page.evaluate(
        """() => Array.from(document.querySelectorAll('#console-map .leaflet-marker-icon'))
                  .filter(el => el.tabIndex >= 0).map(el => el.outerHTML)"""
    )
    assert tabbable == []
    incident_row = page.locator(f"[data-row='i{far.incident_id}']")
    page.locator("body").click(position={"x": 2, "y": 2})
    visited = []
    for _ in range(60):
        page.keyboard.press("j")
        visited.append(page.evaluate("() => document.activeElement.getAttribute('data-row')"))
        if incident_row.evaluate("el => el === document.activeElement"):
            break
    assert incident_row.evaluate("el => el === document.activeElement"), visited[-12:]
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/incidents/{far.incident_id}/")
    assert not page.problems, page.problems
    assert hosts == {base.split("/")[2]}, hosts


def test_a_member_picks_an_area_by_tapping_on_the_desktop(live_server, new_page):
    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    member = make_member(
        "maria.m", org=org, roles=(Role.PATROL,), tier=Tier.TRAINED, phone="+13235550190"
    )
    device = TOTPDevice.objects.create(user=member, name="phone", confirmed=True)
    alert_services.ensure_member_subscriber(member)
    page = new_page()
    hosts = record_hosts(page)
    browser_sign_in(page, base, "maria.m", device, to="/me/alerts/")
    box = page.locator("[data-pick-map]")
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    bb = box.bounding_box()
    page.mouse.click(bb["x"] + bb["width"] / 2 + 30, bb["y"] + bb["height"] / 2 - 20)
    expect(page.locator("[data-pick-status]")).to_contain_text("Place chosen on the map")
    lat = float(page.locator("input[name=lat]").input_value())
    lng = float(page.locator("input[name=lng]").input_value())
    assert 33.9 < lat < 34.2 and -118.4 < lng < -118.1
    assert round(lat, 3) == lat and round(lng, 3) == lng  # about 100 m, never a front door
    page.locator("select[name=radius_m]").select_option("1000")
    expect(page.locator("[data-pick-map] path.am-drawn")).to_have_count(1)
    page.wait_for_timeout(400)
    assert tiles_drawn(page) >= 1
    page.screenshot(path=f"{SHOTS}/member-area-tap-desk.png", full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Add place").click()
    area = SubscriptionArea.objects.get(subscriber__member=member)
    # A member's place is kept as its neighbourhood cell, the chosen point only encrypted.
    assert area.point == f"{lat:.5f},{lng:.5f},1000" and area.shown_radius_m == 1000
    assert not page.problems, page.problems
    assert hosts == {base.split("/")[2]}, hosts


def test_the_public_subscribe_page_picks_by_tapping_on_the_desktop(live_server, new_page):
    base = live_server.url
    page = new_page()
    hosts = record_hosts(page)
    page.goto(f"{base}/subscribe/")
    page.wait_for_load_state("load")
    box = page.locator("[data-pick-map]")
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    bb = box.bounding_box()
    page.mouse.click(bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2)
    expect(page.locator("[data-pick-status]")).to_contain_text("Place chosen on the map")
    page.locator("select[name=radius_m]").select_option("2000")
    page.wait_for_timeout(400)
    assert tiles_drawn(page) >= 1
    page.screenshot(path=f"{SHOTS}/subscribe-tap-desk.png", full_page=True)
    page.locator("input[name=phone]").fill("3235550178")
    with page.expect_navigation():
        page.locator('form[action="/subscribe/"] button[type=submit]').click()
    area = SubscriptionArea.objects.get()
    assert area.radius_m == 2000 and area.lat is not None
    assert not page.problems, page.problems
    assert hosts == {base.split("/")[2]}, hosts


LABELS = """() => Array.from(document.querySelectorAll('.leaflet-tile-pane canvas'))
                   .map(c => c.toDataURL()).join('|')"""


def test_map_labels_and_drawing_tools_are_in_the_pages_language(live_server, new_page):
    """The tiles carry name, name:en and name:es ("Boyle Heights" / "Alturas de Boyle"): the
    same view in Spanish and in English draws different labels, and the same language the
    same picture. Chinese pages ask for the name:zh-Hans key; the zoom buttons are named in the
    page's language."""
    base = live_server.url
    drawn = {}
    for locale in ("es-US", "en-US", "es-MX"):
        page = new_page(locale=locale)
        page.goto(f"{base}/map/")
        page.wait_for_load_state("load")
        wait_for_js(page, "() => document.querySelectorAll('.leaflet-tile-pane canvas').length > 0")
        page.wait_for_timeout(1500)  # labels are placed after the tiles, then repainted
        assert tiles_drawn(page) >= 1
        drawn[locale] = page.evaluate(LABELS)
        lang = page.evaluate("() => window.VecinosBasemap.lang")
        assert lang == locale[:2]
        assert page.evaluate(
            "() => Array.from(document.querySelectorAll('.leaflet-tile-pane canvas'))"
            ".every(c => c.lang === window.VecinosBasemap.lang)"
        )
        if locale == "es-US":
            page.screenshot(path=f"{SHOTS}/labels-es-desk.png")
            assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Acercar"
        assert not page.problems, page.problems
    assert drawn["es-US"] != drawn["en-US"]
    assert drawn["es-US"] == drawn["es-MX"]
    page = new_page(locale="zh-CN")
    page.goto(f"{base}/map/")
    page.wait_for_load_state("load")
    assert page.evaluate("() => document.documentElement.lang") == "zh-hans"
    assert page.evaluate("() => window.VecinosBasemap.lang") == "zh-Hans"


def test_the_drawing_tools_speak_the_pages_language(live_server, new_page):
    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    _coordinator, device = staff("coord.ana", org, Role.COALITION_COORDINATOR)
    page = new_page(locale="ko-KR")
    browser_sign_in_any_language(page, base, device, to="/zones/edit/new/")
    button = page.locator("[data-zone-editor] .leaflet-pm-icon-polygon")
    title = button.evaluate("el => el.closest('[title]').getAttribute('title')")
    assert title and title != "Draw Polygons" and re.search(r"[\uac00-\ud7a3]", title), title
    assert button.evaluate("el => el.closest('a').getAttribute('aria-label')") == title
    assert page.locator(".leaflet-control-zoom-in").get_attribute("title") != "Zoom in"
    assert not page.problems, page.problems


def browser_sign_in_any_language(page, base, device, *, to):
    """browser_sign_in with the fields found by name (its labels are in English)."""
    from django_otp.oath import TOTP

    from tests.conftest import PASSWORD

    page.goto(f"{base}{to}")
    page.wait_for_url("**/signin/**")
    page.locator("input[name=username]").fill(device.user.username)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url("**/2fa/verify/**")
    page.locator("input[name=code]").fill(f"{TOTP(device.bin_key).token():06d}")
    with page.expect_navigation():
        page.locator("form:has(input[name=code]) button[type=submit]").click()
    page.wait_for_url(f"{base}{to}")
    page.wait_for_load_state("load")


def test_a_zones_name_with_markup_shows_as_text_in_its_tooltip(live_server, new_page):
    """Outside probe, session 18: a zone named with <a> and <img> became markup in the
    composers' map tooltips (a link to anywhere, an image fetched)."""
    from vecinos.network.models import Zone

    evil = '<img src="/static/x.png" id="injected"><a href="//evil.example">Boyle</a>'
    Zone.objects.create(
        name=evil, slug="evil", kind="neighborhood",
        cells=geo.circle_cells(34.05, -118.25, 3000), center_lat=34.05, center_lng=-118.25,
    )  # fmt: skip
    base = live_server.url
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    _dispatcher, device = staff("disp.dana", org, Role.DISPATCHER)
    page = new_page()
    browser_sign_in(page, base, "disp.dana", device, to="/alerts/new/")
    zone = page.locator("#alert-map path.am-zone").first
    zone.scroll_into_view_if_needed()
    zone.hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert evil in tooltip.inner_text()
    assert page.locator("#injected").count() == 0
    assert page.locator('a[href="//evil.example"]').count() == 0
