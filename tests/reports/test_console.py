"""The dispatcher console, incident pages, photos and the duty page, through their real URLs."""

from __future__ import annotations

import io
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from tests.conftest import make_member
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery
from vecinos.network.models import Role, Tier
from vecinos.reports import services
from vecinos.reports.models import (
    Attachment,
    Incident,
    IncidentEvent,
    OnDuty,
    Report,
    ReportStatus,
    Triage,
    VerificationRequest,
)
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

HX = {"HTTP_HX_REQUEST": "true"}
_seq = itertools.count()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def file_report(*, lat=34.0500, lng=-118.2500, source="", photos=0, **kw) -> Report:
    """A public report through the real intake service (distinct sources: no flood)."""
    data = services.ReportInput(
        channel=kw.pop("channel", "web"),
        activity=kw.pop("activity", "street"),
        agency=kw.pop("agency", "ice"),
        agents_count=kw.pop("agents_count", 3),
        lat=lat,
        lng=lng,
        place_text=kw.pop("place_text", "1st St & Soto"),
        photos=[(png_bytes(), "p.png") for _ in range(photos)],
        **kw,
    )
    return services.report_submit(data=data, source_key_value=source or f"src{next(_seq):08d}")


@pytest.fixture
def world(personas):
    """One report, one incident with a report photo, and a verifier asked to check it."""
    report = file_report(place_text="Cesar Chavez & Soto")
    other = file_report(lat=34.0502, lng=-118.2502, photos=1)
    incident = services.report_triage(
        report=other, tier=Triage.VERIFY, actor=personas.dispatcher
    ).incident
    attachment = Attachment.objects.get(report=other)
    return {"report": report, "incident": incident, "attachment": attachment, "other": other}


# --- permissions: every console view, every persona that must be refused -------------------------


def console_calls(world):
    r, i, a = world["report"], world["incident"], world["attachment"]
    return [
        ("get", reverse("console"), {}),
        ("get", reverse("console_queue"), {}),
        ("post", reverse("console_triage", args=[r.pk]), {"tier": "verify"}),
        ("post", reverse("console_merge", args=[r.pk]), {"incident": i.pk}),
        ("post", reverse("console_ban", args=[r.pk]), {}),
        ("post", reverse("console_split", args=[world["other"].pk]), {}),
        ("get", reverse("console_incident", args=[i.pk]), {}),
        ("get", reverse("console_incident_live", args=[i.pk]), {}),
        ("post", reverse("console_lock", args=[i.pk]), {"action": "take"}),
        ("post", reverse("console_incident_merge", args=[i.pk]), {"target": i.pk}),
        ("post", reverse("console_close", args=[i.pk]), {}),
        ("post", reverse("console_dispatch", args=[i.pk]), {"verifiers": [1]}),
        ("get", reverse("console_media", args=[a.pk]), {}),
    ]


def _untouched(world):
    world["report"].refresh_from_db()
    world["incident"].refresh_from_db()
    assert world["report"].status == ReportStatus.NEW and world["report"].incident_id is None
    assert world["incident"].status != Incident.Status.CLOSED
    assert world["incident"].lock_holder_id is None
    assert not VerificationRequest.objects.exists()


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in_from_every_console_view(world, client):
    for method, url, data in console_calls(world):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    _untouched(world)


@pytest.mark.django_db
def test_signed_out_poll_asks_htmx_to_go_to_sign_in_instead_of_swapping_a_page(world, client):
    response = client.get(reverse("console_queue"), **HX)
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["newcomer", "verifier"])
def test_newcomer_and_verifier_cannot_use_any_console_view(world, personas, login, persona):
    client = login(getattr(personas, persona))
    for method, url, data in console_calls(world):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, url
    _untouched(world)


@pytest.mark.django_db
def test_vouched_member_without_a_console_role_is_refused(world, personas, login):
    member = make_member("vouched", org=personas.org_a, roles=(Role.PATROL,), tier=Tier.VOUCHED)
    client = login(member)
    for method, url, data in console_calls(world):
        assert getattr(client, method)(url, data).status_code == 403, url


@pytest.mark.django_db
def test_dispatcher_role_before_training_gives_no_console(world, personas, login):
    # An infiltrator handed the dispatcher role on day one sees nothing until trained.
    member = make_member("eager", org=personas.org_a, roles=(Role.DISPATCHER,), tier=Tier.VOUCHED)
    client = login(member)
    assert client.get(reverse("console")).status_code == 403
    assert client.get(reverse("console_media", args=[world["attachment"].pk])).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["coalition", "coordinator", "dispatcher", "outsider"])
