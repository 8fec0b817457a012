"""Intake, triage, merge, dispatch and verification: every write of the reports pipeline."""

from __future__ import annotations

import ctypes
import functools
import io
import secrets
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from vecinos.core import crypto, geo, metrics, ratelimit
from vecinos.core.crypto import blind_index
from vecinos.core.privacy import source_key
from vecinos.network.models import Member, Role, Tier, Zone
from vecinos.reports.models import (
    Attachment,
    BannedSource,
    Incident,
    IncidentEvent,
    OnDuty,
    Report,
    ReportStatus,
    SmsSession,
    Triage,
    VerificationRequest,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MAX_PHOTOS = 5
MAX_PHOTO_BYTES = 10 * 1024 * 1024
# How far back a sighting may be dated. Older is not news for a rapid-response queue, and the
# bound keeps absurd times (year 1 with a +14:00 offset) from overflowing on save.
SEEN_AT_MAX_AGE = timedelta(days=30)
LOCK_MINUTES = 5
MERGE_RADIUS_M = 500
MERGE_WINDOW = timedelta(minutes=60)
OUTCOMES = (
    Incident.Status.CONFIRMED,
    Incident.Status.FALSE_ALARM,
    Incident.Status.UNABLE,
    Incident.Status.NOT_ENFORCEMENT,
)


class ReportInvalid(ValueError):
    """Field errors: {field: message}. Messages are lazily translated strings."""

    def __init__(self, errors: dict[str, StrOrPromise]) -> None:
        super().__init__(errors)
        self.errors = errors


class RateLimited(Exception):
    pass


class Banned(Exception):
    pass


class LockedByOther(Exception):
    def __init__(self, holder: Member | None, until: datetime | None) -> None:
        super().__init__("locked")
        self.holder, self.until = holder, until


class NotAllowed(PermissionError):
    pass


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
    key = source_of(raw)
    _check_ban(raw, key)
    if not ratelimit.hit(
        bucket, key, limit=settings.REPORT_RATE_LIMIT, window_seconds=settings.REPORT_RATE_WINDOW
    ):
        raise RateLimited
    return key


def _check_ban(raw: str, key: str) -> None:
    # Yesterday's key too: a ban made just before the daily rotation must not lapse at once.
    previous = source_key(raw or "unknown", now=time.time() - 86400)
    # Plain SQL: this runs before every public submission.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {BannedSource._meta.db_table} WHERE key IN (%s, %s, %s) "  # noqa: S608
            "AND (expires_at IS NULL OR expires_at > %s) LIMIT 1",
            [
                f"src:{key}",
                f"src:{previous}",
                f"phone:{_phone_key(raw)}",
                connection.ops.adapt_datetimefield_value(timezone.now()),
            ],
        )
        if cursor.fetchone() is not None:
            raise Banned


def _phone_key(raw: str) -> str:
    return blind_index(raw, purpose="phone") if raw.startswith("+") else "-"


def validate(data: ReportInput, *, draft: bool = False) -> None:
    from django.utils.translation import gettext_lazy as _

    errors: dict[str, StrOrPromise] = {}
    if (data.lat is None) != (data.lng is None):
        errors["location"] = _("Give both latitude and longitude, or neither.")
    elif data.lat is not None and data.lng is not None:
        try:
            geo.validate_lat_lng(float(data.lat), float(data.lng))
        except (geo.GeoError, TypeError, ValueError):
            errors["location"] = _("That location is not on the map. Move the pin and try again.")
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
    if data.seen_at is not None:
        now = timezone.now()
        if data.seen_at > now + timedelta(minutes=10):
            errors["seen_at"] = _("The time seen cannot be in the future.")
        elif data.seen_at < now - SEEN_AT_MAX_AGE:
            errors["seen_at"] = _("The time seen must be within the last 30 days.")
    if len(data.photos) > MAX_PHOTOS:
        errors["photos"] = _("Attach at most 5 photos.")
    if not draft and not errors:
        has_where = data.lat is not None or data.place_text.strip()
        has_what = data.activity or data.description.strip() or data.photos
        if not has_where and not has_what:
            errors["__all__"] = _("Tell us at least where it is or what you saw.")
        elif not has_where:
            errors["place_text"] = _("Tell us where: use your location, move the pin or type it.")
    if errors:
        raise ReportInvalid(errors)


PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "MPO")
PHOTO_SIDE = 2048  # stored photos are at most this on their long side
# Decoding is what an anonymous photo costs (a 40 MP PNG of 150 KB is 160 MB of pixels, and
# seconds of a core). A photo that Pillow can only decode whole may have at most 12 MP (a
# phone's 4000x3000); a JPEG is decoded reduced (draft: 1/2, 1/4 or 1/8 scale, still at least
# PHOTO_SIDE), so it may have 50 MP and still decodes to about 13 MP at most.
PHOTO_MAX_PIXELS = 12_000_000
JPEG_MAX_PIXELS = 50_000_000
PHOTO_BUSY_WAIT_SECONDS = 60


def _photo_too_large() -> ReportInvalid:
    from django.utils.translation import gettext_lazy as _

    return ReportInvalid(
        {"photos": _("That photo is too large. Send a smaller photo or a screenshot of it.")}
    )


def _not_a_photo() -> ReportInvalid:
    from django.utils.translation import gettext_lazy as _

    return ReportInvalid({"photos": _("Only photos (JPEG, PNG, WebP or GIF) can be attached.")})


def photo_header(stream) -> tuple[str, int]:
    """A photo's format and pixel count from its header only (nothing decoded). Raises
    ReportInvalid when it is not a photo. Rewinds the stream."""
    try:
        with Image.open(stream) as probe:
            fmt, (width, height) = probe.format, probe.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise _not_a_photo() from None
    finally:
        stream.seek(0)
    if fmt not in PHOTO_FORMATS:
        raise _not_a_photo()
    return fmt, width * height


def photo_too_large(fmt: str, pixels: int) -> bool:
    return pixels > (JPEG_MAX_PIXELS if fmt in ("JPEG", "MPO") else PHOTO_MAX_PIXELS)


def probe_photo(stream) -> str:
    """Check a photo from its header: a photo, within the pixel caps. Raises ReportInvalid."""
    fmt, pixels = photo_header(stream)
    if photo_too_large(fmt, pixels):
        raise _photo_too_large()
    return fmt


_decode_slots = threading.BoundedSemaphore(max(1, settings.PHOTO_DECODE_CONCURRENCY))


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc
    except (OSError, AttributeError):
        return None


@contextmanager
def _decode_slot():
    """At most PHOTO_DECODE_CONCURRENCY photos decode at once in a process, whatever the number
    of threads and requests; the others wait their turn (a minute at most)."""
    from django.utils.translation import gettext_lazy as _

    if not _decode_slots.acquire(timeout=PHOTO_BUSY_WAIT_SECONDS):
        raise ReportInvalid(
            {
                "photos": _(
                    "Too many photos are being received right now. Try again in a minute, or "
                    "send the report without photos."
                )
            }
        )
    try:
        yield
    finally:
        _decode_slots.release()
        # The decoded pixels were freed, but glibc keeps freed heap in its per-thread arenas:
        # hand it back to the system, or each worker keeps its peak for good.
        trim = _malloc_trim()
        if trim is not None:
            trim(0)


def clean_photo(content: bytes) -> tuple[bytes, str]:
    """Re-encode an image without any metadata (EXIF, GPS, XMP). Raises ReportInvalid."""
    from django.utils.translation import gettext_lazy as _

    if len(content) > MAX_PHOTO_BYTES:
        raise ReportInvalid({"photos": _("Each photo must be 10 MB or smaller.")})
    fmt = probe_photo(io.BytesIO(content))
    with _decode_slot():
        try:
            with Image.open(io.BytesIO(content)) as probe:
                probe.verify()
            with Image.open(io.BytesIO(content)) as img:
                if img.format != fmt:
                    raise UnidentifiedImageError
                if fmt in ("JPEG", "MPO"):
                    img.draft(None, (PHOTO_SIDE, PHOTO_SIDE))  # decode reduced, 1/2 to 1/8
                # Shrink first (the box is square, so turning afterwards changes nothing), then
                # turn upright: the copy that turning makes is of the small image.
                img.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
                upright = ImageOps.exif_transpose(img)
                mode = "RGBA" if upright.mode in ("RGBA", "LA", "P") else "RGB"
                # Copy the pixels only into a fresh image: no EXIF, GPS, XMP, ICC or comments
                # (Pillow would carry a JPEG comment over from the original's info).
                pixels = upright.convert(mode)
                del upright
                clean = Image.new(mode, pixels.size)
                clean.paste(pixels)
                del pixels
                out = io.BytesIO()
                if mode == "RGBA":
                    clean.save(out, "PNG")
                    return out.getvalue(), "image/png"
                clean.save(out, "JPEG", quality=85)
                return out.getvalue(), "image/jpeg"
        except ReportInvalid:
            raise
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            raise _not_a_photo() from None


