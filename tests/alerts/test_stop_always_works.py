"""Carrier rules: STOP and HELP are honoured even from a banned or rate-limited number."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    twilio_webhooks,
)
from vecinos.alerts.models import OptOut
from vecinos.messaging.services import address_index
from vecinos.reports.models import BannedSource

PHONE = "+13235550177"


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
def test_banned_number_can_still_stop(client):
    index = address_index("sms", PHONE)
    BannedSource.objects.create(key=f"phone:{index}", reason="flood")
    ignored = signed_post(client, "/hooks/twilio/sms", {"From": PHONE, "Body": "REPORTE hola"})
    assert "<Message>" not in ignored.content.decode()
    response = signed_post(client, "/hooks/twilio/sms", {"From": PHONE, "Body": "ALTO"})
    assert response.status_code == 200
    assert "<Message>" in response.content.decode()
    assert OptOut.objects.filter(phone_index=index).exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
def test_rate_limited_number_can_still_stop(client):
    with override_settings(REPORT_RATE_LIMIT=1):
        for _ in range(4):
            signed_post(client, "/hooks/twilio/sms", {"From": PHONE, "Body": "hola que tal"})
        limited = signed_post(client, "/hooks/twilio/sms", {"From": PHONE, "Body": "hola"})
        assert "too many" in limited.content.decode().lower() or "demasiados" in (
            limited.content.decode().lower()
        )
        signed_post(client, "/hooks/twilio/sms", {"From": PHONE, "Body": "STOP"})
    assert OptOut.objects.filter(phone_index=address_index("sms", PHONE)).exists()
