"""The alert pages through their real entry points: who may open them, compose and send, the
two-person rule, live progress (query count pinned), the acknowledgement link, the captain page,
member subscriptions, the public subscribe flow, the stop list and the outbox."""

from __future__ import annotations

import random
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_member
from tests.twilio_stub import sms_reply, twilio_webhooks  # noqa: F401
from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, OptOut, Subscriber, SubscriptionArea, Tier
from vecinos.core import geo
from vecinos.core.models import AuditEvent
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery
from vecinos.network.models import Role, Zone
from vecinos.network.models import Tier as Vetting
from vecinos.network.phones import phone_index
from vecinos.reports.models import Incident
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

BOYLE = (34.0407, -118.2110)
PHONE_DIGITS = re.compile(r"\+1213555\d{4}|\(213\) 555-\d{4}|213-555-\d{4}")


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """Redis counters outlive a test's transaction: start the sign-up limits from zero."""
    if settings.REDIS_URL:
        from vecinos.core import ratelimit

        for key in ratelimit._redis().scan_iter("rl:subscribe*"):
            ratelimit._redis().delete(key)
    yield


@pytest.fixture
def client():
    # A fresh source address per test, as the flood tests do.
    return Client(
        REMOTE_ADDR=f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    )


@pytest.fixture
def zone(db):
    return Zone.objects.create(
        name="Boyle Heights",
        slug="boyle-heights",
        kind="neighborhood",
        cells=geo.circle_cells(*BOYLE, 1200),
        center_lat=BOYLE[0],
        center_lng=BOYLE[1],
    )


def public_subscriber(phone: str, language: str = "es") -> Subscriber:
    return services.subscribe(
        phone=phone, language=language, point=BOYLE, radius_m=1000, confirmed=True
    )


def internal_alert(actor, **extra) -> Alert:
    fields = {
        "actor": actor,
        "kind": Alert.Kind.ACTIVATION,
        "tiers": [Tier.INTERNAL],
        "messages": {"es": "Activación de prueba.", "en": "Test activation."},
    }
    fields.update(extra)
    return services.alert_create(**fields)


def public_alert(actor) -> Alert:
    return services.alert_create(
        actor=actor,
        kind=Alert.Kind.SIGHTING,
        tiers=[Tier.PUBLIC],
        messages={"es": "Operativo confirmado en Boyle Heights.", "en": "Confirmed operation."},
        point=BOYLE,
        radius_m=2000,
        area_label="Boyle Heights",
    )


def sent_internal_alert(personas) -> Alert:
    for member in (personas.dispatcher, personas.verifier):
        services.ensure_member_subscriber(member)
    alert = internal_alert(personas.dispatcher)
    return services.alert_send(alert=alert, actor=personas.dispatcher)


# --- who may open what -------------------------------------------------------------------------


