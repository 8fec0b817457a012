"""Events through their entry points: public list and page, RSVP on the web and by SMS keyword,
waitlist, reminders, iCalendar, QR code, the door, training check-in, retention and purge; and
the call-out API."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import icalendar
import phonenumbers
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tests.conftest import make_member, sign_in
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    sms_reply,
    twilio_webhooks,
)
from vecinos.alerts import services as alert_services
from vecinos.core.coalition import invalidate
from vecinos.core.models import AuditEvent, CoalitionSettings
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery
from vecinos.mobilize import events, selectors
from vecinos.mobilize.models import Activation, Event, Response, Rsvp
from vecinos.network.models import Role, Training
from vecinos.network.models import Tier as Vetting
from vecinos.network.services import token_create
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


_given: set[str] = set()


def new_number() -> str:
    """A valid number no earlier call gave (two people with one number would share one
    subscription: a collision made a quota test flaky)."""
    while True:
        number = f"+1323555{random.randint(0, 9999):04d}"
        if number not in _given and phonenumbers.is_valid_number(phonenumbers.parse(number)):
            _given.add(number)
            return number


text = sms_reply


def rally(personas, **kw) -> Event:
    start = kw.pop("starts_at", timezone.now() + timedelta(days=3))
    return events.event_create(
        actor=kw.pop("actor", personas.coordinator),
        organization=personas.org_a,
        kind=kw.pop("kind", "rally"),
        titles=kw.pop("titles", {"en": "Rally for families", "es": "Marcha por las familias"}),
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="City Hall steps",
        **kw,
    )


def test_public_events_are_listed_with_a_page_a_feed_and_a_qr_code(client, personas):
    event = rally(
        personas, hosts=[personas.org_b], accessibility="Step-free entrance",
        actor=personas.coalition,
    )  # fmt: skip
    hidden = rally(personas, public=False, titles={"en": "Members meeting"})
    page = client.get("/events/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Rally for families" in page.content.decode()
    assert "Members meeting" not in page.content.decode()
    detail = client.get(f"/events/{event.pk}/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Marcha por las familias" in detail and "Org B" in detail and event.code in detail
    # The keyword to text is Spanish like the other kinds' (it was "RALLY": outside walk).
    assert re.fullmatch(r"MARCHA\d{2}", event.code)
    assert client.get(f"/events/{hidden.pk}/").status_code == 404
    feed = icalendar.Calendar.from_ical(client.get("/events/feed.ics").content)
    # Named for the coalition, not the product (outside walk, session 17).
    CoalitionSettings.objects.update_or_create(pk=1, defaults={"name": "R R", "short_name": "RRV"})
    invalidate()
    feed = icalendar.Calendar.from_ical(
        client.get("/events/feed.ics", HTTP_ACCEPT_LANGUAGE="es").content
    )
    assert str(feed["x-wr-calname"]) == "Eventos de RRV"
    summaries = [str(c["summary"]) for c in feed.walk("VEVENT")]
    assert len(summaries) == 1
    qr = client.get(f"/events/{event.pk}/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml"
    # A file an <img> shows: the SVG namespace, or browsers draw nothing (outside walk).
    assert ET.fromstring(qr.content).tag == "{http://www.w3.org/2000/svg}svg"


def test_the_co_hosts_hint_is_for_those_who_cannot_name_any(client, personas):
    """Outside walk, session 18: the form told a coalition coordinator, who may name every
    organization, to ask a coalition coordinator."""
    hint = "ask a coalition coordinator"
    sign_in(client, personas.coalition)
    assert hint not in client.get("/events/new/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    sign_in(client, personas.coordinator)
    assert hint in client.get("/events/new/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_only_organizations_one_coordinates_can_be_named_co_hosts(client, login, personas):
    """Outside probe, session 17: an organization's coordinator named every organization of the
    coalition as co-host of a public "stay home" announcement, which none had agreed to."""
    start = timezone.localtime() + timedelta(days=3)
    data = {
        "kind": "press", "title_en": "Press conference", "organization": personas.org_a.pk,
        "hosts": [personas.org_b.pk], "public": "on", "place": "City Hall steps",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    }  # fmt: skip
    login(personas.coordinator)
    page = client.get("/events/new/").content.decode()
    assert f'value="{personas.org_b.pk}"' not in page and "Org B" not in page
    response = client.post("/events/new/", data)
    assert response.status_code == 200 and not Event.objects.exists()
    assert "Select a valid choice" in response.content.decode()
    assert "Press conference" in response.content.decode()  # what was typed stays
    with pytest.raises(events.EventError) as refused:
        rally(personas, hosts=[personas.org_b])
    assert "hosts" in refused.value.errors and not Event.objects.exists()
    login(personas.coalition)
    assert client.post("/events/new/", data).status_code == 302
    event = Event.objects.get()
    assert set(event.hosts.all()) == {personas.org_a, personas.org_b}


def _link_sent_to(address: str | None = None, event: Event | None = None) -> str:
    """The newest RSVP link texted or emailed (to ``address``; for ``event``), as a path."""
    messaging.dispatch()
    bodies = [m.body for m in OutboxMessage.objects.all() if address in (None, m.address)]
    which = str(event.pk) if event is not None else r"\d+"
    found = [re.search(rf"https?://[^/\s]+(/events/{which}/rsvp/[^/\s]+/)", b) for b in bodies]
    links = [m.group(1) for m in found if m]
    assert links, bodies
    return links[-1]


@pytest.mark.parametrize(("accept", "code"), [("vi", "vi"), ("zh-hant", "zh-hant"), ("ar", "ar")])
def test_a_web_rsvps_link_is_texted_in_the_pages_language(client, personas, accept, code):
    """Outside walk, session 18: an RSVP from a Vietnamese, Chinese or Arabic event page got its
    link (the message that keeps the place) in Spanish."""
    event = rally(personas)
    phone = new_number()
    client.post(f"/events/{event.pk}/", {"phone": phone}, HTTP_ACCEPT_LANGUAGE=accept)
    assert Rsvp.objects.get().language == code
    messaging.dispatch()
    [sent] = [m for m in OutboxMessage.objects.all() if m.address == phone]
    with translation.override(code):
        template = gettext(
            "Vecinos: to keep your place at %(title)s, %(when)s, open %(link)s. If you did "
            "not ask for it, ignore this message."
        )
    ending = template.split("%(link)s")[1].strip()
    assert ending and ending in sent.body, sent.body
    assert "para guardar su lugar" not in sent.body


def test_the_outbox_hides_rsvp_links(client, personas):
    """Outside walk, session 18: the outbox showed RSVP links whole, and anyone who reads it
    could keep or cancel someone's place."""
    event = rally(personas)
    client.post(f"/events/{event.pk}/", {"phone": new_number()})
    token = _link_sent_to().split("/")[4]
    sign_in(client, personas.dispatcher)
    outbox = client.get("/outbox/").content.decode()
    assert "/rsvp/…/" in outbox and token not in outbox


