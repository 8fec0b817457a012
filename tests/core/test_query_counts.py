"""Every staff list page runs a number of queries that does not grow with its rows.

HOUSE_STYLE habit 10: during a surge a dispatcher or coordinator opens these pages with hundreds
of rows; an N+1 there costs seconds per page. Each case builds N rows, counts the page's queries,
builds 3N more and counts again: the two counts must be equal (and the newest row must show, so
the builder really fed the page). Pages pinned elsewhere are not repeated here: the console queue
(test_console), the roster (test_network_pages), coverage (test_patrol_coord), the shift finder
(test_patrol_pages), alert progress (test_alert_pages), and each app's other list pages in
tests/<app>/test_*_list_query_counts.py (through tests/querycount.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import Personas, make_member, sign_in
from vecinos.alerts import services as alert_services
from vecinos.alerts.models import Alert, AlertRecipient, Tier
from vecinos.core import geo
from vecinos.core.audit import audit
from vecinos.mobilize import events
from vecinos.mobilize import services as mobilize_services
from vecinos.network.models import Organization, Role, Zone
from vecinos.network.models import Tier as Vetting
from vecinos.onboarding.models import ImportJob
from vecinos.patrols.models import Holiday, PatrolLogEntry, Place, Shift, Signup
from vecinos.reports import services as report_services
from vecinos.reports.models import Triage
from vecinos.rights import services as rights_services
from vecinos.rights.models import Article, Topic
from vecinos.transports import registry
from vecinos.transports.models import OutboxMessage

N = 2
_seq = itertools.count(1)
BOYLE = (34.0412, -118.2135)


@pytest.fixture(autouse=True)
def _console_transports():
    # Messages sent while building go to the console transport (the outbox), never a provider.
    registry.reset()
    yield
    registry.reset()


@dataclass
class Ctx:
    personas: Personas
    extra: dict


# --- builders: each adds n rows the page lists, and returns a text the newest row shows ---------


def build_reports(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        last = f"QC corner {k}"
        data = report_services.ReportInput(
            channel="web",
            activity="street",
            agency="ice",
            agents_count=3,
            lat=34.0 + k * 0.02,
            lng=-118.3,
            place_text=last,
        )
        report = report_services.report_submit(data=data, source_key_value=f"qcsrc{k:08d}")
        anchor = report_services.report_submit(
            data=report_services.ReportInput(
                channel="web",
                activity="street",
                agency="ice",
                agents_count=2,
                lat=34.0 + k * 0.02 + 0.001,
                lng=-118.3,
                place_text=f"QC anchor {k}",
            ),
            source_key_value=f"qcanc{k:08d}",
        )
        report_services.report_triage(
            report=anchor, tier=Triage.VERIFY, actor=ctx.personas.dispatcher
        )
        assert report.pk
    return last


def build_alerts(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        alert = alert_services.alert_create(
            actor=ctx.personas.dispatcher,
            kind=Alert.Kind.ACTIVATION,
            tiers=[Tier.INTERNAL],
            messages={"es": "Activación de prueba.", "en": "Test activation."},
        )
        last = f"Alert #{alert.pk}<"
    return last


def build_outbox(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        last = f"QC outbox {k}"
        OutboxMessage.objects.create(
            channel="sms",
            address=f"+1213555{k:04d}",
            body=last,
            provider_id=f"qc-{k}",
            idempotency_key=f"qc-{k}",
        )
    return last


def build_orgs(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        last = f"QC Org {k}"
        org = Organization.objects.create(name=last, short_name=f"qc-org-{k}")
        make_member(f"qcorg{k}", org=org, roles=(Role.ORG_COORDINATOR, Role.PATROL))
    return last


def build_audit(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        member = make_member(f"qcaudit{k}", org=ctx.personas.org_a, roles=(Role.PATROL,))
        last = f"qc.action{k}"
        audit(last, actor=member, target=member, organization_id=ctx.personas.org_a.pk)
    return last


def build_zones(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        last = f"QC Zone {k}"
        Zone.objects.create(
            name=last,
            slug=f"qc-zone-{k}",
            kind="neighborhood",
            organization=ctx.personas.org_a,
            cells=geo.circle_cells(BOYLE[0] + k * 0.01, BOYLE[1], 300),
            center_lat=BOYLE[0] + k * 0.01,
            center_lng=BOYLE[1],
        )
    return last


def build_callouts(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        for j in range(2):
            member = make_member(
                f"qcresp{k}x{j}",
                org=ctx.personas.org_a,
                roles=(Role.RESPONDER,),
                tier=Vetting.VOUCHED,
                phone=f"+1213556{k:02d}{j:02d}",
            )
            alert_services.ensure_member_subscriber(member)
        last = f"QC staging point {k}"
        activation = mobilize_services.activation_create(
            actor=ctx.personas.dispatcher,
            staging_point=last,
            needed_by=timezone.now() + timedelta(minutes=30),
            roles={"observer": 2, "presence": 3},
            tiers=[Tier.RESPONDERS],
        )
        mobilize_services.activation_send(activation=activation, actor=ctx.personas.dispatcher)
        last = f">{activation.code}<"
    return last


def _event(ctx: Ctx, title: str):
    start = timezone.now() + timedelta(days=3)
    return events.event_create(
        actor=ctx.personas.coordinator,
        organization=ctx.personas.org_a,
        kind="rally",
        titles={"en": title, "es": title},
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="City Hall steps",
    )


def build_events(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        last = f"QC rally {next(_seq)}"
        event = _event(ctx, last)
        events.rsvp_create(event=event, nickname="Ana", phone=f"+1213557{next(_seq):04d}")
    return last


def build_rsvps(ctx: Ctx, n: int) -> str:
    event = ctx.extra.setdefault("event", _event(ctx, "QC one event"))
    last = ""
    for _ in range(n):
        k = next(_seq)
        last = f"Vecina{k}"
        member = make_member(f"qcrsvp{k}", org=ctx.personas.org_a, roles=(Role.PATROL,))
        events.rsvp_create(event=event, nickname=last, phone=f"+1213558{k:04d}", member=member)
    return last


def build_imports(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        # The page lists the coordinator's own last ten jobs, each with its organization.
        org = Organization.objects.create(name=f"QC Import Org {k}", short_name=f"qc-imp-{k}")
        job = ImportJob.objects.create(
            organization=org,
            kind=ImportJob.Kind.SUBSCRIBERS,
            created_by=ctx.personas.coordinator,
            rows_total=k,
            status=ImportJob.Status.DONE,
        )
        last = reverse("import_job", args=[job.pk])
    return last


def _place(ctx: Ctx, k: int) -> Place:
    return Place.objects.create(
        name=f"QC School {k}",
        kind="school",
        lat=34.0 + k / 1000,
        lng=-118.2,
        organization=ctx.personas.org_a,
    )


def build_places(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        place = _place(ctx, k)
        start = timezone.make_aware(datetime.combine(timezone.localdate(), time(7)))
        shift = Shift.objects.create(
            place=place, starts_at=start + timedelta(days=1), ends_at=start + timedelta(days=1)
        )
        member = make_member(f"qcpl{k}", org=ctx.personas.org_a, roles=(Role.PATROL,))
        Signup.objects.create(shift=shift, member=member)
        last = place.name
    return last


def build_holidays(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        last = f"QC holiday {k}"
        Holiday.objects.create(
            date=date(2031, 1, 1) + timedelta(days=k),
            name=last,
            organization=ctx.personas.org_a,
        )
    return last


def build_patrol_logs(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        place = _place(ctx, k)
        start = timezone.now() - timedelta(hours=2)
        shift = Shift.objects.create(
            place=place, starts_at=start, ends_at=start + timedelta(hours=1)
        )
        author = make_member(f"qclog{k}", org=ctx.personas.org_a, roles=(Role.PATROL,))
        last = f"QC all quiet {k}"
        PatrolLogEntry.objects.create(shift=shift, author=author, text=last)
    return last


def _report(k: int, place: str, lat: float = 34.05, lng: float = -118.25):
    data = report_services.ReportInput(
        channel="web",
        activity="street",
        agency="ice",
        agents_count=2,
        lat=lat,
        lng=lng,
        place_text=place,
    )
    return report_services.report_submit(data=data, source_key_value=f"qcinc{k:08d}")


def build_incident_reports(ctx: Ctx, n: int) -> str:
    if "incident" not in ctx.extra:
        anchor = _report(next(_seq), "QC first sighting")
        ctx.extra["incident"] = report_services.report_triage(
            report=anchor, tier=Triage.VERIFY, actor=ctx.personas.dispatcher
        ).incident
    last = ""
    for _ in range(n):
        k = next(_seq)
        last = f"QC same corner {k}"
        report_services.report_merge(
            report=_report(k, last, lng=-118.25 + k * 0.0001),
            incident=ctx.extra["incident"],
            actor=ctx.personas.dispatcher,
        )
    return last


def build_captain_calls(ctx: Ctx, n: int) -> str:
    captain = ctx.extra.get("captain")
    if captain is None:
        captain = ctx.extra["captain"] = make_member(
            "qc.captain", org=ctx.personas.org_a, roles=(Role.CAPTAIN,), tier=Vetting.VOUCHED
        )
    last = ""
    for _ in range(n):
        k = next(_seq)
        member = make_member(
            f"qccall{k}",
            org=ctx.personas.org_a,
            roles=(Role.RESPONDER,),
            tier=Vetting.VOUCHED,
            phone=f"+1323559{k:04d}",
        )
        alert_services.ensure_member_subscriber(member)
        alert = alert_services.alert_create(
            actor=ctx.personas.dispatcher,
            kind="activation",
            tiers=[Tier.RESPONDERS],
            messages={"es": "Vayan a observar.", "en": "Go observe."},
        )
        alert = alert_services.alert_send(alert=alert, actor=ctx.personas.dispatcher)
        AlertRecipient.objects.filter(alert=alert, subscriber__member=member).update(
            captain=captain, captain_status=AlertRecipient.CaptainStatus.PENDING
        )
        last = member.full_name
    return last


def build_rights_articles(ctx: Ctx, n: int) -> str:
    last = ""
    for _ in range(n):
        k = next(_seq)
        article = Article.objects.create(slug=f"qc-article-{k}", topic=Topic.values[0])
        for language, word in (("en", "Right"), ("es", "Derecho")):
            rights_services.version_create(
                article=article,
                language=language,
                title=f"QC {word} {k}",
                summary="A summary.",
                body="A body.",
                actor=ctx.personas.coordinator,
            )
        last = f"QC Right {k}"
    return last


@dataclass(frozen=True)
class Page:
    persona: str
    url: Callable[[Ctx], str]
    build: Callable[[Ctx, int], str]


def _url(name: str, *args) -> Callable[[Ctx], str]:
    return lambda ctx: reverse(name, args=args)


def _incident_url(ctx: Ctx) -> str:
    return reverse("console_incident", args=[ctx.extra["incident"].pk])


def _event_url(ctx: Ctx) -> str:
    return reverse("event_door", args=[ctx.extra["event"].pk])


PAGES: dict[str, Page] = {
    "console": Page("dispatcher", _url("console"), build_reports),
    "console_incident": Page("dispatcher", _incident_url, build_incident_reports),
    "captain_calls": Page("captain", _url("captain"), build_captain_calls),
    # The library with its translation coverage table, as a coordinator sees it.
    "rights_library": Page("coordinator", lambda ctx: "/rights/?lang=en", build_rights_articles),
    "alerts": Page("dispatcher", _url("alerts"), build_alerts),
    "outbox": Page("coalition", _url("outbox"), build_outbox),
    "orgs": Page("coalition", _url("orgs"), build_orgs),
    "audit": Page("coalition", _url("audit_log"), build_audit),
    "zones": Page("coordinator", _url("zones"), build_zones),
    "zone_editor": Page("coalition", _url("zone_list"), build_zones),
    "callouts": Page("dispatcher", _url("mobilize"), build_callouts),
    "events": Page("coordinator", _url("events"), build_events),
    "event_door": Page("coordinator", _event_url, build_rsvps),
    "imports": Page("coordinator", _url("import_start"), build_imports),
    "patrol_places": Page("coordinator", _url("patrol_coord"), build_places),
    "patrol_holidays": Page("coordinator", _url("patrol_holidays"), build_holidays),
    "patrol_logs": Page("coordinator", _url("patrol_logs"), build_patrol_logs),
}


def _count(client: Client, url: str, shown: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    assert shown in response.content.decode(), f"{shown!r} not on {url}"
    return len(captured), [q["sql"][:160] for q in captured.captured_queries]


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(PAGES), ids=list(PAGES))
def test_staff_list_page_queries_do_not_grow_with_its_rows(page, personas):
    case = PAGES[page]
    ctx = Ctx(personas=personas, extra={})
    shown = case.build(ctx, N)
    client = sign_in(Client(), ctx.extra.get(case.persona) or getattr(personas, case.persona))
    url = case.url(ctx)
    client.get(url)  # warm per-process caches (zones, coalition) as a running server has them
    few, _ = _count(client, url, shown)
    shown = case.build(ctx, 3 * N)
    many, sql = _count(client, url, shown)
    assert many == few, "\n".join(sql)
