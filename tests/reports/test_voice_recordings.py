"""Hotline recordings leave Twilio: fetched by a worker, kept encrypted, deleted at Twilio,
playable only by console users, and gone with the report's retention.

Twilio is a local server that speaks its documented Recordings API (tests/twilio_stub.py):
basic auth, ``GET .../Recordings/{Sid}.mp3``, ``DELETE .../Recordings/{Sid}.json``.
"""

from __future__ import annotations

import base64
import os
import random
from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest
import time_machine
from django.urls import reverse

from tests.conftest import sign_in
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    PUBLIC_URL,
    WEBHOOK_TOKEN,
    TwilioStub,
    fresh_rate_limits,
    signed_post,
)
from vecinos.core import crypto
from vecinos.core.models import AuditEvent
from vecinos.reports import recordings, services
from vecinos.reports.models import Attachment, Report
from vecinos.reports.tasks import collect_recordings, purge_expired

VOICE = "/hooks/twilio/voice"
HOTLINE_NUMBER = "+12135550000"
AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + os.urandom(6000)  # an MP3 as far as we care
T0 = datetime(2025, 5, 1, 18, 15, tzinfo=UTC)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def twilio(settings, tmp_path):
    """Twilio's REST API on localhost; the webhooks are signed with the same auth token."""
    stub = TwilioStub(auth_token=WEBHOOK_TOKEN).start()
    settings.TWILIO_API_URL = stub.url
    settings.TWILIO_ACCOUNT_SID = stub.account_sid
    settings.TWILIO_AUTH_TOKEN = stub.auth_token
    settings.TWILIO_TIMEOUT_SECONDS = 2
    settings.PUBLIC_URL = PUBLIC_URL
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REPORT_RETENTION_DAYS = 30
    try:
        yield stub
    finally:
        stub.stop()


_given: set[str] = set()


def new_number() -> str:
    """A valid number no earlier call gave (two people with one number would share one
    subscription: a collision made a quota test flaky)."""
    while True:
        number = f"+1323555{random.randint(0, 9999):04d}"
        if number not in _given and phonenumbers.is_valid_number(phonenumbers.parse(number)):
            _given.add(number)
            return number


def leave_message(client, capture, recording_url: str) -> Attachment:
    """The <Record> action callback, as Twilio signs it; the on-commit task runs inline."""
    params = {
        "CallSid": "CA" + f"{random.getrandbits(128):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": new_number(),
        "To": HOTLINE_NUMBER,
        "CallStatus": "completed",
        "Direction": "inbound",
        "RecordingUrl": recording_url,
        "RecordingDuration": "7",
    }
    with capture(execute=True):
        response = signed_post(client, f"{VOICE}?flow=hotline&step=recorded&lang=es", params)
    assert response.status_code == 200, response.content
    return Attachment.objects.get(report=Report.objects.latest("pk"))


def recording_calls(stub: TwilioStub) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in stub.requests if "/Recordings/" in r.path]


def media_url(attachment: Attachment) -> str:
    return reverse("console_media", args=[attachment.pk])


def test_a_hotline_message_is_fetched_stored_encrypted_and_deleted_at_twilio(
    client, twilio, django_capture_on_commit_callbacks, settings
):
    sid = twilio.add_recording(AUDIO)
    attachment = leave_message(
        client, django_capture_on_commit_callbacks, twilio.recording_url(sid)
    )

    base = f"/2010-04-01/Accounts/{twilio.account_sid}/Recordings/{sid}"
    assert recording_calls(twilio) == [("GET", f"{base}.mp3"), ("DELETE", f"{base}.json")]
    expected = (
        "Basic " + base64.b64encode(f"{twilio.account_sid}:{twilio.auth_token}".encode()).decode()
    )
    assert all(r.headers.get("Authorization") == expected for r in twilio.requests)
    assert sid not in twilio.recordings and twilio.deleted_recordings == [sid]

    assert attachment.remote_url == "" and attachment.path
    assert attachment.size == len(AUDIO) and attachment.content_type == "audio/mpeg"
    on_disk = (settings.MEDIA_ROOT / attachment.path).read_bytes()
    # Encrypted at rest: neither the audio nor a recognisable part of it is on disk.
    assert on_disk != AUDIO and AUDIO[:64] not in on_disk and AUDIO[-64:] not in on_disk
    assert crypto.decrypt_bytes(on_disk) == AUDIO
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"report.recording_fetched", "report.recording_deleted_at_provider"} <= actions


