"""An outside walk on a 390 px phone in Spanish, its layout items measured in Chromium: a refused
alert opens on what to fix; table captions span their table instead of wrapping word by word;
the "no streets" note leaves the drawing buttons free; the review's cost table fits without a
sideways scroll (tests/browser/test_browser_phone_widths.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.browser.test_browser_map_areas import browser_sign_in_any_language
from tests.conftest import browser_sign_in, make_member
from vecinos.alerts import services as alert_services
from vecinos.mobilize import services as mobilize
from vecinos.network.models import Organization, Role, Tier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/shots"
# Element boxes, from the page: {x, y, width, height}.
BOX = "el => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; }"


@pytest.fixture(autouse=True)
def _no_tiles(settings):
    settings.MAP_TILES = ""


def dispatcher(username: str):
    org = Organization.objects.create(name="Vecinos Unidos", short_name="vu")
    member = make_member(
        username, org=org, roles=(Role.DISPATCHER,), tier=Tier.TRAINED, phone="+13235550170"
    )
    return member, TOTPDevice.objects.create(user=member, name="phone", confirmed=True)


def overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_a_refused_alert_opens_on_what_to_fix(live_server, new_page):
    _member, device = dispatcher("disp.eva")
    page = new_page(phone=True)
    browser_sign_in(page, live_server.url, "disp.eva", device, to="/alerts/new/")
    page.locator("select[name=kind]").select_option("notice")
    page.locator("textarea[name=details]").fill("")
    page.locator("input[name=all_languages]").check()
    with page.expect_navigation():
        page.locator("form.alert-form button[type=submit]").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    box = summary.evaluate(BOX)
    assert 0 <= box["y"] < 844, box  # on the screen, not far below it
    link = summary.locator("a[href='#id_details']")
    expect(link).to_be_visible()
    link.click()
    expect(page.locator("#id_details")).to_be_in_viewport()
    page.screenshot(path=f"{SHOTS}/composer-errors-phone.png")
    assert not page.problems, page.problems


def caption_fills_its_table(page, table) -> None:
    caption = table.locator("caption").evaluate(BOX)
    whole = table.evaluate(BOX)
    # One line across the table, not a word a line (the outside walk saw three lines).
    assert caption["width"] >= whole["width"] - 2, (caption, whole)
    line = table.locator("caption").evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
    assert caption["height"] < 2 * line, (caption, line)


def test_table_captions_span_their_tables_on_a_phone(live_server, new_page):
    member, device = dispatcher("disp.ines")
    alert_services.ensure_member_subscriber(member)
    alert = alert_services.alert_create(
        actor=member, kind="notice", tiers=["internal"],
        messages={"es": "Reunión a las 6pm en la plaza.", "en": "Meeting at 6pm at the plaza."},
    )  # fmt: skip
    alert_services.alert_send(alert=alert, actor=member)
    activation = mobilize.activation_create(
        actor=member, staging_point="Mariachi Plaza", needed_by=timezone.now() + timedelta(minutes=30),
        roles={"observer": 2}, tiers=["internal"],
    )  # fmt: skip
    page = new_page(phone=True, locale="es-US")
    browser_sign_in_any_language(page, live_server.url, device, to=f"/alerts/{alert.pk}/")
    tables = page.locator(".progress-tables table")
    expect(tables).to_have_count(2)
    for n in range(2):
        caption_fills_its_table(page, tables.nth(n))
    page.goto(f"{live_server.url}/mobilize/{activation.pk}/")
    caption_fills_its_table(page, page.locator("table.turnout"))
    assert not page.problems, page.problems


@pytest.mark.parametrize("path", ["/alerts/new/", "/mobilize/new/"])
def test_the_no_streets_note_leaves_the_drawing_buttons_free(live_server, new_page, path):
    _member, device = dispatcher("disp.olga")
    page = new_page(phone=True, locale="es-US")
    browser_sign_in_any_language(page, live_server.url, device, to=path)
    note = page.locator("#alert-map .map-hint-streets")
    expect(note).to_be_visible()
    buttons = page.locator(
        "#alert-map .leaflet-control a, #alert-map .leaflet-control .button-container"
    )
    assert buttons.count() >= 8  # zoom in and out, three shapes, three edits
    box = note.evaluate(BOX)
    for n in range(buttons.count()):
        button = buttons.nth(n)
        if button.is_visible():
            assert not overlap(box, button.evaluate(BOX)), (n, button.inner_html())
    page.locator("#alert-map").screenshot(path=f"{SHOTS}/map-note-{path.split('/')[1]}-phone.png")
    assert not page.problems, page.problems
