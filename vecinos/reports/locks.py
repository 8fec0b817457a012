"""An incident's edit lock (one dispatcher at a time; a coordinator may break it) and the writer
of its timeline events."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from vecinos.network import selectors
from vecinos.network.models import Member
from vecinos.reports.errors import LockedByOther, NotAllowed
from vecinos.reports.models import (
    Incident,
    IncidentEvent,
)

LOCK_MINUTES = 5


def add_event(incident: Incident, kind: str, actor: Member | None = None, **detail) -> None:
    IncidentEvent.objects.create(incident=incident, kind=kind, actor=actor, detail=detail)


def lock_check(*, incident: Incident, actor: Member) -> None:
    if (
        incident.lock_holder_id
        and incident.lock_holder_id != actor.pk
        and incident.lock_until
        and incident.lock_until > timezone.now()
    ):
        raise LockedByOther(incident.lock_holder, incident.lock_until)


@transaction.atomic
def lock_acquire(*, incident: Incident, actor: Member) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    lock_check(incident=incident, actor=actor)
    incident.lock_holder = actor
    incident.lock_until = timezone.now() + timedelta(minutes=LOCK_MINUTES)
    incident.save(update_fields=["lock_holder", "lock_until"])
    return incident


def lock_release(*, incident: Incident, actor: Member) -> None:
    Incident.objects.filter(pk=incident.pk, lock_holder=actor).update(
        lock_holder=None, lock_until=None
    )


@transaction.atomic
def lock_break(*, incident: Incident, actor: Member) -> None:

    if not selectors.is_coordinator(actor):
        raise NotAllowed
    holder = incident.lock_holder_id
    Incident.objects.filter(pk=incident.pk).update(lock_holder=None, lock_until=None)
    add_event(incident, "lock_broken", actor, holder=holder)
