"""Call-outs through their entry points: the coordinator's page, SMS replies through the signed
Twilio webhook, the signed link page, the turnout board, messages and stand-down, quota waves,
voice keypress, and every persona that must be refused."""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta

import phonenumbers
import pytest
from django.utils import timezone, translation

from tests.conftest import make_member, sign_in
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    sms_reply,
    twilio_webhooks,
)
from vecinos.alerts import services as alert_services
from vecinos.alerts.models import Tier
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.mobilize import inbound, services
from vecinos.mobilize.models import Activation, Response
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage
from vecinos.transports.twilio.voice import delivery_token

SMS = "/hooks/twilio/sms"
VOICE = "/hooks/twilio/voice"

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


text = sms_reply  # the signed webhook, its one reply


def responder(org, name: str, language: str = "en", tier: int = Vetting.VOUCHED):
    member = make_member(
        name, org=org, roles=(Role.RESPONDER,), tier=tier, phone=new_number(),
        preferred_language=language,
    )  # fmt: skip
    alert_services.ensure_member_subscriber(member)
    return member


def callout(personas, *, roles=None, **kw) -> Activation:
    activation = services.activation_create(
        actor=kw.pop("actor", personas.dispatcher),
        staging_point=kw.pop("staging_point", "Mariachi Plaza, east side"),
        needed_by=timezone.now() + timedelta(minutes=30),
        roles=roles or {"observer": 2, "presence": 3},
        tiers=kw.pop("tiers", [Tier.RESPONDERS]),
        **kw,
    )
    return services.activation_send(activation=activation, actor=activation.created_by)


def response_of(activation, member) -> Response:
    return Response.objects.get(activation=activation, member=member)


def outbox_to(phone: str) -> list[str]:
    messaging.dispatch()
    return [m.body for m in OutboxMessage.objects.order_by("pk") if m.address == phone]


# --- creating and sending ---------------------------------------------------------------------


