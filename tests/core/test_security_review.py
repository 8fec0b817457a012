"""Regression tests for the first security review's findings."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from PIL import Image

from tests.conftest import make_member
from vecinos.alerts import selectors as alert_selectors
from vecinos.alerts import services as alerts
from vecinos.alerts.models import Alert, Tier
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting
from vecinos.patrols import selectors as patrol_selectors
from vecinos.patrols.models import Place
from vecinos.reports import services as reports


@pytest.mark.django_db
def test_nobody_can_send_someone_elses_public_draft_and_approve_it_alone(personas):
    draft = alerts.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.NOTICE,
        tiers=[Tier.PUBLIC],
        messages={"es": "Aviso"},
        point=(34.04, -118.21),
        radius_m=1000,
    )
    with pytest.raises(alerts.NotAllowed):
        alerts.alert_send(alert=draft, actor=personas.outsider)
    draft.refresh_from_db()
    assert draft.status == Alert.Status.DRAFT


def test_outbox_masks_verification_and_calendar_links():
    body = "Verify: http://x/v/eyJ2ciI6MX0:abc:def/ and http://x/a/tok/ and http://x/cal/zzz.ics"
    masked = alert_selectors.mask_body(body)
    assert "eyJ2" not in masked and "/a/tok/" not in masked and "zzz" not in masked


@pytest.mark.django_db
def test_a_newcomer_in_the_organization_does_not_see_place_notes(personas):
    place = Place.objects.create(
        name="Escuela",
        kind="school",
        lat=34.04,
        lng=-118.21,
        organization=personas.org_a,
        notes="Gate code 1234",
    )
    assert not patrol_selectors.can_see_private(personas.newcomer, place)
    vouched = make_member("vouched", org=personas.org_a, roles=(Role.PATROL,), tier=Vetting.VOUCHED)
    assert patrol_selectors.can_see_private(vouched, place)


@pytest.mark.django_db(transaction=True)
def test_message_bodies_are_encrypted_and_follow_report_retention():
    contact = messaging.contact_point(channel="sms", address="+12135550191")
    messaging.deliveries_enqueue(
        [
            messaging.DeliverySpec(
                purpose="verify",
                contact=contact,
                language="es",
                body="Verifique cerca de Calle Soto 1234",
                key="sec:1",
            )
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM messaging_delivery")
        (raw,) = cursor.fetchone()
    assert "Soto" not in raw
    assert Delivery.objects.get().body.endswith("Soto 1234")
    Delivery.objects.update(created_at=timezone.now() - timedelta(days=400))
    assert reports.purge_expired_reports()["message_bodies"] == 1
    assert Delivery.objects.get().body == ""


def test_photo_cleaning_drops_jpeg_comments():
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buf, "JPEG", comment=b"COMMENT-AT-34.04,-118.21")
    assert b"COMMENT-AT" in buf.getvalue()
    cleaned, content_type = reports.clean_photo(buf.getvalue())
    assert content_type == "image/jpeg" and b"COMMENT-AT" not in cleaned


@pytest.mark.django_db
def test_alerts_are_scoped_to_the_organization_for_org_coordinators(personas, login):
    alert = alerts.alert_create(
        actor=personas.coordinator,
        kind=Alert.Kind.NOTICE,
        tiers=[Tier.INTERNAL],
        messages={"es": "Aviso interno de la organización A"},
    )
    outsider = login(personas.outsider)
    assert outsider.get(f"/alerts/{alert.pk}/").status_code == 404
    assert "Aviso interno" not in outsider.get("/alerts/").content.decode()
    dispatcher = login(personas.dispatcher)
    assert dispatcher.get(f"/alerts/{alert.pk}/").status_code == 200


@pytest.mark.django_db
def test_an_account_its_author_alone_vetted_is_not_the_second_person(personas):
    from datetime import date

    from vecinos.network import services as network
    from vecinos.network.models import Membership, Organization

    author, org = personas.coordinator, personas.org_a
    # The coordinator invites a "second person", vouches for them (a coordinator's vouch is
    # enough), records their training and makes them a coordinator too ...
    puppet = make_member("puppet", org=org, roles=(Role.PATROL,), phone="+12135550190")
    network.vouch_record(actor=author, member=puppet)
    network.training_record(actor=author, member=puppet, topic="alerts", completed_on=date.today())
    puppet.refresh_from_db()
    assert puppet.tier == Vetting.TRAINED
    Membership.objects.create(member=puppet, organization=org, role=Role.ORG_COORDINATOR)
    # ... and a third, vetted only by the puppet.
    puppet2 = make_member(
        "puppet2", org=org, roles=(Role.PATROL,), phone="+12135550191", tier=Vetting.TRAINED
    )
    network.vouch_record(actor=puppet, member=puppet2)
    Membership.objects.create(member=puppet2, organization=org, role=Role.ORG_COORDINATOR)
    alert = alerts.alert_create(
        actor=author,
        kind=Alert.Kind.NOTICE,
        tiers=[Tier.PUBLIC],
        messages={"es": "Aviso"},
        point=(34.04, -118.21),
        radius_m=1000,
    )
    alerts.alert_send(alert=alert, actor=author)
    for sock in (puppet, puppet2):
        assert not alerts.may_approve(sock, alert)
        with pytest.raises(alerts.NotAllowed):
            alerts.alert_approve(alert=alert, actor=sock)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.PENDING
    assert not Delivery.objects.filter(ref_type="alert").exists()
    # Nor are they asked to approve it.
    asked = Delivery.objects.filter(ref_type="alert_approval").values_list("ref_item", flat=True)
    assert set(asked).isdisjoint({puppet.pk, puppet2.pk})
    # Once someone else also vouches for them, they are a second person.
    network.vouch_record(actor=personas.coalition, member=puppet)
    assert alerts.may_approve(puppet, alert) and alerts.may_approve(puppet2, alert)
    # And the dispatcher, vetted by nobody here, always was.
    assert alerts.may_approve(personas.dispatcher, alert)
    # The puppet is still independent of others' alerts.
    other = alerts.alert_create(
        actor=personas.coalition, kind=Alert.Kind.NOTICE, tiers=[Tier.PUBLIC],
        messages={"es": "Aviso"}, point=(34.04, -118.21), radius_m=1000,
    )  # fmt: skip
    assert not alerts.may_approve(personas.coalition, other)
    assert Organization.objects.filter(pk=org.pk).exists()


@pytest.mark.django_db
def test_a_ring_or_a_long_chain_of_the_authors_accounts_is_not_a_second_person(personas):
    """Outside probe, session 19: two accounts the author invited and vouched for, vouching for
    each other, counted as independent (the ring was taken for someone else's vetting) and
    approved the author's public alert; a chain of eight or more such accounts counted as "a
    chain too long to be a sock puppet's". Neither reaches anyone but the author."""
    from datetime import date

    from vecinos.network import services as network
    from vecinos.network.models import Membership

    author, org = personas.coordinator, personas.org_a

    def account(name: str, phone: str, *vetters):
        person = make_member(name, org=org, roles=(Role.PATROL,), phone=phone)
        for vetter in vetters:
            network.vouch_record(actor=vetter, member=person)
        return person

    p = account("ring.p", "+12135550181", author)
    q = account("ring.q", "+12135550182", author)
    network.vouch_record(actor=q, member=p)
    network.vouch_record(actor=p, member=q)
    chain = [p]
    for n in range(10):
        chain.append(account(f"chain{n}", f"+1213555017{n}", author, chain[-1]))
    approvers = [p, q, chain[-1]]
    for person in approvers:
        network.training_record(
            actor=author, member=person, topic="alerts", completed_on=date.today()
        )
        Membership.objects.create(member=person, organization=org, role=Role.ORG_COORDINATOR)
    alert = alerts.alert_create(
        actor=author, kind=Alert.Kind.NOTICE, tiers=[Tier.PUBLIC], messages={"es": "Aviso"},
        point=(34.04, -118.21), radius_m=1000,
    )  # fmt: skip
    alerts.alert_send(alert=alert, actor=author)
    for person in approvers:
        assert not alerts.may_approve(person, alert), person.username
        with pytest.raises(alerts.NotAllowed):
            alerts.alert_approve(alert=alert, actor=person)
    # Someone independent vouching for one link of the ring or the chain grounds everyone
    # after it.
    network.vouch_record(actor=personas.coalition, member=q)
    assert all(alerts.may_approve(person, alert) for person in approvers)


@pytest.mark.django_db
def test_an_organizations_coordinators_alert_to_the_coalitions_people_waits_for_a_second_person(
    client, personas, login
):
    """Outside probe, session 19: an organization's coordinator alone sent "sighting confirmed",
    nothing verified, to every dispatcher, verifier, responder and member of every
    organization. Only dispatchers and the coalition's coordinators send at once."""
    from django.urls import reverse

    from vecinos.alerts.models import AlertRecipient

    for member in (personas.dispatcher, personas.verifier):
        alerts.ensure_member_subscriber(member)
    alert = alerts.alert_create(
        actor=personas.coordinator,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.INTERNAL, Tier.RESPONDERS, Tier.MEMBERS],
        messages={"es": "Operativo confirmado", "en": "Operation confirmed"},
        point=(34.04, -118.21),
        radius_m=50000,
    )
    coordinator = login(personas.coordinator)
    draft = coordinator.get(reverse("alert_detail", args=[alert.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "waits for a second person" in draft.content.decode()
    sent = coordinator.post(
        reverse("alert_send", args=[alert.pk]), HTTP_ACCEPT_LANGUAGE="en", follow=True
    )
    assert "a dispatcher or another coordinator must approve it" in sent.content.decode()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.PENDING
    assert not AlertRecipient.objects.filter(alert=alert).exists()
    assert not Delivery.objects.filter(ref_type="alert", ref_id=alert.pk).exists()
    login(personas.dispatcher).post(reverse("alert_approve", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SENT and alert.recipients_count >= 2
    # A dispatcher's own alert to the same people goes at once.
    own = alerts.alert_create(
        actor=personas.dispatcher, kind=Alert.Kind.SIGHTING, tiers=[Tier.INTERNAL],
        messages={"es": "Operativo confirmado"},
    )  # fmt: skip
    assert alerts.alert_send(alert=own, actor=personas.dispatcher).status == Alert.Status.SENT


@pytest.mark.django_db
def test_an_organizations_coordinator_sees_only_their_own_peoples_handles_on_progress(
    client, personas, login
):
    """Outside probe, session 19: the "not reached yet" table of an organization's
    coordinator's alert listed every organization's dispatchers and verifiers by handle."""
    from django.urls import reverse

    from vecinos.network.models import Membership

    # Org B's coordinator is also one of the coalition's verifiers.
    Membership.objects.create(member=personas.outsider, organization=personas.org_b,
                              role=Role.VERIFIER)  # fmt: skip
    for member in (personas.verifier, personas.outsider):
        alerts.ensure_member_subscriber(member)
    alert = alerts.alert_create(
        actor=personas.coordinator, kind=Alert.Kind.NOTICE, tiers=[Tier.INTERNAL],
        messages={"es": "Aviso"}, point=(34.04, -118.21), radius_m=50000,
    )  # fmt: skip
    alerts.alert_send(alert=alert, actor=personas.coordinator)
    alerts.alert_approve(alert=alert, actor=personas.dispatcher)
    outsider_id = personas.outsider.pk
    login(personas.coordinator)
    page = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert personas.verifier.username in page  # org A's own
    assert personas.outsider.username not in page and f"#{outsider_id}" in page
    login(personas.dispatcher)
    page = client.get(reverse("alert_progress", args=[alert.pk])).content.decode()
    assert personas.outsider.username in page and personas.verifier.username in page