def _store_media(content: bytes, content_type: str, folder: str) -> str:
    """Write a photo or recording encrypted at rest (AES-GCM); served decrypted by the console.

    The file name says nothing about its content: a stolen disk shows only random names and
    ciphertext.
    """
    rel = f"{folder}/{timezone.now():%Y%m}/{uuid.uuid4().hex}.bin"
    path = settings.MEDIA_ROOT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(crypto.encrypt_bytes(content))
    return rel


class MediaUnreadable(Exception):
    """A stored file that is missing, outside the media root, or does not decrypt."""


def read_media(attachment: Attachment) -> bytes:
    """The decrypted content of a stored photo or recording. Raises MediaUnreadable or OSError."""
    root = settings.MEDIA_ROOT.resolve()
    path = (root / attachment.path).resolve()
    if not attachment.path or not path.is_relative_to(root):
        raise MediaUnreadable("no stored file")
    try:
        return crypto.decrypt_bytes(path.read_bytes())
    except crypto.Undecryptable as exc:
        raise MediaUnreadable(str(exc)) from None


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
    started = time.monotonic()  # issue 15: queue visibility
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
        place_text=data.place_text.strip(),
        seen_at=data.seen_at or timezone.now(),
        equipment=data.equipment.strip(),
        description=data.description.strip(),
        reporter_contact=data.reporter_contact.strip(),
        reporter_member=member if member and member.is_authenticated else None,
        reporter_tier=member.tier if member and member.is_authenticated else None,
        trusted=trusted,
        source_key=source_key_value,
    )
    if data.lat is not None and data.lng is not None:
        report.lat, report.lng = float(data.lat), float(data.lng)
        report.cell7 = geo.cell_of(report.lat, report.lng, geo.COARSE_RESOLUTION)
        report.zone_id = zone_id_for(report.lat, report.lng)
    with transaction.atomic():
        if report.status == ReportStatus.NEW:
            flag_floods(report)  # sets report.flood_group before the row is written
        report.save()
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


def _event(incident: Incident, kind: str, actor: Member | None = None, **detail) -> None:
    IncidentEvent.objects.create(incident=incident, kind=kind, actor=actor, detail=detail)


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


def merge_candidates(report: Report, limit: int = 5) -> list[Incident]:
    """Open incidents within about 500 m and 60 minutes of the report."""
    if report.lat is None or report.lng is None:
        return []
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(report.lat, report.lng, MERGE_RADIUS_M)
    when = report.seen_at or report.created_at
    qs = (
        Incident.objects.filter(
            lat__gte=min_lat,
            lat__lte=max_lat,
            lng__gte=min_lng,
            lng__lte=max_lng,
            created_at__gte=when - MERGE_WINDOW,
            created_at__lte=when + MERGE_WINDOW,
        )
        .exclude(status=Incident.Status.CLOSED)
        .exclude(pk=report.incident_id or 0)
    )
    close = [
        i
        for i in qs[:50]
        # (the lat/lng range filters already leave out incidents without a location)
        if i.lat is not None
        and i.lng is not None
        and geo.haversine_m(report.lat, report.lng, i.lat, i.lng) <= MERGE_RADIUS_M
    ]
    return close[:limit]


# --- Edit lock ----------------------------------------------------------------------------------


def lock_check(*, incident: Incident, actor: Member) -> None:
    if (
        incident.lock_holder_id
        and incident.lock_holder_id != actor.pk
        and incident.lock_until
        and incident.lock_until > timezone.now()
    ):
        raise LockedByOther(incident.lock_holder, incident.lock_until)


@transaction.atomic
def lock_acquire(*, incident: Incident, actor: Member) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    lock_check(incident=incident, actor=actor)
    incident.lock_holder = actor
    incident.lock_until = timezone.now() + timedelta(minutes=LOCK_MINUTES)
    incident.save(update_fields=["lock_holder", "lock_until"])
    return incident


def lock_release(*, incident: Incident, actor: Member) -> None:
    Incident.objects.filter(pk=incident.pk, lock_holder=actor).update(
        lock_holder=None, lock_until=None
    )


@transaction.atomic
def lock_break(*, incident: Incident, actor: Member) -> None:
    from vecinos.network import selectors

    if not selectors.is_coordinator(actor):
        raise NotAllowed
    holder = incident.lock_holder_id
    Incident.objects.filter(pk=incident.pk).update(lock_holder=None, lock_until=None)
    _event(incident, "lock_broken", actor, holder=holder)


