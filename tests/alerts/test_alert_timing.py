"""The alert's review page says how long delivery will take at the configured rates."""

from __future__ import annotations

from collections import Counter

import pytest
from django.urls import reverse
from django.utils import translation

from tests.alerts.test_alert_pages import BOYLE, public_alert, public_subscriber
from vecinos.alerts import services, timing
from vecinos.transports import registry


@pytest.fixture(autouse=True)
def _fresh_transports():
    registry.reset()
    yield
    registry.reset()


def test_fifty_thousand_texts_at_ten_a_second_take_83_minutes(settings):
    settings.TWILIO_SMS_RATE = 10
    (row,) = timing.estimate_for_counts(Counter({"sms": 50_000}))
    assert row.rate == 10 and row.minutes == 83 and row.slow
    assert row.setting == "VECINOS_TWILIO_SMS_RATE"
    with translation.override("en"):
        assert row.duration == "about 83 minutes"
    with translation.override("es"):
        assert row.duration == "unos 83 minutos"
    (fast,) = timing.estimate_for_counts(Counter({"push": 50_000}))
    assert fast.seconds == 1000 and fast.setting == "VECINOS_PUSH_RATE"


@pytest.mark.django_db
def test_review_page_shows_time_per_channel_and_what_to_raise(
    personas, login, settings, monkeypatch
):
    settings.TWILIO_SMS_RATE = 1
    monkeypatch.setattr(timing, "SLOW_SECONDS", 2)
    for phone in ("+12135550181", "+12135550182", "+12135550183"):
        public_subscriber(phone)
    alert = public_alert(personas.dispatcher)
    client = login(personas.dispatcher)
    page = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert "How long delivery will take" in page
    assert "sms: 3 messages at 1 a second: less than a minute." in page
    assert "raise VECINOS_TWILIO_SMS_RATE" in page
    # The approver sees it too, in Spanish.
    services.alert_send(alert=alert, actor=personas.dispatcher)
    approver = login(personas.coalition)
    page = approver.get(
        reverse("alert_detail", args=[alert.pk]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Cuánto tardará la entrega" in page and "3 mensajes a 1 por segundo" in page
    assert BOYLE
