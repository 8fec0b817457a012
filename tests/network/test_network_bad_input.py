"""Bad input on the network pages: a clear message in the person's language, never a 500, and
nothing already saved is lost.
"""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD, sign_in
from vecinos.core.models import AuditEvent
from vecinos.network.forms import PHONE_ERROR, WRONG_CODE
from vecinos.network.models import Invitation, Member, Membership, Role
from vecinos.network.services import invitation_create, invitation_revoke

INVITE_GONE = (
    "This invitation link has expired or was already used. Ask your coordinator for a new one."
)
CSRF_MESSAGE = (
    "For your safety the form could not be accepted. Go back, reload the page and try again; "
    "nothing you saved before was lost."
)


def text(response) -> str:
    """The page as a person reads it (entities such as &#x27; decoded)."""
    return html.unescape(response.content.decode())


def assert_clear_error(response, message: str, status: int = 200) -> None:
    assert response.status_code == status
    # A request in Spanish leaves Spanish active in this thread; these cases are in English.
    with translation.override("en"):
        assert str(message) in text(response)


@pytest.fixture
def invite(personas) -> str:
    return invitation_create(
        actor=personas.coordinator, organization=personas.org_a, role=Role.PATROL
    ).token


def join_data(**overrides) -> dict:
    data = {
        "username": "nueva.vecina",
        "password1": "three unrelated words",
        "password2": "three unrelated words",
        "full_name": "Nueva Vecina",
        "phone": "(323) 555-0142",
        "email": "nueva@example.org",
        "preferred_language": "es",
        "languages": ["es", "en"],
    }
    data.update(overrides)
    return data


# --- phone numbers ------------------------------------------------------------------------------

MALFORMED_PHONES = ["12", "not a phone", "+1 213 555 01", "(213) 555-01345", "9" * 40, "+999 1234"]


@pytest.mark.parametrize("phone", MALFORMED_PHONES)
def test_malformed_phone_on_profile_keeps_other_fields_and_the_saved_phone(client, personas, phone):
    member = personas.verifier
    sign_in(client, member)
    response = client.post(
        reverse("profile"),
        {
            "full_name": "Valeria Nueva",
            "phone": phone,
            "email": "valeria@example.org",
            "preferred_language": "en",
            "notes": "Call after 6pm",
        },
    )
    assert_clear_error(response, PHONE_ERROR)
    body = text(response)
    # What they typed is still in the form, so they fix one field instead of retyping four.
    for typed in ("Valeria Nueva", "valeria@example.org", "Call after 6pm"):
        assert typed in body
    member.refresh_from_db()
    assert member.phone == "+12135550104"
    assert member.full_name == "Verifier Testperson"
    assert member.email == ""


def test_profile_saves_a_phone_typed_the_way_people_type_it(client, personas):
    member = personas.verifier
    sign_in(client, member)
    response = client.post(
        reverse("profile"),
        {"full_name": "Valeria", "phone": "213.555.0199", "preferred_language": "es"},
    )
    assert response.status_code == 302
    # Kept aside, normalized, until the code texted to it comes back (test_phone_change).
    assert member.phone_change.phone == "+12135550199"


@pytest.mark.parametrize("phone", MALFORMED_PHONES[:3])
def test_malformed_phone_on_join_form_keeps_fields_and_the_invite(client, invite, phone):
    response = client.post(reverse("join", args=[invite]), join_data(phone=phone))
    assert_clear_error(response, PHONE_ERROR)
    body = text(response)
    for typed in ("nueva.vecina", "Nueva Vecina", "nueva@example.org"):
        assert typed in body
    assert "three unrelated words" not in body  # passwords are never echoed back
    assert not Member.objects.filter(username="nueva.vecina").exists()
    # The link was not used up by the failed attempt.
    response = client.post(reverse("join", args=[invite]), join_data())
    assert response.status_code == 302
    assert Member.objects.get(username="nueva.vecina").phone_change.phone == "+13235550142"