def test_a_web_rsvp_says_nothing_of_who_is_coming_until_its_link_is_opened(client, personas):
    """Outside probe, session 17: typing a number into the RSVP form told, by the count of
    places or the going/waitlist answer, whether that phone had signed up already, and showed
    its door code; anyone could sign a stranger up for reminder texts. Now the form's answer is
    one for every number; a place is kept once the link texted to the phone is opened."""
    event = rally(personas, capacity=2)
    victim = new_number()
    answers = []
    for number in (victim, victim, new_number()):
        page = client.post(f"/events/{event.pk}/", {"phone": number})
        html = page.content.decode()
        assert page.status_code == 200 and "<svg" not in html and "data-door-qr" not in html
        answers.append(re.sub(r"csrfmiddlewaretoken\" value=\"[^\"]+", "", html))
        assert "0 of 2 taken" in client.get(f"/events/{event.pk}/").content.decode()
    assert answers[0] == answers[1] == answers[2]
    assert not any(r.status in ("going", "waitlist") for r in Rsvp.objects.all())
    link = _link_sent_to(victim)
    assert "Yes, keep my place" in client.get(link).content.decode()
    assert "You are going" in client.post(link).content.decode()
    assert "1 of 2 taken" in client.get(f"/events/{event.pk}/").content.decode()
    # Once confirmed, the number typed in again still gets the same answer, and the count
    # does not move; the link goes to the phone again (at most 3 an hour), not to the page.
    again = [
        re.sub(r"csrfmiddlewaretoken\" value=\"[^\"]+", "", page.content.decode())
        for page in (
            client.post(f"/events/{event.pk}/", {"phone": n}) for n in (victim, new_number())
        )
    ]
    assert again[0] == again[1]
    assert "1 of 2 taken" in client.get(f"/events/{event.pk}/").content.decode()
    for _ in range(3):
        client.post(f"/events/{event.pk}/", {"phone": victim})
    messaging.dispatch()
    sent = [m for m in OutboxMessage.objects.all() if m.address == victim]
    assert len(sent) == events.RSVP_LINKS_PER_HOUR
    # Unconfirmed RSVPs get no reminder and are not on the door list.
    assert events.send_reminders(now=event.starts_at - timedelta(hours=1)) == 1
    sign_in(client, personas.coordinator)
    door = client.get(f"/events/{event.pk}/door/").content.decode()
    assert victim[-4:] in door
    pending = Rsvp.objects.filter(status=Rsvp.Status.PENDING)
    assert pending.count() == 2 and not any(r.phone[-4:] in door for r in pending)
    # A forged or another event's link opens nothing.
    assert client.get(link.replace("/rsvp/", "/rsvp/x")).status_code == 404
    other = rally(personas, titles={"en": "Another"})
    assert (
        client.get(link.replace(f"/events/{event.pk}/", f"/events/{other.pk}/")).status_code == 404
    )


