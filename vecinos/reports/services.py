"""Intake, triage, merge, dispatch and verification: every write of the reports pipeline."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy

from vecinos.core import extensions, geo, metrics, ratelimit, text
from vecinos.core.audit import audit
from vecinos.core.crypto import blind_index
from vecinos.core.privacy import source_key
from vecinos.core.sql import PreparedInsert
from vecinos.network.models import Member, Tier, Zone
from vecinos.reports import selectors as report_selectors

# The pipeline's writes live in topic modules; every name stays importable from here.
from vecinos.reports.dispatch import (  # noqa: F401
    ALERT_EVENT_KINDS,
    ALERT_EVENTS,
    OUTCOMES,
    duty_end,
    duty_purge_expired,
    duty_start,
    incident_alerted,
    incident_close,
    load_signed_request,
    signed_request_link,
    verification_outcome,
    verification_request_text,
    verification_respond,
    verifiers_ranked,
    verifiers_request,
)
from vecinos.reports.errors import (  # noqa: F401
    Banned,
    LockedByOther,
    NotAllowed,
    RateLimited,
    ReportInvalid,
)
from vecinos.reports.locks import LOCK_MINUTES, lock_acquire, lock_break, lock_check, lock_release  # noqa: F401
from vecinos.reports.locks import add_event as _event
from vecinos.reports.media import (  # noqa: F401
    JPEG_MAX_PIXELS,
    MAX_PHOTO_BYTES,
    PHOTO_BUSY_WAIT_SECONDS,
    PHOTO_FORMATS,
    PHOTO_MAX_PIXELS,
    PHOTO_SIDE,
    MediaUnreadable,
    _store_media,
    clean_photo,
    photo_header,
    photo_too_large,
    probe_photo,
    read_media,
)
from vecinos.reports.models import (
    Attachment,
    BannedSource,
    Incident,
    Report,
    ReportStatus,
    SmsSession,
    Triage,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MAX_PHOTOS = 5
# How far back a sighting may be dated. Older is not news for a rapid-response queue, and the
# bound keeps absurd times (year 1 with a +14:00 offset) from overflowing on save.
SEEN_AT_MAX_AGE = timedelta(days=30)
# The merge rule lives with the reads (selectors.merge_distance); the names stay importable.
MERGE_RADIUS_M = report_selectors.MERGE_RADIUS_M
MERGE_WINDOW = report_selectors.MERGE_WINDOW
merge_candidates = report_selectors.merge_candidates


# --- Intake ------------------------------------------------------------------------------------


@dataclass
class ReportInput:
    channel: str
    language: str = "es"
    activity: str = ""
    agency: str = "unknown"
    agents_count: int | None = None
    vehicles_count: int | None = None
    lat: float | None = None
    lng: float | None = None
    place_text: str = ""
    seen_at: datetime | None = None
    equipment: str = ""
    description: str = ""
    reporter_contact: str = ""
    reporter_member: Member | None = None
    status: str = ReportStatus.NEW
    photos: list = field(default_factory=list)  # (bytes, filename) pairs


def new_receipt() -> str:
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def source_of(raw: str) -> str:
    """The rotating hash used for rate limits and flood grouping."""
    return source_key(raw or "unknown")


def precheck_source(raw: str, *, bucket: str, uploads: bool) -> None:
    """Before a submission is even parsed: a banned source, or one already over its limit, is
    refused before it costs anything. A submission carrying uploads (photos: decoding them is
    the costly part) counts at once, in a bucket of its own, valid or not. Raises Banned or
    RateLimited; check_source still counts the report itself once it is valid."""
    key = source_of(raw)
    _check_ban(raw, key)
    limit, window = settings.REPORT_RATE_LIMIT, settings.REPORT_RATE_WINDOW
    if not ratelimit.peek(bucket, key, limit=limit, window_seconds=window):
        raise RateLimited
    if uploads and not ratelimit.hit(f"{bucket}-upload", key, limit=limit, window_seconds=window):
        raise RateLimited


def check_source(raw: str, *, bucket: str) -> str:
    """Rate limit and ban check for a submission; returns the rotating source key."""
    key = unbanned_source(raw)
    count_source(key, bucket=bucket)
    return key


def unbanned_source(raw: str) -> str:
    """The rotating source key of a submission, or Banned. A read: no write lock needed."""
    key = source_of(raw)
    _check_ban(raw, key)
    return key


def count_source(key: str, *, bucket: str) -> None:
    """Count one submission of this source; RateLimited once it is over its limit."""
    if not ratelimit.hit(
        bucket, key, limit=settings.REPORT_RATE_LIMIT, window_seconds=settings.REPORT_RATE_WINDOW
    ):
        raise RateLimited


# The ban list is empty nearly always. After a check found no ban at all, the next ones skip the
# query for this long: a ban made in another process applies to this one within it. One made in
# this process, or any change to the list, applies at once (forget_no_bans, on the model's
# signals). A ban found is never cached: each check then runs the query.
NO_BANS_SECONDS = 1.0
_no_bans_until = 0.0


def forget_no_bans(**_kwargs) -> None:
    global _no_bans_until
    _no_bans_until = 0.0


def _check_ban(raw: str, key: str) -> None:
    global _no_bans_until
    started = time.monotonic()
    if started < _no_bans_until:
        return
    # Yesterday's key too: a ban made just before the daily rotation must not lapse at once.
    previous = source_key(raw or "unknown", now=time.time() - 86400)
    # Plain SQL: this runs before every public submission. The second column: is any ban on?
    table = BannedSource._meta.db_table
    active = "(expires_at IS NULL OR expires_at > %s)"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE key IN (%s, %s, %s) AND {active}), "  # noqa: S608
            f"EXISTS (SELECT 1 FROM {table} WHERE {active})",
            [f"src:{key}", f"src:{previous}", f"phone:{_phone_key(raw)}", now, now],
        )
        banned, any_ban = cursor.fetchone()
    if banned:
        raise Banned
    if not any_ban:
        _no_bans_until = started + NO_BANS_SECONDS


def _phone_key(raw: str) -> str:
    return blind_index(raw, purpose="phone") if raw.startswith("+") else "-"


def _location_error(data: ReportInput) -> StrOrPromise | None:
    if (data.lat is None) != (data.lng is None):
        return gettext_lazy("Give both latitude and longitude, or neither.")
    if data.lat is not None and data.lng is not None:
        try:
            geo.validate_lat_lng(float(data.lat), float(data.lng))
        except (geo.GeoError, TypeError, ValueError):
            return gettext_lazy("That location is not on the map. Move the pin and try again.")
    return None


def _seen_at_error(data: ReportInput) -> StrOrPromise | None:
    if data.seen_at is None:
        return None
    now = timezone.now()
    if data.seen_at > now + timedelta(minutes=10):
        return gettext_lazy("The time seen cannot be in the future.")
    if data.seen_at < now - SEEN_AT_MAX_AGE:
        return gettext_lazy("The time seen must be within the last 30 days.")
    return None


def _completeness_error(data: ReportInput) -> tuple[str, StrOrPromise] | None:
    has_where = data.lat is not None or data.place_text.strip()
    has_what = data.activity or data.description.strip() or data.photos
    if not has_where and not has_what:
        return "__all__", gettext_lazy("Tell us at least where it is or what you saw.")
    if not has_where:
        return "place_text", gettext_lazy(
            "Tell us where: use your location, move the pin or type it."
        )
    return None


def validate(data: ReportInput, *, draft: bool = False) -> None:
    _ = gettext_lazy
    errors: dict[str, StrOrPromise] = {}
    if location := _location_error(data):
        errors["location"] = location
    for name in ("agents_count", "vehicles_count"):
        value = getattr(data, name)
        if value is not None and not (0 <= int(value) <= 500):
            errors[name] = _("Enter a number between 0 and 500.")
    if len(data.place_text) > 300:
        errors["place_text"] = _("Keep the place under 300 characters.")
    if len(data.description) > 2000:
        errors["description"] = _("Keep the description under 2000 characters.")
    if len(data.equipment) > 200:
        errors["equipment"] = _("Keep the equipment under 200 characters.")
    if seen_at := _seen_at_error(data):
        errors["seen_at"] = seen_at
    if len(data.photos) > MAX_PHOTOS:
        errors["photos"] = _("Attach at most 5 photos.")
    if not draft and not errors and (missing := _completeness_error(data)):
        errors[missing[0]] = missing[1]
    if errors:
        raise ReportInvalid(errors)


def zone_id_for(lat: float, lng: float) -> int | None:
    """The zone containing a point (by its res-9 cell), from a per-process cache."""
    return _zone_index().get(geo.cell_of(lat, lng))


def zone_for(lat: float, lng: float) -> Zone | None:
    zone_id = zone_id_for(lat, lng)
    return Zone.objects.filter(pk=zone_id).first() if zone_id else None


_ZONE_CACHE: dict[str, object] = {}
ZONE_CACHE_SECONDS = 60


def _zone_index() -> dict[str, int]:
    """cell -> zone id. Zones change rarely; an edit shows up within a minute in every process."""
    now = time.monotonic()
    cached = _ZONE_CACHE.get("index")
    if cached is None or float(_ZONE_CACHE.get("at", 0.0)) < now - ZONE_CACHE_SECONDS:  # type: ignore[arg-type]
        index: dict[str, int] = {}
        for zone_id, cells in Zone.objects.order_by("-pk").values_list("pk", "cells"):
            for cell in cells:
                index[cell] = zone_id
        _ZONE_CACHE.update(index=index, at=now)
        cached = index
    return cached  # type: ignore[return-value]


def report_submit(*, data: ReportInput, source_key_value: str = "") -> Report:
    """Validate, strip photo metadata, and store a report. The caller rate-limited the source."""
    return report_store(report_prepare(data=data, source_key_value=source_key_value))


@dataclass
class Prepared:
    """A valid report, built and ready to write (report_prepare), and when its request began."""

    report: Report
    photos: list[tuple[bytes, str]]
    started: float
    insert: PreparedInsert  # the row's INSERT, compiled: only run under the write lock


def report_prepare(*, data: ReportInput, source_key_value: str = "") -> Prepared:
    """Everything about a report that needs no write: validation (ReportInvalid), photos
    stripped, its receipt, cells and zone. Done before the write transaction, so under a
    surge the embedded database's one writer is held only for the writes (report_store)."""
    started = time.monotonic()  # issue 15: queue visibility
    # Free text without direction overrides or control characters, before it is checked.
    data = replace(
        data,
        place_text=text.visible(data.place_text),
        equipment=text.visible(data.equipment),
        description=text.visible(data.description),
        reporter_contact=text.visible(data.reporter_contact),
    )
    validate(data, draft=data.status == ReportStatus.DRAFT)
    photos = [clean_photo(content) for content, _name in data.photos]
    member = data.reporter_member
    trusted = bool(member and member.is_authenticated and member.tier >= Tier.VOUCHED)
    report = Report(
        receipt=new_receipt(),
        channel=data.channel,
        language=data.language if data.language in ("en", "es") else data.language[:8],
        status=data.status,
        activity=data.activity,
        agency=data.agency or "unknown",
        agents_count=data.agents_count,
        vehicles_count=data.vehicles_count,
        place_text=data.place_text,
        seen_at=data.seen_at or timezone.now(),
        equipment=data.equipment,
        description=data.description,
        reporter_contact=data.reporter_contact,
        reporter_member=member if member and member.is_authenticated else None,
        reporter_tier=member.tier if member and member.is_authenticated else None,
        trusted=trusted,
        source_key=source_key_value,
    )
    if data.lat is not None and data.lng is not None:
        report.lat, report.lng = float(data.lat), float(data.lng)
        report.cell7 = geo.cell_of(report.lat, report.lng, geo.COARSE_RESOLUTION)
        report.zone_id = zone_id_for(report.lat, report.lng)
    # Compiling the INSERT (defaults, timestamps, encryption) was a fifth of a report's Python
    # time, spent holding the embedded database's one writer: done here instead.
    return Prepared(report=report, photos=photos, started=started, insert=PreparedInsert(report))