def test_join_form_asks_for_a_phone(client, invite):
    response = client.post(reverse("join", args=[invite]), join_data(phone=""))
    assert_clear_error(response, "Enter your phone number.")


# --- names --------------------------------------------------------------------------------------


def test_over_long_name_on_profile_is_refused_and_nothing_changes(client, personas):
    member = personas.verifier
    sign_in(client, member)
    response = client.post(
        reverse("profile"),
        {"full_name": "N" * 121, "phone": "(213) 555-0199", "preferred_language": "en"},
    )
    assert_clear_error(response, "A name can be at most 120 characters.")
    member.refresh_from_db()
    assert member.full_name == "Verifier Testperson"
    assert member.phone == "+12135550104"


def test_over_long_name_and_username_on_join_form(client, invite):
    response = client.post(
        reverse("join", args=[invite]), join_data(full_name="N" * 121, username="u" * 41)
    )
    assert_clear_error(response, "A name can be at most 120 characters.")
    assert "Ensure this value has at most 40 characters" in text(response)
    assert not Member.objects.filter(username="u" * 41).exists()
    assert Invitation.objects.get().used_at is None


def test_over_long_notes_on_profile(client, personas):
    sign_in(client, personas.verifier)
    response = client.post(
        reverse("profile"), {"full_name": "V", "notes": "x" * 2001, "preferred_language": "en"}
    )
    assert_clear_error(response, "Notes can be at most 2000 characters.")


# --- invitation links ---------------------------------------------------------------------------


def test_expired_invite_link_gets_a_clear_410(client, invite):
    later = timezone.now() + timedelta(hours=settings.INVITE_TTL_HOURS, minutes=1)
    with time_machine.travel(later, tick=False):
        assert_clear_error(client.get(reverse("join", args=[invite])), INVITE_GONE, 410)
        response = client.post(reverse("join", args=[invite]), join_data())
        assert_clear_error(response, INVITE_GONE, 410)
    assert not Member.objects.filter(username="nueva.vecina").exists()


def test_reused_invite_link_gets_a_clear_410(client, invite):
    assert client.post(reverse("join", args=[invite]), join_data()).status_code == 302
    second = Client()
    assert_clear_error(second.get(reverse("join", args=[invite])), INVITE_GONE, 410)
    response = second.post(reverse("join", args=[invite]), join_data(username="otra.persona"))
    assert_clear_error(response, INVITE_GONE, 410)
    assert not Member.objects.filter(username="otra.persona").exists()
    assert Membership.objects.filter(member__username="nueva.vecina").count() == 1


def test_revoked_and_made_up_invite_links_get_the_same_410(client, personas, invite):
    invitation_revoke(actor=personas.coordinator, invitation=Invitation.objects.get())
    assert_clear_error(client.get(reverse("join", args=[invite])), INVITE_GONE, 410)
    for token in ("made-up", "x" * 3000, "%00", "' OR 1=1 --"):
        assert_clear_error(client.get(reverse("join", args=[token])), INVITE_GONE, 410)


# --- usernames and passwords --------------------------------------------------------------------


@pytest.mark.parametrize("username", ["dispatcher", "DISPATCHER", " dispatcher "])
def test_username_taken(client, personas, invite, username):
    response = client.post(reverse("join", args=[invite]), join_data(username=username))
    assert_clear_error(response, "That username is taken.")
    assert Invitation.objects.get().used_at is None
    assert Member.objects.filter(username__iexact="dispatcher").count() == 1


def test_username_with_spaces_or_symbols_is_explained(client, invite):
    response = client.post(reverse("join", args=[invite]), join_data(username="Ana María"))
    assert_clear_error(response, "Use 3 to 40 letters, digits, dots, dashes or underscores.")


