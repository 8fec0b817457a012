"""Call-outs asked by an area drawn on the map (issue 14, "in the alert composer (and
call-outs)"): the page carries the drawing map and the hidden polygon, the polygon is stored and
the fan-out asks exactly the people whose areas touch it (the alerts' own selection, the count
the composer showed), bad drawings get a clear message, the API takes a polygon too, and the
console map places a call-out with only a drawn area at the area's middle."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import sign_in
from vecinos.alerts.models import Subscriber, SubscriptionArea, Tier
from vecinos.core import geo
from vecinos.mobilize import selectors, services
from vecinos.mobilize.models import Activation, Response
from vecinos.transports import registry

pytestmark = pytest.mark.django_db

# A drawn quadrilateral over Boyle Heights, about 3 x 3 km.
SQUARE = [[34.055, -118.230], [34.055, -118.195], [34.028, -118.195], [34.028, -118.230]]


@pytest.fixture(autouse=True)
def _transports():
    registry.reset()
    yield
    registry.reset()


def public(lat, lng, language="es"):
    sub = Subscriber.objects.create(
        status=Subscriber.Status.ACTIVE, language=language, channels=["sms"], source="web"
    )
    SubscriptionArea.objects.create(
        subscriber=sub, lat=lat, lng=lng, radius_m=300, cell7=geo.cell_of(lat, lng, 7)
    )
    return sub


def form(**extra) -> dict:
    when = (timezone.localtime() + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    return {
        "staging_point": "Mariachi Plaza, east side",
        "needed_by": when,
        "role_observer": "2",
        "guidance_en": "Observe from a safe distance.",
        "tiers": [Tier.PUBLIC],
        "wave_size": "20",
        "wave_minutes": "10",
        **extra,
    }


def test_the_new_call_out_page_has_the_drawing_map_and_its_live_count(client, personas):
    sign_in(client, personas.dispatcher)
    page = client.get("/mobilize/new/").content.decode()
    assert "data-area-map" in page and 'id="alert-map"' in page
    assert 'data-reach-url="/alerts/reach.json"' in page
    assert 'type="hidden" name="polygon"' in page
    assert "leaflet-geoman.min.js" in page and "js/area_map.js" in page
    assert 'id="draw-strings"' in page


def test_the_call_out_map_is_named_for_a_call_out_and_the_alert_map_for_an_alert(client, personas):
    # Screen readers hear what the map is for (issue 14's audit found the call-out map
    # announced as the alert area).
    sign_in(client, personas.dispatcher)
    callout = client.get("/mobilize/new/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert 'aria-label="Mapa: dibuje el área de la convocatoria"' in callout
    assert "Map: draw the alert area" not in callout
    alert = client.get("/alerts/new/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'aria-label="Map: draw the alert area"' in alert


def test_a_drawn_area_asks_exactly_those_inside_and_matches_the_live_count(client, personas):
    inside = [public(34.04, -118.21, "es"), public(34.045, -118.20, "en")]
    public(34.20, -118.21)  # far outside
    sign_in(client, personas.dispatcher)
    counted = client.get(
        "/alerts/reach.json", {"tiers": Tier.PUBLIC, "polygon": json.dumps(SQUARE)}
    ).json()
    assert counted["total"] == 2
    response = client.post("/mobilize/new/", form(polygon=json.dumps(SQUARE)))
    assert response.status_code == 302, response.content.decode()[:2000]
    activation = Activation.objects.get()
    assert activation.polygon == SQUARE
    assert activation.lat is None and activation.radius_m is None
    # The public waits for a second person (the alerts' rule); then exactly those inside.
    assert activation.status == Activation.Status.PENDING
    services.activation_approve(activation=activation, actor=personas.coalition)
    asked = set(
        Response.objects.filter(activation=activation).values_list("subscriber_id", flat=True)
    )
    assert asked == {s.pk for s in inside}
    assert len(asked) == counted["total"]


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ("[[34.0, -118.2], [34.1, -118.2]]", "An area needs at least three corners."),
        ("not json", "The drawn area could not be read. Draw it again."),
        ("[[95, 0], [34.1, -118.2], [34.0, -118.3]]", "The drawn area is not on the map."),
    ],
)
def test_a_bad_drawing_gets_a_clear_message_and_nothing_is_sent(client, personas, polygon, message):
    sign_in(client, personas.dispatcher)
    response = client.post("/mobilize/new/", form(polygon=polygon))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Activation.objects.exists()


def test_a_drawn_area_alone_is_enough_for_members_and_the_public(personas):
    activation = services.activation_create(
        actor=personas.dispatcher,
        staging_point="Mariachi Plaza",
        needed_by=timezone.now() + timedelta(minutes=30),
        roles={"observer": 2},
        tiers=[Tier.MEMBERS],
        polygon=SQUARE,
    )
    assert activation.polygon == SQUARE
    with pytest.raises(services.ActivationError) as exc:
        services.activation_create(
            actor=personas.dispatcher,
            staging_point="Mariachi Plaza",
            needed_by=timezone.now() + timedelta(minutes=30),
            roles={"observer": 2},
            tiers=[Tier.MEMBERS],
            polygon=[[34.0, -118.2], [34.1, float("nan")], [34.0, -118.3]],
        )
    assert exc.value.errors["polygon"] == "That place is not on the map."


def test_the_api_takes_a_drawn_area(client, personas):
    from vecinos.network.services import token_create

    public(34.04, -118.21)
    secret = token_create(member=personas.dispatcher, name="ci").secret
    payload = {
        "staging_point": "Mariachi Plaza",
        "needed_by": (timezone.now() + timedelta(minutes=30)).isoformat(),
        "roles": {"observer": 2},
        "tiers": ["members", "public"],
        "polygon": SQUARE,
    }
    response = client.post(
        "/api/v1/activations",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 201, response.content
    assert Activation.objects.get().polygon == SQUARE
    bad = client.post(
        "/api/v1/activations",
        json.dumps({**payload, "polygon": [[34.0, -118.2]]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert bad.status_code == 400 and "polygon" in bad.json()["errors"]


def test_the_console_map_places_a_drawn_only_call_out_at_the_areas_middle(personas):
    activation = services.activation_create(
        actor=personas.dispatcher,
        staging_point="Mariachi Plaza",
        needed_by=timezone.now() + timedelta(minutes=30),
        roles={"observer": 2},
        tiers=[Tier.RESPONDERS, Tier.MEMBERS],
        polygon=SQUARE,
    )
    services.activation_send(activation=activation, actor=personas.dispatcher)
    [point] = selectors.open_staging_points(personas.dispatcher)
    assert (point["lat"], point["lng"]) == (34.0415, -118.2125)