def test_a_signed_in_member_rsvps_with_their_own_phone_at_once(client, personas):
    event = rally(personas)
    sign_in(client, personas.newcomer)
    page = client.post(f"/events/{event.pk}/", {"phone": personas.newcomer.phone})
    assert "You are going" in page.content.decode() and "data-door-qr" in page.content.decode()
    assert Rsvp.objects.get().member == personas.newcomer


def test_a_signed_in_member_finds_the_form_filled_in_and_their_place_when_they_come_back(
    client, personas
):
    event = rally(personas)
    sign_in(client, personas.newcomer)
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert f'value="{personas.newcomer.phone}"' in page and "Filled in from your profile" in page
    assert "You are going" not in page
    # The form as it came: one click keeps the place.
    client.post(
        f"/events/{event.pk}/",
        {"nickname": personas.newcomer.username, "phone": personas.newcomer.phone, "email": ""},
    )
    again = client.get(f"/events/{event.pk}/").content.decode()
    assert "You are going" in again and "data-door-qr" in again and "I will be there" not in again
    # Another member sees their own form, not the first one's place.
    client.logout()
    sign_in(client, personas.dispatcher)
    other = client.get(f"/events/{event.pk}/").content.decode()
    assert "You are going" not in other and personas.newcomer.phone not in other
    # A cancelled RSVP gives the form back.
    Rsvp.objects.update(status=Rsvp.Status.CANCELLED)
    client.logout()
    sign_in(client, personas.newcomer)
    assert "I will be there" in client.get(f"/events/{event.pk}/").content.decode()


def test_web_rsvp_needs_one_contact_and_is_stored_encrypted(client, personas):
    event = rally(personas)
    bad = client.post(f"/events/{event.pk}/", {"nickname": "Lupe"})
    assert bad.status_code == 400 and "Give a phone number or an email" in bad.content.decode()
    assert bad.content.decode().count("Give a phone number or an email") == 1  # once, not twice
    bad_phone = client.post(f"/events/{event.pk}/", {"phone": "12"})
    assert "does not look right" in bad_phone.content.decode()
    ok = client.post(f"/events/{event.pk}/", {"nickname": "Lupe", "phone": "(323) 555-0142"})
    assert ok.status_code == 200 and "We texted a link" in ok.content.decode()
    rsvp = Rsvp.objects.get()
    assert rsvp.phone == "+13235550142" and rsvp.nickname == "Lupe"
    assert rsvp.status == Rsvp.Status.PENDING
    with connection.cursor() as cursor:
        cursor.execute("SELECT nickname, phone FROM mobilize_rsvp")
        raw = cursor.fetchone()
    assert "Lupe" not in raw[0] and "3235550142" not in raw[1]