def test_a_dispatcher_calls_out_responders_from_the_page_and_each_gets_a_text(client, personas):
    rosa = responder(personas.org_a, "rosa", "es")
    ben = responder(personas.org_b, "ben", "en")
    make_member("patrol", org=personas.org_a, roles=(Role.PATROL,), phone=new_number())
    sign_in(client, personas.dispatcher)
    when = (timezone.localtime() + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    page = client.post(
        "/mobilize/new/",
        {
            "staging_point": "Mariachi Plaza, east side",
            "needed_by": when,
            "role_observer": "2",
            "role_presence": "4",
            "guidance_es": "Observe desde una distancia segura. No interfiera.",
            "guidance_en": "Observe from a safe distance. Do not interfere.",
            "tiers": ["responders"],
            "wave_size": "20",
            "wave_minutes": "10",
        },
    )
    activation = Activation.objects.get()
    assert page.status_code == 302 and page["Location"] == f"/mobilize/{activation.pk}/"
    assert activation.status == "open" and activation.roles == {"observer": 2, "presence": 4}
    assert activation.recipients_count == 2
    [es_text] = outbox_to(rosa.phone)
    [en_text] = outbox_to(ben.phone)
    assert "Mariachi Plaza" in es_text and "No interfiera" in es_text and "VOY" in es_text
    assert activation.code in en_text and "safe distance" in en_text and "/r/" in en_text


def test_the_form_says_the_area_chooses_members_and_public_not_responders(client, personas):
    """Outside walk, session 17: the reach of a call-out to responders did not change with the
    area drawn, and nothing on the page said why (responders are asked wherever they are)."""
    sign_in(client, personas.dispatcher)
    page = client.get("/mobilize/new/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Al equipo de respuesta se le pide esté donde esté." in page


def test_bad_input_gets_clear_messages_not_a_500(client, personas):
    sign_in(client, personas.dispatcher)
    with translation.override("es"):
        page = client.post(
            "/mobilize/new/",
            {
                "staging_point": "",
                "needed_by": "yesterday",
                "tiers": ["public"],
                "wave_size": "20",
                "wave_minutes": "10",
            },  # fmt: skip
            HTTP_ACCEPT_LANGUAGE="es",
        )
    assert page.status_code == 200
    assert not Activation.objects.exists()
    page = client.post(
        "/mobilize/new/",
        {
            "staging_point": "Plaza",
            "needed_by": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "tiers": ["public"],
            "wave_size": "20",
            "wave_minutes": "10",
        },  # fmt: skip
    )
    assert page.status_code == 200
    assert "Ask for at least one person in one role." in page.content.decode()
    assert "choose zones or a radius" in page.content.decode()


def test_only_a_confirmed_incident_starts_a_call_out(personas):
    from vecinos.reports.models import Incident

    incident = Incident.objects.create(status="verifying")
    with pytest.raises(services.ActivationError) as exc:
        callout(personas, incident=incident)
    assert "incident" in exc.value.errors
    incident.status = "confirmed"
    incident.save()
    assert callout(personas, incident=incident).incident_id == incident.pk


@pytest.mark.parametrize(
    ("status", "outcome", "accepted"),
    [
        ("confirmed", "", True),
        # Alerted already (the alert moved it on), or closed: its outcome still says confirmed.
        ("alerted", "confirmed", True),
        ("closed", "confirmed", True),
        ("closed", "false_alarm", False),
        ("verifying", "", False),
        ("unable", "unable", False),
    ],
)
def test_call_outs_and_alerts_agree_on_what_a_confirmed_incident_is(
    personas, status, outcome, accepted
):
    """One rule (alerts.rules.incident_confirmed): a call-out starts from exactly the incidents
    an alert may be made from."""
    from vecinos.alerts.rules import incident_confirmed
    from vecinos.reports.models import Incident

    incident = Incident.objects.create(status=status, outcome=outcome)
    assert incident_confirmed(incident) is accepted
    if accepted:
        assert callout(personas, incident=incident).incident_id == incident.pk
    else:
        with pytest.raises(services.ActivationError) as exc:
            callout(personas, incident=incident)
        assert "incident" in exc.value.errors


def test_the_public_waits_for_a_second_independent_person(personas):
    activation = callout(personas, tiers=[Tier.PUBLIC], point=(34.04, -118.21), radius_m=2000)
    assert activation.status == "pending"
    with pytest.raises(services.NotAllowed):
        services.activation_approve(activation=activation, actor=personas.dispatcher)
    approved = services.activation_approve(activation=activation, actor=personas.coalition)
    assert approved.status == "open" and approved.approved_by == personas.coalition


# --- SMS replies --------------------------------------------------------------------------------


def test_voy_10_counts_someone_coming_with_an_eta_and_the_board_shows_it(client, personas):
    rosa = responder(personas.org_a, "rosa", "en")
    activation = callout(personas)
    reply = text(client, rosa.phone, "VOY 10")
    assert reply is not None and "coming (10 min)" in reply and "Mariachi Plaza" in reply
    r = response_of(activation, rosa)
    assert r.status == "coming" and r.role == "observer" and r.via == "sms"
    assert timedelta(minutes=9) < r.eta - timezone.now() <= timedelta(minutes=10)
    sign_in(client, personas.dispatcher)
    board = client.get(f"/mobilize/{activation.pk}/board/", HTTP_HX_REQUEST="true")
    html = board.content.decode()
    assert board.status_code == 200
    assert 'data-count="coming">1<' in html and "rosa" in html and "in 9 minutes" in html


def test_voy_without_minutes_says_no_minutes(client, personas):
    """Outside walk, session 18: "VOY" alone was answered "we count you as coming (0 min)"."""
    rosa = responder(personas.org_a, "rosa", "es")
    activation = callout(personas)
    reply = text(client, rosa.phone, "VOY")
    assert reply is not None and "contamos con usted." in reply and "min)" not in reply
    # Nor does the board make a time up (outside walk, session 19: "en 0 minutos").
    assert response_of(activation, rosa).eta is None
    sign_in(client, personas.dispatcher)
    board = client.get(f"/mobilize/{activation.pk}/board/", HTTP_ACCEPT_LANGUAGE="es")
    assert "sin hora" in board.content.decode() and "en 0 minutos" not in board.content.decode()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("GOING 15", "coming"),
        ("voy", "coming"),
        ("No", "declined"),
        ("Llegué", "arrived"),
        ("ARRIVED", "arrived"),
    ],  # fmt: skip
)
def test_reply_words(client, personas, body, status):
    rosa = responder(personas.org_a, "rosa", "es")
    activation = callout(personas)
    assert text(client, rosa.phone, body)
    assert response_of(activation, rosa).status == status


