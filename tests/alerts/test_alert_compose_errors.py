"""A refused alert says what to fix at the top of the composer, each item a link to its field
(outside walk on a phone: the error sat far below the button, and the page reopened at its top
with nothing said, so the button seemed to do nothing). tests/browser/test_browser_phone_layout.py
checks the summary takes the focus."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from vecinos.alerts import wording
from vecinos.alerts.models import Alert


def compose(client, language: str = "en", **fields):
    data = {
        "kind": "activation",
        "tiers": ["internal"],
        "message_es": "Activación: vayan a observar.",
        "message_en": "Activation: go observe.",
        "expires_hours": "4",
        "radius_m": "2000",
    }
    data.update(fields)
    return client.post(reverse("alert_new"), data, HTTP_ACCEPT_LANGUAGE=language)


def summary_of(page: str) -> str:
    match = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', page, re.S)
    assert match, "no error summary"
    return match.group(1)


@pytest.mark.django_db
def test_a_missing_detail_is_listed_and_linked_at_the_top_in_spanish(client, login, personas):
    login(personas.dispatcher)
    response = compose(
        client,
        language="es",
        kind="notice",
        all_languages="on",
        tiers=["internal"],
        message_es=wording.TEMPLATES["notice"]["es"],
        message_en=wording.TEMPLATES["notice"]["en"],
        details="",
    )
    assert response.status_code == 200
    assert not Alert.objects.exists()
    page = response.content.decode()
    summary = summary_of(page)
    assert page.index('class="error-summary"') < page.index('<form method="post" action="/alerts/')
    assert 'role="alert" tabindex="-1"' in page and "data-error-summary" in page
    assert "Por favor, revise los campos marcados abajo." in summary
    assert '<a href="#id_details">' in summary
    assert "Complete esto: el mensaje en cada idioma lo necesita." in summary
    assert 'id="id_details"' in page  # the link's target


@pytest.mark.django_db
def test_a_bad_drawn_area_links_to_the_where_box(client, login, personas):
    login(personas.dispatcher)
    response = compose(client, tiers=["public"], polygon="not a polygon")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<a href="#alert-where">Where</a>' in summary_of(page)
    assert 'id="alert-where"' in page


@pytest.mark.django_db
def test_a_public_alert_without_a_place_links_to_the_zones(client, login, personas):
    login(personas.dispatcher)
    response = compose(client, tiers=["public"])
    assert response.status_code == 200
    assert '<a href="#id_zones">Zones</a>' in summary_of(response.content.decode())


@pytest.mark.django_db
def test_a_fresh_composer_has_no_summary(client, login, personas):
    login(personas.dispatcher)
    page = client.get("/alerts/new/").content.decode()
    assert "error-summary" not in page and "data-error-summary" not in page
