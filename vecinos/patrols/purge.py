"""The emergency purge's patrols step: who signed up, logs, calendar feeds, place notes."""

from __future__ import annotations

from vecinos.patrols.models import CalendarFeed, PatrolLogEntry, Place, Signup


def purge_personal() -> dict[str, int]:
    PatrolLogEntry.objects.all().delete()
    Signup.objects.all().delete()
    CalendarFeed.objects.all().delete()
    Place.objects.update(notes="")
    return {}
