"""Member quick report: three taps from a phone; the report carries the member's vetting tier."""

from __future__ import annotations

import secrets

import pytest
from django.urls import reverse

from tests.conftest import make_member
from vecinos.network.models import Role, Tier
from vecinos.reports.models import Report, ReportStatus


@pytest.fixture(autouse=True)
def _fresh_rate_keys(settings):
    # Rate-limit counters live in Redis at scale and outlive the test database; a fresh secret
    # gives this test its own rotating source keys, so earlier runs cannot exhaust the limit.
    settings.SECRET_KEY = secrets.token_urlsafe(50)


TAPS = {"activity": "checkpoint", "lat": "34.0407", "lng": "-118.2468", "how_many": "5"}


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in(client):
    for name in ("quick_report", "quick_report_done"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.post(reverse("quick_report"), TAPS)
    assert response.status_code == 302 and not Report.objects.exists()


@pytest.mark.django_db
def test_vouched_member_report_is_trusted_and_marked_vetted_in_the_queue(personas, login):
    member = make_member("patroller", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.VOUCHED)
    client = login(member)
    page = client.get(reverse("quick_report"))
    assert page.status_code == 200
    assert "data-geolocate" in page.content.decode() and "<script>" not in page.content.decode()
    response = client.post(reverse("quick_report"), TAPS)
    assert response.status_code == 302 and response["Location"] == reverse("quick_report_done")
    report = Report.objects.get()
    assert report.channel == "patrol" and report.status == ReportStatus.NEW
    assert report.reporter_member == member and report.reporter_tier == Tier.VOUCHED
    assert report.trusted and report.activity == "checkpoint" and report.agents_count == 5
    assert report.lat == pytest.approx(34.0407) and report.source_key
    done = client.get(reverse("quick_report_done")).content.decode()
    assert report.receipt in done and "vetted member" in done

    dispatcher = login(personas.dispatcher)
    queue = dispatcher.get(reverse("console_queue")).content.decode()
    row = queue[queue.index(f'data-row="r{report.pk}"') :]
    row = row[: row.index("</li>")]
    assert report.receipt in row and "vetted member" in row and "Patrol / member" in row


@pytest.mark.django_db
def test_newcomer_may_report_but_is_not_marked_vetted(personas, login):
    client = login(personas.newcomer)
    response = client.post(
        reverse("quick_report"),
        {"activity": "street", "place_text": "Cesar Chavez & Soto", "agents_count": "12"},
    )
    assert response.status_code == 302
    report = Report.objects.get()
    assert not report.trusted and report.reporter_tier == Tier.NEW and report.agents_count == 12
    queue = login(personas.dispatcher).get(reverse("console_queue")).content.decode()
    row = queue[queue.index(f'data-row="r{report.pk}"') :]
    assert "vetted member" not in row[: row.index("</li>")]


@pytest.mark.django_db
def test_quick_report_needs_what_and_where(personas, login):
    client = login(personas.newcomer)
    response = client.post(reverse("quick_report"), {"how_many": "2"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Tap what you see" in html and "use your location or type the place" in html
    response = client.post(
        reverse("quick_report"), {"activity": "home", "lat": "123", "lng": "-118"}
    )
    assert response.status_code == 400 and "could not be read" in response.content.decode()
    response = client.post(
        reverse("quick_report"), {"activity": "home", "place_text": "x", "agents_count": "-3"}
    )
    assert response.status_code == 400 and "between 0 and 500" in response.content.decode()
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_too_many_quick_reports_get_a_clear_429(personas, login, settings):
    settings.REPORT_RATE_LIMIT = 2
    client = login(personas.newcomer)
    codes = [client.post(reverse("quick_report"), TAPS).status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    assert Report.objects.count() == 2


@pytest.mark.django_db
def test_receipt_page_shows_only_my_own_report(personas, login, client):
    login(personas.newcomer)
    client.post(reverse("quick_report"), TAPS)
    receipt = Report.objects.get().receipt
    session = client.session
    assert session["vecinos_quick_receipt"] == receipt
    login(personas.verifier)  # another member in a fresh session
    response = client.get(reverse("quick_report_done"))
    assert response.status_code == 302
