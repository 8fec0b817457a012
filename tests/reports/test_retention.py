"""Retention: after VECINOS_REPORT_RETENTION_DAYS precise places, free text, photos and reporter
contacts are gone (data not held cannot be handed over); the coarse summary remains."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from PIL import Image

from vecinos.core import geo
from vecinos.core.models import RateCounter
from vecinos.network.models import Zone
from vecinos.reports import services
from vecinos.reports.models import Attachment, Incident, Report, VerificationRequest
from vecinos.reports.tasks import purge_expired

T0 = datetime(2025, 5, 1, 18, 15, tzinfo=UTC)
LAT, LNG = 34.0412, -118.2134


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REPORT_RETENTION_DAYS = 30
    services._ZONE_CACHE.clear()
    yield
    services._ZONE_CACHE.clear()


def photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 40)).save(buf, "JPEG")
    return buf.getvalue()


def submit(**fields) -> Report:
    data = {
        "channel": "web",
        "activity": "home",
        "agency": "ice",
        "lat": LAT,
        "lng": LNG,
        "place_text": "1200 E 1st St, apartment 4",
        "description": "Agents knocking on doors",
        "equipment": "vests",
        "reporter_contact": "+12135550199",
        "photos": [(photo(), "a.jpg")],
    }
    data.update(fields)
    return services.report_submit(data=services.ReportInput(**data), source_key_value="k")


@pytest.mark.django_db
def test_old_report_loses_precise_data_and_keeps_the_coarse_summary(personas, settings):
    zone = Zone.objects.create(
        name="Boyle Heights",
        slug="boyle-heights",
        kind="neighborhood",
        cells=geo.circle_cells(LAT, LNG, 800),
        center_lat=LAT,
        center_lng=LNG,
    )
    with time_machine.travel(T0, tick=False):
        old = submit()
        services.report_triage(report=old, tier="verify", actor=personas.dispatcher)
    old.refresh_from_db()
    old_file = settings.MEDIA_ROOT / old.attachments.get().path
    assert old_file.exists() and old.zone == zone and old.cell7
    with time_machine.travel(T0 + timedelta(days=29), tick=False):
        recent = submit(place_text="Recent place")
    recent_file = settings.MEDIA_ROOT / recent.attachments.get().path

    with time_machine.travel(T0 + timedelta(days=30, hours=1), tick=False):
        result = purge_expired.call_local()
    assert result["reports"] == 1 and result["files"] == 1 and result["incidents"] == 1

    old.refresh_from_db()
    assert old.lat is None and old.lng is None
    assert old.place_text == "" and old.description == "" and old.reporter_contact == ""
    assert old.source_key == "" and old.purged_at is not None
    assert not Attachment.objects.filter(report=old).exists()
    assert not old_file.exists()
    # What remains is coarse: the H3 res-7 cell, the zone, what kind of operation, the outcome.
    assert old.cell7 == geo.cell_of(LAT, LNG, 7) and old.zone == zone
    assert (old.activity, old.agency) == ("home", "ice")
    incident = Incident.objects.get(pk=old.incident_id)
    assert incident.lat is None and incident.place_summary == ""
    assert incident.cell7 and incident.zone == zone and incident.activity == "home"

    recent.refresh_from_db()
    assert recent.lat == pytest.approx(LAT) and recent.place_text == "Recent place"
    assert recent.reporter_contact == "+12135550199" and recent.purged_at is None
    assert recent_file.exists() and recent.attachments.count() == 1


@pytest.mark.django_db
def test_purged_values_are_gone_from_the_database_rows(personas):
    from django.db import connection

    with time_machine.travel(T0, tick=False):
        report = submit()
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        purge_expired.call_local()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lat, lng, place_text, description, reporter_contact, equipment "
            "FROM reports_report WHERE id = %s",
            [report.pk],
        )
        row = cursor.fetchone()
    assert row[0] is None and row[1] is None
    assert all(value in ("", None) for value in row[2:])


@pytest.mark.django_db
def test_outcome_survives_purge_and_rumor_page_still_works(client, personas):
    Zone.objects.create(
        name="Boyle Heights",
        slug="boyle-heights",
        kind="neighborhood",
        cells=geo.circle_cells(LAT, LNG, 800),
        center_lat=LAT,
        center_lng=LNG,
    )
    with time_machine.travel(T0, tick=False):
        report = submit()
        services.report_triage(report=report, tier="verify", actor=personas.dispatcher)
        report.refresh_from_db()
    # Checked late (25 days on): still within the rumor page's week when the report expires.
    with time_machine.travel(T0 + timedelta(days=25), tick=False):
        request = VerificationRequest.objects.create(
            incident=report.incident, verifier=personas.verifier
        )
        services.verification_outcome(
            request=request, outcome=Incident.Status.CONFIRMED, photos=[(photo(), "v.jpg")]
        )
    with time_machine.travel(T0 + timedelta(days=30, hours=2), tick=False):
        purge_expired.call_local()
        response = client.get("/rumors/")
    incident = Incident.objects.get(pk=report.incident_id)
    assert incident.outcome == Incident.Status.CONFIRMED and incident.purged_at is not None
    assert not Attachment.objects.filter(incident=incident).exists()
    assert response.status_code == 200
    html = response.content.decode()
    assert "Confirmed" in html and "Boyle Heights" in html
    assert "1200 E 1st" not in html


@pytest.mark.django_db
def test_purge_also_clears_expired_rate_counters():
    RateCounter.objects.create(name="rl:web:old:1", count=3, expires=1)
    RateCounter.objects.create(name="rl:web:live:1", count=3, expires=2**40)
    result = purge_expired.call_local()
    assert result["rate_counters"] == 1
    assert list(RateCounter.objects.values_list("name", flat=True)) == ["rl:web:live:1"]


def test_purge_runs_every_hour():
    task = purge_expired.s()
    day = datetime(2025, 6, 10)
    runs = [
        day + timedelta(minutes=m)
        for m in range(24 * 60)
        if task.validate_datetime(day + timedelta(minutes=m))
    ]
    assert len(runs) == 24
    assert {run.hour for run in runs} == set(range(24))


@pytest.mark.django_db
def test_purge_is_idempotent(personas):
    with time_machine.travel(T0, tick=False):
        submit()
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        assert purge_expired.call_local()["reports"] == 1
        assert purge_expired.call_local()["reports"] == 0
