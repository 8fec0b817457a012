"""The demo walks end to end: people to reach, people on duty, a code without a second device,
and a phone simulator to read what they received."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import sign_in
from vecinos.alerts.models import Subscriber, SubscriptionArea
from vecinos.network.demo import load_demo
from vecinos.network.models import Member, Zone
from vecinos.network.phones import phone_index
from vecinos.reports.models import OnDuty
from vecinos.transports.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return load_demo()


def test_demo_has_subscribers_and_member_areas_in_every_zone_and_people_on_duty(demo):
    assert set(demo.credentials) == {
        "coordinator", "dispatcher", "newcomer", "verifier", "orgcoordinator", "captain"
    }  # fmt: skip
    for zone in Zone.objects.all():
        public = SubscriptionArea.objects.filter(zone=zone, subscriber__member__isnull=True)
        assert public.filter(subscriber__status=Subscriber.Status.ACTIVE).count() >= 3, zone.slug
    assert SubscriptionArea.objects.filter(subscriber__member__isnull=False).count() > 100
    on_duty = OnDuty.objects.filter(until__gt=timezone.now())
    assert set(on_duty.values_list("member__username", "role")) == {
        ("dispatcher", "dispatcher"),
        ("verifier", "verifier"),
    }
    assert on_duty.get(role="verifier").lat is not None


def test_the_demo_has_events_a_stranger_can_rsvp_to(demo, client):
    """Outside walk, session 17: the demo had no event, so RSVPs, the waitlist and the door
    could only be tried after creating one."""
    page = client.get("/events/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "March for families" in page and "Know your rights training" in page
    from vecinos.mobilize.models import Event

    rally = Event.objects.get(kind="rally")
    detail = client.get(f"/events/{rally.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "3 of 5 taken" in detail and "I will be there" in detail


def test_the_demo_has_a_call_out_on_its_board(demo, client):
    """Outside walk, session 18: the demo had no call-out, so the board (who is coming, the
    guidance in each language) could only be seen after making one. Its responders were
    asked by text, in their language."""
    from vecinos.messaging import services as messaging
    from vecinos.mobilize.models import Activation

    activation = Activation.objects.get()
    assert activation.status == Activation.Status.OPEN
    sign_in(client, Member.objects.get(username="dispatcher"))
    board = client.get(f"/mobilize/{activation.pk}/", HTTP_ACCEPT_LANGUAGE="es")
    page = board.content.decode()
    assert board.status_code == 200 and "Mariachi Plaza" in page
    assert "Lleguen en parejas" in page and "Come in pairs" in page
    messaging.dispatch()
    asked = [m for m in OutboxMessage.objects.all() if "Mariachi Plaza" in m.body]
    assert len(asked) >= 2


def test_the_demo_organization_coordinator_is_one_and_independent(demo, client):
    """Outside walk, session 19: the demo's only coordinator was also the coalition's, so an
    organization's coordinator's journeys could not be tried: the day's import limit, the
    second reading of a rights edit, an alert that waits for a second person."""
    from vecinos.network import selectors as network

    person = Member.objects.get(username="orgcoordinator")
    coordinator = Member.objects.get(username="coordinator")
    assert network.has_role(person, "org_coordinator")
    assert not network.is_coalition_coordinator(person)
    assert network.independent_people(person, coordinator)
    sign_in(client, person)
    page = client.get(reverse("import_start"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "can bring in 1000 more people today" in page


def test_the_demo_captain_has_people_to_call_from_a_practice_alert(demo, client):
    """Outside walk, session 19: the phone tree could not be tried in the demo (no captain who
    signs in, no alert that had reached a captain). The practice alert went through its own
    escalation steps: texts, then calls, then the captain's list."""
    from vecinos.alerts.models import Alert, AlertRecipient
    from vecinos.messaging.models import Delivery

    captain = Member.objects.get(username="captain")
    practice = Alert.objects.get(kind=Alert.Kind.NOTICE)
    assert practice.status == Alert.Status.SENT and "PRÁCTICA" in practice.messages["es"]
    mine = AlertRecipient.objects.filter(alert=practice, captain=captain)
    assert mine.count() == 3
    assert Delivery.objects.filter(ref_id=practice.pk, channel="voice").exists()
    sign_in(client, captain)
    page = client.get(reverse("captain"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count('class="card call"') == 3 and "PRACTICE" in page
    assert 'href="tel:+1' in page
    home = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{reverse("captain")}"' in home


def test_demo_staff_see_their_current_code_and_can_sign_in_with_it(demo, client):
    client.post(
        reverse("login"),
        {"username": "dispatcher", "password": demo.credentials["dispatcher"]},
    )
    page = client.get(reverse("two_factor_verify")).content.decode()
    assert "Demo only" in page
    code = page.split('id="demo-code">')[1].split("<strong>")[1].split("</strong>")[0]
    response = client.post(reverse("two_factor_verify"), {"code": code, "next": "/console/"})
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert client.get("/console/").status_code == 200


def test_no_demo_code_in_production_or_for_real_accounts(demo, client, settings):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.conftest import make_member
    from vecinos.network.models import Organization, Role, Tier

    org = Organization.objects.first()
    real = make_member("realstaff", org=org, roles=(Role.DISPATCHER,), tier=Tier.TRAINED)
    TOTPDevice.objects.create(user=real, name="phone", confirmed=True)
    client.force_login(real, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get(reverse("two_factor_verify")).content.decode()
    assert "Enter your code" in page and "Demo only" not in page

    settings.PRODUCTION = True
    demo_staff = Member.objects.get(username="dispatcher")
    client.force_login(demo_staff, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get(reverse("two_factor_verify")).content.decode()
    assert "Enter your code" in page and "Demo only" not in page


def test_phone_simulator_shows_each_phones_messages_with_working_links(client, db):
    OutboxMessage.objects.create(
        channel="sms",
        address="+13105550100",
        body="RVLA: please verify incident #4. Open http://127.0.0.1:8000/v/abc/",
        provider_id="p1",
        idempotency_key="k1",
    )
    OutboxMessage.objects.create(
        channel="sms", address="+14245550101", body="other", provider_id="p2", idempotency_key="k2"
    )
    page = client.get("/dev/phone/?to=%2B13105550100").content.decode()
    assert 'href="http://testserver/v/abc/"' in page
    assert "other" not in page.split('id="phone-messages"')[1]
    # A phone that has had nothing yet: its own empty thread, not every phone's (outside walk,
    # session 19); a filter that is no phone shows them all.
    empty = client.get("/dev/phone/?to=%2B13235550201", HTTP_ACCEPT_LANGUAGE="en").content
    thread = empty.decode().split('id="phone-messages"')[1]
    assert "No messages yet." in thread and "other" not in thread and "verify" not in thread
    everything = client.get("/dev/phone/?to=nonsense").content.decode()
    assert "other" in everything.split('id="phone-messages"')[1]


def test_the_phone_simulator_texts_our_number_as_a_phone_would(client, db, settings):
    """Outside walk, session 17: texts asked people to reply YES, 1 or STOP, but the simulator
    could only show messages. Now a stranger can answer, or text JOIN, from any phone."""
    from vecinos.alerts.models import Subscriber

    page = client.get("/dev/phone/?to=%2B13105550100").content.decode()
    assert 'value="+13105550100"' in page  # the shown phone answers by default
    response = client.post("/dev/phone/", {"phone": "(213) 555-0177", "body": "JOIN 90033"})
    assert response.status_code == 302 and response["Location"].endswith("to=%2B12135550177")
    page = client.get(response["Location"]).content.decode()
    assert "+12135550177 texted: JOIN 90033" in page and "Answer: " in page
    assert Subscriber.objects.filter(phone_index=phone_index("+12135550177")).exists()
    bad = client.post("/dev/phone/", {"phone": "12", "body": "hi"})
    assert bad.status_code == 200 and "Enter a valid phone number" in bad.content.decode()
    settings.PRODUCTION = True
    assert (
        client.post("/dev/phone/", {"phone": "(213) 555-0178", "body": "JOIN 90033"}).status_code
        == 404
    )


def test_the_phone_simulator_keeps_the_conversation(client, db):
    """Outside walk, session 19: a text sent from the simulator and our answer showed once, as a
    banner, then were gone. They stay in the phone's thread, newest first, and only there."""
    client.post("/dev/phone/", {"phone": "(213) 555-0181", "body": "JOIN 90033"})
    client.post("/dev/phone/", {"phone": "(213) 555-0181", "body": "SI"})
    client.post("/dev/phone/", {"phone": "(213) 555-0182", "body": "REPORT"})
    page = client.get("/dev/phone/?to=%2B12135550181").content.decode()
    thread = page[page.index('id="phone-messages"') :]
    sent = re.findall(r"<li data-to=\"\+12135550181\" class=\"phone-sent\" data-sent>", thread)
    assert len(sent) == 2 and "Texted by this phone" in thread
    assert thread.index("SI") < thread.index("JOIN 90033")  # newest first
    # Our answers stay too, each above the text it answers.
    assert thread.count('data-to="+12135550181"') >= 4
    assert "REPORT" not in thread and "+12135550182" not in thread
    everyone = client.get("/dev/phone/").content.decode()
    assert "REPORT" in everyone and "JOIN 90033" in everyone
    # Another browser's session sees none of it.
    client.logout()
    client.cookies.clear()
    assert "JOIN 90033" not in client.get("/dev/phone/?to=%2B12135550181").content.decode()


def test_phone_simulator_is_gone_in_production_and_with_a_real_provider(client, settings, db):
    settings.PRODUCTION = True
    assert client.get("/dev/phone/").status_code == 404
    settings.PRODUCTION = False
    settings.TRANSPORTS = {
        **settings.TRANSPORTS,
        "sms": {"path": "vecinos.transports.twilio.sms.TwilioSmsTransport"},
    }
    assert client.get("/dev/phone/").status_code == 404


def test_phone_simulator_is_not_routed_in_production(tmp_path):
    import os
    import subprocess
    import sys

    code = (
        "import django;django.setup();from django.urls import resolve, Resolver404\n"
        "try:\n resolve('/dev/phone/');print('routed')\n"
        "except Resolver404:\n print('absent')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vecinos.settings",
        "VECINOS_ENV": "production",
        "VECINOS_DATA_DIR": str(tmp_path),
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "absent", out.stderr
