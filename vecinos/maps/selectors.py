"""Reads for the maps: what the public may see, and what the console map shows.

The public map reuses the rumor check's rule for what is public
(``reports.selectors.public_rumors``: confirmed sightings and false alarms only) and makes it
coarser still: a place is an H3 resolution-7 cell (about 5 km²) or the coalition's zone, a time
is an hour, and nothing appears before ``PUBLIC_MAP_DELAY_MINUTES`` have passed since it was
checked. Never an address, a report that was not verified, a verifier or a patrol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import h3
from django.conf import settings
from django.utils import timezone

from vecinos.alerts.models import TIER_ORDER, Alert
from vecinos.alerts.services import select_recipients
from vecinos.mobilize import selectors as mobilize
from vecinos.network.models import Member, Zone
from vecinos.patrols import selectors as patrols
from vecinos.reports import selectors as reports
from vecinos.reports.models import Activity, Agency, Incident

PUBLIC_MAX_DAYS = 366
PUBLIC_LIMIT = 2000


@dataclass(frozen=True)
class PublicFilter:
    since: date
    until: date
    outcome: str = ""  # "" | confirmed | false_alarm
    activity: str = ""  # "" | an Activity value


def default_filter() -> PublicFilter:
    today = timezone.localdate()
    return PublicFilter(since=today - timedelta(days=6), until=today)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def public_delay() -> timedelta:
    return timedelta(minutes=max(60, settings.PUBLIC_MAP_DELAY_MINUTES))


def _hour(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return timezone.localtime(dt).replace(minute=0, second=0, microsecond=0)


def _coarse_cell(cell7: str) -> str:
    """The resolution-7 cell, whatever resolution was stored (never finer)."""
    if not cell7 or not h3.is_valid_cell(cell7):
        return ""
    res = h3.get_resolution(cell7)
    return h3.cell_to_parent(cell7, 7) if res > 7 else cell7


def public_points(flt: PublicFilter) -> list[dict]:
    """Checked outcomes for the public map, coarse and delayed, newest first."""
    now = timezone.now()
    start = _local_midnight(flt.since)
    end = min(_local_midnight(flt.until + timedelta(days=1)), now - public_delay())
    days = max(1, (now - start).days + 1)
    qs = reports.public_rumors(days=days).filter(verified_at__gte=start, verified_at__lt=end)
    if flt.outcome:
        qs = qs.filter(outcome=flt.outcome)
    if flt.activity:
        qs = qs.filter(activity=flt.activity)
    activities = {v: str(label) for v, label in Activity.choices}
    agencies = {v: str(label) for v, label in Agency.choices}
    rows = list(qs[:PUBLIC_LIMIT])
    # One query for the zones' centres (the rumor selector loads only their names).
    centres = {
        pk: (lat, lng)
        for pk, lat, lng in Zone.objects.filter(
            pk__in={r.zone_id for r in rows if r.zone_id}
        ).values_list("pk", "center_lat", "center_lng")
    }
    out = []
    for incident in rows:
        zone = incident.zone if incident.zone_id in centres else None
        cell = _coarse_cell(incident.cell7)
        if zone is not None:
            lat, lng = (round(v, 3) for v in centres[zone.pk])
            ring: list[list[float]] = []
            place = zone.name
        elif cell:
            lat, lng = (round(v, 3) for v in h3.cell_to_latlng(cell))
            ring = [[round(a, 5), round(b, 5)] for a, b in h3.cell_to_boundary(cell)]
            place = ""
        else:
            continue  # no place at all: nothing to put on a map (the rumor page lists it)
        hour = _hour(incident.created_at)
        out.append(
            {
                "outcome": incident.outcome,
                "confirmed": incident.outcome == Incident.Status.CONFIRMED,
                "activity": incident.activity,
                "activity_label": activities.get(incident.activity, ""),
                "agency_label": agencies.get(incident.agency, ""),
                "zone": place,
                "cell": cell if zone is None else "",
                "lat": lat,
                "lng": lng,
                "ring": ring,
                "hour": hour,
                "checked": _hour(incident.verified_at),
            }
        )
    return out


# --- the console map ----------------------------------------------------------------------------

CONSOLE_REPORTS = 100
CONSOLE_FLOOD = 50
CONSOLE_INCIDENTS = 100


def console_map(viewer: Member) -> dict:
    """What the dispatcher console's map shows: the same rows as the queue (new reports, open
    incidents), verifiers on duty who gave a location, patrol places with people checked in, and
    the staging points of the open call-outs this viewer may see (mobilize's own rule).
    A fixed number of queries, however busy the queue."""
    statuses = {v: str(label) for v, label in Incident.Status.choices}
    activities = {v: str(label) for v, label in Activity.choices}
    reports_out = []
    for flood in (False, True):
        limit = CONSOLE_FLOOD if flood else CONSOLE_REPORTS
        for r in reports.queue_reports(limit, flood=flood):
            if r.lat is None or r.lng is None:
                continue
            reports_out.append(
                {
                    "id": r.pk,
                    "receipt": r.receipt,
                    "lat": r.lat,
                    "lng": r.lng,
                    "activity": activities.get(r.activity, ""),
                    "at": timezone.localtime(r.created_at).strftime("%H:%M"),
                    "flood": bool(r.flood_group),
                    "incident": r.incident_id,
                }
            )
    incidents_out = [
        {
            "id": i.pk,
            "lat": i.lat,
            "lng": i.lng,
            "status": i.status,
            "status_label": statuses.get(i.status, i.status),
            "activity": activities.get(i.activity, ""),
            "at": timezone.localtime(i.created_at).strftime("%H:%M"),
        }
        for i in reports.open_incidents(CONSOLE_INCIDENTS)
        if i.lat is not None and i.lng is not None
    ]
    verifiers = [
        {"id": pk, "name": name, "lat": lat, "lng": lng}
        for pk, name, lat, lng in reports.verifiers_on_duty_located()
    ]
    patrols_out = [
        {"id": pk, "name": name, "lat": lat, "lng": lng, "people": n}
        for pk, name, lat, lng, n in patrols.checked_in_now()
    ]
    return {
        "reports": reports_out,
        "incidents": incidents_out,
        "verifiers": verifiers,
        "patrols": patrols_out,
        "callouts": mobilize.open_staging_points(viewer),
    }


# --- the alert composer's live count -------------------------------------------------------------


def reach(
    *,
    tiers: list[str],
    zones: list | None = None,
    point: tuple[float, float] | None = None,
    radius_m: int | None = None,
    polygon: list[list[float]] | None = None,
) -> dict:
    """Who an alert drawn this way would reach now, by tier and by language.

    Runs the fan-out's own selection (``alerts.services.select_recipients``: tiers, areas,
    opt-outs, the hourly throttle) on an unsaved draft, so the count is what sending would do.
    """
    draft = Alert(
        kind=Alert.Kind.SIGHTING,
        tiers=[t for t in TIER_ORDER if t in tiers],
        lat=point[0] if point else None,
        lng=point[1] if point else None,
        radius_m=radius_m if point else None,
        polygon=polygon or [],
    )
    targets = select_recipients(draft, zones=list(zones or []))
    by_tier: dict[str, int] = {}
    by_language: dict[str, int] = {}
    for target in targets:
        by_tier[target.tier] = by_tier.get(target.tier, 0) + 1
        by_language[target.language] = by_language.get(target.language, 0) + 1
    return {"total": len(targets), "by_tier": by_tier, "by_language": by_language}
