"""Pinned query counts on the mobilize pages that list rows and are not pinned elsewhere: a
call-out's page (the turnout board with named answers, and the messages sent), its board
fragment, an event's public page (hosts, places left) and the public events feed. Each asks the
database as often with N rows as with 3N (tests/querycount.py). The call-out list, the events list
and the door list are in tests/core/test_query_counts.py."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_member, sign_in
from tests.querycount import assert_flat
from vecinos.alerts import services as alert_services
from vecinos.alerts.models import Tier
from vecinos.mobilize import events, replies, services
from vecinos.mobilize.models import Activation, Response
from vecinos.network.models import Organization, Role
from vecinos.network.models import Tier as Vetting
from vecinos.transports import registry

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def _responders(personas, n: int) -> None:
    for _ in range(n):
        k = next(_seq)
        member = make_member(
            f"qcmob{k}",
            org=personas.org_a,
            roles=(Role.RESPONDER,),
            tier=Vetting.VOUCHED,
            phone=f"+1213554{k:04d}",
        )
        alert_services.ensure_member_subscriber(member)


def _callout(personas, n: int) -> tuple[Activation, str]:
    """A call-out to every responder so far, n of them answering "coming", then n messages."""
    activation = services.activation_create(
        actor=personas.dispatcher,
        staging_point="Mariachi Plaza, east side",
        needed_by=timezone.now() + timedelta(minutes=30),
        roles={"observer": 50, "presence": 50},
        tiers=[Tier.RESPONDERS],
    )
    activation = services.activation_send(activation=activation, actor=personas.dispatcher)
    name = ""
    answers = Response.objects.filter(activation=activation).select_related("member")
    for response in answers.order_by("-pk")[:n]:
        replies.respond(response=response, answer="coming", via="sms", eta_minutes=10)
        name = response.member.username
    for i in range(n):
        services.message_send(
            activation=activation,
            actor=personas.dispatcher,
            audience="coming",
            texts={"en": f"Update {i}: park on 1st St.", "es": f"Aviso {i}: estacionen en 1st."},
        )
    return activation, name


def test_callout_page(personas):
    client = sign_in(Client(), personas.dispatcher)

    def build(n: int) -> tuple[str, str]:
        _responders(personas, n)
        activation, name = _callout(personas, n)
        return reverse("callout_detail", args=[activation.pk]), name

    assert_flat(client, build)


def test_callout_board_fragment(personas):
    client = sign_in(Client(), personas.dispatcher)

    def build(n: int) -> tuple[str, str]:
        _responders(personas, n)
        activation, name = _callout(personas, n)
        return reverse("callout_board", args=[activation.pk]), name

    assert_flat(client, build, HTTP_HX_REQUEST="true")


def _event(personas, title: str, hosts: list[Organization]):
    start = timezone.now() + timedelta(days=3)
    return events.event_create(
        actor=personas.coalition,
        organization=personas.org_a,
        kind="rally",
        titles={"en": title, "es": title},
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="City Hall steps",
        capacity=500,
        hosts=hosts,
    )


def test_event_page_hosts_and_rsvps(personas):
    client = Client()
    hosts: list[Organization] = []

    def build(n: int) -> tuple[str, str]:
        for _ in range(n):
            k = next(_seq)
            hosts.append(Organization.objects.create(name=f"QC Host {k}", short_name=f"qch-{k}"))
        event = _event(personas, f"QC rally {next(_seq)}", hosts)
        for _ in range(n * 2):
            events.rsvp_create(event=event, nickname="Ana", phone=f"+1213553{next(_seq):04d}")
        return reverse("event_detail", args=[event.pk]) + "?lang=en", hosts[-1].name

    assert_flat(client, build)


def test_public_events_feed(personas):
    client = Client()

    def build(n: int) -> tuple[str, str]:
        title = ""
        for _ in range(n):
            title = f"QC rally {next(_seq)}"
            _event(personas, title, [personas.org_b])
        return reverse("event_feed") + "?lang=en", title

    assert_flat(client, build)


def test_new_event_page_lists_the_coordinators_events(personas):
    client = sign_in(Client(), personas.coordinator)

    def build(n: int) -> tuple[str, str]:
        event = None
        for _ in range(n):
            start = timezone.now() + timedelta(days=next(_seq))
            event = events.event_create(
                actor=personas.coordinator,
                organization=personas.org_a,
                kind="rally",
                titles={"en": "QC rally", "es": "QC marcha"},
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                place="City Hall steps",
            )
        assert event is not None
        return reverse("event_new"), reverse("event_door", args=[event.pk])

    assert_flat(client, build)