# --- Duty and verifier dispatch ---------------------------------------------------------------


def duty_start(
    *, member: Member, role: str, hours: float, lat: float | None = None, lng: float | None = None
) -> OnDuty:
    from vecinos.network import selectors

    if role not in ("dispatcher", "verifier") or not selectors.has_role(member, role):
        raise NotAllowed
    if lat is not None and lng is not None:
        geo.validate_lat_lng(lat, lng)
    duty, _ = OnDuty.objects.update_or_create(
        member=member,
        role=role,
        defaults={
            "until": timezone.now() + timedelta(hours=max(0.25, min(hours, 24))),
            "lat": lat,
            "lng": lng,
        },
    )
    return duty


def duty_end(*, member: Member, role: str) -> None:
    OnDuty.objects.filter(member=member, role=role).delete()


def duty_purge_expired() -> int:
    """Delete duty rows whose time is over: an old position of a named person is not kept."""
    return OnDuty.objects.filter(until__lte=timezone.now()).delete()[0]


def verifiers_ranked(incident: Incident) -> list[tuple[Member, float | None]]:
    """Trained verifiers on duty now, nearest first (those without a location last)."""
    duties = OnDuty.objects.filter(role="verifier", until__gt=timezone.now()).select_related(
        "member"
    )
    ranked = []
    for duty in duties:
        member = duty.member
        if not member.is_active or member.tier < Tier.TRAINED:
            continue
        distance = None
        if None not in (duty.lat, duty.lng, incident.lat, incident.lng):
            distance = geo.haversine_m(incident.lat, incident.lng, duty.lat, duty.lng)  # type: ignore[arg-type]
        ranked.append((member, distance))
    ranked.sort(key=lambda pair: (pair[1] is None, pair[1] or 0))
    return ranked


def signed_request_link(request: VerificationRequest) -> str:
    token = signing.dumps({"vr": request.pk}, salt="vecinos.verify")
    return f"{settings.PUBLIC_URL}/v/{token}/"


def load_signed_request(token: str, max_age_hours: int = 24) -> VerificationRequest | None:
    try:
        data = signing.loads(token, salt="vecinos.verify", max_age=max_age_hours * 3600)
    except signing.BadSignature:
        return None
    return (
        VerificationRequest.objects.select_related("incident", "verifier")
        .filter(pk=data.get("vr"))
        .first()
    )


@transaction.atomic
def verifiers_request(
    *, incident: Incident, verifiers: list[Member], actor: Member
) -> list[VerificationRequest]:
    from django.utils import translation

    from vecinos.messaging.services import DeliverySpec, contact_point, deliveries_enqueue
    from vecinos.network import selectors

    if not selectors.has_role(actor, Role.DISPATCHER, Role.COALITION_COORDINATOR):
        raise NotAllowed
    lock_check(incident=incident, actor=actor)
    ranked = {m.pk: d for m, d in verifiers_ranked(incident)}
    created, specs = [], []
    for verifier in verifiers:
        if not selectors.has_role(verifier, Role.VERIFIER):
            continue
        distance = ranked.get(verifier.pk)
        request, was_new = VerificationRequest.objects.get_or_create(
            incident=incident,
            verifier=verifier,
            defaults={
                "requested_by": actor,
                "distance_m": int(distance) if distance else None,
            },
        )
        if not was_new:
            continue
        created.append(request)
        if verifier.phone:
            with translation.override(
                verifier.preferred_language if verifier.preferred_language in ("en", "es") else "es"
            ):
                body = verification_request_text(incident, request)
            specs.append(
                DeliverySpec(
                    purpose="verify",
                    ref_type="verification",
                    ref_id=request.pk,
                    contact=contact_point(
                        channel="sms",
                        address=verifier.phone,
                        member=verifier,
                        language=verifier.preferred_language,
                    ),
                    body=body,
                    language=verifier.preferred_language,
                    key=f"verify:{request.pk}:sms",
                    expires_at=timezone.now() + timedelta(hours=2),
                )
            )
    if created:
        if incident.status == Incident.Status.NEW:
            incident.status = Incident.Status.VERIFYING
            incident.save(update_fields=["status"])
        _event(incident, "verifiers_requested", actor, verifiers=[r.verifier_id for r in created])
    deliveries_enqueue(specs)
    return created


