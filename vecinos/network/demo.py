"""Demo data: a fictional coalition to click through, loaded by ``manage.py demo``.

Every organization, school and person here is invented; the numbers are in the 555-01XX ranges
reserved for fiction and the emails use example.org. Neighborhood outlines are rough shapes
around real Los Angeles neighborhoods so the map looks familiar.

Loading is idempotent: if the demo coordinator exists, nothing is written and the credentials
saved in ``DATA_DIR/demo-credentials.json`` are returned. Only the three demo accounts
(coordinator, dispatcher, newcomer) can sign in; every other demo member shares one hash of a
random password nobody knows (hashing ~200 Argon2 passwords would take ~10 s).

The coalition has two founders whom nobody vetted: the demo coordinator and the coordinator of
Comité Los Girasoles, both coalition coordinators. The demo dispatcher was vouched for and
trained by the second one, so the two demo accounts can approve each other's public alerts
(someone the author alone vetted is not a second person).
"""

from __future__ import annotations

import functools
import json
import os
import random
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from vecinos.core import extensions, geo
from vecinos.core.audit import audit
from vecinos.network.models import (
    Member,
    Membership,
    Organization,
    Role,
    Tier,
    Training,
    Vouch,
    Zone,
    ZoneKind,
)
from vecinos.network.phones import email_index, normalize_phone, phone_index

COORDINATOR = "coordinator"
DISPATCHER = "dispatcher"
NEWCOMER = "newcomer"
CREDENTIALS_FILENAME = "demo-credentials.json"
# The organization of the coalition's second founder: a coalition coordinator nobody vetted,
# who vouched for and trained the demo dispatcher (see _load).
COFOUNDER_ORG = "girasoles"
SEED = 42


class _Writer(Protocol):
    def write(self, msg: str, /) -> object: ...


@dataclass
class DemoResult:
    created: bool  # False when the demo was already there and nothing changed
    credentials: dict[str, str] = field(default_factory=dict)  # username -> password
    counts: dict[str, int] = field(default_factory=dict)  # rows now in the database


def credentials_path() -> Path:
    return Path(settings.DATA_DIR) / CREDENTIALS_FILENAME


