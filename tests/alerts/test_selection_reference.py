"""The fan-out's recipient selection (one SQL statement: cells, rim arithmetic, status,
opt-outs, the hourly throttle, tiers) against a straightforward reference written from the
rules, on random people: any difference is a wrong answer."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, OptOut, Subscriber, SubscriptionArea, Tier
from vecinos.alerts.rules import THROTTLE_EXEMPT, THROTTLE_PER_HOUR
from vecinos.core import geo
from vecinos.network.models import ROLE_MIN_TIER, Member, Membership, Organization, Role
from vecinos.network.models import Tier as Vetting

pytestmark = pytest.mark.django_db

CENTER = (34.05, -118.25)
STATUSES = [Subscriber.Status.ACTIVE] * 4 + [Subscriber.Status.PENDING, Subscriber.Status.STOPPED]

person = st.fixed_dictionaries(
    {
        # Up to ~28 km from the centre each way: inside, on the rim and well outside.
        "dlat": st.floats(-0.25, 0.25),
        "dlng": st.floats(-0.3, 0.3),
        "radius": st.sampled_from([None, 0, 150, 1000, 3000, 5000, 6500]),
        "status": st.sampled_from(STATUSES),
        "member": st.booleans(),
        "role": st.sampled_from([None, None, Role.DISPATCHER, Role.RESPONDER]),
        # A role counts only once its holder's vetting reaches the role's minimum.
        "vetting": st.sampled_from([Vetting.NEW, Vetting.VOUCHED, Vetting.TRAINED]),
        "language": st.sampled_from(["es", "en", "ko"]),
        "opted_out": st.integers(0, 5).map(lambda n: n == 0),
        "busy": st.integers(0, 4).map(lambda n: n == 0),
        "second_area": st.booleans(),
    }
)
alert_shape = st.fixed_dictionaries(
    {
        "dlat": st.floats(-0.1, 0.1),
        "dlng": st.floats(-0.1, 0.1),
        "radius": st.integers(200, 25_000),
        "tiers": st.sets(
            st.sampled_from([Tier.INTERNAL, Tier.RESPONDERS, Tier.MEMBERS, Tier.PUBLIC]),
            min_size=1,
        ),
        "kind": st.sampled_from([Alert.Kind.SIGHTING, Alert.Kind.NOTICE, Alert.Kind.CORRECTION]),
        "throttled_hour": st.booleans(),
    }
)


def flat_distance_m(lat0, lng0, lat, lng):
    """The documented rule: flat-earth distance around the alert's latitude."""
    dx = math.radians(lng - lng0) * math.cos(math.radians(lat0))
    dy = math.radians(lat - lat0)
    return math.hypot(dx, dy) * geo.EARTH_RADIUS_M


def build(people, org):
    """The people in the database; returns what the reference needs about each."""
    facts = {}
    for i, p in enumerate(people):
        member = None
        if p["member"] or p["role"]:
            member = Member.objects.create(username=f"m{i}", tier=p["vetting"])
            if p["role"]:
                Membership.objects.create(member=member, organization=org, role=p["role"])
        sub = Subscriber.objects.create(
            member=member,
            status=p["status"],
            language=p["language"],
            phone_index=f"idx{i}",
            channels=["sms"],
        )
        places = [(CENTER[0] + p["dlat"], CENTER[1] + p["dlng"], p["radius"])]
        if p["second_area"]:  # a second place 8 km east: one person, two areas
            places.append((places[0][0], places[0][1] + 0.087, 1000))
        for lat, lng, radius in places:
            SubscriptionArea.objects.create(
                subscriber=sub, lat=lat, lng=lng, radius_m=radius, cell7=geo.cell_of(lat, lng, 7)
            )
        if p["opted_out"]:
            OptOut.objects.create(phone_index=sub.phone_index)
        facts[sub.pk] = {**p, "places": places, "is_member": member is not None}
    return facts


def reference(facts, shape, center, *, busy_counts):
    """Who should get it, by the rules read plainly (no cells, no SQL)."""
    tiers = shape["tiers"]
    out = {}
    for pk, f in facts.items():
        if f["status"] != Subscriber.Status.ACTIVE or f["opted_out"]:
            continue
        if shape["kind"] not in THROTTLE_EXEMPT and busy_counts.get(pk, 0) >= THROTTLE_PER_HOUR:
            continue
        in_area = any(
            flat_distance_m(*center, lat, lng) <= shape["radius"] + (radius or 0)
            for lat, lng, radius in f["places"]
        )
        role = f["role"] if f["role"] and f["vetting"] >= ROLE_MIN_TIER[f["role"]] else None
        if Tier.INTERNAL in tiers and role == Role.DISPATCHER:
            out[pk] = (Tier.INTERNAL, f["language"])
        elif Tier.RESPONDERS in tiers and role == Role.RESPONDER:
            out[pk] = (Tier.RESPONDERS, f["language"])
        elif in_area and f["is_member"] and Tier.MEMBERS in tiers:
            out[pk] = (Tier.MEMBERS, f["language"])
        elif in_area and not f["is_member"] and Tier.PUBLIC in tiers:
            out[pk] = (Tier.PUBLIC, f["language"])
    return out


