"""Who may open each page and use each action of the network app, and what they see there.

The permission matrix (WHO_MAY) is the spec: one row per named URL, listing the personas that
must be let through. Every other signed-in persona must be refused with the project's 403 page,
and an anonymous visitor is sent to sign in. A URL added to vecinos/network/urls.py without a row
here fails test_every_network_url_has_a_permission_row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import Personas, make_member, sign_in
from vecinos.core.models import AuditEvent
from vecinos.network import urls as network_urls
from vecinos.network.models import Invitation, Member, Role, Tier
from vecinos.network.services import (
    contact_reveal,
    invitation_create,
    token_create,
    vouch_record,
)

PERSONAS = ("coalition", "coordinator", "dispatcher", "verifier", "newcomer", "outsider")
SIGNED_IN = frozenset(PERSONAS)
VOUCHED = SIGNED_IN - {"newcomer"}
COORDINATORS = frozenset({"coalition", "coordinator", "outsider"})
# Coordinators of org A: the organization every org-scoped row below is about.
ORG_A_COORDINATORS = frozenset({"coalition", "coordinator"})

WHO_MAY: dict[str, frozenset[str]] = {
    "profile": SIGNED_IN,
    # Each acts on the person's own waiting number only (test_phone_change).
    "profile_phone": SIGNED_IN,
    "tokens": SIGNED_IN,
    # Each persona tries to revoke the dispatcher's token: only its owner may.
    "token_revoke": frozenset({"dispatcher"}),
    "orgs": COORDINATORS,
    "roster": ORG_A_COORDINATORS,
    "roster_export": ORG_A_COORDINATORS,
    "invite_create": ORG_A_COORDINATORS,
    "invite_revoke": ORG_A_COORDINATORS,
    "roster_member": ORG_A_COORDINATORS,
    "roster_role": ORG_A_COORDINATORS,
    "roster_vouch": ORG_A_COORDINATORS,
    "roster_training": ORG_A_COORDINATORS,
    "roster_deactivate": ORG_A_COORDINATORS,
    "member_detail": ORG_A_COORDINATORS,
    "member_contact": ORG_A_COORDINATORS,
    "vouch": VOUCHED,
    "zones": VOUCHED,
    "audit_log": COORDINATORS,
    "logout_everywhere": SIGNED_IN,
    "two_factor_recovery": SIGNED_IN,
}

# Reached by everyone, signed in or not (sign-in itself, joining by invitation) or tested in
# tests/network/test_two_factor.py, where the state of the session decides the answer.
# "home" is public for visitors (tests/onboarding/test_public_home.py), a member's own home once signed in.
NOT_IN_MATRIX = {"login", "logout", "join", "two_factor_setup", "two_factor_verify", "home"}


@dataclass
class World:
    personas: Personas
    target: Member  # a vouched patrol member of org A whom the org-scoped actions are about
    invitation: Invitation
    token_id: int


@dataclass(frozen=True)
class Route:
    method: str
    url: Callable[[World], str]
    ok: int  # the answer an allowed persona gets
    data: Callable[[World], dict] = lambda w: {}
    # token_revoke looks the token up among the person's own and answers 404 for any other,
    # exactly as for an id that does not exist: nothing can be probed either way.
    refused: int = 403


def _org(w: World) -> int:
    return w.personas.org_a.pk


ROUTES: dict[str, Route] = {
    "profile": Route("get", lambda w: reverse("profile"), 200),
    "profile_phone": Route("post", lambda w: reverse("profile_phone"), 302),
    "tokens": Route("get", lambda w: reverse("tokens"), 200),
    "token_revoke": Route(
        "post", lambda w: reverse("token_revoke", args=[w.token_id]), 302, refused=404
    ),
    "orgs": Route("get", lambda w: reverse("orgs"), 200),
    "roster": Route("get", lambda w: reverse("roster", args=[_org(w)]), 200),
    "roster_export": Route("get", lambda w: reverse("roster_export", args=[_org(w)]), 200),
    "invite_create": Route(
        "post",
        lambda w: reverse("invite_create", args=[_org(w)]),
        200,
        data=lambda w: {"role": Role.PATROL},
    ),
    "invite_revoke": Route(
        "post", lambda w: reverse("invite_revoke", args=[_org(w), w.invitation.pk]), 302
    ),
    "roster_member": Route(
        "get", lambda w: reverse("roster_member", args=[_org(w), w.target.pk]), 200
    ),
    "roster_role": Route(
        "post",
        lambda w: reverse("roster_role", args=[_org(w), w.target.pk]),
        302,
        data=lambda w: {"role": Role.RESPONDER, "op": "grant"},
    ),
    "roster_vouch": Route(
        "post", lambda w: reverse("roster_vouch", args=[_org(w), w.target.pk]), 302
    ),
    "roster_training": Route(
        "post",
        lambda w: reverse("roster_training", args=[_org(w), w.target.pk]),
        302,
        data=lambda w: {"topic": "Know your rights", "completed_on": date.today().isoformat()},
    ),
    "roster_deactivate": Route(
        "post",
        lambda w: reverse("roster_deactivate", args=[_org(w), w.target.pk]),
        302,
        data=lambda w: {"confirm": "on"},
    ),
    "member_detail": Route("get", lambda w: reverse("member_detail", args=[w.target.pk]), 200),
    "member_contact": Route("post", lambda w: reverse("member_contact", args=[w.target.pk]), 200),
    "vouch": Route("get", lambda w: reverse("vouch"), 200),
    "zones": Route("get", lambda w: reverse("zones"), 200),
    "audit_log": Route("get", lambda w: reverse("audit_log"), 200),
    "logout_everywhere": Route("post", lambda w: reverse("logout_everywhere"), 302),
    "two_factor_recovery": Route("post", lambda w: reverse("two_factor_recovery"), 200),
}


@pytest.fixture
def world(personas) -> World:
    target = make_member(
        "target",
        org=personas.org_a,
        roles=(Role.PATROL,),
        tier=Tier.VOUCHED,
        full_name="Tania Objetivo",
        phone="+12135550177",
        email="tania@example.org",
    )
    invitation = invitation_create(
        actor=personas.coordinator, organization=personas.org_a, role=Role.PATROL
    ).invitation
    token = token_create(member=personas.dispatcher, name="hotline bridge").token
    return World(personas=personas, target=target, invitation=invitation, token_id=token.pk)


def call(client: Client, route: Route, w: World, **extra):
    return getattr(client, route.method)(route.url(w), route.data(w), **extra)


def test_every_network_url_has_a_permission_row():
    names = {p.name for p in network_urls.urlpatterns}
    assert names - NOT_IN_MATRIX == set(WHO_MAY)
    assert set(WHO_MAY) == set(ROUTES)


@pytest.mark.parametrize("persona", [*PERSONAS, "anonymous"])
@pytest.mark.parametrize("name", list(WHO_MAY))
def test_who_may_use_each_page_and_action(client, world, name, persona):
    route = ROUTES[name]
    sign_in(client, world.personas.all()[persona])
    events_before = AuditEvent.objects.count()

    response = call(client, route, world)

    if persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    elif persona in WHO_MAY[name]:
        assert response.status_code == route.ok, response.content[:500]
    else:
        assert response.status_code == route.refused
        # A refused request must not have done anything worth auditing (a vouch, a role change,
        # a contact view, an export): the check runs before any write.
        assert AuditEvent.objects.count() == events_before
    if response.status_code == 403:
        assert "You do not have access to this page." in response.content.decode()


# --- the newcomer: own profile and public pages only -------------------------------------------


def test_newcomer_sees_only_their_own_profile_and_public_pages(client, world):
    newcomer = world.personas.newcomer
    sign_in(client, newcomer)
    for url in (reverse("home"), reverse("profile"), reverse("member_detail", args=[newcomer.pk])):
        assert client.get(url).status_code == 200, url
    refused = [
        reverse("zones"),
        reverse("vouch"),
        reverse("orgs"),
        reverse("audit_log"),
        reverse("roster", args=[world.personas.org_a.pk]),
        reverse("member_detail", args=[world.personas.coordinator.pk]),
        reverse("member_detail", args=[world.target.pk]),
    ]
    for url in refused:
        assert client.get(url).status_code == 403, url
    # The menu offers nothing the tier does not allow.
    home = client.get(reverse("home")).content.decode()
    for url in (reverse("zones"), reverse("orgs"), reverse("audit_log")):
        assert f'href="{url}"' not in home


def test_newcomer_sees_more_once_vouched_but_still_no_roster(client, world):
    newcomer = world.personas.newcomer
    vouch_record(actor=world.personas.coordinator, member=newcomer)
    sign_in(client, newcomer)
    assert client.get(reverse("zones")).status_code == 200
    assert client.get(reverse("roster", args=[world.personas.org_a.pk])).status_code == 403


# --- the outsider: coordinator of org B ---------------------------------------------------------


def test_outsider_cannot_see_another_orgs_roster_members_or_contact_details(client, world):
    org_a, target = world.personas.org_a, world.target
    sign_in(client, world.personas.outsider)
    responses = [
        client.get(reverse("roster", args=[org_a.pk])),
        client.get(reverse("roster_export", args=[org_a.pk])),
        client.get(reverse("roster_member", args=[org_a.pk, target.pk])),
        client.get(reverse("member_detail", args=[target.pk])),
        client.post(reverse("member_contact", args=[target.pk])),
        client.post(reverse("member_contact", args=[target.pk]), HTTP_HX_REQUEST="true"),
    ]
    for response in responses:
        assert response.status_code == 403
        body = response.content.decode()
        for secret in ("Tania", "555-0177", "+12135550177", "tania@example.org"):
            assert secret not in body
    assert not AuditEvent.objects.filter(action__in=["contact.view", "roster.export"]).exists()

    orgs_page = client.get(reverse("orgs")).content.decode()
    assert "Org B" in orgs_page
    assert "Org A" not in orgs_page


def test_outsider_cannot_reach_org_a_members_through_their_own_roster(client, world):
    """Org B's roster pages must not serve a member of org A by swapping the member id."""
    sign_in(client, world.personas.outsider)
    org_b = world.personas.org_b
    response = client.get(reverse("roster_member", args=[org_b.pk, world.target.pk]))
    assert response.status_code == 404
    response = client.post(
        reverse("roster_deactivate", args=[org_b.pk, world.target.pk]), {"confirm": "on"}
    )
    assert response.status_code == 404
    world.target.refresh_from_db()
    assert world.target.is_active