def read_credentials() -> dict[str, str]:
    """The demo accounts' passwords, or {} when no demo was loaded into this data directory."""
    try:
        data = json.loads(credentials_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def _write_credentials(credentials: dict[str, str]) -> None:
    path = credentials_path()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(credentials, fh, indent=2)
            fh.write("\n")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


# --- The fictional coalition ------------------------------------------------------------------

# fmt: off
# (name, short_name, languages served, weighted "communities" its members come from)
ORGANIZATIONS: list[tuple[str, str, list[str], dict[str, int]]] = [
    ("Red Vecinal Río Este", "rio-este", ["es", "en", "zap", "mix"],
     {"es": 6, "zap": 2, "mix": 1, "en": 1}),
    ("Comité Los Girasoles", "girasoles", ["es", "en"], {"es": 8, "en": 1}),
    ("Jacaranda Tenants Circle", "jacaranda", ["es", "en", "quc", "kjb"],
     {"es": 5, "maya": 3, "en": 1}),
    ("Samahang Sampaguita", "sampaguita", ["tl", "en", "es"], {"tl": 6, "es": 2, "en": 1}),
    ("Hanbit Neighbors Collective", "hanbit", ["ko", "en", "es"], {"ko": 5, "es": 3, "en": 1}),
    ("Arev Community Circle", "arev", ["hy", "ru", "en", "es"], {"hy": 5, "es": 2, "en": 1}),
    ("Colectivo Colibrí del Arroyo", "colibri", ["es", "en"], {"es": 7, "en": 2}),
    ("Mesa Jornalera del Sur", "mesa-jornalera", ["es", "zap", "mix", "quc"],
     {"es": 5, "zap": 2, "mix": 2, "maya": 1}),
    ("Escudo Familiar Sureste", "escudo-familiar", ["es", "en"], {"es": 8, "en": 1}),
    ("Círculo de Observadores Comunitarios", "observadores", ["es", "en", "ko", "tl"],
     {"es": 5, "en": 3, "ko": 1, "tl": 1}),
]

# Rough outlines ([lng, lat], closed) around real neighborhoods; the owner is a short_name.
NEIGHBORHOODS: list[tuple[str, str, str, list[list[float]]]] = [
    ("Boyle Heights", "boyle-heights", "rio-este", [
        [-118.2245, 34.0500], [-118.2060, 34.0580], [-118.1905, 34.0480], [-118.1925, 34.0180],
        [-118.2120, 34.0120], [-118.2280, 34.0300], [-118.2245, 34.0500]]),
    ("Lincoln Heights", "lincoln-heights", "rio-este", [
        [-118.2250, 34.0620], [-118.2150, 34.0840], [-118.1980, 34.0860], [-118.1890, 34.0700],
        [-118.2000, 34.0590], [-118.2250, 34.0620]]),
    ("East Los Angeles", "east-los-angeles", "girasoles", [
        [-118.1900, 34.0470], [-118.1600, 34.0500], [-118.1430, 34.0330], [-118.1480, 34.0080],
        [-118.1720, 34.0030], [-118.1920, 34.0150], [-118.1900, 34.0470]]),
    ("Pico-Union", "pico-union", "jacaranda", [
        [-118.3000, 34.0520], [-118.2800, 34.0530], [-118.2700, 34.0450], [-118.2760, 34.0360],
        [-118.2960, 34.0350], [-118.3000, 34.0520]]),
    ("Westlake / MacArthur Park", "westlake", "jacaranda", [
        [-118.2900, 34.0540], [-118.2880, 34.0670], [-118.2720, 34.0680], [-118.2590, 34.0600],
        [-118.2650, 34.0520], [-118.2790, 34.0530], [-118.2900, 34.0540]]),
    ("Historic Filipinotown", "historic-filipinotown", "sampaguita", [
        [-118.2840, 34.0690], [-118.2830, 34.0790], [-118.2700, 34.0800], [-118.2590, 34.0740],
        [-118.2620, 34.0680], [-118.2840, 34.0690]]),
    ("Koreatown", "koreatown", "hanbit", [
        [-118.3150, 34.0480], [-118.3150, 34.0690], [-118.3000, 34.0700], [-118.2910, 34.0620],
        [-118.2920, 34.0500], [-118.3150, 34.0480]]),
    ("East Hollywood", "east-hollywood", "arev", [
        [-118.3100, 34.0900], [-118.3090, 34.1030], [-118.2920, 34.1050], [-118.2850, 34.0960],
        [-118.2900, 34.0890], [-118.3100, 34.0900]]),
    ("Highland Park", "highland-park", "colibri", [
        [-118.2140, 34.1000], [-118.2100, 34.1250], [-118.1950, 34.1310], [-118.1760, 34.1200],
        [-118.1800, 34.1030], [-118.1980, 34.0980], [-118.2140, 34.1000]]),
    ("Cypress Park", "cypress-park", "colibri", [
        [-118.2360, 34.0830], [-118.2330, 34.0990], [-118.2180, 34.1000], [-118.2120, 34.0880],
        [-118.2220, 34.0810], [-118.2360, 34.0830]]),
    ("South Gate", "south-gate", "mesa-jornalera", [
        [-118.2280, 33.9680], [-118.1950, 33.9740], [-118.1650, 33.9550], [-118.1700, 33.9280],
        [-118.2050, 33.9250], [-118.2300, 33.9420], [-118.2280, 33.9680]]),
    ("Huntington Park", "huntington-park", "escudo-familiar", [
        [-118.2400, 33.9750], [-118.2380, 33.9960], [-118.2150, 33.9990], [-118.1980, 33.9900],
        [-118.2020, 33.9760], [-118.2400, 33.9750]]),
]

# Invented schools near those neighborhoods: (name, slug, owner, lat, lng); 800 m catchments.
SCHOOLS: list[tuple[str, str, str, float, float]] = [
    ("Los Girasoles Elementary (catchment)", "school-los-girasoles", "girasoles",
     34.0335, -118.1700),
    ("Jacaranda Avenue Elementary (catchment)", "school-jacaranda-avenue", "jacaranda",
     34.0450, -118.2870),
    ("Sampaguita Community School (catchment)", "school-sampaguita", "sampaguita",
     34.0735, -118.2700),
]

# First names and surnames by community; preferred language and spoken languages follow.
NAMES: dict[str, tuple[list[str], list[str]]] = {
    "es": (
        ["María", "José", "Guadalupe", "Juan", "Rosa", "Luis", "Ana", "Carlos", "Verónica",
         "Jesús", "Marisol", "Alejandro", "Leticia", "Francisco", "Yesenia", "Miguel", "Araceli",
         "Ricardo", "Lupita", "Ernesto", "Beatriz", "Rogelio", "Imelda", "Héctor", "Xóchitl",
         "Arturo", "Claudia", "Efraín", "Noemí", "Octavio", "Socorro", "Ramón"],
        ["García", "Hernández", "López", "Martínez", "Ramírez", "Flores", "Cruz", "Morales",
         "Reyes", "Gutiérrez", "Mendoza", "Castillo", "Vásquez", "Salazar", "Ortega", "Delgado",
         "Navarro", "Cervantes", "Ibarra", "Zamora", "Villalobos", "Domínguez", "Quintero",
         "Esparza", "Arellano", "Becerra"],
    ),
    "maya": (
        ["Tomás", "Juana", "Pascual", "Micaela", "Diego", "Catarina", "Baltazar", "Petrona",
         "Mateo", "Rosario"],
        ["Ixcoy", "Tzoc", "Xicará", "Batz", "Cux", "Tum", "Pú", "Canil", "Toj", "Sicajá"],
    ),
    "tl": (
        ["Maricel", "Jomar", "Rowena", "Arnel", "Jocelyn", "Rodel", "Marilou", "Liza", "Dindo",
         "Analyn", "Ramil", "Cherry"],
        ["Dela Cruz", "Santos", "Bautista", "Villanueva", "Manalo", "Dimaculangan", "Pangilinan",
         "Macaraeg", "Salonga", "Tolentino"],
    ),
    "ko": (
        ["Ji-woo", "Min-jun", "Seo-yeon", "Hyun-woo", "Eun-ji", "Dong-hyun", "Soo-ah", "Jae-won",
         "Ha-eun", "Sung-min"],
        ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Yoon", "Han", "Shin", "Oh"],
    ),
    "hy": (
        ["Ani", "Aram", "Narine", "Hovik", "Lusine", "Garo", "Tatev", "Vahe", "Anush", "Sevak"],
        ["Petrosyan", "Hakobyan", "Sargsyan", "Grigoryan", "Avetisyan", "Karapetyan", "Manukyan",
         "Vardanyan", "Ghazaryan", "Mkrtchyan"],
    ),
    "en": (
        ["Sarah", "Michael", "Jasmine", "David", "Emily", "Marcus", "Rachel", "Kevin", "Tanya",
         "Brian", "Nora", "Devon"],
        ["Turner", "Whitfield", "Monroe", "Caldwell", "Brooks", "Hayes", "Holloway", "Sutton",
         "Pryor", "Lindqvist"],
    ),
}
# fmt: on
NAMES["zap"] = NAMES["mix"] = NAMES["es"]


def _languages(rng: random.Random, community: str) -> tuple[str, list[str]]:
    """(preferred_language, languages spoken) for a member of a community."""
    if community == "es":
        return ("es", ["es", "en"]) if rng.random() < 0.4 else ("es", ["es"])
    if community in ("zap", "mix"):
        return (community if rng.random() < 0.6 else "es"), [community, "es"]
    if community == "maya":
        mother = rng.choice(["quc", "kjb"])
        return (mother if rng.random() < 0.6 else "es"), [mother, "es"]
    if community == "tl":
        return ("tl" if rng.random() < 0.6 else "en"), ["tl", "en"]
    if community == "ko":
        return ("ko" if rng.random() < 0.7 else "en"), ["ko", "en"]
    if community == "hy":
        spoken = ["hy", "en", "ru"] if rng.random() < 0.3 else ["hy", "en"]
        return ("hy" if rng.random() < 0.7 else "en"), spoken
    return "en", (["en", "es"] if rng.random() < 0.3 else ["en"])


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch == "-")