def test_check_in_and_out_by_sms_keeps_only_the_times(client, personas):
    rosa = responder(personas.org_a, "rosa", "es")
    activation = callout(personas)
    text(client, rosa.phone, "VOY 5")
    reply = text(client, rosa.phone, "LLEGUE")
    assert reply is not None and "ME VOY" in reply
    r = response_of(activation, rosa)
    assert r.status == "arrived" and r.arrived_at is not None
    text(client, rosa.phone, "ME VOY")
    r.refresh_from_db()
    assert r.status == "left" and r.left_at >= r.arrived_at


def test_a_reply_names_the_call_out_by_code_when_several_are_open(client, personas):
    rosa = responder(personas.org_a, "rosa", "en")
    first = callout(personas, staging_point="First place")
    second = callout(personas, staging_point="Second place")
    text(client, rosa.phone, f"VOY 20 {first.code}")
    assert response_of(first, rosa).status == "coming"
    assert response_of(second, rosa).status == "asked"
    text(client, rosa.phone, "NO")  # no code: the most recent that asked them
    assert response_of(second, rosa).status == "declined"
    assert response_of(first, rosa).status == "coming"


def test_a_stranger_saying_voy_is_not_counted(client, personas):
    callout(personas)
    reply = text(client, new_number(), "VOY 10")
    # Not a responder of any call-out: the next handler (a report in progress) answers.
    assert reply is not None and "Vecinos" in reply and "coming" not in reply
    assert not Response.objects.exclude(status="asked").exists()


# --- the signed link ---------------------------------------------------------------------------


def test_the_link_shows_the_staging_point_and_only_a_post_answers(client, personas):
    rosa = responder(personas.org_a, "rosa", "en")
    activation = callout(personas)
    r = response_of(activation, rosa)
    url = re.search(r"https?://\S+(/r/\S+/)", outbox_to(rosa.phone)[0]).group(1)
    page = client.get(url)
    assert page.status_code == 200 and "Mariachi Plaza, east side" in page.content.decode()
    r.refresh_from_db()
    assert r.status == "asked"  # a link preview answers nothing
    client.post(url, {"answer": "coming", "eta": "15", "role": "presence"})
    r.refresh_from_db()
    assert (r.status, r.role, r.via) == ("coming", "presence", "link")
    page = client.post(url, {"answer": "arrived"})
    assert "You are checked in." in page.content.decode()
    assert client.get("/r/forged-token/").status_code == 410


def test_digits_python_takes_for_digits_and_int_does_not_are_refused_cleanly(client, personas):
    """Outside probe, session 18: "²" is a digit to str.isdigit() and not to int(): the call-out
    form's incident and the link's minutes answered 500."""
    rosa = responder(personas.org_a, "rosa", "en")
    activation = callout(personas)
    r = response_of(activation, rosa)
    page = client.post(f"/r/{services.link_token(r.pk)}/", {"answer": "coming", "eta": "²"})
    assert page.status_code == 200
    r.refresh_from_db()
    assert r.status == "coming"
    sign_in(client, personas.dispatcher)
    for value in ("²", "³", "1" * 30):
        assert client.get("/mobilize/new/", {"incident": value}).status_code == 200


def test_the_link_form_needs_its_csrf_token(personas):
    from django.test import Client

    rosa = responder(personas.org_a, "rosa", "en")
    activation = callout(personas)
    r = response_of(activation, rosa)
    strict = Client(enforce_csrf_checks=True)
    answer = strict.post(f"/r/{services.link_token(r.pk)}/", {"answer": "coming"})
    assert answer.status_code == 403
    r.refresh_from_db()
    assert r.status == "asked"


