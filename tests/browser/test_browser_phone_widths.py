"""Pages stay as wide as a phone's screen whatever people type (outside walk: a long word in an
event's title or a rights article widened the page to 514-3227 px, and in Arabic the header
slid off the screen; the alert review's cost table pushed the page to 477 px)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import browser_sign_in, make_member
from vecinos.alerts import services as alert_services
from vecinos.mobilize import events
from vecinos.network.models import Organization, Role, Tier
from vecinos.rights import services as rights
from vecinos.rights.models import Article

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG = "Larguísimo" * 30
FITS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def _coordinator(org):
    member = make_member(
        "coord.width",
        org=org,
        roles=(Role.ORG_COORDINATOR,),
        tier=Tier.TRAINED,
        phone="+13235550190",
    )
    return member, TOTPDevice.objects.create(user=member, name="phone", confirmed=True)


def test_a_long_word_wraps_on_event_pages_in_spanish_and_arabic(live_server, new_page):
    org = Organization.objects.create(name="Vecinos", short_name="vecinos")
    coordinator, _device = _coordinator(org)
    start = timezone.now() + timedelta(days=2)
    event = events.event_create(
        actor=coordinator, organization=org, kind="rally",
        titles={"es": LONG, "ar": LONG}, starts_at=start, ends_at=start + timedelta(hours=2),
        place=LONG, descriptions={"es": LONG},
    )  # fmt: skip
    for locale in ("es-US", "ar"):
        page = new_page(phone=True, locale=locale)
        for path in ("/events/", f"/events/{event.pk}/"):
            page.goto(f"{live_server.url}{path}")
            expect(page.get_by_text(LONG).first).to_be_visible()
            assert page.evaluate(FITS), (
                locale,
                path,
                page.evaluate("document.documentElement.scrollWidth"),
            )
        assert not page.problems, page.problems


def test_a_long_word_wraps_in_a_rights_article(live_server, new_page):
    rights.load_content()
    org = Organization.objects.create(name="Vecinos", short_name="vecinos")
    coordinator, _device = _coordinator(org)
    article = Article.objects.order_by("position", "pk").first()
    version = rights.version_create(
        article=article, language="es", title="Puerta", summary=LONG, body=f"Texto {LONG} fin.",
        actor=coordinator,
    )  # fmt: skip
    rights.version_mark_reviewed(version=version, actor=coordinator)  # the public reads reviewed
    page = new_page(phone=True, locale="es-US")
    page.goto(f"{live_server.url}/rights/{article.slug}/?lang=es")
    expect(page.get_by_text("fin.", exact=False).first).to_be_visible()
    assert page.evaluate(FITS), page.evaluate("document.documentElement.scrollWidth")


def test_the_alert_review_fits_a_phone_with_its_cost_table(live_server, new_page):
    org = Organization.objects.create(name="Vecinos", short_name="vecinos")
    coordinator, device = _coordinator(org)
    for n, lang in enumerate(("es", "en", "tl", "hy", "ko", "zh-hant", "km", "mix")):
        member = make_member(
            f"resp.{lang}", org=org, roles=(Role.RESPONDER,), tier=Tier.VOUCHED,
            phone=f"+1323555020{n}", preferred_language=lang,
        )  # fmt: skip
        alert_services.ensure_member_subscriber(member)
    alert = alert_services.alert_create(
        actor=coordinator, kind="notice", tiers=["responders"],
        messages={"es": "Reunión a las 6pm en la plaza.", "en": "Meeting at 6pm at the plaza."},
    )  # fmt: skip
    page = new_page(phone=True)
    browser_sign_in(page, live_server.url, "coord.width", device, to=f"/alerts/{alert.pk}/")
    table = page.locator("#alert-languages")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).not_to_have_count(0)
    assert page.evaluate(FITS), page.evaluate("document.documentElement.scrollWidth")
    # Read whole, not cut off in a box that scrolls sideways with no hint (outside walk): one
    # card per language, each figure named.
    assert table.evaluate("el => el.scrollWidth <= el.clientWidth"), table.evaluate(
        "el => [el.scrollWidth, el.clientWidth]"
    )
    cost = table.locator("tbody tr").first.locator("td").last
    assert cost.evaluate("el => getComputedStyle(el, '::before').content") == '"Estimated cost"'
    # Each figure beside its name: a cell's content is one piece, not split over the card's
    # rows (a voice call's "Voice call · Español" was).
    split = table.evaluate(
        """el => Array.from(el.querySelectorAll('tbody td')).filter(td => {
             const last = td.lastElementChild;
             return last && last.getBoundingClientRect().top - td.getBoundingClientRect().top > 20;
           }).map(td => td.textContent)"""
    )
    assert not split, split
    total = page.locator("#alert-total-cost").evaluate("el => el.getBoundingClientRect().right")
    assert total <= page.evaluate("document.documentElement.clientWidth"), total
    # The alert list's cards: each cell's pieces on one line beside its label (outside walk,
    # session 19: "· coord.width" and "(0)" fell under the label, as cells of their own).
    page.goto(f"{live_server.url}/alerts/")
    created = page.locator("table.table-stack tbody tr").first.locator("td").last
    expect(created).to_contain_text("coord.width")
    # Where the cell's last piece of text starts, from the card's edge: beside the 7rem label,
    # on every line it takes, never under the label.
    inset = created.evaluate(
        """el => {
             const text = Array.from(el.childNodes)
               .filter(n => n.nodeType === 3 && n.textContent.trim()).pop();
             const range = document.createRange();
             range.selectNodeContents(text);
             const lefts = Array.from(range.getClientRects()).map(r => r.left);
             return Math.min(...lefts) - el.getBoundingClientRect().left;
           }"""
    )
    assert inset >= 7 * 16, inset
    assert page.evaluate(FITS), page.evaluate("document.documentElement.scrollWidth")
    assert not page.problems, page.problems