def verification_request_text(incident: Incident, request: VerificationRequest) -> str:
    from django.utils.translation import gettext as _

    place = incident.place_summary or (
        f"{incident.lat:.4f},{incident.lng:.4f}" if incident.lat is not None else "?"
    )
    return _(
        "Vecinos: please verify incident #%(id)s (%(activity)s) near %(place)s. "
        "Reply YES if you can go or NO if not. Details and report: %(link)s"
    ) % {
        "id": incident.pk,
        "activity": incident.get_activity_display(),
        "place": place[:80],
        "link": signed_request_link(request),
    }


@transaction.atomic
def verification_respond(*, request: VerificationRequest, accept: bool) -> VerificationRequest:
    if request.status in (
        VerificationRequest.Status.SENT,
        VerificationRequest.Status.ACCEPTED,
        VerificationRequest.Status.DECLINED,
    ):
        request.status = (
            VerificationRequest.Status.ACCEPTED if accept else VerificationRequest.Status.DECLINED
        )
        request.responded_at = timezone.now()
        request.save(update_fields=["status", "responded_at"])
        _event(
            request.incident, "verifier_" + ("accepted" if accept else "declined"), request.verifier
        )
    return request


@transaction.atomic
def verification_outcome(
    *,
    request: VerificationRequest,
    outcome: str,
    notes: str = "",
    photos: list | None = None,
) -> Incident:
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    cleaned = [clean_photo(content) for content, _name in (photos or [])]
    incident = Incident.objects.select_for_update().get(pk=request.incident_id)
    incident.status = outcome
    incident.outcome = outcome
    incident.verified_by = request.verifier
    incident.verified_at = timezone.now()
    incident.outcome_notes = notes.strip()[:2000]
    incident.save()
    for content, content_type in cleaned:
        Attachment.objects.create(
            incident=incident,
            kind=Attachment.Kind.PHOTO,
            path=_store_media(content, content_type, "verification"),
            content_type=content_type,
            size=len(content),
        )
    request.status = VerificationRequest.Status.DONE
    request.responded_at = timezone.now()
    request.save(update_fields=["status", "responded_at"])
    VerificationRequest.objects.filter(
        incident=incident,
        status__in=[VerificationRequest.Status.SENT, VerificationRequest.Status.ACCEPTED],
    ).exclude(pk=request.pk).update(status=VerificationRequest.Status.CANCELLED)
    _event(incident, "outcome", request.verifier, outcome=outcome, photos=len(cleaned))
    return incident


def incident_close(*, incident: Incident, actor: Member) -> Incident:
    lock_check(incident=incident, actor=actor)
    incident.status = Incident.Status.CLOSED
    incident.save(update_fields=["status"])
    _event(incident, "closed", actor)
    return incident


# The timeline event each kind of alert writes, and the state it moves the incident to.
ALERT_EVENTS = {
    "all_clear": ("alert_all_clear", Incident.Status.ALL_CLEAR),
    "correction": ("alert_correction", Incident.Status.CORRECTED),
}
ALERT_EVENT_KINDS = ("alert_sent", "alert_all_clear", "alert_correction")


def incident_alerted(
    *, incident_id: int, alert_id: int, alert_kind: str, actor: Member | None
) -> None:
    """An alert made from this incident went out (called by `alerts`, which reports never
    imports): the incident moves to alerted, all clear or corrected, and its timeline says so.
    A closed incident stays closed; its timeline (and the rumor page) still follow."""
    event, state = ALERT_EVENTS.get(alert_kind, ("alert_sent", Incident.Status.ALERTED))
    Incident.objects.filter(pk=incident_id).exclude(status=Incident.Status.CLOSED).update(
        status=state, updated_at=timezone.now()
    )
    IncidentEvent.objects.create(
        incident_id=incident_id, kind=event, actor=actor, detail={"alert": alert_id}
    )


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
    from vecinos.core.audit import audit

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
    )  # Message bodies can carry places and signed links (verification requests): they follow
    # the same retention as the reports they were about.
    from vecinos.messaging.models import Delivery
    from vecinos.transports.models import OutboxMessage

    bodies = Delivery.objects.filter(created_at__lt=cutoff).exclude(body="").update(body="")
    bodies += OutboxMessage.objects.filter(created_at__lt=cutoff).exclude(body="").update(body="")

    return {
        "reports": purged_reports,
        "incidents": purged_incidents,
        "files": files,
        "message_bodies": bodies,
    }


def counts_by_status() -> dict[str, int]:
    return dict(Incident.objects.values_list("status").annotate(n=Count("id")))
