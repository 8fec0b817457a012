"""End to end in headless Chromium on a phone-sized screen: a dispatcher sends a call-out from
the page, a responder gets it in the outbox, replies VOY 10 through the signed Twilio webhook,
opens the link from the text, sees the staging point and checks in; the dispatcher's live board
(htmx poll, every second) shows the responder coming, then on site."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import browser_sign_in, make_member
from tests.twilio_stub import WEBHOOK_TOKEN, RequestValidator
from vecinos.alerts import services as alert_services
from vecinos.messaging import services as messaging
from vecinos.mobilize.models import Activation, Response
from vecinos.network.models import Organization, Role, Tier
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAGING = "Mariachi Plaza, by the kiosk"
KOREAN = "안전한 거리에서 지켜보세요. 키오스크 옆에서 만나요."
SCREENSHOT = "/tmp/mobilize-phone.png"
BOARD_SCREENSHOT = "/tmp/mobilize-board.png"
STAND_DOWN_SCREENSHOT = "/tmp/mobilize-stand-down.png"


def settle(page) -> None:
    page.wait_for_load_state("load")
    assert list(page.problems) == [], list(page.problems)


def sms(base: str, sender: str, body: str) -> str:
    params = {"From": sender, "To": "+12135550000", "Body": body,
              "MessageSid": "SM" + "a" * 32, "AccountSid": "AC" + "0" * 32, "NumMedia": "0"}  # fmt: skip
    url = f"{base}/hooks/twilio/sms"
    signature = RequestValidator(WEBHOOK_TOKEN).compute_signature(url, params)
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 - the live server
        return r.read().decode()


def test_responder_replies_voy_10_sees_the_staging_point_checks_in_and_the_board_shows_it(
    live_server, new_page, settings
):
    base = live_server.url
    settings.PUBLIC_URL = base  # the signed link in the text and the webhook's signed URL
    settings.TWILIO_AUTH_TOKEN = WEBHOOK_TOKEN
    registry.reset()
    org = Organization.objects.create(name="Vecinos de Boyle Heights", short_name="boyle")
    dispatcher = make_member(
        "disp.marta", org=org, roles=(Role.DISPATCHER,), tier=Tier.TRAINED, phone="+12135550122"
    )
    device = TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    rosa = make_member(
        "rosa.responde", org=org, roles=(Role.RESPONDER,), tier=Tier.VOUCHED,
        phone="+13235550187", preferred_language="en",
    )  # fmt: skip
    alert_services.ensure_member_subscriber(rosa)
    min_jun = make_member(
        "minjun.responde", org=org, roles=(Role.RESPONDER,), tier=Tier.VOUCHED,
        phone="+13235550188", preferred_language="ko",
    )  # fmt: skip
    alert_services.ensure_member_subscriber(min_jun)

    # --- the dispatcher sends the call-out from the page -------------------------------------
    desk = new_page(phone=True)
    browser_sign_in(desk, base, "disp.marta", device, to="/mobilize/new/")
    desk.get_by_label("Staging point").fill(STAGING)
    when = timezone.localtime() + timezone.timedelta(minutes=30)
    desk.get_by_label("Needed by").fill(when.strftime("%Y-%m-%dT%H:%M"))
    desk.get_by_role("spinbutton", name="Legal observer").fill("2")
    # Spanish and English guidance are open; the other languages fold away on a phone.
    expect(desk.get_by_label("Guidance in Spanish")).to_be_visible()
    korean = desk.get_by_label("한국어 (Korean)")
    expect(korean).to_be_hidden()
    desk.locator("summary", has_text="Other languages").click()
    expect(korean).to_be_visible()
    expect(desk.get_by_label("العربية (Arabic)")).to_have_attribute("dir", "rtl")
    assert desk.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    korean.fill(KOREAN)
    with desk.expect_navigation():
        desk.get_by_role("button", name="Send call-out").click()
    settle(desk)
    activation = Activation.objects.get()
    expect(desk.locator(".messages")).to_contain_text("Call-out sent to 2 people.")
    expect(desk.locator('[data-count="coming"]')).to_have_text("0")

    # --- the text reaches the responder (console transport: the outbox) ----------------------
    messaging.dispatch()
    [text] = [m.body for m in OutboxMessage.objects.all() if m.address == rosa.phone]
    assert STAGING in text and "Reply COMING" in text and "safe distance" in text
    [korean_text] = [m.body for m in OutboxMessage.objects.all() if m.address == min_jun.phone]
    assert KOREAN in korean_text and "갑니다" in korean_text and "safe distance" not in korean_text
    link = re.search(r"(http://\S+/r/\S+/)", text).group(1)

    # --- VOY 10 by SMS through the signed webhook ----------------------------------------------
    reply = sms(base, rosa.phone, "VOY 10")
    assert "coming (10 min)" in reply
    # The board picks it up on its next poll, without a reload.
    expect(desk.locator('[data-count="coming"]')).to_have_text("1", timeout=5000)
    expect(desk.locator(".who")).to_contain_text("rosa.responde")

    # --- the responder opens the link on their phone and checks in ----------------------------
    phone = new_page(phone=True)
    phone.goto(link)
    settle(phone)
    expect(phone.locator('[data-field="staging"]')).to_have_text(STAGING)
    expect(phone.locator('[data-field="status"]')).to_contain_text("Coming")
    with phone.expect_navigation():
        phone.get_by_role("button", name="I am here (check in)").click()
    settle(phone)
    expect(phone.get_by_role("status")).to_contain_text("You are checked in.")
    phone.screenshot(path=SCREENSHOT, full_page=True)
    r = Response.objects.get(activation=activation, member=rosa)
    assert r.status == "arrived" and r.arrived_at is not None

    expect(desk.locator('[data-count="arrived"]')).to_have_text("1", timeout=5000)
    expect(desk.locator('[data-count="coming"]')).to_have_text("0")
    expect(desk.locator(".who")).to_contain_text("on site")
    desk.screenshot(path=BOARD_SCREENSHOT, full_page=True)
    settle(desk)

    # --- the dispatcher stands everyone down, with a note per language -------------------------
    stand = desk.locator("form", has=desk.get_by_role("button", name="Stand down everyone"))
    stand.get_by_label("Added note in English (optional)").fill("Thank you. Go home safely.")
    stand.locator("summary", has_text="Other languages").click()
    korean_note = stand.get_by_label("한국어 (Korean)")
    expect(korean_note).to_be_visible()
    korean_note.fill("감사합니다. 조심히 귀가하세요.")
    expect(stand.get_by_label("العربية (Arabic)")).to_have_attribute("dir", "rtl")
    assert desk.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    stand.screenshot(path=STAND_DOWN_SCREENSHOT)
    with desk.expect_navigation():
        stand.get_by_role("button", name="Stand down everyone").click()
    settle(desk)
    expect(desk.locator(".messages")).to_contain_text("Stand-down sent to 1 person.")
    messaging.dispatch()
    last = [m.body for m in OutboxMessage.objects.order_by("pk") if m.address == rosa.phone][-1]
    assert "STAND DOWN" in last and last.endswith("Thank you. Go home safely.")


@pytest.mark.parametrize("answer", ["coming", "declined"])
def test_a_pushed_call_out_offers_coming_and_not_coming_and_the_action_answers(
    live_server, new_page, settings, answer
):
    """static/js/sw.js in Chromium: a push carrying a call-out's signed link is shown with the
    "Coming / Voy" and "Not coming / No voy" actions; the action, as notificationclick runs it,
    reads the link page for its CSRF token and POSTs the answer (via=push)."""
    from vecinos.mobilize import services as mobilize

    base = live_server.url
    settings.PUBLIC_URL = base
    registry.reset()
    org = Organization.objects.create(name="Vecinos de Boyle Heights", short_name="boyle")
    dispatcher = make_member("disp.marta", org=org, roles=(Role.DISPATCHER,), tier=Tier.TRAINED)
    rosa = make_member(
        "rosa.responde", org=org, roles=(Role.RESPONDER,), tier=Tier.VOUCHED,
        phone="+13235550187", preferred_language="en",
    )  # fmt: skip
    alert_services.ensure_member_subscriber(rosa)
    activation = mobilize.activation_send(
        activation=mobilize.activation_create(
            actor=dispatcher,
            staging_point=STAGING,
            needed_by=timezone.now() + timezone.timedelta(minutes=30),
            roles={"observer": 2},
            tiers=["responders"],
        ),
        actor=dispatcher,
    )
    r = Response.objects.get(activation=activation)
    link = mobilize.link(r.pk)
    body = mobilize.ask_text(activation, "en", "push", link)

    page = new_page(phone=True)
    page.context.grant_permissions(["notifications"], origin=base)
    page.route(
        f"{base}/static/js/sw-test",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>ok</p>"),
    )
    page.goto(f"{base}/static/js/sw-test")
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
    # The push itself, delivered by Chromium (DevTools protocol) with the payload the Web Push
    # transport builds for this message.
    from types import SimpleNamespace

    from vecinos.transports.webpush.transport import payload

    data = payload(
        SimpleNamespace(subject="Call-out", body=body, idempotency_key="k", language="en")
    )
    cdp = page.context.new_cdp_session(page)
    registrations: list = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(300)
    [reg_id] = {x["registrationId"] for x in registrations if x["scopeURL"].endswith("/static/js/")}
    shown = None
    # Up to 15 s: the CI machine runs two suites at once, and once, there, nothing was shown
    # within 5 s (cause not found). The push goes again after 5 and 10 s; the notification's
    # tag makes a second copy replace the first, never stack, so the check below still holds.
    for attempt in range(150):
        if attempt % 50 == 0:
            cdp.send(
                "ServiceWorker.deliverPushMessage",
                {"origin": base, "registrationId": reg_id, "data": data.decode()},
            )
        shown = worker.evaluate(
            """async () => (await self.registration.getNotifications()).map(
                 (n) => ({actions: n.actions.map((a) => a.action + ":" + a.title),
                          url: n.data.url, callout: n.data.callout}))"""
        )
        if shown:
            break
        page.wait_for_timeout(100)
    assert shown == [
        {
            "actions": ["coming:Coming / Voy", "declined:Not coming / No voy"],
            "url": link,
            "callout": True,
        }
    ]
    # The action, as notificationclick runs it.
    worker.evaluate(
        "([url, answer]) => answerCallout({data: {url: url, callout: true}, tag: 'c-1'}, answer)",
        [link, answer],
    )
    r.refresh_from_db()
    assert (r.status, r.via) == (answer, "push")
    done = worker.evaluate(
        "async () => (await self.registration.getNotifications({tag: 'c-1'})).map((n) => n.body)"
    )
    assert done == ["Coming / Voy ✓" if answer == "coming" else "Not coming / No voy ✓"]
