"""Pinned query counts on the network pages that list rows and are not pinned elsewhere: a
member's page (roles, vouches, trainings), a roster member's page, the home page's roles, API
tokens, the roster CSV, and the vouch page. Each asks the database as often with N rows as with
3N (tests/querycount.py). The roster is pinned in test_network_pages; organizations, zones and
the audit log in tests/core/test_query_counts.py."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import make_member, sign_in
from tests.querycount import assert_flat
from vecinos.network import services
from vecinos.network.models import Membership, Organization, Role, Tier, Training, Vouch

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)


def _vetting(personas, member, n: int) -> str:
    """n vouches (each by another member) and n trainings for the member; the newest topic."""
    topic = ""
    for _ in range(n):
        k = next(_seq)
        voucher = make_member(
            f"qcv{k}", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.VOUCHED
        )
        Vouch.objects.create(member=member, voucher=voucher)
        topic = f"QC training {k}"
        Training.objects.create(
            member=member,
            recorded_by=voucher,
            topic=topic,
            completed_on=date(2026, 1, 1) + timedelta(days=k),
        )
    return topic


def _roles_in_new_orgs(member, n: int) -> str:
    name = ""
    for _ in range(n):
        k = next(_seq)
        name = f"QC Org {k}"
        org = Organization.objects.create(name=name, short_name=f"qc-{k}")
        Membership.objects.create(member=member, organization=org, role=Role.PATROL)
    return name


def test_member_page(personas):
    target = make_member("qc.target", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.TRAINED)
    client = sign_in(Client(), personas.coalition)

    def build(n: int) -> tuple[str, str]:
        topic = _vetting(personas, target, n)
        _roles_in_new_orgs(target, n)
        return reverse("member_detail", args=[target.pk]), topic

    assert_flat(client, build)


def test_roster_member_page(personas):
    target = make_member("qc.target", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.TRAINED)
    client = sign_in(Client(), personas.coordinator)

    def build(n: int) -> tuple[str, str]:
        _vetting(personas, target, n)
        _roles_in_new_orgs(target, n)  # roles elsewhere: not on this organization's page
        url = reverse("roster_member", args=[personas.org_a.pk, target.pk])
        return url, target.username

    assert_flat(client, build)


def test_home_page_roles(personas):
    member = make_member("qc.home", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.TRAINED)
    client = sign_in(Client(), member)

    def build(n: int) -> tuple[str, str]:
        return reverse("home"), _roles_in_new_orgs(member, n)

    assert_flat(client, build)


def test_api_tokens(personas):
    client = sign_in(Client(), personas.dispatcher)

    def build(n: int) -> tuple[str, str]:
        name = ""
        for _ in range(n):
            name = f"QC partner {next(_seq)}"
            services.token_create(member=personas.dispatcher, name=name, valid_days=30)
        return reverse("tokens"), name

    assert_flat(client, build)


def test_roster_csv(personas):
    client = sign_in(Client(), personas.coordinator)

    def build(n: int) -> tuple[str, str]:
        name = ""
        for _ in range(n):
            k = next(_seq)
            name = f"qcrost{k}"
            make_member(name, org=personas.org_a, roles=(Role.PATROL, Role.RESPONDER))
        return reverse("roster_export", args=[personas.org_a.pk]), name

    assert_flat(client, build)


def test_vouch_page_does_not_grow_with_the_organization(personas):
    # Not a list (a username box), pinned so that it stays one.
    voucher = make_member("qc.voucher", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.VOUCHED)
    client = sign_in(Client(), voucher)

    def build(n: int) -> tuple[str, str]:
        for _ in range(n):
            make_member(f"qcnew{next(_seq)}", org=personas.org_a, roles=(Role.PATROL,))
        return reverse("vouch"), 'name="username"'

    assert_flat(client, build)


def _bearer(member) -> dict[str, str]:
    secret = services.token_create(member=member, name="qc", valid_days=30).secret
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_api_roster(personas):
    headers = _bearer(personas.coordinator)

    def build(n: int) -> tuple[str, str]:
        name = ""
        for _ in range(n):
            name = f"qcapi{next(_seq)}"
            make_member(name, org=personas.org_a, roles=(Role.PATROL, Role.RESPONDER))
        return f"/api/v1/organizations/{personas.org_a.pk}/members", f'"{name}"'

    assert_flat(Client(), build, **headers)


def test_api_zones(personas):
    from vecinos.core import geo
    from vecinos.network.models import Zone

    headers = _bearer(personas.coordinator)

    def build(n: int) -> tuple[str, str]:
        name = ""
        for _ in range(n):
            k = next(_seq)
            name = f"QC Zone {k}"
            lat = 34.04 + k * 0.01
            Zone.objects.create(
                name=name, slug=f"qc-zone-{k}", kind="neighborhood",
                cells=geo.circle_cells(lat, -118.21, 300), center_lat=lat, center_lng=-118.21,
            )  # fmt: skip
        return "/api/v1/zones", f'"{name}"'

    assert_flat(Client(), build, **headers)
