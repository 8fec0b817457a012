"""The reports JSON API: anonymous intake for apps and partner hotlines, incidents for the
console. Every endpoint is tested for each persona that must be refused."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import make_member, sign_in
from vecinos.network.models import Tier
from vecinos.network.services import token_create
from vecinos.reports import services
from vecinos.reports.models import IntakeChannel, Report

REPORTS = "/api/v1/reports"
INCIDENTS = "/api/v1/incidents"


# Yesterday at 14:20 in Los Angeles: a sighting must be dated within the last 30 days.
SEEN_LOCAL = (datetime.now(ZoneInfo("America/Los_Angeles")) - timedelta(days=1)).replace(
    hour=14, minute=20, second=0, microsecond=0
)


def random_ip() -> str:
    # Rate-limit counters may live in Redis and outlive the test's transaction.
    return "10.{}.{}.{}".format(*(secrets.randbelow(254) + 1 for _ in range(3)))


@pytest.fixture
def client():
    return Client(REMOTE_ADDR=random_ip())


def bearer(member) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_create(member=member, name='t').secret}"}


def post(client, payload, **extra):
    return client.post(REPORTS, json.dumps(payload), content_type="application/json", **extra)


GOOD = {
    "activity": "checkpoint",
    "agency": "cbp",
    "lat": 34.0412,
    "lng": -118.2134,
    "place_text": "Soto St and 1st St",
    "agents_count": 4,
    "vehicles_count": 3,
    "seen_at": SEEN_LOCAL.strftime("%Y-%m-%dT%H:%M:%S"),
    "equipment": "green uniforms",
    "description": "Cars stopped at a checkpoint.",
    "reporter_contact": "signal: @someone",
    "language": "es",
}


def incident_for(dispatcher, **fields):
    report = services.report_submit(
        data=services.ReportInput(
            channel="web",
            activity="street",
            lat=34.0412,
            lng=-118.2134,
            place_text="Soto St and 1st St",
            **fields,
        ),
        source_key_value="k1",
    )
    services.report_triage(report=report, tier="verify", actor=dispatcher)
    report.refresh_from_db()
    return report.incident


# --- POST /api/v1/reports ----------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_report_is_accepted_with_id_and_receipt(client):
    response = post(client, GOOD)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "receipt"}
    report = Report.objects.get(pk=body["id"])
    assert report.receipt == body["receipt"]
    assert report.channel == IntakeChannel.API
    assert (report.activity, report.agency, report.agents_count) == ("checkpoint", "cbp", 4)
    assert report.language == "es" and report.reporter_contact == "signal: @someone"
    assert report.reporter_member is None and not report.trusted
    # A time without an offset is read in the coalition's time zone (Los Angeles).
    assert report.seen_at == SEEN_LOCAL.astimezone(UTC)


@pytest.mark.django_db
def test_minimal_report_takes_language_from_the_request(client):
    response = post(
        client,
        {"place_text": "Huntington Park", "activity": "workplace"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 201
    report = Report.objects.get()
    assert report.language == "en" and report.lat is None and report.agency == "unknown"


@pytest.mark.django_db
def test_vouched_member_token_makes_the_report_trusted(client, personas):
    neighbor = make_member("neighbor", tier=Tier.VOUCHED)
    response = post(client, GOOD, **bearer(neighbor))
    assert response.status_code == 201
    report = Report.objects.get()
    assert report.reporter_member == neighbor and report.trusted


@pytest.mark.django_db
def test_invalid_token_is_refused_not_silently_anonymous(client):
    response = post(client, GOOD, HTTP_AUTHORIZATION="Bearer vcn_forged")
    assert response.status_code == 401
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_session_without_csrf_token_reports_anonymously(personas):
    # Another website cannot make a member's browser file "trusted" reports in their name.
    neighbor = make_member("neighbor", tier=Tier.VOUCHED)
    browser = sign_in(Client(enforce_csrf_checks=True, REMOTE_ADDR=random_ip()), neighbor)
    response = post(browser, GOOD)
    assert response.status_code == 201
    report = Report.objects.get()
    assert report.reporter_member is None and not report.trusted


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [
        {"lat": 95},
        {"lng": -500},
        {"lat": "north"},
        {"agents_count": 501},
        {"vehicles_count": -1},
        {"activity": "raid"},
        {"agency": "fbi"},
        {"seen_at": "yesterday"},
        {"place_text": "x" * 301},
        {"description": "x" * 2001},
        {"photos": ["aGVsbG8="]},  # photos are not accepted over JSON
        {"language": "<script>"},
    ],
)
def test_malformed_fields_answer_422(client, overrides):
    response = post(client, {**GOOD, **overrides})
    assert response.status_code == 422
    assert response.json()["detail"]
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_malformed_json_answers_an_error_not_500(client):
    response = client.post(REPORTS, "{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert Report.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload,field,message",
    [
        ({**GOOD, "lng": None}, "location", "Give both latitude and longitude"),
        ({}, "__all__", "Tell us at least where it is or what you saw."),
        ({"activity": "street"}, "place_text", "Tell us where"),
        ({**GOOD, "seen_at": "2999-01-01T00:00:00Z"}, "seen_at", "cannot be in the future"),
    ],
)
def test_reports_the_service_refuses_answer_400_with_field_errors(client, payload, field, message):
    response = post(client, payload)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert message in errors[field]
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_service_errors_come_in_the_callers_language(client):
    response = post(client, {}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert response["Content-Language"] == "es"


@pytest.mark.django_db
def test_rate_limit_answers_429(client, settings):
    settings.REPORT_RATE_LIMIT = 3
    with time_machine.travel(datetime(2025, 6, 10, 19, 1, tzinfo=UTC), tick=False):
        payload = {**GOOD, "seen_at": None}
        for _ in range(3):
            assert post(client, payload).status_code == 201
        response = post(client, payload)
    assert response.status_code == 429
    assert "Too many reports from this connection" in response.json()["detail"]
    assert Report.objects.count() == 3


@pytest.mark.django_db
def test_invalid_reports_count_toward_the_limit_and_over_it_the_answer_is_429(client, settings):
    # Validation runs before the write transaction; the count must still come first, so a
    # flooder of invalid reports is refused like any other and learns nothing more.
    settings.REPORT_RATE_LIMIT = 2
    with time_machine.travel(datetime(2025, 6, 10, 19, 1, tzinfo=UTC), tick=False):
        invalid = {"activity": "street"}  # nothing says where
        assert post(client, invalid).status_code == 400
        assert post(client, invalid).status_code == 400
        assert post(client, invalid).status_code == 429
        assert post(client, {**GOOD, "seen_at": None}).status_code == 429
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_openapi_documents_the_reports_endpoints(client):
    schema = client.get("/api/v1/openapi.json").json()
    create = schema["paths"]["/api/v1/reports"]["post"]
    assert create["summary"] == "Submit a report"
    assert "Photos are not accepted over JSON" in create["description"]
    assert {"201", "400", "429"} <= set(create["responses"])
    assert not create.get("security")  # anonymous allowed
    assert schema["paths"]["/api/v1/incidents"]["get"]["summary"]
    assert schema["paths"]["/api/v1/incidents/{incident_id}"]["get"]["summary"]
    report_in = schema["components"]["schemas"]["ReportIn"]["properties"]
    assert {"activity", "agency", "lat", "lng", "place_text", "agents_count"} <= set(report_in)


# --- GET /api/v1/incidents ----------------------------------------------------------------------


@pytest.mark.django_db
def test_incidents_need_sign_in(client, personas):
    incident = incident_for(personas.dispatcher)
    assert client.get(INCIDENTS).status_code == 401
    assert client.get(f"{INCIDENTS}/{incident.pk}").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["newcomer", "verifier"])
def test_incidents_are_refused_to_members_outside_the_console(client, personas, persona):
    incident = incident_for(personas.dispatcher)
    headers = bearer(getattr(personas, persona))
    assert client.get(INCIDENTS, **headers).status_code == 403
    assert client.get(f"{INCIDENTS}/{incident.pk}", **headers).status_code == 403
    # Same answer for an id that does not exist: nothing to probe.
    assert client.get(f"{INCIDENTS}/999999", **headers).status_code == 403


@pytest.mark.django_db
def test_vouched_member_who_is_not_trained_is_refused(client, personas):
    from vecinos.network.models import Membership, Role

    half = make_member("half", tier=Tier.VOUCHED)
    Membership.objects.create(member=half, organization=personas.org_a, role=Role.DISPATCHER)
    assert client.get(INCIDENTS, **bearer(half)).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["dispatcher", "coordinator", "coalition", "outsider"])
def test_console_users_list_open_incidents_with_precise_places(client, personas, persona):
    # Coordinators may use the console, including a coordinator of another organization.
    incident = incident_for(personas.dispatcher)
    response = client.get(INCIDENTS, **bearer(getattr(personas, persona)))
    assert response.status_code == 200
    (row,) = response.json()
    assert row["id"] == incident.pk
    assert row["status"] == "new" and row["outcome"] == ""
    assert row["activity"] == "street" and row["agency"] == "unknown"
    assert row["report_count"] == 1
    assert row["lat"] == pytest.approx(34.0412) and row["lng"] == pytest.approx(-118.2134)
    assert "place_summary" not in row and "reporter_contact" not in row


@pytest.mark.django_db
def test_closed_incidents_are_not_listed(client, personas):
    open_one = incident_for(personas.dispatcher)
    closed = incident_for(personas.dispatcher)
    services.incident_close(incident=closed, actor=personas.dispatcher)
    ids = [row["id"] for row in client.get(INCIDENTS, **bearer(personas.dispatcher)).json()]
    assert ids == [open_one.pk]


@pytest.mark.django_db
def test_incident_list_query_count_does_not_grow_with_incidents(client, personas):
    headers = bearer(personas.dispatcher)
    incident_for(personas.dispatcher)
    client.get(INCIDENTS, **headers)  # warm-up: the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        assert client.get(INCIDENTS, **headers).status_code == 200
    for _ in range(6):
        incident_for(personas.dispatcher)
    with CaptureQueriesContext(connection) as many:
        response = client.get(INCIDENTS, **headers)
    assert len(response.json()) == 7
    assert len(many) == len(few)


@pytest.mark.django_db
def test_incident_detail_has_its_timeline(client, personas):
    incident = incident_for(personas.dispatcher)
    response = client.get(f"{INCIDENTS}/{incident.pk}", **bearer(personas.dispatcher))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == incident.pk and body["report_count"] == 1
    kinds = [(event["kind"], event["actor"]) for event in body["timeline"]]
    assert ("opened", "dispatcher") in kinds and ("triaged", "dispatcher") in kinds
    assert all(event["created_at"] for event in body["timeline"])


@pytest.mark.django_db
def test_incident_detail_of_missing_id_is_404_for_console_users(client, personas):
    assert client.get(f"{INCIDENTS}/999999", **bearer(personas.dispatcher)).status_code == 404


@pytest.mark.django_db
def test_signed_in_dispatcher_session_can_read_incidents(personas):
    browser = sign_in(Client(REMOTE_ADDR=random_ip()), personas.dispatcher)
    incident_for(personas.dispatcher)
    assert browser.get(INCIDENTS).status_code == 200
