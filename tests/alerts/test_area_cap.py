"""A subscription holds at most MAX_AREAS places: every fan-out's selection reads each one, and a
script could otherwise add thousands by form or by texting JOIN with one ZIP code after another."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.twilio_stub import fresh_rate_limits, sms_reply, twilio_webhooks  # noqa: F401
from vecinos.alerts import services
from vecinos.alerts.models import Subscriber, SubscriptionArea

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]

ZIPS = ["90001", "90002", "90003", "90004", "90005", "90006", "90007", "90008", "90010", "90011"]


def test_a_member_cannot_add_an_eleventh_place(client, login, personas):
    member = personas.newcomer
    login(member)
    client.get(reverse("my_subscriptions"))
    sub = Subscriber.objects.get(member=member)
    for n in range(services.MAX_AREAS + 2):
        response = client.post(
            reverse("my_subscriptions"),
            {"action": "area", "lat": f"34.0{n:02d}", "lng": "-118.2", "radius_m": "500",
             "label": "home"},
            follow=True,
        )  # fmt: skip
        assert response.status_code == 200
    assert SubscriptionArea.objects.filter(subscriber=sub).count() == services.MAX_AREAS
    assert "You already get alerts for 10 places, the most allowed." in response.content.decode()
    # Removing one makes room again.
    first = SubscriptionArea.objects.filter(subscriber=sub).first()
    client.post(reverse("my_area_remove", args=[first.pk]))
    client.post(
        reverse("my_subscriptions"),
        {"action": "area", "lat": "34.1", "lng": "-118.2", "radius_m": "500", "label": "home"},
    )
    assert SubscriptionArea.objects.filter(subscriber=sub).count() == services.MAX_AREAS


def test_texting_join_with_one_zip_after_another_stops_at_the_cap(client):
    sender = "+13235550177"
    assert "YES" in sms_reply(client, sender, f"JOIN {ZIPS[0]}")
    sms_reply(client, sender, "YES")
    for code in ZIPS[1:]:
        assert "also get alerts" in sms_reply(client, sender, f"JOIN {code}")
    sub = Subscriber.objects.get()
    assert sub.areas.count() == services.MAX_AREAS
    reply = sms_reply(client, sender, "JOIN 90012")
    assert "you are subscribed to alerts for" in reply and "90012" not in reply
    assert sub.areas.count() == services.MAX_AREAS