def test_dispatchers_and_coordinators_may_open_the_console(world, personas, login, persona):
    # Decision: reports and incidents belong to the whole coalition, not to one organization, so
    # an organization coordinator of any member group (the "outsider" persona, org B) may work
    # the queue. Sending verifiers stays with dispatchers and coalition coordinators.
    client = login(getattr(personas, persona))
    for name in ("console", "console_queue"):
        assert client.get(reverse(name)).status_code == 200
    incident = world["incident"]
    assert client.get(reverse("console_incident", args=[incident.pk])).status_code == 200
    assert client.get(reverse("console_media", args=[world["attachment"].pk])).status_code == 200


@pytest.mark.django_db
def test_org_coordinator_cannot_send_verifiers(world, personas, login):
    services.duty_start(member=personas.verifier, role="verifier", hours=2, lat=34.05, lng=-118.25)
    client = login(personas.outsider)
    url = reverse("console_dispatch", args=[world["incident"].pk])
    assert client.post(url, {"verifiers": [personas.verifier.pk]}).status_code == 403
    assert not VerificationRequest.objects.exists()
    page = client.get(reverse("console_incident", args=[world["incident"].pk]))
    assert b"Only dispatchers and coalition coordinators send verifiers" in page.content


@pytest.mark.django_db
def test_photos_are_served_only_to_console_users_and_assigned_verifiers(world, personas, login):
    url = reverse("console_media", args=[world["attachment"].pk])
    client = login(personas.verifier)
    assert client.get(url).status_code == 403  # not asked to check this incident
    VerificationRequest.objects.create(incident=world["incident"], verifier=personas.verifier)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/png", "image/jpeg")
    assert "no-store" in response["Cache-Control"]
    assert response.content[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0")


@pytest.mark.django_db
def test_media_is_stored_outside_static_and_never_leaves_the_media_root(world, personas, login):
    attachment = world["attachment"]
    assert not attachment.path.startswith(("/", "static"))
    Attachment.objects.filter(pk=attachment.pk).update(path="../secret_key")
    client = login(personas.dispatcher)
    assert client.get(reverse("console_media", args=[attachment.pk])).status_code == 404


# --- the queue -------------------------------------------------------------------------------------


def _seed_queue(n: int, personas) -> None:
    """n ordinary reports (spread out, with photos and a merge suggestion each) + floods."""
    for k in range(n):
        lat, lng = 34.0 + k * 0.02, -118.3
        file_report(lat=lat, lng=lng, photos=1 if k % 2 else 0, description=f"report {k}")
        anchor = file_report(lat=lat + 0.001, lng=lng)
        incident = services.report_triage(
            report=anchor, tier=Triage.VERIFY, actor=personas.dispatcher
        ).incident
        VerificationRequest.objects.create(incident=incident, verifier=personas.verifier)
    for _ in range(5):
        file_report(lat=33.5, lng=-117.5, source="floodsrc0000001")


@pytest.mark.django_db
def test_queue_fragment_runs_a_pinned_number_of_queries(personas, login):
    client = login(personas.dispatcher)
    url = reverse("console_queue")
    _seed_queue(1, personas)
    client.get(url)  # warm the zone cache and the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _seed_queue(50, personas)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.count(b'data-row="r') >= 50
    assert response.content.count(b"Merge into incident #") >= 50
    # session, user, OTP device, roles, then the queue's own reads (lane counts, the trusted
    # lane, the page of other reports, floods, the surge check...): a constant, whatever the size.
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]
    assert len(many) <= 15


@pytest.mark.django_db
def test_an_unchanged_queue_answers_204_so_the_page_stays_still(world, personas, login):
    client = login(personas.dispatcher)
    first = client.get(reverse("console_queue"), **HX)
    digest = first["X-Live-Digest"]
    again = client.get(reverse("console_queue"), HTTP_X_LIVE_DIGEST=digest, **HX)
    assert again.status_code == 204
    file_report(place_text="Brand new report")
    changed = client.get(reverse("console_queue"), HTTP_X_LIVE_DIGEST=digest, **HX)
    assert changed.status_code == 200 and b"Brand new report" in changed.content
    assert changed["X-Live-Digest"] != digest


@pytest.mark.django_db
def test_queue_lists_new_reports_and_open_incidents_newest_first(world, personas, login):
    newer = file_report(place_text="Newest place")
    client = login(personas.dispatcher)
    html = client.get(reverse("console_queue")).content.decode()
    assert html.index(newer.receipt) < html.index(world["report"].receipt)
    assert f"#{world['incident'].pk}" in html
    page = client.get(reverse("console")).content.decode()
    assert 'hx-get="/console/queue/"' in page and 'hx-trigger="every 1s"' in page
    assert "<script>" not in page and 'style="' not in page and "<style" not in page