@pytest.mark.parametrize("answer", ["coming", "declined"])
def test_the_push_actions_answer_as_the_link_buttons_do(personas, answer):
    """static/js/sw.js: a call-out pushed to a browser carries its signed link; the "Coming" and
    "Not coming" actions GET the page for its CSRF token, then POST answer + via=push."""
    from types import SimpleNamespace

    from django.test import Client

    from vecinos.transports.webpush.transport import payload

    rosa = responder(personas.org_a, "rosa", "en")
    activation = callout(personas)
    r = response_of(activation, rosa)
    body = services.ask_text(activation, "en", "push", services.link(r.pk))
    pushed = json.loads(
        payload(SimpleNamespace(subject="Call-out", body=body, idempotency_key="k", language="en"))
    )
    url = re.fullmatch(r"https?://[^/]+(/r/[^/]+/)", pushed["url"]).group(1)
    client = Client(enforce_csrf_checks=True)
    page = client.get(url, headers={"Accept": "text/html"}).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    reply = client.post(
        url,
        {"csrfmiddlewaretoken": token, "answer": answer, "via": "push"},
        headers={"X-Requested-With": "vecinos-push"},
    )
    assert reply.status_code == 200
    r.refresh_from_db()
    assert (r.status, r.via) == (answer, "push")
    if answer == "coming":
        assert r.role in activation.roles


def test_an_unknown_via_on_the_link_is_recorded_as_the_link(client, personas):
    rosa = responder(personas.org_a, "rosa", "en")
    r = response_of(callout(personas), rosa)
    client.post(f"/r/{services.link_token(r.pk)}/", {"answer": "coming", "via": "x" * 40})
    r.refresh_from_db()
    assert (r.status, r.via) == ("coming", "link")


# --- messages and stand-down ---------------------------------------------------------------------


def test_stand_down_reaches_everyone_who_said_yes_and_has_not_left(client, personas):
    coming, there, gone, declined = (responder(personas.org_a, n) for n in ("c1", "t1", "g1", "d1"))
    activation = callout(personas)
    text(client, coming.phone, "VOY 10")
    text(client, there.phone, "ARRIVED")
    text(client, gone.phone, "ARRIVED")
    text(client, gone.phone, "LEFT")
    text(client, declined.phone, "NO")
    sign_in(client, personas.dispatcher)
    client.post(f"/mobilize/{activation.pk}/stand-down/", {"text_en": "Go home safely."})
    activation.refresh_from_db()
    assert activation.status == "stood_down"
    for member, expected in ((coming, True), (there, True), (gone, False), (declined, False)):
        got = [b for b in outbox_to(member.phone) if "STAND DOWN" in b]
        assert bool(got) is expected, member.username
    assert "Go home safely." in [b for b in outbox_to(there.phone) if "STAND DOWN" in b][0]
    assert "over" in text(client, declined.phone, "VOY")


def test_a_message_to_everyone_on_site_skips_those_only_coming(client, personas):
    coming, there = responder(personas.org_a, "c1"), responder(personas.org_a, "t1")
    activation = callout(personas)
    text(client, coming.phone, "VOY 10")
    text(client, there.phone, "LLEGUE")
    sign_in(client, personas.dispatcher)
    client.post(
        f"/mobilize/{activation.pk}/message/",
        {"audience": "on_site", "text_en": "Move to the north corner."},
    )
    assert any("north corner" in b for b in outbox_to(there.phone))
    assert not any("north corner" in b for b in outbox_to(coming.phone))


# --- quota mode ---------------------------------------------------------------------------------


