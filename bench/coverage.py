#!/usr/bin/env python3
"""Coverage benchmark: 300 places with 2 shifts every weekday for 4 weeks, 5,000 patrol members
with random sign-ups (some shifts uncovered, some understaffed, staffed, checked in).

Times, inside one process with Django's test Client (server time: no network, no browser):
- generating 4 weeks of shifts from the templates (``services.generate_shifts``), median of 3
  runs on an empty shift table;
- rendering the coverage page's week view for a signed-in coalition coordinator with a verified
  authenticator (the session trick of tests/conftest.py ``sign_in``), median of 5 renders after
  one warm-up; and the number of queries that render makes.

    .venv/bin/python bench/coverage.py [--places 300] [--members 5000] [--data-dir DIR]

By default everything goes into a throwaway SQLite data directory (a new temporary directory,
removed at the end). Set VECINOS_DATABASE_URL to run against an empty PostgreSQL database instead.
Ends with exactly one line:
coverage: view <V> ms, generate <G> ms, queries <Q>
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_VIEW_MS = 300
WEEKS = 4
VIEW_RUNS = 5
GENERATE_RUNS = 3
ORGS = 10
ZONES = 12


def _setup(data_dir: str) -> None:
    os.environ["VECINOS_DATA_DIR"] = data_dir
    os.environ.setdefault("VECINOS_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vecinos.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _ring(lat: float, lng: float, r: float) -> list[list[float]]:
    import math

    points = [
        [round(lng + r * 1.2 * math.cos(a), 6), round(lat + r * math.sin(a), 6)]
        for a in (i * math.pi / 3 for i in range(6))
    ]
    return [*points, points[0]]


def seed(n_places: int, n_members: int, rng: random.Random):
    """Organizations, zones, places and their templates, members with the patrol role."""
    from django.db import transaction

    from vecinos.core import geo
    from vecinos.network.models import Member, Membership, Organization, Role, Tier, Zone
    from vecinos.patrols.models import Place, ShiftTemplate

    with transaction.atomic():
        orgs = Organization.objects.bulk_create(
            [Organization(name=f"Bench Org {i}", short_name=f"bench-{i}") for i in range(ORGS)]
        )
        zones = []
        for i in range(ZONES):
            lat, lng = 33.95 + (i // 4) * 0.06, -118.35 + (i % 4) * 0.07
            ring = _ring(lat, lng, 0.02)
            zones.append(
                Zone(
                    name=f"Bench Zone {i}",
                    slug=f"bench-zone-{i}",
                    kind="neighborhood",
                    organization=orgs[i % ORGS],
                    cells=geo.polygon_cells(ring),
                    boundary={"type": "Polygon", "coordinates": [ring]},
                    center_lat=lat,
                    center_lng=lng,
                )
            )
        Zone.objects.bulk_create(zones)
        index = {
            cell: pk for pk, cells in Zone.objects.values_list("pk", "cells") for cell in cells
        }
        places = Place.objects.bulk_create(
            [
                Place(
                    name=f"Escuela Primaria Banco {i:03d}",
                    kind="school",
                    lat=(lat := 33.93 + rng.random() * 0.2),
                    lng=(lng := -118.37 + rng.random() * 0.25),
                    zone_id=index.get(geo.cell_of(lat, lng)),
                    organization=orgs[i % ORGS],
                    notes="Stand at the north gate",
                )
                for i in range(n_places)
            ]
        )
        monday = date.today() - timedelta(days=date.today().weekday())
        ShiftTemplate.objects.bulk_create(
            [
                ShiftTemplate(
                    place=place,
                    weekdays=[0, 1, 2, 3, 4],
                    start_time=start,
                    end_time=end,
                    min_people=2,
                    ideal_people=4,
                    max_people=6,
                    active_from=monday,
                )
                for place in places
                for start, end in ((clock(7, 15), clock(8, 15)), (clock(14, 30), clock(15, 30)))
            ]
        )
        Member.objects.bulk_create(
            [
                Member(
                    username=f"bench.walker{i}",
                    full_name=f"Walker {i}",
                    password="!",  # unusable: nobody signs in as these
                    tier=Tier.VOUCHED if i % 3 else Tier.NEW,
                )
                for i in range(n_members)
            ],
            batch_size=1000,
        )
        ids = list(
            Member.objects.filter(username__startswith="bench.walker").values_list("pk", flat=True)
        )
        Membership.objects.bulk_create(
            [
                Membership(member_id=pk, organization=orgs[i % ORGS], role=Role.PATROL)
                for i, pk in enumerate(ids)
            ],
            batch_size=2000,
        )
        coordinator = Member.objects.create(
            username="bench.coordinator", full_name="Bench Coordinator", tier=Tier.TRAINED
        )
        coordinator.set_unusable_password()
        coordinator.save()
        Membership.objects.create(
            member=coordinator, organization=orgs[0], role=Role.COALITION_COORDINATOR
        )
    members_by_org: dict[int, list[int]] = {}
    for i, pk in enumerate(ids):
        members_by_org.setdefault(orgs[i % ORGS].pk, []).append(pk)
    return coordinator, members_by_org


def time_generate(start: date) -> tuple[float, int]:
    from vecinos.patrols import services
    from vecinos.patrols.models import Shift

    runs, created = [], 0
    for _ in range(GENERATE_RUNS):
        Shift.objects.all().delete()
        t0 = time.perf_counter()
        created = services.generate_shifts(weeks=WEEKS, start=start)
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs), created


def sign_up(members_by_org: dict[int, list[int]], rng: random.Random) -> dict[str, int]:
    """Random sign-ups: some shifts uncovered, understaffed, staffed or checked in."""
    from django.db import transaction
    from django.utils import timezone

    from vecinos.patrols.models import Shift, Signup

    plan = {"uncovered": 0, "understaffed": 0, "staffed": 0, "checked_in": 0}
    rows = []
    now = timezone.now()
    for shift_id, org_id, starts_at in Shift.objects.values_list(
        "pk", "place__organization_id", "starts_at"
    ):
        state = rng.choices(list(plan), weights=[2, 3, 4, 1])[0]
        plan[state] += 1
        wanted = {"uncovered": 0, "understaffed": 1, "staffed": rng.randint(2, 4)}.get(state, 2)
        for member_id in rng.sample(members_by_org[org_id], wanted):
            rows.append(
                Signup(
                    shift_id=shift_id,
                    member_id=member_id,
                    checked_in_at=min(now, starts_at) if state == "checked_in" else None,
                    checked_in_at_place=True if state == "checked_in" else None,
                )
            )
    with transaction.atomic():
        Signup.objects.bulk_create(rows, batch_size=2000)
    plan["signups"] = len(rows)
    return plan


def signed_in_client(member):
    """A test Client signed in with a verified authenticator (as tests/conftest.py sign_in)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    device = TOTPDevice.objects.create(user=member, name="phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def time_view(client, url: str) -> tuple[float, list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up: templates compiled, caches filled
    assert response.status_code == 200, response.status_code
    runs = []
    for _ in range(VIEW_RUNS):
        t0 = time.perf_counter()
        response = client.get(url)
        runs.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return statistics.median(runs), runs, len(queries.captured_queries), len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--places", type=int, default=300)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--data-dir", help="use this data directory (kept) instead of a temp one")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    throwaway = args.data_dir is None
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="vecinos-bench-coverage-")
    try:
        _setup(data_dir)
        from django.conf import settings
        from django.db import connection
        from django.utils import timezone

        from vecinos.patrols.models import Shift

        rng = random.Random(args.seed)
        engine = connection.vendor
        t0 = time.perf_counter()
        coordinator, members_by_org = seed(args.places, args.members, rng)
        print(
            f"seeded {args.places} places ({2 * args.places} templates), {args.members} patrol "
            f"members on {engine} in {time.perf_counter() - t0:.1f} s "
            f"(data dir {settings.DATA_DIR})"
        )

        generate_ms, created = time_generate(timezone.localdate())
        print(
            f"generate: {created} shifts for {WEEKS} weeks, median {generate_ms:.0f} ms "
            f"of {GENERATE_RUNS} runs"
        )
        plan = sign_up(members_by_org, rng)
        print(
            "sign-ups: "
            + ", ".join(f"{k} {v}" for k, v in plan.items())
            + f" (shifts {Shift.objects.count()})"
        )

        client = signed_in_client(coordinator)
        week_ms, runs, queries, size = time_view(client, "/patrols/coverage/?view=week")
        today_ms, _runs, today_queries, today_size = time_view(client, "/patrols/coverage/")
        start = datetime.combine(timezone.localdate(), clock.min, timezone.get_current_timezone())
        in_week = Shift.objects.filter(
            starts_at__gte=start, starts_at__lt=start + timedelta(days=7)
        ).count()
        print(
            f"view: week ({in_week} shifts) median {week_ms:.0f} ms of {VIEW_RUNS} "
            f"[{', '.join(f'{r:.0f}' for r in runs)}], {queries} queries, {size // 1024} KB; "
            f"today {today_ms:.0f} ms, {today_queries} queries, {today_size // 1024} KB"
        )
        verdict = "under" if week_ms < TARGET_VIEW_MS else "OVER"
        print(f"target: week view {verdict} {TARGET_VIEW_MS} ms")
        print(f"coverage: view {week_ms:.0f} ms, generate {generate_ms:.0f} ms, queries {queries}")
        return 0
    finally:
        if throwaway:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