@pytest.mark.django_db
def test_flood_reports_are_grouped_collapsed_at_the_bottom(world, personas, login):
    flood = [file_report(lat=33.9, lng=-118.1, source="samesource00001") for _ in range(6)]
    assert Report.objects.exclude(flood_group="").count() >= 4
    client = login(personas.dispatcher)
    html = client.get(reverse("console_queue")).content.decode()
    start = html.index('<details class="flood"')
    assert html[start : html.index(">", start)] == '<details class="flood" data-keep-open="flood"'
    # (no "open" attribute: collapsed; console.js only re-opens what the dispatcher opened)
    assert "Possible flood" in html
    flood_count = Report.objects.exclude(flood_group="").count()
    assert f'<span class="count count-warn">{flood_count}</span>' in html
    # Ordinary reports come first; every flagged one sits inside the group.
    assert html.index(world["report"].receipt) < start
    for report in flood:
        report.refresh_from_db()
        if report.flood_group:
            assert html.index(report.receipt) > start


@pytest.mark.django_db
def test_a_burst_of_floods_cannot_push_ordinary_reports_out_of_the_queue(world, personas, login):
    for _ in range(120):
        file_report(lat=33.7, lng=-118.0, source="bigflood000001")
    client = login(personas.dispatcher)
    html = client.get(reverse("console_queue")).content.decode()
    assert world["report"].receipt in html


# --- triage, merge, split ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("tier", ["verify", "urgent"])
def test_triage_to_verify_or_urgent_opens_an_incident(world, personas, login, tier):
    client = login(personas.dispatcher)
    report = world["report"]
    response = client.post(reverse("console_triage", args=[report.pk]), {"tier": tier})
    assert response.status_code == 302 and response["Location"] == reverse("console")
    report.refresh_from_db()
    assert report.status == ReportStatus.TRIAGED and report.triage == tier
    assert report.triaged_by == personas.dispatcher and report.incident_id
    kinds = list(
        IncidentEvent.objects.filter(incident=report.incident).values_list("kind", flat=True)
    )
    assert kinds == ["opened", "triaged"]


@pytest.mark.django_db
def test_triage_log_only_leaves_the_queue_without_an_incident(world, personas, login):
    client = login(personas.dispatcher)
    report = world["report"]
    response = client.post(reverse("console_triage", args=[report.pk]), {"tier": "log"}, **HX)
    assert response.status_code == 200
    assert report.receipt.encode() not in response.content  # the fresh queue, without it
    assert "logged" in response["HX-Trigger"]
    report.refresh_from_db()
    assert report.triage == Triage.LOG and report.incident_id is None


@pytest.mark.django_db
def test_bad_triage_tier_is_refused_with_a_message(world, personas, login):
    client = login(personas.dispatcher)
    response = client.post(
        reverse("console_triage", args=[world["report"].pk]), {"tier": "x"}, **HX
    )
    assert response.status_code == 400 and b"Choose log only" in response.content
    world["report"].refresh_from_db()
    assert world["report"].status == ReportStatus.NEW


@pytest.mark.django_db
def test_reports_show_merge_suggestions_and_trusted_mark(world, personas, login):
    client = login(personas.dispatcher)
    html = client.get(reverse("console_queue")).content.decode()
    # world["report"] is ~30 m from the incident: suggested, with the "m" key on the first one.
    assert f"Merge into incident #{world['incident'].pk}" in html
    assert 'data-key="m"' in html


@pytest.mark.django_db
def test_merge_split_and_incident_merge_keep_the_timeline(world, personas, login):
    client = login(personas.dispatcher)
    first = world["incident"]
    report = world["report"]
    # merge a report into an incident
    response = client.post(reverse("console_merge", args=[report.pk]), {"incident": first.pk})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.incident_id == first.pk and report.status == ReportStatus.TRIAGED
    # split it out again
    response = client.post(reverse("console_split", args=[report.pk]))
    assert response.status_code == 302
    report.refresh_from_db()
    split = report.incident
    assert split.pk != first.pk
    # merge the split incident back into the first one
    response = client.post(reverse("console_incident_merge", args=[split.pk]), {"target": first.pk})
    assert response["Location"] == reverse("console_incident", args=[first.pk])
    split.refresh_from_db()
    report.refresh_from_db()
    assert split.status == Incident.Status.CLOSED and report.incident_id == first.pk
    first_kinds = list(first.events.values_list("kind", flat=True))
    assert first_kinds == ["opened", "triaged", "report_merged", "report_split", "incident_merged"]
    assert list(split.events.values_list("kind", flat=True)) == ["opened", "merged_into"]
    page = client.get(reverse("console_incident", args=[first.pk])).content.decode()
    for text in ("merged in", "split out into incident", "merged into this one"):
        assert text in page
    assert "dispatcher" in page  # the actor of each step