def test_a_full_events_link_offers_the_waitlist_and_no_door_code(client, personas):
    """Outside walk, session 18: when the event was full the text and the page still spoke of
    keeping a place, and the waitlisted person got a door code."""
    event = rally(personas, capacity=1)
    events.rsvp_create(event=event, nickname="First", phone=new_number())
    phone = new_number()
    client.post(f"/events/{event.pk}/", {"phone": phone})
    messaging.dispatch()
    [sent] = [m for m in OutboxMessage.objects.all() if m.address == phone]
    assert "is full" in sent.body and "waitlist" in sent.body
    link = _link_sent_to(phone)
    page = client.get(link).content.decode()
    assert "Yes, put me on the waitlist" in page and "Yes, keep my place" not in page
    page = client.post(link).content.decode()
    assert "you are on the waitlist" in page
    assert "data-door-qr" not in page and "<svg" not in page
    # Someone with a place gets the code.
    other = rally(personas, titles={"en": "Roomy"})
    client.post(f"/events/{other.pk}/", {"phone": phone})
    roomy = _link_sent_to(phone, event=other)
    assert "data-door-qr" in client.post(roomy).content.decode()


def test_full_events_waitlist_and_a_cancel_by_sms_moves_the_next_one_up(client, personas):
    event = rally(personas, capacity=1)
    first, second = new_number(), new_number()
    # A stranger's language is guessed from their words: a bare keyword is answered in Spanish.
    assert "tiene lugar" in text(client, first, event.code).lower()
    assert "lista de espera" in text(client, second, event.code.lower())
    assert Rsvp.objects.get(phone_index=messaging.address_index("sms", second)).status == "waitlist"
    assert "cancelled" in text(client, first, f"CANCEL {event.code}").lower()
    assert Rsvp.objects.get(phone_index=messaging.address_index("sms", second)).status == "going"
    messaging.dispatch()
    assert any(m.address == second and "se abrió" in m.body for m in OutboxMessage.objects.all())


def test_reminders_go_once_the_day_before_and_two_hours_before(personas):
    event = rally(personas, starts_at=timezone.now() + timedelta(hours=20))
    rsvp = events.rsvp_create(event=event, phone=new_number(), language="es")
    assert events.send_reminders() == 1
    assert events.send_reminders() == 0
    assert events.send_reminders(now=event.starts_at - timedelta(minutes=110)) == 1
    messaging.dispatch()
    bodies = [m.body for m in OutboxMessage.objects.all() if m.address == rsvp.phone]
    assert any("mañana" in b for b in bodies) and any("2 horas" in b for b in bodies)


