"""A sighting's time is bounded: absurd times (year 1 at +14:00 overflowed on save, a 500) and
times older than 30 days get a clear message, through the web form and the JSON API alike."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from vecinos.reports.models import Report

TOO_OLD = "The time seen must be within the last 30 days."


def _client() -> Client:
    return Client(REMOTE_ADDR="10.{}.{}.{}".format(*(secrets.randbelow(254) + 1 for _ in range(3))))


def _form(seen_at: str) -> dict:
    return {"activity": "street", "place_text": "Soto St and 1st St", "seen_at": seen_at}


def _api(client: Client, seen_at: str):
    body = {"activity": "street", "place_text": "Soto St and 1st St", "seen_at": seen_at}
    return client.post("/api/v1/reports", json.dumps(body), content_type="application/json")


OLD_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00",
    (timezone.localtime() - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("seen_at", OLD_TIMES)
def test_web_form_refuses_a_time_before_the_last_30_days_with_a_message(seen_at):
    response = _client().post("/report/", _form(seen_at))
    assert response.status_code == 200
    assert TOO_OLD in response.content.decode()
    assert not Report.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("seen_at", [*OLD_TIMES, "0001-01-01T00:00:00-12:00"])
def test_api_refuses_a_time_before_the_last_30_days_with_400(seen_at):
    response = _api(_client(), seen_at)
    assert response.status_code == 400
    assert response.json() == {"errors": {"seen_at": TOO_OLD}}
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_api_refuses_a_time_at_the_end_of_the_calendar_as_in_the_future():
    response = _api(_client(), "9999-12-31T23:59:59-14:00")
    assert response.status_code == 400
    assert "seen_at" in response.json()["errors"]


@pytest.mark.django_db
def test_web_form_refuses_a_time_at_the_end_of_the_calendar_without_a_500():
    response = _client().post("/report/", _form("9999-12-31T23:59:59-14:00"))
    assert response.status_code == 200
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_a_time_29_days_back_is_accepted():
    seen = timezone.localtime() - timedelta(days=29)
    response = _api(_client(), seen.isoformat())
    assert response.status_code == 201
    assert Report.objects.get().seen_at == seen.replace(microsecond=seen.microsecond)


@pytest.mark.django_db
def test_too_old_message_is_translated():
    with translation.override("es"):
        response = _client().post("/report/", _form("0001-01-01T00:00"), HTTP_ACCEPT_LANGUAGE="es")
    assert "La hora en que lo vio debe estar dentro de los últimos 30 días." in (
        response.content.decode()
    )
