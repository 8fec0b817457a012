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


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["sighting", "notice"])
def test_a_language_can_have_details_of_its_own(client, login, personas, kind):
    """Outside walk, session 17: the details went into every language as typed (the Korean
    text carried the Spanish words). A language's own details replace them in its message;
    a language left blank still gets them as typed."""
    login(personas.dispatcher)
    page = client.get("/alerts/new/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert 'name="details_ko"' in page and "Detalles en 한국어" in page
    assert 'name="details_es"' not in page  # Spanish and English are typed whole
    korean = "오후 6시에 교회 주차장에서 만나요."
    response = compose(
        client,
        kind=kind,
        message_es=wording.TEMPLATES[kind]["es"],
        message_en=wording.TEMPLATES[kind]["en"],
        details=MARK,
        details_ko=f"  {korean} ",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    messages = Alert.objects.get().messages
    assert korean in messages["ko"] and MARK not in messages["ko"]
    assert "{" not in messages["ko"]
    for lang in set(WRITTEN) - {"ko"}:
        assert messages[lang].count(MARK) == 1 and korean not in messages[lang], lang


@pytest.mark.django_db
def test_a_languages_details_are_checked_like_the_others(client, login, personas):
    login(personas.dispatcher)
    response = compose(
        client,
        kind="notice",
        message_es=wording.TEMPLATES["notice"]["es"],
        message_en=wording.TEMPLATES["notice"]["en"],
        details=MARK,
        details_vi="x" * 301,
    )
    assert response.status_code == 200
    assert not Alert.objects.exists()
    page = response.content.decode()
    assert 'name="details_vi"' in page and "x" * 301 in page  # kept for correcting
    assert "300" in page  # the length message
