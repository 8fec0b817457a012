"""Without tiles, only a map that takes a tap or a typed place says "Tap the spot, or write
the address" (outside walk: the public map and the console said it, and nothing there can be
tapped or typed). The people who can add tiles are told how on every map."""

from __future__ import annotations

import pytest
from django.urls import reverse

TAP = "Tap the spot, or write the address"
ADD_TILES = "the server has no map tiles"


@pytest.fixture(autouse=True)
def _no_tiles(settings):
    settings.MAP_TILES = ""


@pytest.mark.django_db
def test_the_public_map_has_no_tap_hint(client):
    page = client.get(reverse("public_map")).content.decode()
    assert "data-basemap" in page
    assert TAP not in page and ADD_TILES not in page


@pytest.mark.django_db
def test_the_report_form_keeps_its_tap_hint(client):
    assert TAP in client.get(reverse("report_form")).content.decode()


@pytest.mark.django_db
def test_the_console_map_has_no_tap_hint(client, login, personas):
    login(personas.dispatcher)
    page = client.get("/console/").content.decode()
    assert "data-basemap" in page
    assert TAP not in page and ADD_TILES not in page


@pytest.mark.django_db
def test_the_alert_composer_keeps_its_tap_hint(client, login, personas):
    login(personas.dispatcher)
    assert TAP in client.get(reverse("alert_new")).content.decode()


@pytest.mark.django_db
def test_the_coalition_coordinator_is_told_how_to_add_tiles_on_a_read_only_map(
    client, login, personas
):
    login(personas.coalition)
    page = client.get("/console/").content.decode()
    assert ADD_TILES in page and TAP not in page
