"""The rights library in headless Chromium on a phone: Arabic is laid out right to left, and
after one visit the pages open without a connection (the service worker kept them)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.pagewait import wait_for_js
from vecinos.rights import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rights_pages_work_offline_after_one_visit(live_server, new_page, settings):
    services.load_content()
    settings.HOTLINE_NUMBER = "+1 213 555 0100"
    base = live_server.url
    page = new_page(phone=True)
    page.goto(f"{base}/rights/?lang=ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    # The phone number stays left to right inside the Arabic page.
    number = page.locator(".rights-hotline a")
    assert number.evaluate("el => getComputedStyle(el).direction") == "ltr"
    page.screenshot(path="/tmp/rights-ar-phone.png")
    # Wait until the worker controls the page and has saved the library.
    wait_for_js(page, "() => Boolean(navigator.serviceWorker?.controller)", every_ms=100)
    saved: list[str] = []
    for _ in range(120):  # the worker saves about 130 pages, one by one
        saved = page.evaluate(
            """async () => (await (await caches.open("vecinos-rights")).keys()).map(r => r.url)"""
        )
        if f"{base}/rights/at-the-door/?lang=ko" in saved and f"{base}/rights/?lang=ar" in saved:
            break
        page.wait_for_timeout(500)
    assert f"{base}/rights/at-the-door/?lang=ko" in saved, len(saved)
    page.context.set_offline(True)
    page.goto(f"{base}/rights/at-the-door/?lang=ko")
    expect(page.locator("h1")).to_have_text("집 문 앞에서")
    page.goto(f"{base}/rights/?lang=ar")
    expect(page.locator("h1")).to_have_text("اعرف حقوقك ودافع عنها")
    page.context.set_offline(False)
    assert [p for p in page.problems if "ERR_INTERNET_DISCONNECTED" not in p] == []
