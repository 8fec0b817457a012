"""A newcomer walks the demo end to end on a phone-sized screen, clicking only.

The demo coalition is loaded as `vecinos serve` loads it; the people sign in as the README says
(the printed demo password, then the code the demo-only banner shows). Report -> console ->
verifier (from the phone simulator) -> confirm -> alert -> approve -> deliver -> acknowledge ->
all-clear. Screenshots go to /tmp/shots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from vecinos.alerts.models import Alert, AlertRecipient
from vecinos.network.demo import load_demo
from vecinos.network.models import Zone
from vecinos.reports.models import Incident, Report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")


def settle(page) -> None:
    page.wait_for_load_state("load")
    assert list(page.problems) == [], (page.url, list(page.problems))


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def click_to(page, locator, url_glob: str | None = None) -> None:
    with page.expect_navigation():
        locator.click()
    if url_glob:
        page.wait_for_url(url_glob)
    settle(page)


def sign_in(page, base: str, username: str, password: str) -> None:
    """As the README says: the printed demo password, then the code on the demo banner."""
    page.goto(f"{base}/")
    settle(page)
    click_to(page, page.get_by_role("link", name="Sign in").first, "**/signin/**")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    click_to(page, page.get_by_role("button", name="Sign in"), "**/2fa/verify/**")
    banner = page.locator("#demo-code")
    expect(banner).to_contain_text("Demo only")
    code = banner.locator("strong").inner_text().strip()
    page.get_by_label("Code", exact=False).first.fill(code)
    click_to(page, page.get_by_role("button", name="Continue"))


def open_simulator_link(page, base: str, who: str, link_part: str) -> None:
    """On the phone simulator, pick `who`'s phone and open the newest link containing part."""
    page.goto(f"{base}/")
    settle(page)
    click_to(
        page, page.get_by_role("link", name="Phone simulator (development)"), "**/dev/phone/**"
    )
    value = page.locator("#phone-to option", has_text=f"· {who} (").first.get_attribute("value")
    page.get_by_label("Phone", exact=True).select_option(value)
    page.wait_for_url("**/dev/phone/?to=*")
    settle(page)
    link = page.locator("#phone-messages a", has_text=link_part).first
    expect(link).to_be_visible()
    click_to(page, link)