def test_the_dispatcher_plays_the_message_and_others_cannot(
    client, twilio, django_capture_on_commit_callbacks, personas
):
    attachment = leave_message(
        client,
        django_capture_on_commit_callbacks,
        twilio.recording_url(twilio.add_recording(AUDIO)),
    )
    sign_in(client, personas.dispatcher)
    response = client.get(media_url(attachment))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"
    assert response.content == AUDIO
    assert "no-store" in response["Cache-Control"]

    # Safari's <audio> asks for a byte range first and plays nothing without a 206.
    ranged = client.get(media_url(attachment), HTTP_RANGE="bytes=0-1")
    assert ranged.status_code == 206 and ranged.content == AUDIO[:2]
    assert ranged["Content-Range"] == f"bytes 0-1/{len(AUDIO)}"

    # The console's queue and the incident page hold a player pointing at that view.
    queue = client.get(reverse("console")).content.decode()
    assert f'<audio controls preload="none" id="recording-{attachment.pk}"' in queue
    assert f'src="{media_url(attachment)}"' in queue

    for persona in (personas.newcomer, personas.verifier):
        client.logout()
        sign_in(client, persona)
        assert client.get(media_url(attachment)).status_code in (403, 404), persona.username
    client.logout()
    response = client.get(media_url(attachment))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_incident_page_plays_the_recording(
    client, twilio, django_capture_on_commit_callbacks, personas
):
    from vecinos.reports import services

    attachment = leave_message(
        client,
        django_capture_on_commit_callbacks,
        twilio.recording_url(twilio.add_recording(AUDIO)),
    )
    report = attachment.report
    services.report_triage(report=report, tier="verify", actor=personas.dispatcher)
    report.refresh_from_db()
    sign_in(client, personas.dispatcher)
    page = client.get(reverse("console_incident", args=[report.incident_id])).content.decode()
    assert f'<audio controls preload="none" src="{media_url(attachment)}"' in page


def test_a_twilio_outage_keeps_the_url_and_a_later_run_fetches_it(
    client, twilio, django_capture_on_commit_callbacks
):
    sid = twilio.add_recording(AUDIO)
    twilio.fail_next(1, status=500)
    attachment = leave_message(
        client, django_capture_on_commit_callbacks, twilio.recording_url(sid)
    )
    assert attachment.remote_url == twilio.recording_url(sid) + ".mp3" and attachment.path == ""
    assert sid in twilio.recordings

    assert collect_recordings.call_local() == {recordings.DONE: 1}
    attachment.refresh_from_db()
    assert attachment.remote_url == "" and attachment.path
    assert twilio.deleted_recordings == [sid]
    # Nothing left: the next sweep asks Twilio nothing.
    before = len(twilio.requests)
    assert collect_recordings.call_local() == {}
    assert len(twilio.requests) == before


