"""The voice hotline in every language of the registry, through the real, signed webhook: the
language menu's pages (each entry in its own language), the prompts in the caller's language
(its voice, else a coordinator's recording played from a signed URL Vecinos serves, else
Spanish), and the coordinators' page where the hotline's prompts are recorded."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from tests.conftest import make_member
from tests.reports.test_voice_intake import RECORDING, call, new_number, spoken
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    twilio_signature,
    twilio_webhooks,
)
from vecinos.alerts import recordings
from vecinos.alerts.models import TemplateRecording
from vecinos.core import languages
from vecinos.core.audit import AuditEvent
from vecinos.reports import voice_prompts
from vecinos.reports.models import Report

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]

PAGE = "/alerts/recordings/hotline/"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40


@pytest.fixture
def caller() -> str:
    return new_number()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(client, *, kind="hl-menu", language="mix", data=MP3, name="rec.mp3"):
    audio = SimpleUploadedFile(name, data, content_type="audio/mpeg")
    return client.post(PAGE, {"kind": kind, "language": language, "audio": audio})


def says(node) -> list[tuple[str | None, str | None]]:
    return [(s.get("voice"), s.text) for s in node.iter("Say")]


def translated(lang: str, text) -> str:
    with translation.override(lang):
        return str(text)


# --- The menu's pages ----------------------------------------------------------------------------


def test_every_language_of_the_registry_has_one_key_and_pages_stay_short():
    offered = [code for page in voice_prompts.PAGES for code in page]
    assert sorted(offered) == sorted(lang.code for lang in languages.LANGUAGES)
    assert len(offered) == len(set(offered))
    for number, page in enumerate(voice_prompts.PAGES, 1):
        last = number == len(voice_prompts.PAGES)
        # "9" leads on, so a page that is not the last has at most eight languages.
        assert len(page) <= (9 if last else 8)
    assert voice_prompts.keys_to_press("ko") == "9 2"
    assert voice_prompts.keys_to_press("mix") == "9 9 4"


def test_a_caller_picks_korean_on_the_second_page(client, caller):
    first = call(client, caller)
    second = call(client, caller, "flow=hotline&step=lang", Digits="9")
    gather = second.find("Gather")
    assert gather.get("action") == "/hooks/twilio/voice?flow=hotline&step=lang&p=2"
    entry = translated("ko", voice_prompts.LANGUAGE_ENTRY) % {"language": "한국어", "key": "2"}
    assert entry != "For 한국어, press 2."  # the Korean catalog's words, read by the Korean voice
    assert ("Polly.Seoyeon", entry) in says(gather)
    # Every entry is in its own language's voice; the nine keys of page 1 are not repeated.
    voices = {s.get("voice") for s in gather.findall("Say")}
    assert {"Polly.Zhiyu", "Google.vi-VN-Standard-A", "Polly.Zeina"} <= voices
    assert "Korean" not in spoken(first)

    menu = call(client, caller, "flow=hotline&step=lang&p=2", Digits="2")
    assert menu.find("Gather").get("action") == "/hooks/twilio/voice?flow=hotline&step=menu&lang=ko"
    prompt = translated("ko", voice_prompts.MENU)
    assert prompt != str(voice_prompts.MENU)
    assert says(menu.find("Gather")) == [
        ("Polly.Seoyeon", prompt),
        ("Polly.Seoyeon", translated("ko", voice_prompts.MENU_RIGHTS)),
    ]
    # ... and so on to the end: record instructions and thanks in Korean too.
    record = call(client, caller, "flow=hotline&step=menu&lang=ko", Digits="2")
    assert record.find("Record").get("action").endswith("step=recorded&lang=ko")
    assert {s.get("language") for s in record.iter("Say")} == {"ko-KR"}
    done = call(client, caller, "flow=hotline&step=recorded&lang=ko", RecordingUrl=RECORDING)
    assert says(done) == [("Polly.Seoyeon", translated("ko", voice_prompts.THANKS))]
    assert Report.objects.get().language == "ko"


def test_waiting_hears_every_page_then_spanish(client, caller):
    second = call(client, caller, "flow=hotline&step=lang")  # page 1 timed out
    assert second.find("Gather").get("action").endswith("step=lang&p=2")
    third = call(client, caller, "flow=hotline&step=lang&p=2")
    assert third.find("Gather").get("action").endswith("step=lang&p=3")
    # The last page offers no "more languages".
    assert "9." not in " ".join(
        s.text or "" for s in third.iter("Say") if s.get("voice") == "Polly.Joanna"
    )
    after = call(client, caller, "flow=hotline&step=lang&p=3")
    assert after.find("Gather").get("action").endswith("step=menu&lang=es")


def test_a_wrong_key_on_a_later_page_repeats_it_once_then_moves_on(client, caller):
    again = call(client, caller, "flow=hotline&step=lang&p=2", Digits="0")
    assert again.find("Gather").get("action").endswith("step=lang&p=2&n=1")
    on = call(client, caller, "flow=hotline&step=lang&p=2&n=1", Digits="*")
    assert on.find("Gather").get("action").endswith("step=menu&lang=es")
    # A page number out of range is the first page, not an error.
    assert (
        call(client, caller, "flow=hotline&step=lang&p=77", Digits="2").find("Gather") is not None
    )


def test_a_spoken_only_language_without_recordings_is_offered_and_spoken_in_spanish(client, caller):
    third = call(client, caller, "flow=hotline&step=lang&p=2", Digits="9")
    assert ("Polly.Mia", "Para mixteco, oprima 4.") in says(third)
    assert third.find(".//Play") is None
    menu = call(client, caller, "flow=hotline&step=lang&p=3", Digits="4")
    assert menu.find("Gather").get("action").endswith("step=menu&lang=mix")
    assert {s.get("language") for s in menu.iter("Say")} == {"es-MX"}  # the fallback
    record = call(client, caller, "flow=hotline&step=menu&lang=mix", Digits="2")
    assert record.find("Record").get("action").endswith("step=recorded&lang=mix")
    assert {s.get("language") for s in record.iter("Say")} == {"es-MX"}


def test_a_recorded_language_plays_its_prompts_from_signed_urls(
    client, caller, personas, login, media
):
    login(personas.coalition)
    for kind in voice_prompts.KINDS:
        assert upload(client, kind=kind, language="mix").status_code == 302
    client.logout()
    provider = Client()  # the provider: no session, the signed URL is the key

    def played(node) -> list[bytes]:
        urls = [p.text for p in node.iter("Play")]
        assert all(url.startswith("http://testserver/alerts/voice/") for url in urls)
        return [provider.get(urlsplit(url).path).content for url in urls]

    third = call(client, caller, "flow=hotline&step=lang&p=2", Digits="9")
    assert played(third.find("Gather")) == [MP3]  # its own entry; Zapotec's is still Spanish
    assert ("Polly.Mia", "Para zapoteco, oprima 5.") in says(third)

    menu = call(client, caller, "flow=hotline&step=lang&p=3", Digits="4")
    gather = menu.find("Gather")
    assert played(gather) == [MP3] and gather.find("Say") is None

    # Nobody on duty: "no dispatcher", then how to leave a message, both recorded.
    busy = call(client, caller, "flow=hotline&step=menu&lang=mix", Digits="1")
    # After the recording verb, the goodbye for a caller who said nothing: recorded too.
    assert [child.tag for child in busy] == ["Play", "Play", "Record", "Play", "Hangup"]
    assert played(busy) == [MP3, MP3, MP3]

    # A wrong key on the main menu: "not an option", then the menu, both recorded.
    sorry = call(client, caller, "flow=hotline&step=menu&lang=mix", Digits="7")
    assert played(sorry.find("Gather")) == [MP3, MP3] and sorry.find(".//Say") is None

    # A call that records nothing ends with the recorded goodbye, not Spanish.
    empty = call(client, caller, "flow=hotline&step=recorded&lang=mix", RecordingUrl="")
    assert [child.tag for child in empty] == ["Play", "Hangup"]
    assert played(empty) == [MP3]

    done = call(client, caller, "flow=hotline&step=recorded&lang=mix", RecordingUrl=RECORDING)
    assert [child.tag for child in done] == ["Play", "Hangup"]
    assert Report.objects.get().language == "mix"
    audio = provider.get(urlsplit(done.find("Play").text).path)
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"


def test_a_missing_recording_falls_back_to_spanish(client, caller, personas, login, media):
    login(personas.coalition)
    assert upload(client, kind="hl-menu", language="zap").status_code == 302
    menu = call(client, caller, "flow=hotline&step=main&lang=zap")
    assert menu.find(".//Play") is not None
    record = call(client, caller, "flow=hotline&step=menu&lang=zap", Digits="2")
    assert record.find(".//Play") is None
    spanish = translated("es", voice_prompts.RECORD)
    assert ("Polly.Mia", spanish) in says(record)
    # A recording of another language is not played to this one.
    other = call(client, caller, "flow=hotline&step=main&lang=quc")
    assert other.find(".//Play") is None


def test_a_known_caller_skips_the_language_menu(client):
    korean, mixteco = new_number(), new_number()
    make_member("hotline-ko", phone=korean, preferred_language="ko")
    make_member("hotline-mix", phone=mixteco, preferred_language="mix")
    root = call(client, korean)
    assert root.find("Gather").get("action").endswith("step=menu&lang=ko")
    assert {s.get("voice") for s in root.iter("Say")} == {"Polly.Seoyeon"}
    assert call(client, mixteco).find("Gather").get("action").endswith("step=menu&lang=mix")


def test_after_the_rights_the_menu_comes_back_in_the_callers_language(client, caller):
    root = call(client, caller, "flow=hotline&step=menu&lang=ko", Digits="3")
    target = root.find("Redirect").text
    assert "lang=ko" in target and "back=ko" in target
    rights = call(client, caller, target.split("?", 1)[1])
    assert rights.find("Redirect").text.endswith("step=main&lang=ko")


# --- The coordinators' page ------------------------------------------------------------------------


def test_the_page_says_which_prompts_are_missing_for_which_language(client, personas, login, media):
    login(personas.coalition)
    page = client.get(PAGE)
    assert page.status_code == 200
    incomplete = {lang.code: missing for lang, _keys, _cells, missing in page.context["incomplete"]}
    assert set(incomplete) == set(recordings.RECORDED_LANGUAGES)
    assert len(incomplete["mix"]) == len(voice_prompts.KINDS)
    body = page.content.decode()
    assert "9 9 4" in body  # the keys Mixteco's entry must say
    assert "For …, press …." in body

    assert upload(client, kind="hl-menu", language="mix").status_code == 302
    event = AuditEvent.objects.get(action="alert.recording_save")
    assert event.detail == {"kind": "hl-menu", "language": "mix", "size": len(MP3)}
    incomplete = {
        lang.code: [str(label) for label in missing]
        for lang, _keys, _cells, missing in client.get(PAGE).context["incomplete"]
    }
    assert "Main menu" not in incomplete["mix"] and "Main menu" in incomplete["zap"]
    for kind in voice_prompts.KINDS:
        upload(client, kind=kind, language="mix")
    after = client.get(PAGE)
    assert "mix" not in {lang.code for lang, *_rest in after.context["incomplete"]}
    # The alert templates' page is unchanged by the hotline's recordings.
    assert client.get("/alerts/recordings/").status_code == 200


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<html>not audio</html>", "x.mp3"),
        (b"MZ\x90\x00" + b"\x00" * 100, "evil.wav"),
        (b"ID3" + b"\x00" * (10 * 1024 * 1024), "huge.mp3"),
        (b"", "empty.mp3"),
    ],
)
def test_a_bad_file_is_refused_with_a_message(client, personas, login, media, data, name):
    login(personas.coalition)
    response = upload(client, data=data, name=name)
    assert response.status_code == 400
    assert '<ul class="errorlist"' in response.content.decode()
    assert TemplateRecording.objects.count() == 0
    assert not (media / recordings.FOLDER).exists() or not any(
        (media / recordings.FOLDER).iterdir()
    )


def test_a_voiced_language_or_an_alert_kind_is_refused_here(client, personas, login, media):
    login(personas.coalition)
    assert upload(client, language="ko").status_code == 400
    assert upload(client, kind="activation").status_code == 400
    assert upload(client, kind="hl-nope").status_code == 400
    assert TemplateRecording.objects.count() == 0
    with pytest.raises(recordings.RecordingRefused):
        recordings.recording_save(kind="hl-menu", language="es", data=MP3, actor=personas.coalition)


@pytest.mark.parametrize("who", ["coordinator", "dispatcher", "verifier", "newcomer", "outsider"])
def test_only_coalition_coordinators_record_hotline_prompts(client, personas, login, media, who):
    login(getattr(personas, who))
    assert client.get(PAGE).status_code == 403
    assert upload(client).status_code == 403
    assert TemplateRecording.objects.count() == 0


def test_signed_out_visitors_are_sent_to_sign_in(client, media):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/signin/" in response["Location"]
    assert upload(client).status_code == 302 and TemplateRecording.objects.count() == 0


def test_the_alerts_nav_links_the_page_for_coordinators_only(client, personas, login):
    login(personas.coalition)
    assert PAGE in client.get("/alerts/recordings/").content.decode()
    client.logout()
    login(personas.dispatcher)
    assert PAGE not in client.get("/alerts/").content.decode()
