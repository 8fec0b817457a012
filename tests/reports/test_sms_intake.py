"""SMS intake through the real webhook, signed by the twilio SDK's own RequestValidator."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from datetime import timedelta

import phonenumbers
import pytest
import time_machine
from django.db import connection
from django.utils import timezone, translation

from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    twilio_signature,
    twilio_webhooks,
)
from vecinos.messaging import inbound
from vecinos.messaging.services import address_index
from vecinos.reports import selectors, services, sms_flow
from vecinos.reports.inbound import handle_verifier
from vecinos.reports.models import (
    Activity,
    BannedSource,
    Incident,
    IntakeChannel,
    Report,
    ReportStatus,
    SmsSession,
    VerificationRequest,
)

SMS = "/hooks/twilio/sms"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]


def new_number() -> str:
    """A fresh valid number per test: rate-limit counters live in Redis across runs."""
    while True:
        number = f"+1213555{random.randint(0, 9999):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


def text(client, sender: str, body: str):
    params = {
        "From": sender,
        "To": "+12135550000",
        "Body": body,
        "MessageSid": "SM" + f"{random.getrandbits(128):032x}",
        "AccountSid": "AC" + "0" * 32,
        "NumMedia": "0",
    }
    return signed_post(client, SMS, params)


def reply_of(response) -> str | None:
    """The <Message> text of a TwiML answer (None when the answer is an empty <Response/>)."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) <= 1
    return messages[0].text if messages else None


def in_language(lang: str, fn, *args) -> str:
    with translation.override(lang):
        return fn(*args)


def raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


# --- The report conversation ------------------------------------------------------------------


def test_spanish_report_by_sms_asks_where_what_how_many_and_gives_a_receipt(client):
    sender = new_number()
    assert reply_of(text(client, sender, "REPORTE hay agentes en la escuela")) == in_language(
        "es", sms_flow.ask_where
    )
    draft = Report.objects.get()
    assert draft.status == ReportStatus.DRAFT and draft.language == "es"
    assert draft not in selectors.queue_reports()  # a draft stays out of the dispatcher queue

    assert reply_of(text(client, sender, "Cesar Chavez y Soto")) == in_language(
        "es", sms_flow.ask_what
    )
    assert reply_of(text(client, sender, "6")) == in_language("es", sms_flow.ask_count)
    receipt_reply = reply_of(text(client, sender, "3"))

    report = Report.objects.get()
    assert receipt_reply == in_language("es", sms_flow.receipt_text, report)
    assert report.receipt in receipt_reply
    assert report.status == ReportStatus.NEW
    assert report.channel == IntakeChannel.SMS
    assert report.place_text == "Cesar Chavez y Soto"
    assert report.activity == Activity.SCHOOL
    assert report.agents_count == 3
    assert report.description == "hay agentes en la escuela"
    assert report.reporter_contact == sender
    assert report.reporter_index == address_index("sms", sender)
    assert report.source_key
    assert list(selectors.queue_reports()) == [report]
    assert not SmsSession.objects.exists()
    # The reporter's number is ciphertext in the database.
    assert sender not in raw_column("reports_report", "reporter_contact", report.pk)


def test_english_report_with_zip_free_text_and_unknown_count(client):
    sender = new_number()
    assert reply_of(text(client, sender, "report agents at the car wash")) == in_language(
        "en", sms_flow.ask_where
    )
    reply_of(text(client, sender, "90033"))
    assert reply_of(text(client, sender, "they are knocking on doors")) == in_language(
        "en", sms_flow.ask_count
    )
    # Not a number: asked once more, then accepted as unknown rather than losing the report.
    assert reply_of(text(client, sender, "not sure")) == in_language("en", sms_flow.ask_count_again)
    receipt_reply = reply_of(text(client, sender, "lots"))

    report = Report.objects.get()
    assert report.status == ReportStatus.NEW and report.language == "en"
    assert report.receipt in receipt_reply
    assert "Do not open the door without a warrant signed by a judge." in in_language(
        "en", sms_flow.receipt_text, report
    )
    assert report.place_text == "ZIP 90033"
    assert report.activity == Activity.OTHER
    assert "they are knocking on doors" in report.description
    assert report.agents_count is None


