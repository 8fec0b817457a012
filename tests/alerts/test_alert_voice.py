"""The alert call through the real voice webhook: the message in the person's language,
"press 1", one repeat, and only a key press (never a completed call) counts as confirmation."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import phonenumbers
import pytest
import time_machine
from django.utils import timezone, translation

from tests.conftest import make_member
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    twilio_signature,
    twilio_webhooks,
)
from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, Subscriber, Tier
from vecinos.messaging.calls import call_path, delivery_token
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting

OUR_NUMBER = "+12135550000"
SPANISH = "Activación: vayan a observar a la escuela Soto."
ENGLISH = "Activation: go observe at Soto school."

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]


def phone() -> str:
    while True:
        number = f"+1213555{random.randint(2000, 9999):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


def voice_deliveries(
    personas, *, language: str = "es", messages: dict | None = None, people: int = 1
) -> list[Delivery]:
    """Responders who did not answer the SMS: the escalation's voice deliveries to them."""
    for _i in range(people):
        member = make_member(
            f"resp{random.getrandbits(32)}",
            org=personas.org_a,
            roles=(Role.RESPONDER,),
            tier=Vetting.VOUCHED,
            phone=phone(),
        )
        sub = services.ensure_member_subscriber(member)
        Subscriber.objects.filter(pk=sub.pk).update(language=language)
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ACTIVATION,
        tiers=[Tier.RESPONDERS],
        messages=messages or {"es": SPANISH, "en": ENGLISH},
    )
    services.alert_send(alert=alert, actor=personas.dispatcher)
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        assert services.escalate_due()["voice"] == people
    return list(Delivery.objects.filter(channel="voice", ref_id=alert.pk))


def voice_delivery(personas, **kw) -> Delivery:
    [delivery] = voice_deliveries(personas, **kw)
    return delivery


def recipient_of(delivery: Delivery) -> AlertRecipient:
    return AlertRecipient.objects.get(pk=delivery.ref_item)


def answer(client, path: str, **params) -> ET.Element:
    """Twilio's request for TwiML: signed, From our number (we placed the call)."""
    data = {
        "CallSid": "CA" + f"{random.getrandbits(128):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": OUR_NUMBER,
        "To": "+12135550199",
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
        **params,
    }
    response = signed_post(client, path, data)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return root


def says(node: ET.Element) -> list[tuple[str, str]]:
    return [(s.get("language"), s.text or "") for s in node.iter("Say")]


def ack_path(gather: ET.Element) -> str:
    return gather.get("action")


def test_the_call_speaks_the_alert_in_spanish_and_asks_to_press_1_twice(client, personas):
    delivery = voice_delivery(personas, language="es")
    root = answer(client, call_path(delivery_token(delivery.pk)))

    gathers = root.findall("Gather")
    assert len(gathers) == 2  # the message and its question, then the same once more
    for n, gather in enumerate(gathers, start=1):
        assert gather.get("numDigits") == "1"
        assert gather.get("method") == "POST"
        action = urlsplit(gather.get("action"))
        assert action.path == "/hooks/twilio/voice"
        query = parse_qs(action.query)
        assert (query["flow"], query["step"], query["n"]) == (["alert"], ["ack"], [str(n)])
        with translation.override("es"):
            prompt = translation.gettext("Press 1 to confirm you heard this message.")
        assert prompt.startswith("Oprima 1")
        assert says(gather) == [("es-MX", SPANISH), ("es-MX", prompt)]
    assert [child.tag for child in root][-1] == "Hangup"
    assert all(lang == "es-MX" for lang, _text in says(root))
    assert ENGLISH not in ET.tostring(root, encoding="unicode")


def test_the_call_speaks_english_to_an_english_speaker(client, personas):
    delivery = voice_delivery(personas, language="en")
    root = answer(client, call_path(delivery_token(delivery.pk)))
    spoken = says(root)
    assert ("en-US", ENGLISH) in spoken
    assert all(lang == "en-US" for lang, _text in spoken)
    assert SPANISH not in ET.tostring(root, encoding="unicode")
    with translation.override("en"):
        assert ("en-US", "Press 1 to confirm you heard this message.") in spoken


@pytest.mark.parametrize(
    ("language", "messages", "expected"),
    [
        # No Tagalog voice or text: the Spanish text with the Spanish voice.
        ("tl", {"es": SPANISH, "en": ENGLISH}, ("es-MX", SPANISH)),
        # English speaker, Spanish-only alert: never Spanish words in an English voice.
        ("en", {"es": SPANISH}, ("es-MX", SPANISH)),
        # A text only in a language without a voice is read with the Spanish voice.
        ("fa", {"fa": "توجه: مدرسه سوتو"}, ("es-MX", "توجه: مدرسه سوتو")),
    ],
)
def test_languages_without_a_voice_fall_back_to_spanish(
    client, personas, language, messages, expected
):
    delivery = voice_delivery(personas, language=language, messages=messages)
    root = answer(client, call_path(delivery_token(delivery.pk)))
    assert expected in says(root.find("Gather"))
    assert {lang for lang, _text in says(root)} == {"es-MX"}