def _phone_pool(rng: random.Random) -> list[str]:
    """Reserved-for-fiction numbers (NXX-555-0100..0199) in Los Angeles area codes, E.164."""
    raw = [f"+1 {area} 555 01{i:02d}" for area in (213, 323, 818, 626, 562) for i in range(100)]
    rng.shuffle(raw)
    return [normalize_phone(number) for number in raw]


TRAINING_TOPICS: dict[str, str] = {
    Role.ORG_COORDINATOR: "Coordinator onboarding and vetting",
    Role.DISPATCHER: "Dispatch: triage and SALUTE reports",
    Role.VERIFIER: "Verification in the field",
}


@dataclass
class _Person:
    username: str
    full_name: str
    tier: int
    preferred_language: str
    languages: list[str]
    phone: str
    email: str = ""
    roles: list[tuple[str, str]] = field(default_factory=list)  # (org short_name, role)
    vouched_by: str = ""  # username of the coordinator who vouched
    trained_by: str = ""
    topics: list[str] = field(default_factory=list)
    joined_days_ago: int = 0


def _give_role(person: _Person, short: str, role: str, coordinator: str) -> _Person:
    """A role in an organization, vouched (and trained) by that organization's coordinator."""
    person.roles.append((short, role))
    if person.tier >= Tier.VOUCHED:
        person.vouched_by = coordinator
    if person.tier >= Tier.TRAINED:
        person.trained_by = coordinator
        person.topics.append(TRAINING_TOPICS[role])
    return person


