"""A stranger finishes the demo with the printed accounts: the demo coordinator's public alert
can be approved by the demo dispatcher (who was not vetted by the coordinator alone), and a
second sign-in within one time step is shown a code the two-step page accepts."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from vecinos.alerts import services
from vecinos.alerts.models import Alert
from vecinos.network import selectors as network
from vecinos.network.demo import load_demo
from vecinos.network.models import Member, Zone
from vecinos.reports.models import Incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    """The demo as `vecinos serve` (the `demo` command) loads it."""
    settings.DATA_DIR = tmp_path
    return load_demo()


def shown_code(page: str) -> str:
    assert "Demo only" in page
    return page.split('id="demo-code">')[1].split("<strong>")[1].split("</strong>")[0]


def sign_in(client: Client, demo, username: str) -> None:
    """As the README says: the printed password, then the code the demo banner shows."""
    response = client.post(
        reverse("login"), {"username": username, "password": demo.credentials[username]}
    )
    assert response.status_code == 302
    page = client.get(reverse("two_factor_verify")).content.decode()
    response = client.post(
        reverse("two_factor_verify"), {"code": shown_code(page), "next": "/console/"}
    )
    assert response.status_code == 302 and response["Location"] == "/console/", (
        response.content.decode()[:3000]
    )


def test_demo_dispatcher_approves_the_demo_coordinators_public_alert(demo):
    coordinator = Member.objects.get(username="coordinator")
    dispatcher = Member.objects.get(username="dispatcher")
    # Two people, and independent ones: the coordinator did not vet the dispatcher alone.
    assert not network.vetted_only_by(dispatcher, coordinator)
    assert not network.vetted_only_by(coordinator, dispatcher)

    zone = Zone.objects.order_by("pk").first()
    incident = Incident.objects.create(
        status=Incident.Status.CONFIRMED,
        lat=zone.center_lat,
        lng=zone.center_lng,
        zone=zone,
        verified_at=timezone.now(),
    )

    # The coordinator drafts from the confirmed incident, adds the public, asks for approval.
    desk = Client()
    sign_in(desk, demo, "coordinator")
    form = desk.get(reverse("alert_new") + f"?incident={incident.pk}").context["form"]
    data = {
        key: value
        for key, value in form.initial.items()
        if key in form.fields and value not in (None, "") and key != "tiers"
    }
    data["all_languages"] = "on"
    data["tiers"] = [*form.initial["tiers"], "public"]
    response = desk.post(reverse("alert_new") + f"?incident={incident.pk}", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    alert = Alert.objects.get(incident=incident)
    assert "public" in alert.tiers and alert.created_by == coordinator
    page = desk.post(reverse("alert_send", args=[alert.pk]), follow=True).content.decode()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.PENDING
    assert "The people who may approve it were told (those on duty first)" in page
    assert "Nobody was told" not in page
    assert dispatcher in services.approvers(alert)

    # The dispatcher on duty signs in as the README says, sees the button, approves: it goes.
    phone = Client()
    sign_in(phone, demo, "dispatcher")
    page = phone.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert reverse("alert_approve", args=[alert.pk]) in page
    assert "You cannot approve it" not in page
    response = phone.post(reverse("alert_approve", args=[alert.pk]))
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SENT and alert.approved_by == dispatcher
    assert alert.recipients_count > 0


def test_a_second_sign_in_in_the_same_step_is_shown_a_code_that_works(demo):
    device = TOTPDevice.objects.get(user__username="dispatcher", name="demo")
    # Early in a time step, and the clock stands still: both sign-ins fall in this one step.
    now = timezone.now().timestamp()
    start = now - (now - device.t0) % device.step + device.step + 1
    with time_machine.travel(start, tick=False):
        first = Client()
        sign_in(first, demo, "dispatcher")
        device.refresh_from_db()
        used = device.last_t

        second = Client()
        response = second.post(
            reverse("login"),
            {"username": "dispatcher", "password": demo.credentials["dispatcher"]},
        )
        assert response.status_code == 302
        page = second.get(reverse("two_factor_verify")).content.decode()
        code = shown_code(page)
        response = second.post(reverse("two_factor_verify"), {"code": code, "next": "/console/"})
        assert response.status_code == 302 and response["Location"] == "/console/", (
            "the demo banner showed a code that was already used"
        )
        device.refresh_from_db()
        assert device.last_t == used + 1
        assert second.get("/console/").status_code == 200

        # A third time in the same step: still a code that works (the one after that).
        third = Client()
        third.post(
            reverse("login"),
            {"username": "dispatcher", "password": demo.credentials["dispatcher"]},
        )
        page = third.get(reverse("two_factor_verify")).content.decode()
        response = third.post(
            reverse("two_factor_verify"), {"code": shown_code(page), "next": "/console/"}
        )
        assert response.status_code == 302 and response["Location"] == "/console/"