# --- contact details ----------------------------------------------------------------------------


def test_member_page_alone_does_not_show_the_phone(client, world):
    sign_in(client, world.personas.coordinator)
    body = client.get(reverse("member_detail", args=[world.target.pk])).content.decode()
    assert "Show contact details" in body
    for secret in ("555-0177", "+12135550177", "tania@example.org"):
        assert secret not in body
    assert not AuditEvent.objects.filter(action="contact.view").exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx"])
def test_showing_contact_details_is_audited(client, world, htmx):
    coordinator, target = world.personas.coordinator, world.target
    sign_in(client, coordinator)
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(reverse("member_contact", args=[target.pk]), **extra)
    assert response.status_code == 200
    body = response.content.decode()
    assert "(213) 555-0177" in body
    assert "tania@example.org" in body
    assert ("<html" in body) is not htmx
    event = AuditEvent.objects.get(action="contact.view")
    assert event.actor == coordinator
    assert (event.target_type, event.target_id) == ("member", str(target.pk))
    assert "555" not in str(event.detail)
    # Every showing counts, not only the first.
    client.post(reverse("member_contact", args=[target.pk]), **extra)
    assert AuditEvent.objects.filter(action="contact.view").count() == 2


def test_contact_details_cannot_be_shown_with_a_get(client, world):
    """A link (prefetch, crawler, image tag) must not reveal or audit anything."""
    sign_in(client, world.personas.coordinator)
    assert client.get(reverse("member_contact", args=[world.target.pk])).status_code == 405
    assert not AuditEvent.objects.filter(action="contact.view").exists()