def _totals() -> dict[str, int]:
    counts = {
        "organizations": Organization.objects.count(),
        "zones": Zone.objects.count(),
        "members": Member.objects.count(),
        "memberships": Membership.objects.count(),
        "vouches": Vouch.objects.count(),
        "trainings": Training.objects.count(),
    }
    for tier in Tier:
        counts[f"tier_{tier.name.lower()}"] = Member.objects.filter(tier=tier).count()
    return counts


def load_demo(*, stdout: _Writer | None = None) -> DemoResult:
    """Load the fictional demo coalition once; later calls change nothing."""

    def say(message: str) -> None:
        if stdout is not None:
            stdout.write(message + "\n")

    if Member.objects.filter(username=COORDINATOR).exists():
        return DemoResult(created=False, credentials=read_credentials(), counts=_totals())
    try:
        with transaction.atomic():
            credentials = _load(say)
            # Apps above network add their part (patrols: places and shifts; onboarding:
            # subscribers, alert areas, people on duty, the coalition's settings).
            for step in extensions.demo_steps():
                credentials.update(step.run(say) or {})
            _write_credentials(credentials)  # inside the transaction: no demo without its file
    except IntegrityError:
        # Someone loaded the demo at the same moment: theirs won.
        if Member.objects.filter(username=COORDINATOR).exists():
            return DemoResult(created=False, credentials=read_credentials(), counts=_totals())
        raise
    return DemoResult(created=True, credentials=credentials, counts=_totals())


