"""A member's phone changes only when the code texted to the new number comes back: typing
someone else's number into the profile (or the join form) takes neither their replies nor the
messages meant for them."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_member, sign_in
from tests.twilio_stub import fresh_rate_limits  # noqa: F401  (a fixture)
from vecinos.core.models import AuditEvent
from vecinos.messaging.models import Delivery
from vecinos.network import inbound, phone_change
from vecinos.network.models import Member, PhoneChange, Role
from vecinos.network.phones import normalize_phone, phone_index
from vecinos.network.services import invitation_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

VICTIM = "+13235550111"


def profile_data(phone: str, **overrides) -> dict:
    data = {"full_name": "Ana Nueva", "phone": phone, "preferred_language": "es", "notes": ""}
    data.update(overrides)
    return data


def texted_code(phone: str) -> str:
    """The code in the last text queued for ``phone``."""
    index = phone_index(normalize_phone(phone))
    deliveries = Delivery.objects.filter(purpose="phone_code", contact__address_index=index)
    body = deliveries.order_by("-id").first().body
    return re.search(r"\b(\d{6})\b", body).group(1)


def page(response) -> str:
    return html.unescape(response.content.decode())


def test_another_persons_number_is_not_taken_until_its_code_comes_back(client, personas):
    victim = make_member("victim", phone=VICTIM)
    attacker = personas.verifier
    before = attacker.phone
    sign_in(client, attacker)
    response = client.post(reverse("profile"), profile_data("(323) 555-0111"), follow=True)
    assert response.status_code == 200
    body = page(response)
    assert "We texted a code to your new phone number" in body
    assert "(323) 555-0111" in body  # the box says which number waits
    attacker.refresh_from_db()
    assert attacker.phone == before and attacker.full_name == "Ana Nueva"  # the rest saved
    # Texts from that number are still the victim's, not the attacker's.
    assert inbound.member_by_phone(phone_index(VICTIM)) == victim
    # The code went to the number itself (in the member's language), and nowhere else.
    (sent,) = Delivery.objects.filter(purpose="phone_code")
    assert sent.contact.address == VICTIM and sent.contact.member_id is None
    assert "código" in sent.body.lower()
    # Guessing does not work: after five wrong codes not even the right one does, and the
    # page still offers a new code (its message says to ask for one).
    right = texted_code(VICTIM)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(phone_change.MAX_TRIES):
        response = client.post(reverse("profile_phone"), {"action": "confirm", "code": wrong})
        assert response.status_code == 302
    response = client.post(
        reverse("profile_phone"), {"action": "confirm", "code": right}, follow=True
    )
    assert "ask for a new code" in page(response) and "Send a new code" in page(response)
    attacker.refresh_from_db()
    assert attacker.phone == before
    assert AuditEvent.objects.filter(action="profile.phone_code_wrong").count() == 6


def test_the_right_code_makes_the_number_the_members(client, personas):
    member = personas.verifier
    sign_in(client, member)
    client.post(reverse("profile"), profile_data("213.555.0199"))
    code = texted_code("+12135550199")
    # Typed with a space, or in Arabic-Indic digits, it is the same code.
    typed = " ".join([code[:3], code[3:]])
    response = client.post(
        reverse("profile_phone"), {"action": "confirm", "code": typed}, follow=True
    )
    assert "Your phone number is now (213) 555-0199." in page(response)
    member.refresh_from_db()
    assert member.phone == "+12135550199" and member.phone_index == phone_index("+12135550199")
    assert not PhoneChange.objects.filter(member=member).exists()
    assert inbound.member_by_phone(phone_index("+12135550199")) == member
    assert AuditEvent.objects.filter(action="profile.phone_confirmed", target_id=member.pk).exists()


def test_a_code_in_arabic_indic_digits_is_read(client, personas):
    member = personas.verifier
    sign_in(client, member)
    client.post(reverse("profile"), profile_data("(213) 555-0198"))
    code = texted_code("+12135550198")
    arabic = "".join(chr(0x0660 + int(d)) for d in code)
    client.post(reverse("profile_phone"), {"action": "confirm", "code": arabic})
    member.refresh_from_db()
    assert member.phone == "+12135550198"


def test_a_code_older_than_half_an_hour_does_not_work(client, personas):
    member = personas.verifier
    sign_in(client, member)
    client.post(reverse("profile"), profile_data("(213) 555-0197"))
    code = texted_code("+12135550197")
    later = timezone.now() + timedelta(minutes=phone_change.CODE_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        sign_in(client, member)
        response = client.post(
            reverse("profile_phone"), {"action": "confirm", "code": code}, follow=True
        )
        assert "more than 30 minutes old" in page(response)
        assert "Confirm your new phone number" not in page(client.get(reverse("profile")))
        # The retention step forgets the number.
        assert phone_change.drop_expired() == {"phone_changes": 1}
    member.refresh_from_db()
    assert member.phone != "+12135550197"


def test_a_new_code_replaces_the_old_one_and_sends_are_limited(client, personas):
    member = personas.verifier
    sign_in(client, member)
    client.post(reverse("profile"), profile_data("(213) 555-0196"))
    first = texted_code("+12135550196")
    response = client.post(reverse("profile_phone"), {"action": "resend"}, follow=True)
    assert "We texted you a new code." in page(response)
    second = texted_code("+12135550196")
    if first != second:  # one chance in a million that they are the same
        client.post(reverse("profile_phone"), {"action": "confirm", "code": first})
        member.refresh_from_db()
        assert member.phone != "+12135550196"
    for _ in range(phone_change.SENDS_PER_HOUR):
        response = client.post(reverse("profile_phone"), {"action": "resend"}, follow=True)
    assert "Too many codes were sent to you in the last hour" in page(response)
    sent = Delivery.objects.filter(purpose="phone_code").count()
    assert sent == phone_change.SENDS_PER_HOUR
    # A profile saved with yet another number: the rest is saved, and it says so.
    response = client.post(
        reverse("profile"), profile_data("(213) 555-0190", full_name="Ana Limit"), follow=True
    )
    assert "Your other details are saved, but not the new phone number" in page(response)
    member.refresh_from_db()
    assert member.full_name == "Ana Limit" and member.phone != "+12135550190"
    # Saving the profile again with the same waiting number sends nothing more.
    client.post(reverse("profile"), profile_data("(213) 555-0196"))
    assert Delivery.objects.filter(purpose="phone_code").count() == sent


def test_keeping_the_old_number_or_removing_the_phone_needs_no_code(client, personas):
    member = personas.verifier
    before = member.phone
    sign_in(client, member)
    client.post(reverse("profile"), profile_data("(213) 555-0195"))
    response = client.post(reverse("profile_phone"), {"action": "cancel"}, follow=True)
    assert "Your phone number is unchanged." in page(response)
    assert not PhoneChange.objects.filter(member=member).exists()
    member.refresh_from_db()
    assert member.phone == before
    client.post(reverse("profile"), profile_data(""))
    member.refresh_from_db()
    assert member.phone == "" and member.phone_index == ""


def test_the_profile_page_keeps_the_waiting_number_in_the_form(client, personas):
    """Saving the profile again (a name changed) must not drop the number waiting for its code."""
    member = personas.verifier
    sign_in(client, member)
    client.post(reverse("profile"), profile_data("(213) 555-0194"))
    body = page(client.get(reverse("profile")))
    assert 'value="(213) 555-0194"' in body
    client.post(reverse("profile"), profile_data("(213) 555-0194", full_name="Ana Otra"))
    assert PhoneChange.objects.get(member=member).phone == "+12135550194"


def test_joining_by_invitation_texts_the_phone_a_code(client, personas):
    token = invitation_create(
        actor=personas.coordinator, organization=personas.org_a, role=Role.PATROL
    ).token
    response = client.post(
        reverse("join", args=[token]),
        {
            "username": "nueva.vecina",
            "password1": "three unrelated words",
            "password2": "three unrelated words",
            "full_name": "Nueva Vecina",
            "phone": "(323) 555-0111",
            "email": "",
            "preferred_language": "en",
            "languages": ["es"],
        },
        follow=True,
    )
    body = page(response)
    assert "We texted a code to your phone" in body and "Confirm the number" in body
    # Someone joining has no number "from before" to keep.
    assert "start getting messages on this number" in body and "Do not use this number" in body
    assert "Keep my old number" not in body
    member = Member.objects.get(username="nueva.vecina")
    assert member.phone == ""
    sent = Delivery.objects.get(purpose="phone_code")
    assert sent.language == "en" and "your code to confirm this phone number" in sent.body
    client.post(reverse("profile_phone"), {"action": "confirm", "code": texted_code(VICTIM)})
    member.refresh_from_db()
    assert member.phone == VICTIM


def test_nobody_else_can_confirm_or_cancel_a_members_waiting_number(client, personas):
    member = personas.verifier
    phone_change.start(member, "+12135550193")
    code = texted_code("+12135550193")
    other = personas.coordinator
    sign_in(client, other)
    client.post(reverse("profile_phone"), {"action": "confirm", "code": code})
    client.post(reverse("profile_phone"), {"action": "cancel"})
    other.refresh_from_db()
    assert other.phone != "+12135550193"
    assert PhoneChange.objects.filter(member=member).exists()
    client.logout()
    response = client.post(reverse("profile_phone"), {"action": "confirm", "code": code})
    assert response.status_code == 302 and "/signin/" in response["Location"]
    # Signed out mid-form, signing in again comes back with a GET: the profile, with the box.
    sign_in(client, member)
    response = client.get(reverse("profile_phone"))
    assert response.status_code == 302 and response["Location"] == reverse("profile")


# --- the member's alerts follow the phone ------------------------------------------------------


def _member_with_alerts(member, phone: str):
    from vecinos.alerts import services as alerts

    member.phone, member.phone_index = phone, phone_index(phone)
    member.save(update_fields=["phone", "phone_index"])
    return alerts.subscribe(
        phone=phone,
        member=member,
        language="es",
        channels=["sms"],
        point=(34.05, -118.22),
        radius_m=1500,
        label="home",
        source="member",
        confirmed=True,
    )


def _confirm(client, member, phone: str) -> None:
    sign_in(client, member)
    client.post(reverse("profile"), profile_data(phone))
    client.post(reverse("profile_phone"), {"action": "confirm", "code": texted_code(phone)})


def test_a_members_alerts_go_to_the_confirmed_new_phone(client, personas):
    from vecinos.alerts.models import Subscriber

    member = personas.verifier
    sub = _member_with_alerts(member, "+12135550150")
    _confirm(client, member, "(213) 555-0151")
    sub.refresh_from_db()
    assert sub.phone == "+12135550151" and sub.phone_index == phone_index("+12135550151")
    assert sub.sms.address == "+12135550151" and sub.status == Subscriber.Status.ACTIVE
    assert sub.areas.count() == 1
    # Removing the phone: the subscription reaches no phone any more (nor the old one).
    client.post(reverse("profile"), profile_data(""))
    sub.refresh_from_db()
    assert sub.phone == "" and sub.sms_id is None and sub.voice_id is None


def test_a_public_subscription_on_the_new_number_becomes_the_members(client, personas):
    """They subscribed publicly with that phone before (and proved they hold it): one
    subscription, with both sets of areas; the old one keeps its history and reaches nobody."""
    from vecinos.alerts import services as alerts
    from vecinos.alerts.models import Subscriber

    member = personas.verifier
    old = _member_with_alerts(member, "+12135550152")
    public = alerts.subscribe(
        phone="+12135550153", point=(34.06, -118.24), radius_m=1500, label="work",
        source="web", confirmed=True,
    )  # fmt: skip
    _confirm(client, member, "(213) 555-0153")
    public.refresh_from_db()
    old.refresh_from_db()
    assert public.member_id == member.pk and public.areas.count() == 2
    assert public.status == Subscriber.Status.ACTIVE
    assert old.member_id is None and old.phone == "" and old.status == Subscriber.Status.STOPPED
    assert Subscriber.objects.filter(phone_index=phone_index("+12135550152")).count() == 0


def test_before_the_code_nobody_gets_another_persons_subscription(client, personas):
    """The old way in: type a public subscriber's number into the profile, open "My alerts",
    and their subscription (with where they live) became yours."""
    from vecinos.alerts import services as alerts

    victim = alerts.subscribe(
        phone="+12135550154", point=(34.07, -118.25), radius_m=1500, label="home",
        source="web", confirmed=True,
    )  # fmt: skip
    attacker = personas.verifier
    sign_in(client, attacker)
    client.post(reverse("profile"), profile_data("(213) 555-0154"))
    response = client.get(reverse("my_subscriptions"))
    assert response.status_code in (200, 302)
    victim.refresh_from_db()
    assert victim.member_id is None
