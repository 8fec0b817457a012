"""A calendar feed belongs to the person who made it and dies with their access: an
organization's feed stops when its maker is deactivated or no longer coordinates that
organization, and feeds made before feeds had owners serve nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import sign_in
from tests.patrols.test_patrol_calendar import fetch, places  # noqa: F401  (fixture)
from vecinos.network.models import Membership, Role
from vecinos.network.services import member_deactivate, role_revoke
from vecinos.patrols import services
from vecinos.patrols.models import CalendarFeed

pytestmark = pytest.mark.django_db


def org_feed_through_the_page(client, personas) -> str:
    sign_in(client, personas.coordinator)
    response = client.post(reverse("patrol_calendar"), {"organization": personas.org_a.pk})
    assert response.status_code == 200
    return response.context["issued"]["url"].rsplit("/", 1)[1].removesuffix(".ics")


def test_an_org_feed_has_an_owner(client, personas, places):  # noqa: F811
    org_feed_through_the_page(client, personas)
    feed = CalendarFeed.objects.get(organization=personas.org_a, revoked_at=None)
    assert feed.member == personas.coordinator


def test_org_feed_stops_when_its_maker_is_deactivated(client, personas, places):  # noqa: F811
    token = org_feed_through_the_page(client, personas)
    reader = Client()  # a calendar app: no session, only the URL
    assert fetch(reader, token).status_code == 200
    member_deactivate(actor=personas.coalition, member=personas.coordinator)
    response = fetch(reader, token)
    assert response.status_code == 410
    assert b"Escuela" not in response.content and b"BEGIN:VCALENDAR" not in response.content


def test_org_feed_stops_when_its_maker_loses_the_coordinator_role(client, personas, places):  # noqa: F811
    token = org_feed_through_the_page(client, personas)
    reader = Client()
    assert b"BEGIN:VCALENDAR" in fetch(reader, token).content
    role_revoke(
        actor=personas.coalition,
        membership=Membership.objects.get(member=personas.coordinator, role=Role.ORG_COORDINATOR),
    )
    assert fetch(reader, token).status_code == 410


def test_org_feed_of_another_coordinator_keeps_working(client, personas, places):  # noqa: F811
    """One coordinator leaving does not cut the feed another coordinator made."""
    token = services.feed_create(member=personas.coalition, organization_id=personas.org_a.pk)
    member_deactivate(actor=personas.coalition, member=personas.coordinator)
    assert fetch(Client(), token).status_code == 200


def test_an_ownerless_org_feed_from_before_serves_nothing(personas, places):  # noqa: F811
    token = services.feed_create(member=personas.coordinator, organization_id=personas.org_a.pk)
    CalendarFeed.objects.filter(organization=personas.org_a).update(member=None)
    assert fetch(Client(), token).status_code == 410


def test_a_members_own_feed_stops_when_they_are_deactivated(personas):
    token = services.feed_create(member=personas.newcomer)
    assert fetch(Client(), token).status_code == 200
    member_deactivate(actor=personas.coordinator, member=personas.newcomer)
    assert fetch(Client(), token).status_code == 410


def test_org_feeds_are_not_listed_as_the_coordinators_own(client, personas, places):  # noqa: F811
    org_feed_through_the_page(client, personas)
    page = client.get(reverse("patrol_calendar"))
    assert page.context["mine"] == []
