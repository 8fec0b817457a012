"""Signal as a subscriber's channel, through the pages people use and a local server that speaks
signal-cli-rest-api's documented ``POST /v2/send``.

Signal is offered (member channel order, public subscribe page) only where a Signal provider is
configured; the Signal number is the person's own phone number (E.164, as for SMS). An alert to
someone whose first channel is Signal goes by Signal; the escalation then follows the policy
(a voice call after 5 minutes), and someone Signal cannot reach gets their next channel.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.stubs_providers import signal_api  # noqa: F401
from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, Subscriber, Tier
from vecinos.messaging import services as messaging
from vecinos.messaging import worker
from vecinos.messaging.models import Channel, ContactPoint, Delivery, DeliveryStatus
from vecinos.network.phones import phone_index
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage


def acknowledges(text: str, recipient: AlertRecipient) -> bool:
    """The text ends with a signed link that opens this recipient's acknowledgement (the
    token carries a timestamp, so two links made a second apart differ: compare what they open)."""
    prefix = services.ack_link(recipient.pk).rsplit("/a/", 1)[0] + "/a/"
    if not text.startswith(prefix, text.rfind("http")) or not text.endswith("/"):
        return False
    token = text[text.rfind("http") + len(prefix) : -1]
    opened = services.load_ack_token(token)
    return opened is not None and opened.pk == recipient.pk


PATH = "vecinos.transports.signal.transport.SignalTransport"
CONSOLE = "vecinos.transports.console.transport.ConsoleTransport"
BOYLE = (34.0407, -118.2110)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    # A fresh source address per test: the sign-up page is rate-limited by source.
    return Client(
        REMOTE_ADDR=f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    )


@pytest.fixture(autouse=True)
def _fresh(settings, monkeypatch):
    if settings.REDIS_URL:
        from vecinos.core import ratelimit

        for key in ratelimit._redis().scan_iter("rl:subscribe*"):
            ratelimit._redis().delete(key)
    monkeypatch.setattr(worker, "_limiters", {})
    registry.reset()
    yield
    registry.reset()


@pytest.fixture
def signal(signal_api, settings):  # noqa: F811
    settings.TRANSPORTS = {**settings.TRANSPORTS, "signal": {"path": PATH}}
    settings.SIGNAL_API_URL = signal_api.url
    settings.SIGNAL_NUMBER = signal_api.number
    settings.SIGNAL_TIMEOUT = 2
    settings.SIGNAL_RATE = 1000
    settings.PUBLIC_URL = "http://testserver"
    registry.reset()
    return signal_api


def internal_alert(personas) -> Alert:
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ACTIVATION,
        tiers=[Tier.INTERNAL],
        messages={"es": "Activación de prueba.", "en": "Test activation."},
    )
    return services.alert_send(alert=alert, actor=personas.dispatcher)


def choose(client, **channels):
    data = {"action": "channels", "language": "es", "first": "", "second": "", "third": ""}
    return client.post(reverse("my_subscriptions"), {**data, **channels})


def deliveries_to(member) -> list[Delivery]:
    return list(
        Delivery.objects.filter(
            ref_item__in=AlertRecipient.objects.filter(subscriber__member=member).values("pk")
        ).order_by("pk")
    )


def test_a_member_chooses_signal_first_and_the_alert_comes_by_signal(
    client, login, personas, signal
):
    services.ensure_member_subscriber(personas.dispatcher)
    login(personas.verifier)
    page = client.get(reverse("my_subscriptions")).content.decode()
    assert '<option value="signal">Signal' in page
    response = choose(client, first="signal", second="sms")
    assert response.status_code == 302
    sub = Subscriber.objects.get(member=personas.verifier)
    assert sub.channels == ["signal", "sms"]
    contact = ContactPoint.objects.get(channel=Channel.SIGNAL)
    assert contact.address == personas.verifier.phone == "+12135550104"
    assert contact.address_index == sub.phone_index  # the same phone, the same blind index

    alert = internal_alert(personas)
    [first] = deliveries_to(personas.verifier)
    assert first.channel == Channel.SIGNAL and first.contact_id == contact.pk
    # The dispatcher, who chose nothing, still gets a text.
    assert {d.channel for d in deliveries_to(personas.dispatcher)} == {Channel.SMS}
    messaging.dispatch()
    [sent] = signal.messages
    assert sent["recipients"] == ["+12135550104"] and sent["number"] == signal.number
    assert sent["text"].startswith("Activación de prueba.")
    recipient = AlertRecipient.objects.get(alert=alert, subscriber=sub)
    assert acknowledges(sent["text"], recipient)
    # Not "reply 1" (a reply on Signal reaches no one): only the link confirms.
    sms = Delivery.objects.get(channel=Channel.SMS, ref_item__isnull=False).body
    assert sms.split("http")[0].strip() != sent["text"].split("http")[0].strip()
    assert "1" not in sent["text"].split("Activación de prueba.")[1].split("http")[0]
    first.refresh_from_db()
    assert first.status == DeliveryStatus.SENT and first.provider_id == sent["timestamp"]
    [request] = [r for r in signal.requests if r.path == "/v2/send"]
    assert request.method == "POST" and request.json()["recipients"] == ["+12135550104"]
    assert not OutboxMessage.objects.filter(address="+12135550104").exists()

    # No answer in 5 minutes: the escalation goes on by the policy (a voice call).
    with time_machine.travel(alert.sent_at + timedelta(seconds=301), tick=False):
        services.escalate_due()
    channels = [d.channel for d in deliveries_to(personas.verifier)]
    assert channels == [Channel.SIGNAL, Channel.VOICE]
    assert len(signal.messages) == 1


def test_the_public_page_offers_signal_first_and_the_alert_comes_by_signal(
    client, personas, signal
):
    page = client.get(reverse("subscribe")).content.decode()
    assert 'value="signal"' in page
    assert page.index('value="signal"') < page.index('value="sms"')  # tried first
    response = client.post(
        reverse("subscribe"),
        {
            "phone": "(323) 555-0187",
            "place": "90033",
            "language": "es",
            "channels": ["sms", "signal"],
        },
    )
    assert response.status_code == 200
    sub = Subscriber.objects.get(phone_index=phone_index("+13235550187"))
    assert sub.channels == ["signal", "sms"]
    # The confirmation code is a text: it proves the phone number, which is the Signal number.
    messaging.dispatch()
    assert OutboxMessage.objects.get().address == "+13235550187"
    assert not signal.messages
    client.post(reverse("subscribe_confirm"), {"phone": "3235550187", "code": sub.confirm_code})
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE

    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.PUBLIC],
        messages={"es": "Operativo confirmado en Boyle Heights.", "en": "Confirmed operation."},
        point=(34.0487, -118.2084),
        radius_m=3000,
        area_label="Boyle Heights",
    )
    services.alert_send(alert=alert, actor=personas.dispatcher)
    services.alert_approve(alert=alert, actor=personas.coalition)
    [delivery] = Delivery.objects.filter(ref_type="alert")
    assert delivery.channel == Channel.SIGNAL
    messaging.dispatch()
    assert [m["recipients"] for m in signal.messages] == [["+13235550187"]]
    assert signal.messages[0]["text"].startswith("Operativo confirmado en Boyle Heights.")
    assert OutboxMessage.objects.count() == 1  # only the confirmation text


def test_signal_is_neither_offered_nor_accepted_when_not_configured(
    client, login, personas, settings
):
    for path in (None, CONSOLE):
        if path is None:
            settings.TRANSPORTS = {k: v for k, v in settings.TRANSPORTS.items() if k != "signal"}
        else:
            settings.TRANSPORTS = {**settings.TRANSPORTS, "signal": {"path": path}}
        assert not registry.is_configured("signal")
        login(personas.verifier)
        page = client.get(reverse("my_subscriptions")).content.decode()
        assert 'value="signal"' not in page and 'value="voice"' in page
        response = choose(client, first="signal", second="sms")
        assert response.status_code == 200
        assert "That way of reaching you is not available here." in response.content.decode()
        sub = Subscriber.objects.get(member=personas.verifier)
        assert sub.channels == ["sms", "voice"]
        assert not ContactPoint.objects.filter(channel=Channel.SIGNAL).exists()

        public = Client(REMOTE_ADDR=f"10.9.{random.randrange(256)}.{random.randrange(1, 255)}")
        page = public.get(reverse("subscribe")).content.decode()
        assert 'value="signal"' not in page and 'value="sms"' in page
        response = public.post(
            reverse("subscribe"),
            {"phone": "3235550189", "place": "90033", "language": "es", "channels": ["signal"]},
        )
        assert response.status_code == 200
        assert "That way of reaching you is not available here." in response.content.decode()
        assert not Subscriber.objects.filter(phone_index=phone_index("+13235550189")).exists()


def test_someone_signal_cannot_reach_gets_their_next_channel(client, login, personas, signal):
    login(personas.verifier)
    choose(client, first="signal", second="sms")
    signal.unregistered.add(personas.verifier.phone)  # no Signal account on that number
    first_alert = internal_alert(personas)
    messaging.dispatch()
    [failed] = deliveries_to(personas.verifier)
    assert failed.channel == Channel.SIGNAL and failed.status == DeliveryStatus.FAILED
    contact = ContactPoint.objects.get(channel=Channel.SIGNAL)
    assert not contact.usable and contact.unusable_reason == "unregistered"
    # The escalation of this alert goes on (voice after 5 minutes) ...
    with time_machine.travel(first_alert.sent_at + timedelta(seconds=301), tick=False):
        services.escalate_due()
    assert [d.channel for d in deliveries_to(personas.verifier)] == ["signal", "voice"]
    # ... and the next alert goes straight to their next channel, a text.
    Alert.objects.filter(pk=first_alert.pk).update(expires_at=timezone.now())
    internal_alert(personas)
    latest = deliveries_to(personas.verifier)[-1]
    assert latest.channel == Channel.SMS and latest.ref_id != first_alert.pk


def test_signal_chosen_while_configured_falls_back_once_signal_is_turned_off(
    client, login, personas, signal, settings
):
    login(personas.verifier)
    choose(client, first="signal", second="voice")
    settings.TRANSPORTS = {**settings.TRANSPORTS, "signal": {"path": CONSOLE}}
    registry.reset()
    internal_alert(personas)
    [delivery] = deliveries_to(personas.verifier)
    assert delivery.channel == Channel.VOICE  # never a Signal message nobody sends
    messaging.dispatch()
    assert not signal.messages


def test_a_signal_acknowledgement_link_is_pressed_like_any_other(client, login, personas, signal):
    login(personas.verifier)
    choose(client, first="signal")
    alert = internal_alert(personas)
    messaging.dispatch()
    [sent] = signal.messages
    link = sent["text"].rsplit("http://testserver", 1)[1].split()[0].rstrip(".")
    anonymous = Client()
    assert anonymous.get(link).status_code == 200
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=personas.verifier)
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is None
    anonymous.post(link, {"via": "link"})
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is not None


def test_the_same_alert_reaches_them_by_their_next_channel_when_signal_fails_for_good(
    client, login, personas, signal
):
    login(personas.verifier)
    choose(client, first="signal", second="sms")
    signal.unregistered.add(personas.verifier.phone)
    alert = internal_alert(personas)
    messaging.dispatch()
    [failed] = deliveries_to(personas.verifier)
    assert failed.status == DeliveryStatus.FAILED
    # The auditor (every minute) finds them stranded: the same alert goes by their next
    # channel that works: the text.
    assert services.fall_back_failed() == 1
    assert services.fall_back_failed() == 0  # once: it is queued now
    latest = deliveries_to(personas.verifier)[-1]
    assert (latest.channel, latest.ref_id) == (Channel.SMS, alert.pk)
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=personas.verifier)
    assert acknowledges(latest.body, recipient)
    messaging.dispatch()
    latest.refresh_from_db()
    assert latest.status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
    # It worked: nothing more to fall back to, and nobody else was touched.
    assert services.fall_back_failed() == 0
    assert len(signal.messages) == 0
    # Acknowledged people are never chased by a fallback.
    Delivery.objects.filter(pk=latest.pk).update(status=DeliveryStatus.FAILED)
    services.acknowledge(recipient=recipient, via="link")
    assert services.fall_back_failed() == 0
