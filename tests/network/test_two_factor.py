"""Two-step sign-in: who must enrol, enrolment, recovery codes and the verify step."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD, make_member
from vecinos.core.models import AuditEvent
from vecinos.network.forms import WRONG_CODE
from vecinos.network.models import Role, Tier


def totp_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def recovery_codes_on(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9]+)</code></li>", page)


def password_sign_in(client: Client, username: str):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD})


def enrol(client: Client) -> list[str]:
    """Go through the setup page as its user does; return the recovery codes shown."""
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user_id=client.session["_auth_user_id"], confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"code": totp_code(device)})
    assert response.status_code == 200
    return recovery_codes_on(response.content.decode())


# --- who is forced to enrol ---------------------------------------------------------------------


def _pages(personas) -> list[str]:
    org_a = personas.org_a
    return [
        reverse("home"),
        reverse("profile"),
        reverse("tokens"),
        reverse("orgs"),
        reverse("roster", args=[org_a.pk]),
        reverse("roster_export", args=[org_a.pk]),
        reverse("roster_member", args=[org_a.pk, personas.newcomer.pk]),
        reverse("member_detail", args=[personas.newcomer.pk]),
        reverse("vouch"),
        reverse("zones"),
        reverse("audit_log"),
        "/admin/",
        "/no-such-page/",
    ]


@pytest.mark.parametrize("persona", ["coalition", "coordinator", "dispatcher"])
def test_roles_that_need_two_factor_are_sent_to_setup_from_every_page(client, personas, persona):
    client.force_login(getattr(personas, persona))
    for url in _pages(personas):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("two_factor_setup"), url
    # Actions too, before they do anything.
    response = client.post(reverse("member_contact", args=[personas.newcomer.pk]))
    assert response["Location"] == reverse("two_factor_setup")
    response = client.post(reverse("roster_vouch", args=[personas.org_a.pk, personas.newcomer.pk]))
    assert response["Location"] == reverse("two_factor_setup")
    assert not AuditEvent.objects.filter(action__in=["contact.view", "vetting.vouch"]).exists()

    # The setup page itself, sign-out, health check and static files stay reachable.
    assert client.get(reverse("two_factor_setup")).status_code == 200
    assert client.get("/healthz").status_code == 200
    # And the API does not become a way around it.
    assert client.get("/api/v1/me").status_code == 401
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("profile"))["Location"].startswith(reverse("login"))


def test_a_role_not_yet_in_force_still_needs_two_factor(client, personas):
    """A newcomer handed the dispatcher role enrols now, before training makes it count."""
    recruit = make_member("recruit", org=personas.org_a, roles=(Role.DISPATCHER,), tier=Tier.NEW)
    client.force_login(recruit)
    assert client.get(reverse("profile"))["Location"] == reverse("two_factor_setup")


@pytest.mark.parametrize("persona", ["newcomer", "verifier"])
def test_members_whose_roles_do_not_need_it_are_not_forced(client, personas, persona):
    response = password_sign_in(client, persona)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("profile")).status_code == 200
    # The setup page is offered, not required.
    page = client.get(reverse("two_factor_setup")).content.decode()
    assert "With two-step sign-in, someone who learns your password" in page


# --- enrolment ----------------------------------------------------------------------------------


def test_setup_with_a_correct_code_confirms_the_device_and_shows_recovery_codes_once(
    client, personas
):
    coordinator = personas.coordinator
    client.force_login(coordinator)
    page = client.get(reverse("two_factor_setup")).content.decode()
    assert "Your role protects other people" in page
    device = TOTPDevice.objects.get(user=coordinator)
    assert not device.confirmed
    # The key is also shown as text for people who cannot scan the QR code.
    shown = re.search(r'<p class="secret" translate="no"><code>([A-Z2-7 ]+)</code>', page)
    assert shown is not None
    assert "<svg" in page

    response = client.post(reverse("two_factor_setup"), {"code": totp_code(device)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Two-step sign-in is on." in page
    codes = recovery_codes_on(page)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert StaticToken.objects.filter(device__user=coordinator).count() == 10
    assert AuditEvent.objects.filter(action="2fa.enroll", actor=coordinator).count() == 1

    # This session passed a code: every page opens now.
    assert client.get(reverse("roster", args=[personas.org_a.pk])).status_code == 200
    # The codes were shown once: the setup page now only offers new ones.
    again = client.get(reverse("two_factor_setup")).content.decode()
    assert "Two-step sign-in is on for your account." in again
    for code in codes:
        assert code not in again
    assert "<svg" not in again  # nor the key


def test_setup_page_keeps_one_secret_until_confirmed(client, personas):
    client.force_login(personas.coordinator)
    first = client.get(reverse("two_factor_setup")).content.decode()
    second = client.get(reverse("two_factor_setup")).content.decode()
    secret = re.compile(r'<p class="secret" translate="no"><code>([A-Z2-7 ]+)</code>')
    assert secret.search(first).group(1) == secret.search(second).group(1)
    assert TOTPDevice.objects.filter(user=personas.coordinator).count() == 1


def test_password_alone_cannot_add_a_second_authenticator(client, personas):
    """Someone who stole only the password must not enrol a phone of their own."""
    coordinator = personas.coordinator
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    client.force_login(coordinator)
    response = client.get(reverse("two_factor_setup"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_verify"))
    response = client.post(reverse("two_factor_setup"), {"code": "123456"})
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=coordinator).count() == 1
    assert client.post(reverse("two_factor_recovery")).status_code == 302
    assert not StaticToken.objects.exists()


# --- verify after password sign-in --------------------------------------------------------------


def test_dispatcher_with_a_device_must_verify_after_password_sign_in(client, personas):
    device = TOTPDevice.objects.create(user=personas.dispatcher, name="phone", confirmed=True)
    response = password_sign_in(client, "dispatcher")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_verify"))

    for url in (reverse("home"), reverse("zones"), reverse("profile")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('two_factor_verify')}?{urlencode({'next': url})}"
    page = client.get(reverse("two_factor_verify"), {"next": "/zones/"}).content.decode()
    assert "Enter your code" in page

    response = client.post(
        reverse("two_factor_verify"), {"code": totp_code(device), "next": "/zones/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/zones/"
    assert client.get(reverse("zones")).status_code == 200
    assert AuditEvent.objects.filter(action="auth.login", actor=personas.dispatcher).exists()


def test_verify_refuses_to_send_people_to_another_site(client, personas):
    device = TOTPDevice.objects.create(user=personas.dispatcher, name="phone", confirmed=True)
    client.force_login(personas.dispatcher)
    response = client.post(
        reverse("two_factor_verify"),
        {"code": totp_code(device), "next": "https://evil.example/phish"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_a_patrol_member_who_turned_two_factor_on_is_asked_for_it(client, personas):
    TOTPDevice.objects.create(user=personas.newcomer, name="phone", confirmed=True)
    response = password_sign_in(client, "newcomer")
    assert response["Location"].startswith(reverse("two_factor_verify"))
    assert client.get(reverse("profile"))["Location"].startswith(reverse("two_factor_verify"))


# --- recovery codes -----------------------------------------------------------------------------


def test_a_recovery_code_works_once_at_verify(personas):
    enrolling = Client()
    enrolling.force_login(personas.coordinator)
    codes = enrol(enrolling)
    code = codes[3]

    lost_phone = Client()
    lost_phone.force_login(personas.coordinator)
    assert lost_phone.get(reverse("home"))["Location"].startswith(reverse("two_factor_verify"))
    # Typed the way people copy from paper: capitals, a space in the middle.
    typed = f"{code[:4].upper()} {code[4:].upper()}"
    response = lost_phone.post(reverse("two_factor_verify"), {"code": typed, "next": "/"})
    assert response.status_code == 302
    assert lost_phone.get(reverse("home")).status_code == 200
    assert StaticToken.objects.filter(device__user=personas.coordinator).count() == 9

    thief = Client()
    thief.force_login(personas.coordinator)
    response = thief.post(reverse("two_factor_verify"), {"code": code, "next": "/"})
    assert response.status_code == 200
    with translation.override("en"):
        assert str(WRONG_CODE) in html.unescape(response.content.decode())
    assert thief.get(reverse("home")).status_code == 302
    assert AuditEvent.objects.filter(action="2fa.failed").count() == 1


def test_new_recovery_codes_replace_the_old_ones(client, personas):
    client.force_login(personas.coordinator)
    old = enrol(client)
    response = client.post(reverse("two_factor_recovery"))
    assert response.status_code == 200
    new = recovery_codes_on(response.content.decode())
    assert len(new) == 10
    assert not set(new) & set(old)
    assert AuditEvent.objects.filter(action="2fa.recovery_codes").count() == 1

    later = Client()
    later.force_login(personas.coordinator)
    response = later.post(reverse("two_factor_verify"), {"code": old[0], "next": "/"})
    assert response.status_code == 200  # the old code no longer works
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        response = later.post(reverse("two_factor_verify"), {"code": new[0], "next": "/"})
    assert response.status_code == 302


def test_the_right_code_right_after_a_typo_is_told_to_wait(client, personas):
    """Outside walk, session 17: after a typo the right code was refused for a few seconds
    (django-otp's throttling) with "That code is not right", so people thought it was wrong."""
    client.force_login(personas.coordinator)
    enrol(client)
    device = TOTPDevice.objects.get(user=personas.coordinator)
    fresh = Client()
    fresh.force_login(personas.coordinator)
    wrong = fresh.post(reverse("two_factor_verify"), {"code": "000000", "next": "/"})
    with translation.override("en"):
        assert str(WRONG_CODE) in html.unescape(wrong.content.decode())
        at_once = fresh.post(reverse("two_factor_verify"), {"code": totp_code(device), "next": "/"})
        assert at_once.status_code == 200
        told = html.unescape(at_once.content.decode())
        assert "came too soon after a wrong one. Wait 1 second," in told
    # The wait is over (and the enrolment's code, used once, has given way to the next one).
    with time_machine.travel(timezone.now() + timedelta(seconds=35)):
        device.refresh_from_db()
        later = fresh.post(reverse("two_factor_verify"), {"code": totp_code(device), "next": "/"})
    assert later.status_code == 302
