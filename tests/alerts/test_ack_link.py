"""The acknowledgement link in an alert is safe from link previews.

Messaging apps and mail scanners fetch every link in a message (GET, sometimes HEAD) to build a
preview: opening the link must never acknowledge. The page shows the alert and one big "I got
it" button, a CSRF-protected POST form that works without JavaScript; the POST acknowledges,
once. The push notification's "Confirm" action does what the button does.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, Tier
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.transports import registry

PREVIEW_AGENTS = [
    "WhatsApp/2.23.20.0 A",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "TelegramBot (like TwitterBot)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",  # a mail scanner posing as a browser
    "",  # no user agent at all
]
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def sent_alert(personas, **extra) -> Alert:
    for member in (personas.dispatcher, personas.verifier):
        services.ensure_member_subscriber(member)
    fields = {
        "actor": personas.dispatcher,
        "kind": Alert.Kind.ACTIVATION,
        "tiers": [Tier.INTERNAL],
        "messages": {"es": "Activación de prueba.", "en": "Test activation."},
    }
    fields.update(extra)
    return services.alert_send(alert=services.alert_create(**fields), actor=personas.dispatcher)


def verifier_link(personas, **extra) -> tuple[AlertRecipient, str]:
    alert = sent_alert(personas, **extra)
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=personas.verifier)
    return recipient, reverse("alert_ack", args=[services.ack_token(recipient.pk)])


def press_the_button(client: Client, url: str, **extra):
    """What a browser does: load the page, send its form back with the CSRF token."""
    page = client.get(url)
    assert page.status_code == 200
    token = CSRF_FIELD.search(page.content.decode())
    assert token is not None, "the page has no form"
    return client.post(url, {"csrfmiddlewaretoken": token.group(1), "via": "link"}, **extra)


@pytest.mark.parametrize("agent", PREVIEW_AGENTS)
def test_opening_the_link_acknowledges_nothing(personas, agent):
    recipient, url = verifier_link(personas)
    client = Client(HTTP_USER_AGENT=agent) if agent else Client()
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200
        assert "Activación de prueba." in response.content.decode()
    assert client.head(url).status_code == 200
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is None and recipient.ack_via == ""
    assert recipient.next_step_at is not None  # the escalation still runs
    assert not Delivery.objects.filter(ref_item=recipient.pk, acknowledged_at__isnull=False)


def test_the_page_shows_the_alert_and_one_big_button_that_works_without_javascript(personas):
    _recipient, url = verifier_link(personas)
    response = Client().get(url)
    page = response.content.decode()
    assert response["X-Robots-Tag"] == "noindex" and response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert 'lang="es"' in page and "Activación de prueba." in page
    form = re.search(r"<form[^>]*class=\"ack-form\"[^>]*>.*?</form>", page, re.S)
    assert form is not None
    assert 'method="post"' in form.group(0) and f'action="{url}"' in form.group(0)
    assert "csrfmiddlewaretoken" in form.group(0) and 'type="submit"' in form.group(0)
    assert "Thank you, we know you got it." not in page


def test_pressing_the_button_acknowledges_once_and_then_says_so(personas):
    recipient, url = verifier_link(personas)
    client = Client(enforce_csrf_checks=True)
    response = press_the_button(client, url)
    assert response.status_code == 200
    recipient.refresh_from_db()
    first = recipient.acknowledged_at
    assert first is not None and recipient.ack_via == "link" and recipient.next_step_at is None
    assert Delivery.objects.get(ref_item=recipient.pk).acknowledged_at == first
    # The same button pressed again (back button, double tap): nothing changes, it says so.
    token = client.cookies["csrftoken"].value
    again = client.post(url, {"csrfmiddlewaretoken": token, "via": "link"})
    assert again.status_code == 200
    assert "Ya había confirmado" in again.content.decode()
    recipient.refresh_from_db()
    assert recipient.acknowledged_at == first
    # Opening the link later shows the alert, says it is confirmed, and has no button.
    later = client.get(url).content.decode()
    assert "Ya había confirmado" in later and "Activación de prueba." in later
    assert "<form" not in later.split('class="phone-page')[1].split("</section>")[0]


def test_the_button_in_english(personas):
    personas.verifier.preferred_language = "en"
    personas.verifier.save()
    recipient, url = verifier_link(personas)
    client = Client(enforce_csrf_checks=True)
    assert "I got it" in client.get(url).content.decode()
    page = press_the_button(client, url).content.decode()
    assert "Thank you, we know you got it." in page and "Test activation." in page


def test_a_post_without_the_csrf_token_is_refused(personas):
    recipient, url = verifier_link(personas)
    client = Client(enforce_csrf_checks=True)
    client.get(url)  # has the cookie, but not the form's token
    assert client.post(url, {"via": "link"}).status_code == 403
    assert Client(enforce_csrf_checks=True).post(url).status_code == 403
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is None


def test_acknowledging_cancels_the_queued_escalation(personas):
    recipient, url = verifier_link(personas)
    alert = recipient.alert
    with time_machine.travel(timezone.now() + timedelta(seconds=301), tick=False):
        services.escalate_due()
    voice = Delivery.objects.get(ref_item=recipient.pk, channel="voice")
    assert voice.status == DeliveryStatus.QUEUED
    press_the_button(Client(enforce_csrf_checks=True), url)
    voice.refresh_from_db()
    assert voice.status == DeliveryStatus.CANCELLED
    assert services.progress(alert)["acknowledged"] == 1


def test_old_and_forged_tokens_answer_410_to_get_and_post(personas):
    recipient, url = verifier_link(personas)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert Client().get(url).status_code == 410
        assert Client().post(url).status_code == 410
    forged = reverse("alert_ack", args=[services.ack_token(recipient.pk)[:-2] + "xx"])
    assert Client().get(forged).status_code == 410
    assert Client().post(forged).status_code == 410
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is None


def test_an_expired_alert_still_shows_and_can_be_confirmed_with_a_warning(personas):
    recipient, url = verifier_link(personas)
    Alert.objects.filter(pk=recipient.alert_id).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    page = Client().get(url).content.decode()
    assert 'class="notice"' in page  # "This alert has expired..." in their language
    press_the_button(Client(enforce_csrf_checks=True), url)
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is not None


def test_other_methods_are_refused(personas):
    recipient, url = verifier_link(personas)
    for method in ("put", "delete", "patch"):
        assert getattr(Client(), method)(url).status_code == 405
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is None


def test_the_push_action_does_what_the_button_does(personas):
    """sw.js: GET the page for its CSRF token, then POST via=push (see the browser test)."""
    recipient, url = verifier_link(personas)
    client = Client(enforce_csrf_checks=True)
    page = client.get(url, headers={"Accept": "text/html"}).content.decode()
    token = CSRF_FIELD.search(page).group(1)
    response = client.post(
        url,
        {"csrfmiddlewaretoken": token, "via": "push"},
        headers={"X-Requested-With": "vecinos-push"},
    )
    assert response.status_code == 200
    recipient.refresh_from_db()
    assert recipient.ack_via == "push"


def test_an_unknown_via_is_recorded_as_the_link(personas):
    recipient, url = verifier_link(personas)
    Client().post(url, {"via": "x" * 40})
    recipient.refresh_from_db()
    assert recipient.ack_via == "link"


def test_the_sms_body_still_carries_the_link(personas, settings):
    settings.PUBLIC_URL = "http://testserver"
    recipient, _url = verifier_link(personas)
    messaging.dispatch()
    delivery = Delivery.objects.get(ref_item=recipient.pk)
    link = re.search(r"http://testserver(/a/[^/\s]+/)", delivery.body)
    assert link is not None
    assert Client().get(link.group(1)).status_code == 200
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is None


# --- in Chromium --------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_phone_presses_the_button_without_javascript(live_server, new_page, personas):
    recipient, url = verifier_link(personas)
    page = new_page(phone=True, locale="es-US")
    page.context.set_extra_http_headers({})
    page.context.route("**/*.js", lambda route: route.abort())  # no JavaScript at all
    page.goto(live_server.url + url)
    button = page.locator("form.ack-form button[type=submit]")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 300
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is None
    with page.expect_navigation():
        button.click()
    assert "Thank you, we know you got it." in page.content() or "Gracias" in page.content()
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is not None and recipient.ack_via == "link"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_service_worker_confirm_action_posts_with_the_pages_token(
    live_server, new_page, personas
):
    recipient, url = verifier_link(personas)
    page = new_page(phone=True, locale="es-US")
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.route(
        f"{live_server.url}/static/js/sw-test",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>ok</p>"),
    )
    page.goto(f"{live_server.url}/static/js/sw-test")
    page.evaluate(
        """async () => {
          const reg = await navigator.serviceWorker.register(
            "/static/js/sw.js", {scope: "/static/js/"});
          const worker = reg.installing || reg.waiting || reg.active;
          if (worker.state !== "activated") {
            await new Promise((done) => worker.addEventListener("statechange", () => {
              if (worker.state === "activated") done();
            }));
          }
        }"""
    )
    [worker] = [w for w in page.context.service_workers if w.url.endswith("/static/js/sw.js")]
    # The notification's "Confirm" action, as notificationclick runs it.
    worker.evaluate(
        "(url) => confirmAlert({data: {url: url, ack: true}, tag: 'alert-1'})",
        live_server.url + url,
    )
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is not None and recipient.ack_via == "push"
    shown = worker.evaluate(
        "async () => (await self.registration.getNotifications()).map((n) => n.body)"
    )
    assert shown == ["Confirmed / Confirmado ✓"]


def test_a_fan_outs_signer_writes_djangos_own_tokens(settings):
    # A fan-out signs tens of thousands of links with a signer that keys its HMAC once: each
    # token must be the one signing.dumps writes, and read back by the link's own check.
    from django.core import signing

    from vecinos.alerts.acks import FanOutSigner, ack_token

    settings.SECRET_KEY = "a-secret-for-this-test-" + "x" * 40
    fast = FanOutSigner()
    with time_machine.travel(1_800_000_123, tick=False):
        for rid in (1, 7, 4242, 2**31 + 5, 10**12):
            token = ack_token(rid, fast)
            assert token == signing.dumps(rid, salt="vecinos.ack")
            assert signing.loads(token, salt="vecinos.ack") == rid
        # Anything but an int goes Django's own way, with the same result.
        assert fast.sign_object({"r": 1}) == signing.dumps({"r": 1}, salt="vecinos.ack")
    # Another secret, another signature: the key is the coalition's, not fixed.
    token = ack_token(7, fast)
    settings.SECRET_KEY = "another-secret-" + "y" * 40
    assert ack_token(7, FanOutSigner()) != token
    with pytest.raises(signing.BadSignature):
        signing.loads(token, salt="vecinos.ack")


def test_the_link_in_a_fan_outs_text_acknowledges(personas):
    # The link each person gets is signed by the fan-out's own signer: it opens their page and
    # the button acknowledges them, not anyone else.
    alert = sent_alert(personas)
    recipient = AlertRecipient.objects.get(alert=alert, subscriber__member=personas.verifier)
    body = Delivery.objects.get(ref_type="alert", ref_id=alert.pk, ref_item=recipient.pk).body
    link = re.search(r"https?://\S+/a/(\S+)/", body)
    assert link is not None, body
    assert services.load_ack_token(link.group(1)).pk == recipient.pk
    url = reverse("alert_ack", args=[link.group(1)])
    assert press_the_button(Client(), url).status_code in (200, 302)
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is not None
    others = AlertRecipient.objects.filter(alert=alert).exclude(pk=recipient.pk)
    assert others.exists() and not others.filter(acknowledged_at__isnull=False).exists()
