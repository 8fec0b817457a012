""" "Sign out everywhere" revokes API tokens too (and says so); tokens can expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.conftest import sign_in
from vecinos.cli import main
from vecinos.network.models import ApiToken
from vecinos.network.services import token_create

pytestmark = pytest.mark.django_db


def api_me(client, secret: str):
    return client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_sign_out_everywhere_revokes_every_api_token(client, personas):
    first = token_create(member=personas.dispatcher, name="bridge").secret
    second = token_create(member=personas.dispatcher, name="sheet").secret
    others = token_create(member=personas.coordinator, name="theirs").secret
    assert api_me(client, first).status_code == 200

    sign_in(client, personas.dispatcher)
    page = client.get(reverse("profile")).content.decode()
    assert "This also revokes all your API tokens" in page
    response = client.post(reverse("logout_everywhere"), follow=True)
    body = response.content.decode()
    assert "Your 2 API tokens were revoked." in body

    assert api_me(client, first).status_code == 401
    assert api_me(client, second).status_code == 401
    assert api_me(client, others).status_code == 200  # someone else's token is theirs
    assert not ApiToken.objects.filter(member=personas.dispatcher, revoked_at=None).exists()


def test_a_token_stops_working_when_it_expires(client, personas):
    sign_in(client, personas.dispatcher)
    response = client.post(reverse("tokens"), {"name": "partner", "valid_days": "7"})
    assert response.status_code == 200
    secret = response.context["issued"].secret
    token = ApiToken.objects.get(member=personas.dispatcher)
    assert token.expires_at is not None
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert "Works until" in client.get(reverse("tokens")).content.decode()
    assert api_me(client.__class__(), secret).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert api_me(client.__class__(), secret).status_code == 401


def test_tokens_last_90_days_unless_told_otherwise(client, personas):
    sign_in(client, personas.dispatcher)
    client.post(reverse("tokens"), {"name": "partner"})
    token = ApiToken.objects.get(member=personas.dispatcher)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)


def test_a_token_with_no_end_date_can_be_chosen(client, personas):
    sign_in(client, personas.dispatcher)
    client.post(reverse("tokens"), {"name": "partner", "valid_days": "0"})
    assert ApiToken.objects.get(member=personas.dispatcher).expires_at is None


def test_a_bad_lifetime_gets_a_clear_message(client, personas):
    sign_in(client, personas.dispatcher)
    response = client.post(reverse("tokens"), {"name": "partner", "valid_days": "99999"})
    assert response.status_code == 200
    assert "Choose how long the token works." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_cli_makes_expiring_tokens(personas, capsys):
    assert main(["token", "create", "dispatcher", "--name", "bridge", "--days", "3"]) == 0
    token = ApiToken.objects.get(member=personas.dispatcher)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=3))) < timedelta(minutes=1)
    assert main(["token", "create", "dispatcher", "--name", "x", "--days", "-1"]) == 1