def test_a_failed_delete_is_retried_without_downloading_again(twilio):
    sid = twilio.add_recording(AUDIO)
    url = twilio.recording_url(sid)
    attachment = Attachment.objects.create(
        report=Report.objects.create(receipt="RCPT1", channel="voice"),
        kind=Attachment.Kind.RECORDING,
        content_type="audio/mpeg",
        remote_url=url,
    )
    # The GET works, the DELETE meets a 503: stored here, still tracked at Twilio.
    original = twilio._dispatch

    def flaky(request):
        if request.method == "DELETE" and not getattr(flaky, "done", False):
            flaky.done = True  # type: ignore[attr-defined]
            return 503, {"code": 20500, "message": "Service Unavailable", "status": 503}, 0
        return original(request)

    twilio._dispatch = flaky  # type: ignore[method-assign]
    assert recordings.recording_collect(attachment_id=attachment.pk) == recordings.UNREACHABLE
    attachment.refresh_from_db()
    assert attachment.path and attachment.remote_url == url
    assert sid in twilio.recordings

    assert recordings.recording_collect(attachment_id=attachment.pk) == recordings.DONE
    assert [m for m, _path in recording_calls(twilio)] == ["GET", "DELETE", "DELETE"]
    attachment.refresh_from_db()
    assert attachment.remote_url == "" and services.read_media(attachment) == AUDIO


def test_an_unreachable_twilio_keeps_the_url(client, twilio, django_capture_on_commit_callbacks):
    sid = twilio.add_recording(AUDIO)
    url = twilio.recording_url(sid)
    twilio.stop()  # connection refused from now on
    attachment = leave_message(client, django_capture_on_commit_callbacks, url)
    assert attachment.remote_url == url + ".mp3" and attachment.path == ""
    assert collect_recordings.call_local() == {recordings.UNREACHABLE: 1}
    attachment.refresh_from_db()
    assert attachment.remote_url == url + ".mp3"


def test_a_recording_twilio_no_longer_has_is_marked_gone(
    client, twilio, django_capture_on_commit_callbacks, personas
):
    attachment = leave_message(
        client, django_capture_on_commit_callbacks, twilio.recording_url("RE" + "ab" * 16)
    )
    assert [m for m, _path in recording_calls(twilio)] == ["GET"]
    attachment.refresh_from_db()
    assert attachment.remote_url == "" and attachment.path == ""
    sign_in(client, personas.dispatcher)
    assert client.get(media_url(attachment)).status_code == 404


def test_a_url_on_another_host_is_never_fetched(client, twilio, django_capture_on_commit_callbacks):
    other = TwilioStub(account_sid=twilio.account_sid, auth_token=twilio.auth_token).start()
    try:
        sid = other.add_recording(AUDIO)
        attachment = leave_message(
            client, django_capture_on_commit_callbacks, other.recording_url(sid)
        )
        assert collect_recordings.call_local() == {recordings.REFUSED: 1}
        # Neither host was asked anything; the account's credentials went nowhere.
        assert other.requests == [] and twilio.requests == []
        attachment.refresh_from_db()
        assert attachment.path == "" and attachment.remote_url
    finally:
        other.stop()


@pytest.mark.parametrize(
    "url",
    [
        "{other}/2010-04-01/Accounts/{ac}/Recordings/RE0123",
        "{scheme}://user@{host}/2010-04-01/Accounts/{ac}/Recordings/RE0123",
        "{base}/elsewhere?x=/2010-04-01/Accounts/{ac}/Recordings/RE0123",
        "{base}/2010-04-01/Accounts/{ac}/Calls/CA0123",
        "{base}/2010-04-01/Accounts/{ac}/Recordings/RE0123/../../../../Messages",
        "{base}/2010-04-01/Accounts/{ac}/Recordings/RE01%2F23",
        "ftp://{host}/2010-04-01/Accounts/{ac}/Recordings/RE0123",
        "not a url",
    ],
)
def test_only_recordings_on_the_configured_api_host_are_accepted(settings, url):
    settings.TWILIO_API_URL = "https://api.twilio.com"
    ac = "AC" + "1" * 32
    url = url.format(
        other="https://api.twilio.com.evil.example",
        scheme="https",
        host="api.twilio.com",
        base="https://api.twilio.com",
        ac=ac,
    )
    assert recordings.parse_recording_url(url) is None
    ok = recordings.parse_recording_url(
        f"https://api.twilio.com/2010-04-01/Accounts/{ac}/Recordings/RE0123.mp3"
    )
    assert ok == recordings.RecordingRef(account=ac, sid="RE0123")
    assert (
        ok.url("json") == f"https://api.twilio.com/2010-04-01/Accounts/{ac}/Recordings/RE0123.json"
    )


