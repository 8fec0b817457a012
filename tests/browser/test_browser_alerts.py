"""End to end in headless Chromium: a coordinator signs in with two-step sign-in, writes an alert
to dispatchers/verifiers and to members in a zone, sends it and watches the progress bar fill;
a member opens the signed link from their text message on a phone-sized screen and presses
"I got it", and the coordinator's page shows the acknowledgement within a poll or two.

Messages go through the console transport: on_commit hooks run under live_server, and tasks run
inline in tests, so the fan-out is delivered by the time the "Send" answer comes back.
"""

from __future__ import annotations

import re

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_member
from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient
from vecinos.core import geo
from vecinos.network.models import Organization, Role, Tier, Zone
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOYLE = (34.0407, -118.2110)
DESK_SHOT = "/tmp/alert-desk.png"
PHONE_SHOT = "/tmp/alert-ack-phone.png"


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def settle(page, status: int = 200) -> None:
    page.wait_for_load_state("load")
    expected = f"status of {status}"
    problems = [p for p in page.problems if not (status >= 400 and expected in p)]
    assert problems == [], problems
    page.problems.clear()


def submit(page, button_text: str, url_glob: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button_text, exact=True).click()
    page.wait_for_url(url_glob)
    settle(page)


def test_coordinator_watches_an_alert_fill_and_a_member_acknowledges_on_a_phone(
    live_server, new_page, settings
):
    settings.PUBLIC_URL = live_server.url  # the signed link in the text must point here
    base = live_server.url
    org = Organization.objects.create(name="Vecinos de Boyle Heights", short_name="boyle")
    zone = Zone.objects.create(
        name="Boyle Heights",
        slug="boyle-heights",
        kind="neighborhood",
        cells=geo.circle_cells(*BOYLE, 1200),
        center_lat=BOYLE[0],
        center_lng=BOYLE[1],
    )
    coordinator = make_member(
        "coord.ana",
        org=org,
        roles=(Role.COALITION_COORDINATOR,),
        tier=Tier.TRAINED,
        phone="+13235550100",
    )
    device = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    for i in (1, 2):
        verifier = make_member(
            f"verifier{i}",
            org=org,
            roles=(Role.VERIFIER,),
            tier=Tier.TRAINED,
            phone=f"+1323555011{i}",
        )
        services.ensure_member_subscriber(verifier)
    rosa = make_member(
        "rosa.vecina",
        org=org,
        roles=(Role.PATROL,),
        tier=Tier.VOUCHED,
        phone="+13235550187",
        preferred_language="en",
    )
    services.subscribe(
        phone=rosa.phone, member=rosa, language="en", zone=zone, source="member", confirmed=True
    )

    # --- the coordinator signs in: password, then the code from their authenticator ---------
    desk = new_page()
    desk.goto(f"{base}/signin/")
    settle(desk)
    desk.get_by_label("Username").fill("coord.ana")
    desk.get_by_label("Password").fill(PASSWORD)
    submit(desk, "Sign in", "**/2fa/verify/**")
    code = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits).token()
    desk.get_by_label("Code").fill(f"{code:06d}")
    with desk.expect_navigation():
        desk.get_by_role("button", name="Continue").click()
    settle(desk)

    # --- compose: activation for dispatchers/verifiers and members in Boyle Heights ------------
    desk.goto(f"{base}/alerts/new/")
    settle(desk)
    expect(desk.get_by_role("heading", name="New alert")).to_be_visible()
    desk.get_by_label("Kind of alert").select_option("activation")
    message_en = desk.get_by_label("Message in English")
    expect(message_en).to_have_value(re.compile(r"^Vecinos: ACTIVATION\. .*\{area\}"))
    desk.get_by_role("checkbox", name="Rapid responders and legal observers").uncheck()
    desk.get_by_label("Zones").select_option(str(zone.pk))
    desk.get_by_label("Area name").fill("Boyle Heights")
    # The template's {area} is filled as the area name is typed.
    expect(message_en).to_have_value(re.compile(r"near Boyle Heights from \d"))
    assert "{" not in desk.get_by_label("Message in Spanish").input_value()
    submit(desk, "Review before sending", "**/alerts/*/")
    expect(desk.get_by_text("This alert would reach 3 people right now.")).to_be_visible()
    alert = Alert.objects.get()
    submit(desk, "Send", f"**/alerts/{alert.pk}/")
    expect(desk.get_by_text("Sending to 3 people.")).to_be_visible()

    # --- the progress bar fills: every message sent/delivered ------------------------------
    sent_bar = desk.locator("progress.progress-sent")
    expect(sent_bar).to_have_attribute("value", "3")
    expect(sent_bar).to_have_attribute("max", "3")
    expect(desk.get_by_text("Sent or delivered: 3 of 3 messages")).to_be_visible()
    expect(desk.get_by_text("Acknowledged: 0 of 3 people")).to_be_visible()
    assert "+1323" not in desk.content() and "555-01" not in desk.content()

    # --- Rosa opens the signed link from her text message on her phone --------------------
    texts = {m.address: m.body for m in OutboxMessage.objects.all()}
    assert len(texts) == 3
    link = re.search(r"http\S+/a/[^/\s]+/", texts["+13235550187"]).group(0)
    assert link.startswith(base)
    phone = new_page(phone=True)
    response = phone.goto(link)
    assert response is not None and response.status == 200
    settle(phone)
    expect(phone.locator("blockquote.ack-text")).to_contain_text("near Boyle Heights")
    # Opening the link (as a link preview would) confirms nothing: the button does.
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=rosa)
    assert recipient.acknowledged_at is None
    button = phone.get_by_role("button", name="I got it")
    expect(button).to_be_visible()
    assert button.bounding_box()["height"] >= 44  # a thumb-sized target
    with phone.expect_navigation():
        button.click()
    settle(phone)
    expect(phone.get_by_text("Thank you, we know you got it.")).to_be_visible()
    expect(phone.locator("blockquote.ack-text")).to_contain_text("near Boyle Heights")
    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    phone.screenshot(path=PHONE_SHOT, full_page=True)
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=rosa)
    assert recipient.acknowledged_at is not None and recipient.ack_via == "link"

    # --- the coordinator's page shows it on the next poll ---------------------------------
    expect(desk.get_by_text("Acknowledged: 1 of 3 people")).to_be_visible()
    expect(desk.locator("progress.progress-ack")).to_have_attribute("value", "1")
    assert "rosa.vecina" not in desk.locator("table.unreached").inner_text()
    desk.screenshot(path=DESK_SHOT, full_page=True)
    assert desk.problems == [] and phone.problems == []
