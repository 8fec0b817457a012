"""What a dispatcher writes under "What to do, or other details" goes out with every kind of
alert (outside walk: a sighting's details appeared in no language's message, though the help
text says they fill it). A kind whose text has a {details} slot takes them there; the others
take them at the end, once."""

from __future__ import annotations

import pytest

from tests.alerts.test_alert_languages import WRITTEN, compose
from vecinos.alerts import wording
from vecinos.alerts.models import Alert

MARK = "Bring water, meet at the church lot."


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["sighting", "activation", "notice"])
def test_the_details_reach_every_languages_message(client, login, personas, kind):
    login(personas.dispatcher)
    response = compose(
        client,
        kind=kind,
        message_es=wording.TEMPLATES[kind]["es"],
        message_en=wording.TEMPLATES[kind]["en"],
        details=MARK,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    messages = Alert.objects.get().messages
    assert set(messages) == set(WRITTEN)
    for lang, text in messages.items():
        assert text.count(MARK) == 1, (lang, text)
        assert "{" not in text, (lang, text)


@pytest.mark.django_db
def test_typed_messages_take_the_details_once_without_the_templates(client, login, personas):
    login(personas.dispatcher)
    compose(
        client,
        kind="sighting",
        all_languages="",
        message_es="Vecinos: operativo confirmado en Boyle Heights.",
        message_en=f"Vecinos: confirmed operation in Boyle Heights. {MARK}",
        details=MARK,
    )
    messages = Alert.objects.get().messages
    assert messages["es"] == f"Vecinos: operativo confirmado en Boyle Heights. {MARK}"
    assert messages["en"] == f"Vecinos: confirmed operation in Boyle Heights. {MARK}"