def test_quota_asks_in_waves_and_thanks_the_rest_when_enough_said_yes(client, personas):
    people = [responder(personas.org_a, f"r{i}", tier=Vetting.VOUCHED) for i in range(5)]
    trained = responder(personas.org_a, "trained", tier=Vetting.TRAINED)
    activation = callout(personas, roles={"observer": 2}, quota=True, wave_size=3, wave_minutes=5)
    first_wave = set(
        Response.objects.filter(activation=activation, wave=1).values_list("member_id", flat=True)
    )
    assert trained.pk in first_wave and len(first_wave) == 3  # trained first
    assert Response.objects.filter(activation=activation, status="waiting").count() == 3
    # Unmet after the wave time: the next wave is asked.
    assert services.next_waves(now=timezone.now() + timedelta(minutes=6)) == 3
    activation.refresh_from_db()
    assert activation.waves_sent == 2 and activation.next_wave_at is None
    asked = [p for p in people if response_of(activation, p).status == "asked"]
    text(client, trained.phone, "VOY 5")
    text(client, asked[0].phone, "VOY 5")
    # Two said yes: everyone else still asked hears "enough people, thank you".
    assert response_of(activation, asked[1]).status == "enough"
    assert any("enough people" in b for b in outbox_to(asked[1].phone))
    assert "enough people" in text(client, asked[2].phone, "VOY")


# --- voice ----------------------------------------------------------------------------------------


def test_voice_keypress_1_is_coming_2_is_not(client, personas, settings):
    settings.TWILIO_FROM_NUMBER = "+12135550000"
    rosa = responder(personas.org_a, "rosa", "en")
    rosa_sub = alert_services.ensure_member_subscriber(rosa)
    rosa_sub.channels = ["voice", "sms"]
    rosa_sub.save()
    activation = callout(personas)
    delivery = Delivery.objects.get(ref_type="activation", channel="voice")
    token = delivery_token(delivery.pk)
    params = {"CallSid": "CA" + "1" * 32, "From": "+12135550000", "To": rosa.phone}
    first = signed_post(client, f"{VOICE}?flow=alert&d={token}", params)
    assert first.status_code == 200 and b"Press 1 if you are coming" in first.content
    pressed = signed_post(
        client, f"{VOICE}?flow=alert&d={token}&step=reply", {**params, "Digits": "1"}
    )
    assert b"we count you as coming" in pressed.content
    r = response_of(activation, rosa)
    assert r.status == "coming" and r.via == "voice"


# --- permissions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["verifier", "newcomer", "anonymous"])
def test_people_who_may_not_call_out_are_refused(client, personas, who):
    activation = callout(personas)
    member = personas.all()[who]
    sign_in(client, member)
    for url in ("/mobilize/", "/mobilize/new/", f"/mobilize/{activation.pk}/",
                f"/mobilize/{activation.pk}/board/"):  # fmt: skip
        page = client.get(url)
        assert page.status_code in (302, 403), (who, url)
    page = client.post(f"/mobilize/{activation.pk}/stand-down/")
    assert page.status_code in (302, 403)
    activation.refresh_from_db()
    assert activation.status == "open"


def test_another_organizations_coordinator_cannot_see_or_stand_down(client, personas):
    activation = callout(personas, actor=personas.coordinator)
    sign_in(client, personas.outsider)
    assert client.get(f"/mobilize/{activation.pk}/").status_code == 404
    assert client.post(f"/mobilize/{activation.pk}/stand-down/").status_code == 404
    with pytest.raises(services.NotAllowed):
        services.stand_down(activation=activation, actor=personas.outsider)


def test_names_on_the_board_only_for_those_allowed(client, personas):
    ben = responder(personas.org_b, "ben.b", "en")
    activation = callout(personas, actor=personas.coordinator)
    # An organization's coordinator's call-out waits for a second person (outside probe, 19).
    assert activation.status == Activation.Status.PENDING
    activation = services.activation_approve(activation=activation, actor=personas.dispatcher)
    text(client, ben.phone, "VOY 5")
    sign_in(client, personas.coordinator)  # coordinates org A; ben is in org B
    html = client.get(f"/mobilize/{activation.pk}/board/").content.decode()
    assert "ben.b" not in html and "responder #" in html
    sign_in(client, personas.dispatcher)
    assert "ben.b" in client.get(f"/mobilize/{activation.pk}/board/").content.decode()


