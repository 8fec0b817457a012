"""A public alert waiting for its second person does not sit silently: the people who may
approve it (dispatchers on duty first) are told by their first channel, the console shows it,
and the alert shows how long it has waited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_member, sign_in
from vecinos.alerts import services, tasks
from vecinos.alerts.models import Alert, Tier
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting
from vecinos.reports import services as reports
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

pytestmark = pytest.mark.django_db
BOYLE = (34.0407, -118.2110)


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


@pytest.fixture
def second_dispatcher(personas):
    return make_member(
        "dispatcher2",
        org=personas.org_b,
        roles=(Role.DISPATCHER,),
        tier=Vetting.TRAINED,
        phone="+12135550120",
    )


def request_approval(client, personas) -> Alert:
    services.subscribe(phone="+12135550160", point=BOYLE, radius_m=1000, confirmed=True)
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.PUBLIC],
        messages={"es": "Operativo confirmado.", "en": "Confirmed operation."},
        point=BOYLE,
        radius_m=2000,
    )
    sign_in(client, personas.dispatcher)
    assert client.post(reverse("alert_send", args=[alert.pk])).status_code == 302
    alert.refresh_from_db()
    assert alert.status == Alert.Status.PENDING
    return alert


def told(alert: Alert) -> dict[int, str]:
    """Approval requests: member id -> channel."""
    return dict(
        Delivery.objects.filter(ref_type="alert_approval", ref_id=alert.pk).values_list(
            "ref_item", "channel"
        )
    )


def test_dispatchers_on_duty_are_told_first_by_their_first_channel(
    client, personas, second_dispatcher
):
    reports.duty_start(member=second_dispatcher, role="dispatcher", hours=2)
    alert = request_approval(client, personas)
    assert told(alert) == {second_dispatcher.pk: "sms"}
    messaging.dispatch()
    [sms] = OutboxMessage.objects.all()
    assert sms.address == "+12135550120"
    assert "dispatcher" in sms.body and f"/alerts/{alert.pk}/" in sms.body
    assert "Operativo" not in sms.body  # the text is read on the page, signed in


def test_after_five_minutes_everyone_who_may_approve_is_told_once(
    client, personas, second_dispatcher
):
    reports.duty_start(member=second_dispatcher, role="dispatcher", hours=2)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        alert = request_approval(client, personas)
    assert set(told(alert)) == {second_dispatcher.pk}
    with time_machine.travel(start + timedelta(minutes=4), tick=False):
        tasks.escalation_auditor.call_local()
    assert set(told(alert)) == {second_dispatcher.pk}
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        tasks.escalation_auditor.call_local()
        tasks.escalation_auditor.call_local()
    assert set(told(alert)) == {
        second_dispatcher.pk,
        personas.coalition.pk,
        personas.coordinator.pk,
    }
    assert Delivery.objects.filter(ref_type="alert_approval").count() == 3


def test_with_nobody_on_duty_everyone_who_may_approve_is_told(client, personas, second_dispatcher):
    # The coalition coordinator prefers email: that is their first channel.
    services.subscribe(
        email="coalition@example.org",
        phone=personas.coalition.phone,
        language="en",
        channels=["email", "sms"],
        member=personas.coalition,
        confirmed=True,
    )
    alert = request_approval(client, personas)
    assert told(alert) == {
        personas.coalition.pk: "email",
        personas.coordinator.pk: "sms",
        second_dispatcher.pk: "sms",
    }
    # Never the author, a verifier, a newcomer, or another group's coordinator (who may not
    # approve org A's alert).
    for member in (personas.dispatcher, personas.verifier, personas.newcomer, personas.outsider):
        assert member.pk not in told(alert)
    # Approved before the requests went out: the rest are cancelled, not sent late.
    sign_in(client, personas.coordinator)
    client.post(reverse("alert_approve", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SENT
    statuses = set(
        Delivery.objects.filter(ref_type="alert_approval").values_list("status", flat=True)
    )
    assert statuses == {DeliveryStatus.CANCELLED}


def test_the_console_and_the_alert_show_the_waiting_time(client, personas, second_dispatcher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        alert = request_approval(client, personas)
    with time_machine.travel(start + timedelta(minutes=7), tick=False):
        sign_in(client, second_dispatcher)
        console = client.get(reverse("console")).content.decode()
        assert (
            f"Public alert #{alert.pk} (Sighting confirmed) by dispatcher waits for your "
            "approval since 7 min"
        ) in console
        detail = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
        assert "Waiting for 7\xa0minutes" in detail
        listing = client.get(reverse("alerts")).content.decode()
        assert "waiting for 7\xa0minutes" in listing
        # The author cannot approve their own alert: their console does not ask them to.
        sign_in(client, personas.dispatcher)
        assert "waits for your approval" not in client.get(reverse("console")).content.decode()


def test_cancelling_a_waiting_alert_cancels_the_requests(client, personas, second_dispatcher):
    alert = request_approval(client, personas)
    assert len(told(alert)) == 3
    client.post(reverse("alert_cancel", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.CANCELLED
    messaging.dispatch()
    assert OutboxMessage.objects.count() == 0
