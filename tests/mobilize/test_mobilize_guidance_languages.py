"""A call-out's guidance in every written language (issues 12 + 13): the composer's field per
language prefilled with the default, the API's codes, and each responder told the whole
call-out (ask, guidance, enough, updates, stand-down, the link page) in their own language when
the call-out has guidance in it, else Spanish, then English."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from tests.conftest import sign_in
from tests.mobilize.test_mobilize_callouts import (
    callout,
    outbox_to,
    responder,
    response_of,
    text,
)
from tests.mobilize.test_mobilize_events import _bearer
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    twilio_webhooks,
)
from vecinos.core import languages
from vecinos.mobilize import guidance, services
from vecinos.mobilize.models import Activation
from vecinos.transports import registry

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]

WRITTEN = [lang.code for lang in languages.written_languages()]
KOREAN = "안전한 거리에서 지켜보세요. 주차장 입구에서 만나요."


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def _composer_post(**extra) -> dict:
    when = (timezone.localtime() + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    return {
        "staging_point": "Koreatown plaza",
        "needed_by": when,
        "role_observer": "2",
        "guidance_es": "Observe desde una distancia segura.",
        "guidance_en": "Observe from a safe distance.",
        "tiers": ["responders"],
        "wave_size": "20",
        "wave_minutes": "10",
        **extra,
    }


def _link_path(body: str) -> str:
    found = re.search(r"https?://[^/\s]+(/r/[^\s]+/)", body)
    assert found, body
    return found.group(1)


# --- the default texts ------------------------------------------------------------------------------


def test_the_default_guidance_is_written_in_every_written_language_and_fits():
    assert set(guidance.DEFAULT_GUIDANCE) == set(WRITTEN)
    for code, text_ in guidance.DEFAULT_GUIDANCE.items():
        assert 0 < len(text_) <= guidance.MAX_GUIDANCE, code
        if code != "en":
            assert text_ != guidance.DEFAULT_GUIDANCE["en"], code
    # Lawful presence: the English source names what every translation must carry.
    en = guidance.DEFAULT_GUIDANCE["en"]
    for words in ("safe distance", "Do not interfere", "touch", "No weapons", "calm", "rights"):
        assert words in en


# --- the composer -----------------------------------------------------------------------------------


def test_the_composer_has_a_field_per_written_language_prefilled_the_others_folded(
    client, personas
):
    sign_in(client, personas.dispatcher)
    page = client.get("/mobilize/new/").content.decode()
    for code in WRITTEN:
        name = guidance.field_name(code)
        assert f'name="{name}"' in page, code
        field = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
        assert field and guidance.DEFAULT_GUIDANCE[code] in field.group(1).replace("&#x27;", "'")
    folded = page[page.index('<details class="other-languages"') :]
    folded = folded[: folded.index("</details>")]
    assert 'name="guidance_ko"' in folded and 'name="guidance_es"' not in folded
    assert 'lang="ar" dir="rtl"' in folded or 'dir="rtl" lang="ar"' in folded


def test_korean_guidance_from_the_composer_reaches_a_korean_responder_s_ask(client, personas):
    min_jun = responder(personas.org_a, "minjun", "ko")
    rosa = responder(personas.org_a, "rosa", "es")
    sign_in(client, personas.dispatcher)
    page = client.post("/mobilize/new/", _composer_post(guidance_ko=KOREAN))
    assert page.status_code == 302, page.content.decode()[:2000]
    activation = Activation.objects.get()
    assert activation.guidance["ko"] == KOREAN
    [ask] = outbox_to(min_jun.phone)
    assert KOREAN in ask and "갑니다" in ask and "distancia" not in ask
    [ask_es] = outbox_to(rosa.phone)
    assert "Observe desde una distancia segura." in ask_es and KOREAN not in ask_es
    # The board names each language's guidance, the page's own first, the others folded
    # (outside walk, session 18: thirteen unlabelled texts, Arabic first).
    board = client.get(f"/mobilize/{activation.pk}/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    sent = board[board.index("Indicaciones enviadas") :]
    assert sent.index('lang="es">Español<') < sent.index("<details") < sent.index("한국어")
    assert sent.index(KOREAN) > sent.index("한국어")


def test_a_too_long_guidance_in_another_language_is_refused_on_its_field(client, personas):
    sign_in(client, personas.dispatcher)
    page = client.post("/mobilize/new/", _composer_post(guidance_ja="あ" * 600))
    assert page.status_code == 200
    assert not Activation.objects.exists()
    html = page.content.decode()
    assert '<details class="other-languages" open>' in html  # the refused field is shown


# --- every later message in the responder's language ---------------------------------------------


def test_a_stand_down_reaches_a_vietnamese_responder_in_vietnamese(client, personas):
    lan = responder(personas.org_a, "lan", "vi")
    activation = callout(personas)
    assert guidance.DEFAULT_GUIDANCE["vi"] in outbox_to(lan.phone)[0]
    text(client, lan.phone, "ĐANG ĐI 10")
    assert response_of(activation, lan).status == "coming"
    services.stand_down(activation=activation, actor=personas.dispatcher, texts={"es": "Gracias"})
    last = outbox_to(lan.phone)[-1]
    with translation.override("vi"):
        expected = services.stand_down_text(activation.code)
    assert expected in last and expected != services.stand_down_text(activation.code)
    assert "STAND DOWN" not in last
    assert last.endswith("Gracias")  # the note is only in Spanish: it follows in Spanish


def test_updates_moves_and_enough_go_out_in_the_responder_s_language(client, personas):
    anna = responder(personas.org_a, "anna", "ru")
    min_jun = responder(personas.org_a, "minjun", "ko")
    activation = callout(personas, roles={"observer": 1}, quota=True, wave_size=5)
    text(client, anna.phone, "ИДУ 10")
    # One yes was enough: the Korean responder still asked hears it in Korean.
    with translation.override("ko"):
        enough = services.enough_text(activation.code)
    assert outbox_to(min_jun.phone)[-1] == enough
    services.message_send(
        activation=activation, actor=personas.dispatcher, audience="coming",
        texts={"es": "Traigan agua", "ru": "Возьмите воду"}, new_staging_point="Parque",
    )  # fmt: skip
    with translation.override("ru"):
        moved = services.moved_text("Parque")
    assert outbox_to(anna.phone)[-1] == f"Vecinos {activation.code}: {moved} Возьмите воду"


# --- fallback --------------------------------------------------------------------------------------


def test_without_guidance_in_their_language_a_responder_is_told_in_spanish_then_english(personas):
    min_jun = responder(personas.org_a, "minjun", "ko")
    spanish = callout(personas, guidance={"es": "Observe de lejos.", "en": "Watch from afar."})
    [ask] = outbox_to(min_jun.phone)
    assert "Observe de lejos." in ask and "VOY" in ask and "갑니다" not in ask
    assert services.callout_language(spanish, "ko") == "es"
    english = callout(personas, guidance={"en": "Watch from afar."})
    assert services.callout_language(english, "ko") == "en"
    ask = outbox_to(min_jun.phone)[-1]
    assert "Watch from afar." in ask and "Reply COMING" in ask
    # Spoken-only languages read Spanish; a Korean text makes Korean the language.
    assert services.callout_language(spanish, "mix") == "es"
    korean = callout(personas, guidance={"ko": KOREAN})
    assert services.callout_language(korean, "ko") == "ko"
    assert services.guidance_for(korean, "es") == (KOREAN, "ko")  # the only text there is


# --- the link page ---------------------------------------------------------------------------------


def test_the_link_page_in_arabic_shows_the_arabic_guidance(client, personas):
    layla = responder(personas.org_a, "layla", "ar")
    callout(personas)
    page = client.get(_link_path(outbox_to(layla.phone)[0]))
    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Language"] == "ar"
    assert 'dir="rtl"' in html
    assert f'<blockquote class="ack-text" lang="ar">{guidance.DEFAULT_GUIDANCE["ar"]}' in html
    with translation.override("ar"):
        assert translation.gettext("I cannot come") in html


def test_the_link_page_falls_back_to_spanish_when_the_call_out_has_no_arabic(client, personas):
    layla = responder(personas.org_a, "layla", "ar")
    callout(personas, guidance={"es": "Observe de lejos.", "en": "Watch from afar."})
    page = client.get(_link_path(outbox_to(layla.phone)[0]))
    html = page.content.decode()
    assert page["Content-Language"] == "es"
    assert '<blockquote class="ack-text" lang="es">Observe de lejos.' in html


# --- the API ---------------------------------------------------------------------------------------


def _api_body(**extra) -> dict:
    return {
        "staging_point": "Plaza",
        "needed_by": (timezone.now() + timedelta(hours=1)).isoformat(),
        "roles": {"observer": 2},
        "tiers": ["responders"],
        **extra,
    }


def test_the_api_takes_guidance_by_language_code(client, personas):
    auth = _bearer(personas.dispatcher)
    body = _api_body(guidance={"es": "Observe de lejos.", "zh-hant": "保持距離。", "ko": KOREAN})
    created = client.post("/api/v1/activations", body, content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    activation = Activation.objects.get(pk=created.json()["id"])
    assert activation.guidance == {"es": "Observe de lejos.", "zh-hant": "保持距離。", "ko": KOREAN}


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"xx": "Hola"}, "guidance"),
        ({"mix": "Spoken only"}, "guidance"),  # spoken-only: no written guidance
        ({"ko": "가" * (guidance.MAX_GUIDANCE + 1)}, "guidance_ko"),
        ({"zh-hans": "字" * (guidance.MAX_GUIDANCE + 1)}, "guidance_zh_hans"),
    ],
)
def test_the_api_refuses_unknown_codes_and_too_long_guidance_with_a_400(
    client, personas, given, field
):
    auth = _bearer(personas.dispatcher)
    answer = client.post(
        "/api/v1/activations", _api_body(guidance=given), content_type="application/json", **auth
    )
    assert answer.status_code == 400, answer.content
    errors = answer.json()["errors"]
    assert field in errors
    if field == "guidance":
        assert "Unknown language code" in errors[field] and "zh-hant" in errors[field]
    else:
        assert str(guidance.MAX_GUIDANCE) in errors[field]
    assert not Activation.objects.exists()


def _korean_and_vietnamese_coming(client, personas):
    """A Korean and a Vietnamese responder said they are coming; the dispatcher's page."""
    min_jun = responder(personas.org_a, "minjun", "ko")
    lan = responder(personas.org_a, "lan", "vi")
    activation = callout(personas)
    text(client, min_jun.phone, "갑니다 10")
    text(client, lan.phone, "ĐANG ĐI 10")
    sign_in(client, personas.dispatcher)
    detail = client.get(f"/mobilize/{activation.pk}/").content.decode()
    return min_jun, lan, activation, detail


