"""The dispatcher console's queue, read for the page: three lanes of new reports with their
media, merge suggestions and labels, the open incidents with their counts. A selector module:
it only reads, in a fixed number of queries however long the queue."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from vecinos.core import geo
from vecinos.reports import selectors
from vecinos.reports.models import (
    Activity,
    Agency,
    Attachment,
    Incident,
    IntakeChannel,
    OnDuty,
    Report,
    VerificationRequest,
)

QUEUE_LIMIT = 100
TRUSTED_LIMIT = 100
FLOOD_LIMIT = 50
INCIDENT_LIMIT = 100
SUGGESTIONS_PER_REPORT = 3


def _media_summary(report_ids: list[int]) -> tuple[dict[int, int], dict[int, int | None]]:
    """Photo counts, and each report's hotline recording (its id once stored, None while it is
    still at Twilio), in one query."""
    photos: dict[int, int] = {}
    recordings_by_report: dict[int, int | None] = {}
    if not report_ids:
        return photos, recordings_by_report
    rows = Attachment.objects.filter(report_id__in=report_ids).values_list(
        "report_id", "kind", "pk", "path"
    )
    for report_id, kind, pk, path in rows:
        if kind == Attachment.Kind.RECORDING:
            if path or report_id not in recordings_by_report:
                recordings_by_report[report_id] = pk if path else None
        else:
            photos[report_id] = photos.get(report_id, 0) + 1
    return photos, recordings_by_report


def _merge_suggestions(reports: list[Report]) -> dict[int, list[tuple[Incident, float]]]:
    """selectors.merge_distance for many reports in one query: the candidates of every report
    are read at once (one box and one time span around them all), then each pair is put to
    the merge rule."""
    located = [r for r in reports if r.lat is not None and r.lng is not None]
    if not located:
        return {}
    boxes = [geo.bounding_box(r.lat, r.lng, selectors.MERGE_RADIUS_M) for r in located]
    whens = [selectors.merge_time(r) for r in located]
    candidates = list(
        Incident.objects.filter(
            lat__gte=min(b[0] for b in boxes),
            lat__lte=max(b[1] for b in boxes),
            lng__gte=min(b[2] for b in boxes),
            lng__lte=max(b[3] for b in boxes),
            created_at__gte=min(whens) - selectors.MERGE_WINDOW,
            created_at__lte=max(whens) + selectors.MERGE_WINDOW,
        )
        .exclude(status=Incident.Status.CLOSED)
        .only("id", "lat", "lng", "created_at", "activity", "status")
        .order_by("-created_at", "-id")[:500]
    )
    out: dict[int, list[tuple[Incident, float]]] = {}
    for report in located:
        close = []
        for incident in candidates:
            metres = selectors.merge_distance(report, incident)
            if metres is not None:
                close.append((incident, metres))
        if close:
            close.sort(key=lambda pair: pair[1])
            out[report.pk] = close[:SUGGESTIONS_PER_REPORT]
    return out


def _incident_summaries(incident_ids: list[int]) -> tuple[dict[int, int], dict[int, Counter]]:
    if not incident_ids:
        return {}, {}
    report_counts = dict(
        Report.objects.filter(incident_id__in=incident_ids)
        .values("incident_id")
        .annotate(n=Count("id"))
        .values_list("incident_id", "n")
    )
    requests: dict[int, Counter] = defaultdict(Counter)
    for incident_id, status, n in (
        VerificationRequest.objects.filter(incident_id__in=incident_ids)
        .values("incident_id", "status")
        .annotate(n=Count("id"))
        .values_list("incident_id", "status", "n")
    ):
        requests[incident_id][status] = n
    return report_counts, requests


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices.choices}


def _flood_label(group: str) -> str:
    kind, _sep, ref = group.partition(":")
    if kind == "source":
        return _("Same source (%(ref)s)") % {"ref": ref}
    if kind == "area":
        return _("Same small area (%(ref)s)") % {"ref": ref}
    return group


def console_queue(page: int = 1) -> dict[str, Any]:
    """Everything the console's queue fragment shows, in a fixed number of queries."""
    # Three lanes: trusted reports (vouched members, patrols) that no anonymous burst can push
    # away, the other new reports paged by QUEUE_LIMIT with their total, and flood groups.
    counts = selectors.queue_counts()
    pages = max(1, -(-counts["open"] // QUEUE_LIMIT))
    page = min(page, pages)
    offset = (page - 1) * QUEUE_LIMIT
    trusted: list[Any] = list(selectors.queue_reports(TRUSTED_LIMIT, flood=False, trusted=True))
    # Rows get display attributes (labels, counts, suggestions) for the template below.
    reports: list[Any] = list(
        selectors.queue_reports(QUEUE_LIMIT, flood=False, trusted=False, offset=offset)
    )
    flood: list[Any] = list(selectors.queue_reports(FLOOD_LIMIT, flood=True))
    flood_total = counts["flood"]
    photos, voice = _media_summary([r.pk for r in trusted + reports + flood])
    suggestions = _merge_suggestions(trusted + reports + flood)
    # Labels looked up once per request: get_FOO_display() rebuilds its choices dict per call,
    # a fifth of the fragment's render time with 150 rows.
    activity, agency = _labels(Activity), _labels(Agency)
    channel, status = _labels(IntakeChannel), _labels(Incident.Status)
    for report in trusted + reports + flood:
        report.photo_count = photos.get(report.pk, 0)
        report.has_recording = report.pk in voice
        report.recording_id = voice.get(report.pk)
        report.suggestions = suggestions.get(report.pk, [])
        report.activity_label = activity.get(report.activity, "")
        report.agency_label = agency.get(report.agency, report.agency)
        report.channel_label = channel.get(report.channel, report.channel)
    groups: dict[str, list[Report]] = defaultdict(list)
    for report in flood:
        groups[report.flood_group].append(report)
    flood_groups = [(_flood_label(key), members) for key, members in sorted(groups.items())]
    incidents: list[Any] = list(selectors.open_incidents(INCIDENT_LIMIT))
    report_counts, request_counts = _incident_summaries([i.pk for i in incidents])
    now = timezone.now()
    for incident in incidents:
        incident.activity_label = activity.get(incident.activity, "")
        incident.agency_label = agency.get(incident.agency, incident.agency)
        incident.status_label = status.get(incident.status, incident.status)
        incident.report_count = report_counts.get(incident.pk, 0)
        asked = request_counts.get(incident.pk, Counter())  # not "counts": the queue's totals
        incident.going = asked.get(VerificationRequest.Status.ACCEPTED, 0)
        incident.asked = asked.get(VerificationRequest.Status.SENT, 0)
        incident.locked = bool(
            incident.lock_holder_id and incident.lock_until and incident.lock_until > now
        )
    verifiers_on_duty = OnDuty.objects.filter(role="verifier", until__gt=now).count()
    return {
        "trusted_reports": trusted,
        "trusted_total": counts["trusted"],
        "reports": reports,
        "reports_total": counts["open"],
        "first_shown": offset + 1,
        "last_shown": offset + len(reports),
        "page": page,
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if page < pages else None,
        "surge": selectors.anonymous_surge(),
        "flood_groups": flood_groups,
        "flood_total": flood_total,
        "flood_shown": len(flood),
        "incidents": incidents,
        "verifiers_on_duty": verifiers_on_duty,
    }


def incident_merge_targets(incident: Incident) -> list[tuple[Incident, float | None]]:
    """The open incidents this one may be merged into, each with its distance in metres (None
    when either has no position): nearest first, then those without a distance, newest first."""
    rows: list[tuple[bool, float, int, Incident, float | None]] = []
    for other in selectors.open_incidents(INCIDENT_LIMIT):
        if other.pk == incident.pk:
            continue
        metres = None
        if None not in (incident.lat, incident.lng, other.lat, other.lng):
            metres = geo.haversine_m(incident.lat, incident.lng, other.lat, other.lng)  # type: ignore[arg-type]
        rows.append((metres is None, metres or 0, -other.pk, other, metres))
    rows.sort(key=lambda row: row[:3])
    return [(other, metres) for *_order, other, metres in rows]
