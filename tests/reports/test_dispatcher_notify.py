"""Dispatchers who notice: a new report reaches them beyond the open console, and when no
verifier is on duty the console offers what a real hotline does."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import make_member
from tests.reports.test_console import file_report
from vecinos.core.models import AuditEvent
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery
from vecinos.network.models import Role, Tier
from vecinos.reports import notify, services
from vecinos.reports.models import DispatcherPage, Incident, Triage

pytestmark = pytest.mark.django_db

REPORT = {
    "activity": "street",
    "agency": "ice",
    "place_text": "Cesar Chavez y Soto",
    "description": "Dos camionetas blancas",
}


@pytest.fixture(autouse=True)
def _kick_fresh(monkeypatch):
    monkeypatch.setattr(notify, "_last_kick", 0.0)


def _report_through_the_form(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("report_form"), REPORT, REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 302, response.content[:400]


def _texts_to(member) -> list[Delivery]:
    return [
        d
        for d in Delivery.objects.filter(purpose="console_new", channel="sms")
        if d.contact.member_id == member.pk
    ]


def test_nobody_on_duty_texts_the_coalition_coordinators_once_per_burst(
    personas, client, django_capture_on_commit_callbacks
):
    _report_through_the_form(client, django_capture_on_commit_callbacks)
    (text,) = _texts_to(personas.coalition)
    # In the coordinator's own language.
    assert "1 reporte nuevo espera en la consola de despacho" in text.body
    assert text.body.endswith("/console/")
    assert not _texts_to(personas.dispatcher)
    # A second report of the same burst sends nothing more.
    notify._last_kick = 0.0
    _report_through_the_form(client, django_capture_on_commit_callbacks)
    assert len(_texts_to(personas.coalition)) == 1 and DispatcherPage.objects.count() == 1


def test_on_duty_dispatcher_without_an_open_console_gets_a_text(
    personas, client, django_capture_on_commit_callbacks
):
    services.duty_start(member=personas.dispatcher, role="dispatcher", hours=2)
    _report_through_the_form(client, django_capture_on_commit_callbacks)
    (text,) = _texts_to(personas.dispatcher)
    assert text.language == personas.dispatcher.preferred_language
    assert not _texts_to(personas.coalition)


def test_watched_console_means_no_text_but_push_to_dispatchers_who_allowed_it(
    personas, login, client, django_capture_on_commit_callbacks
):
    services.duty_start(member=personas.dispatcher, role="dispatcher", hours=2)
    messaging.contact_point(
        channel="push",
        address='{"endpoint":"https://push.example.org/x","keys":{"p256dh":"a","auth":"b"}}',
        member=personas.dispatcher,
        language="en",
    )
    console = login(personas.dispatcher)
    assert console.post(reverse("console_heartbeat")).status_code == 204
    console.logout()
    _report_through_the_form(client, django_capture_on_commit_callbacks)
    assert not Delivery.objects.filter(purpose="console_new", channel="sms").exists()
    (push,) = Delivery.objects.filter(purpose="console_new", channel="push")
    assert "1 new report waits in the dispatcher console" in push.body


@pytest.mark.parametrize("who", ["newcomer", "verifier", "coordinator"])
def test_only_dispatchers_send_a_console_heartbeat(personas, login, who):
    assert login(getattr(personas, who)).post(reverse("console_heartbeat")).status_code == 403


def test_console_page_has_sound_toggle_and_heartbeat(personas, login):
    page = login(personas.dispatcher).get(reverse("console")).content.decode()
    assert 'id="console-sound"' in page and "js/console_notify.js" in page
    assert reverse("console_heartbeat") in page


# --- no verifier on duty ----------------------------------------------------------------------


@pytest.fixture
def incident(personas):
    report = file_report()
    return services.report_triage(
        report=report, tier=Triage.VERIFY, actor=personas.dispatcher
    ).incident


def test_without_a_verifier_on_duty_the_incident_page_offers_other_ways(personas, login, incident):
    client = login(personas.dispatcher)
    page = client.get(reverse("console_incident", args=[incident.pk])).content.decode()
    assert "No verifier is on duty" in page
    es = client.get(
        reverse("console_incident", args=[incident.pk]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "No hay ningún verificador de turno" in es
    services.duty_start(member=personas.verifier, role="verifier", hours=1)
    page = client.get(reverse("console_incident", args=[incident.pk])).content.decode()
    assert "No verifier is on duty" not in page


def test_ask_vouched_responders_texts_them_and_writes_the_timeline(personas, login, incident):
    responder = make_member(
        "responder",
        org=personas.org_a,
        roles=(Role.RESPONDER,),
        tier=Tier.VOUCHED,
        phone="+12135550177",
    )
    make_member(
        "unvetted",
        org=personas.org_a,
        roles=(Role.RESPONDER,),
        tier=Tier.NEW,
        phone="+12135550178",
    )
    client = login(personas.dispatcher)
    response = client.post(reverse("incident_ask_responders", args=[incident.pk]), follow=True)
    assert "1 responders were asked to look." in response.content.decode()
    (text,) = Delivery.objects.filter(purpose="responders_ask")
    assert text.contact.member_id == responder.pk and f"n.º {incident.pk}" in text.body
    page = client.get(reverse("console_incident", args=[incident.pk])).content.decode()
    assert "No verifier on duty: 1 responders asked to look" in page
    assert AuditEvent.objects.filter(action="incident.responders_ask").exists()


def test_record_verified_another_way_with_who_and_why(personas, login, incident):
    client = login(personas.dispatcher)
    url = reverse("incident_verified_otherwise", args=[incident.pk])
    response = client.post(url, {"outcome": "confirmed", "how": "partner"}, follow=True)
    assert "Say who confirmed it and why." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.VERIFYING or not incident.outcome
    client.post(
        url,
        {"outcome": "confirmed", "how": "partner", "why": "Partner org's observer on site"},
    )
    incident.refresh_from_db()
    assert incident.outcome == "confirmed" and incident.verified_by == personas.dispatcher
    page = client.get(reverse("console_incident", args=[incident.pk])).content.decode()
    assert "Verified another way (A trusted partner&#x27;s report): Confirmed." in page
    assert "Partner org&#x27;s observer on site" in page
    event = AuditEvent.objects.get(action="incident.verified_otherwise")
    assert event.actor == personas.dispatcher and event.detail == {
        "outcome": "confirmed",
        "how": "partner",
    }


@pytest.mark.parametrize("who", ["verifier", "newcomer", "coordinator"])
def test_only_dispatchers_may_act_without_a_verifier(personas, login, incident, who):
    client = login(getattr(personas, who))
    assert client.post(reverse("incident_ask_responders", args=[incident.pk])).status_code == 403
    response = client.post(
        reverse("incident_verified_otherwise", args=[incident.pk]),
        {"outcome": "confirmed", "how": "phone", "why": "x"},
    )
    assert response.status_code == 403
    incident.refresh_from_db()
    assert not incident.outcome