def test_pressing_1_acknowledges_once_and_thanks(client, personas):
    delivery = voice_delivery(personas)
    root = answer(client, call_path(delivery_token(delivery.pk)))
    path = ack_path(root.find("Gather"))

    thanks = answer(client, path, Digits="1")
    assert [child.tag for child in thanks] == ["Say", "Hangup"]
    recipient = recipient_of(delivery)
    assert recipient.acknowledged_at is not None and recipient.ack_via == "voice"
    assert recipient.next_step_at is None  # no captain will be asked to call
    assert Delivery.objects.get(pk=delivery.pk).acknowledged_at is not None

    first = recipient.acknowledged_at
    again = answer(client, path, Digits="1")  # Twilio retried, or they pressed it twice
    assert [child.tag for child in again] == ["Say", "Hangup"]
    assert recipient_of(delivery).acknowledged_at == first


def test_pressing_1_in_the_repeat_also_acknowledges(client, personas):
    delivery = voice_delivery(personas)
    root = answer(client, call_path(delivery_token(delivery.pk)))
    answer(client, ack_path(root.findall("Gather")[1]), Digits="1")
    assert recipient_of(delivery).ack_via == "voice"


def test_a_wrong_key_repeats_the_message_once_then_says_goodbye(client, personas):
    delivery = voice_delivery(personas)
    root = answer(client, call_path(delivery_token(delivery.pk)))

    repeat = answer(client, ack_path(root.find("Gather")), Digits="7")
    [gather] = repeat.findall("Gather")
    assert ("es-MX", SPANISH) in says(gather)
    assert parse_qs(urlsplit(gather.get("action")).query)["n"] == ["2"]
    assert [child.tag for child in repeat][-1] == "Hangup"

    goodbye = answer(client, gather.get("action"), Digits="9")
    assert goodbye.find("Gather") is None
    assert [child.tag for child in goodbye][-1] == "Hangup"
    assert recipient_of(delivery).acknowledged_at is None


def test_an_empty_gather_and_a_completed_call_acknowledge_nothing(client, personas):
    delivery = voice_delivery(personas)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT, provider_id="CA1")
    root = answer(client, call_path(delivery_token(delivery.pk)))
    answer(client, ack_path(root.findall("Gather")[1]), Digits="")
    status = signed_post(
        client,
        f"/hooks/twilio/status?d={delivery.pk}",
        {"CallSid": "CA1", "CallStatus": "completed", "AccountSid": "AC" + "0" * 32},
    )
    assert status.status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED  # the phone rang and was answered ...
    assert delivery.acknowledged_at is None  # ... but nobody pressed 1
    recipient = recipient_of(delivery)
    assert recipient.acknowledged_at is None and recipient.next_step_at is not None


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed"])
def test_unanswered_calls_are_recorded_and_escalation_goes_on(client, personas, status):
    delivery = voice_delivery(personas)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT, provider_id="CA2")
    path = f"/hooks/twilio/status?d={delivery.pk}"  # the callback URL names the delivery
    signed_post(client, path, {"CallSid": "CA2", "CallStatus": status})
    delivery.refresh_from_db()
    assert delivery.status in (DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED)
    assert recipient_of(delivery).next_step_at is not None


def unavailable_root(root: ET.Element) -> None:
    assert root.find("Gather") is None
    assert [child.tag for child in root][-1] == "Hangup"
    assert {lang for lang, _text in says(root)} == {"es-MX", "en-US"}


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "42", delivery_token(10**9)],
    ids=["missing", "garbage", "unsigned", "no-such-delivery"],
)
def test_a_bad_token_gets_a_short_generic_message(client, personas, token):
    voice_delivery(personas)
    root = answer(client, call_path(token))
    unavailable_root(root)
    assert SPANISH not in ET.tostring(root, encoding="unicode")


def test_an_expired_token_gets_the_generic_message_and_acknowledges_nothing(client, personas):
    delivery = voice_delivery(personas)
    token = delivery_token(delivery.pk)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        unavailable_root(answer(client, call_path(token)))
        unavailable_root(answer(client, call_path(token, step="ack", n="1"), Digits="1"))
    assert recipient_of(delivery).acknowledged_at is None


def test_a_token_for_a_text_message_is_not_a_call(client, personas):
    delivery = voice_delivery(personas)
    sms = Delivery.objects.get(channel="sms", ref_id=delivery.ref_id)
    unavailable_root(answer(client, call_path(delivery_token(sms.pk))))


def test_a_forged_signature_is_refused(client, personas):
    delivery = voice_delivery(personas)
    path = call_path(delivery_token(delivery.pk), step="ack", n="1")
    params = {"From": OUR_NUMBER, "Digits": "1", "Direction": "outbound-api"}
    forged = twilio_signature(path, params, token="not-the-token")
    assert signed_post(client, path, params, signature=forged).status_code == 403
    assert signed_post(client, path, params, signature=False).status_code == 403
    assert recipient_of(delivery).acknowledged_at is None


def test_alert_calls_are_not_rate_limited_by_our_own_caller_id(client, personas, settings):
    # Every alert call comes From our number: the hotline's per-caller limit must not apply,
    # or the fourth call of a fan-out would hear "too many calls".
    settings.REPORT_RATE_LIMIT = 1
    deliveries = voice_deliveries(personas, people=3)
    for delivery in deliveries:
        root = answer(client, call_path(delivery_token(delivery.pk)))
        assert len(root.findall("Gather")) == 2
