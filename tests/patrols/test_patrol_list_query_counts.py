"""Pinned query counts on the patrol pages that list rows and are not pinned elsewhere: a place's
page (its templates and upcoming shifts), the calendar page (an organization's links), and the
two iCalendar feeds (an organization's templates, holidays and cancelled shifts; a member's
shifts). Each asks the database as often with N rows as with 3N (tests/querycount.py). The
finder and shift page are pinned in test_patrol_pages, coverage in test_patrol_coord, places,
holidays and logs in tests/core/test_query_counts.py."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_member, sign_in
from tests.querycount import assert_flat
from vecinos.network.models import Organization, Role, Tier
from vecinos.patrols import services
from vecinos.patrols.models import Holiday, Place, Shift

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _place(personas, k: int) -> Place:
    return Place.objects.create(
        name=f"QC School {k}",
        kind="school",
        lat=34.0 + k / 1000,
        lng=-118.2,
        organization=personas.org_a,
    )


def test_place_page_templates_and_upcoming_shifts(personas):
    client = sign_in(Client(), personas.coordinator)
    place = _place(personas, 0)
    walker = make_member("qc.walker", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.TRAINED)

    def build(n: int) -> tuple[str, str]:
        for _ in range(n):
            k = next(_seq)
            services.template_create(
                actor=personas.coordinator,
                place=place,
                weekdays=[k % 7],
                start_time=time(6 + k % 12, 0),
                end_time=time(7 + k % 12, 0),
                active_from=timezone.localdate(),
            )
            day = timezone.localdate() + timedelta(days=k)
            shift = Shift.objects.create(place=place, starts_at=_at(day, 7), ends_at=_at(day, 8))
            services.signup(shift=shift, member=walker)
        return reverse(
            "patrol_place", args=[place.pk]
        ), f'datetime="{timezone.localtime(shift.starts_at).isoformat()}"'

    assert_flat(client, build)


def test_calendar_page_with_many_organizations(personas):
    client = sign_in(Client(), personas.coalition)

    def build(n: int) -> tuple[str, str]:
        name = ""
        for _ in range(n):
            k = next(_seq)
            name = f"QC Org {k}"
            org = Organization.objects.create(name=name, short_name=f"qc-{k}")
            services.feed_replace(member=personas.coalition, organization=org)
        return reverse("patrol_calendar"), name

    assert_flat(client, build)


def test_organization_feed(personas):
    token = services.feed_replace(member=personas.coordinator, organization=personas.org_a)
    client = Client()  # the calendar app: the token is the credential

    def build(n: int) -> tuple[str, str]:
        name = ""
        for _ in range(n):
            k = next(_seq)
            place = _place(personas, k)
            name = place.name
            services.template_create(
                actor=personas.coordinator,
                place=place,
                weekdays=[0, 2, 4],
                start_time=time(7, 15),
                end_time=time(8, 15),
                active_from=timezone.localdate(),
            )
            Holiday.objects.create(
                date=timezone.localdate() + timedelta(days=k),
                name=f"QC holiday {k}",
                organization=personas.org_a,
            )
            day = timezone.localdate() + timedelta(days=k)
            shift = Shift.objects.create(place=place, starts_at=_at(day, 7), ends_at=_at(day, 8))
            services.shift_cancel(shift=shift, reason="QC")
        return reverse("patrol_feed", args=[token]), name

    assert_flat(client, build)


def test_member_feed(personas):
    walker = make_member("qc.walker", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.TRAINED)
    token = services.feed_replace(member=walker, organization=None)
    client = Client()

    def build(n: int) -> tuple[str, str]:
        name = ""
        for _ in range(n):
            k = next(_seq)
            place = _place(personas, k)
            name = place.name
            day = timezone.localdate() + timedelta(days=k)
            shift = Shift.objects.create(place=place, starts_at=_at(day, 7), ends_at=_at(day, 8))
            services.signup(shift=shift, member=walker, lead=k % 2 == 0)
        return reverse("patrol_feed", args=[token]), name

    assert_flat(client, build)