def test_an_update_from_the_page_goes_to_each_in_their_language_or_spanish(client, personas):
    min_jun, lan, activation, detail = _korean_and_vietnamese_coming(client, personas)
    folded = detail[detail.index('<details class="other-languages"') :]
    assert 'name="text_ko"' in folded[: folded.index("</details>")]
    assert f'lang="ar" dir="rtl">{guidance.DEFAULT_GUIDANCE["ar"]}' in detail
    page = client.post(
        f"/mobilize/{activation.pk}/message/",
        {"audience": "coming", "text_es": "Traigan agua", "text_ko": "물을 가져오세요"},
    )
    assert page.status_code == 302
    assert outbox_to(min_jun.phone)[-1] == f"Vecinos {activation.code}: 물을 가져오세요"
    assert outbox_to(lan.phone)[-1] == f"Vecinos {activation.code}: Traigan agua"


# --- the stand-down note in every written language ----------------------------------------------


def test_the_stand_down_note_from_the_page_is_written_per_language(client, personas):
    min_jun, lan, activation, detail = _korean_and_vietnamese_coming(client, personas)
    form = detail[detail.index("/stand-down/") :]
    form = form[: form.index("</form>")]
    folded = form[form.index('<details class="other-languages"') :]
    # Every written language has a note field; the page's ids are its own (the message form
    # above has the same field names).
    for code in WRITTEN:
        assert f'name="text_{code.replace("-", "_")}"' in form
    assert 'name="text_ko"' in folded and 'name="text_es"' not in folded
    assert 'id="sd-text_ar"' in form and 'dir="rtl"' in form
    assert detail.count('id="sd-text_es"') == 1
    page = client.post(
        f"/mobilize/{activation.pk}/stand-down/",
        {"text_es": "Gracias por venir", "text_ko": "와 주셔서 감사합니다"},
    )
    assert page.status_code == 302
    with translation.override("ko"):
        korean = services.stand_down_text(activation.code)
    with translation.override("vi"):
        vietnamese = services.stand_down_text(activation.code)
    assert outbox_to(min_jun.phone)[-1] == f"{korean} 와 주셔서 감사합니다"
    # No Vietnamese note: the Spanish one follows the Vietnamese stand-down text.
    assert outbox_to(lan.phone)[-1] == f"{vietnamese} Gracias por venir"
    assert Activation.objects.get(pk=activation.pk).status == "stood_down"


