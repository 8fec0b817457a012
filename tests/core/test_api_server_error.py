"""The JSON API answers JSON even when something breaks: a bug is a 500 with {"detail": ...},
not the HTML error page (the 20-digit zone id did that before it was refused). Django still logs
the traceback and signals the exception, so the test client re-raises it by default."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from vecinos.mobilize import services
from vecinos.network.services import token_create

pytestmark = pytest.mark.django_db


def create_call_out(client, member):
    token = token_create(member=member, name="t").secret
    return client.post(
        "/api/v1/activations",
        {
            "staging_point": "x",
            "needed_by": (timezone.now() + timedelta(hours=1)).isoformat(),
            "roles": {"observer": 2},
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def broken(**_kwargs):
    raise RuntimeError("boom")


def test_a_bug_answers_json_and_is_logged(client, personas, monkeypatch, caplog):
    monkeypatch.setattr(services, "activation_create", broken)
    # The test client still re-raises it by default (Django's got_request_exception signal).
    with pytest.raises(RuntimeError, match="boom"):
        create_call_out(client, personas.coordinator)
    caplog.clear()
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = create_call_out(client, personas.coordinator)
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "The error was recorded. Please try again in a moment."}
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


def test_permission_denied_stays_a_403_in_json(client, personas, monkeypatch):
    def refuse(**_kwargs):
        raise PermissionDenied

    monkeypatch.setattr(services, "activation_create", refuse)
    response = create_call_out(client, personas.coordinator)
    assert response.status_code == 403
    assert response.json() == {"detail": "Forbidden"}
