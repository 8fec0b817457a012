"""The console map's data (/console/map.json): the queue's reports and open incidents with their
places, verifiers on duty who gave a location, patrol places with people checked in; the
console's permissions; 204 when unchanged; a fixed number of queries."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from vecinos.patrols.models import Place, Shift, Signup
from vecinos.reports import services
from vecinos.reports.models import OnDuty

pytestmark = pytest.mark.django_db

URL = "/console/map.json"
BOYLE = (34.0407, -118.2110)


def report(lat=BOYLE[0], lng=BOYLE[1], key="k1"):
    return services.report_submit(
        data=services.ReportInput(channel="web", activity="workplace", lat=lat, lng=lng),
        source_key_value=key,
    )


def busy_console(personas, n=3):
    for i in range(n):
        report(lat=BOYLE[0] + i * 0.01, key=f"k{i}")
    triaged = report(lat=34.05, lng=-118.25, key="kx")
    services.report_triage(report=triaged, tier="verify", actor=personas.dispatcher)
    OnDuty.objects.create(
        member=personas.verifier,
        role="verifier",
        until=timezone.now() + timedelta(hours=2),
        lat=34.03,
        lng=-118.22,
    )
    place = Place.objects.create(
        name="Roosevelt High", kind="school", lat=34.039, lng=-118.205, organization=personas.org_a
    )
    now = timezone.now()
    shift = Shift.objects.create(
        place=place, starts_at=now - timedelta(minutes=20), ends_at=now + timedelta(hours=1)
    )
    Signup.objects.create(shift=shift, member=personas.newcomer, checked_in_at=now)
    return triaged


@pytest.mark.parametrize("who", ["anonymous", "newcomer", "verifier"])
def test_only_console_users_get_the_map(client, login, personas, who):
    login(getattr(personas, who, None) if who != "anonymous" else None)
    response = client.get(URL)
    assert response.status_code == (401 if who == "anonymous" else 403)


def test_dispatcher_sees_reports_incidents_verifiers_and_patrols(client, login, personas):
    triaged = busy_console(personas)
    login(personas.dispatcher)
    data = client.get(URL).json()
    assert len(data["reports"]) == 3
    assert {r["receipt"] for r in data["reports"]} and all("lat" in r for r in data["reports"])
    (incident,) = data["incidents"]
    assert incident["id"] == triaged.incident_id
    assert incident["status"] == "new"
    assert data["verifiers"] == [
        {
            "id": personas.verifier.pk,
            "name": personas.verifier.username,
            "lat": 34.03,
            "lng": -118.22,
        }
    ]
    (patrol,) = data["patrols"]
    assert patrol["name"] == "Roosevelt High" and patrol["people"] == 1
    # A patrol is a place and a count: never who is there.
    assert personas.newcomer.username not in client.get(URL).content.decode()


def test_org_coordinator_may_read_it_as_the_console(client, login, personas):
    login(personas.coordinator)
    assert client.get(URL).status_code == 200


def test_unchanged_answers_204_and_a_change_answers_200(client, login, personas):
    busy_console(personas, n=1)
    login(personas.dispatcher)
    first = client.get(URL)
    digest = first["X-Live-Digest"]
    assert client.get(URL, HTTP_X_LIVE_DIGEST=digest).status_code == 204
    report(lat=34.06, key="new")
    changed = client.get(URL, HTTP_X_LIVE_DIGEST=digest)
    assert changed.status_code == 200
    assert len(changed.json()["reports"]) == 2


def test_queries_do_not_grow_with_the_queue(client, login, personas, django_assert_max_num_queries):
    busy_console(personas, n=2)
    login(personas.dispatcher)
    client.get(URL)
    with django_assert_max_num_queries(12) as small:
        client.get(URL)
    for i in range(15):
        report(lat=34.0 + i * 0.005, key=f"more{i}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get(URL).json()["reports"]) == 17


def test_console_page_has_the_map_beside_the_queue(client, login, personas):
    login(personas.dispatcher)
    page = client.get("/console/").content.decode()
    assert 'id="console-map"' in page and 'data-url="/console/map.json"' in page
    assert "leaflet.markercluster.js" in page
    assert page.index('id="console-live"') < page.index('id="console-map"')


# --- staging points of open call-outs (mobilize's own rule for who sees a call-out) ------------


def open_callout(personas, **kw):
    from vecinos.alerts.models import Tier as AudienceTier
    from vecinos.mobilize import services as mobilize

    activation = mobilize.activation_create(
        actor=personas.dispatcher,
        staging_point="Mariachi Plaza, east side",
        needed_by=timezone.now() + timedelta(minutes=30),
        roles={"observer": 2, "presence": 3},
        tiers=[AudienceTier.RESPONDERS],
        **kw,
    )
    return mobilize.activation_send(activation=activation, actor=personas.dispatcher)


def test_open_callouts_staging_points_are_on_the_map_for_those_who_may_see_them(
    client, login, personas
):
    activation = open_callout(personas, point=(34.0472, -118.2197), radius_m=2000)
    login(personas.dispatcher)
    (shown,) = client.get(URL).json()["callouts"]
    assert shown["id"] == activation.pk and shown["code"] == activation.code
    assert shown["staging_point"] == "Mariachi Plaza, east side"
    assert (shown["lat"], shown["lng"]) == (34.0472, -118.2197)
    assert shown["needed"] == 5 and shown["coming"] == 0
    # Org A's coordinator sees Org A's call-out; Org B's coordinator reads the console but
    # not another organization's call-out (mobilize.selectors.visible_activations).
    login(personas.coordinator)
    assert [c["id"] for c in client.get(URL).json()["callouts"]] == [activation.pk]
    login(personas.outsider)
    data = client.get(URL).json()
    assert data["callouts"] == []
    assert "Mariachi" not in json.dumps(data)


def test_a_stood_down_callout_leaves_the_map(client, login, personas):
    from vecinos.mobilize import services as mobilize

    activation = open_callout(personas, point=(34.0472, -118.2197), radius_m=2000)
    login(personas.dispatcher)
    assert len(client.get(URL).json()["callouts"]) == 1
    mobilize.stand_down(activation=activation, actor=personas.dispatcher)
    assert client.get(URL).json()["callouts"] == []


def test_a_callout_without_its_own_point_is_placed_at_its_incident(client, login, personas):
    triaged = report(lat=34.05, lng=-118.25, key="inc")
    services.report_triage(report=triaged, tier="verify", actor=personas.dispatcher)
    incident = triaged.incident
    incident.status = "confirmed"
    incident.save(update_fields=["status"])
    open_callout(personas, incident=incident)
    login(personas.dispatcher)
    (shown,) = client.get(URL).json()["callouts"]
    assert (shown["lat"], shown["lng"]) == (round(incident.lat, 5), round(incident.lng, 5))
