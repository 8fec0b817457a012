"""A member turns notifications on: /me/push/ stores the browser subscription, and alerts go to
push first (then escalate by the policy)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import make_member
from vecinos.alerts import services
from vecinos.alerts.models import Alert, Subscriber, Tier
from vecinos.core.models import AuditEvent
from vecinos.messaging.models import ContactPoint, Delivery
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


SUBSCRIPTION = {
    "endpoint": "https://fcm.googleapis.com/fcm/send/abc:def",
    "expirationTime": None,
    "keys": {"p256dh": b64url(b"\x04" + b"\x02" * 64), "auth": b64url(b"\x03" * 16)},
}


@pytest.mark.django_db
def test_member_turns_push_on_and_alerts_use_it_first(personas, login):
    member = make_member(
        "pushy",
        org=personas.org_a,
        roles=(Role.RESPONDER,),
        tier=Vetting.VOUCHED,
        phone="+12135550197",
    )
    client = login(member)
    response = client.post(
        "/me/push/", {**SUBSCRIPTION, "language": "es"}, content_type="application/json"
    )
    assert response.status_code == 201
    sub = Subscriber.objects.get(member=member)
    assert sub.channels[0] == "push" and sub.push is not None
    assert sub.push.channel == "push" and "fcm.googleapis.com" in sub.push.address
    on_record = AuditEvent.objects.get(action="push.subscribe")
    assert on_record.actor_id == member.pk

    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ACTIVATION,
        tiers=[Tier.RESPONDERS],
        messages={"es": "Activación"},
    )
    services.alert_send(alert=alert, actor=personas.dispatcher)
    delivery = Delivery.objects.get(ref_type="alert", ref_id=alert.pk)
    assert delivery.channel == "push"

    off = client.delete(
        "/me/push/",
        json.dumps({"endpoint": SUBSCRIPTION["endpoint"]}),
        content_type="application/json",
    )
    assert off.status_code == 204
    sub.refresh_from_db()
    assert sub.push is None and "push" not in sub.channels
    assert not ContactPoint.objects.filter(channel="push", usable=True).exists()


@pytest.mark.django_db
def test_bad_push_subscriptions_get_a_clear_400(personas, login):
    client = login(personas.verifier)
    for body in (
        "not json",
        json.dumps([]),
        json.dumps({"endpoint": "https://evil.example/x", "keys": SUBSCRIPTION["keys"]}),
        "[" * 5000 + "]" * 5000,  # nested past Python's recursion limit: was a 500
    ):
        response = client.post("/me/push/", body, content_type="application/json")
        assert response.status_code == 400 and "error" in response.json()


@pytest.mark.django_db
def test_push_endpoint_needs_sign_in(client):
    response = client.post("/me/push/", SUBSCRIPTION, content_type="application/json")
    assert response.status_code == 302
