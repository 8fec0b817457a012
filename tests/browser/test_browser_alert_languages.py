"""The alert composer in headless Chromium: every other enabled language's message follows the
kind, the place, the time and the details as a dispatcher types them, with nothing fetched from
anywhere (the texts are in the page) and no console error (the CSP forbids inline scripts)."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import browser_sign_in, make_member
from vecinos.alerts import wording
from vecinos.core import languages
from vecinos.network.models import Organization, Role, Tier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OTHERS = [code for code in wording.template_languages() if code not in ("es", "en")]


def test_every_language_follows_the_kind_and_the_facts(live_server, new_page):
    org = Organization.objects.create(name="Vecinos", short_name="vecinos")
    dispatcher = make_member(
        "disp.lu", org=org, roles=(Role.DISPATCHER,), tier=Tier.TRAINED, phone="+13235550140"
    )
    device = TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    page = new_page()
    browser_sign_in(page, live_server.url, "disp.lu", device, to="/alerts/new/")
    outputs = page.locator("[data-preview-lang]")
    expect(outputs).to_have_count(len(OTHERS))
    for code in OTHERS:
        lang = languages.BY_CODE[code]
        output = page.locator(f'output[data-preview-lang="{code}"]')
        assert output.get_attribute("dir") == lang.direction
    page.get_by_label("Kind of alert").select_option("notice")
    page.get_by_label("Area name").fill("Boyle Heights")
    page.locator("#id_time").fill("15:05")
    page.locator("#id_details").fill("Reunión 6pm")
    for code in OTHERS:
        expected = wording.TEMPLATES["notice"][code].replace("{details}", "Reunión 6pm")
        output = page.locator(f'output[data-preview-lang="{code}"]')
        expect(output).to_contain_text(expected.split("Vecinos", 1)[1].strip())
    page.get_by_label("Kind of alert").select_option("sighting")
    for code in OTHERS:
        text = wording.TEMPLATES["sighting"][code]
        filled = text.replace("{area}", "Boyle Heights").replace("{time}", "15:05")
        expect(page.locator(f'output[data-preview-lang="{code}"]')).to_contain_text(
            filled.split("Vecinos", 1)[1].strip()[:40]
        )
        # A sighting's text has no place for the details: they follow it, as the server sends.
        expect(page.locator(f'output[data-preview-lang="{code}"]')).to_contain_text("Reunión 6pm")
    # A language's own details replace the typed ones in its message only.
    page.locator("summary", has_text="한국어").click()  # each language's box is folded
    page.locator("#id_details_ko").fill("오후 6시 모임")
    korean = page.locator('output[data-preview-lang="ko"]')
    expect(korean).to_contain_text("오후 6시 모임")
    expect(korean).not_to_contain_text("Reunión 6pm")
    expect(page.locator('output[data-preview-lang="vi"]')).to_contain_text("Reunión 6pm")
    # Unchecking "every other language" hides them; checking shows them again.
    box = page.locator("[data-template-previews]")
    every = page.get_by_label("Also send it in every other language, written from the template")
    every.uncheck()
    expect(box).to_be_hidden()
    every.check()
    expect(box).to_be_visible()
    assert not page.problems, page.problems
