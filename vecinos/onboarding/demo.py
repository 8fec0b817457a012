"""Day one of the demo coalition: what makes every journey work from `vecinos serve`.

Report -> console -> verifier -> confirm -> alert -> approve -> deliver -> acknowledge ->
all-clear needs people to reach: public subscribers in every demo zone, members with an alert
area, a dispatcher and a verifier on duty (refreshed each time the server starts, since duty
ends), and the staff accounts' two-factor devices (their current code is shown on a demo-only
banner, never in production). Everything is fictional: numbers in the 555-01XX ranges.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from vecinos.alerts import services as alert_services
from vecinos.alerts.models import Alert, CaptainAssignment, Subscriber, SubscriptionArea
from vecinos.alerts.models import Tier as Audience
from vecinos.core import coalition
from vecinos.core.models import CoalitionSettings
from vecinos.network import demo as network_demo
from vecinos.network.models import (
    Member,
    Membership,
    Organization,
    Role,
    Tier,
    Training,
    Vouch,
    Zone,
)
from vecinos.network.phones import normalize_phone, phone_index
from vecinos.reports.models import OnDuty

VERIFIER = "verifier"
# An organization's coordinator and nothing more (outside walk, session 19: with only the
# coalition's coordinator, nobody could try what an organization's coordinator meets: a
# second reading of the rights library, the day's import limit, alerts waiting for a second
# person).
ORG_COORDINATOR = "orgcoordinator"
ORG_COORDINATOR_ORG = "jacaranda"
# A phone-tree captain with people of their own to call (outside walk, session 19: the phone
# tree could not be tried in the demo, no captain signed in and no alert had reached one).
CAPTAIN = "captain"
STAFF = (network_demo.COORDINATOR, network_demo.DISPATCHER, VERIFIER, ORG_COORDINATOR, CAPTAIN)
TREE_PEOPLE = 3
SUBSCRIBERS_PER_ZONE = 3
DUTY_HOURS = 12

COALITION = {
    "name": "Red Vecinal de Los Ángeles (demo)",
    "short_name": "RVLA",
    "hotline": {"default": "+12135550100", "es": "+12135550100", "en": "+13235550100"},
    "public_contact": "hola@example.org",
    "accent_color": "#0b5d4b",
    "languages": ["es", "en", "zap", "ko", "tl"],
    "time_zone": "America/Los_Angeles",
}


def is_demo_account(member: Member) -> bool:
    """A demo staff account in a development data directory (never in production)."""
    if settings.PRODUCTION or not member.is_authenticated:
        return False
    return member.username in network_demo.read_credentials()


def demo_loaded() -> bool:
    return Member.objects.filter(username=network_demo.COORDINATOR).exists()


def _first_org_short() -> str:
    return network_demo.ORGANIZATIONS[0][1]


def load_day_one(say: Callable[[str], None]) -> dict[str, str]:
    rng = random.Random(network_demo.SEED + 11)
    CoalitionSettings.objects.update_or_create(pk=1, defaults=COALITION)
    transaction.on_commit(coalition.invalidate)

    # A demo verifier who can sign in (to see "My requests"), in the first organization.
    _verifier, password = _account(
        VERIFIER, "Demo Verifier", "+1 310 555 0100", _first_org_short(), Role.VERIFIER
    )

    # Public subscribers in every zone (numbers in area codes the members do not use).
    zones = list(Zone.objects.order_by("pk"))
    pool = [f"+1 {area} 555 01{i:02d}" for area in (424, 747, 909, 951) for i in range(100)]
    rng.shuffle(pool)
    public = 0
    for zone in zones:
        for _ in range(SUBSCRIBERS_PER_ZONE):
            alert_services.subscribe(
                phone=pool.pop(),
                language=rng.choice(["es", "es", "en"]),
                zone=zone,
                label=zone.name[:40],
                source="demo",
                confirmed=True,
            )
            public += 1

    # Members: reachable on their phone, with an alert area in their organization's zone.
    zone_of_org: dict[int, Zone] = {}
    for zone in zones:
        if zone.organization_id is not None:
            zone_of_org.setdefault(zone.organization_id, zone)
    areas = 0
    org_of = dict(
        Membership.objects.order_by("member_id", "pk").values_list("member_id", "organization_id")
    )
    for member in Member.objects.exclude(phone_index=""):
        sub = alert_services.ensure_member_subscriber(member)
        area = zone_of_org.get(org_of.get(member.pk, 0)) or (zones[0] if zones else None)
        if sub is not None and area is not None:
            SubscriptionArea.objects.create(subscriber=sub, zone=area, label=area.name[:40])
            areas += 1
    say(f"Alerts: {public} public subscribers in {len(zones)} zones, {areas} member alert areas.")
    refresh_duty()
    _captain, captain_password = _account(
        CAPTAIN, "Demo Captain", "+1 310 555 0102", _first_org_short(), Role.CAPTAIN
    )
    credentials = {
        VERIFIER: password,
        ORG_COORDINATOR: _org_coordinator(),
        CAPTAIN: captain_password,
    }
    _staff_devices()
    return credentials


def load_phone_tree(say: Callable[[str], None]) -> None:
    """A practice alert to the responders that nobody answered for 16 minutes: its texts, its
    calls, and the phone tree's step, with three people on the demo captain's own list. Run
    through the escalation's own steps (at the times they would run), so the captain's page,
    the alert's progress and the phone simulator show what a real one does."""
    captain = Member.objects.filter(username=CAPTAIN).first()
    dispatcher = Member.objects.filter(username=network_demo.DISPATCHER).first()
    if captain is None or dispatcher is None or not alert_services.can_alert(dispatcher):
        return
    organization = Organization.objects.get(short_name=_first_org_short())
    people = (
        Subscriber.objects.filter(
            member__memberships__organization=organization,
            member__memberships__role=Role.RESPONDER,
        )
        .exclude(member=captain)
        .distinct()
        .order_by("pk")[:TREE_PEOPLE]
    )
    for subscriber in people:
        CaptainAssignment.objects.get_or_create(
            subscriber=subscriber, organization=organization, defaults={"captain": captain}
        )
    alert = alert_services.alert_create(
        actor=dispatcher,
        kind=Alert.Kind.NOTICE,
        tiers=[Audience.RESPONDERS],
        messages={
            "es": "PRÁCTICA de la red de llamadas, no es una alerta real. Responda 1 al recibirla.",
            "en": "Phone tree PRACTICE, not a real alert. Reply 1 when you get it.",
        },
    )
    alert = alert_services.alert_send(alert=alert, actor=dispatcher)
    if alert.sent_at is None:
        return
    # Each step when it would run: the call after 5 minutes, the phone tree after 15.
    for minutes in (6, 16):
        alert_services.escalate_due(now=alert.sent_at + timedelta(minutes=minutes))
    calls = alert_services.captain_queue(captain).count()
    say(f"Phone tree: a practice alert to responders, {calls} people for the demo captain to call.")


