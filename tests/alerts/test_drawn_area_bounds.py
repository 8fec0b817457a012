"""The alert composer's and the call-out's drawn area go through the same cheap guard as
zones (vecinos.core.geo.check_outline): a huge area would make the live count and the fan-out
fill hundreds of thousands of H3 cells, so it is refused with a clear message, as are areas
crossing the date line or themselves."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.alerts.test_alert_areas import compose
from tests.conftest import sign_in
from vecinos.alerts.models import Alert, Tier
from vecinos.mobilize.models import Activation

pytestmark = pytest.mark.django_db

HUGE = [[22.0, -130.0], [22.0, -106.0], [46.0, -106.0], [46.0, -130.0]]  # 24° x 24°
DATE_LINE = [[10.0, 179.9], [10.0, -179.9], [10.1, -179.9], [10.1, 179.9]]
BOWTIE = [[34.055, -118.230], [34.028, -118.195], [34.055, -118.195], [34.028, -118.230]]
BAD = [
    (HUGE, "That area is too large (at most 5,000 km²)"),
    (DATE_LINE, "The drawn area is not on the map."),
    (BOWTIE, "The outline crosses itself."),
]


@pytest.mark.parametrize(("polygon", "message"), BAD)
def test_the_composer_refuses_the_area(client, personas, polygon, message):
    sign_in(client, personas.dispatcher)
    response = compose(client, polygon=json.dumps(polygon))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Alert.objects.exists()


@pytest.mark.parametrize(("polygon", "message"), BAD)
def test_the_live_count_refuses_the_area_before_any_fill(
    client, personas, polygon, message, h3_fills
):
    # "Quickly" without a stopwatch (a unit test on a noisy machine asserts no speed): the
    # refusal comes before the H3 fill, the only step whose cost grows with the area.
    sign_in(client, personas.dispatcher)
    response = client.get("/alerts/reach.json", {"tiers": "public", "polygon": json.dumps(polygon)})
    assert response.status_code == 400
    assert message in json.dumps(response.json(), ensure_ascii=False)
    assert h3_fills == []
    # The same spy sees the fill of an area that is counted.
    small = [[34.05, -118.23], [34.05, -118.20], [34.03, -118.20], [34.03, -118.23]]
    assert (
        client.get(
            "/alerts/reach.json", {"tiers": "public", "polygon": json.dumps(small)}
        ).status_code
        == 200
    )
    assert h3_fills


@pytest.mark.parametrize(("polygon", "message"), BAD)
def test_a_call_out_refuses_the_area(client, personas, polygon, message):
    sign_in(client, personas.dispatcher)
    when = (timezone.localtime() + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/mobilize/new/",
        {
            "staging_point": "Mariachi Plaza, east side",
            "needed_by": when,
            "role_observer": "2",
            "guidance_en": "Observe from a safe distance.",
            "tiers": [Tier.PUBLIC],
            "wave_size": "20",
            "wave_minutes": "10",
            "polygon": json.dumps(polygon),
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Activation.objects.exists()


@pytest.mark.parametrize(("polygon", "message"), BAD)
def test_the_call_out_api_refuses_the_area(client, personas, polygon, message):
    from vecinos.network.services import token_create

    secret = token_create(member=personas.dispatcher, name="ci").secret
    payload = {
        "staging_point": "Mariachi Plaza",
        "needed_by": (timezone.now() + timedelta(minutes=30)).isoformat(),
        "roles": {"observer": 2},
        "tiers": ["members", "public"],
        "polygon": polygon,
    }
    response = client.post(
        "/api/v1/activations",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 400
    assert message in response.json()["errors"]["polygon"]
    assert not Activation.objects.exists()


NESTED = "[" * 5000 + "]" * 5000  # past Python's recursion limit: was a 500 (outside walk)


def test_an_area_nested_thousands_deep_is_a_clear_error(client, personas):
    sign_in(client, personas.dispatcher)
    response = compose(client, polygon=NESTED)
    assert response.status_code == 200
    assert "The drawn area could not be read. Draw it again." in response.content.decode()
    assert not Alert.objects.exists()
    count = client.get("/alerts/reach.json", {"tiers": "public", "polygon": NESTED})
    assert count.status_code == 400
