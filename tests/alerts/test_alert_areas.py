"""Areas drawn on the map: polygon selection (the fan-out's own), the composer's live count,
drawn polygons through the composer page, and CAP <polygon>."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET

import pytest

from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, Subscriber, SubscriptionArea, Tier
from vecinos.core import geo
from vecinos.network.models import Zone
from vecinos.transports import registry

pytestmark = pytest.mark.django_db

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
# A drawn quadrilateral over Boyle Heights, about 3 x 3 km.
SQUARE = [[34.055, -118.230], [34.055, -118.195], [34.028, -118.195], [34.028, -118.230]]


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def public(lat, lng, radius=500, language="es", status=Subscriber.Status.ACTIVE, phone=""):
    sub = Subscriber.objects.create(
        status=status, language=language, channels=["sms"], source="web"
    )
    SubscriptionArea.objects.create(
        subscriber=sub, lat=lat, lng=lng, radius_m=radius, cell7=geo.cell_of(lat, lng, 7)
    )
    return sub


def brute_force(ring, subs):
    plane = geo.Plane(*ring[0])
    shape = [plane.xy(a, b) for a, b in ring]
    out = set()
    for sub, (lat, lng, radius) in subs.items():
        x, y = plane.xy(lat, lng)
        if geo.point_in_ring(x, y, shape) or geo.distance_to_ring(x, y, shape) <= radius:
            out.add(sub)
    return out


def test_polygon_selection_matches_the_exact_rule_for_scattered_subscribers():
    rng = random.Random(5)
    subs = {}
    for _ in range(400):
        lat, lng = 34.04 + rng.uniform(-0.09, 0.09), -118.21 + rng.uniform(-0.1, 0.1)
        radius = rng.choice([200, 500, 1000, 3000, 5000])
        subs[public(lat, lng, radius).pk] = (lat, lng, radius)
    concave = [*SQUARE[:2], [34.040, -118.212], *SQUARE[2:]]  # a notch in the east side
    for ring in (SQUARE, concave):
        found = services.subscribers_in_polygon(ring=ring)
        assert found == brute_force(ring, subs)
        assert 20 < len(found) < 400


def test_stopped_and_pending_subscribers_and_far_ones_are_left_out():
    inside = public(34.04, -118.21)
    public(34.04, -118.211, status=Subscriber.Status.STOPPED)
    public(34.041, -118.212, status=Subscriber.Status.PENDING)
    public(34.20, -118.21)  # 16 km north
    near = public(34.058, -118.21, radius=1000)  # 330 m outside the north edge, 1 km radius
    assert services.subscribers_in_polygon(ring=SQUARE) == {inside.pk, near.pk}


def test_zone_subscriptions_count_when_the_zone_touches_the_polygon():
    zone = Zone.objects.create(
        name="Boyle Heights",
        slug="bh",
        kind="neighborhood",
        cells=geo.circle_cells(34.04, -118.21, 600),
        center_lat=34.04,
        center_lng=-118.21,
    )
    far_zone = Zone.objects.create(
        name="Pasadena",
        slug="pas",
        kind="neighborhood",
        cells=geo.circle_cells(34.15, -118.14, 600),
        center_lat=34.15,
        center_lng=-118.14,
    )
    sub = Subscriber.objects.create(status=Subscriber.Status.ACTIVE, language="en", source="web")
    SubscriptionArea.objects.create(subscriber=sub, zone=zone)
    other = Subscriber.objects.create(status=Subscriber.Status.ACTIVE, language="en", source="web")
    SubscriptionArea.objects.create(subscriber=other, zone=far_zone)
    assert services.subscribers_in_polygon(ring=SQUARE) == {sub.pk}


def compose(client, **fields):
    data = {
        "kind": "sighting",
        "tiers": ["public"],
        "message_es": "Operativo confirmado en la zona.",
        "message_en": "Confirmed operation in the area.",
        "expires_hours": "4",
        "radius_m": "",
        **fields,
    }
    return client.post("/alerts/new/", data)


def test_a_drawn_polygon_is_stored_and_the_fan_out_uses_it(client, login, personas):
    inside = public(34.04, -118.21, language="en")
    public(34.10, -118.30)
    login(personas.dispatcher)
    response = compose(client, polygon=json.dumps(SQUARE))
    assert response.status_code == 302, response.content.decode()[:3000]
    alert = Alert.objects.get()
    assert alert.polygon == SQUARE
    services.alert_send(alert=alert, actor=personas.dispatcher)
    services.alert_approve(alert=alert, actor=personas.coordinator)
    assert list(AlertRecipient.objects.values_list("subscriber_id", flat=True)) == [inside.pk]


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{not json", "could not be read"),
        (json.dumps([[34.0, -118.2], [34.1, -118.2]]), "at least three corners"),
        (json.dumps([[95.0, -118.2], [34.1, -118.2], [34.1, -118.3]]), "not on the map"),
        (
            json.dumps([[34.0, -118.2]] * 2 + [[34.0 + i / 1000, -118.3] for i in range(205)]),
            "too many corners",
        ),
        (json.dumps([["a", "b"], [1, 2], [3, 4]]), "could not be read"),
    ],
)
def test_a_bad_drawn_area_gets_a_clear_message(client, login, personas, bad, message):
    login(personas.dispatcher)
    response = compose(client, polygon=bad)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Alert.objects.exists()


def test_cap_carries_the_polygon_closed_and_coarse(client, personas):
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind="sighting",
        tiers=[Tier.PUBLIC],
        messages={"es": "Operativo.", "en": "Operation."},
        polygon=SQUARE,
        area_label="Boyle Heights",
    )
    services.alert_send(alert=alert, actor=personas.dispatcher)
    services.alert_approve(alert=alert, actor=personas.coordinator)
    doc = ET.fromstring(client.get(f"/cap/alerts/{alert.pk}.xml").content)
    area = doc.find(f"{CAP}info/{CAP}area")
    tags = [c.tag.removeprefix(CAP) for c in area]
    assert tags == ["areaDesc", "polygon"]
    pairs = area.findtext(f"{CAP}polygon").split(" ")
    assert pairs[0] == pairs[-1] == "34.05,-118.23" and len(pairs) == 5
    assert all(len(p.split(",")[0].split(".")[1]) == 2 for p in pairs)


def test_a_tiny_polygon_becomes_a_coarse_circle_in_cap(client, personas):
    tiny = [[34.0401, -118.2101], [34.0403, -118.2101], [34.0403, -118.2104]]
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind="sighting",
        tiers=[Tier.PUBLIC],
        messages={"es": "Operativo.", "en": "Operation."},
        polygon=tiny,
    )
    services.alert_send(alert=alert, actor=personas.dispatcher)
    services.alert_approve(alert=alert, actor=personas.coordinator)
    area = ET.fromstring(client.get(f"/cap/alerts/{alert.pk}.xml").content).find(
        f"{CAP}info/{CAP}area"
    )
    assert area.find(f"{CAP}polygon") is None
    (circle,) = [c.text for c in area.findall(f"{CAP}circle")]
    assert circle == "34.04,-118.21 2.0"


# --- the live count ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "newcomer", "verifier"])
def test_only_alert_authors_may_count(client, login, personas, who):
    login(None if who == "anonymous" else getattr(personas, who))
    response = client.get("/alerts/reach.json", {"tiers": "public", "polygon": json.dumps(SQUARE)})
    assert response.status_code == (401 if who == "anonymous" else 403)


def test_the_count_is_what_the_fan_out_then_sends(client, login, personas):
    for i in range(5):
        public(34.03 + i * 0.005, -118.21, language="es" if i % 2 else "en")
    public(34.2, -118.21)
    login(personas.dispatcher)
    params = {"tiers": ["public", "internal"], "polygon": json.dumps(SQUARE)}
    counted = client.get("/alerts/reach.json", params).json()
    assert counted["by_tier"]["public"] == 5
    only_public = client.get("/alerts/reach.json", {**params, "tiers": "public"}).json()
    assert only_public["by_language"] == {"en": 3, "es": 2}
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind="sighting",
        tiers=["public", "internal"],
        messages={"es": "Operativo.", "en": "Operation."},
        polygon=SQUARE,
    )
    services.alert_send(alert=alert, actor=personas.dispatcher)
    services.alert_approve(alert=alert, actor=personas.coordinator)
    assert counted["total"] == AlertRecipient.objects.filter(alert=alert).count()
    assert "Would reach" in counted["text"]


def test_circle_and_zones_are_counted_too_and_bad_input_is_a_400(client, login, personas):
    public(34.04, -118.21, language="es")
    login(personas.dispatcher)
    circle = client.get(
        "/alerts/reach.json",
        {"tiers": "public", "lat": "34.04", "lng": "-118.21", "radius_m": "800"},
    ).json()
    assert circle["total"] == 1 and circle["by_language"] == {"es": 1}
    bad = client.get("/alerts/reach.json", {"tiers": "public", "polygon": "[[1,2]]"})
    assert bad.status_code == 400 and "three corners" in json.dumps(bad.json())
    es = client.get(
        "/alerts/reach.json",
        {"tiers": "public", "lat": "34.04", "lng": "-118.21", "radius_m": "800"},
        HTTP_ACCEPT_LANGUAGE="es",
    ).json()
    assert es["text"].startswith("Llegaría a 1 persona")
