"""RIGHTS / DERECHOS / 권리 ... through the signed SMS webhook, and "your rights" on the hotline."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import phonenumbers
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import make_member
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    sms_reply,
    twilio_signature,
    twilio_webhooks,
)
from vecinos.core.models import AuditEvent  # noqa: E402
from vecinos.rights.models import Recording

SMS = "/hooks/twilio/sms"
VOICE = "/hooks/twilio/voice"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]


_given: set[str] = set()


def new_number() -> str:
    """A valid number no earlier call gave (two people with one number would share one
    subscription: a collision made a quota test flaky)."""
    while True:
        number = f"+1323555{random.randint(0, 9999):04d}"
        if number not in _given and phonenumbers.is_valid_number(phonenumbers.parse(number)):
            _given.add(number)
            return number


say = sms_reply  # the signed webhook, its one reply


@pytest.mark.parametrize(
    ("body", "expected", "lang"),
    [
        ("RIGHTS", "warrant signed by a judge", "en"),
        ("rights?", "warrant signed by a judge", "en"),
        ("Derechos", "orden firmada por un juez", "es"),
        ("권리", "판사", "ko"),
        ("karapatan", "hukom", "tl"),
        ("ПРАВА", "судь", "ru"),
        ("权利", "法官", "zh-hans"),
        ("權利", "法官", "zh-hant"),
        ("quyền", "thẩm phán", "vi"),
        ("សិទ្ធិ", "ចៅក្រម", "km"),
        ("権利", "裁判官", "ja"),
        ("Իրավունքներ", "դատավոր", "hy"),
    ],
)
def test_rights_keyword_answers_in_its_language_with_a_link(client, settings, body, expected, lang):
    reply = say(client, new_number(), body)
    assert reply is not None and expected in reply, reply
    assert f"{settings.PUBLIC_URL}/rights/?lang={lang}" in reply


def test_shared_arabic_script_word_answers_in_arabic_and_farsi(client):
    reply = say(client, new_number(), "حقوق")
    assert "lang=ar" in reply and "lang=fa" in reply


def test_member_preference_wins_for_the_carriers_keywords(client, db):
    number = new_number()
    make_member("kyr-ko", phone=number, preferred_language="ko")
    reply = say(client, number, "RIGHTS")
    assert "lang=ko" in reply and "lang=en" not in reply


def test_rights_inside_a_long_message_is_not_a_keyword(client):
    reply = say(client, new_number(), "agents at the corner asking about rights of people here now")
    assert reply is None or "/rights/" not in reply


# --- Voice ---------------------------------------------------------------------------------------


def call(client, query: str, **params) -> ET.Element:
    data = {
        "CallSid": "CA" + f"{random.getrandbits(128):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": new_number(),
        "To": "+12135550000",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        **params,
    }
    response = signed_post(client, f"{VOICE}?{query}", data)
    assert response.status_code == 200, response.content
    return ET.fromstring(response.content)


def test_hotline_menu_offers_your_rights_and_3_goes_there(client):
    menu = call(client, "flow=hotline&step=lang", Digits="2")
    spoken = " ".join(s.text or "" for s in menu.iter("Say"))
    assert "derechos" in spoken and "3" in spoken
    root = call(client, "flow=hotline&step=menu&lang=es", Digits="3")
    assert root.find("Redirect").text == "/hooks/twilio/voice?flow=rights&step=say&lang=es&back=es"


@pytest.mark.parametrize(
    ("preferred", "voice", "words"),
    [
        ("ko", "Polly.Seoyeon", "판사"),
        ("ru", "Polly.Tatyana", "судь"),
        ("ja", "Polly.Mizuki", "裁判官"),
    ],
)
def test_a_known_caller_hears_the_rights_in_their_own_language(client, preferred, voice, words):
    number = new_number()
    make_member(f"caller-{preferred}", phone=number, preferred_language=preferred)
    # They chose English in the language menu (only English and Spanish are offered there).
    root = call(client, "flow=hotline&step=menu&lang=en", Digits="3", From=number)
    target = root.find("Redirect").text
    assert f"lang={preferred}" in target and "back=en" in target
    rights = call(client, target.split("?", 1)[1], From=number)
    first = rights.find("Say")
    assert first.get("voice") == voice and words in first.text
    # ... and back to the menu in the language they chose there.
    assert rights.find("Redirect").text.endswith("step=main&lang=en")


def test_a_mixteco_speaker_calling_the_hotline_hears_the_recorded_rights(
    client, personas, login, media
):
    login(personas.coalition)  # the hotline's recordings are the coalition coordinators'
    upload = SimpleUploadedFile("mixteco.mp3", MP3, content_type="audio/mpeg")
    assert (
        client.post("/rights/recordings/", {"language": "mix", "audio": upload}).status_code == 302
    )
    client.logout()
    number = new_number()
    make_member("caller-mix", phone=number, preferred_language="mix")
    root = call(client, "flow=hotline&step=menu&lang=es", Digits="3", From=number)
    rights = call(client, root.find("Redirect").text.split("?", 1)[1], From=number)
    assert "/rights/audio/" in rights.find("Play").text
    assert rights.find("Say") is None
    assert rights.find("Redirect").text.endswith("step=main&lang=es")


def test_an_unknown_caller_hears_the_rights_in_the_menus_language(client):
    root = call(client, "flow=hotline&step=menu&lang=en", Digits="3")
    target = root.find("Redirect").text
    rights = call(client, target.split("?", 1)[1])
    assert rights.find("Say").get("language") == "en-US"


@pytest.mark.parametrize(
    ("lang", "voice", "language", "words"),
    [
        ("es", "Polly.Mia", "es-MX", "orden firmada por un juez"),
        ("en", "Polly.Joanna", "en-US", "warrant signed by a judge"),
        ("ko", "Polly.Seoyeon", "ko-KR", "판사"),
    ],
)
def test_rights_are_spoken_with_the_languages_voice(client, settings, lang, voice, language, words):
    settings.HOTLINE_NUMBER = "+1 213 555 0100"
    root = call(client, f"flow=rights&step=say&lang={lang}")
    first = root.find("Say")
    assert first.get("voice") == voice and first.get("language") == language
    assert words in first.text
    redirect = root.find("Redirect").text
    assert "flow=hotline" in redirect and "step=main" in redirect


def test_language_without_a_voice_falls_back_to_english_speech(client):
    root = call(client, "flow=rights&step=say&lang=km")
    assert root.find("Say").get("language") == "en-US"


def test_back_at_the_main_menu_after_the_rights(client):
    root = call(client, "flow=hotline&step=main&lang=en")
    assert root.find("Gather") is not None
    assert "press 3" in " ".join(s.text or "" for s in root.iter("Say"))


# --- Recordings (the spoken-only languages, and any language a coordinator recorded) ----------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64


def test_coordinator_uploads_a_recording_and_the_hotline_plays_it(client, personas, login, media):
    login(personas.coalition)  # the hotline's recordings are the coalition coordinators'
    page = client.get("/rights/recordings/")
    assert page.status_code == 200 and "Tu&#x27;un savi" in page.content.decode()
    upload = SimpleUploadedFile("mixteco.mp3", MP3, content_type="audio/mpeg")
    response = client.post("/rights/recordings/", {"language": "mix", "audio": upload})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="rights.recording_save").exists()
    client.logout()
    root = call(client, "flow=rights&step=say&lang=mix")
    url = root.find("Play").text
    assert url.startswith("http://testserver/rights/audio/")
    assert root.find("Say") is None
    # The provider fetches it with no session: the signed URL is the key.
    audio = client.get(url.removeprefix("http://testserver"))
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"
    assert audio.content == MP3
    assert client.get(url.removeprefix("http://testserver")[:-4] + "xx/").status_code == 404
    assert client.get("/rights/audio/mix/").status_code == 404  # no guessable address
    [stored] = list(media.joinpath("rights-voice").iterdir())  # stored once, encrypted
    assert b"ID3" not in stored.read_bytes()


def test_a_recording_that_is_not_audio_is_refused_with_a_message(client, personas, login, media):
    login(personas.coalition)  # the hotline's recordings are the coalition coordinators'
    upload = SimpleUploadedFile("x.mp3", b"<html>not audio</html>", content_type="audio/mpeg")
    response = client.post("/rights/recordings/", {"language": "ko", "audio": upload})
    assert response.status_code == 200
    assert "MP3 or WAV" in response.content.decode()
    assert not Recording.objects.exists()


@pytest.mark.parametrize("who", ["newcomer", "dispatcher"])
def test_only_coordinators_upload_recordings(client, personas, login, who, media):
    login(getattr(personas, who))
    upload = SimpleUploadedFile("m.mp3", MP3, content_type="audio/mpeg")
    assert (
        client.post("/rights/recordings/", {"language": "mix", "audio": upload}).status_code == 403
    )
    assert not Recording.objects.exists()