def test_a_newcomer_walks_the_whole_demo_on_a_phone(live_server, new_page, settings, tmp_path):
    settings.PUBLIC_URL = live_server.url
    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REPORT_RATE_LIMIT = 1000
    base = live_server.url
    demo = load_demo()
    zone = Zone.objects.order_by("pk").first()

    # --- a neighbor reports what they see, from the public home page ------------------------
    visitor = new_page(phone=True)
    visitor.context.grant_permissions(["geolocation"], origin=base)
    visitor.context.set_geolocation({"latitude": zone.center_lat, "longitude": zone.center_lng})
    visitor.goto(f"{base}/")
    settle(visitor)
    expect(visitor.locator("a.home-call")).to_have_attribute("href", "tel:+13235550100")
    shot(visitor, "01-public-home")
    click_to(visitor, visitor.get_by_role("link", name="Report what you see").last, "**/report/")
    visitor.get_by_label("Street arrest").check()
    visitor.get_by_role("button", name="Use my location").click()
    expect(visitor.locator("[data-locate-status]")).to_contain_text("Location set.")
    visitor.get_by_label("Address, cross streets or landmark").fill("Cesar Chavez y Soto")
    visitor.get_by_label("ICE / ERO").check()
    visitor.get_by_label("What did you see?").fill("Dos camionetas, agentes con chalecos.")
    click_to(visitor, visitor.get_by_role("button", name="Send report"), "**/report/thanks/**")
    receipt = visitor.locator(".receipt-number").inner_text().strip()
    shot(visitor, "02-report-thanks")

    # --- the demo dispatcher signs in and triages it in the console --------------------------
    desk = new_page(phone=True)
    sign_in(desk, base, "dispatcher", demo.credentials["dispatcher"])
    click_to(desk, desk.get_by_role("link", name="Dispatch console"), "**/console/")
    row = desk.locator("#console-live [data-row]", has_text=receipt)
    expect(row).to_be_visible()
    expect(desk.locator("#console-sound")).to_be_visible()
    shot(desk, "03-console")
    row.get_by_role("button", name="Send a verifier").click()
    report = Report.objects.get(receipt=receipt)
    expect(desk.locator("#console-status")).to_contain_text(f"Report {receipt}")
    report.refresh_from_db()
    incident_id = report.incident_id
    click_to(
        desk,
        desk.locator(f'#console-live [data-row="i{incident_id}"]').get_by_role(
            "link", name=f"#{incident_id}"
        ),
        f"**/console/incidents/{incident_id}/",
    )
    desk.get_by_role("checkbox", name=re.compile(r"^verifier · ")).check()
    click_to(desk, desk.get_by_role("button", name="Send request"))
    expect(desk.locator("#incident-live .badge.status")).to_have_text("Verifying")

    # --- the verifier reads the text on the phone simulator and confirms ---------------------
    field = new_page(phone=True)
    open_simulator_link(field, base, "verifier", "/v/")
    shot(field, "04-verifier-link")
    click_to(field, field.get_by_role("button", name="Yes, I am going"))
    field.get_by_label("Confirmed", exact=True).check()
    click_to(field, field.get_by_role("button", name="Send what I found"), "**/thanks/")
    assert Incident.objects.get(pk=incident_id).status == Incident.Status.CONFIRMED

    # --- the dispatcher writes the alert and sends it for approval ---------------------------
    live = desk.locator("#incident-live")
    expect(live.locator(".badge.status")).to_have_text("Confirmed", timeout=8000)
    click_to(desk, live.get_by_role("link", name="Write the alert"), "**/alerts/new/**")
    desk.get_by_role("checkbox", name="Public subscribers").check()
    click_to(desk, desk.get_by_role("button", name="Review before sending"), "**/alerts/*/")
    expect(desk.locator("#delivery-timing")).to_contain_text("a second")
    shot(desk, "05-alert-review")
    alert = Alert.objects.get(parent__isnull=True, incident__isnull=False)
    click_to(desk, desk.get_by_role("button", name="Send for approval"))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.PENDING

    # --- the coordinator approves: it is delivered -------------------------------------------
    boss = new_page(phone=True)
    sign_in(boss, base, "coordinator", demo.credentials["coordinator"])
    click_to(boss, boss.get_by_role("link", name="Alerts", exact=True).first, "**/alerts/")
    click_to(boss, boss.locator(f'a[href="/alerts/{alert.pk}/"]').first)
    expect(boss.locator("#delivery-timing")).to_be_visible()
    click_to(boss, boss.get_by_role("button", name="Approve and send"))
    alert.refresh_from_db()
    assert alert.status in (Alert.Status.SENDING, Alert.Status.SENT)
    assert alert.recipients_count > 3
    shot(boss, "06-alert-sent")

    # --- the verifier (a member in the zone) acknowledges from the phone simulator ----------
    open_simulator_link(field, base, "verifier", "/a/")
    # The alert page speaks the verifier's language (Spanish in the demo).
    click_to(field, field.get_by_role("button", name="La recibí"))
    expect(field.get_by_text("Gracias, ya sabemos que la recibió.")).to_be_visible()
    shot(field, "07-acknowledged")
    assert AlertRecipient.objects.filter(
        alert=alert, subscriber__member__username="verifier", acknowledged_at__isnull=False
    ).exists()

    # --- all clear, to exactly the same people: the dispatcher writes it, the coordinator
    # approves (the demo dispatcher was vetted by the coordinator alone, so the reverse would
    # not count as two people)
    click_to(desk, desk.get_by_role("link", name="Alerts", exact=True).first, "**/alerts/")
    click_to(desk, desk.locator(f'a[href="/alerts/{alert.pk}/"]').first)
    click_to(desk, desk.get_by_role("link", name="All clear"), "**/alerts/new/**")
    click_to(desk, desk.get_by_role("button", name="Review before sending"), "**/alerts/*/")
    all_clear = Alert.objects.get(parent=alert)
    click_to(desk, desk.get_by_role("button", name=re.compile(r"^Send( for approval)?$")))
    all_clear.refresh_from_db()
    if all_clear.status == Alert.Status.PENDING:
        click_to(boss, boss.get_by_role("link", name="Alerts", exact=True).first, "**/alerts/")
        click_to(boss, boss.locator(f'a[href="/alerts/{all_clear.pk}/"]').first)
        click_to(boss, boss.get_by_role("button", name="Approve and send"))
        all_clear.refresh_from_db()
    assert all_clear.status in (Alert.Status.SENDING, Alert.Status.SENT)
    assert Incident.objects.get(pk=incident_id).status == Incident.Status.ALL_CLEAR
    shot(boss, "08-all-clear")
    for page in (visitor, desk, field, boss):
        assert (
            page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            <= 0
        )
