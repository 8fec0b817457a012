"""Pinned query counts: an alert's fan-out and an escalation step ask the database the same
number of times for N recipients as for 3N (the fan-out once ran one roles query per
responder). A change that adds a query per person fails here, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import make_member
from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, Tier
from vecinos.messaging.models import Delivery
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting
from vecinos.transports import registry

pytestmark = pytest.mark.django_db

N = 4
# Generous for one fan-out or one escalation run, and far below one query per person at 3N.
MOST = 40


@pytest.fixture(autouse=True)
def _fresh():
    registry.reset()
    yield
    registry.reset()


def _responders(personas, start: int, count: int) -> None:
    for i in range(start, start + count):
        member = make_member(
            f"qc{i}",
            org=personas.org_a,
            roles=(Role.RESPONDER,),
            tier=Vetting.VOUCHED,
            phone=f"+121355502{i:02d}",
        )
        services.ensure_member_subscriber(member)


def _send(personas) -> tuple[Alert, int]:
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ACTIVATION,
        tiers=[Tier.RESPONDERS],
        messages={"es": "Activación: vayan a observar.", "en": "Activation: go observe."},
    )
    with CaptureQueriesContext(connection) as queries:
        alert = services.alert_send(alert=alert, actor=personas.dispatcher)
    assert alert.status == Alert.Status.SENT
    return alert, len(queries)


def _escalate() -> tuple[dict[str, int], int]:
    with CaptureQueriesContext(connection) as queries:
        counts = services.escalate_due()
    return counts, len(queries)


def test_fan_out_and_escalation_step_do_not_grow_with_recipients(personas):
    start = timezone.now()
    _responders(personas, 0, N)
    with time_machine.travel(start, tick=False):
        warm_up, _queries = _send(personas)  # the organization's budget row, caches
        services.alert_cancel(alert=warm_up, actor=personas.dispatcher)
        small, small_queries = _send(personas)
    assert AlertRecipient.objects.filter(alert=small).count() == N
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        steps, small_step_queries = _escalate()
    assert steps["voice"] == N
    with time_machine.travel(start + timedelta(minutes=7), tick=False):
        services.alert_cancel(alert=small, actor=personas.dispatcher)  # no captain step later
    _responders(personas, N, 2 * N)
    with time_machine.travel(start + timedelta(minutes=8), tick=False):
        large, large_queries = _send(personas)
    assert AlertRecipient.objects.filter(alert=large).count() == 3 * N
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        steps, large_step_queries = _escalate()
    assert steps["voice"] == 3 * N
    assert Delivery.objects.filter(ref_id=large.pk, channel="voice").count() == 3 * N
    assert small_queries == large_queries <= MOST, (small_queries, large_queries)
    assert small_step_queries == large_step_queries <= MOST, (
        small_step_queries,
        large_step_queries,
    )