def report_store(prepared: Prepared) -> Report:
    """Write a prepared report (and its photos) in one transaction; wake the dispatchers."""
    report, photos, started = prepared.report, prepared.photos, prepared.started
    # No savepoint of its own when nested: a failure here fails the caller's transaction (the
    # API's group commit gives each request a savepoint already), and a report is written
    # whole or not at all either way. Two statements fewer a report.
    with transaction.atomic(savepoint=False):
        if report.status == ReportStatus.NEW:
            flag_floods(report)  # sets report.flood_group before the row is written
            if report.flood_group:
                prepared.insert.set("flood_group", report.flood_group)
        prepared.insert.execute()
        for content, content_type in photos:
            Attachment.objects.create(
                report=report,
                kind=Attachment.Kind.PHOTO,
                path=_store_media(content, content_type, "photos"),
                content_type=content_type,
                size=len(content),
            )
        if report.status == ReportStatus.NEW:
            from vecinos.reports.notify import kick_after_commit

            kick_after_commit()  # dispatchers who are not watching hear of it (notify.py)
            metrics.report_received(report.channel, started)  # issue 15: counted on commit
    return report


def flag_floods(report: Report) -> None:
    """Group bursts from one source or one small area so they cannot bury other reports.

    Runs on every public report, during surges too, inside the report's write transaction:
    plain SQL (the ORM spent more time compiling these than SQLite spent running them), counts
    that stop at the threshold, and indexes that make both a seek, not a scan of the surge.
    Sets report.flood_group (the caller saves it) and flags the earlier reports of the group.
    """
    if report.trusted or (not report.source_key and not report.cell7):
        return
    since = connection.ops.adapt_datetimefield_value(
        timezone.now() - timedelta(seconds=settings.FLOOD_WINDOW_SECONDS)
    )
    table = Report._meta.db_table
    recent = f"created_at >= %s AND trusted = %s AND status <> '{ReportStatus.DRAFT.value}'"
    own = report.pk or 0  # a draft that just became a report is already in the table
    source_t, area_t = settings.FLOOD_SOURCE_THRESHOLD, settings.FLOOD_AREA_THRESHOLD
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE source_key = %s "  # noqa: S608
            f"AND {recent} AND id <> %s LIMIT %s) s), "
            f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE cell7 = %s "
            f"AND incident_id IS NULL AND {recent} AND id <> %s LIMIT %s) a)",
            [
                report.source_key or "-", since, False, own, source_t,
                report.cell7 or "-", since, False, own, area_t,
            ],
        )  # fmt: skip
        by_source, by_area = cursor.fetchone()
        if report.source_key and by_source + 1 >= source_t:
            report.flood_group = f"source:{report.source_key[:8]}"
            where = "source_key = %s"
            value = report.source_key
        elif report.cell7 and by_area + 1 >= area_t:
            report.flood_group = f"area:{report.cell7}"
            # The area's first report of the window came before the burst (many addresses
            # following one genuine sighting look just like this): it is never folded away.
            cursor.execute(
                f"UPDATE {table} SET flood_group = %s WHERE cell7 = %s AND incident_id IS NULL "  # noqa: S608
                f"AND flood_group = '' AND {recent} AND id > (SELECT MIN(id) FROM {table} "
                f"WHERE cell7 = %s AND incident_id IS NULL AND {recent})",
                [report.flood_group, report.cell7, since, False, report.cell7, since, False],
            )
            return
        else:
            return
        # Only the group's unflagged reports: a partial index holds just those. One source's
        # burst folds its own first report too: nobody else's report is touched.
        cursor.execute(
            f"UPDATE {table} SET flood_group = %s WHERE {where} AND flood_group = '' "  # noqa: S608
            f"AND {recent}",
            [report.flood_group, value, since, False],
        )


