"""No WCAG 2.2 AA violation that axe-core finds, on the main pages, signed out and signed in.

axe-core is vendored for the tests only (tests/assets/axe-core), never served by the app; the
browser context bypasses the CSP only to inject it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import browser_sign_in, make_member
from vecinos.network.models import Organization, Role, Tier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent.parent / "assets" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PUBLIC_PAGES = ["/", "/report/", "/rumors/", "/map/", "/subscribe/", "/signin/"]
MEMBER_PAGES = [
    "/",
    "/me/",
    "/me/alerts/",
    "/duty/",
    "/quick-report/",
    "/console/",
    "/alerts/",
    "/alerts/new/",
    "/mobilize/new/",
    "/patrols/",
    "/patrols/coverage/",
    "/tree/",
    "/events/new/",
]


def violations(page, url: str) -> list[str]:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.wait_for_load_state("load")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [
        f"{url}: {v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:3])
        for v in result["violations"]
    ]


@pytest.fixture
def axe_page(browser):
    contexts = []

    def _page(locale: str = "en-US"):
        context = browser.new_context(
            locale=locale, viewport={"width": 1280, "height": 900}, bypass_csp=True
        )
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        return page

    yield _page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("locale", ["en-US", "es-US"])
def test_public_pages_have_no_wcag_violations(live_server, axe_page, locale):
    page = axe_page(locale)
    found = []
    for path in PUBLIC_PAGES:
        found += violations(page, live_server.url + path)
    assert found == [], "\n".join(found)


def test_signed_in_pages_have_no_wcag_violations(live_server, axe_page):
    org = Organization.objects.create(name="Vecinos de Boyle Heights", short_name="boyle")
    member = make_member(
        "disp.rosa",
        org=org,
        roles=(Role.DISPATCHER, Role.VERIFIER, Role.ORG_COORDINATOR, Role.PATROL, Role.CAPTAIN),
        tier=Tier.TRAINED,
        phone="+12135550141",
        preferred_language="en",
    )
    device = TOTPDevice.objects.create(user=member, name="phone", confirmed=True)
    page = axe_page()
    browser_sign_in(page, live_server.url, "disp.rosa", device, to="/me/")
    found = []
    for path in MEMBER_PAGES:
        found += violations(page, live_server.url + path)
    assert found == [], "\n".join(found)


def test_a_fragment_opened_directly_is_a_whole_document(live_server, axe_page):
    org = Organization.objects.create(name="Vecinos de Boyle Heights", short_name="boyle")
    member = make_member(
        "disp.luz", org=org, roles=(Role.DISPATCHER,), tier=Tier.TRAINED, phone="+12135550142"
    )
    device = TOTPDevice.objects.create(user=member, name="phone", confirmed=True)
    page = axe_page()
    browser_sign_in(page, live_server.url, "disp.luz", device, to="/console/")
    found = violations(page, live_server.url + "/console/queue/")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.title()
    assert found == [], "\n".join(found)
