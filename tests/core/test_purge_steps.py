"""The emergency purge and retention run the steps each app registered (core.extensions), in
order: rows that point at people before the people."""

from __future__ import annotations

import pytest

from vecinos.core import extensions
from vecinos.messaging import services as messaging
from vecinos.messaging.models import ContactPoint, Delivery
from vecinos.purge import purge_everything_personal


def test_every_app_that_holds_people_registered_its_purge_step():
    names = [step.name for step in extensions.purge_steps()]
    assert names == [
        "mobilize",
        "messaging.deliveries",
        "transports.outbox",
        "alerts",
        "messaging.contacts",
        "reports",
        "onboarding.pending_members",
        "patrols",
        "network.sign_in_attempts",
        "network.members",
        "network.demo_credentials",
    ]
    retention = [step.name for step in extensions.retention_steps()]
    assert retention == [
        "messaging.bodies",
        "transports.bodies",
        "network.phone_changes",
        "onboarding.pending_members",
        "onboarding.unconfirmed_subscribers",
    ]


@pytest.mark.django_db
def test_the_purge_runs_messagings_own_step(personas):
    contact = messaging.contact_point(channel="sms", address="+12135550177")
    messaging.deliveries_enqueue(
        [
            messaging.DeliverySpec(
                purpose="verify", contact=contact, language="es", body="x", key="purge:1"
            )
        ]
    )
    counts = purge_everything_personal()
    assert counts["deliveries"] == 1 and counts["contacts"] >= 1
    assert not Delivery.objects.exists() and not ContactPoint.objects.exists()


@pytest.mark.django_db
def test_people_waiting_to_join_are_forgotten_after_30_days_and_by_the_purge(personas):
    from datetime import timedelta

    from django.utils import timezone

    from vecinos.onboarding import joining
    from vecinos.onboarding.models import PendingMember

    old = PendingMember.objects.create(
        organization=personas.org_a, phone="+12135550170", phone_index="a" * 64
    )
    PendingMember.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    PendingMember.objects.create(
        organization=personas.org_a, phone="+12135550171", phone_index="b" * 64, name="Ana"
    )
    assert joining.drop_expired() == {"pending_members": 1}
    assert PendingMember.objects.count() == 1
    assert purge_everything_personal()["pending_members"] == 1
    assert not PendingMember.objects.exists()
