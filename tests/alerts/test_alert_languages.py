"""Alerts in every language the recipients speak: the per-kind templates (every shipped written
language, the same placeholders), the facts written once on the compose page and through the
API, the review page's language table with SMS segments and cost, and spoken-only languages
reached by a call, never a text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from hypothesis import given
from hypothesis import strategies as st

from vecinos.alerts import costs, services, wording
from vecinos.alerts.models import Alert, AlertRecipient
from vecinos.core import languages
from vecinos.core.languages import sms_encoding_of, sms_segments
from vecinos.messaging.models import Channel, Delivery
from vecinos.network.services import token_create
from vecinos.transports import registry

BOYLE = (34.0407, -118.2110)
WRITTEN = [lang.code for lang in languages.written_languages()]


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


# --- the templates -----------------------------------------------------------------------------


def test_every_kind_has_a_template_in_every_written_language_with_the_same_placeholders():
    assert set(wording.TEMPLATES) == set(Alert.Kind.values)
    assert len(WRITTEN) == 13
    for kind, texts in wording.TEMPLATES.items():
        assert set(texts) == set(WRITTEN), kind
        expected = wording.placeholders(texts["en"])
        for lang, text in texts.items():
            assert wording.placeholders(text) == expected, (kind, lang)
            assert text.startswith("Vecinos: "), (kind, lang)
            assert text.count("{") == text.count("}"), (kind, lang)


def test_facts_fill_every_language_and_english_reads_a_12_hour_clock():
    made = wording.messages_for("activation", {"area": "Boyle Heights", "time": "15:05"})
    assert set(made) == set(WRITTEN)
    for lang, text in made.items():
        assert "Boyle Heights" in text and "{" not in text, lang
    assert "3:05 PM" in made["en"] and "15:05" in made["es"] and "15:05" in made["ko"]
    assert wording.missing_facts("update", {"area": "Boyle Heights", "time": "9:00"}) == ["details"]
    assert wording.missing_facts("notice", {"details": "Reunión hoy."}) == []


# --- SMS segments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "gsm7", 0),
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # extension characters count twice: 160 septets
        ("€" * 81, "gsm7", 2),
        ("a" * 159 + "[", "gsm7", 2),
        ("한" * 70, "ucs2", 1),
        ("한" * 71, "ucs2", 2),
        ("a" * 134 + "ó", "ucs2", 3),  # one character outside GSM-7 makes the whole text UCS-2
        ("😀" * 35, "ucs2", 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "ucs2", 2),
    ],
)
def test_segment_counts_of_known_texts(text, encoding, segments):
    if text:
        assert sms_encoding_of(text) == encoding
    assert sms_segments(text) == segments


@given(st.text(alphabet="abcXYZ 0123456789.,:;!?", min_size=1, max_size=2000))
def test_gsm7_text_segments_are_ceil_of_153_beyond_one(text):
    n = len(text)
    assert sms_segments(text) == (1 if n <= 160 else -(-n // 153))


@given(st.text(min_size=1, max_size=1000))
def test_segments_cover_the_text(text):
    segments = sms_segments(text)
    if sms_encoding_of(text) == "ucs2":
        units = len(text.encode("utf-16-le")) // 2
        assert units <= (70 if segments == 1 else segments * 67)
        assert segments == 1 or units > 70
    else:
        assert segments >= 1


# --- the compose page --------------------------------------------------------------------------


def compose(client, **fields):
    data = {
        "kind": "activation",
        "tiers": ["internal"],
        "message_es": "Vecinos: ACTIVACIÓN cerca de {area} desde las {time}.",
        "message_en": "Vecinos: ACTIVATION near {area} from {time}.",
        "area_label": "Boyle Heights",
        "time": "15:05",
        "all_languages": "on",
        "expires_hours": "4",
        "radius_m": "2000",
    }
    data.update(fields)
    return client.post(reverse("alert_new"), data)


@pytest.mark.django_db
def test_the_compose_page_starts_from_the_template_with_the_facts_asked_once(
    client, login, personas
):
    login(personas.dispatcher)
    form = client.get(reverse("alert_new")).context["form"]
    assert form.initial["all_languages"] is True
    assert form.initial["time"]
    page = client.get(reverse("alert_new")).content.decode()
    assert 'name="details"' in page and 'name="all_languages"' in page


@pytest.mark.django_db
def test_facts_written_once_make_every_languages_message(client, login, personas):
    login(personas.dispatcher)
    response = compose(client)
    assert response.status_code == 302, response.content.decode()[:3000]
    alert = Alert.objects.get()
    assert set(alert.messages) == set(WRITTEN)
    assert alert.messages["es"] == "Vecinos: ACTIVACIÓN cerca de Boyle Heights desde las 15:05."
    assert alert.messages["en"] == "Vecinos: ACTIVATION near Boyle Heights from 3:05 PM."
    assert "Boyle Heights" in alert.messages["ko"] and "15:05" in alert.messages["ar"]
    assert alert.messages["ja"].startswith("Vecinos: 出動要請。15:05から")


@pytest.mark.django_db
def test_without_all_languages_only_what_was_written_goes(client, login, personas):
    login(personas.dispatcher)
    response = compose(client, all_languages="", message_es="Activación.", message_en="Activation.")
    assert response.status_code == 302
    assert set(Alert.objects.get().messages) == {"es", "en"}


@pytest.mark.django_db
def test_a_missing_fact_is_a_clear_error_in_the_persons_language(client, login, personas):
    login(personas.dispatcher)
    response = compose(client, kind="notice", message_es="", message_en="", details="")
    assert response.status_code == 200
    assert (
        "Fill this in: the message in every language needs it."
        in response.context["form"].errors["details"]
    )
    assert not Alert.objects.exists()
    client.cookies["django_language"] = "es"
    response = compose(client, kind="notice", message_es="", message_en="", details="")
    assert "Complete esto: el mensaje en cada idioma lo necesita." in response.content.decode()


# --- the API -----------------------------------------------------------------------------------


def post(client, body, member):
    token = token_create(member=member, name="t").secret
    return client.post(
        "/api/v1/alerts",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.mark.django_db
def test_the_api_makes_every_language_from_the_facts(client, personas):
    body = {
        "kind": "notice",
        "tiers": ["internal"],
        "facts": {"details": "Reunión comunitaria a las 6."},
        "messages": {"en": "Vecinos: NOTICE. Community meeting at 6."},
    }
    response = post(client, body, personas.dispatcher)
    assert response.status_code == 201, response.content
    alert = Alert.objects.get()
    assert set(alert.messages) == set(WRITTEN)
    assert alert.messages["en"] == "Vecinos: NOTICE. Community meeting at 6."
    assert alert.messages["vi"] == "Vecinos: THÔNG BÁO. Reunión comunitaria a las 6."


@pytest.mark.django_db
def test_the_api_names_a_missing_fact(client, personas):
    response = post(
        client,
        {"kind": "activation", "tiers": ["internal"], "facts": {"area": "Boyle"}},
        personas.dispatcher,
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "facts.time": "Fill this in: the message in every language needs it."
    }
    assert not Alert.objects.exists()


# --- review: who gets which language, segments and cost ---------------------------------------


def subscriber(phone: str, language: str, channels=None):
    return services.subscribe(
        phone=phone,
        language=language,
        channels=channels,
        point=BOYLE,
        radius_m=1000,
        confirmed=True,
    )


def members_alert(actor, messages) -> Alert:
    return services.alert_create(
        actor=actor,
        kind=Alert.Kind.NOTICE,
        tiers=["public"],
        messages=messages,
        point=BOYLE,
        radius_m=2000,
    )


@pytest.mark.django_db
def test_the_review_page_shows_each_language_its_segments_and_cost(
    client, login, personas, settings
):
    settings.SMS_SEGMENT_PRICE = "0.01"
    subscriber("+12135550101", "ko")
    subscriber("+12135550102", "ko")
    subscriber("+12135550103", "hy")  # no Armenian text: gets Spanish
    subscriber("+12135550104", "mix")  # spoken only: a call
    subscriber("+12135550105", "es")
    alert = members_alert(
        personas.dispatcher,
        wording.messages_for("notice", {"details": "Reunión comunitaria a las 6."}) | {"hy": ""},
    )
    assert "hy" not in alert.messages
    login(personas.dispatcher)
    response = client.get(reverse("alert_detail", args=[alert.pk]))
    rows = {row.language: row for row in response.context["language_rows"]}
    assert set(rows) == {"ko", "hy", "mix", "es"}
    assert rows["ko"].people == 2 and rows["ko"].sent_in == "ko"
    assert rows["ko"].encoding == "ucs2"
    # Notices carry no confirmation link: the body is the text itself.
    assert rows["ko"].segments == sms_segments(alert.messages["ko"])
    assert rows["ko"].cost == Decimal("0.01") * 2 * rows["ko"].segments
    assert rows["hy"].sent_in == "es"
    assert rows["mix"].voice_only and rows["mix"].cost == 0 and rows["mix"].sent_in == "es"
    page = response.content.decode()
    assert 'data-language="mix"' in page and "Voice call" in page
    assert response.context["total_cost"] == costs.total_cost(list(rows.values()))
    assert f"${response.context['total_cost']}" in page
    # Dollars as they are written in the US, whatever the page's language ("$2,53" on a
    # Spanish page read as two thousand: outside walk, session 19).
    spanish = client.get(reverse("alert_detail", args=[alert.pk]), HTTP_ACCEPT_LANGUAGE="es")
    assert f'id="alert-total-cost">${response.context["total_cost"]}<' in spanish.content.decode()


@pytest.mark.django_db
def test_the_confirmation_request_is_in_the_texts_language(personas):
    subscriber("+12135550111", "ko")
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.SIGHTING,
        tiers=["public"],
        messages=wording.messages_for("sighting", {"area": "Boyle Heights", "time": "10:00"}),
        point=BOYLE,
        radius_m=2000,
    )
    services.alert_send(alert=alert, actor=personas.dispatcher)
    services.alert_approve(alert=Alert.objects.get(pk=alert.pk), actor=personas.coalition)
    body = Delivery.objects.get(purpose="alert", channel=Channel.SMS).body
    assert body.startswith(alert.messages["ko"])
    assert "Reply 1" not in body and "Responda" not in body
    with translation.override("ko"):
        wording_ko = gettext("%(text)s Reply 1 to confirm you got this: %(link)s")
    middle = wording_ko.split("%(text)s")[1].split("%(link)s")[0]
    assert middle.strip() and middle in body


@pytest.mark.django_db
def test_a_spoken_only_language_gets_a_call_never_a_text(personas):
    subscriber("+12135550121", "mix", channels=["sms"])
    subscriber("+12135550122", "es", channels=["sms"])
    alert = members_alert(personas.dispatcher, {"es": "Vecinos: AVISO. Reunión hoy."})
    services.alert_send(alert=alert, actor=personas.dispatcher)
    services.alert_approve(alert=Alert.objects.get(pk=alert.pk), actor=personas.coalition)
    by_language = {d.language: d.channel for d in Delivery.objects.filter(purpose="alert")}
    assert by_language == {"mix": Channel.VOICE, "es": Channel.SMS}
    assert AlertRecipient.objects.count() == 2


# --- a rights article attached ------------------------------------------------------------------


@pytest.fixture
def door_article(db):
    from vecinos.rights.models import Article, ArticleVersion

    article = Article.objects.create(slug="x13-at-the-door", topic="door")
    for lang, title in (("en", "At the door"), ("es", "En la puerta"), ("ko", "문 앞에서")):
        ArticleVersion.objects.create(
            article=article, language=lang, number=1, title=title, body="..."
        )
    return article


@pytest.mark.django_db
def test_the_composer_attaches_a_rights_article_link_in_each_language(
    client, login, personas, door_article, settings
):
    login(personas.dispatcher)
    page = client.get(reverse("alert_new")).content.decode()
    assert 'value="x13-at-the-door"' in page and "At the door" in page
    response = compose(client, rights_article="x13-at-the-door")
    assert response.status_code == 302
    messages = Alert.objects.get().messages
    url = f"{settings.PUBLIC_URL}/rights/x13-at-the-door/"
    assert messages["es"].endswith(f" {url}?lang=es")
    assert messages["ko"].endswith(f" {url}?lang=ko")
    assert messages["vi"].endswith(f" {url}")  # not written in Vietnamese: the page chooses
    # The link leads to the article in that language.
    assert "문 앞에서" in client.get("/rights/x13-at-the-door/?lang=ko").content.decode()


@pytest.mark.django_db
def test_the_api_attaches_a_rights_article_and_refuses_an_unknown_one(
    client, personas, door_article, settings
):
    body = {**INTERNAL_FACTS, "rights_article": "x13-at-the-door"}
    response = post(client, body, personas.dispatcher)
    assert response.status_code == 201, response.content
    messages = Alert.objects.get().messages
    assert messages["en"].endswith("/rights/x13-at-the-door/?lang=en")
    response = post(client, {**INTERNAL_FACTS, "rights_article": "nope"}, personas.dispatcher)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"rights_article"}
    assert Alert.objects.count() == 1


INTERNAL_FACTS = {
    "kind": "activation",
    "tiers": ["internal"],
    "facts": {"area": "Boyle Heights", "time": "15:05"},
}


@pytest.mark.django_db
def test_details_going_out_as_typed_in_other_languages_are_named_on_the_draft(
    client, login, personas
):
    """Outside walk, session 19: a Spanish sentence typed as the details went out inside the
    Korean, Arabic and Chinese texts, and the review page said nothing of it. The draft now
    names the languages that get the details as typed."""
    from vecinos.alerts.forms import other_template_languages

    login(personas.dispatcher)
    others = other_template_languages()
    response = compose(
        client, details="Eviten la zona de Cesar Chavez y Soto.", details_ko="피하세요."
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"as you typed them in {len(others) - 1} other languages" in page
    assert (
        "العربية (Arabic)" in page and "한국어 (Korean)" not in page.split("as you typed")[1][:600]
    )
    # No details, no warning.
    response = compose(client)
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "as you typed them" not in page