@pytest.mark.django_db
def test_ban_source_refuses_the_next_report_from_it(personas, login):
    raw = "203.0.113.9"  # what the public form hashes (never stored)
    report = file_report(source=services.check_source(raw, bucket="test-web"))
    client = login(personas.coordinator)
    response = client.post(reverse("console_ban", args=[report.pk]), {"reason": "flooding"})
    assert response.status_code == 302
    with pytest.raises(services.Banned):
        services.check_source(raw, bucket="test-web")


# --- edit lock -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_edit_lock_blocks_a_second_dispatcher_and_a_coordinator_can_break_it(
    world, personas, login, client
):
    incident = world["incident"]
    second = make_member(
        "dispatcher2", org=personas.org_a, roles=(Role.DISPATCHER,), tier=Tier.TRAINED
    )
    lock_url = reverse("console_lock", args=[incident.pk])
    login(personas.dispatcher)
    assert client.post(lock_url, {"action": "take"}).status_code == 302
    incident.refresh_from_db()
    assert incident.lock_holder == personas.dispatcher

    login(second)
    response = client.post(lock_url, {"action": "take"}, **HX)
    assert response.status_code == 409
    assert b"Being edited by dispatcher until" in response.content
    page = client.get(reverse("console_incident", args=[incident.pk])).content.decode()
    assert "Being edited by dispatcher until" in page
    # Changes by the second dispatcher are refused while the lock holds.
    merge = client.post(
        reverse("console_merge", args=[world["report"].pk]), {"incident": incident.pk}
    )
    assert merge.status_code == 302
    world["report"].refresh_from_db()
    assert world["report"].incident_id is None
    assert client.post(lock_url, {"action": "break"}).status_code == 403  # not a coordinator
    close = client.post(reverse("console_close", args=[incident.pk]), **HX)
    assert close.status_code == 409
    incident.refresh_from_db()
    assert incident.status != Incident.Status.CLOSED

    login(personas.coordinator)
    assert client.post(lock_url, {"action": "break"}).status_code == 302
    incident.refresh_from_db()
    assert incident.lock_holder_id is None
    assert incident.events.filter(kind="lock_broken", actor=personas.coordinator).exists()

    login(second)
    assert client.post(lock_url, {"action": "take"}).status_code == 302
    incident.refresh_from_db()
    assert incident.lock_holder == second


@pytest.mark.django_db
def test_lock_holder_can_renew_and_release(world, personas, login):
    incident = world["incident"]
    client = login(personas.dispatcher)
    lock_url = reverse("console_lock", args=[incident.pk])
    client.post(lock_url, {"action": "take"})
    incident.refresh_from_db()
    first_until = incident.lock_until
    response = client.post(lock_url, {"action": "take"}, **HX)
    assert response.status_code == 200 and b"Renew for 5 minutes" in response.content
    incident.refresh_from_db()
    assert incident.lock_until >= first_until
    client.post(lock_url, {"action": "release"})
    incident.refresh_from_db()
    assert incident.lock_holder_id is None


# --- dispatching a verifier --------------------------------------------------------------------------


@pytest.mark.django_db
def test_dispatching_a_verifier_sends_a_signed_link_by_sms(world, personas, login):
    registry.reset()
    incident = world["incident"]
    services.duty_start(member=personas.verifier, role="verifier", hours=2, lat=34.06, lng=-118.25)
    client = login(personas.dispatcher)
    page = client.get(reverse("console_incident", args=[incident.pk])).content.decode()
    assert "verifier · 1.1 km" in page  # ranked by distance, shown in km
    response = client.post(
        reverse("console_dispatch", args=[incident.pk]), {"verifiers": [personas.verifier.pk]}
    )
    assert response.status_code == 302
    vr = VerificationRequest.objects.get(incident=incident)
    assert vr.verifier == personas.verifier and vr.status == VerificationRequest.Status.SENT
    incident.refresh_from_db()
    assert incident.status == Incident.Status.VERIFYING
    delivery = Delivery.objects.get(ref_type="verification", ref_id=vr.pk)
    assert delivery.channel == "sms" and "/v/" in delivery.body
    token = delivery.body.split("/v/")[1].split("/")[0]
    assert services.load_signed_request(token) == vr
    messaging.dispatch()
    outbox = OutboxMessage.objects.get(idempotency_key=delivery.idempotency_key)
    assert outbox.address == "+12135550104" and f"/v/{token}/" in outbox.body
    # The console shows who was asked, live.
    live = client.get(reverse("console_incident_live", args=[incident.pk])).content.decode()
    assert "verifier" in live and "Asked" in live