# --- roster export ------------------------------------------------------------------------------


def test_roster_export_gives_names_and_phones_to_the_groups_own_coordinator_audited(client, world):
    coordinator, org_a = world.personas.coordinator, world.personas.org_a
    sign_in(client, coordinator)
    response = client.get(reverse("roster_export", args=[org_a.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["username", "roles", "tier", "name", "phone"]
    by_name = {row[0]: row for row in rows[1:]}
    assert {"coordinator", "newcomer", "target"} <= set(by_name)
    assert "outsider" not in by_name
    assert by_name["newcomer"][3] == world.personas.newcomer.full_name
    assert by_name["newcomer"][4] == "'" + world.personas.newcomer.phone  # "+" would be a formula
    event = AuditEvent.objects.get(action="roster.export")
    assert event.actor == coordinator
    assert event.organization_id == org_a.pk
    assert event.detail == {"via": "csv", "contacts": True}


def test_roster_export_of_another_group_has_no_contact_columns(client, world):
    org_b = world.personas.org_b
    make_member("bmember", org=org_b, roles=(Role.PATROL,), phone="+12135550177")
    sign_in(client, world.personas.coalition)  # coalition coordinator, a member of org A
    text = client.get(reverse("roster_export", args=[org_b.pk])).content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["username", "roles", "tier"]
    for secret in ("Testperson", "+1213", "555-01"):
        assert secret not in text
    assert AuditEvent.objects.get(action="roster.export").detail == {
        "via": "csv",
        "contacts": False,
    }


def test_roster_export_neutralizes_spreadsheet_formulas(client, world):
    make_member("-cmd", org=world.personas.org_a, roles=(Role.PATROL,))
    sign_in(client, world.personas.coordinator)
    text = client.get(reverse("roster_export", args=[world.personas.org_a.pk])).content.decode()
    assert "'-cmd" in text


# --- audit log ----------------------------------------------------------------------------------


def _audit_rows(body: str) -> int:
    return body.count("<tr>") - 1  # minus the header row


def test_audit_log_filters_by_person_and_action(client, world):
    p = world.personas
    contact_reveal(actor=p.coordinator, member=world.target)
    contact_reveal(actor=p.coalition, member=world.target)
    vouch_record(actor=p.coordinator, member=p.newcomer)
    sign_in(client, p.coordinator)
    url = reverse("audit_log")

    everything = client.get(url).content.decode()
    assert "contact.view" in everything and "vetting.vouch" in everything

    by_action = client.get(url, {"action": "contact.view"}).content.decode()
    assert _audit_rows(by_action) == 2
    assert "vetting.vouch" not in by_action.split("<tbody>")[1]

    by_person = client.get(url, {"person": "COALITION", "action": ""}).content.decode()
    rows = by_person.split("<tbody>")[1]
    assert _audit_rows(by_person) == AuditEvent.objects.filter(actor=p.coalition).count()
    assert ">coordinator<" not in rows

    both = client.get(url, {"person": "coordinator", "action": "contact.view"})
    assert _audit_rows(both.content.decode()) == 1

    nothing = client.get(url, {"person": "nobody-at-all"}).content.decode()
    assert "No events match." in nothing


def test_org_coordinator_does_not_see_another_orgs_events(client, world):
    p = world.personas
    bravo = make_member("bravo-member", org=p.org_b, roles=(Role.PATROL,))
    contact_reveal(actor=p.outsider, member=bravo)  # an org B event
    invitation_create(actor=p.outsider, organization=p.org_b, role=Role.PATROL)
    contact_reveal(actor=p.coordinator, member=world.target)  # an org A event

    sign_in(client, p.coordinator)
    body = client.get(reverse("audit_log")).content.decode()
    assert "bravo-member" not in body
    assert ">outsider<" not in body
    assert "Org B" not in body
    assert ">target<" in body
    # Not through a filter either.
    filtered = client.get(reverse("audit_log"), {"person": "outsider"}).content.decode()
    assert "No events match." in filtered

    # The outsider, for their part, sees their own organization's events and not org A's.
    sign_in(client, p.outsider)
    body = client.get(reverse("audit_log")).content.decode()
    assert "bravo-member" in body
    assert ">target<" not in body


def test_coalition_coordinator_sees_every_organizations_events(client, world):
    p = world.personas
    bravo = make_member("bravo-member", org=p.org_b, roles=(Role.PATROL,))
    contact_reveal(actor=p.outsider, member=bravo)
    sign_in(client, p.coalition)
    assert "bravo-member" in client.get(reverse("audit_log")).content.decode()


def test_audit_log_survives_nonsense_filters(client, world):
    sign_in(client, world.personas.coordinator)
    for query in (
        {"action": "no.such.action"},
        {"person": "x" * 500},
        {"page": "abc"},
        {"page": "99999"},
    ):
        assert client.get(reverse("audit_log"), query).status_code == 200, query


def _action_options(body: str) -> list[str]:
    select = body.split('<select name="action"', 1)[1].split("</select>", 1)[0]
    return re.findall(r"<option [^>]*>[^<]*</option>", select)


def test_audit_log_says_what_happened_in_the_readers_language_with_the_code_beside_it(
    client, world
):
    # Signing in is on the record (auth.login, about the coordinator): their own log shows it.
    sign_in(client, world.personas.coordinator)
    body = client.get(reverse("audit_log"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    rows = body.split("<tbody>")[1]
    assert "Inició sesión" in rows
    # The code stays, for those who search the log by it.
    assert '<code class="audit-code" dir="ltr" translate="no">auth.login</code>' in rows
    assert ">Signed in<" not in body


def test_audit_log_filter_offers_each_action_by_its_words_and_filters_by_its_code(client, world):
    p = world.personas
    contact_reveal(actor=p.coordinator, member=world.target)
    sign_in(client, p.coordinator)
    url = reverse("audit_log")

    options = _action_options(client.get(url, HTTP_ACCEPT_LANGUAGE="es").content.decode())
    assert '<option value="contact.view">Datos de contacto consultados</option>' in options
    assert '<option value="auth.login">Inició sesión</option>' in options
    assert not any(">contact.view<" in option for option in options)

    english = _action_options(client.get(url).content.decode())
    assert '<option value="contact.view">Contact details viewed</option>' in english

    chosen = client.get(url, {"action": "contact.view"}, HTTP_ACCEPT_LANGUAGE="es")
    assert _audit_rows(chosen.content.decode()) == 1


def test_audit_log_shows_an_action_nobody_labelled_by_its_code(client, world):
    AuditEvent.objects.create(
        action="not.labelled.yet", organization_id=world.personas.org_a.pk, detail={}
    )
    sign_in(client, world.personas.coordinator)
    response = client.get(reverse("audit_log"), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    rows = response.content.decode().split("<tbody>")[1]
    code = '<code class="audit-code" dir="ltr" translate="no">not.labelled.yet</code>'
    assert f">not.labelled.yet {code}</td>" in rows


# --- sessions -----------------------------------------------------------------------------------


def test_sign_out_everywhere_ends_the_other_sessions(world):
    dispatcher = world.personas.dispatcher
    phone, laptop = Client(), Client()
    sign_in(phone, dispatcher)
    sign_in(laptop, dispatcher)
    assert laptop.get(reverse("profile")).status_code == 200

    response = phone.post(reverse("logout_everywhere"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")

    for client in (phone, laptop):
        response = client.get(reverse("profile"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert AuditEvent.objects.filter(action="auth.signout_all", actor=dispatcher).count() == 1
    # Signing in again works: only the old sessions were ended.
    fresh = sign_in(Client(), Member.objects.get(pk=dispatcher.pk))
    assert fresh.get(reverse("profile")).status_code == 200


def test_sign_out_everywhere_needs_a_post(client, world):
    sign_in(client, world.personas.dispatcher)
    assert client.get(reverse("logout_everywhere")).status_code == 405
    assert client.get(reverse("profile")).status_code == 200


# --- query counts -------------------------------------------------------------------------------

# Seven today whatever the number of members or invitations; one spare for a small change.
ROSTER_MAX_QUERIES = 8


def _roster_queries(client: Client, org_id: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("roster", args=[org_id]))
    assert response.status_code == 200
    return len(captured)


def test_roster_page_queries_do_not_grow_with_members(client, world, django_assert_max_num_queries):
    """A coordinator opens the roster in the middle of a surge: an N+1 here costs seconds."""
    org_a = world.personas.org_a
    for _i in range(3):
        invitation_create(actor=world.personas.coordinator, organization=org_a, role=Role.PATROL)
    sign_in(client, world.personas.coordinator)
    small = _roster_queries(client, org_a.pk)

    for i in range(50):
        make_member(f"vecina{i:02}", org=org_a, roles=(Role.PATROL, Role.SUBSCRIBER))
    with django_assert_max_num_queries(ROSTER_MAX_QUERIES):
        response = client.get(reverse("roster", args=[org_a.pk]))
    assert "vecina49" in response.content.decode()
    assert _roster_queries(client, org_a.pk) == small


# --- the JSON API of the network app ------------------------------------------------------------
# The same people, through /api/v1/ with a personal token or a signed-in (verified) session.

API_WHO_MAY: dict[str, frozenset[str]] = {
    "/api/v1/me": SIGNED_IN,
    # The list of member groups is not secret to signed-in members; their rosters are.
    "/api/v1/organizations": SIGNED_IN,
    "/api/v1/organizations/{org_a}/members": ORG_A_COORDINATORS,
    "/api/v1/zones": VOUCHED,  # as the zones page
}


def _api_cases():
    for path in API_WHO_MAY:
        for persona in [*PERSONAS, "anonymous"]:
            for via in ("token", "session"):
                yield pytest.param(path, persona, via, id=f"{path}-{persona}-{via}")


@pytest.mark.parametrize("path,persona,via", list(_api_cases()))
def test_who_may_use_each_network_api_endpoint(client, world, path, persona, via):
    member = world.personas.all()[persona]
    headers = {}
    if member is not None and via == "token":
        secret = token_create(member=member, name="partner").secret
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    elif member is not None:
        sign_in(client, member)
    response = client.get(path.format(org_a=world.personas.org_a.pk), **headers)
    if persona == "anonymous":
        assert response.status_code == 401
    elif persona in API_WHO_MAY[path]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


def test_api_needs_the_code_from_anyone_who_turned_two_factor_on(client, world):
    TOTPDevice.objects.create(user=world.personas.newcomer, name="phone", confirmed=True)
    client.force_login(world.personas.newcomer)  # password only, no code yet
    assert client.get(reverse("profile")).status_code == 302  # the pages ask for the code
    assert client.get("/api/v1/me").status_code == 401
