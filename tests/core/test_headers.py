"""Answers that may carry personal data are never cached, and every answer turns off the browser
features no page uses; geolocation only where a page asks for a position."""

from __future__ import annotations

import pytest
from django.urls import reverse

from vecinos.network.services import token_create
from vecinos.reports.models import Incident


def bearer(member):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_create(member=member, name='t').secret}"}


def features(response) -> dict[str, str]:
    policy = response["Permissions-Policy"]
    return dict(item.strip().split("=", 1) for item in policy.split(","))


@pytest.mark.django_db
def test_personal_pages_and_api_answers_are_not_stored(client, login, personas):
    incident = Incident.objects.create(status=Incident.Status.NEW, lat=34.04, lng=-118.21)
    login(personas.dispatcher)
    for path in ("/", "/me/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path
    client.logout()
    headers = bearer(personas.dispatcher)
    for path in ("/api/v1/me", f"/api/v1/incidents/{incident.pk}"):
        response = client.get(path, **headers)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path


@pytest.mark.django_db
def test_every_answer_denies_unused_features_and_geolocation_by_default(client, login, personas):
    anonymous = client.get("/healthz")
    assert features(anonymous)["geolocation"] == "()"
    assert features(anonymous)["camera"] == "()" and features(anonymous)["microphone"] == "()"
    assert features(client.get("/api/v1/me"))["geolocation"] == "()"  # a 401 too
    login(personas.dispatcher)
    home = client.get("/")
    assert features(home)["geolocation"] == "()"


@pytest.mark.django_db
def test_geolocation_is_allowed_on_the_report_and_duty_pages_only_for_this_site(
    client, login, personas
):
    report = client.get(reverse("report_form"))
    assert report.status_code == 200
    assert features(report)["geolocation"] == "(self)"
    assert features(report)["camera"] == "()"
    login(personas.verifier)
    duty = client.get(reverse("duty"))
    assert duty.status_code == 200
    assert features(duty)["geolocation"] == "(self)"
    assert features(client.get("/me/"))["geolocation"] == "()"