def _account(username: str, name: str, phone: str, org: str, role: str) -> tuple[Member, str]:
    """A trained demo account that signs in (Spanish and English), with one role in one
    organization; and its password."""
    password = secrets.token_urlsafe(9)
    person = Member(
        username=username,
        full_name=name,
        phone=normalize_phone(phone),
        tier=Tier.TRAINED,
        preferred_language="es",
        languages=["es", "en"],
    )
    person.phone_index = phone_index(person.phone)
    person.set_password(password)
    person.save()
    organization = Organization.objects.get(short_name=org)
    Membership.objects.create(member=person, organization=organization, role=role)
    return person, password


def _org_coordinator() -> str:
    """The demo's organization's coordinator, vouched for and trained by the coalition's other
    founder: independent of the demo coordinator (each may review the other's rights edits)."""
    person, password = _account(
        ORG_COORDINATOR,
        "Demo Organization Coordinator",
        "+1 310 555 0101",
        ORG_COORDINATOR_ORG,
        Role.ORG_COORDINATOR,
    )
    founder = (
        Member.objects.filter(memberships__role=Role.COALITION_COORDINATOR)
        .exclude(username=network_demo.COORDINATOR)
        .order_by("pk")
        .first()
    )
    if founder is not None:
        Vouch.objects.create(member=person, voucher=founder, voucher_was_coordinator=True)
        Training.objects.create(
            member=person,
            recorded_by=founder,
            topic="Coordinating an organization",
            completed_on=timezone.localdate() - timedelta(days=30),
        )
    return password


def refresh_duty() -> None:
    """The demo dispatcher and verifier are on duty for the next hours (duty ends: renewed at
    every start of `vecinos serve`)."""
    until = timezone.now() + timedelta(hours=DUTY_HOURS)
    zone = Zone.objects.order_by("pk").first()
    lat, lng = (zone.center_lat, zone.center_lng) if zone else (None, None)
    for username, role in ((network_demo.DISPATCHER, "dispatcher"), (VERIFIER, "verifier")):
        member = Member.objects.filter(username=username).first()
        if member is not None:
            OnDuty.objects.update_or_create(
                member=member, role=role, defaults={"until": until, "lat": lat, "lng": lng}
            )


def _staff_devices() -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    for member in Member.objects.filter(username__in=STAFF):
        TOTPDevice.objects.get_or_create(user=member, name="demo", defaults={"confirmed": True})


def current_code(member: Member) -> str:
    """The demo account's TOTP code that the two-step page accepts now (for the demo-only
    banner), or "".

    django-otp refuses a code of a time step at or before the last one used (``last_t``: a
    code works once) and accepts one up to ``tolerance`` steps ahead. After a sign-in in this
    same step, the current step's code was used: the banner shows the next step's instead."""
    if not is_demo_account(member):
        return ""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=member, name="demo", confirmed=True).first()
    if device is None:
        return ""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    now = totp.t()
    step = max(now, device.last_t + 1)
    if step - now > device.tolerance:
        return ""  # none would be accepted before the next step
    totp.drift = device.drift + (step - now)
    return f"{totp.token():0{device.digits}d}"


def refresh_if_loaded() -> None:
    if not settings.PRODUCTION and demo_loaded():
        with transaction.atomic():
            refresh_duty()
