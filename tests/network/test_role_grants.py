"""Coalition-wide roles (dispatcher, verifier, coalition coordinator) reach every organization's
incidents and alerts: only a coalition coordinator gives them, and nobody gives themself a role.
Through the roster page and the invitation form, as a coordinator would."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import make_member
from vecinos.network.models import Invitation, Membership, Role, Tier
from vecinos.network.services import NotAllowed, invitation_create

pytestmark = pytest.mark.django_db


def grant(client, org, member, role):
    return client.post(
        reverse("roster_role", args=[org.pk, member.pk]), {"role": role, "op": "grant"}
    )


@pytest.fixture
def trained(personas):
    return make_member(
        "trained", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.TRAINED, phone=""
    )


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.VERIFIER])
def test_org_coordinator_cannot_make_themself_a_dispatcher_or_verifier(personas, login, role):
    client = login(personas.coordinator)
    response = grant(client, personas.org_a, personas.coordinator, role)
    assert response.status_code == 403
    assert "You cannot give yourself a role" in response.content.decode()
    assert not Membership.objects.filter(member=personas.coordinator, role=role).exists()


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.VERIFIER])
def test_org_coordinator_cannot_make_a_member_of_their_org_coalition_wide(
    personas, login, trained, role
):
    client = login(personas.coordinator)
    response = grant(client, personas.org_a, trained, role)
    assert response.status_code == 403
    assert "Only a coalition coordinator can give the role" in response.content.decode()
    assert not Membership.objects.filter(member=trained, role=role).exists()


def test_org_coordinator_still_gives_roles_of_their_own_organization(personas, login, trained):
    client = login(personas.coordinator)
    response = grant(client, personas.org_a, trained, Role.RESPONDER)
    assert response.status_code == 302
    assert Membership.objects.filter(member=trained, role=Role.RESPONDER).exists()


def test_org_coordinator_may_take_a_dispatcher_role_away(personas, login):
    client = login(personas.coordinator)
    response = client.post(
        reverse("roster_role", args=[personas.org_a.pk, personas.dispatcher.pk]),
        {"role": Role.DISPATCHER, "op": "revoke"},
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(member=personas.dispatcher, role=Role.DISPATCHER).exists()


def test_coalition_coordinator_gives_the_dispatcher_role(personas, login, trained):
    client = login(personas.coalition)
    response = grant(client, personas.org_a, trained, Role.DISPATCHER)
    assert response.status_code == 302
    assert Membership.objects.filter(member=trained, role=Role.DISPATCHER).exists()


def test_coalition_coordinator_cannot_give_themself_a_role(personas, login):
    client = login(personas.coalition)
    response = grant(client, personas.org_a, personas.coalition, Role.DISPATCHER)
    assert response.status_code == 403
    assert not Membership.objects.filter(member=personas.coalition, role=Role.DISPATCHER).exists()


@pytest.mark.parametrize("who", ["dispatcher", "verifier", "newcomer", "outsider"])
def test_other_personas_cannot_grant_the_dispatcher_role_at_all(personas, login, trained, who):
    client = login(getattr(personas, who))
    response = grant(client, personas.org_a, trained, Role.DISPATCHER)
    assert response.status_code == 403
    assert not Membership.objects.filter(member=trained, role=Role.DISPATCHER).exists()


def test_anonymous_is_sent_to_sign_in(client, personas, trained):
    response = grant(client, personas.org_a, trained, Role.DISPATCHER)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_roster_page_says_who_gives_coalition_wide_roles(personas, login, trained):
    client = login(personas.coordinator)
    page = client.get(reverse("roster_member", args=[personas.org_a.pk, trained.pk]))
    assert "Only a coalition coordinator can give the dispatcher and verifier roles" in (
        page.content.decode()
    )


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.VERIFIER])
def test_org_coordinator_cannot_invite_a_dispatcher_or_verifier(personas, login, role):
    """An invitation is a grant to whoever opens it: the coordinator's own second account too."""
    client = login(personas.coordinator)
    page = client.get(reverse("roster", args=[personas.org_a.pk])).content.decode()
    assert f'value="{role}"' not in page.split('name="role"', 1)[1].split("</select>", 1)[0]
    response = client.post(reverse("invite_create", args=[personas.org_a.pk]), {"role": role})
    assert response.status_code == 200  # the roster again, with the form's message
    assert not Invitation.objects.exists()
    with pytest.raises(NotAllowed):
        invitation_create(actor=personas.coordinator, organization=personas.org_a, role=role)


def test_coalition_coordinator_may_invite_a_dispatcher(personas, login):
    client = login(personas.coalition)
    response = client.post(
        reverse("invite_create", args=[personas.org_a.pk]), {"role": Role.DISPATCHER}
    )
    assert response.status_code == 200
    assert Invitation.objects.get().role == Role.DISPATCHER


def test_a_self_made_dispatcher_cannot_see_another_organizations_public_alert(personas, login):
    """The attack end to end: the role is refused, so the other organization's alert stays out
    of reach of the org coordinator."""
    from vecinos.alerts import services as alerts
    from vecinos.alerts.models import Alert
    from vecinos.alerts.models import Tier as AlertTier

    author = make_member(
        "coord_b2", org=personas.org_b, roles=(Role.ORG_COORDINATOR,), tier=Tier.TRAINED
    )
    alert = alerts.alert_create(
        actor=author,
        kind=Alert.Kind.SIGHTING,
        tiers=[AlertTier.PUBLIC],
        messages={"es": "Operativo confirmado.", "en": "Confirmed operation."},
        point=(34.0407, -118.2110),
        radius_m=2000,
        area_label="Boyle Heights",
    )
    assert alert.organization_id == personas.org_b.pk
    client = login(personas.coordinator)
    grant(client, personas.org_a, personas.coordinator, Role.DISPATCHER)
    response = client.get(reverse("alert_detail", args=[alert.pk]))
    assert response.status_code in (403, 404)


def test_an_old_dispatcher_invitation_from_an_org_coordinator_cannot_be_used(client, personas):
    """Invitations made before the rule, by an organization coordinator, do not hand out the
    role when opened."""
    from django.utils import timezone

    from vecinos.network.services import _hash_token

    Invitation.objects.create(
        organization=personas.org_a,
        role=Role.DISPATCHER,
        token_hash=_hash_token("old-token-from-before-the-rule"),
        created_by=personas.coordinator,
        expires_at=timezone.now() + timezone.timedelta(hours=24),
    )
    response = client.post(
        reverse("join", args=["old-token-from-before-the-rule"]),
        {
            "username": "sockpuppet",
            "password1": "a long enough passphrase 42",
            "password2": "a long enough passphrase 42",
            "full_name": "Sock Puppet",
            "phone": "",
            "email": "",
            "preferred_language": "es",
        },
    )
    assert response.status_code == 410
    assert not Membership.objects.filter(member__username="sockpuppet").exists()


def test_a_coalition_coordinators_dispatcher_invitation_can_be_used(client, personas):
    issued = invitation_create(
        actor=personas.coalition, organization=personas.org_a, role=Role.DISPATCHER
    )
    assert client.get(reverse("join", args=[issued.token])).status_code == 200