def hold_back(facts, org, *, throttled_hour):
    """The busy people got THROTTLE_PER_HOUR alerts this hour (or, when the hour is quiet,
    one fewer: then nobody is held back). Returns each person's count."""
    n = THROTTLE_PER_HOUR if throttled_hour else THROTTLE_PER_HOUR - 1
    busy = [pk for pk, f in facts.items() if f["busy"]]
    now = timezone.now()
    counts: dict[int, int] = {}
    for i in range(n):
        sent = Alert.objects.create(
            kind=Alert.Kind.SIGHTING,
            status=Alert.Status.SENT,
            tiers=[Tier.PUBLIC],
            organization=org,
            sent_at=now - timedelta(minutes=5 + i),
            expires_at=now + timedelta(hours=1),
        )
        for pk in busy:
            AlertRecipient.objects.create(alert=sent, subscriber_id=pk, tier=Tier.PUBLIC)
            counts[pk] = counts.get(pk, 0) + 1
    # An exempt alert (an all-clear) in the hour counts for nobody.
    exempt = Alert.objects.create(
        kind=Alert.Kind.ALL_CLEAR,
        status=Alert.Status.SENT,
        tiers=[Tier.PUBLIC],
        organization=org,
        sent_at=now - timedelta(minutes=1),
        expires_at=now + timedelta(hours=1),
    )
    for pk in busy:
        AlertRecipient.objects.create(alert=exempt, subscriber_id=pk, tier=Tier.PUBLIC)
    return counts


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=st.lists(person, min_size=1, max_size=25), shape=alert_shape)
def test_selection_matches_the_rules_on_random_people(people, shape):
    with transaction.atomic():
        org = Organization.objects.create(name="Org", short_name="org")
        facts = build(people, org)
        counts = hold_back(facts, org, throttled_hour=shape["throttled_hour"])
        center = (CENTER[0] + shape["dlat"], CENTER[1] + shape["dlng"])
        draft = Alert(
            kind=shape["kind"],
            tiers=sorted(shape["tiers"]),
            lat=center[0],
            lng=center[1],
            radius_m=shape["radius"],
        )
        got = services.select_recipients(draft, zones=[])
        want = reference(facts, shape, center, busy_counts=counts)
        assert {t.subscriber_id: (t.tier, t.language) for t in got} == want
        assert len(got) == len(want)  # nobody twice
        order = [Tier.INTERNAL, Tier.RESPONDERS, Tier.MEMBERS, Tier.PUBLIC]
        ranks = [order.index(t.tier) for t in got]
        assert ranks == sorted(ranks)  # inner tiers first (the first chunk goes to them)
        # The area alone (what the composer and call-outs use): active people in the circle.
        in_area = services.subscribers_in_area(point=center, radius_m=shape["radius"])
        assert in_area == {
            pk
            for pk, f in facts.items()
            if f["status"] == Subscriber.Status.ACTIVE
            and any(
                flat_distance_m(*center, lat, lng) <= shape["radius"] + (radius or 0)
                for lat, lng, radius in f["places"]
            )
        }
        transaction.set_rollback(True)


def test_a_wide_area_is_reached_from_far_past_the_rim():
    """The rim is as wide as the widest area anyone has (read from the database each time):
    someone 20 km out with a 19 km area still hears about a 2 km circle."""
    sub = Subscriber.objects.create(status=Subscriber.Status.ACTIVE, language="es")
    lat, lng = CENTER[0] + 0.18, CENTER[1]  # 20 km north
    SubscriptionArea.objects.create(
        subscriber=sub, lat=lat, lng=lng, radius_m=19_000, cell7=geo.cell_of(lat, lng, 7)
    )
    assert services.subscribers_in_area(point=CENTER, radius_m=2000) == {sub.pk}
    assert services.subscribers_in_area(point=CENTER, radius_m=900) == set()


def test_someone_with_several_areas_in_the_circle_is_chosen_once():
    """Each of their areas matches (PostgreSQL's statement joins areas to people, so the
    person comes back once per area): the selection still lists them once, in each of its
    ways (inner cells, rim cells) and with their own language and tier."""
    sub = Subscriber.objects.create(status=Subscriber.Status.ACTIVE, language="ko")
    other = Subscriber.objects.create(status=Subscriber.Status.ACTIVE, language="es")
    places = [(CENTER[0], CENTER[1]), (CENTER[0] + 0.001, CENTER[1]), (CENTER[0] + 0.08, CENTER[1])]
    for lat, lng in places:  # two in the middle, one 9 km north: on the rim of a 9 km circle
        SubscriptionArea.objects.create(
            subscriber=sub, lat=lat, lng=lng, radius_m=500, cell7=geo.cell_of(lat, lng, 7)
        )
    SubscriptionArea.objects.create(
        subscriber=other, lat=CENTER[0], lng=CENTER[1], radius_m=0, cell7=geo.cell_of(*CENTER, 7)
    )
    draft = Alert(kind=Alert.Kind.SIGHTING, tiers=[Tier.PUBLIC], lat=CENTER[0], lng=CENTER[1])
    draft.radius_m = 9000
    got = services.select_recipients(draft, zones=[])
    assert sorted(tuple(t) for t in got) == sorted(
        [(sub.pk, Tier.PUBLIC, "ko"), (other.pk, Tier.PUBLIC, "es")]
    )
    assert services.subscribers_in_area(point=CENTER, radius_m=9000) == {sub.pk, other.pk}
