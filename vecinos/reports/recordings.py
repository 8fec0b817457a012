"""Voice-hotline recordings: fetched from Twilio, kept encrypted on disk, deleted at Twilio.

A hotline message arrives as a Twilio ``RecordingUrl`` (kept encrypted in
``Attachment.remote_url``). A task enqueued when the report is committed, and a catch-up every
five minutes, move it here:

    remote_url set, no path    -> GET {TWILIO_API_URL}/2010-04-01/Accounts/{AC}/Recordings/{RE}.mp3
    remote_url set, path set   -> stored here; DELETE .../Recordings/{RE}.json still to do
    remote_url empty, path set -> done: only we hold it, until retention
    remote_url empty, no path  -> Twilio no longer had it (404): nothing to play

``remote_url`` is cleared only once Twilio confirmed the delete (204, or 404: already gone), so
an outage or a crash between the steps never leaves a recording at Twilio that nobody tracks.
Timeouts, refused connections, 5xx, 429 and any other unexpected answer are transient: the
row stays as it is and the next run tries again. A recording whose report is past retention is
never fetched again, only deleted at Twilio.

The Twilio side (the Recording API client, with its SSRF guard: the URL Twilio sent is only
parsed, never requested, and credentials go to the configured API host only) is
``transports/twilio/recordings.py``, reached through ``messaging.calls``.

At rest the audio is AES-256-GCM under a key derived (HKDF) from ``VECINOS_FIELD_KEY`` for this
purpose alone: a copy of the media folder without the key holds no one's voice.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from vecinos.core.audit import audit
from vecinos.messaging import calls
from vecinos.messaging.calls import RecordingError, RecordingRef
from vecinos.reports.models import Attachment

log = logging.getLogger(__name__)

BATCH = 100
UNREACHABLE_IN_A_ROW = 3  # Twilio down: stop this run instead of waiting on every timeout
parse_recording_url = calls.recording_ref
configured = calls.recordings_configured

# Outcomes of one attempt (task results and catch-up counters).
DONE = "done"  # stored and deleted at Twilio
GONE = "gone"  # Twilio had no such recording any more
UNREACHABLE = "unreachable"  # timeout, refused connection, 5xx, 429: the row is unchanged
RETRY = "retry"  # any other unexpected answer (a 401, a redirect): the row is unchanged
REFUSED = "refused"  # not a Recording on the configured Twilio API host: never requested
UNCONFIGURED = "unconfigured"  # no account SID / auth token: nothing can be done yet
SKIPPED = "skipped"  # nothing to do (already done, or another worker got there first)


def _transient(attachment_id: int, step: str, error: RecordingError) -> str:
    log.warning("recording %s: %s failed (%s); will retry", attachment_id, step, error.detail)
    return UNREACHABLE if error.busy else RETRY


def delete_remote(ref: RecordingRef, *, attachment_id: int = 0) -> str:
    """DELETE the Recording at Twilio: DONE (also when it was gone already), else why not."""
    try:
        calls.recording_delete(ref)
    except RecordingError as exc:
        return _transient(attachment_id, "delete at Twilio", exc)
    return DONE


def _fetch(attachment: Attachment, ref: RecordingRef) -> str:
    """GET the audio and store it encrypted; the row keeps its remote_url for the delete."""
    from vecinos.reports.services import _store_media

    try:
        body = calls.recording_fetch(ref)
    except RecordingError as exc:
        return _transient(attachment.pk, "download", exc)
    if body is None:
        # Deleted at Twilio already (by hand, or by a run whose answer was lost): nothing to
        # fetch or delete any more. Never over a row another worker has just stored.
        if Attachment.objects.filter(pk=attachment.pk, path="").update(remote_url=""):
            audit("report.recording_gone", target=attachment)
        return GONE
    rel = _store_media(body, "audio/mpeg", "recordings")  # encrypted there
    with transaction.atomic():
        row = (
            Attachment.objects.select_for_update(of=("self",))
            .select_related("report")
            .filter(pk=attachment.pk)
            .first()
        )
        if row is None or row.path or not row.remote_url or _past_retention(row):
            # Another worker stored it first, or retention took it meanwhile.
            (settings.MEDIA_ROOT / rel).unlink(missing_ok=True)
            return SKIPPED
        row.path, row.size, row.content_type = rel, len(body), "audio/mpeg"
        row.save(update_fields=["path", "size", "content_type"])
        audit("report.recording_fetched", target=row, size=len(body))
    attachment.path = rel
    return DONE


def _past_retention(attachment: Attachment) -> bool:
    """Retention has taken, or is about to take, this report: never fetch its audio again."""
    report = attachment.report
    if report is None:
        return False
    cutoff = timezone.now() - timedelta(days=settings.REPORT_RETENTION_DAYS)
    return report.purged_at is not None or report.created_at < cutoff


def recording_collect(*, attachment_id: int) -> str:
    """One step forward for one recording: fetch and store it, then delete it at Twilio."""
    attachment = (
        Attachment.objects.select_related("report")
        .filter(pk=attachment_id, kind=Attachment.Kind.RECORDING)
        .first()
    )
    if attachment is None or not attachment.remote_url:
        return SKIPPED
    ref = parse_recording_url(attachment.remote_url)
    if ref is None:
        # Kept, not cleared: if the operator moves TWILIO_API_URL (an edge location), the row
        # is still there to be deleted once the host matches again.
        log.warning(
            "recording %s: not a Twilio Recording URL on the API host; refused", attachment.pk
        )
        return REFUSED
    if not configured():
        return UNCONFIGURED
    past_retention = _past_retention(attachment)
    if not attachment.path and not past_retention:
        outcome = _fetch(attachment, ref)
        if outcome != DONE:
            return outcome
    outcome = delete_remote(ref, attachment_id=attachment.pk)
    if outcome != DONE:
        return outcome
    Attachment.objects.filter(pk=attachment.pk).update(remote_url="")
    audit("report.recording_deleted_at_provider", target=attachment)
    if past_retention and not attachment.path:
        attachment.delete()  # left behind by retention only to be deleted at Twilio
    return DONE


def pending_ids(limit: int = BATCH) -> list[int]:
    """Recordings still held at Twilio (an empty value is stored as "": filterable)."""
    return list(
        Attachment.objects.filter(kind=Attachment.Kind.RECORDING)
        .exclude(remote_url="")
        .order_by("-pk")  # a new message first: never stuck behind old troubled rows
        .values_list("pk", flat=True)[:limit]
    )


def recordings_catch_up(limit: int = BATCH) -> dict[str, int]:
    """The periodic sweep: every recording still at Twilio gets one more attempt."""
    counts: Counter[str] = Counter()
    in_a_row = 0
    for attachment_id in pending_ids(limit):
        outcome = recording_collect(attachment_id=attachment_id)
        counts[outcome] += 1
        in_a_row = in_a_row + 1 if outcome == UNREACHABLE else 0
        if outcome == UNCONFIGURED or in_a_row >= UNREACHABLE_IN_A_ROW:
            break
    return dict(counts)


def kick(attachment_id: int) -> None:
    """Enqueue the fetch. If the queue is down the row is safe: the catch-up fetches it."""
    from vecinos.reports.tasks import fetch_recording

    try:
        fetch_recording.enqueue(attachment_id)
    except Exception:  # noqa: BLE001 - Redis/SQLite queue unavailable
        log.exception("could not enqueue recording %s; the catch-up will fetch it", attachment_id)


# --- retention ---------------------------------------------------------------------------------


def purge_remote(attachments: QuerySet[Attachment]) -> set[int]:
    """Retention: delete at Twilio every recording of these attachments still held there.

    Returns the ids whose delete could not be confirmed (Twilio unreachable, not configured):
    the caller keeps those rows, emptied, so the catch-up deletes them at Twilio later.
    A URL that is not a Twilio Recording on the API host cannot be deleted by us: it is let go.
    """
    keep: set[int] = set()
    reachable = configured()
    rows = attachments.filter(kind=Attachment.Kind.RECORDING).exclude(remote_url="")
    for row in rows.only("pk", "remote_url"):
        ref = parse_recording_url(row.remote_url)
        if ref is None:
            log.warning("recording %s: not a Twilio Recording URL; dropped by retention", row.pk)
            continue
        if reachable and delete_remote(ref, attachment_id=row.pk) == DONE:
            audit("report.recording_deleted_at_provider", target=row, retention=True)
            continue
        reachable = False  # one failure: leave the rest to the catch-up, no timeout per row
        keep.add(row.pk)
    return keep
