"""A form's address opened in the browser gets the site's page, not an empty 405 (outside walk:
Chrome showed its own error page for /patrols/coord/generate/ and /2fa/recovery-codes/)."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in


@pytest.mark.django_db
def test_opening_a_forms_address_explains_itself(client, personas):
    sign_in(client, personas.coordinator)
    response = client.get("/patrols/coord/generate/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert "This address is not a page" in page and "<html" in page
    es = client.get("/patrols/coord/generate/", HTTP_ACCEPT_LANGUAGE="es")
    assert "Esta dirección no es una página" in es.content.decode()


@pytest.mark.django_db
def test_the_api_and_the_webhooks_keep_their_plain_answers(client):
    hook = client.get("/hooks/twilio/sms")
    assert hook.status_code in (403, 405)
    assert b"This address is not a page" not in hook.content
    # A POST-only page posted to wrongly is not turned into the page either (only GET/HEAD are).
    response = client.put("/patrols/coord/generate/")
    assert b"This address is not a page" not in response.content
