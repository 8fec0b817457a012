"""Subscription areas picked on the map: the public subscribe page and the member page take a
tapped point (rounded to about 100 m) and a radius; the pages carry the map."""

from __future__ import annotations

import pytest
from django.urls import reverse

from vecinos.alerts.models import Subscriber
from vecinos.messaging import services as messaging
from vecinos.network.phones import phone_index
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def test_public_subscribe_with_a_tapped_place_and_radius(client):
    response = client.post(
        reverse("subscribe"),
        {
            "phone": "3235550190",
            "place": "",
            "lat": "34.0407123",
            "lng": "-118.2110456",
            "radius_m": "3000",
            "language": "es",
            "channels": ["sms"],
        },
    )
    assert response.status_code == 200
    sub = Subscriber.objects.get(phone_index=phone_index("+13235550190"))
    area = sub.areas.get()
    assert (area.lat, area.lng, area.radius_m, area.zone_id) == (34.041, -118.211, 3000, None)
    assert area.cell7
    messaging.dispatch()
    assert "un lugar que eligió en el mapa" in OutboxMessage.objects.get().body


def test_public_subscribe_needs_a_place_or_a_tap(client):
    response = client.post(
        reverse("subscribe"),
        {"phone": "3235550191", "place": "", "language": "en", "channels": ["sms"]},
    )
    assert "Enter a ZIP code or the name of your neighborhood." in response.content.decode()
    assert not Subscriber.objects.exists()
    bad = client.post(
        reverse("subscribe"),
        {
            "phone": "3235550191",
            "lat": "134",
            "lng": "-118.2",
            "language": "en",
            "channels": ["sms"],
        },
    )
    assert bad.status_code == 200 and not Subscriber.objects.exists()


def test_subscribe_pages_carry_the_pick_map(client, login, personas):
    page = client.get(reverse("subscribe")).content.decode()
    assert "data-pick-area" in page and "js/area_map.js" in page
    login(personas.newcomer)
    page = client.get(reverse("my_subscriptions")).content.decode()
    assert "data-pick-area" in page