def test_activity_number_with_words_keeps_both(client):
    sender = new_number()
    text(client, sender, "REPORTE")
    text(client, sender, "Whittier Blvd y Atlantic")
    text(client, sender, "4 en el car wash")
    text(client, sender, "cinco")
    report = Report.objects.get()
    assert report.activity == Activity.WORKPLACE
    assert report.description == "en el car wash"
    assert report.agents_count == 5
    assert report.status == ReportStatus.NEW


def test_free_text_from_an_unknown_number_starts_a_report_in_its_language(client):
    sender = new_number()
    assert reply_of(text(client, sender, "Hay migra en la tienda de la esquina")) == in_language(
        "es", sms_flow.ask_where
    )
    report = Report.objects.get()
    assert report.language == "es" and report.description == "Hay migra en la tienda de la esquina"
    assert SmsSession.objects.get().phone_index == address_index("sms", sender)

    other = new_number()
    text(client, other, "There are agents outside the school on 1st street")
    assert Report.objects.get(reporter_index=address_index("sms", other)).language == "en"


def test_a_member_reporting_by_sms_gets_their_language_and_tier(client, personas):
    personas.verifier.preferred_language = "en"
    personas.verifier.save()
    assert reply_of(text(client, personas.verifier.phone, "REPORTE hay agentes")) == in_language(
        "en", sms_flow.ask_where
    )
    report = Report.objects.get()
    assert report.language == "en"
    assert report.reporter_member == personas.verifier and report.trusted


def test_a_paused_report_resumes_where_it_stopped(client):
    sender = new_number()
    text(client, sender, "REPORTE agentes")
    text(client, sender, "Soto y 1st")
    with time_machine.travel(timezone.now() + timedelta(minutes=90)):
        assert reply_of(text(client, sender, "2")) == in_language("es", sms_flow.ask_count)
    with time_machine.travel(timezone.now() + timedelta(minutes=170)):
        reply = reply_of(text(client, sender, "4"))
    report = Report.objects.get()
    assert report.receipt in reply
    assert (report.place_text, report.activity, report.agents_count) == ("Soto y 1st", "street", 4)


def test_a_session_older_than_two_hours_starts_over(client):
    sender = new_number()
    text(client, sender, "REPORTE agentes")
    old = Report.objects.get()
    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=5)):
        assert reply_of(text(client, sender, "Hay agentes en Soto")) == in_language(
            "es", sms_flow.ask_where
        )
    assert not Report.objects.filter(pk=old.pk).exists()
    assert Report.objects.get().description == "Hay agentes en Soto"


def test_cancel_drops_the_draft(client):
    sender = new_number()
    text(client, sender, "REPORT agents")
    assert reply_of(text(client, sender, "cancelar")) == in_language("en", sms_flow.cancelled_text)
    assert not Report.objects.exists() and not SmsSession.objects.exists()


def test_report_again_mid_conversation_replaces_the_draft(client):
    sender = new_number()
    text(client, sender, "REPORTE primero")
    text(client, sender, "REPORTE segundo")
    assert Report.objects.get().description == "segundo"
    assert SmsSession.objects.get().step == "where"


# --- Answers to everything else ------------------------------------------------------------------


def test_unknown_keyword_from_a_member_gets_the_keyword_help(client, personas):
    reply = reply_of(text(client, personas.newcomer.phone, "hola que tal"))
    assert reply == in_language("es", sms_flow.help_text)
    assert "REPORT" in reply
    assert not Report.objects.exists()


def test_a_reply_from_a_number_with_no_pending_question_is_not_a_report(client, personas):
    for sender, body in (
        (new_number(), "SI"),
        (new_number(), "1"),
        (personas.verifier.phone, "YES"),
    ):
        reply = reply_of(text(client, sender, body))
        msg = inbound.InboundSms.build(sender, body)
        assert reply == inbound.fallback_reply(msg)
        assert "REPORT" in reply
    assert not Report.objects.exists() and not SmsSession.objects.exists()
    # Handlers say "not mine" so a later handler (alert acknowledgements) can take it.
    assert handle_verifier(inbound.InboundSms.build(personas.verifier.phone, "YES")) is None
    assert sms_flow.handle_start(inbound.InboundSms.build(new_number(), "NO")) is None


