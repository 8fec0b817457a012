"""Wrong passwords typed by someone else must not keep a dispatcher out during an operation.
After too many failures a username is locked, but not for a sign-in that also gives a valid code
from the member's authenticator; the code is only looked at when the password is right. And a
session gets a new id once it passes the second factor (item 21)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD
from tests.network.test_two_factor import totp_code

pytestmark = pytest.mark.django_db


def attacker_locks(username: str) -> None:
    attacker = Client()
    for _i in range(settings.AXES_FAILURE_LIMIT):
        attacker.post(reverse("login"), {"username": username, "password": "wrong guess"})


@pytest.fixture
def device(personas) -> TOTPDevice:
    return TOTPDevice.objects.create(user=personas.dispatcher, name="phone", confirmed=True)


def test_a_locked_out_dispatcher_signs_in_with_password_and_code(client, personas, device):
    attacker_locks("dispatcher")
    locked = client.post(reverse("login"), {"username": "dispatcher", "password": PASSWORD})
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-ins for this username." in page
    assert 'name="code"' in page  # the way in is offered on the same page

    response = client.post(
        reverse("login"),
        {"username": "dispatcher", "password": PASSWORD, "code": totp_code(device)},
    )
    assert response.status_code == 302
    assert not response["Location"].startswith(reverse("two_factor_verify"))
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get(reverse("home")).status_code == 200


def test_a_wrong_code_does_not_lift_the_lock(client, personas, device):
    attacker_locks("dispatcher")
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(
        reverse("login"), {"username": "dispatcher", "password": PASSWORD, "code": wrong}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_valid_code_with_a_wrong_password_does_not_lift_the_lock(client, personas, device):
    attacker_locks("dispatcher")
    response = client.post(
        reverse("login"),
        {"username": "dispatcher", "password": "still guessing", "code": totp_code(device)},
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # The code was not even checked (a right password comes first): it still works.
    device.refresh_from_db()
    assert device.last_t < 0 or device.throttling_failure_count == 0


def test_a_member_without_an_authenticator_stays_locked(client, personas):
    attacker_locks("newcomer")
    response = client.post(
        reverse("login"), {"username": "newcomer", "password": PASSWORD, "code": "123456"}
    )
    assert response.status_code == 429


def test_giving_the_code_with_the_password_skips_the_second_step(client, personas, device):
    response = client.post(
        reverse("login"),
        {"username": "dispatcher", "password": PASSWORD, "code": totp_code(device)},
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("zones")).status_code == 200


def test_without_a_code_the_second_step_is_still_asked(client, personas, device):
    response = client.post(reverse("login"), {"username": "dispatcher", "password": PASSWORD})
    assert response["Location"].startswith(reverse("two_factor_verify"))


def test_the_session_id_changes_when_the_second_factor_is_verified(client, personas, device):
    client.post(reverse("login"), {"username": "dispatcher", "password": PASSWORD})
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = client.post(reverse("two_factor_verify"), {"code": totp_code(device)})
    assert response.status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    # The old id is worth nothing: it is not a verified session (nor any session).
    old = Client()
    old.cookies[settings.SESSION_COOKIE_NAME] = before
    assert old.get(reverse("zones")).status_code == 302
    assert client.get(reverse("zones")).status_code == 200


def test_the_session_id_changes_when_an_authenticator_is_set_up(client, personas):
    client.post(reverse("login"), {"username": "newcomer", "password": PASSWORD})
    client.get(reverse("two_factor_setup"))
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    device = TOTPDevice.objects.get(user=personas.newcomer, confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"code": totp_code(device)})
    assert response.status_code == 200
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before
