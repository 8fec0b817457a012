"""Reminders the day before and one hour before, through messaging deliveries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import make_member
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery
from vecinos.network.models import Role
from vecinos.patrols import services
from vecinos.patrols.models import Place, Shift
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage


@pytest.mark.django_db
def test_reminders_go_once_per_window_in_each_persons_language(personas):
    registry.reset()
    place = Place.objects.create(
        name="Escuela Primaria Los Robles",
        kind="school",
        lat=34.04,
        lng=-118.21,
        organization=personas.org_a,
    )
    now = timezone.now()
    tomorrow = Shift.objects.create(
        place=place, starts_at=now + timedelta(hours=24), ends_at=now + timedelta(hours=25)
    )
    soon = Shift.objects.create(
        place=place, starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2)
    )
    later = Shift.objects.create(
        place=place, starts_at=now + timedelta(hours=5), ends_at=now + timedelta(hours=6)
    )
    ana = make_member(
        "ana",
        org=personas.org_a,
        roles=(Role.PATROL,),
        phone="+12135550181",
        preferred_language="es",
    )
    bob = make_member(
        "bob",
        org=personas.org_a,
        roles=(Role.PATROL,),
        phone="+12135550182",
        preferred_language="en",
    )
    services.signup(shift=tomorrow, member=ana)
    services.signup(shift=soon, member=bob)
    services.signup(shift=later, member=ana)

    assert services.send_reminders(now=now) == 2
    services.send_reminders(now=now)  # a second run in the same window sends nothing new
    assert Delivery.objects.filter(purpose="reminder").count() == 2
    messaging.dispatch()
    bodies = {m.address: m.body for m in OutboxMessage.objects.all()}
    assert (
        "Los Robles" in bodies["+12135550181"] and "recordatorio" in bodies["+12135550181"].lower()
    )
    assert "reminder" in bodies["+12135550182"].lower()
