"""Once an all-clear or a correction is sent (or the alert is stopped, or expires), nothing more
of the original, or of an update in between, goes out: no voice call at +5 min, no captain at
+15 min, no queued message sent late, and captains' open calls close with a note.

Driven through the pages a dispatcher and a captain use, with a controllable clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_member, sign_in
from vecinos.alerts import escalation, services, tasks
from vecinos.alerts.models import Alert, AlertRecipient, Tier
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


@pytest.fixture
def network(personas):
    captain = make_member(
        "captain",
        org=personas.org_a,
        roles=(Role.CAPTAIN,),
        tier=Vetting.VOUCHED,
        phone="+12135550190",
    )
    responders = [
        make_member(
            f"resp{i}",
            org=personas.org_a,
            roles=(Role.RESPONDER,),
            tier=Vetting.VOUCHED,
            phone=f"+1213555018{i}",
        )
        for i in range(2)
    ]
    for member in responders:
        services.ensure_member_subscriber(member)
    return captain, responders


def activation(personas) -> Alert:
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ACTIVATION,
        tiers=[Tier.RESPONDERS],
        messages={"es": "Activación: vayan a observar.", "en": "Activation: go observe."},
    )
    return services.alert_send(alert=alert, actor=personas.dispatcher)


def follow_up(client, personas, parent: Alert, kind: str, es: str, en: str) -> Alert:
    """What a dispatcher does: the follow-up form, then Send."""
    sign_in(client, personas.dispatcher)
    response = client.post(
        reverse("alert_new"),
        {
            "parent": parent.pk,
            "kind": kind,
            "message_es": es,
            "message_en": en,
            "expires_hours": 4,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    alert = Alert.objects.get(parent=parent, kind=kind)
    response = client.post(reverse("alert_send", args=[alert.pk]))
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SENT
    return alert


def alert_rows(alert: Alert, channel: str | None = None):
    rows = Delivery.objects.filter(ref_type="alert", ref_id=alert.pk)
    return rows.filter(channel=channel) if channel else rows


def test_all_clear_stops_voice_and_captain_steps_and_cancels_the_update_in_between(
    client, personas, network
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        original = activation(personas)
        messaging.dispatch()  # the first texts went out
    assert OutboxMessage.objects.count() == 2
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        update = follow_up(
            client, personas, original, Alert.Kind.UPDATE, "Siguen ahí.", "Still there."
        )
        # Not sent yet (a slow queue): these must not go out after the all-clear.
        assert alert_rows(update).filter(status=DeliveryStatus.QUEUED).count() == 2
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        all_clear = follow_up(
            client, personas, update, Alert.Kind.ALL_CLEAR, "Todo despejado.", "All clear."
        )
        messaging.dispatch()
    assert set(alert_rows(update).values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    sent_bodies = list(OutboxMessage.objects.values_list("body", flat=True))
    assert not any("Siguen" in b or "Still there" in b for b in sent_bodies)
    assert sum("despejado" in b or "All clear" in b for b in sent_bodies) == 2
    for alert in (original, update):
        alert.refresh_from_db()
        assert alert.stopped_at is not None
        assert alert.stop_reason == Alert.StopReason.ALL_CLEAR
    all_clear.refresh_from_db()
    assert all_clear.stopped_at is None

    # +5 min: the original's voice calls would ring; +15 min: its captain step would fire.
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        assert tasks.run_escalations.call()["voice"] == 0
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert tasks.run_escalations.call()["captain"] == 0
        messaging.dispatch()
    assert not Delivery.objects.filter(channel="voice").exists()
    assert not AlertRecipient.objects.exclude(captain_status="").exists()
    assert OutboxMessage.objects.count() == 4  # 2 activation texts, 2 all-clear texts


def test_correction_closes_captains_open_calls_with_a_note(client, personas, network):
    captain, responders = network
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        original = activation(personas)
        messaging.dispatch()
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        services.escalate_due()  # voice step
        counts = services.escalate_due()  # captain step
    assert counts["captain"] == 2
    open_calls = AlertRecipient.objects.filter(alert=original, captain=captain)
    assert set(open_calls.values_list("captain_status", flat=True)) == {"pending"}
    sign_in(client, captain)
    page = client.get(reverse("captain")).content.decode()
    assert "tel:+1213555018" in page

    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        follow_up(
            client,
            personas,
            original,
            Alert.Kind.CORRECTION,
            "Corrección: era la policía local.",
            "Correction: it was local police.",
        )
    assert set(open_calls.values_list("captain_status", flat=True)) == {"closed"}
    # The queued voice calls were cancelled, not made late.
    assert alert_rows(original, "voice").filter(status=DeliveryStatus.QUEUED).count() == 0
    assert alert_rows(original, "voice").filter(status=DeliveryStatus.CANCELLED).count() == 2

    sign_in(client, captain)
    page = client.get(reverse("captain")).content.decode()
    assert "tel:+1213555018" not in page
    assert "A correction was sent" in page and "Do not call for it" in page
    # A closed call cannot be reopened by marking it.
    recipient = open_calls.first()
    response = client.post(
        reverse("captain_mark", args=[recipient.pk]), {"status": "no_answer"}, follow=True
    )
    assert "This call is no longer needed: A correction was sent." in response.content.decode()
    recipient.refresh_from_db()
    assert recipient.captain_status == "closed"
    sign_in(client, personas.dispatcher)
    tree = client.get(reverse("alert_tree", args=[original.pk])).content.decode()
    assert "Closed: no longer needed: 2" in tree


def test_stopping_a_sent_alert_from_its_page_stops_its_escalation(client, personas, network):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        original = activation(personas)
        messaging.dispatch()
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        sign_in(client, personas.coordinator)
        page = client.get(reverse("alert_detail", args=[original.pk])).content.decode()
        assert "Stop escalation" in page
        response = client.post(reverse("alert_cancel", args=[original.pk]), follow=True)
        assert "The alert was stopped" in response.content.decode()
    original.refresh_from_db()
    assert original.status == Alert.Status.SENT  # what was sent stays sent
    assert original.stop_reason == Alert.StopReason.CANCELLED
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        assert services.escalate_due()["voice"] == 0
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert services.escalate_due()["captain"] == 0
    assert not Delivery.objects.filter(channel="voice").exists()
    page = client.get(reverse("alert_detail", args=[original.pk])).content.decode()
    assert "Stopped by a dispatcher" in page and "Stop escalation" not in page


def test_an_expired_alert_closes_its_captains_calls(client, personas, network):
    captain, _responders = network
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        alert = services.alert_create(
            actor=personas.dispatcher,
            kind=Alert.Kind.ACTIVATION,
            tiers=[Tier.RESPONDERS],
            messages={"es": "Activación.", "en": "Activation."},
            expires_at=start + timedelta(minutes=20),
        )
        services.alert_send(alert=alert, actor=personas.dispatcher)
        messaging.dispatch()
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        services.escalate_due()
        services.escalate_due()
    assert AlertRecipient.objects.filter(alert=alert, captain_status="pending").count() == 2
    with time_machine.travel(start + timedelta(minutes=21), tick=False):
        tasks.escalation_auditor.call_local()
    assert AlertRecipient.objects.filter(alert=alert, captain_status="closed").count() == 2
    alert.refresh_from_db()
    assert alert.stop_reason == Alert.StopReason.EXPIRED
    sign_in(client, captain)
    page = client.get(reverse("captain")).content.decode()
    assert "The alert expired" in page and "tel:" not in page


def test_an_all_clear_sent_while_a_runner_prepares_a_voice_step_wins(
    client, personas, network, monkeypatch
):
    """The runner has moved the recipients past the step (its conditional update) and is about
    to queue their calls when the all-clear commits: the calls are not queued."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        original = activation(personas)
        messaging.dispatch()
    real_contact_for = services._contact_for
    interleaved: list[Alert] = []

    def all_clear_meanwhile(sub, channel):
        if not interleaved:
            interleaved.append(
                follow_up(
                    client, personas, original, Alert.Kind.ALL_CLEAR, "Despejado.", "All clear."
                )
            )
        return real_contact_for(sub, channel)

    monkeypatch.setattr(escalation, "_contact_for", all_clear_meanwhile)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        counts = services.escalate_due()
    assert interleaved and counts["voice"] == 0
    assert not Delivery.objects.filter(channel="voice").exists()
