"""POST /api/v1/activations takes what the call-out page takes: a radius of 50 m to 50 km, and
zones that exist (an unknown zone id is refused, not silently dropped)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from vecinos.core import geo
from vecinos.mobilize.models import Activation
from vecinos.network.models import Zone, ZoneKind
from vecinos.network.services import token_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_transports")]

BOYLE = (34.0407, -118.2110)


def post_activation(client, member, **extra):
    body = {
        "staging_point": "x",
        "needed_by": (timezone.now() + timedelta(hours=1)).isoformat(),
        "roles": {"observer": 2},
        **extra,
    }
    token = token_create(member=member, name="t").secret
    return client.post(
        "/api/v1/activations",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def a_zone() -> Zone:
    return Zone.objects.create(
        name="Boyle Heights",
        slug="boyle-heights",
        kind=ZoneKind.NEIGHBORHOOD,
        cells=geo.circle_cells(*BOYLE, 600),
        center_lat=BOYLE[0],
        center_lng=BOYLE[1],
    )


@pytest.mark.parametrize("radius", [10**12, 50_001, 49, 0, -5])
def test_a_radius_outside_the_pages_bounds_is_refused(client, personas, radius):
    response = post_activation(
        client, personas.coordinator, lat=BOYLE[0], lng=BOYLE[1], radius_m=radius
    )
    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert error["loc"][-1] == "radius_m"
    bound = "greater than or equal to 50" if radius < 50 else "less than or equal to 50000"
    assert error["msg"] == f"Input should be {bound}"
    assert not Activation.objects.exists()


def test_only_a_radius_within_the_pages_bounds_is_taken(client, personas):
    point = {"lat": BOYLE[0], "lng": BOYLE[1]}
    assert (
        post_activation(client, personas.coordinator, **point, radius_m=10**12).status_code == 422
    )
    for radius in (50, 50_000):
        response = post_activation(client, personas.coordinator, **point, radius_m=radius)
        assert response.status_code == 201, response.content
    assert sorted(Activation.objects.values_list("radius_m", flat=True)) == [50, 50_000]


def test_an_unknown_zone_id_is_refused_not_dropped(client, personas):
    zone = a_zone()
    unknown = zone.pk + 1000
    response = post_activation(client, personas.coordinator, zone_ids=[zone.pk, unknown])
    assert response.status_code == 400, response.content
    assert response.json() == {"errors": {"zone_ids": f"Unknown zones: {unknown}"}}
    assert not Activation.objects.exists()
    # Known ones are taken (a repeated one once).
    response = post_activation(client, personas.coordinator, zone_ids=[zone.pk, zone.pk])
    assert response.status_code == 201, response.content
    assert list(Activation.objects.get().zones.all()) == [zone]
