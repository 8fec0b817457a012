"""'My requests' for verifiers and 'My alerts' for members: their work on one page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.alerts.test_alert_pages import sent_internal_alert
from tests.reports.test_verification import asked  # noqa: F401 - fixture
from vecinos.alerts.models import AlertRecipient
from vecinos.reports.models import VerificationRequest

pytestmark = pytest.mark.django_db


def test_verifier_sees_open_requests_and_answers_from_the_list(asked, personas, login):  # noqa: F811
    client = login(personas.verifier)
    page = client.get(reverse("my_requests")).content.decode()
    assert f"Incident #{asked['incident'].pk}" in page
    link = page.split('class="button-secondary" href="')[1].split('"')[0]
    assert link.startswith("/v/") and client.get(link).status_code == 200
    # The "going" button posts the signed link's action.
    response = client.post(reverse("verify_respond", args=[asked["token"]]), {"accept": "yes"})
    assert response.status_code == 302
    assert VerificationRequest.objects.get().status == VerificationRequest.Status.ACCEPTED
    page = client.get(reverse("my_requests"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Mis solicitudes" in page and "Abrir e informar lo que encontró" in page


@pytest.mark.parametrize("who", ["newcomer", "coordinator", "outsider"])
def test_only_verifiers_have_requests(personas, login, who):
    assert login(getattr(personas, who)).get(reverse("my_requests")).status_code == 403


def test_my_requests_needs_sign_in(client, db):
    assert client.get(reverse("my_requests"))["Location"].startswith("/signin/")


def test_member_sees_received_alerts_and_acknowledges_there(personas, login):
    alert = sent_internal_alert(personas)
    client = login(personas.verifier)
    page = client.get(reverse("my_alerts")).content.decode()
    assert "Test activation." in page or "Activación de prueba." in page
    action = page.split('id="my-alerts"')[1].split('<form method="post" action="')[1].split('"')[0]
    assert action.startswith("/a/")
    client.post(action, {"via": "link"})
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=personas.verifier)
    assert recipient.acknowledged_at is not None
    page = client.get(reverse("my_alerts")).content.decode()
    assert "You confirmed you got it." in page
    # Another member's alerts are not listed.
    assert "Activación" not in login(personas.newcomer).get(reverse("my_alerts")).content.decode()