@pytest.mark.django_db
def test_dispatch_refuses_a_verifier_who_is_not_on_duty(world, personas, login):
    client = login(personas.dispatcher)
    response = client.post(
        reverse("console_dispatch", args=[world["incident"].pk]),
        {"verifiers": [personas.verifier.pk]},
        **HX,
    )
    assert response.status_code == 400 and b"no longer on duty" in response.content
    assert not VerificationRequest.objects.exists()


@pytest.mark.django_db
def test_confirmed_incident_shows_ready_for_alert(world, personas, login):
    incident = world["incident"]
    vr = VerificationRequest.objects.create(incident=incident, verifier=personas.verifier)
    services.verification_outcome(request=vr, outcome=Incident.Status.CONFIRMED, notes="6 agents")
    client = login(personas.dispatcher)
    page = client.get(reverse("console_incident", args=[incident.pk])).content.decode()
    assert "Ready for alert" in page and "Confirmed" in page and "6 agents" in page
    assert "Verified by" in page
    queue = client.get(reverse("console_queue")).content.decode()
    assert "Ready for alert" in queue and "verified by verifier" in queue


# --- duty --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_duty_page_refuses_members_without_dispatcher_or_verifier_role(personas, login, client):
    response = client.get(reverse("duty"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    # Coordinators are not on shift as such: they hold no dispatcher or verifier role here.
    for persona in ("newcomer", "outsider", "coordinator", "coalition"):
        login(getattr(personas, persona))
        assert client.get(reverse("duty")).status_code == 403, persona
        assert (
            client.post(
                reverse("duty"), {"action": "start", "role": "verifier", "hours": 2}
            ).status_code
            == 403
        )
    assert not OnDuty.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("persona,role", [("dispatcher", "dispatcher"), ("verifier", "verifier")])
def test_going_on_and_off_duty(personas, login, persona, role):
    member = getattr(personas, persona)
    client = login(member)
    assert client.get(reverse("duty")).status_code == 200
    response = client.post(
        reverse("duty"),
        {"action": "start", "role": role, "hours": "4", "lat": "34.05", "lng": "-118.25"},
    )
    assert response.status_code == 302
    duty = OnDuty.objects.get(member=member, role=role)
    assert duty.lat == 34.05 and (duty.until - duty.started_at).total_seconds() > 3.9 * 3600
    page = client.get(reverse("duty")).content.decode()
    assert "On duty until" in page
    client.post(reverse("duty"), {"action": "end", "role": role})
    assert not OnDuty.objects.filter(member=member).exists()


@pytest.mark.django_db
def test_duty_rejects_a_role_the_member_does_not_hold_and_bad_coordinates(personas, login):
    client = login(personas.verifier)
    response = client.post(reverse("duty"), {"action": "start", "role": "dispatcher", "hours": 2})
    assert response.status_code == 200 and not OnDuty.objects.exists()
    response = client.post(
        reverse("duty"),
        {"action": "start", "role": "verifier", "hours": 2, "lat": "95", "lng": "10"},
    )
    assert response.status_code == 200 and b"could not be read" in response.content
    assert not OnDuty.objects.exists()


@pytest.mark.django_db
def test_the_nearest_verifier_on_duty_is_ticked_until_someone_was_asked(world, personas, login):
    """Outside walk, session 17: "send a verifier" opened the incident with nobody ticked, and
    "Send request" then answered "Tick at least one verifier"."""
    services.duty_start(member=personas.verifier, role="verifier", hours=2, lat=34.05, lng=-118.25)
    client = login(personas.dispatcher)
    url = reverse("console_incident", args=[world["incident"].pk])
    page = client.get(url).content.decode()
    box = re.search(rf'<input[^>]*name="verifiers"[^>]*value="{personas.verifier.pk}"[^>]*>', page)
    assert box is not None and "checked" in box.group(0)
    client.post(
        reverse("console_dispatch", args=[world["incident"].pk]),
        {"verifiers": [personas.verifier.pk]},
    )
    assert VerificationRequest.objects.filter(verifier=personas.verifier).exists()
    # Asked: no longer offered, so nothing is ticked for a second request.
    boxes = re.findall(r'<input[^>]*name="verifiers"[^>]*>', client.get(url).content.decode())
    assert not any("checked" in b for b in boxes)