@pytest.mark.parametrize(
    "password,message",
    [
        ("password123", "This password is too common."),
        ("short", "This password is too short. It must contain at least 10 characters."),
        ("8172635498", "This password is entirely numeric."),
    ],
)
def test_weak_password(client, invite, password, message):
    response = client.post(
        reverse("join", args=[invite]), join_data(password1=password, password2=password)
    )
    assert_clear_error(response, message)
    assert not Member.objects.filter(username="nueva.vecina").exists()


def test_passwords_that_differ(client, invite):
    response = client.post(
        reverse("join", args=[invite]), join_data(password2="three unrelated wordz")
    )
    assert_clear_error(response, "The two passwords are not the same.")


# --- in Spanish ---------------------------------------------------------------------------------
# The texts below are vecinos/locale/es; Django's own messages come from Django's catalog.


def test_bad_join_form_speaks_spanish(client, invite):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    response = client.post(
        reverse("join", args=[invite]),
        join_data(phone="12", password1="password123", password2="password123"),
    )
    assert response.status_code == 200
    body = text(response)
    assert '<html lang="es">' in body
    assert "Escriba un número de teléfono válido, por ejemplo (213) 555-0134." in body
    assert "Esta contraseña es demasiado común." in body
    assert "Enter a valid phone number" not in body
    assert "nueva.vecina" in body  # nothing typed is lost in Spanish either


def test_browser_language_alone_is_enough_for_spanish(client, personas, invite):
    response = client.post(
        reverse("join", args=[invite]),
        join_data(username="Dispatcher"),
        HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5",
    )
    body = text(response)
    assert '<html lang="es">' in body
    assert "Alguien ya usa ese nombre de usuario." in body


