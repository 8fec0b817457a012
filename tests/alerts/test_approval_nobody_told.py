"""A public alert's author is never told that approvers were asked when nobody was: when
everyone else who could approve was vouched for and trained only by the author (the
independence rule of the two-person rule), or when nobody who may approve has a phone or an
email, the author's page says so, and why. The rule itself stays as strict."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_member, sign_in
from vecinos.alerts import services
from vecinos.alerts.models import Alert
from vecinos.core.models import AuditEvent
from vecinos.network.models import Organization, Role, Tier, Training, Vouch
from vecinos.reports import services as reports

pytestmark = pytest.mark.django_db
BOYLE = (34.0407, -118.2110)
TOLD = "The people who may approve it were told"
NOT_INDEPENDENT = "Nobody was told, because nobody can approve it yet"
NO_CONTACT = "Nobody could be sent a message about it"
NOT_YOU = "You cannot approve it: you were vouched for or trained only by its author"


@pytest.fixture
def org():
    return Organization.objects.create(name="Río Este", short_name="rio", languages=["es", "en"])


@pytest.fixture
def author(org):
    return make_member(
        "founder",
        org=org,
        roles=(Role.COALITION_COORDINATOR, Role.ORG_COORDINATOR),
        tier=Tier.TRAINED,
        phone="+12135550131",
    )


def vetted_by(member, voucher) -> None:
    Vouch.objects.create(member=member, voucher=voucher, voucher_was_coordinator=True)
    Training.objects.create(
        member=member,
        recorded_by=voucher,
        topic="Dispatch: triage and SALUTE reports",
        completed_on=timezone.localdate(),
    )


@pytest.fixture
def own_dispatcher(org, author):
    """On duty and reachable, but vouched for and trained only by the author."""
    member = make_member(
        "own.dispatcher",
        org=org,
        roles=(Role.DISPATCHER,),
        tier=Tier.TRAINED,
        phone="+12135550132",
    )
    vetted_by(member, author)
    reports.duty_start(member=member, role="dispatcher", hours=2)
    return member


def draft_and_request_approval(client, author) -> tuple[Alert, str]:
    """As the author, through the pages: compose a public alert, press "Send for approval"."""
    services.subscribe(phone="+12135550160", point=BOYLE, radius_m=1000, confirmed=True)
    sign_in(client, author)
    response = client.post(
        reverse("alert_new"),
        {
            "kind": "sighting",
            "tiers": ["internal", "public"],
            "message_es": "Operativo confirmado en Boyle Heights.",
            "message_en": "Confirmed operation in Boyle Heights.",
            "expires_hours": "4",
            "lat": str(BOYLE[0]),
            "lng": str(BOYLE[1]),
            "radius_m": "2000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    alert = Alert.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "Send for approval" in page
    response = client.post(reverse("alert_send", args=[alert.pk]), follow=True)
    assert response.status_code == 200
    alert.refresh_from_db()
    assert alert.status == Alert.Status.PENDING
    return alert, response.content.decode()


def test_author_whose_only_approver_they_vetted_is_told_nobody_was_asked_and_why(
    client, author, own_dispatcher
):
    alert, page = draft_and_request_approval(client, author)
    assert NOT_INDEPENDENT in page
    assert "vouched for or trained only by you" in page
    assert "whom someone else vetted, for example one from another organization" in page
    assert TOLD not in page
    assert "Ask someone on shift to open this page" not in page
    event = AuditEvent.objects.get(action="alert.request_approval")
    assert event.detail.get("notified") == 0

    # The rule is as strict as before: the dispatcher the author vetted cannot approve, and
    # their page says why instead of sending them to find someone else blindly.
    sign_in(client, own_dispatcher)
    page = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert NOT_YOU in page
    assert reverse("alert_approve", args=[alert.pk]) not in page
    assert NOT_INDEPENDENT not in page and TOLD not in page
    assert client.post(reverse("alert_approve", args=[alert.pk])).status_code == 403
    alert.refresh_from_db()
    assert alert.status == Alert.Status.PENDING


def test_author_with_an_independent_approver_is_told_they_were_asked(
    client, org, author, own_dispatcher
):
    other = make_member(
        "other.dispatcher",
        org=org,
        roles=(Role.DISPATCHER,),
        tier=Tier.TRAINED,
        phone="+12135550133",
    )
    alert, page = draft_and_request_approval(client, author)
    assert TOLD in page
    assert NOT_INDEPENDENT not in page and NO_CONTACT not in page
    assert AuditEvent.objects.get(action="alert.request_approval").detail.get("notified") == 1

    # The dispatcher the author vetted still may not approve, and is told why.
    sign_in(client, own_dispatcher)
    page = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert NOT_YOU in page and reverse("alert_approve", args=[alert.pk]) not in page

    sign_in(client, other)
    page = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert reverse("alert_approve", args=[alert.pk]) in page and NOT_YOU not in page
    client.post(reverse("alert_approve", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SENT and alert.approved_by == other


def test_author_whose_approvers_have_no_phone_or_email_is_told_nobody_got_a_message(
    client, org, author
):
    make_member("quiet.dispatcher", org=org, roles=(Role.DISPATCHER,), tier=Tier.TRAINED)
    _alert, page = draft_and_request_approval(client, author)
    assert NO_CONTACT in page
    assert TOLD not in page and NOT_INDEPENDENT not in page


def test_author_with_nobody_else_who_may_approve_is_told_so(client, org, author):
    make_member("field.verifier", org=org, roles=(Role.VERIFIER,), tier=Tier.TRAINED)
    _alert, page = draft_and_request_approval(client, author)
    assert "Nobody was told, because nobody else may approve it" in page
    assert TOLD not in page and NOT_INDEPENDENT not in page and NO_CONTACT not in page
