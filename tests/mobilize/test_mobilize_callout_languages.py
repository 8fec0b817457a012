"""Call-out replies in every shipped language (issue 13 applied to call-outs): the words come
from the one keyword table (``core.languages.SMS_KEYWORDS``: coming / arrived / left / no), the
texts that answer name the words of the person's language from that same table, and the
call-out's call speaks their language when a voice reads it, or plays the coordinators'
recorded call-out in it when none does."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from django.utils import translation

from tests.alerts.test_alert_recordings import MP3, upload
from tests.conftest import sign_in
from tests.mobilize.test_mobilize_callouts import (
    VOICE,
    callout,
    new_number,
    outbox_to,
    responder,
    response_of,
    text,
)
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    twilio_webhooks,
)
from vecinos.alerts import recordings
from vecinos.alerts import services as alert_services
from vecinos.core import languages
from vecinos.messaging.models import Delivery
from vecinos.mobilize import inbound, services
from vecinos.reports.models import Report
from vecinos.transports import registry
from vecinos.transports.twilio.voice import delivery_token

WRITTEN = [lang.code for lang in languages.written_languages()]
ANSWER = {"coming": "coming", "arrived": "arrived", "left": "left", "no": "declined"}
ENTRIES = sorted(
    (kind, code, word)
    for kind in ANSWER
    for code, words in languages.SMS_KEYWORDS[kind].items()
    for word in words
)


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def folded(word: str) -> str:
    return " ".join(token for token, _end in languages.keyword_tokens(word)[1])


# --- the table ------------------------------------------------------------------------------------


def test_every_written_language_has_its_call_out_words_and_no_word_means_two_things():
    for kind in ANSWER:
        assert set(WRITTEN) <= {code for code in languages.SMS_KEYWORDS[kind] if code}, kind
    # English and Spanish words always work, whatever the person's language.
    assert {"VOY", "GOING", "COMING"} <= set(inbound.COMING)
    assert {"LLEGUE", "ARRIVED"} <= set(inbound.ARRIVED)
    assert {"ME VOY", "LEFT"} <= set(inbound.LEFT)
    assert "NO" in inbound.DECLINED
    seen: dict[str, str] = {}
    for kind in languages.SMS_KEYWORDS:
        for word in languages.sms_keywords(kind):
            assert seen.setdefault(word, kind) == kind, (word, kind, seen[word])


def test_no_reply_word_is_a_report_flow_or_event_command():
    from vecinos.mobilize import events
    from vecinos.reports import sms_flow

    others = set(sms_flow.START_WORDS) | set(sms_flow.CANCEL_WORDS) | set(events.CANCEL_WORDS)
    for kind in languages.CALLOUT_KINDS:
        assert not set(languages.sms_keywords(kind)) & others, kind
        # ... and from someone no call-out asked they stay ordinary words (a report).
        assert not set(languages.sms_keywords(kind)) & sms_flow.RESERVED, kind


@pytest.mark.parametrize(("kind", "code", "word"), ENTRIES)
def test_every_word_of_the_table_is_a_reply(kind, code, word):
    language = languages.sms_keywords(kind)[folded(word)]
    assert inbound.parse(word) == (ANSWER[kind], language, None, "")
    assert inbound.parse(f" {word.lower()}! ") == (ANSWER[kind], language, None, "")
    assert inbound.parse(f"{word} K7QM") == (ANSWER[kind], language, None, "K7QM")
    if kind == "coming":
        assert inbound.parse(f"{word} 15 K7QM") == ("coming", language, 15, "K7QM")
    else:
        assert inbound.parse(f"{word} 15") is None  # minutes mean nothing there
    assert inbound.parse(f"{word} a b c d") is None  # a sentence, not a reply


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        ("갑니다 15", ("coming", "ko", 15, "")),
        ("갑니다 15분 K7QM", ("coming", "ko", 15, "K7QM")),
        ("가는 중 20", ("coming", "ko", 20, "")),
        ("ĐẾN", ("arrived", "vi", None, "")),
        ("den", ("arrived", "vi", None, "")),  # typed without accents
        ("dang di 10 phut", ("coming", "vi", 10, "")),
        ("ВЫЕХАЛ 20", ("coming", "ru", 20, "")),  # "set off": on the way
        ("Ушел", ("left", "ru", None, "")),
        ("ушёл k7qm", ("left", "ru", None, "K7QM")),
        ("我去10分钟", ("coming", "zh-hans", 10, "")),
        ("到達", ("arrived", "zh-hant", None, "")),
        ("行きます 15分", ("coming", "ja", 15, "")),
        ("میام ۱۵", ("coming", "fa", 15, "")),  # Persian digits
        ("قادم ١٠ دقائق", ("coming", "ar", 10, "")),  # Arabic-Indic digits
        ("ԳԱԼԻՍ ԵՄ 15 րոպե", ("coming", "hy", 15, "")),
        ("មកដល់", ("arrived", "km", None, "")),
        ("Papunta na 5", ("coming", "tl", 5, "")),
        ("VOY EN 15 MIN", ("coming", "es", 15, "")),
        ("omw 10 K7QM", ("coming", "en", 10, "K7QM")),
        ("Ya me voy", ("left", "es", None, "")),
        ("아니요 K7QM", ("declined", "ko", None, "K7QM")),
        ("NO", ("declined", "", None, "")),
        ("LLEGUE 2345", ("arrived", "es", None, "2345")),  # an all-digit code
    ],
)
def test_hand_written_replies(body, parsed):
    assert inbound.parse(body) == parsed


@pytest.mark.parametrize(
    "body",
    ["VOY A LA TIENDA HOY", "AQUI HAY MIGRA", "LLEGUE 15", "갑니다 집에 지금 바로", "ok",
     "2345", "我去超市", "HERE IS ICE", "ENGLISH", "네"],
)  # fmt: skip
def test_what_is_not_a_reply(body):
    assert inbound.parse(body) is None


# --- the texts name the words of the person's language --------------------------------------------


def _named(text_: str, words: dict[str, str]) -> None:
    for kind, word in words.items():
        assert word in text_, (kind, word, text_)
        assert inbound.parse(word) is not None


@pytest.mark.django_db
@pytest.mark.parametrize("code", WRITTEN)
def test_each_language_s_texts_name_its_own_words(personas, code):
    person = responder(personas.org_a, "r", code)
    activation = callout(personas, staging_point="Plaza")
    response = response_of(activation, person)
    words = services.reply_words(code)
    assert {k: languages.SMS_KEYWORDS[k].get(code, ("",))[0] for k in ("coming", "arrived")} == {
        "coming": words["coming"],
        "arrived": words["arrived"],
    }
    with translation.override(code):
        coming = inbound.reply_text("coming", response, 10)
        there = inbound.reply_text("arrived", response, None)
    _named(coming, {"arrived": words["arrived"], "no": words["no"]})
    _named(there, {"left": words["left"]})
    ask = services.ask_text(activation, code, "sms", "https://x/r/t/")
    _named(ask, {"coming": words["coming"], "no": words["no"]})
    if code != "es":
        for text_ in (coming, there, ask):
            assert "LLEGU" not in text_ and "ME VOY" not in text_ and "VOY 15" not in text_
    if code not in ("en", "es"):
        assert coming != inbound.reply_text("coming", response, 10)  # translated


# --- through the signed webhook -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
def test_a_korean_responder_is_asked_counted_and_answered_in_korean(client, personas):
    min_jun = responder(personas.org_a, "minjun", "ko")
    activation = callout(personas, staging_point="Koreatown plaza")
    ask = outbox_to(min_jun.phone)[0]
    assert "갑니다" in ask and "아니요" in ask and "VOY" not in ask
    reply = text(client, min_jun.phone, "갑니다 15분")
    r = response_of(activation, min_jun)
    assert r.status == "coming" and r.eta is not None
    with translation.override("ko"):
        assert reply == inbound.reply_text("coming", r, 15)
    assert "도착" in reply and "아니요" in reply and "LLEGUE" not in reply
    reply = text(client, min_jun.phone, "도착")
    r.refresh_from_db()
    assert r.status == "arrived" and r.arrived_at is not None
    assert "떠남" in reply and "ME VOY" not in reply
    text(client, min_jun.phone, "떠남")
    r.refresh_from_db()
    assert r.status == "left"


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
def test_a_vietnamese_reply_without_accents_and_with_the_code_is_counted(client, personas):
    lan = responder(personas.org_a, "lan", "vi")
    first = callout(personas, staging_point="First")
    second = callout(personas, staging_point="Second")
    reply = text(client, lan.phone, f"dang di 10 {first.code.lower()}")
    assert response_of(first, lan).status == "coming"
    assert response_of(second, lan).status == "asked"
    assert "ĐẾN" in reply and "KHÔNG" in reply
    reply = text(client, lan.phone, "KHÔNG")  # no code: the most recent that asked
    assert response_of(second, lan).status == "declined"
    with translation.override("vi"):
        assert reply == inbound.reply_text("declined", response_of(second, lan), None)


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
def test_english_and_spanish_words_work_for_everyone_answered_in_their_language(client, personas):
    anna = responder(personas.org_a, "anna", "ru")
    activation = callout(personas)
    reply = text(client, anna.phone, "VOY 5")
    assert response_of(activation, anna).status == "coming"
    assert "НА МЕСТЕ" in reply and "НЕТ" in reply


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
def test_a_reply_word_from_a_stranger_is_still_a_report(client, personas):
    callout(personas)
    text(client, new_number(), "Aquí hay migra")
    assert Report.objects.count() == 1


# --- voice ----------------------------------------------------------------------------------------


def _voice_call(client, personas, settings, language: str):
    settings.TWILIO_FROM_NUMBER = "+12135550000"
    person = responder(personas.org_a, f"v{language}", language)
    sub = alert_services.ensure_member_subscriber(person)
    sub.channels = ["voice", "sms"]
    sub.save()
    activation = callout(personas, staging_point="Plaza Mariachi")
    delivery = Delivery.objects.get(ref_type="activation", channel="voice")
    token = delivery_token(delivery.pk)
    params = {"CallSid": "CA" + "1" * 32, "From": "+12135550000", "To": person.phone}
    first = signed_post(client, f"{VOICE}?flow=alert&d={token}", params)
    assert first.status_code == 200
    return person, activation, token, params, ET.fromstring(first.content)


def _says(node) -> list[tuple[str | None, str | None, str]]:
    return [(s.get("voice"), s.get("language"), s.text or "") for s in node.iter("Say")]


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
def test_a_korean_call_out_call_speaks_korean_with_the_korean_voice(client, personas, settings):
    person, activation, token, params, root = _voice_call(client, personas, settings, "ko")
    gather = root.find("Gather")
    assert gather is not None and gather.find("Play") is None
    said = _says(gather)
    with translation.override("ko"):
        keys = translation.gettext("Press 1 if you are coming. Press 2 if you cannot come.")
    assert said[0][:2] == ("Polly.Seoyeon", "ko-KR") and "Plaza Mariachi" in said[0][2]
    assert said[-1] == ("Polly.Seoyeon", "ko-KR", keys) and "1번" in keys
    # The default guidance is written in Korean too: the Korean voice reads it.
    assert said[1] == ("Polly.Seoyeon", "ko-KR", services.DEFAULT_GUIDANCE["ko"])
    pressed = signed_post(
        client, f"{VOICE}?flow=alert&d={token}&step=reply", {**params, "Digits": "1"}
    )
    thanks = _says(ET.fromstring(pressed.content))
    assert thanks[0][:2] == ("Polly.Seoyeon", "ko-KR")
    with translation.override("ko"):
        assert thanks[0][2] == translation.gettext(
            "Thank you, we count you as coming. Meet at %(place)s. Goodbye."
        ) % {"place": "Plaza Mariachi"}
    r = response_of(activation, person)
    assert r.status == "coming" and r.via == "voice"


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
def test_a_farsi_call_out_call_plays_the_recorded_call_out_then_spanish(
    client, personas, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    other = client.__class__()
    sign_in(other, personas.coalition)
    page = other.get("/alerts/recordings/")
    assert 'value="callout"' in page.content.decode()
    assert upload(other, kind="callout", language="fa").status_code == 302
    person, activation, token, params, root = _voice_call(client, personas, settings, "fa")
    gather = root.find("Gather")
    assert gather is not None
    children = list(gather)
    assert children[0].tag == "Play"
    url = children[0].text or ""
    assert url == recordings.audio_url(recordings.recording_for("callout", "fa"))
    assert other.get(urlsplit(url).path).content == MP3
    said = _says(gather)
    assert {(v, lang) for v, lang, _t in said} == {("Polly.Mia", "es-MX")}
    assert any("Plaza Mariachi" in t for _v, _l, t in said)
    assert re.search(r"Oprima 1", said[-1][2])
    pressed = signed_post(
        client, f"{VOICE}?flow=alert&d={token}&step=reply", {**params, "Digits": "2"}
    )
    assert b"es-MX" in pressed.content
    assert response_of(activation, person).status == "declined"


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
def test_an_alert_recording_is_not_played_for_a_call_out_and_no_recording_falls_back_to_spanish(
    client, personas, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    other = client.__class__()
    sign_in(other, personas.coalition)
    assert upload(other, kind="activation", language="km").status_code == 302
    _person, _activation, _token, _params, root = _voice_call(client, personas, settings, "km")
    gather = root.find("Gather")
    assert gather is not None and gather.find("Play") is None
    assert {(v, lang) for v, lang, _t in _says(gather)} == {("Polly.Mia", "es-MX")}
