"""The alerts API: POST /api/v1/alerts, POST /api/v1/alerts/{id}/approve, GET /api/v1/alerts/{id}.

Same permissions as the pages (dispatchers and coordinators), the same two-person rule for the
public tier, and service errors as 400 {"errors": {...}}."""

from __future__ import annotations

import pytest

from vecinos.alerts import services
from vecinos.alerts.models import Alert, Tier
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery
from vecinos.network.services import token_create
from vecinos.reports.models import Incident
from vecinos.transports import registry

BOYLE = (34.0407, -118.2110)


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def bearer(member):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_create(member=member, name='t').secret}"}


def post(client, url, body, member):
    return client.post(url, body, content_type="application/json", **bearer(member))


INTERNAL = {
    "kind": "activation",
    "tiers": ["internal"],
    "messages": {"es": "Activación: vayan a observar.", "en": "Activation: go observe."},
}
PUBLIC = {
    "kind": "sighting",
    "tiers": ["public"],
    "messages": {"es": "Operativo confirmado.", "en": "Confirmed operation."},
    "lat": BOYLE[0],
    "lng": BOYLE[1],
    "radius_m": 2000,
}


@pytest.mark.django_db
def test_anonymous_callers_get_401(client, personas):
    alert = services.alert_create(actor=personas.dispatcher, **INTERNAL)
    assert (
        client.post("/api/v1/alerts", INTERNAL, content_type="application/json").status_code == 401
    )
    assert client.post(f"/api/v1/alerts/{alert.pk}/approve").status_code == 401
    assert client.get(f"/api/v1/alerts/{alert.pk}").status_code == 401
    assert Alert.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["verifier", "newcomer"])
def test_members_who_cannot_alert_get_403(client, personas, persona):
    member = getattr(personas, persona)
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind="sighting",
        tiers=["public"],
        messages=PUBLIC["messages"],
        point=BOYLE,
        radius_m=2000,
    )
    services.alert_send(alert=alert, actor=personas.dispatcher)
    assert post(client, "/api/v1/alerts", INTERNAL, member).status_code == 403
    assert post(client, f"/api/v1/alerts/{alert.pk}/approve", {}, member).status_code == 403
    assert client.get(f"/api/v1/alerts/{alert.pk}", **bearer(member)).status_code == 403
    alert.refresh_from_db()
    assert alert.status == Alert.Status.PENDING and Alert.objects.count() == 1


@pytest.mark.django_db
def test_internal_alert_is_created_and_sent_and_counted(client, personas):
    for member in (personas.dispatcher, personas.verifier):
        services.ensure_member_subscriber(member)
    response = post(client, "/api/v1/alerts", INTERNAL, personas.dispatcher)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "sent"
    alert_id = body["id"]
    data = client.get(f"/api/v1/alerts/{alert_id}", **bearer(personas.coordinator)).json()
    assert data["recipients"] == 2 and data["deliveries"] == {"queued": 2}
    assert data["kind"] == "activation" and data["tiers"] == ["internal"]
    messaging.dispatch()
    recipient = Alert.objects.get(pk=alert_id).recipients.first()
    services.acknowledge(recipient=recipient, via="sms")
    data = client.get(f"/api/v1/alerts/{alert_id}", **bearer(personas.dispatcher)).json()
    assert data["deliveries"] == {"delivered": 2} and data["acknowledged"] == 1


@pytest.mark.django_db
def test_two_person_rule_over_the_api(client, personas):
    services.subscribe(phone="+12135550160", point=BOYLE, radius_m=1000, confirmed=True)
    response = post(client, "/api/v1/alerts", PUBLIC, personas.dispatcher)
    assert response.status_code == 201 and response.json()["status"] == "pending"
    alert_id = response.json()["id"]
    assert Delivery.objects.filter(ref_type="alert").count() == 0
    same = post(client, f"/api/v1/alerts/{alert_id}/approve", {}, personas.dispatcher)
    assert same.status_code == 403
    assert Alert.objects.get(pk=alert_id).status == Alert.Status.PENDING
    # A coordinator of another organization does not even see org A's alert.
    outsider = post(client, f"/api/v1/alerts/{alert_id}/approve", {}, personas.outsider)
    assert outsider.status_code == 404
    other = post(client, f"/api/v1/alerts/{alert_id}/approve", {}, personas.coordinator)
    assert other.status_code == 200 and other.json() == {"id": alert_id, "status": "sent"}
    assert Delivery.objects.filter(ref_type="alert").count() == 1
    # Approving again changes nothing.
    again = post(client, f"/api/v1/alerts/{alert_id}/approve", {}, personas.coordinator)
    assert (
        again.json()["status"] == "sent" and Delivery.objects.filter(ref_type="alert").count() == 1
    )