def test_without_twilio_credentials_nothing_is_attempted(
    client, twilio, django_capture_on_commit_callbacks, settings
):
    settings.TWILIO_ACCOUNT_SID = ""
    attachment = leave_message(
        client,
        django_capture_on_commit_callbacks,
        twilio.recording_url(twilio.add_recording(AUDIO)),
    )
    assert twilio.requests == [] and attachment.remote_url


def test_retention_removes_the_stored_audio_and_deletes_unfetched_ones_at_twilio(
    client, twilio, django_capture_on_commit_callbacks, settings
):
    with time_machine.travel(T0, tick=False):
        fetched = leave_message(
            client,
            django_capture_on_commit_callbacks,
            twilio.recording_url(twilio.add_recording(AUDIO)),
        )
        never_sid = twilio.add_recording(AUDIO)
        twilio.fail_next(1, status=500)
        never = leave_message(
            client, django_capture_on_commit_callbacks, twilio.recording_url(never_sid)
        )
    stored = settings.MEDIA_ROOT / fetched.path
    assert stored.exists() and never.remote_url and never_sid in twilio.recordings

    with time_machine.travel(T0 + timedelta(days=30, hours=1), tick=False):
        result = purge_expired.call_local()
    assert result["reports"] == 2 and result["files"] == 1
    assert not stored.exists()
    assert not Attachment.objects.filter(pk__in=[fetched.pk, never.pk]).exists()
    assert never_sid not in twilio.recordings and never_sid in twilio.deleted_recordings
    # The unfetched one was deleted at Twilio, not downloaded first.
    assert [m for m, p in recording_calls(twilio) if never_sid in p] == ["GET", "DELETE"]


def test_retention_during_an_outage_leaves_the_delete_to_the_catch_up(
    client, twilio, django_capture_on_commit_callbacks, settings
):
    with time_machine.travel(T0, tick=False):
        sid = twilio.add_recording(AUDIO)
        twilio.fail_next(1, status=500)
        attachment = leave_message(
            client, django_capture_on_commit_callbacks, twilio.recording_url(sid)
        )
    twilio.fail_next(1, status=503)  # the retention run's DELETE
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        purge_expired.call_local()
        attachment.refresh_from_db()
        assert attachment.remote_url and attachment.path == ""
        assert attachment.report.purged_at is not None
        assert collect_recordings.call_local() == {recordings.DONE: 1}
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert twilio.deleted_recordings == [sid]
    # Past retention a recording is only deleted at Twilio, never downloaded again.
    assert [m for m, p in recording_calls(twilio)] == ["GET", "DELETE", "DELETE"]


def pending(stub: TwilioStub, n: int) -> list[Attachment]:
    return [
        Attachment.objects.create(
            report=Report.objects.create(receipt=f"RCPT{i}", channel="voice"),
            kind=Attachment.Kind.RECORDING,
            content_type="audio/mpeg",
            remote_url=stub.recording_url(stub.add_recording(AUDIO)),
        )
        for i in range(n)
    ]


def test_a_wrong_token_keeps_the_url_and_does_not_hold_up_the_others(twilio, settings):
    pending(twilio, 2)
    settings.TWILIO_AUTH_TOKEN = "not-the-token"
    assert collect_recordings.call_local() == {recordings.RETRY: 2}
    assert len(recordings.pending_ids()) == 2
    settings.TWILIO_AUTH_TOKEN = twilio.auth_token
    assert collect_recordings.call_local() == {recordings.DONE: 2}
    assert recordings.pending_ids() == []


def test_when_twilio_is_down_a_sweep_gives_up_after_three_tries(twilio):
    pending(twilio, 5)
    twilio.stop()
    assert collect_recordings.call_local() == {recordings.UNREACHABLE: 3}
    assert len(recordings.pending_ids()) == 5
