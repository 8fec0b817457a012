"""End to end in headless Chromium: a coordinator signs in with two-step sign-in and invites a
new member, who joins on a phone-sized screen, is vouched for, and sees what their tier allows and
no more.
"""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_member
from tests.network.test_phone_change import texted_code
from vecinos.core.models import AuditEvent
from vecinos.network.models import Member, Organization, Role, Tier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/onboarding-phone.png"


def settle(page, status: int = 200) -> None:
    """Every page visit ends with no console error and no request to another host.

    Chromium reports an expected 403 of the page itself as a console error; that one is the
    answer under test, not a problem.
    """
    page.wait_for_load_state("load")
    expected = f"status of {status}"
    problems = [p for p in page.problems if not (status >= 400 and expected in p)]
    assert problems == [], problems
    page.problems.clear()


def visit(page, url: str, status: int = 200):
    page.problems.clear()
    response = page.goto(url)
    assert response is not None
    assert response.status == status, (url, response.status)
    settle(page, status)
    return response


def submit(page, button_text: str, url_glob: str) -> None:
    # Some forms post back to their own address, so wait for the navigation, not for the URL.
    with page.expect_navigation():
        page.get_by_role("button", name=button_text).click()
    page.wait_for_url(url_glob)
    settle(page)


def test_coordinator_invites_and_vouches_a_newcomer_who_joins_on_a_phone(
    live_server, new_page, settings
):
    settings.PUBLIC_URL = live_server.url  # the invitation link must point at this server
    base = live_server.url
    org_a = Organization.objects.create(name="Vecinos de Boyle Heights", short_name="boyle")
    make_member("coord.ana", org=org_a, roles=(Role.ORG_COORDINATOR,), tier=Tier.TRAINED)

    # --- the coordinator signs in with a password and must set up two-step sign-in ------------
    desk = new_page()
    visit(desk, f"{base}/signin/")
    desk.get_by_label("Username").fill("coord.ana")
    desk.get_by_label("Password").fill(PASSWORD)
    submit(desk, "Sign in", "**/2fa/setup/")
    expect(desk.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()

    # Read the key the way someone typing it into an authenticator app would.
    secret = desk.locator("p.secret code").inner_text().replace(" ", "")
    code = f"{TOTP(base64.b32decode(secret)).token():06d}"
    desk.get_by_label("6-digit code").fill(code)
    submit(desk, "Turn on two-step sign-in", "**/2fa/setup/")
    expect(desk.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    assert desk.locator("ol.codes li").count() == 10

    # --- the roster: create an invitation for a patrol member -------------------------------
    desk.get_by_role("link", name="I wrote them down, continue").click()
    desk.wait_for_url(f"{base}/")
    settle(desk)
    desk.get_by_role("link", name="Organizations and members").click()
    desk.wait_for_url("**/orgs/")
    settle(desk)
    desk.get_by_role("link", name="Vecinos de Boyle Heights").click()
    desk.wait_for_url(f"**/orgs/{org_a.pk}/members/")
    settle(desk)
    desk.get_by_label("Role for the new member").select_option("patrol")
    submit(desk, "Create invitation link", f"**/orgs/{org_a.pk}/invites/")
    link = desk.locator("#invite-link").inner_text().strip()
    assert link.startswith(f"{base}/join/")
    assert desk.locator("figure.qr svg").count() == 1

    # --- a new person opens the link on their phone and joins ------------------------------
    phone = new_page(phone=True)
    visit(phone, link)
    expect(phone.get_by_role("heading", name="Join Vecinos de Boyle Heights")).to_be_visible()
    phone.get_by_label("Username:", exact=True).fill("rosa.vecina")
    # Django's labels end in a colon: "Password:" and "Password again:".
    phone.get_by_label("Password:", exact=True).fill("marigolds on the fire escape")
    phone.get_by_label("Password again:", exact=True).fill("marigolds on the fire escape")
    phone.get_by_label("Name:", exact=True).fill("Rosa Ejemplo")
    phone.get_by_label("Phone:", exact=True).fill("(323) 555-0187")
    phone.get_by_label("Preferred language:", exact=True).select_option("es")
    phone.get_by_role("checkbox", name="Spanish").check()
    phone.get_by_role("checkbox", name="Zapotec").check()
    submit(phone, "Create my account", "**/me/")
    assert "Welcome to Vecinos de Boyle Heights on Vecinos!" in phone.content()
    expect(phone.get_by_role("heading", name="My profile")).to_be_visible()
    expect(phone.get_by_text("New", exact=True)).to_be_visible()  # their vetting level
    rosa = Member.objects.get(username="rosa.vecina")
    assert rosa.tier == Tier.NEW
    # The phone is theirs once the code texted to it comes back (network.phone_change).
    assert rosa.phone == ""
    expect(phone.get_by_role("heading", name="Confirm your new phone number")).to_be_visible()
    phone.get_by_label("Code from the text message:").fill(texted_code("+13235550187"))
    submit(phone, "Confirm the number", "**/me/")
    expect(phone.get_by_text("Your phone number is now (323) 555-0187.")).to_be_visible()
    rosa.refresh_from_db()
    assert rosa.phone == "+13235550187"
    assert rosa.preferred_language == "es"

    # A new member: their own profile yes, the roster and the zones no.
    visit(phone, f"{base}/me/")
    visit(phone, f"{base}/orgs/{org_a.pk}/members/", status=403)
    visit(phone, f"{base}/zones/", status=403)
    expect(phone.get_by_text("You do not have access to this page.")).to_be_visible()

    # --- the coordinator vouches for them from the roster member page -----------------------
    visit(desk, f"{base}/orgs/{org_a.pk}/members/")
    desk.get_by_role("link", name="rosa.vecina").click()
    desk.wait_for_url(f"**/orgs/{org_a.pk}/members/{rosa.pk}/")
    settle(desk)
    submit(desk, "I vouch for rosa.vecina", f"**/orgs/{org_a.pk}/members/{rosa.pk}/")
    expect(desk.get_by_text("Your vouch for rosa.vecina is recorded.")).to_be_visible()
    assert AuditEvent.objects.filter(action="vetting.tier", target_id=str(rosa.pk)).exists()

    # --- now vouched: zones open, the roster still does not ----------------------------------
    visit(phone, f"{base}/zones/")
    expect(phone.get_by_role("heading", name="Zones")).to_be_visible()
    visit(phone, f"{base}/orgs/{org_a.pk}/members/", status=403)

    visit(phone, f"{base}/me/")
    expect(phone.get_by_text("Vouched", exact=True)).to_be_visible()
    # Nothing on the profile is wider than the phone's screen.
    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    phone.screenshot(path=SCREENSHOT, full_page=True)