def test_the_door_of_a_cancelled_event_checks_nobody_in(client, personas):
    """Outside walk, session 18: a cancelled event's door still offered "Check in" and "Count a
    walk-in"; its list said "Going" in the call-outs' sense ("Va en camino": on the way)."""
    event = rally(personas)
    rsvp = events.rsvp_create(event=event, nickname="Lupe", phone=new_number())
    sign_in(client, personas.coordinator)
    check_in = reverse("event_check_in", args=[event.pk, rsvp.pk])
    walk_in = reverse("event_walk_in", args=[event.pk])
    door = client.get(f"/events/{event.pk}/door/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Asistirá" in door and "Va en camino" not in door
    assert check_in in door and walk_in in door
    events.event_cancel(event=event, actor=personas.coordinator)
    door = client.get(f"/events/{event.pk}/door/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert check_in not in door and walk_in not in door
    client.post(reverse("event_check_in", args=[event.pk, rsvp.pk]))
    client.post(reverse("event_walk_in", args=[event.pk]))
    rsvp.refresh_from_db()
    assert rsvp.checked_in_at is None and selectors.attendance(event)["walk_ins"] == 0


def test_the_door_is_only_for_the_hosting_organization(client, personas):
    event = rally(personas)
    events.rsvp_create(event=event, nickname="Lupe", phone=new_number())
    for who in ("outsider", "newcomer", "verifier", "anonymous"):
        client.logout()
        sign_in(client, personas.all()[who])
        assert client.get(f"/events/{event.pk}/door/").status_code == 403, who
    sign_in(client, personas.coordinator)
    page = client.get(f"/events/{event.pk}/door/?q=lup")
    assert "Lupe" in page.content.decode()
    assert AuditEvent.objects.filter(action="event.rsvps_view").exists()


def test_checking_in_at_a_training_records_it_on_the_members_vetting(client, personas):
    learner = make_member("learner", org=personas.org_a, roles=(Role.PATROL,),
                          tier=Vetting.VOUCHED, phone=new_number())  # fmt: skip
    training = rally(personas, kind="training", trainer=personas.coordinator,
                     titles={"en": "Know your rights training"})  # fmt: skip
    rsvp = events.rsvp_create(event=training, phone=learner.phone, member=learner)
    sign_in(client, personas.coordinator)
    client.post(f"/events/{training.pk}/door/{rsvp.pk}/")
    rsvp.refresh_from_db()
    learner.refresh_from_db()
    assert rsvp.checked_in_at is not None
    assert Training.objects.filter(member=learner, topic="Know your rights training").exists()
    assert learner.tier == Vetting.TRAINED
    assert AuditEvent.objects.filter(action="vetting.training", target_id=str(learner.pk)).exists()


def test_rsvps_are_purged_after_the_retention_period(personas, settings):
    settings.EVENT_RETENTION_DAYS = 7
    event = rally(personas)
    events.rsvp_create(event=event, nickname="Lupe", phone=new_number())
    Event.objects.filter(pk=event.pk).update(ends_at=timezone.now() - timedelta(days=8))
    assert events.purge_past() == 1
    rsvp = Rsvp.objects.get()
    assert rsvp.nickname == "" and rsvp.phone == "" and rsvp.phone_index == ""


def test_the_emergency_purge_empties_call_out_answers_and_rsvps(personas):
    from vecinos.mobilize import services
    from vecinos.purge import purge_everything_personal

    member = make_member("r1", org=personas.org_a, roles=(Role.RESPONDER,),
                         tier=Vetting.VOUCHED, phone=new_number())  # fmt: skip
    alert_services.ensure_member_subscriber(member)
    activation = services.activation_create(
        actor=personas.dispatcher, staging_point="Plaza", roles={"presence": 2},
        needed_by=timezone.now() + timedelta(minutes=30), tiers=["responders"],
    )  # fmt: skip
    services.activation_send(activation=activation, actor=personas.dispatcher)
    events.rsvp_create(event=rally(personas), nickname="Lupe", phone=new_number())
    counts = purge_everything_personal()
    assert counts["callout_responses"] == 1 and counts["rsvps"] == 1
    assert not Response.objects.exists() and not Rsvp.objects.exists()
    assert Activation.objects.get().staging_point == ""


# --- the call-out API ----------------------------------------------------------------------------


def _bearer(member) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_create(member=member, name='t').secret}"}


def test_api_creates_reads_and_stands_down_a_call_out(client, personas):
    member = make_member("r1", org=personas.org_a, roles=(Role.RESPONDER,),
                         tier=Vetting.VOUCHED, phone=new_number())  # fmt: skip
    alert_services.ensure_member_subscriber(member)
    auth = _bearer(personas.dispatcher)
    body = {"staging_point": "Plaza", "needed_by": (timezone.now() + timedelta(hours=1)).isoformat(),
            "roles": {"observer": 2}, "tiers": ["responders"]}  # fmt: skip
    created = client.post("/api/v1/activations", body, content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["recipients"] == 1 and data["counts"] == {"": {"asked": 1}}
    text(client, member.phone, "VOY 10")
    read = client.get(f"/api/v1/activations/{data['id']}", **auth).json()
    assert read["counts"]["observer"] == {"coming": 1}
    down = client.post(f"/api/v1/activations/{data['id']}/stand-down", **auth)
    assert down.status_code == 200 and down.json()["status"] == "stood_down"
    bad = client.post("/api/v1/activations", {**body, "roles": {"pilot": 1}},
                      content_type="application/json", **auth)  # fmt: skip
    assert bad.status_code == 400 and "roles" in bad.json()["errors"]


@pytest.mark.parametrize("who", ["verifier", "newcomer", "outsider"])
def test_api_refuses_those_who_may_not(client, personas, who):
    activation = events  # placeholder to keep the fixture order readable
    del activation
    from vecinos.mobilize import services

    own = services.activation_create(
        actor=personas.coordinator, staging_point="Plaza", roles={"presence": 1},
        needed_by=timezone.now() + timedelta(minutes=30), tiers=["responders"],
    )  # fmt: skip
    auth = _bearer(personas.all()[who])
    assert client.get(f"/api/v1/activations/{own.pk}", **auth).status_code in (403, 404)
    assert client.post(f"/api/v1/activations/{own.pk}/stand-down", **auth).status_code in (403, 404)
    body = {"staging_point": "Plaza", "needed_by": timezone.now().isoformat(),
            "roles": {"observer": 2}, "tiers": ["responders"]}  # fmt: skip
    made = client.post("/api/v1/activations", body, content_type="application/json", **auth)
    assert made.status_code == 403 or who == "outsider"
    assert client.get(f"/api/v1/activations/{own.pk}").status_code == 401


@pytest.mark.parametrize("who", ["newcomer", "verifier", "dispatcher", "anonymous"])
def test_only_coordinators_create_events(client, personas, who):
    sign_in(client, personas.all()[who])
    page = client.get("/events/new/")
    assert page.status_code in (302, 403)
    with pytest.raises(events.NotAllowed):
        if personas.all()[who] is None:
            raise events.NotAllowed
        rally(personas, actor=personas.all()[who])


def test_a_coordinator_creates_an_event_only_for_their_own_organization(client, personas):
    with pytest.raises(events.NotAllowed):
        events.event_create(
            actor=personas.outsider, organization=personas.org_a, kind="rally",
            titles={"en": "Not yours"}, starts_at=timezone.now() + timedelta(days=1),
            ends_at=timezone.now() + timedelta(days=1, hours=1), place="Park",
        )  # fmt: skip
    sign_in(client, personas.coordinator)
    start = timezone.localtime() + timedelta(days=2)
    page = client.post(
        "/events/new/",
        {
            "kind": "vigil",
            "title_es": "Vigilia",
            "title_en": "Vigil",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "place": "Plaza",
            "public": "on",
            "organization": personas.org_a.pk,
        },  # fmt: skip
    )
    event = Event.objects.get()
    assert page.status_code == 302 and event.organization == personas.org_a
    bad = client.post("/events/new/", {"kind": "vigil", "title_en": "x", "place": "",
                                       "starts_at": "soon", "organization": personas.org_a.pk})  # fmt: skip
    assert bad.status_code == 200 and Event.objects.count() == 1


def test_an_event_is_titled_and_described_in_any_written_language(client, personas):
    """Outside walk, session 19: the event form offered Spanish and English only, so a Korean or
    Tagalog group's event read in Spanish on their members' pages and in their texts."""
    sign_in(client, personas.coordinator)
    form = client.get("/events/new/").content.decode()
    assert 'name="title_ko"' in form and 'name="description_zh_hans"' in form
    assert 'lang="ar" dir="rtl"' in form
    start = timezone.localtime() + timedelta(days=2)
    client.post(
        "/events/new/",
        {
            "kind": "training", "title_ko": "권리 교육", "description_ko": "모두 환영합니다.",
            "title_es": "Taller de derechos", "title_zh_hans": "权利培训",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "place": "Library", "public": "on", "organization": personas.org_a.pk,
            "title_xx": "ignored",
        },
    )  # fmt: skip
    event = Event.objects.get()
    assert event.titles == {"ko": "권리 교육", "es": "Taller de derechos", "zh-hans": "权利培训"}
    assert event.descriptions == {"ko": "모두 환영합니다."}
    korean = client.get(f"/events/{event.pk}/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "권리 교육" in korean and "모두 환영합니다." in korean
    chinese = client.get(f"/events/{event.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "权利培训" in chinese
    # No Tagalog title: Spanish.
    tagalog = client.get(f"/events/{event.pk}/", HTTP_ACCEPT_LANGUAGE="tl").content.decode()
    assert "Taller de derechos" in tagalog
    edit = client.get(f"/events/{event.pk}/edit/").content.decode()
    assert 'value="권리 교육"' in edit
    # A title too long in another language opens that section with its message.
    bad = client.post(
        f"/events/{event.pk}/edit/",
        {"title_ko": "가" * 121, "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
         "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), "place": "Library"},
    )  # fmt: skip
    assert bad.status_code == 200
    assert '<details class="other-languages" open>' in bad.content.decode()
    event.refresh_from_db()
    assert event.titles["ko"] == "권리 교육"


def test_members_only_events_refuse_strangers_by_sms(client, personas):
    event = rally(personas, public=False)
    reply = text(client, new_number(), event.code)
    # The same answer as a code nobody made (the start of a report by text): a stranger cannot
    # tell the event is there.
    made_up = "ZQXW" + event.code[-2:]
    assert reply is not None and reply == text(client, new_number(), made_up)
    assert event.title("es") not in reply
    cancel = text(client, new_number(), f"CANCEL {event.code}")
    assert cancel == text(client, new_number(), f"CANCEL {made_up}")
    assert not Rsvp.objects.exists()
    assert "Vecinos" in text(client, personas.newcomer.phone, event.code)
    assert Rsvp.objects.get().member == personas.newcomer


def test_a_members_own_phone_does_not_confirm_a_strangers_pending_rsvp(client, personas):
    """Outside probe, session 18: a signed-in member typing their own phone and a stranger's
    email confirmed the stranger's pending RSVP (and a door code), and with made-up emails
    filled the event."""
    event = rally(personas, capacity=3)
    client.post(f"/events/{event.pk}/", {"nickname": "Victim", "email": "victim@example.org"})
    victim = Rsvp.objects.get()
    assert victim.status == Rsvp.Status.PENDING
    sign_in(client, personas.newcomer)
    own = personas.newcomer.phone
    page = client.post(f"/events/{event.pk}/", {"phone": own, "email": "victim@example.org"})
    assert page.status_code == 200
    victim.refresh_from_db()
    assert victim.status == Rsvp.Status.PENDING
    mine = Rsvp.objects.get(member=personas.newcomer)
    assert mine.status == Rsvp.Status.GOING and mine.email == ""
    for fake in ("fill1@example.invalid", "fill2@example.invalid"):
        client.post(f"/events/{event.pk}/", {"phone": own, "email": fake})
    assert Rsvp.objects.filter(status=Rsvp.Status.GOING).count() == 1


def test_a_members_event_takes_only_the_members_own_phone_or_email(client, personas):
    """Outside probe, session 17: a member's RSVP form on a members-only event texted its
    title, time and link to whatever number was typed."""
    event = rally(personas, public=False)
    stranger = new_number()
    sign_in(client, personas.newcomer)
    sent_before = Delivery.objects.count()
    page = client.post(
        f"/events/{event.pk}/", {"nickname": "Pat", "phone": stranger}, HTTP_ACCEPT_LANGUAGE="es"
    )
    assert page.status_code == 400
    assert "Este evento es para miembros" in page.content.decode()
    assert not Rsvp.objects.exists()
    assert Delivery.objects.count() == sent_before  # nothing texted to the number typed
    page = client.post(f"/events/{event.pk}/", {"nickname": "Pat", "email": "pat@example.org"})
    assert page.status_code == 400 and not Rsvp.objects.exists()
    # Their own phone keeps a place at once.
    page = client.post(f"/events/{event.pk}/", {"nickname": "N", "phone": personas.newcomer.phone})
    assert page.status_code == 200
    assert Rsvp.objects.get().member == personas.newcomer


def test_the_rsvps_qr_code_opens_the_door_list_at_that_person(client, personas):
    event = rally(personas)
    other = rally(personas, titles={"en": "Another"})
    events.rsvp_create(event=event, nickname="Someone else", phone=new_number())
    page = client.post(f"/events/{event.pk}/", {"nickname": "Lupe", "email": "lupe@example.org"})
    assert "We emailed a link" in page.content.decode() and "<svg" not in page.content.decode()
    link = _link_sent_to("lupe@example.org")
    assert "data-door-qr" not in client.get(link).content.decode()  # a GET keeps nothing
    page = client.post(link)
    assert "data-door-qr" in page.content.decode() and "<svg" in page.content.decode()
    rsvp = Rsvp.objects.get(email_index=messaging.address_index("email", "lupe@example.org"))
    token = events.door_token(rsvp)
    sign_in(client, personas.coordinator)
    door = client.get(f"/events/{event.pk}/door/?t={token}").content.decode()
    assert "Lupe" in door and "Someone else" not in door
    # A code is for its own event only, and a forged one shows nobody.
    assert events.load_door_token(token, other) is None
    assert "Lupe" not in client.get(f"/events/{event.pk}/door/?t=forged").content.decode()


def test_organizers_edit_an_event_and_the_people_coming_hear_of_a_new_time(client, personas):
    event = rally(personas, capacity=1)
    going, waiting = new_number(), new_number()
    text(client, going, event.code)
    text(client, waiting, event.code)
    messaging.dispatch()
    OutboxMessage.objects.all().delete()
    for who in ("outsider", "newcomer"):
        client.logout()
        sign_in(client, personas.all()[who])
        assert client.get(f"/events/{event.pk}/edit/").status_code == 403, who
    sign_in(client, personas.coordinator)
    door = client.get(f"/events/{event.pk}/door/").content.decode()
    assert f"/events/{event.pk}/edit/" in door
    page = client.get(f"/events/{event.pk}/edit/").content.decode()
    assert "Marcha por las familias" in page and "City Hall steps" in page
    later = timezone.localtime(event.starts_at) + timedelta(days=1)
    data = {
        "title_es": "Marcha por las familias", "title_en": "Rally for families",
        "place": "Mariachi Plaza", "capacity": "2", "public": "on",
        "starts_at": later.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (later - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    }  # fmt: skip
    bad = client.post(f"/events/{event.pk}/edit/", data)
    assert bad.status_code == 200 and "must end after it starts" in bad.content.decode()
    assert "Mariachi Plaza" in bad.content.decode()  # what was typed stays
    data["ends_at"] = (later + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(f"/events/{event.pk}/edit/", data).status_code == 302
    event.refresh_from_db()
    assert event.place == "Mariachi Plaza" and event.capacity == 2
    # One more place: the waitlist moves up; both hear of the new time and place.
    assert set(Rsvp.objects.values_list("status", flat=True)) == {"going"}
    messaging.dispatch()
    for number in (going, waiting):
        bodies = [m.body for m in OutboxMessage.objects.all() if m.address == number]
        assert any("Mariachi Plaza" in b for b in bodies), bodies
    assert AuditEvent.objects.filter(action="event.update").exists()


def test_organizers_cancel_an_event_and_everyone_coming_is_told(client, personas):
    event = rally(personas)
    coming = new_number()
    text(client, coming, event.code)
    sign_in(client, personas.coordinator)
    response = client.post(f"/events/{event.pk}/edit/", {"action": "cancel"}, follow=True)
    assert "1 person was told" in response.content.decode()
    event.refresh_from_db()
    assert event.cancelled
    messaging.dispatch()
    assert any(
        m.address == coming and "cancel" in m.body.lower() for m in OutboxMessage.objects.all()
    )
    client.logout()
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert "This event is cancelled." in page and "I will be there" not in page
    # Said before the details, and nothing invites anyone else (outside walk, session 18).
    assert page.index("This event is cancelled.") < page.index("City Hall steps")
    assert "qr.svg" not in page and "Link to share" not in page
    assert "Rally for families" not in client.get("/events/").content.decode()


def test_a_person_cancels_their_rsvp_from_their_link(client, personas):
    event = rally(personas, capacity=1)
    first, second = new_number(), new_number()
    client.post(f"/events/{event.pk}/", {"phone": first})
    link = _link_sent_to(first)
    client.post(link)
    text(client, second, event.code)  # the waitlist
    page = client.get(link).content.decode()
    assert "I cannot come" in page
    gone = client.post(link, {"action": "cancel"}).content.decode()
    assert "Your RSVP is cancelled" in gone
    statuses = {r.phone: r.status for r in Rsvp.objects.all()}
    assert statuses == {first: "cancelled", second: "going"}
    assert client.get(link).status_code == 404


def test_an_events_own_words_keep_their_direction_on_a_right_to_left_page(client, personas):
    """Outside walk, session 17: on an Arabic page the Spanish title and description had their
    final full stops moved to the front, and the share link read "/http://..."."""
    event = rally(personas, descriptions={"es": "Traigan agua."})
    client.cookies["django_language"] = "ar"
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert 'dir="rtl"' in re.search(r"<html[^>]*>", page).group(0)
    assert re.search(r'<h1 dir="auto">Marcha por las familias</h1>', page)
    assert re.search(r'<p dir="auto">Traigan agua.</p>', page)
    assert re.search(r'<dd dir="auto">City Hall steps</dd>', page)
    assert re.search(r'<input type="text" readonly dir="ltr" value="http', page)


def test_the_event_page_says_which_number_to_text(client, personas, settings):
    event = rally(personas)
    settings.TWILIO_FROM_NUMBER = ""
    page = client.get(f"/events/{event.pk}/?lang=en").content.decode()
    # No number to name: the demo says where to try it (outside walk, session 18).
    assert "to our number." in page and 'href="/dev/phone/"' in page
    settings.TWILIO_FROM_NUMBER = "+12135550000"
    page = client.get(f"/events/{event.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Or text {event.code} to \u2066+12135550000\u2069." in page
