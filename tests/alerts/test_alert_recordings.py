"""Recorded alert templates: a coalition coordinator uploads a recording per alert kind and
language (the languages no text-to-speech voice reads), stored encrypted, and an alert call to
someone of that language plays it (<Play> of a signed URL Vecinos serves) through the real,
signed voice webhook; languages with a voice are spoken by it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from tests.alerts.test_alert_voice import SPANISH, answer, says, voice_deliveries
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    twilio_signature,
    twilio_webhooks,
)
from vecinos.alerts import recordings
from vecinos.alerts.models import Alert, TemplateRecording
from vecinos.core.audit import AuditEvent
from vecinos.messaging.calls import call_path, delivery_token

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]

PAGE = "/alerts/recordings/"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(client, *, kind="activation", language="mix", data=MP3, name="rec.mp3"):
    audio = SimpleUploadedFile(name, data, content_type="audio/mpeg")
    return client.post(PAGE, {"kind": kind, "language": language, "audio": audio})


def stored_files(media) -> list:
    folder = media / recordings.FOLDER
    return sorted(folder.iterdir()) if folder.exists() else []


def test_coordinator_uploads_and_a_mixteco_call_plays_it(client, personas, login, media):
    login(personas.coalition)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Tu&#x27;un savi" in page.content.decode()
    assert upload(client).status_code == 302
    event = AuditEvent.objects.get(action="alert.recording_save")
    assert event.detail["language"] == "mix" and event.detail["kind"] == "activation"
    [stored] = stored_files(media)
    assert MP3 not in stored.read_bytes() and b"ID3" not in stored.read_bytes()  # encrypted
    client.logout()

    delivery = voice_deliveries(personas, language="mix")[0]
    root = answer(client, call_path(delivery_token(delivery.pk)))
    gather = root.find("Gather")
    url = gather.find("Play").text
    assert url.startswith("http://testserver/alerts/voice/")
    # Played first, then the alert's facts in Spanish, then "press 1".
    assert [child.tag for child in gather] == ["Play", "Say", "Say"]
    assert ("es-MX", SPANISH) in says(gather)
    # The provider fetches it: no session, the signed URL is the key.
    audio = Client().get(urlsplit(url).path)
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"
    assert audio.content == MP3


def test_a_recording_of_another_kind_or_language_is_not_played(client, personas, login, media):
    login(personas.coalition)
    assert upload(client, kind="sighting", language="mix").status_code == 302
    assert upload(client, kind="activation", language="zap").status_code == 302
    delivery = voice_deliveries(personas, language="mix")[0]  # an activation to a Mixteco speaker
    root = answer(client, call_path(delivery_token(delivery.pk)))
    assert root.find(".//Play") is None
    assert ("es-MX", SPANISH) in says(root.find("Gather"))


def test_a_forged_or_replaced_recording_url_is_gone(
    client, personas, login, media, django_capture_on_commit_callbacks
):
    login(personas.coalition)
    upload(client, language="fa")
    first = recordings.audio_path(TemplateRecording.objects.get())
    assert client.get(first).status_code == 200
    assert client.get(first[:-3] + "xx/").status_code == 404
    assert client.get("/alerts/voice/1/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, language="fa", data=WAV, name="new.wav")
    recording = TemplateRecording.objects.get()
    assert recording.content_type == "audio/wav"
    assert client.get(first).status_code == 404  # the old file's URL no longer plays
    fresh = client.get(recordings.audio_path(recording))
    assert fresh.content == WAV
    assert len(stored_files(media)) == 1  # the old file was removed


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<html>not audio</html>", "x.mp3"),
        (b"MZ\x90\x00" + b"\x00" * 100, "evil.wav"),
        (b"ID3" + b"\x00" * (10 * 1024 * 1024), "huge.mp3"),
        (b"", "empty.mp3"),
    ],
)
def test_what_is_not_audio_or_too_big_is_refused_with_a_message(
    client, personas, login, media, data, name
):
    login(personas.coalition)
    response = upload(client, data=data, name=name)
    assert response.status_code == 400
    assert TemplateRecording.objects.count() == 0 and stored_files(media) == []
    with translation.override("en"):
        assert '<ul class="errorlist"' in response.content.decode()


def test_a_language_with_a_voice_or_a_bogus_kind_is_refused(client, personas, login, media):
    login(personas.coalition)
    assert upload(client, language="ko").status_code == 400
    assert upload(client, kind="party").status_code == 400
    assert TemplateRecording.objects.count() == 0
    # The service refuses them too, whoever calls it.
    for kind, language in (("activation", "es"), ("party", "mix")):
        with pytest.raises(recordings.RecordingRefused):
            recordings.recording_save(
                kind=kind, language=language, data=MP3, actor=personas.coalition
            )


@pytest.mark.parametrize("who", ["coordinator", "dispatcher", "verifier", "newcomer", "outsider"])
def test_only_coalition_coordinators_upload_recordings(client, personas, login, media, who):
    login(getattr(personas, who))
    assert client.get(PAGE).status_code == 403
    assert upload(client).status_code == 403
    assert TemplateRecording.objects.count() == 0


def test_signed_out_visitors_are_sent_to_sign_in(client, media):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/signin/" in response["Location"]


def test_a_korean_speaker_hears_korean_with_the_korean_voice(client, personas):
    korean = "활성화: 소토 학교에서 관찰하세요."
    [delivery] = voice_deliveries(personas, language="ko", messages={"es": SPANISH, "ko": korean})
    root = answer(client, call_path(delivery_token(delivery.pk)))
    gather = root.find("Gather")
    with translation.override("ko"):
        prompt = translation.gettext("Press 1 to confirm you heard this message.")
    assert prompt != "Press 1 to confirm you heard this message."
    assert says(gather) == [("ko-KR", korean), ("ko-KR", prompt)]
    assert {s.get("voice") for s in root.iter("Say")} == {"Polly.Seoyeon"}


def test_every_kind_and_language_without_a_voice_can_be_recorded(client, personas, login):
    login(personas.coalition)
    body = client.get(PAGE).content.decode().split('name="kind"', 1)[1].split("</form>")[0]
    for kind in Alert.Kind.values:
        assert f'<option value="{kind}"' in body
    for code in ("hy", "fa", "km", "mix", "zap", "quc", "kjb", "mam", "tsz"):
        assert f'<option value="{code}"' in body
    assert '<option value="ko"' not in body and '<option value="es"' not in body


def test_the_review_page_says_which_spoken_only_calls_play_a_recording(
    client, personas, login, media
):
    from tests.alerts.test_alert_languages import members_alert, subscriber

    login(personas.coalition)
    assert upload(client, kind="notice", language="mix").status_code == 302
    subscriber("+12135550104", "mix")
    subscriber("+12135550105", "zap")
    alert = members_alert(personas.dispatcher, {"es": "Vecinos: AVISO. Reunión a las 6."})
    response = client.get(f"/alerts/{alert.pk}/")
    rows = {row.language: row for row in response.context["language_rows"]}
    assert rows["mix"].voice_only and rows["mix"].recorded
    assert rows["zap"].voice_only and not rows["zap"].recorded
    assert "Voice call · Recording + " in response.content.decode()
