"""The demo's events: a public rally with places to take and a training, so a stranger can RSVP,
see the waitlist, check people in at the door, and edit or call an event off, by clicking; and a
call-out already sent to the responders near Boyle Heights, so its board (who is coming, the
guidance in each language, the texts to send) can be seen without making one first. Dates are
days after the demo is loaded; everything is fictional (555-01XX numbers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from vecinos.alerts.models import Tier
from vecinos.mobilize import events, services
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


def load_callout(say: Callable[[str], None]) -> None:
    dispatcher = Member.objects.filter(username=network_demo.DISPATCHER).first()
    if dispatcher is None or not services.can_activate(dispatcher):
        return
    activation = services.activation_create(
        actor=dispatcher,
        staging_point="Mariachi Plaza, 1831 E 1st St",
        needed_by=timezone.now() + timedelta(minutes=45),
        roles={"observer": 2, "driver": 1},
        tiers=[Tier.RESPONDERS],
        guidance={
            "es": "Lleguen en parejas. Observen y documenten desde la banqueta; no interfieran.",
            "en": "Come in pairs. Observe and document from the sidewalk; do not interfere.",
        },
        point=(34.0471, -118.2199),
        radius_m=8000,
    )
    services.activation_send(activation=activation, actor=dispatcher)
    say("Call-outs: 2 legal observers and a driver asked to Mariachi Plaza (responders).")
