"""Alert keywords through the real SMS webhook, signed like Twilio: STOP / START / HELP,
JOIN + YES (double opt-in), ESPAÑOL / ENGLISH, and 1 / YES / SI acknowledgements."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import phonenumbers
import pytest
from django.utils import translation

from tests.conftest import make_member
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    twilio_signature,
    twilio_webhooks,
)
from vecinos.alerts import inbound as keywords
from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, OptOut, Subscriber, Tier
from vecinos.core import geo
from vecinos.core.models import AuditEvent
from vecinos.messaging import inbound
from vecinos.messaging import services as messaging
from vecinos.messaging.models import ContactPoint, Delivery, DeliveryStatus
from vecinos.messaging.services import address_index
from vecinos.network.models import Role, Zone
from vecinos.network.models import Tier as Vetting
from vecinos.reports.models import Report, SmsSession
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

SMS = "/hooks/twilio/sms"
BOYLE = (34.0407, -118.2110)
ZIP_90033 = (34.0487, -118.2084)  # the zipcodes package's centroid

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


_given: set[str] = set()


def new_number() -> str:
    """A valid number no earlier call gave (two people with one number would share one
    subscription: a collision made a quota test flaky)."""
    while True:
        number = f"+1323555{random.randint(0, 9999):04d}"
        if number not in _given and phonenumbers.is_valid_number(phonenumbers.parse(number)):
            _given.add(number)
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
    assert response.status_code == 200, response.content
    root = ET.fromstring(response.content)
    messages = root.findall("Message")
    assert len(messages) <= 1
    return messages[0].text if messages else None


def say(client, sender: str, body: str) -> str | None:
    return reply_of(text(client, sender, body))


def in_language(lang: str, fn, *args) -> str:
    with translation.override(lang):
        return fn(*args)


def subscriber(phone: str, language: str = "es", point=BOYLE) -> Subscriber:
    return services.subscribe(
        phone=phone, language=language, point=point, radius_m=1000, confirmed=True
    )


def index(phone: str) -> str:
    return address_index("sms", phone)


def public_alert(personas, point=BOYLE, **kw) -> Alert:
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=kw.pop("kind", Alert.Kind.SIGHTING),
        tiers=[Tier.PUBLIC],
        messages=kw.pop("messages", {"es": "Operativo confirmado.", "en": "Confirmed operation."}),
        point=point,
        radius_m=2000,
        **kw,
    )
    services.alert_send(alert=alert, actor=personas.dispatcher)
    return services.alert_approve(alert=alert, actor=personas.coalition)


def boyle_heights() -> Zone:
    return Zone.objects.create(
        name="Boyle Heights",
        slug="boyle-heights",
        kind="neighborhood",
        cells=geo.circle_cells(*ZIP_90033, 1200),
        center_lat=ZIP_90033[0],
        center_lng=ZIP_90033[1],
    )


# --- STOP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "keyword_language"),
    [
        ("STOP", "en"),
        ("stop", "en"),
        ("Stop.", "en"),
        ("STOPALL", "en"),
        ("UNSUBSCRIBE", "en"),
        ("END", "en"),
        ("quit", "en"),
        ("ALTO", "es"),
        ("Alto!", "es"),
        ("BAJA", "es"),
        ("baja por favor", "es"),
    ],
)
def test_stop_words_opt_out_an_unknown_number_in_the_keywords_language(
    client, body, keyword_language
):
    sender = new_number()
    assert say(client, sender, body) == in_language(keyword_language, keywords.stopped_text)
    assert OptOut.objects.filter(phone_index=index(sender)).exists()
    assert not Report.objects.exists() and not SmsSession.objects.exists()


@pytest.mark.parametrize(("language", "body"), [("es", "STOP"), ("en", "ALTO")])
def test_stop_stops_a_subscriber_and_answers_in_their_language(client, language, body):
    sender = new_number()
    sub = subscriber(sender, language)
    assert say(client, sender, body) == in_language(language, keywords.stopped_text)
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.STOPPED
    assert not ContactPoint.objects.get(pk=sub.sms_id).usable
    assert not ContactPoint.objects.get(pk=sub.voice_id).usable


def test_alto_opening_a_long_report_is_a_report_not_an_opt_out(client):
    sender = new_number()
    say(client, sender, "Alto ahí hay agentes en la escuela de la calle primera")
    assert not OptOut.objects.exists()
    assert Report.objects.exists()


def test_stop_in_the_middle_of_a_report_still_opts_out(client):
    sender = new_number()
    say(client, sender, "REPORTE hay agentes")
    assert say(client, sender, "ALTO") == in_language("es", keywords.stopped_text)
    assert OptOut.objects.filter(phone_index=index(sender)).exists()


def test_stop_in_the_middle_of_a_fan_out_cancels_only_that_persons_messages(client, personas):
    phones = [new_number() for _ in range(3)]
    subs = [subscriber(p) for p in phones]
    alert = public_alert(personas)
    assert Delivery.objects.filter(ref_id=alert.pk, status=DeliveryStatus.QUEUED).count() == 3

    # The alert is written and queued; before any worker sends it, one person texts STOP.
    assert say(client, phones[1], "STOP") == in_language("es", keywords.stopped_text)
    messaging.dispatch()

    sent_to = set(OutboxMessage.objects.values_list("address", flat=True))
    assert sent_to == {phones[0], phones[2]}
    stopped = Delivery.objects.get(ref_id=alert.pk, contact_id=subs[1].sms_id)
    assert stopped.status == DeliveryStatus.CANCELLED and stopped.last_error == "opted out"
    # Their escalation does not go on either, and a follow-up never reaches them.
    all_clear = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ALL_CLEAR,
        tiers=[Tier.PUBLIC],
        messages={"es": "Todo despejado."},
        parent=alert,
    )
    all_clear = services.alert_send(alert=all_clear, actor=personas.dispatcher)
    services.alert_approve(alert=all_clear, actor=personas.coalition)
    assert set(
        AlertRecipient.objects.filter(alert=all_clear).values_list("subscriber_id", flat=True)
    ) == {subs[0].pk, subs[2].pk}


# --- START --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "language"), [("START", "en"), ("INICIO", "es"), ("unstop", "en")]
)
def test_start_brings_a_stopped_subscriber_back_and_is_audited(client, body, language):
    sender = new_number()
    sub = subscriber(sender, language)
    say(client, sender, "STOP")
    assert say(client, sender, body) == in_language(language, keywords.welcome_back_text)
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE
    assert not OptOut.objects.filter(phone_index=sub.phone_index).exists()
    assert ContactPoint.objects.get(pk=sub.sms_id).usable
    event = AuditEvent.objects.get(action="optout.undo")
    assert event.actor is None and event.target_id == str(sub.pk)
    assert event.detail["via"] == "sms"
    assert sender not in str(event.detail)  # the audit log is not a roster


def test_start_lifts_an_imported_opt_out_of_a_number_we_do_not_know(client, personas):
    sender = new_number()
    services.opt_out_import(phones=[sender], actor=personas.coalition)
    assert say(client, sender, "INICIO") == in_language("es", keywords.messages_again_text)
    assert not OptOut.objects.filter(phone_index=index(sender)).exists()
    assert AuditEvent.objects.filter(action="optout.undo", actor=None).count() == 1


def test_start_from_an_active_subscriber_changes_nothing(client):
    sender = new_number()
    subscriber(sender, "en")
    assert say(client, sender, "START") == in_language("en", keywords.already_subscribed_text)
    assert not AuditEvent.objects.filter(action="optout.undo").exists()


def test_start_from_a_stranger_explains_how_to_join(client):
    sender = new_number()
    assert say(client, sender, "START") == in_language("en", keywords.messages_again_text)
    assert not Subscriber.objects.exists()
    assert not AuditEvent.objects.filter(action="optout.undo").exists()


# --- HELP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "language"), [("HELP", "en"), ("AYUDA", "es"), ("ayuda", "es")])
def test_help_says_what_this_number_is_and_the_keywords(client, body, language):
    reply = say(client, new_number(), body)
    assert reply == in_language(language, keywords.help_text)
    assert not Report.objects.exists()


def test_help_lists_every_keyword():
    with translation.override("en"):
        text_en = keywords.help_text()
    for word in ("JOIN", "STOP", "REPORT", "1", "ESPAÑOL"):
        assert word in text_en
    assert len(text_en) <= 320  # two SMS segments at most


def test_spanish_replies_name_the_spanish_keywords():
    # The words a Spanish reply tells people to send are words the handlers accept.
    with translation.override("es"):
        assert "INICIO" in keywords.stopped_text()
        assert all(w in keywords.help_text() for w in ("UNIRME", "ALTO", "REPORTE", " 1 "))
        assert " SI " in keywords.confirm_question_text("Boyle Heights")
    assert {"INICIO", "UNIRME", "ALTO", "SI"} <= (
        set(keywords.START_WORDS)
        | set(keywords.JOIN_WORDS)
        | set(keywords.STOP_WORDS)
        | set(keywords.CONFIRM_WORDS)
    )


def test_help_in_the_middle_of_a_report_keeps_the_report(client):
    sender = new_number()
    say(client, sender, "REPORT agents at the school")
    assert say(client, sender, "HELP") == in_language("en", keywords.help_text)
    assert SmsSession.objects.get().step == "where"


def test_a_subscriber_gets_help_in_their_language(client):
    sender = new_number()
    subscriber(sender, "en")
    assert say(client, sender, "AYUDA") == in_language("en", keywords.help_text)


# --- JOIN + YES ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("join", "yes", "language"), [("JOIN 90033", "YES", "en"), ("UNIRME 90033", "Sí", "es")]
)
def test_join_with_a_zip_code_then_yes_subscribes(client, join, yes, language):
    sender = new_number()
    reply = say(client, sender, join)
    area_name = in_language(language, keywords.zip_area_name, "90033")
    assert reply == in_language(language, keywords.confirm_question_text, area_name)

    sub = Subscriber.objects.get(phone_index=index(sender))
    assert sub.status == Subscriber.Status.PENDING and sub.source == "sms"
    assert sub.language == language and sub.phone == sender
    [area] = sub.areas.all()
    assert (round(area.lat, 4), round(area.lng, 4)) == ZIP_90033
    assert area.radius_m == 1500 and area.zone is None
    assert area.cell7 == geo.cell_of(*ZIP_90033, geo.COARSE_RESOLUTION)

    reply = say(client, sender, yes)
    assert reply == in_language(language, keywords.subscribed_text, area_name)
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE and sub.confirmed_at is not None
    # ... and the next alert near Boyle Heights reaches them.
    assert sub.pk in services.subscribers_in_area(point=BOYLE, radius_m=2000)


def test_join_names_the_zone_a_zip_code_falls_in(client):
    boyle_heights()
    sender = new_number()
    reply = say(client, sender, "UNIRME 90033")
    assert reply == in_language("es", keywords.confirm_question_text, "Boyle Heights")
    assert "Boyle Heights" in reply
    area = Subscriber.objects.get().areas.get()
    assert area.label == "Boyle Heights" and area.lat is not None  # still a point + radius


def test_join_a_zone_by_name(client):
    zone = boyle_heights()
    sender = new_number()
    assert say(client, sender, "join boyle heights") == in_language(
        "en", keywords.confirm_question_text, "Boyle Heights"
    )
    area = Subscriber.objects.get().areas.get()
    assert area.zone == zone and area.lat is None


def test_join_without_a_place_asks_for_a_zip_code(client):
    sender = new_number()
    assert say(client, sender, "UNIRME") == in_language("es", keywords.ask_zip_text)
    assert say(client, sender, "JOIN") == in_language("en", keywords.ask_zip_text)
    assert not Subscriber.objects.exists()


def test_join_with_an_unknown_zip_code_or_place_says_so(client):
    sender = new_number()
    assert say(client, sender, "JOIN 00000") == in_language(
        "en", keywords.unknown_zip_text, "00000"
    )
    assert say(client, sender, "UNIRME Narnia") == in_language("es", keywords.unknown_place_text)
    assert not Subscriber.objects.exists()


def test_joining_the_same_zip_twice_keeps_one_area(client):
    sender = new_number()
    say(client, sender, "JOIN 90033")
    say(client, sender, "JOIN 90033")
    assert Subscriber.objects.get().areas.count() == 1


def test_an_active_subscriber_adds_an_area_without_a_second_yes(client):
    sender = new_number()
    sub = subscriber(sender, "en", point=(34.1478, -118.1445))
    area_name = in_language("en", keywords.zip_area_name, "90033")
    assert say(client, sender, "UNIRME 90033") == in_language(
        "en", keywords.area_added_text, area_name
    )
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE and sub.language == "en"
    assert sub.areas.count() == 2


def test_a_member_who_joins_keeps_their_voice_channel(client, personas):
    member = make_member(
        "resp1",
        org=personas.org_a,
        roles=(Role.RESPONDER,),
        tier=Vetting.VOUCHED,
        phone=new_number(),
    )
    sub = services.ensure_member_subscriber(member)
    say(client, member.phone, "JOIN 90033")
    sub.refresh_from_db()
    assert sub.channels == ["sms", "voice"] and sub.member == member
    assert sub.status == Subscriber.Status.ACTIVE


def test_a_number_that_said_stop_comes_back_with_join_and_yes(client):
    sender = new_number()
    say(client, sender, "STOP")
    say(client, sender, "JOIN 90033")
    sub = Subscriber.objects.get()
    assert sub.status == Subscriber.Status.PENDING
    assert OptOut.objects.filter(phone_index=sub.phone_index).exists()  # not before the YES
    say(client, sender, "YES")
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE
    assert not OptOut.objects.exists()
    assert AuditEvent.objects.filter(action="optout.undo", actor=None).count() == 1


def test_the_confirmation_code_also_confirms(client):
    sender = new_number()
    say(client, sender, "JOIN 90033")
    sub = Subscriber.objects.get()
    say(client, sender, sub.confirm_code)
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE


def test_yes_from_a_pending_number_confirms_before_acknowledging(client, personas):
    # An alert reached them, then they said STOP and JOIN again: YES answers the newest
    # question (the subscription), not the alert.
    sender = new_number()
    subscriber(sender)
    alert = public_alert(personas)
    say(client, sender, "STOP")
    say(client, sender, "UNIRME 90033")
    say(client, sender, "SI")
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE
    assert AlertRecipient.objects.get(alert=alert).acknowledged_at is None


# --- Language ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "language"),
    [("ESPAÑOL", "es"), ("espanol", "es"), ("ENGLISH", "en"), ("english please", "en")],
)
def test_language_words_switch_the_subscriber_and_answer_in_the_new_language(
    client, body, language
):
    sender = new_number()
    sub = subscriber(sender, "en" if language == "es" else "es")
    assert say(client, sender, body) == in_language(language, keywords.language_text, True)
    sub.refresh_from_db()
    assert sub.language == language
    assert ContactPoint.objects.get(pk=sub.sms_id).language == language
    assert ContactPoint.objects.get(pk=sub.voice_id).language == language
    # The next answer follows the switch.
    assert say(client, sender, "HELP") == in_language(language, keywords.help_text)


def test_a_language_word_from_a_stranger_stores_nothing(client):
    assert say(client, new_number(), "ENGLISH") == in_language("en", keywords.language_text, False)
    assert not Subscriber.objects.exists()


# --- Acknowledgements ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "language"),
    [("1", "es"), ("YES", "en"), ("si", "es"), ("Sí", "es"), ("OK", "en"), ("1 gracias", "es")],
)
def test_a_reply_acknowledges_the_latest_alert(client, personas, body, language):
    sender = new_number()
    sub = subscriber(sender, language)
    older = public_alert(personas, messages={"es": "Primera.", "en": "First."})
    newer = public_alert(personas)
    assert say(client, sender, body) == in_language(language, keywords.ack_text)
    acked = AlertRecipient.objects.get(alert=newer, subscriber=sub)
    assert acked.acknowledged_at is not None and acked.ack_via == "sms"
    assert acked.next_step_at is None
    assert AlertRecipient.objects.get(alert=older, subscriber=sub).acknowledged_at is None
    assert (
        Delivery.objects.get(ref_type="alert", ref_id=newer.pk, ref_item=acked.pk).acknowledged_at
        is not None
    )


def test_a_second_acknowledgement_is_thanked_and_changes_nothing(client, personas):
    sender = new_number()
    sub = subscriber(sender, "en")
    alert = public_alert(personas)
    say(client, sender, "1")
    first = AlertRecipient.objects.get(alert=alert, subscriber=sub).acknowledged_at
    assert say(client, sender, "1") == in_language("en", keywords.ack_again_text)
    assert AlertRecipient.objects.get(alert=alert, subscriber=sub).acknowledged_at == first


def test_an_acknowledgement_with_nothing_pending_gets_the_general_answer(client):
    sender = new_number()
    subscriber(sender)
    reply = say(client, sender, "1")
    assert reply == inbound.fallback_reply(inbound.InboundSms.build(sender, "1"))
    assert not Report.objects.exists()


@pytest.mark.parametrize("body", ["1", "YES", "SI", "OK"])
def test_acknowledgement_words_from_an_unknown_number_get_a_clear_answer(client, body):
    sender = new_number()
    reply = say(client, sender, body)
    assert reply == inbound.fallback_reply(inbound.InboundSms.build(sender, body))
    assert not Subscriber.objects.exists() and not Report.objects.exists()


def test_an_unknown_keyword_from_an_unknown_number_gets_a_clear_answer(client):
    sender = new_number()
    reply = say(client, sender, "BANANA")
    assert reply  # free text from a stranger is a report: they are asked where
    assert not Subscriber.objects.exists() and not OptOut.objects.exists()


def test_a_number_in_a_report_conversation_answers_the_report_not_the_alert(client, personas):
    sender = new_number()
    sub = subscriber(sender)
    alert = public_alert(personas)
    say(client, sender, "REPORTE hay agentes")
    say(client, sender, "Soto y 1st")
    say(client, sender, "1")  # "what is happening?" 1 = door knock
    assert Report.objects.get().activity == "home"
    assert AlertRecipient.objects.get(alert=alert, subscriber=sub).acknowledged_at is None


# --- Signatures ---------------------------------------------------------------------------------


def test_a_forged_stop_is_refused(client):
    sender = new_number()
    sub = subscriber(sender)
    params = {"From": sender, "Body": "STOP"}
    forged = twilio_signature(SMS, params, token="not-the-token")
    response = signed_post(client, SMS, params, signature=forged)
    assert response.status_code == 403
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE and not OptOut.objects.exists()


def test_a_forged_acknowledgement_is_refused(client, personas):
    sender = new_number()
    subscriber(sender)
    alert = public_alert(personas)
    response = signed_post(client, SMS, {"From": sender, "Body": "1"}, signature=False)
    assert response.status_code == 403
    assert AlertRecipient.objects.get(alert=alert).acknowledged_at is None