def _load(say: Callable[[str], None]) -> dict[str, str]:  # noqa: C901 - the demo data, straight-line
    rng = random.Random(SEED)
    now = timezone.now()
    today = timezone.localdate()
    phones = _phone_pool(rng)

    # Organizations and zones survive an emergency purge, so reuse any that are already there.
    existing_orgs = {o.short_name: o for o in Organization.objects.all()}
    new_orgs = [
        Organization(name=name, short_name=short, languages=langs, coordinator_contact=phones.pop())
        for name, short, langs, _mix in ORGANIZATIONS
        if short not in existing_orgs
    ]
    Organization.objects.bulk_create(new_orgs)
    orgs = {
        o.short_name: o
        for o in Organization.objects.filter(
            short_name__in=[short for _n, short, _l, _m in ORGANIZATIONS]
        )
    }
    say(f"Organizations: {len(new_orgs)} created, {len(orgs) - len(new_orgs)} already there.")

    existing_zones = set(Zone.objects.values_list("slug", flat=True))
    zones = []
    for name, slug, owner, ring in NEIGHBORHOODS:
        if slug in existing_zones:
            continue
        cells = geo.polygon_cells(ring)
        lat, lng = geo.centroid(cells)
        zones.append(
            Zone(
                name=name,
                slug=slug,
                kind=ZoneKind.NEIGHBORHOOD,
                organization=orgs[owner],
                cells=cells,
                boundary={"type": "Polygon", "coordinates": [ring]},
                center_lat=lat,
                center_lng=lng,
            )
        )
    for name, slug, owner, lat, lng in SCHOOLS:
        if slug in existing_zones:
            continue
        cells = geo.circle_cells(lat, lng, 800)
        clat, clng = geo.centroid(cells)
        zones.append(
            Zone(
                name=name,
                slug=slug,
                kind=ZoneKind.SCHOOL,
                organization=orgs[owner],
                cells=cells,
                boundary=None,
                center_lat=clat,
                center_lng=clng,
            )
        )
    Zone.objects.bulk_create(zones)
    say(f"Zones: {len(zones)} created.")

    # --- People ---
    taken = set(Member.objects.values_list("username", flat=True))
    credentials = {
        COORDINATOR: secrets.token_urlsafe(9),
        DISPATCHER: secrets.token_urlsafe(9),
        NEWCOMER: secrets.token_urlsafe(9),
    }
    # Nobody knows this password: ordinary demo members cannot sign in.
    shared_hash = make_password(secrets.token_urlsafe(24))
    people: dict[str, _Person] = {}
    first_org = ORGANIZATIONS[0][1]

    def add(person: _Person) -> _Person:
        people[person.username] = person
        taken.add(person.username)
        return person

    demo_coordinator = add(
        _Person(
            COORDINATOR,
            "Demo Coordinator",
            Tier.TRAINED,
            "en",
            ["en", "es"],
            phones.pop(),
            email="coordinator@example.org",
            roles=[(first_org, Role.COALITION_COORDINATOR), (first_org, Role.ORG_COORDINATOR)],
            topics=[TRAINING_TOPICS[Role.ORG_COORDINATOR]],
            trained_by=COORDINATOR,
            joined_days_ago=400,
        )
    )
    add(
        _Person(
            DISPATCHER,
            "Demo Dispatcher",
            Tier.TRAINED,
            "es",
            ["es", "en"],
            phones.pop(),
            roles=[(first_org, Role.DISPATCHER)],
            # Vouched for and trained by the coalition's other founder (below), not by the
            # demo coordinator: so either may approve the other's public alert.
            topics=[TRAINING_TOPICS[Role.DISPATCHER]],
            joined_days_ago=200,
        )
    )
    add(
        _Person(
            NEWCOMER,
            "Demo Newcomer",
            Tier.NEW,
            "es",
            ["es"],
            phones.pop(),
            roles=[(first_org, Role.PATROL)],
            joined_days_ago=2,
        )
    )

    def new_person(short: str, tier: int) -> _Person:
        mix = dict(ORGANIZATIONS[[o[1] for o in ORGANIZATIONS].index(short)][3])
        community = rng.choices(list(mix), weights=list(mix.values()))[0]
        firsts, lasts = NAMES[community]
        first, last = rng.choice(firsts), rng.choice(lasts)
        if community in ("es", "zap", "mix") and rng.random() < 0.4:
            full_name = f"{first} {last} {rng.choice(lasts)}"
        else:
            full_name = f"{first} {last}"
        while True:
            handle = f"{_ascii(first)}.{_ascii(last)[:1]}{rng.randint(10, 99)}"
            if handle not in taken:
                break
        preferred, spoken = _languages(rng, community)
        email = f"{handle}@example.org" if rng.random() < 0.4 else ""
        return add(
            _Person(
                handle,
                full_name,
                tier,
                preferred,
                spoken,
                phones.pop(),
                email=email,
                joined_days_ago=rng.randint(3, 500),
            )
        )

    def _staff(short: str, coord: str, role: str, tier: int, count: int) -> list[_Person]:
        return [_give_role(new_person(short, tier), short, role, coord) for _ in range(count)]

    for index, (_name, short, _langs, _mix) in enumerate(ORGANIZATIONS):
        if index == 0:
            coordinator = demo_coordinator
        elif short == COFOUNDER_ORG:
            # The coalition's other founder: like the demo coordinator, nobody vetted them.
            coordinator = new_person(short, Tier.TRAINED)
            coordinator.roles += [
                (short, Role.COALITION_COORDINATOR),
                (short, Role.ORG_COORDINATOR),
            ]
            coordinator.trained_by = coordinator.username
            coordinator.topics.append(TRAINING_TOPICS[Role.ORG_COORDINATOR])
        else:
            coordinator = new_person(short, Tier.TRAINED)
            coordinator.roles.append((short, Role.ORG_COORDINATOR))
            coordinator.vouched_by = coordinator.trained_by = COORDINATOR
            coordinator.topics.append(TRAINING_TOPICS[Role.ORG_COORDINATOR])

        staff = functools.partial(_staff, short, coordinator.username)
        staff(Role.DISPATCHER, Tier.TRAINED, rng.randint(0, 1) if index == 0 else rng.randint(1, 2))
        verifiers = staff(Role.VERIFIER, Tier.TRAINED, rng.randint(2, 3))
        responders = staff(Role.RESPONDER, Tier.VOUCHED, rng.randint(3, 4))
        patrol = staff(Role.PATROL, Tier.VOUCHED, rng.randint(2, 3))
        patrol += staff(Role.PATROL, Tier.NEW, rng.randint(2, 3))
        captains = staff(Role.CAPTAIN, Tier.VOUCHED, rng.randint(1, 2))
        staff(Role.SUBSCRIBER, Tier.NEW, rng.randint(4, 6))

        # Several hats: verifiers and captains who also walk patrols, responders who also
        # observe for the coalition-wide observers' circle.
        for person in verifiers + captains:
            if rng.random() < 0.5:
                person.roles.append((short, Role.PATROL))
        for person in responders:
            if short != "observadores" and rng.random() < 0.3:
                person.roles.append(("observadores", Role.RESPONDER))
        for person in patrol:
            if person.tier >= Tier.VOUCHED and rng.random() < 0.3:
                person.roles.append((short, Role.CAPTAIN))

    # Two people must agree before an alert goes to the public, and someone the author alone
    # vouched for and trained is not a second person (alerts.rules.may_approve): the demo
    # dispatcher was vetted by the other founder, so the demo coordinator's public alert can be
    # approved by the demo dispatcher (and the dispatcher's by the coordinator).
    cofounder = next(
        p.username
        for p in people.values()
        if (COFOUNDER_ORG, Role.COALITION_COORDINATOR) in p.roles
    )
    people[DISPATCHER].vouched_by = people[DISPATCHER].trained_by = cofounder

    # Responders in a second organization are vouched by that organization's coordinator too.
    observer_coord = next(
        p.username for p in people.values() if ("observadores", Role.ORG_COORDINATOR) in p.roles
    )

    Member.objects.bulk_create(
        [
            Member(
                username=p.username,
                full_name=p.full_name,
                phone=p.phone,
                phone_index=phone_index(p.phone),
                email=p.email,
                email_index=email_index(p.email) if p.email else "",
                preferred_language=p.preferred_language,
                languages=p.languages,
                tier=p.tier,
                password=shared_hash,
                date_joined=now - timedelta(days=p.joined_days_ago),
            )
            for p in people.values()
            if p.username not in credentials
        ]
    )
    for username, password in credentials.items():
        p = people[username]
        member = Member(
            username=username,
            full_name=p.full_name,
            phone=p.phone,
            phone_index=phone_index(p.phone),
            email=p.email,
            email_index=email_index(p.email) if p.email else "",
            preferred_language=p.preferred_language,
            languages=p.languages,
            tier=p.tier,
            date_joined=now - timedelta(days=p.joined_days_ago),
        )
        member.set_password(password)
        member.save()
    ids = dict(Member.objects.filter(username__in=list(people)).values_list("username", "id"))

    memberships = []
    vouches = []
    trainings = []
    for p in people.values():
        seen = set()
        for short, role in p.roles:
            if (short, role) not in seen:
                seen.add((short, role))
                memberships.append(
                    Membership(member_id=ids[p.username], organization_id=orgs[short].pk, role=role)
                )
        vouchers = {p.vouched_by} if p.vouched_by else set()
        if p.tier >= Tier.VOUCHED and ("observadores", Role.RESPONDER) in p.roles:
            vouchers.add(observer_coord)
        vouchers.discard(p.username)
        vouches += [
            Vouch(member_id=ids[p.username], voucher_id=ids[v], voucher_was_coordinator=True)
            for v in sorted(vouchers)
        ]
        for topic in p.topics:
            trainings.append(
                Training(
                    member_id=ids[p.username],
                    recorded_by_id=ids[p.trained_by or COORDINATOR],
                    topic=topic,
                    completed_on=today - timedelta(days=rng.randint(7, 300)),
                )
            )
        if p.tier >= Tier.TRAINED and rng.random() < 0.4:
            trainings.append(
                Training(
                    member_id=ids[p.username],
                    recorded_by_id=ids[p.trained_by or COORDINATOR],
                    topic="Know your rights: train the trainer",
                    completed_on=today - timedelta(days=rng.randint(7, 300)),
                )
            )
    Membership.objects.bulk_create(memberships)
    Vouch.objects.bulk_create(vouches)
    Training.objects.bulk_create(trainings)
    say(
        f"Members: {len(people)} created, with {len(memberships)} roles, {len(vouches)} vouches "
        f"and {len(trainings)} trainings."
    )
    audit("demo.load", members=len(people), organizations=len(new_orgs), zones=len(zones))
    return credentials
