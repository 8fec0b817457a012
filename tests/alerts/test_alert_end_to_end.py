"""The phone tree end to end, through the entry points people and Twilio use.

A verifier confirms an incident by SMS -> a dispatcher drafts an alert to members and the
public of the zone -> a coordinator approves it -> SMS go out through the Twilio transport to a
local server that speaks Twilio's API -> Twilio's status callbacks mark them delivered -> people
reply 1 / YES -> a member who does not answer gets a voice call after 5 minutes, answers, presses
nothing -> after 15 minutes a captain is asked to call and marks them reached -> the all-clear
goes to exactly the people who got the alert. Every provider request is made exactly once per
message, even across a provider error and a retry.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.conftest import make_member
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    PUBLIC_URL,
    WEBHOOK_TOKEN,
    TwilioStub,
    callback_path,
    fresh_rate_limits,
    signed_post,
    twilio_webhooks,
)
from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, Subscriber, Tier
from vecinos.core import geo
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.network.models import Role, Zone
from vecinos.network.models import Tier as Vetting
from vecinos.network.phones import phone_index
from vecinos.reports import services as reports
from vecinos.reports.models import Incident
from vecinos.transports import registry

ZIP_90033 = (34.0487, -118.2084)
INCIDENT = (34.0455, -118.2100)  # Soto St, inside the zone
OUR_NUMBER = "+12135550000"
PHONES = {
    "member_es": "+13235550111",
    "member_en": "+13235550112",
    "public_es": "+13235550113",
    "public_en": "+13235550114",
    "far_away": "+13235550115",
}

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]


@pytest.fixture
def twilio(twilio_webhooks):  # noqa: F811
    # Twilio signs webhooks with the account's auth token: one token for both directions.
    stub = TwilioStub(auth_token=WEBHOOK_TOKEN).start()
    settings = twilio_webhooks
    settings.TRANSPORTS = {
        **settings.TRANSPORTS,
        "sms": {"path": "vecinos.transports.twilio.sms.TwilioSmsTransport"},
        "voice": {"path": "vecinos.transports.twilio.voice.TwilioVoiceTransport"},
    }
    settings.TWILIO_API_URL = stub.url
    settings.TWILIO_ACCOUNT_SID = stub.account_sid
    settings.TWILIO_AUTH_TOKEN = stub.auth_token
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_FROM_NUMBER = OUR_NUMBER
    settings.TWILIO_TIMEOUT_SECONDS = 2
    settings.TWILIO_VOICE_RATE = 1000
    settings.PUBLIC_URL = PUBLIC_URL
    registry.reset()
    try:
        yield stub
    finally:
        registry.reset()
        stub.stop()


def sms(client, sender: str, body: str) -> str | None:
    params = {
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "MessageSid": "SM" + f"{random.getrandbits(128):032x}",
        "AccountSid": "AC" + "0" * 32,
    }
    response = signed_post(client, "/hooks/twilio/sms", params)
    assert response.status_code == 200, response.content
    messages = ET.fromstring(response.content).findall("Message")
    return messages[0].text if messages else None


def status(client, resource: dict, **params) -> None:
    """Twilio's status callback for a message or call the stub took, posted to the callback
    URL it was given (which names the delivery)."""
    response = signed_post(client, callback_path(resource["_status_callback"]), params)
    assert response.status_code == 204


def keys_of(stub: TwilioStub, prefix: str) -> dict[str, dict]:
    """Accepted messages and calls whose Idempotency-Key starts with prefix."""
    return {k: v for k, v in {**stub.by_key, **stub.calls_by_key}.items() if k.startswith(prefix)}


def retry_now() -> None:
    Delivery.objects.filter(status=DeliveryStatus.QUEUED).update(next_attempt_at=timezone.now())


def test_confirmed_incident_to_acknowledged_alert_to_all_clear(client, personas, twilio):
    # --- The network: a zone, members in it, neighbors who joined by SMS, a captain ----------
    zone = Zone.objects.create(
        name="Boyle Heights",
        slug="boyle-heights",
        kind="neighborhood",
        cells=geo.circle_cells(*ZIP_90033, 1500),
        center_lat=ZIP_90033[0],
        center_lng=ZIP_90033[1],
    )
    captain = make_member(
        "captain", org=personas.org_a, roles=(Role.CAPTAIN,), tier=Vetting.VOUCHED
    )
    for key, lang in (("member_es", "es"), ("member_en", "en")):
        member = make_member(
            key.replace("_", ""),
            org=personas.org_a,
            roles=(Role.PATROL,),
            tier=Vetting.VOUCHED,
            phone=PHONES[key],
            preferred_language=lang,
        )
        services.subscribe(
            phone=member.phone,
            language=lang,
            channels=["sms", "voice"],
            member=member,
            zone=zone,
            source="member",
            confirmed=True,
        )
    for key, join, yes in (
        ("public_es", "UNIRME 90033", "SÍ"),
        ("public_en", "JOIN 90033", "YES"),
        ("far_away", "JOIN 91101", "YES"),  # Pasadena
    ):
        assert "Boyle Heights" in sms(client, PHONES[key], join) or key == "far_away"
        sms(client, PHONES[key], yes)
    subs = {key: Subscriber.objects.get(phone_index=phone_index(p)) for key, p in PHONES.items()}
    assert {s.status for s in subs.values()} == {Subscriber.Status.ACTIVE}
    assert subs["public_es"].language == "es" and subs["public_en"].language == "en"

    # --- A report, an incident, a verifier confirms it by SMS --------------------------------
    report = reports.report_submit(
        data=reports.ReportInput(
            channel="web",
            place_text="Soto St y 1st St",
            lat=INCIDENT[0],
            lng=INCIDENT[1],
            activity="street",
            agency="ice",
            agents_count=4,
        )
    )
    incident = reports.incident_open(report=report, actor=personas.dispatcher)
    [request] = reports.verifiers_request(
        incident=incident, verifiers=[personas.verifier], actor=personas.dispatcher
    )
    messaging.dispatch()  # the verifier's request leaves through Twilio too
    assert twilio.messages_to(personas.verifier.phone)
    sms(client, personas.verifier.phone, "SI")
    sms(client, personas.verifier.phone, "CONFIRMADO 4 agentes con chalecos")
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CONFIRMED

    # --- The alert: drafted by a dispatcher, approved by a second person ---------------------
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.MEMBERS, Tier.PUBLIC],
        zones=[zone],
        incident=incident,
        area_label="Boyle Heights",
        messages={
            "es": "Operativo de ICE confirmado en Soto y 1st. Eviten la zona.",
            "en": "Confirmed ICE operation at Soto and 1st. Avoid the area.",
        },
    )
    alert = services.alert_send(alert=alert, actor=personas.dispatcher)
    assert alert.status == Alert.Status.PENDING and not Delivery.objects.filter(
        ref_type="alert", ref_id=alert.pk
    )
    alert = services.alert_approve(alert=alert, actor=personas.coalition)
    assert alert.status == Alert.Status.SENT
    sent_at = alert.sent_at
    recipients = {r.subscriber_id: r for r in AlertRecipient.objects.filter(alert=alert)}
    reached = {"member_es", "member_en", "public_es", "public_en"}
    assert set(recipients) == {subs[k].pk for k in reached}  # not Pasadena
    assert {recipients[subs[k].pk].tier for k in ("member_es", "member_en")} == {Tier.MEMBERS}

    # --- SMS through Twilio; the provider fails once and the retry does not double -----------
    twilio.fail_next(1, status=503)
    first = messaging.dispatch()
    assert first["retry"] == 1 and first["sent"] == 3
    retry_now()
    assert messaging.dispatch()["sent"] == 1
    original = keys_of(twilio, f"alert:{alert.pk}:")
    assert sorted(m["to"] for m in original.values()) == sorted(PHONES[k] for k in reached)
    bodies = {m["to"]: m["body"] for m in original.values()}
    assert bodies[PHONES["public_es"]].startswith("Operativo de ICE confirmado")
    assert bodies[PHONES["member_en"]].startswith("Confirmed ICE operation")
    assert all(m["from"] == OUR_NUMBER for m in original.values())

    # --- Twilio reports them delivered --------------------------------------------------------
    for message in original.values():
        status(client, message, MessageSid=message["sid"], MessageStatus="sent")
        status(client, message, MessageSid=message["sid"], MessageStatus="delivered")
    assert set(
        Delivery.objects.filter(ref_type="alert", ref_id=alert.pk).values_list("status", flat=True)
    ) == {DeliveryStatus.DELIVERED}

    # --- Replies acknowledge -------------------------------------------------------------------
    assert sms(client, PHONES["public_es"], "1")
    assert sms(client, PHONES["member_es"], "Sí")
    acked = {
        r.subscriber_id
        for r in AlertRecipient.objects.filter(alert=alert, acknowledged_at__isnull=False)
    }
    assert acked == {subs["public_es"].pk, subs["member_es"].pk}

    # --- 5 minutes: the member who did not answer gets a call; the public never does ---------
    late = recipients[subs["member_en"].pk]
    with time_machine.travel(sent_at + timedelta(minutes=5, seconds=5), tick=False):
        counts = services.escalate_due()
        assert counts["voice"] == 1
        messaging.dispatch()
    [call] = twilio.calls
    assert call["to"] == PHONES["member_en"] and call["from"] == OUR_NUMBER
    assert not twilio.calls_to(PHONES["public_en"])
    voice = Delivery.objects.get(ref_type="alert", channel="voice", ref_id=alert.pk)
    assert voice.ref_item == late.pk and voice.provider_id == call["sid"]

    # Twilio fetches the TwiML; the person hears it in English and presses nothing.
    path = call["_url"].removeprefix(PUBLIC_URL)
    response = signed_post(
        client,
        path,
        {
            "CallSid": call["sid"],
            "From": OUR_NUMBER,
            "To": call["to"],
            "Direction": "outbound-api",
            "CallStatus": "in-progress",
        },
    )
    root = ET.fromstring(response.content)
    gathers = root.findall("Gather")
    assert len(gathers) == 2 and gathers[0].get("numDigits") == "1"
    assert any(
        s.text.startswith("Confirmed ICE operation") and s.get("language") == "en-US"
        for s in gathers[0].iter("Say")
    )
    status(client, call, CallSid=call["sid"], CallStatus="completed")
    voice.refresh_from_db()
    assert voice.status == DeliveryStatus.DELIVERED
    assert AlertRecipient.objects.get(pk=late.pk).acknowledged_at is None

    # --- 15 minutes: a captain is asked to call, and marks them reached -----------------------
    with time_machine.travel(sent_at + timedelta(minutes=15, seconds=5), tick=False):
        assert services.escalate_due()["captain"] == 1
    late.refresh_from_db()
    assert late.captain == captain
    assert list(services.captain_queue(captain)) == [late]
    services.captain_mark(recipient=late, captain=captain, status="reached")
    late.refresh_from_db()
    assert late.acknowledged_at is not None and late.ack_via == "captain"
    assert list(services.captain_queue(captain)) == []
    assert services.progress(alert)["acknowledged"] == 3  # public_en got its one message

    # --- The all-clear reaches exactly the people who got the alert ---------------------------
    all_clear = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ALL_CLEAR,
        tiers=[Tier.PUBLIC],
        messages={"es": "Todo despejado en Soto y 1st.", "en": "All clear at Soto and 1st."},
        parent=alert,
    )
    all_clear = services.alert_send(alert=all_clear, actor=personas.dispatcher)
    all_clear = services.alert_approve(alert=all_clear, actor=personas.coalition)
    messaging.dispatch()
    assert set(
        AlertRecipient.objects.filter(alert=all_clear).values_list("subscriber_id", flat=True)
    ) == set(recipients)
    cleared = keys_of(twilio, f"alert:{all_clear.pk}:")
    assert sorted(m["to"] for m in cleared.values()) == sorted(m["to"] for m in original.values())
    assert {m["to"]: m["body"] for m in cleared.values()}[PHONES["public_es"]].startswith(
        "Todo despejado"
    )
    assert not twilio.messages_to(PHONES["far_away"])

    # --- Nothing doubled: one accepted message or call per key, one key per delivery ---------
    resources = twilio.messages + twilio.calls
    assert len({r["sid"] for r in resources}) == len(resources)
    assert len({**twilio.by_key, **twilio.calls_by_key}) == len(resources)
    sends = Counter(r.headers["Idempotency-Key"] for r in twilio.requests)
    assert [n for n in sends.values() if n > 1] == [2]  # the one 503, re-sent under its key
    assert Delivery.objects.exclude(provider_id="").count() == len(resources)