ALERTING_PAGES = ["alerts", "alert_new", "alert_detail", "alert_progress", "alert_tree", "outbox"]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["verifier", "newcomer"])
@pytest.mark.parametrize("page", ALERTING_PAGES)
def test_people_who_cannot_alert_are_refused_every_alert_page(
    client, login, personas, persona, page
):
    alert = internal_alert(personas.dispatcher)
    args = [alert.pk] if page.startswith("alert_") and page != "alert_new" else []
    login(getattr(personas, persona))
    response = client.get(reverse(page, args=args))
    assert response.status_code == 403
    assert b"Activaci" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("page", ALERTING_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, personas, page):
    alert = internal_alert(personas.dispatcher)
    args = [alert.pk] if page.startswith("alert_") and page != "alert_new" else []
    response = client.get(reverse(page, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_signed_out_progress_poll_redirects_the_whole_page(client, personas):
    alert = internal_alert(personas.dispatcher)
    response = client.get(reverse("alert_progress", args=[alert.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["verifier", "newcomer", None])
@pytest.mark.parametrize("action", ["alert_send", "alert_approve", "alert_cancel"])
def test_alert_actions_are_refused_and_change_nothing(client, login, personas, persona, action):
    alert = internal_alert(personas.dispatcher)
    login(getattr(personas, persona) if persona else None)
    response = client.post(reverse(action, args=[alert.pk]))
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.DRAFT
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona,status",
    [
        ("coalition", 200),
        ("coordinator", 403),
        ("outsider", 403),
        ("dispatcher", 403),
        ("verifier", 403),
        ("newcomer", 403),
    ],
)
def test_stop_list_is_for_the_coalitions_coordinators(client, login, personas, persona, status):
    login(getattr(personas, persona))
    assert client.get(reverse("optouts")).status_code == status
    response = client.post(reverse("optouts"), {"action": "import", "numbers": "+12135550199"})
    assert response.status_code == (302 if status == 200 else 403)
    assert OptOut.objects.exists() == (status == 200)


@pytest.mark.django_db
def test_stop_list_refuses_anonymous(client, personas):
    assert client.get(reverse("optouts")).status_code == 302
    client.post(reverse("optouts"), {"action": "import", "numbers": "+12135550199"})
    assert not OptOut.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona", ["coalition", "coordinator", "dispatcher", "verifier", "newcomer", "outsider"]
)
def test_captain_page_refuses_everyone_but_captains(client, login, personas, persona):
    login(getattr(personas, persona))
    assert client.get(reverse("captain")).status_code == 403
    assert not AuditEvent.objects.filter(action="tree.view").exists()


@pytest.mark.django_db
def test_captain_page_and_my_alerts_need_sign_in(client, personas):
    assert client.get(reverse("captain")).status_code == 302
    assert client.get(reverse("my_subscriptions")).status_code == 302


# --- compose and send --------------------------------------------------------------------------


def compose(client, **fields):
    data = {
        "kind": "activation",
        "tiers": ["internal"],
        "message_es": "Activación: vayan a observar.",
        "message_en": "Activation: go observe.",
        "expires_hours": "4",
        "radius_m": "2000",
    }
    data.update(fields)
    return client.post(reverse("alert_new"), data)


@pytest.mark.django_db
def test_dispatcher_composes_reviews_and_sends_an_internal_alert(client, login, personas):
    for member in (personas.dispatcher, personas.verifier):
        services.ensure_member_subscriber(member)
    login(personas.dispatcher)
    response = compose(client)
    assert response.status_code == 302
    alert = Alert.objects.get()
    assert response["Location"] == reverse("alert_detail", args=[alert.pk])
    assert alert.status == Alert.Status.DRAFT
    assert alert.expires_at > timezone.now() + timezone.timedelta(hours=3, minutes=59)

    page = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert "This alert would reach 2 people right now." in page
    # Each message under its language's own name, not its code (outside walk, session 17).
    assert '<figcaption class="badge" lang="es">Español</figcaption>' in page
    response = client.post(reverse("alert_send", args=[alert.pk]))
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SENT and alert.recipients_count == 2
    messaging.dispatch()
    page = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert 'class="progress-sent" value="2" max="2"' in page
    assert f'hx-get="/alerts/{alert.pk}/progress/"' in page
    assert '<td data-label="Channel">SMS</td>' in page and ">sms<" not in page
    assert not PHONE_DIGITS.search(page)


@pytest.mark.django_db
def test_an_alert_with_an_unfilled_template_shows_the_error_and_keeps_the_text(
    client, login, personas
):
    login(personas.dispatcher)
    response = compose(client, message_es="Operativo cerca de {area}.", message_en="")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Remove the curly braces" in page
    assert "Operativo cerca de {area}." in page
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_members_and_public_alerts_need_a_target(client, login, personas):
    login(personas.dispatcher)
    response = compose(client, tiers=["members"])
    assert response.status_code == 200
    assert "Choose zones or a place and radius." in response.content.decode()
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_a_confirmed_incident_prefills_the_sighting_template(client, login, personas, zone):
    incident = Incident.objects.create(
        status=Incident.Status.CONFIRMED,
        lat=34.0412,
        lng=-118.2101,
        zone=zone,
        verified_at=timezone.now(),
    )
    login(personas.dispatcher)
    response = client.get(reverse("alert_new") + f"?incident={incident.pk}")
    assert response.status_code == 200
    form = response.context["form"]
    es = form.initial["message_es"]
    assert es.startswith(
        "Vecinos: operativo de inmigración CONFIRMADO cerca de Boyle Heights a las "
    )
    assert "{" not in es and "{" not in form.initial["message_en"]
    assert form.initial["kind"] == "sighting"
    assert form.initial["lat"] == 34.0412 and form.initial["radius_m"] == 2000
    assert form.initial["area_label"] == "Boyle Heights"


@pytest.mark.django_db
def test_an_unconfirmed_incident_is_not_prefilled(client, login, personas, zone):
    incident = Incident.objects.create(status=Incident.Status.VERIFYING, lat=34.04, lng=-118.21)
    login(personas.dispatcher)
    response = client.get(reverse("alert_new") + f"?incident={incident.pk}")
    assert "Only a confirmed incident can be turned into an alert." in response.content.decode()
    assert "incident" not in response.context["form"].initial or not response.context[
        "form"
    ].initial.get("incident")


@pytest.mark.django_db
def test_all_clear_from_the_page_goes_to_exactly_the_original_recipients(client, login, personas):
    alert = sent_internal_alert(personas)
    original = set(
        AlertRecipient.objects.filter(alert=alert).values_list("subscriber_id", flat=True)
    )
    login(personas.coordinator)
    response = client.get(reverse("alert_new") + f"?parent={alert.pk}&kind=all_clear")
    form = response.context["form"]
    assert form.initial["kind"] == "all_clear"
    assert "tiers" not in form.fields
    response = client.post(
        reverse("alert_new"),
        {
            "kind": "all_clear",
            "parent": str(alert.pk),
            "message_es": "Todo despejado.",
            "message_en": "All clear.",
            "expires_hours": "4",
        },
    )
    follow = Alert.objects.exclude(pk=alert.pk).get()
    assert response["Location"] == reverse("alert_detail", args=[follow.pk])
    client.post(reverse("alert_send", args=[follow.pk]))
    # An organization's coordinator's alert waits for a second person (outside probe, 19).
    follow.refresh_from_db()
    assert follow.status == Alert.Status.PENDING
    assert not AlertRecipient.objects.filter(alert=follow).exists()
    login(personas.dispatcher)
    client.post(reverse("alert_approve", args=[follow.pk]))
    got = set(AlertRecipient.objects.filter(alert=follow).values_list("subscriber_id", flat=True))
    assert got == original and follow.parent_id == alert.pk


# --- the two-person rule ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_public_alert_waits_for_a_second_person_on_the_page(client, login, personas):
    public_subscriber("+12135550160")
    alert = public_alert(personas.dispatcher)
    login(personas.dispatcher)
    client.post(reverse("alert_send", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.PENDING
    page = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert "This alert needs a second person" in page
    assert reverse("alert_approve", args=[alert.pk]) not in page
    # Posting anyway does not help.
    assert client.post(reverse("alert_approve", args=[alert.pk])).status_code == 403
    alert.refresh_from_db()
    assert (
        alert.status == Alert.Status.PENDING
        and Delivery.objects.filter(ref_type="alert").count() == 0
    )

    login(personas.coordinator)
    page = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert reverse("alert_approve", args=[alert.pk]) in page
    client.post(reverse("alert_approve", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SENT and alert.approved_by == personas.coordinator
    assert Delivery.objects.filter(ref_type="alert").count() == 1


@pytest.mark.django_db
def test_outsider_can_alert_but_not_approve_their_own_public_alert(client, login, personas):
    alert = public_alert(personas.outsider)
    login(personas.outsider)
    client.post(reverse("alert_send", args=[alert.pk]))
    assert client.post(reverse("alert_approve", args=[alert.pk])).status_code == 403
    alert.refresh_from_db()
    assert alert.status == Alert.Status.PENDING


# --- live progress ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_progress_fragment_query_count_is_pinned_with_200_recipients(
    client, login, personas, django_assert_max_num_queries
):
    for i in range(200):
        public_subscriber(f"+1213556{i:04d}", "es" if i % 2 else "en")
    alert = public_alert(personas.dispatcher)
    services.alert_send(alert=alert, actor=personas.dispatcher)
    alert = services.alert_approve(alert=alert, actor=personas.coordinator)
    assert alert.recipients_count == 200
    messaging.dispatch()
    first = AlertRecipient.objects.filter(alert=alert).order_by("pk").first()
    services.acknowledge(recipient=first, via="link")
    login(personas.dispatcher)
    url = reverse("alert_progress", args=[alert.pk])
    client.get(url)  # warm the session and the budget row
    # Session, member, OTP device, roles, the alert, progress (2), not reached (1), budget (2):
    # the same 10 for 200 recipients as for 200,000.
    with django_assert_max_num_queries(10):
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="200" max="200"' in page  # every message sent/delivered
    assert 'class="progress-ack" value="1" max="200"' in page
    assert page.count("subscriber #") == 50  # the first 50 not yet reached
    assert not PHONE_DIGITS.search(page) and "+1213" not in page


@pytest.mark.django_db
def test_progress_stops_polling_when_the_alert_expired(client, login, personas):
    alert = sent_internal_alert(personas)
    Alert.objects.filter(pk=alert.pk).update(expires_at=timezone.now() - timezone.timedelta(1))
    login(personas.dispatcher)
    response = client.get(reverse("alert_progress", args=[alert.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 286
    assert "hx-get" not in client.get(reverse("alert_detail", args=[alert.pk])).content.decode()


# --- acknowledgement link ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_ack_link_shows_the_alert_in_their_language_and_the_button_acknowledges_once(
    client, personas
):
    alert = sent_internal_alert(personas)
    recipient = AlertRecipient.objects.filter(alert=alert).first()
    token = services.ack_token(recipient.pk)
    url = reverse("alert_ack", args=[token])
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'lang="es"' in page
    assert "Activación de prueba." in page
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is None  # opening the link is not pressing the button
    response = client.post(url, {"via": "link"})
    assert response.status_code == 200
    recipient.refresh_from_db()
    first = recipient.acknowledged_at
    assert first is not None and recipient.ack_via == "link"
    assert client.post(url, {"via": "link"}).status_code == 200
    recipient.refresh_from_db()
    assert recipient.acknowledged_at == first
    assert AlertRecipient.objects.filter(alert=alert, acknowledged_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_ack_link_in_english_says_thank_you(client, personas):
    personas.verifier.preferred_language = "en"
    personas.verifier.save()
    alert = sent_internal_alert(personas)
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=personas.verifier)
    url = reverse("alert_ack", args=[services.ack_token(recipient.pk)])
    page = client.get(url).content.decode()
    assert "I got it" in page and "Test activation." in page
    response = client.post(url, {"via": "link"})
    assert "Thank you, we know you got it." in response.content.decode()
    assert "Test activation." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "words"), [("ko", "받았습니다"), ("tl", "Natanggap ko"), ("hy", "Ստացա")]
)
def test_the_ack_page_is_in_the_readers_language(client, personas, language, words):
    """Outside walk, session 19: Korean, Tagalog and Armenian readers opened their alert's
    link onto a Spanish page ("La recibí"); English was the only other language it knew."""
    personas.verifier.preferred_language = language
    personas.verifier.save()
    alert = sent_internal_alert(personas)
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=personas.verifier)
    response = client.get(reverse("alert_ack", args=[services.ack_token(recipient.pk)]))
    page = response.content.decode()
    assert f'lang="{language}"' in page and words in page and "La recibí" not in page
    assert response["Content-Language"] == language


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["nonsense", "eyJhIjoxfQ:1abcde:forged"])
def test_bad_ack_links_answer_410(client, personas, token):
    for response in (
        client.get(reverse("alert_ack", args=[token])),
        client.post(reverse("alert_ack", args=[token])),
    ):
        assert response.status_code == 410
        assert "This link does not work" in response.content.decode()


# --- the captain page ----------------------------------------------------------------------------------


def assigned(personas, captain, phone: str) -> AlertRecipient:
    member = make_member(
        f"resp{phone[-4:]}",
        org=personas.org_a,
        roles=(Role.RESPONDER,),
        tier=Vetting.VOUCHED,
        phone=phone,
    )
    services.ensure_member_subscriber(member)
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind="activation",
        tiers=[Tier.RESPONDERS],
        messages={"es": "Vayan a observar.", "en": "Go observe."},
    )
    alert = services.alert_send(alert=alert, actor=personas.dispatcher)
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=member)
    AlertRecipient.objects.filter(pk=recipient.pk).update(
        captain=captain, captain_status=AlertRecipient.CaptainStatus.PENDING
    )
    return recipient


@pytest.mark.django_db
def test_captain_sees_only_their_own_calls_and_marks_them(client, login, personas):
    ana = make_member(
        "ana.captain", org=personas.org_a, roles=(Role.CAPTAIN,), tier=Vetting.VOUCHED
    )
    ben = make_member(
        "ben.captain", org=personas.org_a, roles=(Role.CAPTAIN,), tier=Vetting.VOUCHED
    )
    mine = assigned(personas, ana, "+13235550141")
    theirs = assigned(personas, ben, "+13235550142")
    login(ana)
    page = client.get(reverse("captain")).content.decode()
    assert 'href="tel:+13235550141"' in page
    assert "555-0142" not in page and "5550142" not in page
    assert AuditEvent.objects.filter(action="tree.view", actor=ana).count() == 1
    # Someone else's call: refused, untouched.
    response = client.post(reverse("captain_mark", args=[theirs.pk]), {"status": "reached"})
    assert response.status_code == 403
    theirs.refresh_from_db()
    assert theirs.acknowledged_at is None
    response = client.post(reverse("captain_mark", args=[mine.pk]), {"status": "reached"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.captain_status == "reached" and mine.ack_via == "captain"
    assert "tel:" not in client.get(reverse("captain")).content.decode()
    # The coordinators' tree view shows the result, without phone numbers.
    login(personas.dispatcher)
    tree = client.get(reverse("alert_tree", args=[mine.alert_id])).content.decode()
    assert "ana.captain" in tree and "Reached" in tree
    assert "555-0141" not in tree and "5550141" not in tree


@pytest.mark.django_db
def test_captain_mark_refuses_an_unknown_status(client, login, personas):
    ana = make_member(
        "ana.captain", org=personas.org_a, roles=(Role.CAPTAIN,), tier=Vetting.VOUCHED
    )
    mine = assigned(personas, ana, "+13235550141")
    login(ana)
    client.post(reverse("captain_mark", args=[mine.pk]), {"status": "deleted"})
    mine.refresh_from_db()
    assert mine.captain_status == "pending" and mine.acknowledged_at is None


# --- member subscriptions -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_member_adds_and_removes_places_and_orders_channels(client, login, personas, zone):
    member = personas.newcomer
    login(member)
    page = client.get(reverse("my_subscriptions")).content.decode()
    assert "My places" in page
    sub = Subscriber.objects.get(member=member)
    assert sub.status == Subscriber.Status.ACTIVE
    client.post(
        reverse("my_subscriptions"),
        {"action": "area", "zone": zone.pk, "radius_m": "1000", "label": "work"},
    )
    client.post(
        reverse("my_subscriptions"),
        {
            "action": "area",
            "lat": "34.04071234",
            "lng": "-118.21104321",
            "radius_m": "500",
            "label": "home",
        },
    )
    areas = list(SubscriptionArea.objects.filter(subscriber=sub).order_by("pk"))
    assert [a.zone_id for a in areas] == [zone.pk, None]
    # A member's place: rounded to about 100 m, kept encrypted; in clear only its neighborhood
    # cell's centre with a radius widened to still cover it (test_locations_encrypted.py).
    assert areas[1].point == "34.04100,-118.21100,500" and areas[1].shown_radius_m == 500
    assert areas[1].radius_m > 500
    response = client.post(
        reverse("my_subscriptions"),
        {"action": "channels", "language": "en", "first": "voice", "second": "sms", "third": ""},
    )
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.channels == ["voice", "sms"] and sub.language == "en"
    assert Subscriber.objects.count() == 1
    client.post(reverse("my_area_remove", args=[areas[0].pk]))
    assert list(SubscriptionArea.objects.filter(subscriber=sub)) == [areas[1]]
    # Another member cannot remove it.
    login(personas.verifier)
    assert client.post(reverse("my_area_remove", args=[areas[1].pk])).status_code == 403
    assert SubscriptionArea.objects.filter(pk=areas[1].pk).exists()


@pytest.mark.django_db
def test_member_without_a_place_gets_a_clear_message(client, login, personas):
    login(personas.newcomer)
    response = client.post(
        reverse("my_subscriptions"), {"action": "area", "radius_m": "1000", "label": "home"}
    )
    assert response.status_code == 200
    assert "Choose a zone, or use your location." in response.content.decode()


@pytest.mark.django_db
def test_member_who_said_stop_is_not_silently_resubscribed(client, login, personas, zone):
    sub = services.ensure_member_subscriber(personas.newcomer)
    services.opt_out(index=sub.phone_index)
    login(personas.newcomer)
    page = client.get(reverse("my_subscriptions")).content.decode()
    assert "Turn alerts back on" in page
    client.post(
        reverse("my_subscriptions"),
        {"action": "area", "zone": zone.pk, "radius_m": "1000", "label": "home"},
    )
    assert not SubscriptionArea.objects.exists()
    client.post(reverse("my_subscriptions"), {"action": "resume"})
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE and not OptOut.objects.exists()
    resumed = AuditEvent.objects.get(action="subscription.resume")
    assert resumed.actor_id == personas.newcomer.pk


# --- public subscribe ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_public_subscribe_sends_the_yes_text_and_the_code_confirms(client):
    response = client.post(
        reverse("subscribe"),
        {"phone": "(323) 555-0187", "place": "90033", "language": "en", "channels": ["sms"]},
    )
    assert response.status_code == 200
    assert "Reply YES" in response.content.decode()
    sub = Subscriber.objects.get(phone_index=phone_index("+13235550187"))
    assert sub.status == Subscriber.Status.PENDING and len(sub.confirm_code) == 6
    area = sub.areas.get()
    assert area.radius_m == 2000 and round(area.lat, 2) == 34.05
    messaging.dispatch()
    sms = OutboxMessage.objects.get()
    assert sms.address == "+13235550187" and sms.channel == "sms"
    assert sms.body.startswith("Vecinos: reply YES to get alerts for ")
    assert sub.confirm_code in sms.body and "Reply STOP to cancel." in sms.body
    assert Delivery.objects.get().purpose == "subscribe"

    wrong = "000000" if sub.confirm_code != "000000" else "111111"
    response = client.post(reverse("subscribe_confirm"), {"phone": "3235550187", "code": wrong})
    assert "That code does not match this number." in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.PENDING
    response = client.post(
        reverse("subscribe_confirm"), {"phone": "3235550187", "code": sub.confirm_code}
    )
    assert "Done: you will get alerts." in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks")
def test_after_a_stop_the_page_names_the_word_that_lets_texts_through(client):
    """Outside walk, session 19: the page said to text JOIN after a STOP, the STOP reply said
    START. Twilio blocks a number that said STOP until it texts START (JOIN would never get
    an answer): the page names START, and START is what lets the texts through here too."""
    phone = "+13235550191"
    post = {"phone": "(323) 555-0191", "place": "90033", "language": "en", "channels": ["sms"]}
    client.post(reverse("subscribe"), post)
    sub = Subscriber.objects.get(phone_index=phone_index(phone))
    client.post(reverse("subscribe_confirm"), {"phone": phone, "code": sub.confirm_code})
    sms_reply(client, phone, "STOP")
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.STOPPED
    page = client.post(reverse("subscribe"), post).content.decode()
    hint = re.search(r"If you ever replied STOP[^<]*", page)
    assert hint is not None and "text START to it first" in hint.group(0)
    assert "JOIN" not in hint.group(0)
    sms_reply(client, phone, "START")
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE


@pytest.mark.django_db
def test_public_subscribe_by_neighborhood_name_uses_the_zone(client, zone):
    client.post(
        reverse("subscribe"),
        {"phone": "3235550188", "place": "boyle heights", "language": "es", "channels": ["sms"]},
    )
    area = Subscriber.objects.get().areas.get()
    assert area.zone_id == zone.pk and area.lat is None
    messaging.dispatch()
    assert OutboxMessage.objects.get().language == "es"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "phone,place,message",
    [
        ("12345", "90033", "Enter a valid phone number"),
        ("3235550187", "00000", "We could not find that ZIP code or neighborhood."),
        ("3235550187", "Atlantis", "We could not find that ZIP code or neighborhood."),
    ],
)
def test_public_subscribe_bad_input_keeps_what_was_typed(client, phone, place, message):
    response = client.post(
        reverse("subscribe"),
        {"phone": phone, "place": place, "language": "es", "channels": ["sms"]},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert f'value="{place}"' in page and f'value="{phone}"' in page
    assert not Subscriber.objects.exists() and not Delivery.objects.exists()


@pytest.mark.django_db
def test_public_subscribe_does_not_reveal_or_change_an_active_subscription(client, zone):
    existing = public_subscriber("+13235550187", "en")
    response = client.post(
        reverse("subscribe"),
        {"phone": "3235550187", "place": "90033", "language": "es", "channels": ["sms"]},
    )
    assert response.status_code == 200 and "Reply YES" in response.content.decode()
    existing.refresh_from_db()
    assert existing.status == Subscriber.Status.ACTIVE and existing.areas.count() == 1
    assert existing.language == "en" and not existing.confirm_code
    messaging.dispatch()
    assert "already gets alerts" in OutboxMessage.objects.get().body


@pytest.mark.django_db
def test_public_subscribe_sends_nothing_to_a_number_that_said_stop(client):
    services.opt_out(index=phone_index("+13235550187"))
    response = client.post(
        reverse("subscribe"),
        {"phone": "3235550187", "place": "90033", "language": "en", "channels": ["sms"]},
    )
    assert response.status_code == 200 and "Reply YES" in response.content.decode()
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_public_subscribe_is_rate_limited(client):
    for i in range(5):
        client.post(
            reverse("subscribe"),
            {"phone": f"32355501{i:02d}", "place": "90033", "language": "es", "channels": ["sms"]},
        )
    response = client.post(
        reverse("subscribe"),
        {"phone": "3235550199", "place": "90033", "language": "es", "channels": ["sms"]},
    )
    assert response.status_code == 429
    assert Subscriber.objects.count() == 5


# --- stop list and outbox ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_stop_list_import_and_audited_undo(client, login, personas):
    login(personas.coalition)
    response = client.post(
        reverse("optouts"),
        {"action": "import", "numbers": "+12135550190\n(213) 555-0191\nnot a number\n"},
        follow=True,
    )
    assert (
        "2 numbers were added to the stop list. 1 line was not a phone number."
        in response.content.decode()
    )
    assert OptOut.objects.count() == 2
    assert AuditEvent.objects.filter(action="optout.import", actor=personas.coalition).exists()
    page = client.get(reverse("optouts")).content.decode()
    assert "2 numbers are on the stop list" in page and "Take off the stop list" in page
    client.post(reverse("optouts"), {"action": "undo", "phone": "213-555-0191"})
    assert set(OptOut.objects.values_list("phone_index", flat=True)) == {
        phone_index("+12135550190")
    }
    assert AuditEvent.objects.filter(action="optout.undo", actor=personas.coalition).exists()
    # Asking about a number not on the list is a read of who texted STOP: recorded too
    # (outside probe, session 18).
    client.post(reverse("optouts"), {"action": "undo", "phone": "213-555-0199"})
    looked = AuditEvent.objects.get(action="optout.lookup", actor=personas.coalition)
    assert looked.detail["found"] is False
    response = client.post(reverse("optouts"), {"action": "undo", "phone": "nope"})
    assert "Enter a valid phone number" in response.content.decode()


@pytest.mark.django_db
def test_stop_list_import_counts_each_new_number_once(client, login, personas):
    """Outside walk: the same number pasted on two lines said "2 numbers are on the stop list"
    while the page's total below had grown by one. The banner counts numbers newly added
    (each once, not those already on it), and the total agrees."""
    login(personas.coalition)
    client.post(
        reverse("optouts"),
        {"action": "import", "numbers": "2135550190\n2135550191\n2135550192\n"},
    )
    assert "3 numbers are on the stop list" in client.get(reverse("optouts")).content.decode()

    response = client.post(
        reverse("optouts"),
        {"action": "import", "numbers": "2135550141\n(213) 555-0141\n+1 213 555 0190\n"},
        follow=True,
    )
    body = response.content.decode()
    assert "1 number was added to the stop list. 1 was already on it." in body
    assert "4 numbers are on the stop list." in body  # the page's total: 3 + 1
    assert OptOut.objects.count() == 4

    response = client.post(
        reverse("optouts"), {"action": "import", "numbers": "2135550141\n2135550141\n"}, follow=True
    )
    body = response.content.decode()
    assert "0 numbers were added to the stop list. 1 was already on it." in body
    assert "4 numbers are on the stop list." in body


@pytest.mark.django_db
def test_an_organizations_coordinator_cannot_silence_the_coalitions_people(client, login, personas):
    """Outside probe, session 17: an organization's coordinator put the verifier's number on
    the stop list, which cut them off from every text and call of every organization. Now
    neither adding, nor taking off, nor the count is theirs; the service refuses too."""
    login(personas.coordinator)
    for data in (
        {"action": "import", "numbers": personas.verifier.phone},
        {"action": "undo", "phone": personas.verifier.phone},
    ):
        assert client.post(reverse("optouts"), data).status_code == 403
    assert not OptOut.objects.exists()
    assert f'href="{reverse("optouts")}"' not in client.get(reverse("profile")).content.decode()
    with pytest.raises(services.NotAllowed):
        services.opt_out_import(phones=[personas.verifier.phone], actor=personas.coordinator)
    assert not OptOut.objects.exists()


def test_outbox_masks_addresses_links_and_codes(client, login, personas, settings):
    settings.PUBLIC_URL = "http://testserver"
    sent_internal_alert(personas)
    messaging.dispatch()
    assert OutboxMessage.objects.count() == 2
    login(personas.dispatcher)
    page = client.get(reverse("outbox")).content.decode()
    assert "•••0103" in page and "•••0104" in page
    assert "+12135550103" not in page and "+12135550104" not in page
    assert "/a/…/" in page
    for row in OutboxMessage.objects.all():
        token = row.body.split("/a/")[1].split("/")[0]
        assert token not in page


@pytest.mark.django_db
def test_the_outbox_is_the_dispatchers_and_the_coalitions_not_an_organizations(
    client, login, personas
):
    """Outside probe, session 19: any organization's coordinator read the whole coalition's
    texts (alerts, approvals, RSVPs) in the outbox; nor is it in their menu now."""
    sent_internal_alert(personas)
    messaging.dispatch()
    login(personas.coordinator)
    assert client.get(reverse("outbox")).status_code == 403
    assert reverse("outbox") not in client.get(reverse("alerts")).content.decode()
    for allowed in (personas.dispatcher, personas.coalition):
        login(allowed)
        assert client.get(reverse("outbox")).status_code == 200
        assert reverse("outbox") in client.get(reverse("alerts")).content.decode()
