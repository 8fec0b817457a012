"""Zones drawn on the map by coalition coordinators (/zones/edit/): the outline becomes the
zone's H3 cells, centre and GeoJSON boundary; everyone else is refused; bad outlines get a
clear message."""

from __future__ import annotations

import json

import h3
import pytest

from vecinos.core.models import AuditEvent
from vecinos.network.models import Zone

pytestmark = pytest.mark.django_db

OUTLINE = [[34.050, -118.225], [34.050, -118.200], [34.030, -118.200], [34.030, -118.225]]


@pytest.mark.parametrize("who", ["coordinator", "dispatcher", "newcomer", "outsider"])
def test_only_coalition_coordinators_edit_zones(client, login, personas, who):
    login(getattr(personas, who))
    assert client.get("/zones/edit/").status_code == 403
    assert (
        client.post(
            "/zones/edit/new/", {"name": "X", "kind": "other", "boundary": json.dumps(OUTLINE)}
        ).status_code
        == 403
    )
    assert not Zone.objects.exists()


def test_signed_out_goes_to_sign_in(client):
    assert client.get("/zones/edit/").status_code == 302


def test_a_drawn_outline_becomes_the_zone(client, login, personas):
    login(personas.coalition)
    response = client.post(
        "/zones/edit/new/",
        {
            "name": "Boyle Heights",
            "kind": "neighborhood",
            "organization": personas.org_a.pk,
            "boundary": json.dumps(OUTLINE),
        },
    )
    assert response.status_code == 302
    zone = Zone.objects.get()
    assert zone.slug == "boyle-heights" and zone.organization == personas.org_a
    assert len(zone.cells) > 20
    assert 34.030 < zone.center_lat < 34.050 and -118.225 < zone.center_lng < -118.200
    inside = h3.latlng_to_cell(34.04, -118.21, 9)
    assert inside in zone.cells
    assert (
        zone.boundary["coordinates"][0][0]
        == zone.boundary["coordinates"][0][-1]
        == [-118.225, 34.05]
    )
    assert AuditEvent.objects.filter(action="zone.save").exists()
    # Redraw it smaller: the cells follow.
    smaller = [[34.045, -118.215], [34.045, -118.205], [34.035, -118.205], [34.035, -118.215]]
    page = client.get(f"/zones/edit/{zone.pk}/").content.decode()
    assert "Boyle Heights" in page and "data-zone-editor" in page
    client.post(
        f"/zones/edit/{zone.pk}/",
        {"name": "Boyle Heights", "kind": "neighborhood", "boundary": json.dumps(smaller)},
    )
    zone.refresh_from_db()
    assert 0 < len(zone.cells) < 40 and zone.organization is None


@pytest.mark.parametrize(
    "boundary, message",
    [
        ("", "Draw the zone"),
        (json.dumps(OUTLINE[:2]), "at least three corners"),
        (
            json.dumps([[34.0400, -118.2100], [34.0401, -118.2100], [34.0401, -118.2101]]),
            "too small",
        ),
        ("[[[1]]]", "could not be read"),
    ],
)
def test_bad_outlines_get_a_clear_message(client, login, personas, boundary, message):
    login(personas.coalition)
    response = client.post("/zones/edit/new/", {"name": "Z", "kind": "other", "boundary": boundary})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Zone.objects.exists()


def test_duplicate_names_are_refused_in_spanish_too(client, login, personas):
    login(personas.coalition)
    client.post(
        "/zones/edit/new/",
        {"name": "Boyle Heights", "kind": "other", "boundary": json.dumps(OUTLINE)},
    )
    response = client.post(
        "/zones/edit/new/",
        {"name": "boyle heights", "kind": "other", "boundary": json.dumps(OUTLINE)},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert response.status_code == 400
    assert "Otra zona ya tiene este nombre." in response.content.decode()
    assert Zone.objects.count() == 1
