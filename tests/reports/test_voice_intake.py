"""The voice hotline through the real webhook: every step answers valid TwiML."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from datetime import timedelta

import phonenumbers
import pytest
from django.db import connection
from django.utils import timezone

from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    twilio_signature,
    twilio_webhooks,
)
from vecinos.messaging.services import address_index
from vecinos.reports import selectors, services
from vecinos.reports.models import (
    Attachment,
    BannedSource,
    IntakeChannel,
    OnDuty,
    Report,
    ReportStatus,
)

VOICE = "/hooks/twilio/voice"
HOTLINE_NUMBER = "+12135550000"
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC0123/Recordings/RE5f1d2c3b4a"

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


@pytest.fixture
def caller() -> str:
    return new_number()


def call(client, caller: str, query: str = "flow=hotline", **params):
    path = f"{VOICE}?{query}" if query else VOICE
    data = {
        "CallSid": "CA" + f"{random.getrandbits(128):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": caller,
        "To": HOTLINE_NUMBER,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        **params,
    }
    response = signed_post(client, path, data)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return root


def spoken(root: ET.Element) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


def test_a_call_starts_with_the_language_menu(client, caller):
    root = call(client, caller)
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == "/hooks/twilio/voice?flow=hotline&step=lang"
    says = gather.findall("Say")
    assert [(s.get("voice"), s.get("language"), s.text) for s in says] == [
        ("Polly.Joanna", "en-US", "For English, press 1."),
        ("Polly.Mia", "es-MX", "Para Español, oprima 2."),
        ("Polly.Joanna", "en-US", "For more languages, press 9."),
        ("Polly.Mia", "es-MX", "Para más idiomas, oprima 9."),
    ]
    # No key pressed: the call goes on to the next step instead of hanging up.
    assert root.find("Redirect").text.startswith("/hooks/twilio/voice?flow=hotline&step=lang")


def test_without_a_flow_the_hotline_answers(client, caller):
    assert call(client, caller, query="").find("Gather") is not None


def test_an_unknown_flow_gets_an_apology_not_an_error(client, caller):
    root = call(client, caller, query="flow=nope")
    assert root.find("Hangup") is not None and spoken(root)


@pytest.mark.parametrize(("digit", "lang", "voice"), [("1", "en", "en-US"), ("2", "es", "es-MX")])
def test_choosing_a_language_leads_to_the_menu_in_that_language(client, caller, digit, lang, voice):
    root = call(client, caller, "flow=hotline&step=lang", Digits=digit)
    gather = root.find("Gather")
    assert gather.get("action") == f"/hooks/twilio/voice?flow=hotline&step=menu&lang={lang}"
    assert {s.get("language") for s in root.iter("Say")} == {voice}


def test_a_wrong_language_key_repeats_once_then_defaults_to_spanish(client, caller):
    again = call(client, caller, "flow=hotline&step=lang", Digits="7")
    assert again.find("Gather").get("action").endswith("step=lang&n=1")
    root = call(client, caller, "flow=hotline&step=lang&n=1", Digits="0")  # wrong again
    assert root.find("Gather").get("action").endswith("step=menu&lang=es")


def test_press_1_dials_the_dispatcher_on_duty_without_saying_the_number(client, caller, personas):
    services.duty_start(member=personas.dispatcher, role="dispatcher", hours=2)
    # Someone whose shift ended is not called.
    OnDuty.objects.create(
        member=personas.coordinator, role="dispatcher", until=timezone.now() - timedelta(minutes=1)
    )
    root = call(client, caller, "flow=hotline&step=menu&lang=es", Digits="1")
    dial = root.find("Dial")
    numbers = [n.text for n in dial.findall("Number")]
    assert numbers == [personas.dispatcher.phone]
    # The dispatcher's phone shows the hotline, never the caller (a seized phone leaks nobody).
    assert dial.get("callerId") == HOTLINE_NUMBER
    assert dial.get("action") == "/hooks/twilio/voice?flow=hotline&step=dialed&lang=es"
    said = spoken(root)
    assert said
    digits = personas.dispatcher.phone.lstrip("+")
    for form in (personas.dispatcher.phone, digits, digits[1:], digits[-4:]):
        assert form not in said


def test_a_dispatcher_whose_role_lapsed_is_not_dialed(client, caller, personas):
    services.duty_start(member=personas.dispatcher, role="dispatcher", hours=2)
    personas.dispatcher.memberships.all().delete()
    root = call(client, caller, "flow=hotline&step=menu&lang=en", Digits="1")
    assert root.find("Dial") is None and root.find("Record") is not None


def test_with_nobody_on_duty_the_caller_leaves_a_message(client, caller):
    root = call(client, caller, "flow=hotline&step=menu&lang=en", Digits="1")
    assert root.find("Dial") is None
    record = root.find("Record")
    assert record.get("maxLength") == "120"
    assert record.get("action") == "/hooks/twilio/voice?flow=hotline&step=recorded&lang=en"


def test_when_no_dispatcher_answers_the_caller_leaves_a_message(client, caller):
    root = call(client, caller, "flow=hotline&step=dialed&lang=es", DialCallStatus="no-answer")
    assert root.find("Record") is not None
    done = call(client, caller, "flow=hotline&step=dialed&lang=es", DialCallStatus="completed")
    assert done.find("Hangup") is not None and done.find("Record") is None


def test_press_2_records(client, caller):
    root = call(client, caller, "flow=hotline&step=menu&lang=es", Digits="2")
    assert root.find("Record").get("maxLength") == "120"
    assert {s.get("language") for s in root.iter("Say")} == {"es-MX"}


def test_a_wrong_menu_key_repeats_the_menu_once_then_records(client, caller):
    again = call(client, caller, "flow=hotline&step=menu&lang=en", Digits="9")
    assert again.find("Gather").get("action").endswith("step=menu&lang=en&n=1")
    root = call(client, caller, "flow=hotline&step=menu&lang=en&n=1", Digits="*")
    assert root.find("Record") is not None


def test_a_recording_becomes_a_new_voice_report_with_the_url_encrypted(client, caller):
    root = call(
        client,
        caller,
        "flow=hotline&step=recorded&lang=en",
        RecordingUrl=RECORDING,
        RecordingSid="RE5f1d2c3b4a",
        RecordingDuration="42",
    )
    assert root.find("Hangup") is not None and spoken(root)

    report = Report.objects.get()
    assert report.channel == IntakeChannel.VOICE
    assert report.status == ReportStatus.NEW
    assert report.language == "en"
    assert report.description == "Voice message"
    assert report.reporter_contact == caller
    assert report.reporter_index == address_index("voice", caller)
    assert list(selectors.queue_reports()) == [report]
    attachment = Attachment.objects.get(report=report)
    assert attachment.kind == Attachment.Kind.RECORDING
    assert attachment.content_type == "audio/mpeg"
    assert attachment.remote_url == RECORDING + ".mp3"
    with connection.cursor() as cursor:
        cursor.execute("SELECT remote_url FROM reports_attachment WHERE id = %s", [attachment.pk])
        stored = cursor.fetchone()[0]
    assert "RE5f1d2c3b4a" not in stored and "twilio" not in stored
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_contact FROM reports_report WHERE id = %s", [report.pk])
        assert caller not in cursor.fetchone()[0]


def test_a_hidden_caller_id_can_still_leave_a_message(client):
    call(client, "anonymous", "flow=hotline&step=recorded&lang=es", RecordingUrl=RECORDING)
    report = Report.objects.get()
    assert report.reporter_contact == "" and report.reporter_index == ""


def test_no_recording_means_no_report(client, caller):
    root = call(client, caller, "flow=hotline&step=recorded&lang=es", RecordingUrl="")
    assert root.find("Hangup") is not None
    assert not Report.objects.exists()


def test_a_banned_caller_is_rejected(client, caller):
    BannedSource.objects.create(key=f"phone:{address_index('voice', caller)}")
    root = call(client, caller)
    assert root.find("Reject") is not None and root.find("Gather") is None


def test_too_many_calls_from_one_number_are_turned_away(client, caller, settings):
    settings.REPORT_RATE_LIMIT = 1
    assert call(client, caller).find("Gather") is not None
    # Later steps of the same call never count as new calls.
    call(client, caller, "flow=hotline&step=lang", Digits="2")
    root = call(client, caller)
    assert root.find("Gather") is None and root.find("Hangup") is not None


def test_voice_webhook_refuses_forged_and_missing_signatures(client, caller):
    params = {"From": caller, "To": HOTLINE_NUMBER, "RecordingUrl": RECORDING}
    path = f"{VOICE}?flow=hotline&step=recorded&lang=es"
    forged = twilio_signature(path, params, token="guess")
    assert signed_post(client, path, params, signature=forged).status_code == 403
    assert signed_post(client, path, params, signature=False).status_code == 403
    # The query string is signed too: changing the step breaks the signature.
    good = twilio_signature(path, params)
    other = f"{VOICE}?flow=hotline&step=menu&lang=es"
    assert client.post(other, params, HTTP_X_TWILIO_SIGNATURE=good).status_code == 403
    assert not Report.objects.exists()
