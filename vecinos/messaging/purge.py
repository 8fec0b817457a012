"""Messaging's purge and retention steps (registered in MessagingConfig.ready)."""

from __future__ import annotations

from datetime import datetime

from vecinos.messaging.models import ContactPoint, Delivery


def purge_deliveries() -> dict[str, int]:
    """Emergency purge, first: every delivery names a contact and often a place."""
    return {"deliveries": Delivery.objects.all().delete()[0]}


def purge_contacts() -> dict[str, int]:
    """Emergency purge, after the apps whose rows point at contact points (subscribers)."""
    return {"contacts": ContactPoint.objects.all().delete()[0]}


def empty_old_bodies(cutoff: datetime) -> dict[str, int]:
    """Retention: message bodies can carry places and signed links (verification requests);
    they follow the same retention as the reports they were about."""
    emptied = Delivery.objects.filter(created_at__lt=cutoff).exclude(body="").update(body="")
    return {"message_bodies": emptied}
