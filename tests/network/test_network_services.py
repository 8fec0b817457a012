"""Vetting, invitations and roles through the services every page and API call uses."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.conftest import make_member
from vecinos.core.models import AuditEvent
from vecinos.network import selectors
from vecinos.network.models import Member, Membership, Role, Tier
from vecinos.network.phones import InvalidPhone
from vecinos.network.services import (
    InviteUnusable,
    NotAllowed,
    contact_reveal,
    invitation_accept,
    invitation_create,
    purge_personal_data,
    role_grant,
    training_record,
    vouch_record,
)


def accept(token: str, username: str = "nueva", phone: str = "(323) 555-0142") -> Member:
    return invitation_accept(
        token=token,
        username=username,
        password="a long enough passphrase",
        full_name="Nueva Persona",
        phone=phone,
        email="",
        preferred_language="es",
        languages=["es", "en", "xx"],
    )


@pytest.mark.django_db
def test_invite_is_single_use(personas):
    issued = invitation_create(
        actor=personas.coordinator, organization=personas.org_a, role=Role.PATROL
    )
    member = accept(issued.token)
    assert member.tier == Tier.NEW
    assert member.languages == ["es", "en"]
    assert Membership.objects.filter(member=member, role=Role.PATROL).exists()
    with pytest.raises(InviteUnusable):
        accept(issued.token, username="second")
    assert not Member.objects.filter(username="second").exists()


@pytest.mark.django_db
def test_invite_expires(personas):
    issued = invitation_create(
        actor=personas.coordinator, organization=personas.org_a, role=Role.PATROL
    )
    with time_machine.travel(timezone.now() + timedelta(days=4)), pytest.raises(InviteUnusable):
        accept(issued.token)


@pytest.mark.django_db
def test_bad_phone_on_invite_keeps_the_invite_usable(personas):
    issued = invitation_create(
        actor=personas.coordinator, organization=personas.org_a, role=Role.PATROL
    )
    with pytest.raises(InvalidPhone):
        accept(issued.token, phone="12")
    assert accept(issued.token).username == "nueva"


@pytest.mark.django_db
def test_only_coordinators_of_the_org_can_invite(personas):
    for actor in (personas.dispatcher, personas.newcomer, personas.outsider):
        with pytest.raises(NotAllowed):
            invitation_create(actor=actor, organization=personas.org_a, role=Role.PATROL)
    with pytest.raises(NotAllowed):
        invitation_create(
            actor=personas.coordinator, organization=personas.org_a, role=Role.COALITION_COORDINATOR
        )


@pytest.mark.django_db
def test_two_peer_vouches_or_one_coordinator_make_a_member_vouched(personas):
    peer1 = make_member("peer1", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.VOUCHED)
    peer2 = make_member("peer2", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.VOUCHED)
    vouch_record(actor=peer1, member=personas.newcomer)
    personas.newcomer.refresh_from_db()
    assert personas.newcomer.tier == Tier.NEW
    vouch_record(actor=peer2, member=personas.newcomer)
    personas.newcomer.refresh_from_db()
    assert personas.newcomer.tier == Tier.VOUCHED

    other = make_member("other", org=personas.org_a, roles=(Role.PATROL,))
    vouch_record(actor=personas.coordinator, member=other)
    other.refresh_from_db()
    assert other.tier == Tier.VOUCHED
    assert AuditEvent.objects.filter(action="vetting.tier", target_id=str(other.pk)).exists()


@pytest.mark.django_db
def test_unvetted_and_outside_members_cannot_vouch(personas):
    target = make_member("target", org=personas.org_a, roles=(Role.PATROL,))
    with pytest.raises(NotAllowed):
        vouch_record(actor=personas.newcomer, member=target)
    with pytest.raises(NotAllowed):
        vouch_record(actor=personas.outsider, member=target)
    with pytest.raises(NotAllowed):
        vouch_record(actor=personas.coordinator, member=personas.coordinator)


@pytest.mark.django_db
def test_training_makes_roles_take_effect(personas):
    recruit = make_member("recruit", org=personas.org_a, roles=(Role.VERIFIER,), tier=Tier.VOUCHED)
    assert not selectors.has_role(recruit, Role.VERIFIER)
    training_record(
        actor=personas.coordinator, member=recruit, topic="Verifier 101", completed_on=date.today()
    )
    recruit = Member.objects.get(pk=recruit.pk)
    assert recruit.tier == Tier.TRAINED
    assert selectors.has_role(recruit, Role.VERIFIER)


@pytest.mark.django_db
def test_contact_reveal_is_audited_and_limited(personas):
    shown = contact_reveal(actor=personas.coordinator, member=personas.newcomer)
    assert shown["phone"] == "+12135550105"
    event = AuditEvent.objects.get(action="contact.view")
    assert event.actor == personas.coordinator and event.target_id == str(personas.newcomer.pk)
    assert "+1213" not in str(event.detail)
    for actor in (personas.outsider, personas.dispatcher, personas.newcomer):
        with pytest.raises(NotAllowed):
            contact_reveal(actor=actor, member=personas.verifier)


@pytest.mark.django_db
def test_org_coordinator_cannot_grant_roles_in_another_org(personas):
    with pytest.raises(NotAllowed):
        role_grant(
            actor=personas.outsider,
            member=personas.newcomer,
            organization=personas.org_a,
            role=Role.DISPATCHER,
        )


@pytest.mark.django_db
def test_audit_log_is_append_only(personas):
    vouch_record(actor=personas.coordinator, member=personas.newcomer)
    event = AuditEvent.objects.first()
    event.action = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.update(action="x")


@pytest.mark.django_db
def test_purge_destroys_people_and_keeps_organizations(personas):
    counts = purge_personal_data()
    assert counts["members"] == 6
    assert Member.objects.count() == 0
    assert personas.org_a.__class__.objects.count() == 2
    assert AuditEvent.objects.filter(action="purge.personal_data").exists()
