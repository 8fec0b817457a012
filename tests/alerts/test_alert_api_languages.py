"""POST /api/v1/alerts takes messages only in the registry's written languages: an unknown code
answers 400 with the message the call-out API gives for unknown guidance languages, and nothing
is created or sent. (Keys that are not language tags keep their shorter message:
test_xml_feeds_safe.)"""

from __future__ import annotations

import pytest

from vecinos.alerts.models import Alert
from vecinos.core import languages
from vecinos.messaging.models import Delivery
from vecinos.network.services import token_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_transports")]


def post_alert(client, member, messages, **headers):
    token = token_create(member=member, name="t").secret
    return client.post(
        "/api/v1/alerts",
        {"kind": "notice", "tiers": ["internal"], "messages": messages},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **headers,
    )


WRITTEN = ", ".join(lang.code for lang in languages.written_languages())


@pytest.mark.parametrize(
    "messages",
    [
        {"xx-evil": "x"},
        {"es": "hola", "xx-evil": "x"},
        {"xx": "x"},
        {"mix": "x"},  # Mixteco: spoken, not written
        {"es-419": "hola"},
    ],
)
def test_an_unknown_language_code_is_refused(client, personas, messages):
    response = post_alert(client, personas.coordinator, messages)
    assert response.status_code == 400, response.content
    [code] = [code for code in messages if code != "es"]
    assert response.json() == {
        "errors": {"messages": f"Unknown language code: {code}. Use one of: {WRITTEN}."}
    }
    assert not Alert.objects.exists()
    assert not Delivery.objects.exists()


def test_the_refusal_is_in_the_callers_language(client, personas):
    response = post_alert(client, personas.coordinator, {"xx-evil": "x"}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert response.json()["errors"]["messages"].startswith(
        "Código de idioma desconocido: xx-evil. Use uno de: en, es"
    )


def test_every_written_language_is_taken_and_nothing_else(client, personas):
    messages = {lang.code: "Reunión a las 6." for lang in languages.written_languages()}
    refused = post_alert(client, personas.coordinator, {**messages, "xx-evil": "x"})
    assert refused.status_code == 400 and "xx-evil" in refused.json()["errors"]["messages"]
    assert not Alert.objects.exists()
    response = post_alert(client, personas.coordinator, messages)
    assert response.status_code == 201, response.content
    assert set(Alert.objects.get().messages) == set(messages)