@pytest.mark.django_db
def test_outsider_cannot_approve_their_own_public_alert(client, personas):
    alert_id = post(client, "/api/v1/alerts", PUBLIC, personas.outsider).json()["id"]
    assert (
        post(client, f"/api/v1/alerts/{alert_id}/approve", {}, personas.outsider).status_code == 403
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change,field",
    [
        ({"messages": {"es": "Operativo cerca de {area}."}}, "message_es"),
        ({"messages": {}}, "messages"),
        ({"tiers": []}, "tiers"),
        ({"tiers": ["members"]}, "target"),
        ({"zones": ["nowhere"]}, "zones"),
        ({"lat": 34.0}, "target"),
        ({"kind": "all_clear"}, "parent"),
        ({"parent_id": 999}, "parent_id"),
        ({"incident_id": 999}, "incident_id"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_alerts_that_cannot_be_sent_answer_400_with_field_errors(client, personas, change, field):
    response = post(client, "/api/v1/alerts", {**INTERNAL, **change}, personas.dispatcher)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_an_unconfirmed_incident_cannot_be_alerted(client, personas):
    incident = Incident.objects.create(status=Incident.Status.NEW, lat=34.04, lng=-118.21)
    response = post(
        client, "/api/v1/alerts", {**INTERNAL, "incident_id": incident.pk}, personas.dispatcher
    )
    assert response.status_code == 400 and "incident_id" in response.json()["errors"]
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.CONFIRMED)
    response = post(
        client, "/api/v1/alerts", {**INTERNAL, "incident_id": incident.pk}, personas.dispatcher
    )
    assert response.status_code == 201
    assert Alert.objects.get().incident_id == incident.pk


@pytest.mark.django_db
def test_follow_up_goes_to_the_original_recipients(client, personas):
    for member in (personas.dispatcher, personas.verifier):
        services.ensure_member_subscriber(member)
    first = post(client, "/api/v1/alerts", INTERNAL, personas.dispatcher).json()["id"]
    body = {
        "kind": "all_clear",
        "messages": {"es": "Todo despejado.", "en": "All clear."},
        "parent_id": first,
    }
    response = post(client, "/api/v1/alerts", body, personas.coordinator)
    assert response.status_code == 201
    follow = Alert.objects.get(pk=response.json()["id"])
    assert follow.parent_id == first and follow.tiers == [Tier.INTERNAL]
    # An organization's coordinator's alert waits for a second person (outside probe, 19).
    assert follow.status == Alert.Status.PENDING and follow.recipients_count == 0
    approved = post(client, f"/api/v1/alerts/{follow.pk}/approve", {}, personas.dispatcher)
    assert approved.status_code == 200, approved.content
    follow.refresh_from_db()
    assert follow.recipients_count == 2


@pytest.mark.django_db
def test_unknown_alert_is_404_and_unknown_fields_are_refused(client, personas):
    assert client.get("/api/v1/alerts/999", **bearer(personas.dispatcher)).status_code == 404
    assert post(client, "/api/v1/alerts/999/approve", {}, personas.dispatcher).status_code == 404
    response = post(client, "/api/v1/alerts", {**INTERNAL, "phones": ["+1"]}, personas.dispatcher)
    assert response.status_code == 422


@pytest.mark.django_db
def test_alert_paths_are_in_the_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}",
        "/api/v1/alerts/{alert_id}/approve",
    } <= set(paths)
