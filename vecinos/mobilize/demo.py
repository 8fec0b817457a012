"""The demo's events: a public rally with places to take and a training, so a stranger can RSVP,
see the waitlist, check people in at the door, and edit or call an event off, by clicking.
Dates are days after the demo is loaded; everything is fictional (555-01XX numbers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from vecinos.mobilize import events
from vecinos.network import demo as network_demo
from vecinos.network.models import Member, Organization


def load_events(say: Callable[[str], None]) -> None:
    coordinator = Member.objects.get(username=network_demo.COORDINATOR)
    hosts = list(Organization.objects.order_by("pk")[:2])
    if not hosts:
        return
    day = timezone.localtime().replace(hour=17, minute=0, second=0, microsecond=0)
    rally = events.event_create(
        actor=coordinator,
        organization=hosts[0],
        kind="rally",
        titles={"es": "Marcha por las familias", "en": "March for families"},
        descriptions={
            "es": "Traigan agua, gorra y sus carteles. Hay observadores legales.",
            "en": "Bring water, a hat and your signs. Legal observers will be there.",
        },
        starts_at=day + timedelta(days=5),
        ends_at=day + timedelta(days=5, hours=2),
        place="Mariachi Plaza, Boyle Heights",
        capacity=5,
        accessibility="Step-free; seating by the stage.",
        hosts=hosts[1:],
    )
    for k, name in enumerate(("Lupe", "Marco", "Rosa")):
        events.rsvp_create(
            event=rally, nickname=name, phone=f"+1 626 555 01{k + 10:02d}", via="sms"
        )
    events.event_create(
        actor=coordinator,
        organization=hosts[0],
        kind="training",
        titles={"es": "Taller: conozca sus derechos", "en": "Know your rights training"},
        starts_at=day + timedelta(days=9, hours=1),
        ends_at=day + timedelta(days=9, hours=3),
        place="Biblioteca Benjamin Franklin, 2200 E 1st St",
        capacity=30,
        trainer=coordinator,
    )
    say("Events: a public rally (5 places, 3 taken) and a know-your-rights training.")
