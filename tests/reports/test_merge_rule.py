"""One merge rule (reports.selectors.merge_distance): the console's suggestions and
merge_candidates ask it alike, so they never disagree about what counts as the same event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.reports.test_console import file_report
from vecinos.reports import queue, selectors, services
from vecinos.reports.models import Incident, Triage

pytestmark = pytest.mark.django_db


def _incident_at(lat, lng, actor) -> Incident:
    report = file_report(lat=lat, lng=lng)
    incident = services.report_triage(report=report, tier=Triage.VERIFY, actor=actor).incident
    assert incident is not None
    return incident


def test_console_suggestions_and_merge_candidates_follow_one_rule(personas):
    actor = personas.dispatcher
    near = _incident_at(34.0520, -118.2500, actor)  # ~220 m north
    far = _incident_at(34.0600, -118.2500, actor)  # ~1.1 km north
    old = _incident_at(34.0505, -118.2500, actor)
    Incident.objects.filter(pk=old.pk).update(
        created_at=old.created_at - selectors.MERGE_WINDOW - timedelta(minutes=5)
    )
    closed = _incident_at(34.0502, -118.2500, actor)
    Incident.objects.filter(pk=closed.pk).update(status=Incident.Status.CLOSED)
    report = file_report(lat=34.0500, lng=-118.2500)

    candidates = selectors.merge_candidates(report)
    assert [i.pk for i in candidates] == [near.pk]
    assert services.merge_candidates is selectors.merge_candidates
    for incident in Incident.objects.all():
        expected = incident.pk == near.pk
        assert (selectors.merge_distance(report, incident) is not None) is expected
    rows = {r.pk: r for r in queue.console_queue()["reports"]}
    assert [i.pk for i, _metres in rows[report.pk].suggestions] == [near.pk]
    assert far.pk not in {i.pk for i in candidates}
