"""Zones drawn on /zones/edit/ must be a coalition-sized, simple outline on the map: a huge
box (a zoomed-out map tapped by accident) once filled millions of H3 cells and locked the
database for minutes; zones across the date line or crossing themselves were saved too. They
are refused with a field error, cheaply and before any fill, and nothing is saved."""

from __future__ import annotations

import json

import pytest

from vecinos.network.models import Zone

pytestmark = pytest.mark.django_db

# A Boyle Heights-sized neighborhood, about 2.3 x 2.2 km.
NEIGHBORHOOD = [[34.050, -118.225], [34.050, -118.200], [34.030, -118.200], [34.030, -118.225]]
# The same corners in the wrong order: a bowtie whose two edges cross.
BOWTIE = [[34.050, -118.225], [34.030, -118.200], [34.050, -118.200], [34.030, -118.225]]


def save_zone(client, boundary, name="Test zone", **headers):
    return client.post(
        "/zones/edit/new/",
        {"name": name, "kind": "neighborhood", "boundary": json.dumps(boundary)},
        **headers,
    )


@pytest.mark.parametrize(
    "boundary",
    [
        # A 3° x 3° box over Southern California (~90,000 km², ~850,000 zone cells).
        [[33.0, -119.0], [33.0, -116.0], [36.0, -116.0], [36.0, -119.0]],
        # The Arctic zone tap-drawn on a zoomed-out phone map.
        [[81.97, 84.37], [81.97, 168.75], [82.5, 168.75], [82.5, 84.37]],
    ],
)
def test_a_huge_zone_is_refused_before_any_fill_and_nothing_is_saved(
    client, login, personas, boundary, h3_fills
):
    # "Quickly" without a stopwatch (a unit test on a noisy machine asserts no speed): the
    # refusal must come before the H3 fill, the only step whose cost grows with the area.
    login(personas.coalition)
    response = save_zone(client, boundary)
    assert response.status_code == 400
    assert "That area is too large (at most 5,000 km²)" in response.content.decode()
    assert h3_fills == []
    assert not Zone.objects.exists()
    # The same spy sees the fill of a zone that is accepted.
    assert save_zone(client, NEIGHBORHOOD).status_code == 302
    assert len(h3_fills) == 1


@pytest.mark.parametrize(
    "boundary",
    [
        # Latitude 10, a small box straddling the date line (its longitudes span 359°).
        [[10.0, 179.9], [10.0, -179.9], [10.1, -179.9], [10.1, 179.9]],
    ],
)
def test_a_zone_across_the_date_line_is_refused(client, login, personas, boundary):
    login(personas.coalition)
    response = save_zone(client, boundary)
    assert response.status_code == 400
    assert "The drawn area is not on the map." in response.content.decode()
    assert not Zone.objects.exists()


def test_a_bowtie_is_refused_and_the_same_corners_in_order_save(client, login, personas):
    login(personas.coalition)
    response = save_zone(client, BOWTIE)
    assert response.status_code == 400
    assert "The outline crosses itself." in response.content.decode()
    assert not Zone.objects.exists()
    # A normal neighborhood-sized zone still saves.
    response = save_zone(client, NEIGHBORHOOD)
    assert response.status_code == 302
    zone = Zone.objects.get()
    assert 20 < len(zone.cells) < 100


def test_a_boundary_nested_thousands_deep_is_a_clear_error(client, login, personas):
    login(personas.coalition)
    response = client.post(
        "/zones/edit/new/",
        {"name": "Nested", "kind": "neighborhood", "boundary": "[" * 5000 + "]" * 5000},
    )
    assert response.status_code in (200, 400)
    assert not Zone.objects.filter(name="Nested").exists()