def test_an_invalid_sender_gets_an_empty_answer(client):
    response = text(client, "not-a-number", "REPORTE hay agentes")
    assert reply_of(response) is None
    assert not Report.objects.exists()


def test_a_failing_handler_rolls_back_and_still_answers(client):
    sender = new_number()

    def broken(msg):
        Report.objects.create(receipt="BROK-EN00", channel="sms")
        raise RuntimeError("bug")

    inbound.register_sms("tests.broken", broken, priority=5000)
    try:
        reply = reply_of(text(client, sender, "REPORTE hay agentes"))
    finally:
        inbound.unregister("tests.broken")
    assert reply  # an apology, not a 500
    assert not Report.objects.exists()


# --- Abuse resistance ---------------------------------------------------------------------------


def test_over_the_rate_limit_a_sender_gets_a_short_answer_and_nothing_is_stored(client, settings):
    settings.REPORT_RATE_LIMIT = 1  # SMS allows 3x: three messages per window
    sender = new_number()
    text(client, sender, "REPORTE uno")
    text(client, sender, "Soto y 1st")
    text(client, sender, "2")
    response = text(client, sender, "3")
    # 200, not 429: Twilio drops the body of a non-2xx answer and the sender would hear nothing.
    assert reply_of(response) == inbound.rate_limited_reply(inbound.InboundSms.build(sender, "3"))
    assert SmsSession.objects.get().step == "count"
    assert Report.objects.get().status == ReportStatus.DRAFT


def test_a_banned_number_gets_an_empty_answer_and_files_nothing(client):
    sender = new_number()
    BannedSource.objects.create(key=f"phone:{address_index('sms', sender)}", reason="flood")
    assert reply_of(text(client, sender, "REPORTE hay agentes")) is None
    assert not Report.objects.exists()


def test_an_expired_ban_no_longer_applies(client):
    sender = new_number()
    BannedSource.objects.create(
        key=f"phone:{address_index('sms', sender)}",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    assert reply_of(text(client, sender, "REPORTE hay agentes"))
    assert Report.objects.exists()


def test_ban_source_from_the_console_silences_the_number(client, personas):
    sender = new_number()
    text(client, sender, "REPORTE spam")
    services.ban_source(report=Report.objects.get(), actor=personas.dispatcher)
    assert reply_of(text(client, sender, "REPORTE spam otra vez")) is None


# --- Signatures ---------------------------------------------------------------------------------


def test_a_forged_signature_is_refused(client):
    params = {"From": new_number(), "Body": "REPORTE hay agentes"}
    forged = twilio_signature(SMS, params, token="not-the-token")
    response = signed_post(client, SMS, params, signature=forged)
    assert response.status_code == 403
    assert b"REPORT" not in response.content and len(response.content) < 20
    assert not Report.objects.exists()


def test_a_tampered_body_is_refused(client):
    params = {"From": new_number(), "Body": "REPORTE hay agentes"}
    signature = twilio_signature(SMS, params)
    response = client.post(
        SMS, {**params, "Body": "REPORTE otra cosa"}, HTTP_X_TWILIO_SIGNATURE=signature
    )
    assert response.status_code == 403


def test_a_missing_signature_is_refused(client):
    response = signed_post(client, SMS, {"From": new_number(), "Body": "hola"}, signature=False)
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_without_an_auth_token_every_webhook_is_refused(client, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    params = {"From": new_number(), "Body": "hola"}
    assert signed_post(client, SMS, params, token="").status_code == 403
    assert signed_post(client, SMS, params).status_code == 403


def test_a_shared_key_signature_needs_the_shared_key(client, settings):
    from twilio.request_validator import RequestValidator

    params = {"From": new_number(), "Body": "hola"}
    header = {"HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS": "key=KS1,algorithm=HMAC_SHA256"}
    signature = RequestValidator("shared-secret").compute_signature(
        "http://testserver" + SMS, params, "HMAC_SHA256"
    )
    refused = client.post(SMS, params, HTTP_X_TWILIO_SIGNATURE=signature, **header)
    assert refused.status_code == 403
    settings.TWILIO_WEBHOOK_SHARED_KEY = "shared-secret"
    accepted = client.post(SMS, params, HTTP_X_TWILIO_SIGNATURE=signature, **header)
    assert accepted.status_code == 200


def test_webhooks_answer_post_only(client):
    assert client.get(SMS).status_code == 405


# --- Verifiers answer by SMS --------------------------------------------------------------------


@pytest.fixture
def verification(personas):
    report = services.report_submit(
        data=services.ReportInput(
            channel="web",
            place_text="Cesar Chavez y Soto",
            lat=34.04,
            lng=-118.21,
            activity=Activity.STREET,
        )
    )
    incident = services.incident_open(report=report, actor=personas.dispatcher)
    [request] = services.verifiers_request(
        incident=incident, verifiers=[personas.verifier], actor=personas.dispatcher
    )
    return request


def test_verifier_says_si_then_confirmado_and_the_incident_is_confirmed(
    client, personas, verification
):
    phone = personas.verifier.phone
    assert f"#{verification.incident_id}" in reply_of(text(client, phone, "Sí"))
    verification.refresh_from_db()
    assert verification.status == VerificationRequest.Status.ACCEPTED

    reply = reply_of(text(client, phone, "CONFIRMADO 4 agentes con chalecos, 2 camionetas"))
    assert str(verification.incident_id) in reply
    incident = Incident.objects.get(pk=verification.incident_id)
    assert incident.status == Incident.Status.CONFIRMED and incident.ready_for_alert
    assert incident.verified_by == personas.verifier
    assert incident.outcome_notes == "4 agentes con chalecos, 2 camionetas"
    verification.refresh_from_db()
    assert verification.status == VerificationRequest.Status.DONE
    assert not Report.objects.filter(channel="sms").exists()  # none of this became a report


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ("FALSO era la policia", Incident.Status.FALSE_ALARM),
        ("no pude llegar", Incident.Status.UNABLE),
        ("UNABLE", Incident.Status.UNABLE),
        ("NOICE sheriff", Incident.Status.NOT_ENFORCEMENT),
        ("not ice, it was a tow truck", Incident.Status.NOT_ENFORCEMENT),
    ],
)
def test_verifier_outcomes_by_sms(client, personas, verification, body, outcome):
    reply_of(text(client, personas.verifier.phone, body))
    assert Incident.objects.get(pk=verification.incident_id).status == outcome


