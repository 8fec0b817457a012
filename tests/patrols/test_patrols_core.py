"""Patrol services: generation with holidays, sign-up rules, check-in, activity -> trusted report."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.conftest import make_member
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting
from vecinos.patrols import services
from vecinos.patrols.models import Holiday, Place, Shift
from vecinos.reports.models import Report


@pytest.fixture
def school(personas):
    return Place.objects.create(
        name="Escuela Primaria Sol",
        kind="school",
        lat=34.04,
        lng=-118.21,
        organization=personas.org_a,
        notes="Stand at the north gate",
    )


@pytest.fixture
def patrollers(personas):
    return [
        make_member(
            f"pat{i}",
            org=personas.org_a,
            roles=(Role.PATROL,),
            tier=Vetting.TRAINED if i == 0 else Vetting.NEW,
            phone=f"+1213555019{i}",
        )
        for i in range(4)
    ]


@pytest.mark.django_db
def test_generation_skips_holidays_and_is_idempotent(personas, school):
    monday = date(2026, 12, 7)
    services.template_create(
        actor=personas.coordinator,
        place=school,
        weekdays=[0, 1, 2, 3, 4],
        start_time=time(7, 15),
        end_time=time(8, 15),
        active_from=monday,
    )
    Holiday.objects.create(date=monday + timedelta(days=2), name="Winter break")
    assert services.generate_shifts(weeks=1, start=monday) == 4
    assert services.generate_shifts(weeks=1, start=monday) == 0
    first = Shift.objects.order_by("starts_at").first()
    local = timezone.localtime(first.starts_at)
    assert (local.hour, local.minute, str(local.tzinfo)) == (7, 15, "America/Los_Angeles")


@pytest.mark.django_db
def test_bad_templates_are_refused(personas, school):
    with pytest.raises(services.PatrolError):
        services.template_create(
            actor=personas.coordinator,
            place=school,
            weekdays=[0],
            start_time=time(9, 0),
            end_time=time(8, 0),
            active_from=date(2026, 12, 7),
        )
    with pytest.raises(services.NotAllowed):
        services.template_create(
            actor=personas.outsider,
            place=school,
            weekdays=[0],
            start_time=time(7, 0),
            end_time=time(8, 0),
            active_from=date(2026, 12, 7),
        )


@pytest.mark.django_db
def test_signup_rules_check_in_and_activity_report(personas, school, patrollers):
    start = timezone.now() + timedelta(hours=2)
    shift = Shift.objects.create(
        place=school, starts_at=start, ends_at=start + timedelta(hours=1), max_people=2
    )
    services.signup(shift=shift, member=patrollers[0], lead=True)
    with pytest.raises(services.PatrolError):
        services.signup(
            shift=shift, member=patrollers[1], lead=True
        )  # untrained, and a lead exists
    services.signup(shift=shift, member=patrollers[1])
    with pytest.raises(services.PatrolError, match="full"):
        services.signup(shift=shift, member=patrollers[2])
    overlapping = Shift.objects.create(
        place=Place.objects.create(
            name="Corner", kind="corner", lat=34.05, lng=-118.2, organization=personas.org_a
        ),
        starts_at=start + timedelta(minutes=30),
        ends_at=start + timedelta(hours=2),
    )
    with pytest.raises(services.PatrolError, match="already have a shift"):
        services.signup(shift=overlapping, member=patrollers[1])
    with pytest.raises(services.PatrolError, match="not signed up"):
        services.check_in(shift=shift, member=patrollers[3])
    with pytest.raises(services.PatrolError):
        services.check_in(shift=shift, member=patrollers[0])  # too early
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        row = services.check_in(shift=shift, member=patrollers[0], lat=34.0401, lng=-118.2101)
        assert row.checked_in_at_place is True
        with pytest.raises(services.NotAllowed):
            services.mark_outcome(shift=shift, member=patrollers[1], outcome="all_clear")
        report = services.patrol_report(
            shift=shift,
            member=patrollers[0],
            activity="school",
            agents_count=3,
            vehicles_count=1,
            description="Two vans by the gate",
        )
    report = Report.objects.get(pk=report.pk)
    assert report.trusted and report.channel == "patrol" and report.place_text == school.name
    assert Shift.objects.get(pk=shift.pk).outcome == Shift.Outcome.ACTIVITY


@pytest.mark.django_db
def test_holiday_cancels_shift_and_tells_people(personas, school, patrollers):
    start = timezone.now() + timedelta(days=3)
    shift = Shift.objects.create(place=school, starts_at=start, ends_at=start + timedelta(hours=1))
    services.signup(shift=shift, member=patrollers[1])
    services.holiday_add(
        actor=personas.coordinator,
        day=timezone.localdate(start),
        name="Teacher training day",
        organization_id=personas.org_a.pk,
    )
    shift.refresh_from_db()
    assert shift.status == Shift.Status.CANCELLED
    from vecinos.messaging.models import Delivery

    assert Delivery.objects.filter(purpose="patrol", ref_id=shift.pk).count() == 1