def test_the_board_takes_a_fixed_number_of_queries(client, personas, django_assert_max_num_queries):
    activation = callout(personas)
    for i in range(8):
        text(client, responder(personas.org_a, f"q{i}").phone, "VOY 5")
    sign_in(client, personas.dispatcher)
    with django_assert_max_num_queries(20):
        assert client.get(f"/mobilize/{activation.pk}/board/").status_code == 200


def test_reply_parsing():
    assert inbound.parse("VOY 15") == ("coming", "es", 15, "")
    assert inbound.parse("GOING 15 K7QM") == ("coming", "en", 15, "K7QM")
    assert inbound.parse("ME VOY") == ("left", "es", None, "")
    assert inbound.parse("VOY A LA TIENDA HOY") is None
    assert inbound.parse("NO SE QUE PASA") is None


def test_stand_down_cancels_call_outs_still_queued(personas):
    responder(personas.org_a, "rosa")
    activation = callout(personas)
    services.stand_down(activation=activation, actor=personas.dispatcher)
    assert not Delivery.objects.filter(ref_type="activation", status=DeliveryStatus.QUEUED).exists()


def test_the_outbox_hides_the_signed_call_out_links(client, personas):
    rosa = responder(personas.org_a, "rosa")
    callout(personas)
    [body] = outbox_to(rosa.phone)
    token = re.search(r"/r/([^/\s]+)/", body).group(1)
    sign_in(client, personas.dispatcher)
    page = client.get("/outbox/").content.decode()
    # A dispatcher reading the outbox must not be able to answer for a responder.
    assert "/r/…/" in page and token not in page


def test_moving_the_staging_point_tells_those_coming_and_updates_their_link(client, personas):
    rosa = responder(personas.org_a, "rosa", "es")
    activation = callout(personas)
    text(client, rosa.phone, "VOY 10")
    sign_in(client, personas.dispatcher)
    client.post(
        f"/mobilize/{activation.pk}/message/",
        {"audience": "coming", "new_staging_point": "Hollenbeck Park, north gate", "text_es": ""},
    )
    activation.refresh_from_db()
    assert activation.staging_point == "Hollenbeck Park, north gate"
    moved = [b for b in outbox_to(rosa.phone) if "Hollenbeck" in b]
    assert moved and "Nuevo punto de reunión" in moved[0]
    link = services.link_token(response_of(activation, rosa).pk)
    assert "Hollenbeck Park, north gate" in client.get(f"/r/{link}/").content.decode()


def test_an_emptied_role_list_gets_the_defaults_back(client, personas):
    from vecinos.mobilize.models import CalloutRole

    CalloutRole.objects.all().delete()  # as a flushed test database has it
    sign_in(client, personas.dispatcher)
    assert 'name="role_observer"' in client.get("/mobilize/new/").content.decode()
    assert callout(personas).roles == {"observer": 2, "presence": 3}


@pytest.mark.parametrize(
    ("language", "to", "end_date"), [("ko", "받는 사람", "종료일"), ("ja", "宛先", "終了日")]
)
def test_the_message_boxs_to_is_a_recipient_not_an_end_date(
    client, personas, language, to, end_date
):
    """Outside walk, session 19: "To" shared one translation with the map's date range, so the
    call-out's message box was addressed "end date" in Chinese, Japanese and Korean."""
    activation = callout(personas)
    sign_in(client, personas.dispatcher)
    page = client.get(f"/mobilize/{activation.pk}/", HTTP_ACCEPT_LANGUAGE=language).content
    label = re.search(r'<label for="id_audience">([^<]*)</label>', page.decode()).group(1)
    assert to in label and end_date not in label


@pytest.mark.parametrize(
    ("language", "observer"), [("zh-hans", "法律观察员"), ("zh-hant", "法律觀察員")]
)
def test_the_call_out_forms_roles_are_named_in_chinese(client, personas, language, observer):
    """Outside walk, session 19: the new call-out form named its roles in English on both
    Chinese pages (it looked them up as "zh", which has no catalog)."""
    sign_in(client, personas.dispatcher)
    page = client.get("/mobilize/new/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert observer in page and "Legal observer" not in page
