"""`/` is a public front door for visitors; members still get their own home."""

from __future__ import annotations

import pytest

from vecinos.core.models import CoalitionSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def coalition_row(db):
    from vecinos.core.coalition import invalidate

    row = CoalitionSettings.objects.create(
        pk=1,
        name="Red Vecinal del Valle",
        short_name="RVV",
        hotline={"default": "+12135550199"},
        public_contact="info@example.org",
    )
    invalidate()
    return row


def test_anonymous_visitor_gets_the_public_home_not_a_sign_in_form(client, coalition_row):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Red Vecinal del Valle" in page
    assert 'href="tel:+12135550199"' in page
    for url in ("/report/", "/rumors/", "/subscribe/", "/signin/"):
        assert f'href="{url}"' in page
    assert "info@example.org" in page
    assert 'name="password"' not in page


def test_public_home_in_spanish(client, coalition_row):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Reporte lo que ve" in page
    # As people write it, kept left to right (outside walk: it read "+12135550199").
    assert "Llame a la línea de ayuda: \u2066(213) 555-0199\u2069" in page


def test_without_a_hotline_there_is_no_empty_call_button(client, db):
    page = client.get("/").content.decode()
    assert "tel:" not in page and 'href="/report/"' in page


def test_signed_in_member_keeps_their_own_home(personas, login, coalition_row):
    page = login(personas.verifier).get("/").content.decode()
    assert "Check a rumor" not in page
    assert "/signout/" in page


@pytest.mark.parametrize(
    "url",
    ["/report/", "/v/not-a-token/", "/rights/", "/rights/hotline/?lang=en", "/rights/?lang=ar"],
)
def test_pages_that_say_call_the_hotline_show_the_number(client, coalition_row, url):
    page = client.get(url).content.decode()
    assert 'href="tel:+12135550199"' in page and "(213) 555-0199" in page


def test_the_rights_flyer_and_cards_carry_the_coalitions_hotline(client, coalition_row, settings):
    # They read the environment's VECINOS_HOTLINE_NUMBER, not the number the coalition set in
    # the app: the flyer said "send JOIN and your ZIP code to" and nothing (outside walk).
    import io

    from pypdf import PdfReader

    settings.HOTLINE_NUMBER = ""
    for path in ("/rights/flyer/en.pdf", "/rights/cards/en.pdf"):
        response = client.get(path)
        assert response.status_code == 200, path
        text = "".join(
            page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages
        )
        assert "213" in text and "555" in text and "0199" in text, (path, text[:300])
