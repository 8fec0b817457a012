"""The alert pipeline through its services: targeting, two-person rule, fan-out, ack,
escalation to voice and to a captain, and follow-ups to exactly the original recipients."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.conftest import make_member
from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, Subscriber, Tier
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

BOYLE = (34.0407, -118.2110)
FAR = (34.1478, -118.1445)  # Pasadena, ~15 km away


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def public(phone, point, language="es"):
    return services.subscribe(
        phone=phone, language=language, point=point, radius_m=1000, confirmed=True
    )


@pytest.mark.django_db
def test_public_alert_needs_a_second_person_and_reaches_only_the_area(personas):
    near_es = public("+12135550160", BOYLE, "es")
    near_en = public("+12135550161", (BOYLE[0] + 0.005, BOYLE[1]), "en")
    public("+12135550162", FAR)
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.PUBLIC],
        messages={"es": "Operativo confirmado en Boyle Heights.", "en": "Confirmed operation."},
        point=BOYLE,
        radius_m=2000,
    )
    alert = services.alert_send(alert=alert, actor=personas.dispatcher)
    assert alert.status == Alert.Status.PENDING
    assert not Delivery.objects.filter(ref_type="alert").exists()
    with pytest.raises(services.NotAllowed):
        services.alert_approve(alert=alert, actor=personas.dispatcher)
    alert = services.alert_approve(alert=alert, actor=personas.coalition)
    assert alert.status == Alert.Status.SENT
    got = {r.subscriber_id: r.language for r in AlertRecipient.objects.filter(alert=alert)}
    assert got == {near_es.pk: "es", near_en.pk: "en"}
    messaging.dispatch()
    bodies = {m.address: m.body for m in OutboxMessage.objects.all()}
    assert bodies["+12135550160"].startswith("Operativo confirmado")
    assert bodies["+12135550161"].startswith("Confirmed operation.")
    assert "/a/" in bodies["+12135550161"]


@pytest.mark.django_db
def test_stop_wins_and_ack_stops_escalation_and_captain_reaches_the_rest(personas):
    captain = make_member(
        "captain", org=personas.org_a, roles=(Role.CAPTAIN,), tier=Vetting.VOUCHED
    )
    responders = [
        make_member(
            f"resp{i}",
            org=personas.org_a,
            roles=(Role.RESPONDER,),
            tier=Vetting.VOUCHED,
            phone=f"+1213555017{i}",
        )
        for i in range(3)
    ]
    for member in responders:
        services.ensure_member_subscriber(member)
    services.opt_out(index=Subscriber.objects.get(member=responders[2]).phone_index)
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ACTIVATION,
        tiers=[Tier.RESPONDERS],
        messages={"es": "Activación: vayan a observar.", "en": "Activation: go observe."},
    )
    sent_at = timezone.now()
    services.alert_send(alert=alert, actor=personas.dispatcher)  # internal tier: no approval
    recipients = {r.subscriber.member_id: r for r in AlertRecipient.objects.filter(alert=alert)}
    assert set(recipients) == {responders[0].pk, responders[1].pk}
    messaging.dispatch()
    # responder 0 replies "1"
    acked = services.acknowledge_by_phone(index=recipients[responders[0].pk].subscriber.phone_index)
    assert acked is not None and acked.pk == recipients[responders[0].pk].pk
    with time_machine.travel(sent_at + timedelta(minutes=6), tick=False):
        counts = services.escalate_due()
    assert counts["voice"] == 1
    voice = Delivery.objects.get(channel="voice")
    assert voice.ref_item == recipients[responders[1].pk].pk
    with time_machine.travel(sent_at + timedelta(minutes=16), tick=False):
        assert services.escalate_due()["captain"] == 1
        assert services.escalate_due()["captain"] == 0  # a step runs once
    late = AlertRecipient.objects.get(pk=recipients[responders[1].pk].pk)
    assert late.captain == captain
    assert list(services.captain_queue(captain)) == [late]
    services.captain_mark(recipient=late, captain=captain, status="reached")
    assert AlertRecipient.objects.get(pk=late.pk).acknowledged_at is not None
    # The all-clear goes to exactly the original recipients, even after tiers change.
    all_clear = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ALL_CLEAR,
        tiers=[Tier.INTERNAL],
        messages={"es": "Todo despejado.", "en": "All clear."},
        parent=alert,
    )
    services.alert_send(alert=all_clear, actor=personas.dispatcher)
    assert set(
        AlertRecipient.objects.filter(alert=all_clear).values_list("subscriber_id", flat=True)
    ) == {r.subscriber_id for r in recipients.values()}


@pytest.mark.django_db
def test_bad_alerts_get_clear_errors(personas):
    with pytest.raises(services.AlertError) as err:
        services.alert_create(
            actor=personas.dispatcher,
            kind="sighting",
            tiers=[Tier.PUBLIC],
            messages={"es": "Hola {area}"},
        )
    assert {"target", "message_es"} <= set(err.value.errors)
    with pytest.raises(services.NotAllowed):
        services.alert_create(
            actor=personas.newcomer, kind="notice", tiers=[Tier.INTERNAL], messages={"es": "x"}
        )


@pytest.mark.django_db
def test_throttle_holds_back_the_seventh_alert_in_an_hour_but_not_all_clears(personas):
    sub = public("+12135550163", BOYLE)
    for i in range(7):
        alert = services.alert_create(
            actor=personas.coalition,
            kind="notice",
            tiers=[Tier.PUBLIC],
            messages={"es": f"Aviso {i}"},
            point=BOYLE,
            radius_m=1000,
        )
        alert = services.alert_send(alert=alert, actor=personas.coalition)
        services.alert_approve(alert=alert, actor=personas.dispatcher)
    assert AlertRecipient.objects.filter(subscriber=sub).count() == 6
    assert Delivery.objects.filter(status=DeliveryStatus.QUEUED).count() == 6


@pytest.mark.django_db
def test_large_selection_leaves_out_stopped_and_opted_out_people():
    keep = public("+12135550164", BOYLE)
    stopped = public("+12135550165", BOYLE)
    opted = public("+12135550166", BOYLE)
    Subscriber.objects.filter(pk=stopped.pk).update(status=Subscriber.Status.STOPPED)
    from vecinos.alerts.models import OptOut

    OptOut.objects.create(phone_index=opted.phone_index)
    out = services._stopped_large([keep.pk, stopped.pk, opted.pk])
    assert out >= {stopped.pk, opted.pk} and keep.pk not in out
