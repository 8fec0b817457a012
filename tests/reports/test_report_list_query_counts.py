"""Pinned query counts on the reports pages that list rows and are not pinned elsewhere: a
verifier's "My requests", the duty page, the verifier's signed-link page (the incident's reports
and photos) and the incident page's live fragment. Each asks the database as often with N rows as
with 3N (tests/querycount.py). The console and its queue are pinned in test_console and
tests/core/test_query_counts.py, the rumor page in test_rumors."""

from __future__ import annotations

import itertools
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import make_member, sign_in
from tests.querycount import assert_flat
from tests.reports.test_console import file_report
from vecinos.network.models import Role, Tier
from vecinos.reports import services
from vecinos.reports.models import Triage
from vecinos.transports import registry

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def _incident(personas, place: str):
    report = file_report(place_text=place, lat=34.05 + next(_seq) / 100)
    return services.report_triage(
        report=report, tier=Triage.VERIFY, actor=personas.dispatcher
    ).incident


def test_my_requests(personas):
    client = sign_in(Client(), personas.verifier)
    services.duty_start(member=personas.verifier, role="verifier", hours=2, lat=34.06, lng=-118.25)

    def build(n: int) -> tuple[str, str]:
        incident = None
        for _ in range(n):
            incident = _incident(personas, f"QC corner {next(_seq)}")
            services.verifiers_request(
                incident=incident, verifiers=[personas.verifier], actor=personas.dispatcher
            )
        assert incident is not None
        return reverse("my_requests"), f"Incident #{incident.pk}"

    assert_flat(client, build)


def test_duty_page_does_not_grow_with_others_on_duty(personas):
    # The page lists the viewer's own duty rows: others going on duty must cost nothing.
    both = make_member(
        "qc.both", org=personas.org_a, roles=(Role.DISPATCHER, Role.VERIFIER), tier=Tier.TRAINED
    )
    services.duty_start(member=both, role="verifier", hours=2, lat=34.06, lng=-118.25)
    client = sign_in(Client(), both)

    def build(n: int) -> tuple[str, str]:
        for _ in range(n):
            k = next(_seq)
            other = make_member(
                f"qcduty{k}", org=personas.org_a, roles=(Role.VERIFIER,), tier=Tier.TRAINED
            )
            services.duty_start(member=other, role="verifier", hours=2, lat=34.06, lng=-118.25)
        return reverse("duty"), 'value="end"'

    assert_flat(client, build)


def test_verifier_link_page_lists_the_incidents_reports(personas):
    services.duty_start(member=personas.verifier, role="verifier", hours=2, lat=34.06, lng=-118.25)
    incident = _incident(personas, "QC first sighting")
    (vr,) = services.verifiers_request(
        incident=incident, verifiers=[personas.verifier], actor=personas.dispatcher
    )
    token = urlparse(services.signed_request_link(vr)).path.split("/")[2]
    phone = Client()  # the verifier's phone: nobody signed in

    def build(n: int) -> tuple[str, str]:
        place = ""
        for _ in range(n):
            place = f"QC same corner {next(_seq)}"
            report = file_report(place_text=place, photos=1, lat=34.0501, lng=-118.2501)
            services.report_merge(report=report, incident=incident, actor=personas.dispatcher)
        return reverse("verify_request", args=[token]), place

    assert_flat(phone, build)


def test_incident_live_fragment(personas):
    # The timeline (one event per merge) and the verifiers asked, each with a name.
    client = sign_in(Client(), personas.dispatcher)
    incident = _incident(personas, "QC first sighting")

    def build(n: int) -> tuple[str, str]:
        name = ""
        for _ in range(n):
            k = next(_seq)
            report = file_report(place_text=f"QC corner {k}", lat=34.0501, lng=-118.2501)
            services.report_merge(report=report, incident=incident, actor=personas.dispatcher)
            name = f"qcver{k}"
            verifier = make_member(
                name,
                org=personas.org_a,
                roles=(Role.VERIFIER,),
                tier=Tier.TRAINED,
                phone=f"+1213559{k:04d}",
            )
            services.duty_start(member=verifier, role="verifier", hours=2, lat=34.06, lng=-118.25)
            services.verifiers_request(
                incident=incident, verifiers=[verifier], actor=personas.dispatcher
            )
        return reverse("console_incident_live", args=[incident.pk]), name

    assert_flat(client, build, HTTP_HX_REQUEST="true")


def test_api_incident_timeline(personas):
    from vecinos.network.services import token_create

    secret = token_create(member=personas.dispatcher, name="qc", valid_days=30).secret
    incident = _incident(personas, "QC first sighting")

    def build(n: int) -> tuple[str, str]:
        for _ in range(n):
            report = file_report(place_text=f"QC corner {next(_seq)}", lat=34.0501, lng=-118.2501)
            services.report_merge(report=report, incident=incident, actor=personas.dispatcher)
        count = incident.reports.count()
        return f"/api/v1/incidents/{incident.pk}", f'"report_count": {count}'

    assert_flat(Client(), build, HTTP_AUTHORIZATION=f"Bearer {secret}")