def test_verifier_can_decline(client, personas, verification):
    reply_of(text(client, personas.verifier.phone, "no"))
    verification.refresh_from_db()
    assert verification.status == VerificationRequest.Status.DECLINED
    # Nothing pending any more: the next NO is not captured as a verifier reply.
    assert handle_verifier(inbound.InboundSms.build(personas.verifier.phone, "NO")) is None


def test_a_verifier_reply_answers_in_their_language(client, personas, verification):
    personas.verifier.preferred_language = "en"
    personas.verifier.save()
    reply = reply_of(text(client, personas.verifier.phone, "yes"))
    with translation.override("en"):
        assert reply.startswith("Thank you, you are going to incident")


def test_someone_without_the_verifier_role_cannot_answer_for_a_verifier(
    client, personas, verification
):
    # The role was revoked after the request went out.
    personas.verifier.memberships.all().delete()
    reply_of(text(client, personas.verifier.phone, "CONFIRMADO"))
    assert Incident.objects.get(pk=verification.incident_id).status == Incident.Status.VERIFYING


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("네", VerificationRequest.Status.ACCEPTED),
        ("はい", VerificationRequest.Status.ACCEPTED),
        ("Да, еду", VerificationRequest.Status.ACCEPTED),
        ("Có", VerificationRequest.Status.ACCEPTED),
        ("نعم", VerificationRequest.Status.ACCEPTED),
        ("HINDI", VerificationRequest.Status.DECLINED),
        ("Нет", VerificationRequest.Status.DECLINED),
        ("아니요", VerificationRequest.Status.DECLINED),
        ("不", VerificationRequest.Status.DECLINED),
    ],
)
def test_a_verifier_answers_yes_or_no_in_any_shipped_language(
    client, personas, verification, body, status
):
    reply_of(text(client, personas.verifier.phone, body))
    verification.refresh_from_db()
    assert verification.status == status
    assert not Report.objects.filter(channel="sms").exists()
