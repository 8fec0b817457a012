"""One control character must not break the public CAP and Atom feeds.

XML 1.0 cannot carry U+0007 and friends: alert texts refuse them on the way in (page and API),
language keys must be language tags, and the XML writers stay well-formed for rows written before."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from vecinos.alerts import services
from vecinos.alerts.models import Alert, Tier
from vecinos.network.services import token_create
from vecinos.transports import registry

BOYLE = (34.040712, -118.211043)


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def bearer(member):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_create(member=member, name='t').secret}"}


def public_body(messages):
    return {
        "kind": "sighting",
        "tiers": ["public"],
        "messages": messages,
        "lat": BOYLE[0],
        "lng": BOYLE[1],
        "radius_m": 2000,
    }


@pytest.mark.django_db
def test_api_refuses_control_characters_in_alert_text(client, personas):
    response = client.post(
        "/api/v1/alerts",
        public_body({"es": "Operativo\u0007 confirmado."}),
        content_type="application/json",
        **bearer(personas.dispatcher),
    )
    assert response.status_code == 400
    assert "control characters" in response.json()["errors"]["message_es"]
    assert not Alert.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["e\u0007s", "es<x>", "x" * 3 + "-" * 3, "ES"])
def test_api_refuses_language_keys_that_are_not_language_tags(client, personas, lang):
    response = client.post(
        "/api/v1/alerts",
        public_body({lang: "Operativo confirmado."}),
        content_type="application/json",
        **bearer(personas.dispatcher),
    )
    assert response.status_code == 400
    assert response.json()["errors"]["messages"] == "Unknown language code."


@pytest.mark.django_db
def test_compose_page_refuses_control_characters_in_spanish(client, login, personas):
    login(personas.dispatcher)
    client.cookies["django_language"] = "es"
    response = client.post(
        "/alerts/new/",
        {
            "kind": "activation",
            "tiers": ["internal"],
            "message_es": "Activación\u001b: vayan a observar.",
            "expires_hours": "4",
            "radius_m": "2000",
        },
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert response.status_code == 200
    assert "caracteres de control" in response.content.decode()
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_feeds_stay_well_formed_with_a_control_character_already_stored(client, personas):
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.PUBLIC],
        messages={"es": "Operativo confirmado.", "en": "Confirmed operation."},
        point=BOYLE,
        radius_m=800,
        area_label="Boyle Heights",
    )
    services.alert_send(alert=alert, actor=personas.dispatcher)
    services.alert_approve(alert=alert, actor=personas.coordinator)
    # A row written before validation existed (or by hand): text and key with control chars.
    Alert.objects.filter(pk=alert.pk).update(
        messages={"es": "Operativo\u0007 confirmado.", "e\u0007n": "Bad\u0000 key."}
    )
    feed = client.get("/cap/alerts.atom")
    assert feed.status_code == 200
    root = ET.fromstring(feed.content)  # raises on the raw U+0007
    assert "Operativo" in root.findtext(
        "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}summary"
    )
    cap = client.get(f"/cap/alerts/{alert.pk}.xml")
    assert cap.status_code == 200
    doc = ET.fromstring(cap.content)
    languages = [el.text for el in doc.iter("{urn:oasis:names:tc:emergency:cap:1.2}language")]
    assert "es-US" in languages and all("\u0007" not in (lang or "") for lang in languages)
