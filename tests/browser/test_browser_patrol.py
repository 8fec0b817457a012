"""End to end in headless Chromium, on a phone-sized screen: a trained patrol member finds a
shift near a school, signs up as its lead, checks in from the place, marks activity seen and
files the patrol report; a dispatcher's console shows it as a trusted report.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import PASSWORD, browser_sign_in, make_member
from vecinos.network.models import Organization, Role, Tier
from vecinos.patrols.models import Place, Shift, Signup
from vecinos.reports.models import Report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/patrol-phone.png"
FINDER_SCREENSHOT = "/tmp/patrol-phone-finder.png"
REPORT_SCREENSHOT = "/tmp/patrol-phone-report.png"
SCHOOL_AT = (34.0400, -118.2100)
PHONE_AT = {"latitude": 34.0402, "longitude": -118.2097}  # by the school's gate
NOTES = "Stand at the north gate on Soto St."


def no_problems(*pages) -> None:
    for page in pages:
        assert list(page.problems) == [], (page.url, list(page.problems))


def settle(page) -> None:
    page.wait_for_load_state("load")
    no_problems(page)


def test_patrol_lead_reports_activity_and_dispatcher_sees_it_trusted(
    live_server, new_page, settings
):
    settings.SECRET_KEY = secrets.token_urlsafe(50)  # fresh rate-limit keys on Redis
    base = live_server.url
    org = Organization.objects.create(name="Vecinos de Boyle Heights", short_name="boyle")
    make_member(
        "pat.rosa",
        org=org,
        roles=(Role.PATROL,),
        tier=Tier.TRAINED,
        phone="+12135550121",
        preferred_language="en",
    )
    dispatcher = make_member(
        "disp.marta", org=org, roles=(Role.DISPATCHER,), tier=Tier.TRAINED, phone="+12135550122"
    )
    device = TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    school = Place.objects.create(
        name="Escuela Primaria Sol",
        kind="school",
        lat=SCHOOL_AT[0],
        lng=SCHOOL_AT[1],
        organization=org,
        notes=NOTES,
    )
    start = timezone.now() + timedelta(minutes=10)  # check-in is open 30 minutes before
    shift = Shift.objects.create(place=school, starts_at=start, ends_at=start + timedelta(hours=1))
    Place.objects.create(  # a place far away: not in the "near me" list
        name="Corte Lejana", kind="courthouse", lat=34.3, lng=-118.6, organization=org
    )

    # --- the patrol member signs in on their phone (no second factor for patrol members) -----
    phone = new_page(phone=True)
    phone.context.grant_permissions(["geolocation"], origin=base)
    phone.context.set_geolocation(PHONE_AT)
    phone.goto(f"{base}/patrols/")
    phone.wait_for_url("**/signin/**")
    settle(phone)
    phone.get_by_label("Username").fill("pat.rosa")
    phone.get_by_label("Password").fill(PASSWORD)
    with phone.expect_navigation():
        phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_url(f"{base}/patrols/")
    settle(phone)
    expect(phone.get_by_role("heading", name="Patrol shifts", exact=True)).to_be_visible()
    expect(phone.locator("#main")).to_contain_text("You have no shifts yet.")

    # --- "Use my location": the nearest shifts, with the distance ------------------------------
    with phone.expect_navigation(url=re.compile(r"/patrols/\?lat=34\.040&lng=-118\.210")):
        phone.get_by_role("button", name="Use my location").click()
    settle(phone)
    card = phone.locator(f'[data-shift="{shift.pk}"]')
    expect(card).to_contain_text("Escuela Primaria Sol")
    expect(card).to_contain_text("0.0 km away")
    expect(card).to_contain_text("Lead needed")
    expect(card).to_contain_text("0 of 4 signed up")
    expect(phone.locator("#main")).not_to_contain_text("Corte Lejana")
    phone.screenshot(path=FINDER_SCREENSHOT, full_page=True)

    with phone.expect_navigation():
        card.get_by_role("link", name="Escuela Primaria Sol").click()
    phone.wait_for_url(f"**/patrols/shifts/{shift.pk}/")
    settle(phone)
    expect(phone.get_by_role("heading", name="Escuela Primaria Sol")).to_be_visible()
    expect(phone.locator('[data-private="notes"]')).to_contain_text(NOTES)

    # --- sign up as the lead --------------------------------------------------------------------
    with phone.expect_navigation():
        phone.get_by_role("button", name="Sign up as lead").click()
    settle(phone)
    expect(phone.locator(".messages")).to_contain_text("You are signed up as the lead")
    expect(phone.locator('[data-private="roster"]')).to_contain_text("pat.rosa")
    expect(phone.locator('[data-private="roster"]')).to_contain_text("Lead")

    # --- check in: the phone's location, once; the server keeps "at the place" -----------------
    share = phone.get_by_label(re.compile("Use my location once to confirm"))
    expect(share).to_be_checked()
    with phone.expect_navigation():
        phone.get_by_role("button", name="Check in").click()
    settle(phone)
    expect(phone.locator(".messages")).to_contain_text("You are checked in at the place.")
    row = Signup.objects.get(shift=shift)
    assert row.is_lead and row.checked_in_at is not None and row.checked_in_at_place is True

    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "the shift page is wider than the phone"
    phone.screenshot(path=SCREENSHOT, full_page=True)

    # --- activity seen: the patrol report, pre-filled with the place and time ---------------------
    with phone.expect_navigation(url=f"**/patrols/shifts/{shift.pk}/report/"):
        phone.get_by_role("button", name="Activity seen").click()
    settle(phone)
    expect(phone.get_by_role("heading", name="Patrol report")).to_be_visible()
    expect(phone.locator(".prefilled")).to_contain_text("Escuela Primaria Sol")
    expect(phone.get_by_label("Near a school")).to_be_checked()
    phone.get_by_label("How many agents?").fill("3")
    phone.get_by_label("How many vehicles?").fill("2")
    phone.get_by_label("ICE / ERO").check()
    phone.get_by_label("Note for the dispatchers").fill("Two unmarked vans by the north gate.")
    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "the report page is wider than the phone"
    phone.screenshot(path=REPORT_SCREENSHOT, full_page=True)
    with phone.expect_navigation(url="**/report/sent/"):
        phone.get_by_role("button", name="Send to the dispatchers").click()
    settle(phone)
    expect(phone.get_by_role("heading", name="Patrol report sent")).to_be_visible()
    expect(phone.locator(".badge-trusted")).to_have_text(
        "Sent to the dispatchers as a trusted report"
    )
    receipt = phone.locator(".receipt-big").inner_text().strip()
    report = Report.objects.get(receipt=receipt)
    assert report.trusted and report.channel == "patrol" and report.activity == "school"
    assert (report.agents_count, report.vehicles_count, report.agency) == (3, 2, "ice")
    shift.refresh_from_db()
    assert shift.outcome == Shift.Outcome.ACTIVITY and shift.report_id == report.pk

    # --- the dispatcher signs in (password, then the authenticator code) -----------------------
    desk = new_page()
    browser_sign_in(desk, base, "disp.marta", device, to="/console/")
    expect(desk.get_by_role("heading", name="Dispatcher console")).to_be_visible()
    queue_row = desk.locator(f'#console-live [data-row="r{report.pk}"]')
    expect(queue_row).to_contain_text(receipt)
    expect(queue_row).to_have_class(re.compile(r"\brow-trusted\b"))
    expect(queue_row.locator(".badge-trusted")).to_have_text("vetted member")
    expect(queue_row).to_contain_text("Patrol / member")
    expect(queue_row).to_contain_text("Near a school")
    expect(queue_row).to_contain_text("Escuela Primaria Sol")
    expect(queue_row).to_contain_text("3 agents")

    no_problems(phone, desk)
