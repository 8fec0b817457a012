"""Pinned query counts on the alert pages that list rows: an alert's detail (draft, waiting for
approval, sent), the phone tree, the stop list, a member's areas and received alerts and the Atom
feed. Each asks the database as often with N rows as with 3N
(tests/querycount.py). The alert list, the outbox and the captain page are in
tests/core/test_query_counts.py; the progress fragment in test_alert_pages."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import make_member, sign_in
from tests.querycount import assert_flat
from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, OptOut, Tier
from vecinos.messaging import services as messaging
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting
from vecinos.network.phones import phone_index
from vecinos.transports import registry

pytestmark = pytest.mark.django_db

BOYLE = (34.0407, -118.2110)
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def _responders(personas, n: int) -> str:
    name = ""
    for _ in range(n):
        k = next(_seq)
        name = f"qcr{k}"
        member = make_member(
            name,
            org=personas.org_a,
            roles=(Role.RESPONDER,),
            tier=Vetting.VOUCHED,
            phone=f"+1213557{k:04d}",
        )
        services.ensure_member_subscriber(member)
    return name


def _public(n: int) -> str:
    phone = ""
    for _ in range(n):
        k = next(_seq)
        phone = f"+1323557{k:04d}"
        services.subscribe(
            phone=phone,
            language="es" if k % 2 else "en",
            point=BOYLE,
            radius_m=1000,
            confirmed=True,
        )
    return phone


def _responders_alert(personas) -> Alert:
    return services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ACTIVATION,
        tiers=[Tier.RESPONDERS],
        messages={"es": "Vayan a observar.", "en": "Go observe."},
    )


def _public_alert(personas) -> Alert:
    return services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.PUBLIC],
        messages={"es": "Operativo confirmado.", "en": "Confirmed operation."},
        point=BOYLE,
        radius_m=2000,
        area_label="Boyle Heights",
    )


def test_sent_alert_detail(personas):
    client = sign_in(Client(), personas.dispatcher)

    def build(n: int) -> tuple[str, str]:
        newest = _responders(personas, n)
        alert = services.alert_send(alert=_responders_alert(personas), actor=personas.dispatcher)
        return reverse("alert_detail", args=[alert.pk]), newest  # in the "not reached" list

    assert_flat(client, build)


def test_draft_alert_detail_with_its_language_rows(personas):
    client = sign_in(Client(), personas.dispatcher)

    def build(n: int) -> tuple[str, str]:
        _public(n)
        alert = _public_alert(personas)
        reach = len(services.select_recipients(alert))
        assert reach >= n
        return reverse("alert_detail", args=[alert.pk]), f"would reach {reach} people"

    assert_flat(client, build)


def test_alert_waiting_for_approval(personas):
    client = sign_in(Client(), personas.coordinator)

    def build(n: int) -> tuple[str, str]:
        _public(n)
        alert = services.alert_send(alert=_public_alert(personas), actor=personas.dispatcher)
        assert alert.status == Alert.Status.PENDING
        return reverse("alert_detail", args=[alert.pk]), "Confirmed operation."

    assert_flat(client, build)


def test_phone_tree(personas):
    client = sign_in(Client(), personas.dispatcher)
    captain = make_member(
        "qc.captain", org=personas.org_a, roles=(Role.CAPTAIN,), tier=Vetting.VOUCHED
    )
    alert_of: dict[str, Alert] = {}

    def build(n: int) -> tuple[str, str]:
        newest = _responders(personas, n)
        if "alert" in alert_of:
            services.alert_cancel(alert=alert_of["alert"], actor=personas.dispatcher)
        alert = services.alert_send(alert=_responders_alert(personas), actor=personas.dispatcher)
        alert_of["alert"] = alert
        AlertRecipient.objects.filter(alert=alert).update(
            captain=captain, captain_status=AlertRecipient.CaptainStatus.PENDING
        )
        return reverse("alert_tree", args=[alert.pk]), newest

    assert_flat(client, build)


def test_stop_list(personas):
    client = sign_in(Client(), personas.coalition)
    sources = itertools.cycle(["sms", "import", "web"])

    def build(n: int) -> tuple[str, str]:
        for _ in range(n):
            OptOut.objects.create(
                phone_index=phone_index(f"+1213558{next(_seq):04d}"), source=next(sources)
            )
        return reverse("optouts"), f"{OptOut.objects.count()} numbers are on the stop list"

    assert_flat(client, build)


def test_my_alert_areas(personas):
    member = personas.verifier
    client = sign_in(Client(), member)
    sub = services.ensure_member_subscriber(member)
    assert sub is not None

    def build(n: int) -> tuple[str, str]:
        label = ""
        for _ in range(n):
            k = next(_seq)
            label = "work" if k % 2 else "home"
            services.subscribe(
                phone=sub.phone,
                member=member,
                language=sub.language,
                channels=sub.channels,
                point=(BOYLE[0] + k / 100, BOYLE[1]),
                radius_m=500,
                label=label,
                source="member",
                confirmed=True,
            )
        return reverse("my_subscriptions"), f'action="/me/alerts/areas/{sub.areas.last().pk}/'

    assert_flat(client, build)


def test_my_received_alerts(personas):
    member = make_member(
        "qc.receiver",
        org=personas.org_a,
        roles=(Role.RESPONDER,),
        tier=Vetting.VOUCHED,
        phone="+12135559999",
    )
    services.ensure_member_subscriber(member)
    client = sign_in(Client(), member)

    def build(n: int) -> tuple[str, str]:
        text = ""
        for _ in range(n):
            text = f"Go observe, corner {next(_seq)}."
            alert = services.alert_create(
                actor=personas.dispatcher,
                kind=Alert.Kind.ACTIVATION,
                tiers=[Tier.RESPONDERS],
                messages={"es": text, "en": text},
            )
            services.alert_send(alert=alert, actor=personas.dispatcher)
        messaging.dispatch()
        return reverse("my_alerts"), text

    assert_flat(client, build)


def test_atom_feed(personas):
    client = Client()
    _public(1)

    def build(n: int) -> tuple[str, str]:
        alert = None
        for _ in range(n):
            alert = services.alert_send(alert=_public_alert(personas), actor=personas.dispatcher)
            alert = services.alert_approve(alert=alert, actor=personas.coordinator)
        assert alert is not None and alert.status == Alert.Status.SENT
        return reverse("cap_feed"), reverse("cap_alert", args=[alert.pk])

    assert_flat(client, build)
