"""The incident follows its alerts: confirmed -> alerted -> all clear / corrected. Its console
page stops saying "Ready for alert", its timeline lists each alert with live counts, and the
public rumor page shows the latest state, also after the incident is closed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import make_member, sign_in
from tests.reports.test_rumors import boyle_heights, checked_incident
from vecinos.alerts import services as alerts
from vecinos.alerts.models import Alert, AlertRecipient
from vecinos.messaging import services as messaging
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting
from vecinos.reports import services as reports
from vecinos.reports.models import Incident, IncidentEvent
from vecinos.transports import registry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup():
    registry.reset()
    reports._ZONE_CACHE.clear()
    yield
    reports._ZONE_CACHE.clear()
    registry.reset()


@pytest.fixture
def responders(personas):
    people = [
        make_member(
            f"resp{i}",
            org=personas.org_a,
            roles=(Role.RESPONDER,),
            tier=Vetting.VOUCHED,
            phone=f"+1213555017{i}",
        )
        for i in range(3)
    ]
    for member in people:
        alerts.ensure_member_subscriber(member)
    return people


def send_from_page(client, member, data: dict) -> Alert:
    sign_in(client, member)
    response = client.post(reverse("alert_new"), {"expires_hours": 4, **data})
    assert response.status_code == 302, response.content.decode()[:3000]
    alert_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    assert client.post(reverse("alert_send", args=[alert_id])).status_code == 302
    alert = Alert.objects.get(pk=alert_id)
    assert alert.status == Alert.Status.SENT
    return alert


def incident_page(client, personas, incident) -> str:
    sign_in(client, personas.dispatcher)
    response = client.get(reverse("console_incident", args=[incident.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_incident_moves_to_alerted_then_all_clear_and_its_timeline_counts(
    client, personas, responders
):
    boyle_heights()
    incident = checked_incident(personas, Incident.Status.CONFIRMED)
    assert "Ready for alert" in incident_page(client, personas, incident)

    alert = send_from_page(
        client,
        personas.dispatcher,
        {
            "incident": incident.pk,
            "kind": "activation",
            "tiers": ["responders"],
            "message_es": "Activación: vayan a observar.",
            "message_en": "Activation: go observe.",
        },
    )
    assert alert.incident_id == incident.pk
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ALERTED
    messaging.dispatch()
    first = AlertRecipient.objects.filter(alert=alert).order_by("pk").first()
    alerts.acknowledge(recipient=first, via="sms")

    page = incident_page(client, personas, incident)
    assert "Ready for alert" not in page
    assert "Alerted" in page
    assert (
        f"Alert #{alert.pk} sent (Activation call for responders) to 3 people: "
        "3 messages sent, 1 acknowledged"
    ) in page

    all_clear = send_from_page(
        client,
        personas.dispatcher,
        {
            "parent": alert.pk,
            "kind": "all_clear",
            "message_es": "Todo despejado.",
            "message_en": "All clear.",
        },
    )
    messaging.dispatch()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ALL_CLEAR
    page = incident_page(client, personas, incident)
    assert f"Alert #{all_clear.pk} sent (All clear) to 3 people: 3 messages sent" in page
    assert list(
        IncidentEvent.objects.filter(incident=incident, kind__startswith="alert_").values_list(
            "kind", flat=True
        )
    ) == ["alert_sent", "alert_all_clear"]

    # The public rumor page shows the latest state, and keeps it once the incident is closed.
    html = client.get("/rumors/").content.decode()
    assert "All clear" in html and ">Confirmed<" not in html
    reports.incident_close(incident=incident, actor=personas.dispatcher)
    html = client.get("/rumors/").content.decode()
    assert "All clear" in html and ">Confirmed<" not in html


def test_a_correction_marks_the_incident_corrected_and_the_rumor_page_says_so(
    client, personas, responders
):
    boyle_heights()
    incident = checked_incident(personas, Incident.Status.CONFIRMED)
    html = client.get("/rumors/").content.decode()
    assert ">Confirmed<" in html
    alert = send_from_page(
        client,
        personas.dispatcher,
        {
            "incident": incident.pk,
            "kind": "activation",
            "tiers": ["responders"],
            "message_es": "Activación.",
            "message_en": "Activation.",
        },
    )
    send_from_page(
        client,
        personas.dispatcher,
        {
            "parent": alert.pk,
            "kind": "correction",
            "message_es": "Corrección: era otra calle.",
            "message_en": "Correction: another street.",
        },
    )
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CORRECTED
    assert "Corrected" in incident_page(client, personas, incident)
    html = client.get("/rumors/").content.decode()
    assert "Corrected" in html and ">Confirmed<" not in html


def test_the_incident_api_timeline_lists_the_alerts(client, personas, responders):
    boyle_heights()
    incident = checked_incident(personas, Incident.Status.CONFIRMED)
    send_from_page(
        client,
        personas.dispatcher,
        {
            "incident": incident.pk,
            "kind": "activation",
            "tiers": ["responders"],
            "message_es": "Activación.",
            "message_en": "Activation.",
        },
    )
    from tests.alerts.test_alert_api import bearer

    data = client.get(f"/api/v1/incidents/{incident.pk}", **bearer(personas.dispatcher)).json()
    assert data["status"] == "alerted"
    assert any(e["kind"] == "alert_sent" for e in data["timeline"]), data["timeline"]