def draft_complete(*, report: Report) -> Report:
    """An SMS draft has what it needs: it joins the dispatcher queue."""
    metrics.report_received(report.channel, time.monotonic())  # issue 15: counted on commit
    report.status = ReportStatus.NEW
    report.save(update_fields=["status"])
    flag_floods(report)
    if report.flood_group:
        report.save(update_fields=["flood_group"])
    SmsSession.objects.filter(report=report).delete()
    return report


# --- Incidents, triage, merge --------------------------------------------------------------------


def _recompute(incident: Incident) -> None:
    reports = list(
        Report.objects.filter(incident=incident).values(
            "source_key", "trusted", "flood_group", "lat", "lng", "activity", "agency"
        )
    )
    sources = {r["source_key"] for r in reports if r["source_key"] and not r["flood_group"]}
    trusted = sum(1 for r in reports if r["trusted"])
    incident.credibility = min(100, len(sources) + 2 * trusted + (len(reports) - len(sources)) // 3)
    # Reports have both coordinates or neither (validate).
    located = [
        (r["lat"], r["lng"]) for r in reports if r["lat"] is not None and r["lng"] is not None
    ]
    if located and incident.purged_at is None:
        incident.lat = sum(lat for lat, _lng in located) / len(located)
        incident.lng = sum(lng for _lat, lng in located) / len(located)
        incident.cell7 = geo.cell_of(incident.lat, incident.lng, geo.COARSE_RESOLUTION)
        incident.zone = zone_for(incident.lat, incident.lng)
    activities = [r["activity"] for r in reports if r["activity"]]
    if activities:
        incident.activity = max(set(activities), key=activities.count)
    agencies = [r["agency"] for r in reports if r["agency"] and r["agency"] != "unknown"]
    if agencies:
        incident.agency = max(set(agencies), key=agencies.count)


@transaction.atomic
def incident_open(*, report: Report, actor: Member) -> Incident:
    if report.incident_id:
        return report.incident  # type: ignore[return-value]
    incident = Incident(place_summary=report.place_text[:300])
    incident.save()
    report.incident = incident
    report.save(update_fields=["incident"])
    _recompute(incident)
    incident.save()
    _event(incident, "opened", actor, report=report.receipt)
    return incident


@transaction.atomic
def report_triage(*, report: Report, tier: str, actor: Member) -> Report:
    if tier not in (Triage.LOG, Triage.VERIFY, Triage.URGENT):
        raise ValueError(tier)
    report.triage = tier
    report.status = ReportStatus.TRIAGED
    report.triaged_by = actor
    report.triaged_at = timezone.now()
    report.save(update_fields=["triage", "status", "triaged_by", "triaged_at"])
    if tier in (Triage.VERIFY, Triage.URGENT):
        incident = incident_open(report=report, actor=actor)
        _event(incident, "triaged", actor, tier=tier, report=report.receipt)
    elif report.incident_id:
        _event(report.incident, "triaged", actor, tier=tier, report=report.receipt)  # type: ignore[arg-type]
    return report


@transaction.atomic
def report_merge(*, report: Report, incident: Incident, actor: Member) -> Report:
    lock_check(incident=incident, actor=actor)
    previous = report.incident
    report.incident = incident
    if report.status == ReportStatus.NEW:
        report.status = ReportStatus.TRIAGED
        report.triaged_by, report.triaged_at = actor, timezone.now()
        report.triage = report.triage or Triage.VERIFY
    report.save(update_fields=["incident", "status", "triaged_by", "triaged_at", "triage"])
    _recompute(incident)
    incident.save()
    _event(incident, "report_merged", actor, report=report.receipt)
    if previous is not None and previous.pk != incident.pk:
        _recompute(previous)
        previous.save()
        _event(previous, "report_moved", actor, report=report.receipt, to=incident.pk)
    return report


@transaction.atomic
def report_split(*, report: Report, actor: Member) -> Incident:
    """Take a report out of its incident into a new incident of its own."""
    old = report.incident
    if old is not None:
        lock_check(incident=old, actor=actor)
    report.incident = None
    report.save(update_fields=["incident"])
    incident = incident_open(report=report, actor=actor)
    if old is not None:
        _recompute(old)
        old.save()
        _event(old, "report_split", actor, report=report.receipt, to=incident.pk)
    return incident


@transaction.atomic
def incident_merge(*, source: Incident, target: Incident, actor: Member) -> Incident:
    if source.pk == target.pk:
        return target
    lock_check(incident=source, actor=actor)
    lock_check(incident=target, actor=actor)
    Report.objects.filter(incident=source).update(incident=target)
    _recompute(target)
    target.save()
    source.status = Incident.Status.CLOSED
    source.save(update_fields=["status"])
    _event(target, "incident_merged", actor, source=source.pk)
    _event(source, "merged_into", actor, target=target.pk)
    return target


# --- Bans and retention ---------------------------------------------------------------------------


def ban_source(*, report: Report, actor: Member, reason: str = "") -> BannedSource | None:
    """Ban the source of a report: phone sources for good, web sources for the key's day."""
    if report.reporter_index:
        key, expires = f"phone:{report.reporter_index}", None
    elif report.source_key:
        key, expires = f"src:{report.source_key}", timezone.now() + timedelta(days=1)
    else:
        return None
    ban, _ = BannedSource.objects.get_or_create(
        key=key, defaults={"reason": reason[:120], "created_by": actor, "expires_at": expires}
    )

    audit("report.ban_source", actor=actor, target=report)
    return ban


def purge_expired_reports(*, now: datetime | None = None) -> dict[str, int]:
    """Retention: drop precise places, free text, media and contacts; keep the coarse summary."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REPORT_RETENTION_DAYS)
    old_reports = Report.objects.filter(created_at__lt=cutoff, purged_at__isnull=True)
    report_ids = list(old_reports.values_list("pk", flat=True))
    old_incidents = Incident.objects.filter(created_at__lt=cutoff, purged_at__isnull=True)
    incident_ids = list(old_incidents.values_list("pk", flat=True))
    attachments = Attachment.objects.filter(report_id__in=report_ids) | Attachment.objects.filter(
        incident_id__in=incident_ids
    )
    from vecinos.reports import recordings

    # Recordings still held by Twilio are deleted there too. Those Twilio could not confirm
    # stay as empty rows (no file, the URL only) until the recordings catch-up deletes them.
    keep = recordings.purge_remote(attachments)
    files = 0
    for path in attachments.values_list("path", flat=True):
        if path:
            (settings.MEDIA_ROOT / path).unlink(missing_ok=True)
            files += 1
    Attachment.objects.filter(pk__in=keep).update(path="", size=0)
    attachments.exclude(pk__in=keep).delete()
    SmsSession.objects.filter(report_id__in=report_ids).delete()
    # Drafts never completed are dropped whole.
    Report.objects.filter(pk__in=report_ids, status=ReportStatus.DRAFT).exclude(
        attachments__pk__in=keep
    ).delete()
    purged_reports = Report.objects.filter(pk__in=report_ids).update(
        lat=None,
        lng=None,
        place_text="",
        description="",
        equipment="",
        reporter_contact="",
        reporter_index="",
        source_key="",
        purged_at=now,
    )
    purged_incidents = Incident.objects.filter(pk__in=incident_ids).update(
        lat=None, lng=None, place_summary="", outcome_notes="", purged_at=now
    )
    result = {
        "reports": purged_reports,
        "incidents": purged_incidents,
        "files": files,
        "message_bodies": 0,
    }
    # Other apps' rows about the same reports (message bodies carry places and signed links)
    # follow the same retention: each app registered its own step.
    for step in extensions.retention_steps():
        for kind, count in (step.run(cutoff) or {}).items():
            result[kind] = result.get(kind, 0) + count
    return result


def counts_by_status() -> dict[str, int]:
    return dict(Incident.objects.values_list("status").annotate(n=Count("id")))