def test_expired_invite_page_speaks_spanish(client, invite):
    coordinator = Member.objects.get(username="coordinator")
    invitation_revoke(actor=coordinator, invitation=Invitation.objects.get())
    response = client.get(reverse("join", args=[invite]), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 410
    body = text(response)
    assert '<html lang="es">' in body
    assert (
        "Este enlace de invitación ya venció o ya se usó. Pídale uno nuevo a su coordinador(a)."
        in body
    )


def test_wrong_code_message_speaks_spanish(client, personas):
    device = _device(personas.dispatcher)
    client.force_login(personas.dispatcher)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    response = client.post(reverse("two_factor_verify"), {"code": _wrong_code(device)})
    assert response.status_code == 200
    assert "Ese código no es correcto. Revise la hora de su teléfono e intente otra vez." in text(
        response
    )


@pytest.mark.parametrize(
    "next_value", ["-1", "console", "//evil.example/", "https://evil.example/"]
)
def test_a_bad_next_after_the_second_step_goes_home(client, personas, next_value):
    """redirect() took "-1" for a view's name and failed (fuzzed, session 21)."""
    device = _device(personas.dispatcher)
    client.force_login(personas.dispatcher)
    response = client.post(
        reverse("two_factor_verify"), {"code": _code(device), "next": next_value}
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")
    # Verified already: the page itself sends them on, to the same safe place.
    response = client.get(reverse("two_factor_verify"), {"next": next_value})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    response = client.get(reverse("two_factor_verify"), {"next": "/console/"})
    assert response["Location"] == "/console/"


@pytest.mark.parametrize(
    ("next_value", "lands_on"),
    [("-1", "/"), ("console", "/"), ("//evil.example/", "/"), ("/zones/", "/zones/")],
)
def test_sign_in_follows_only_a_path_on_this_site(client, personas, next_value, lands_on):
    """Django's sign-in let "-1" through as a relative address (a 404 under /signin/)."""
    response = client.post(
        reverse("login"), {"username": "verifier", "password": PASSWORD, "next": next_value}
    )
    assert response.status_code == 302 and response["Location"] == lands_on
    # Signed in already, the sign-in page sends them on by the same rule.
    response = client.get(reverse("login"), {"next": next_value})
    assert response.status_code == 302 and response["Location"] == lands_on


# --- two-step codes -----------------------------------------------------------------------------


def _device(member: Member) -> TOTPDevice:
    return TOTPDevice.objects.create(user=member, name="phone", confirmed=True)


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def _wrong_code(device: TOTPDevice) -> str:
    """A 6-digit code that no step inside the device's tolerance would accept."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    accepted = set()
    for offset in range(-device.tolerance, device.tolerance + 1):
        totp.drift = device.drift + offset
        accepted.add(f"{totp.token():06d}")
    return next(f"{n:06d}" for n in range(1000000) if f"{n:06d}" not in accepted)


@pytest.mark.parametrize("code", ["wrong", "123", "", "1234567890123456789012345678901234"])
def test_malformed_codes_at_verify_stay_on_the_page(client, personas, code):
    _device(personas.dispatcher)
    client.force_login(personas.dispatcher)
    response = client.post(reverse("two_factor_verify"), {"code": code, "next": "/zones/"})
    assert response.status_code == 200
    assert "Enter your code" in text(response)
    assert '<ul class="errorlist"' in response.content.decode()


def test_wrong_totp_code_stays_on_verify_page_and_is_audited(client, personas):
    dispatcher = personas.dispatcher
    device = _device(dispatcher)
    client.force_login(dispatcher)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        response = client.post(
            reverse("two_factor_verify"), {"code": _wrong_code(device), "next": "/zones/"}
        )
    assert_clear_error(response, WRONG_CODE)
    assert 'value="/zones/"' in response.content.decode()  # where they were going is kept
    event = AuditEvent.objects.get(action="2fa.failed")
    assert event.actor == dispatcher
    assert client.get(reverse("zones")).status_code == 302  # still not through

    # Nothing is lost: the right code a little later lets them in and on to where they were going.
    with time_machine.travel(now + timedelta(seconds=31), tick=False):
        response = client.post(
            reverse("two_factor_verify"), {"code": _code(device), "next": "/zones/"}
        )
        assert response.status_code == 302
        assert response["Location"] == "/zones/"
    assert client.get(reverse("zones")).status_code == 200


def test_wrong_code_when_setting_up_keeps_the_same_secret(client, personas):
    coordinator = personas.coordinator
    client.force_login(coordinator)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=coordinator)
    response = client.post(reverse("two_factor_setup"), {"code": _wrong_code(device)})
    assert_clear_error(response, WRONG_CODE)
    response = client.post(reverse("two_factor_setup"), {"code": "12ab56"})
    assert_clear_error(response, "Enter the 6 digits shown in your app.")
    assert list(TOTPDevice.objects.filter(user=coordinator)) == [device]
    device.refresh_from_db()
    assert not device.confirmed


# --- CSRF ---------------------------------------------------------------------------------------


@pytest.fixture
def strict_client() -> Client:
    return Client(enforce_csrf_checks=True)


def test_missing_csrf_token_gets_our_403_page_and_nothing_changes(strict_client, personas):
    member = personas.verifier
    sign_in(strict_client, member)
    response = strict_client.post(
        reverse("profile"), {"full_name": "Forged", "phone": "(213) 555-0199"}
    )
    assert_clear_error(response, CSRF_MESSAGE, 403)
    assert "This form expired" in text(response)
    assert '<html lang="' in text(response)  # our error.html, not Django's bare page
    member.refresh_from_db()
    assert member.full_name == "Verifier Testperson"
    assert member.phone == "+12135550104"


def test_forged_csrf_token_gets_our_403_page_and_nothing_changes(strict_client, personas):
    coordinator, target = personas.coordinator, personas.newcomer
    sign_in(strict_client, coordinator)
    strict_client.get(reverse("profile"))  # sets a real CSRF cookie
    response = strict_client.post(
        reverse("roster_deactivate", args=[personas.org_a.pk, target.pk]),
        {"confirm": "on", "csrfmiddlewaretoken": "F" * 64},
    )
    assert_clear_error(response, CSRF_MESSAGE, 403)
    target.refresh_from_db()
    assert target.is_active
    response = strict_client.post(
        reverse("logout_everywhere"), HTTP_X_CSRFTOKEN="forged", HTTP_ORIGIN="http://evil.example"
    )
    assert_clear_error(response, CSRF_MESSAGE, 403)
    assert strict_client.get(reverse("profile")).status_code == 200  # still signed in


def test_sign_in_without_csrf_token_is_refused_clearly(strict_client, personas):
    response = strict_client.post(
        reverse("login"), {"username": "dispatcher", "password": PASSWORD}
    )
    assert_clear_error(response, CSRF_MESSAGE, 403)
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_csrf_page_speaks_spanish(strict_client, invite):
    strict_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    response = strict_client.post(reverse("join", args=[invite]), join_data())
    assert response.status_code == 403
    body = text(response)
    assert '<html lang="es">' in body
    assert "Por su seguridad, no pudimos aceptar el formulario." in body
    assert "No se perdió nada de lo que ya había guardado." in body
    assert Invitation.objects.get().used_at is None


# --- lockout ------------------------------------------------------------------------------------


def test_repeated_failed_sign_ins_lock_the_username_without_storing_the_ip(client, personas):
    limit = settings.AXES_FAILURE_LIMIT
    url = reverse("login")
    for _attempt in range(limit - 1):
        response = client.post(url, {"username": "dispatcher", "password": "wrong guess"})
        assert_clear_error(response, "Please enter a correct username and password")
    # The failure that reaches the limit is already answered with the lockout page.
    response = client.post(url, {"username": "dispatcher", "password": "wrong guess"})
    assert_clear_error(response, "Too many failed sign-ins for this username.", 429)

    # Now even the right password is refused until the cool-off ends.
    response = client.post(url, {"username": "dispatcher", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session

    # Lockout is by username: another person on the same network still signs in.
    other = Client()
    response = other.post(url, {"username": "verifier", "password": PASSWORD})
    assert response.status_code == 302

    attempts = list(AccessAttempt.objects.all())
    assert attempts
    assert {a.ip_address for a in attempts} == {"0.0.0.0"}
    assert not AccessAttempt.objects.filter(ip_address="127.0.0.1").exists()


def test_lockout_ends_after_the_cool_off(client, personas):
    url = reverse("login")
    for _i in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "dispatcher", "password": "wrong guess"})
    assert client.post(url, {"username": "dispatcher", "password": PASSWORD}).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = client.post(url, {"username": "dispatcher", "password": PASSWORD})
    assert response.status_code == 302


# --- ids that do not fit in a database integer --------------------------------------------------

HUGE = 10**25


@pytest.mark.parametrize(
    "method,name",
    [
        ("get", "roster_member"),
        ("post", "roster_role"),
        ("post", "roster_vouch"),
        ("post", "roster_training"),
        ("post", "roster_deactivate"),
    ],
)
def test_huge_member_id_in_a_roster_url_is_not_found_not_a_crash(client, personas, method, name):
    sign_in(client, personas.coordinator)
    response = getattr(client, method)(reverse(name, args=[personas.org_a.pk, HUGE]))
    assert response.status_code == 404
    assert "There is nothing at this address." in text(response)


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", lambda p: reverse("roster", args=[HUGE])),
        ("get", lambda p: reverse("member_detail", args=[HUGE])),
        ("post", lambda p: reverse("member_contact", args=[HUGE])),
        ("post", lambda p: reverse("invite_revoke", args=[p.org_a.pk, HUGE])),
        ("post", lambda p: reverse("token_revoke", args=[HUGE])),
    ],
)
def test_huge_ids_elsewhere_are_refused_not_a_crash(client, personas, method, url):
    sign_in(client, personas.coordinator)
    response = getattr(client, method)(url(personas))
    assert response.status_code in (403, 404)
