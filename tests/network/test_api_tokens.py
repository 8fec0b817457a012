"""The JSON API applies exactly the permissions of the token's member."""

from __future__ import annotations

import pytest

from vecinos.core.models import AuditEvent
from vecinos.network.services import token_create, token_revoke


def bearer(member):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_create(member=member, name='t').secret}"}


@pytest.mark.django_db
def test_openapi_schema_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/organizations/{org_id}/members" in response.json()["paths"]


@pytest.mark.django_db
def test_anonymous_and_bad_tokens_are_refused(client, personas):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer vcn_forged").status_code == 401


@pytest.mark.django_db
def test_revoked_token_stops_working_and_is_audited(client, personas):
    issued = token_create(member=personas.dispatcher, name="partner")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issued.secret}"}
    assert client.get("/api/v1/me", **headers).status_code == 200
    token_revoke(actor=personas.dispatcher, token=issued.token)
    assert client.get("/api/v1/me", **headers).status_code == 401
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"token.create", "token.revoke"} <= actions


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona,allowed",
    [
        ("coalition", True),
        ("coordinator", True),
        ("dispatcher", False),
        ("verifier", False),
        ("newcomer", False),
        ("outsider", False),
    ],
)
def test_roster_api_follows_the_members_permissions(client, personas, persona, allowed):
    member = getattr(personas, persona)
    response = client.get(f"/api/v1/organizations/{personas.org_a.pk}/members", **bearer(member))
    assert response.status_code == (200 if allowed else 403)
    if allowed:
        usernames = {row["username"] for row in response.json()}
        assert {"coordinator", "newcomer"} <= usernames
        assert "outsider" not in usernames
        assert "phone" not in response.json()[0]


@pytest.mark.django_db
def test_deactivated_members_token_stops_working(client, personas):
    from vecinos.network.services import member_deactivate

    headers = bearer(personas.verifier)
    member_deactivate(actor=personas.coordinator, member=personas.verifier)
    assert client.get("/api/v1/me", **headers).status_code == 401


@pytest.mark.django_db
def test_role_does_not_count_until_tier_is_reached(client, personas):
    from vecinos.network.models import Membership, Role

    Membership.objects.create(
        member=personas.newcomer, organization=personas.org_a, role=Role.ORG_COORDINATOR
    )
    response = client.get(
        f"/api/v1/organizations/{personas.org_a.pk}/members", **bearer(personas.newcomer)
    )
    assert response.status_code == 403
