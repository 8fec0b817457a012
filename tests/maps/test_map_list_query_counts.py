"""Pinned query count on the composer's live count (/alerts/reach.json): N subscribers in the
drawn area and 3N cost the same number of queries (tests/querycount.py). The public and console
maps are pinned in test_public_map and test_console_map, the zone editor in
tests/core/test_query_counts.py."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import sign_in
from tests.querycount import assert_flat
from vecinos.alerts import services
from vecinos.core import geo
from vecinos.network.models import Zone

pytestmark = pytest.mark.django_db

BOYLE = (34.0407, -118.2110)
_seq = itertools.count(1)


def test_composer_live_count(personas):
    client = sign_in(Client(), personas.dispatcher)
    total = {"n": 0}

    def build(n: int) -> tuple[str, str]:
        for _ in range(n):
            k = next(_seq)
            services.subscribe(phone=f"+1323556{k:04d}", point=BOYLE, radius_m=1000, confirmed=True)
        total["n"] += n
        url = f"{reverse('alert_reach')}?tiers=public&lat={BOYLE[0]}&lng={BOYLE[1]}&radius_m=2000"
        return url, f'"total": {total["n"]}'

    assert_flat(client, build)


def test_zone_editor_draws_the_other_zones(personas):
    client = sign_in(Client(), personas.coalition)
    edited = Zone.objects.create(
        name="QC edited", slug="qc-edited", kind="neighborhood",
        cells=geo.circle_cells(*BOYLE, 300), center_lat=BOYLE[0], center_lng=BOYLE[1],
    )  # fmt: skip

    def build(n: int) -> tuple[str, str]:
        name = ""
        for _ in range(n):
            k = next(_seq)
            name = f"QC Zone {k}"
            lat = BOYLE[0] + k * 0.01
            Zone.objects.create(
                name=name, slug=f"qc-zone-{k}", kind="neighborhood",
                cells=geo.circle_cells(lat, BOYLE[1], 300), center_lat=lat, center_lng=BOYLE[1],
            )  # fmt: skip
        return reverse("zone_edit", args=[edited.pk]), name

    assert_flat(client, build)