def test_a_too_long_stand_down_note_is_refused_and_the_call_out_stays_open(client, personas):
    lan = responder(personas.org_a, "lan", "vi")
    activation = callout(personas)
    text(client, lan.phone, "ĐANG ĐI 10")
    sent = len(outbox_to(lan.phone))
    sign_in(client, personas.dispatcher)
    page = client.post(
        f"/mobilize/{activation.pk}/stand-down/",
        {"text_vi": "x" * (guidance.MAX_GUIDANCE + 1)},
        follow=True,
    )
    assert page.status_code == 200
    assert f"under {guidance.MAX_GUIDANCE} characters" in page.content.decode()
    assert Activation.objects.get(pk=activation.pk).status == "open"
    assert len(outbox_to(lan.phone)) == sent


def test_the_api_stands_down_with_a_note_per_language_and_checks_the_codes(client, personas):
    min_jun = responder(personas.org_a, "minjun", "ko")
    activation = callout(personas)
    text(client, min_jun.phone, "갑니다 10")
    auth = _bearer(personas.dispatcher)
    url = f"/api/v1/activations/{activation.pk}/stand-down"
    unknown = client.post(url, {"note": {"xx": "?"}}, content_type="application/json", **auth)
    assert unknown.status_code == 400 and "ko" in unknown.json()["errors"]["note"]
    long = client.post(
        url, {"note": {"ko": "가" * (guidance.MAX_GUIDANCE + 1)}},
        content_type="application/json", **auth,
    )  # fmt: skip
    assert long.status_code == 400 and "note_ko" in long.json()["errors"]
    for bad in ('{"note": "hello"}', "{not json", '{"note": {"ko": 5}}'):
        refused = client.post(url, bad, content_type="application/json", **auth)
        assert refused.status_code == 400 and "note" in refused.json()["errors"], bad
    assert Activation.objects.get(pk=activation.pk).status == "open"
    down = client.post(
        url, {"note": {"ko": "조심히 귀가하세요", "en": "Go home safely"}},
        content_type="application/json", **auth,
    )  # fmt: skip
    assert down.status_code == 200 and down.json()["status"] == "stood_down"
    with translation.override("ko"):
        korean = services.stand_down_text(activation.code)
    assert outbox_to(min_jun.phone)[-1] == f"{korean} 조심히 귀가하세요"
