"""Captured Twilio webhooks re-sent later are ignored: a signed request carries no timestamp,
so the message's (or call step's) SID is what tells a replay apart. Only a keyed hash of it is
kept."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.alerts.test_alert_sms_keywords import new_number, say, subscriber
from tests.reports.test_voice_intake import HOTLINE_NUMBER, VOICE
from tests.transports.test_twilio_sms_transport import enqueue
from tests.transports.test_twilio_sms_transport import twilio as twilio  # noqa: F401  (fixture)
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    callback_path,
    fresh_rate_limits,
    signed_post,
    twilio_stub,
    twilio_webhooks,
)
from vecinos.alerts.models import OptOut, Subscriber
from vecinos.messaging import replay
from vecinos.messaging import services as messaging
from vecinos.messaging.models import ContactPoint, DeliveryStatus, WebhookSeen
from vecinos.reports.models import Report
from vecinos.transports import registry

SMS = "/hooks/twilio/sms"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def sms_params(sender: str, body: str) -> dict[str, str]:
    return {
        "From": sender,
        "To": "+12135550000",
        "Body": body,
        "MessageSid": "SM" + f"{random.getrandbits(128):032x}",
        "AccountSid": "AC" + "0" * 32,
        "NumMedia": "0",
    }


def test_a_replayed_stop_does_not_silence_a_subscriber_who_sent_start_since(client):
    sender = new_number()
    sub = subscriber(sender, "en")
    captured = sms_params(sender, "STOP")
    assert signed_post(client, SMS, captured).status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.STOPPED
    say(client, sender, "START")
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE

    # The saved STOP, re-sent byte for byte with its valid signature.
    response = signed_post(client, SMS, captured)
    assert response.status_code == 200
    assert b"<Message>" not in response.content  # nothing handled, nothing answered
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE
    assert not OptOut.objects.filter(phone_index=sub.phone_index).exists()
    assert ContactPoint.objects.get(pk=sub.sms_id).usable


def test_a_new_stop_with_its_own_sid_still_works_after_start(client):
    sender = new_number()
    sub = subscriber(sender, "en")
    say(client, sender, "STOP")
    say(client, sender, "START")
    say(client, sender, "STOP")
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.STOPPED


def test_a_replayed_report_text_files_one_report(client):
    sender = new_number()
    captured = sms_params(sender, "REPORT agents at the school on 1st street")
    signed_post(client, SMS, captured)
    count = Report.objects.count()
    assert count == 1
    signed_post(client, SMS, captured)
    assert Report.objects.count() == count


def test_only_a_keyed_hash_of_the_sid_is_stored(client):
    sender = new_number()
    params = sms_params(sender, "HELP")
    signed_post(client, SMS, params)
    (row,) = WebhookSeen.objects.all()
    assert len(row.key) == 64
    assert params["MessageSid"] not in row.key
    assert sender.lstrip("+") not in row.key


def test_a_replayed_call_step_is_hung_up_and_files_nothing(client):
    caller = new_number()
    data = {
        "CallSid": "CA" + f"{random.getrandbits(128):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": caller,
        "To": HOTLINE_NUMBER,
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }
    first = signed_post(client, f"{VOICE}?flow=hotline", data)
    assert first.status_code == 200 and b"<Gather" in first.content
    # The next step of the same call (another URL) is not a replay.
    lang = signed_post(client, f"{VOICE}?flow=hotline&step=lang&n=1", {**data, "Digits": "1"})
    assert b"<Gather" in lang.content
    replayed = signed_post(client, f"{VOICE}?flow=hotline", data)
    assert replayed.status_code == 200
    assert b"<Hangup" in replayed.content and b"<Gather" not in replayed.content


def test_a_replayed_permanent_failure_callback_does_not_mark_the_contact_again(twilio, client):  # noqa: F811
    delivery = enqueue("+12135550169", "replay-cb")
    messaging.dispatch()
    delivery.refresh_from_db()
    captured = {
        "MessageSid": delivery.provider_id,
        "MessageStatus": "undelivered",
        "ErrorCode": "30006",
    }
    path = callback_path(twilio.messages[-1]["_status_callback"])
    assert signed_post(client, path, captured, token=twilio.auth_token).status_code == 204
    contact = ContactPoint.objects.get(pk=delivery.contact_id)
    assert not contact.usable
    # The person fixed their phone and the contact was made usable again.
    ContactPoint.objects.filter(pk=contact.pk).update(usable=True, unusable_reason="")
    assert signed_post(client, path, captured, token=twilio.auth_token).status_code == 204
    assert ContactPoint.objects.get(pk=contact.pk).usable
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.UNDELIVERED


def test_old_entries_are_pruned_after_the_retention(settings):
    settings.WEBHOOK_REPLAY_DAYS = 30
    assert replay.first_time("sms", "SMold")
    assert not replay.first_time("sms", "SMold")
    WebhookSeen.objects.update(seen_at=timezone.now() - timedelta(days=31))
    assert replay.prune() == 1
    assert replay.first_time("sms", "SMold")
