"""Imports started in the app: upload, then a background run with progress."""

from __future__ import annotations

import io
from datetime import timedelta

from django.db import transaction
from django.utils import timezone, translation

from vecinos.core import coalition, languages
from vecinos.core.audit import audit
from vecinos.core.crypto import decrypt_bytes, encrypt_bytes
from vecinos.core.models import CoalitionSettings
from vecinos.core.tabular import TableError, read_table
from vecinos.network import selectors as network
from vecinos.network.models import Member, Organization
from vecinos.onboarding import joining
from vecinos.onboarding.imports import ImportRefused, ImportResult, run_import
from vecinos.onboarding.models import ImportJob

KEEP_UPLOADS = timedelta(hours=24)


class NotAllowed(PermissionError):
    pass


def import_job_create(
    *, actor: Member, organization: Organization, kind: str, data: bytes
) -> ImportJob:
    """Read the file once (so a bad one is refused at upload) and keep it encrypted."""
    if not network.can_manage_org(actor, organization):
        raise NotAllowed
    table = read_table(data)  # TableError for the form
    return ImportJob.objects.create(
        organization=organization,
        kind=kind,
        created_by=actor,
        file=encrypt_bytes(data),
        headers=table.headers,
        rows_total=len(table.rows),
    )


@transaction.atomic
def import_job_start(
    *, job: ImportJob, actor: Member, mapping: dict, dry_run: bool, language: str = ""
) -> bool:
    """Queue a dry run or the real import, its results written in ``language`` (the page's
    when the coordinator pressed the button). False if the job cannot run (running, done)."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.created_by_id != actor.pk or not network.can_manage_org(actor, job.organization):
        raise NotAllowed
    if job.status == ImportJob.Status.RUNNING or not job.file:
        return False
    job.mapping, job.dry_run = mapping, dry_run
    job.status, job.rows_done, job.result = ImportJob.Status.RUNNING, 0, {}
    job.save(update_fields=["mapping", "dry_run", "status", "rows_done", "result"])
    from vecinos.onboarding.tasks import run_import_job

    transaction.on_commit(lambda: run_import_job.enqueue(job.pk, language))
    return True


def _progress(job_id: int):
    def report(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(rows_done=done)

    return report


def import_job_run(*, job_id: int, language: str = "") -> None:
    """Run a queued job. Its results (row problems, warnings) are words for the coordinator,
    kept as written: in the language of the page they started it from, not the worker's
    default (outside walk: an Arabic page showed them in English)."""
    known = languages.get(language)
    with translation.override(known.code if known is not None else None):
        _import_job_run(job_id=job_id)


def _import_job_run(*, job_id: int) -> None:
    job = ImportJob.objects.select_related("organization", "created_by").get(pk=job_id)
    if job.status != ImportJob.Status.RUNNING:
        return
    try:
        table = read_table(decrypt_bytes(bytes(job.file)))
        result = run_import(
            kind=job.kind,  # type: ignore[arg-type]
            table=table,
            organization=job.organization,
            actor=job.created_by,
            dry_run=job.dry_run,
            chosen={k: (int(v) if v is not None else None) for k, v in job.mapping.items()},
            via="app",
            progress=_progress(job.pk),
        )
    except (TableError, ImportRefused) as exc:
        result = ImportResult(kind=job.kind, dry_run=job.dry_run)
        result.warnings.append(str(exc))
        status = ImportJob.Status.FAILED
    else:
        status = ImportJob.Status.DONE
        if result.invited:
            joining.text_links(result.invited)
        if result.to_confirm:
            from vecinos.alerts.subscriptions import import_confirmations

            import_confirmations(result.to_confirm, job.organization.name)
    fields = {
        "status": status,
        "finished_at": timezone.now(),
        "rows_done": job.rows_total,
        "result": {
            "new": result.new,
            "updated": result.updated,
            "skipped": result.skipped,
            "errors": result.errors,
            "discreet": result.discreet,
            "accepted": result.accepted,
            "by_link": result.by_link,
            "by_reply": result.by_reply,
            "warnings": result.warnings,
            "problems": [[p.line, p.outcome, p.reason] for p in result.problems],
        },
    }
    if not job.dry_run:
        fields["file"] = b""  # imported: the file is not kept
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def import_jobs_forget(*, now=None) -> int:
    """Uploads left for a day are emptied: their file, and the lines of their report."""
    cutoff = (now or timezone.now()) - KEEP_UPLOADS
    return (
        ImportJob.objects.filter(created_at__lt=cutoff)
        .exclude(status=ImportJob.Status.RUNNING)
        .update(file=b"", result={}, headers=[])
    )


def report_csv(job: ImportJob) -> str:
    result = ImportResult(kind=job.kind, dry_run=job.dry_run)
    for line, outcome, reason in job.result.get("problems", []):
        (result.skip if outcome == "skipped" else result.error)(line, reason)
    return result.problems_csv()


# --- Coalition settings --------------------------------------------------------------------

LOGO_SIDE = 512


class LogoInvalid(ValueError):
    pass


def clean_logo(content: bytes) -> bytes:
    """Re-encode a logo as a small PNG holding only its pixels (no EXIF, XMP, ICC, text)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as probe:
            if probe.format not in ("PNG", "JPEG", "WEBP", "GIF"):
                raise LogoInvalid
            if probe.size[0] * probe.size[1] > 25_000_000:
                raise LogoInvalid
        with Image.open(io.BytesIO(content)) as img:
            img.thumbnail((LOGO_SIDE, LOGO_SIDE))
            pixels = img.convert("RGBA")
            clean = Image.new("RGBA", pixels.size)
            clean.paste(pixels)
            out = io.BytesIO()
            clean.save(out, "PNG", optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise LogoInvalid from None


def coalition_settings_update(
    *,
    actor: Member,
    name: str,
    short_name: str,
    hotline: dict[str, str],
    public_contact: str,
    accent_color: str,
    languages: list[str],
    time_zone: str,
    logo: bytes | None = None,
    remove_logo: bool = False,
):
    """Save the coalition's settings (coalition coordinators only), audited."""
    if not network.is_coalition_coordinator(actor):
        raise NotAllowed
    png = clean_logo(logo) if logo else None  # LogoInvalid before anything is saved
    with transaction.atomic():
        coalition.settings_row()
        row = CoalitionSettings.objects.select_for_update().get(pk=1)
        before = {f: getattr(row, f) for f in ("name", "short_name", "hotline", "accent_color")}
        row.name, row.short_name, row.hotline = name, short_name, hotline
        row.public_contact, row.accent_color = public_contact, accent_color
        row.languages, row.time_zone = languages, time_zone
        if png is not None:
            row.logo_png, row.logo_version = png, row.logo_version + 1
        elif remove_logo:
            row.logo_png, row.logo_version = b"", row.logo_version + 1
        row.save()
        changed = sorted(f for f, v in before.items() if getattr(row, f) != v)
        if png is not None or remove_logo:
            changed.append("logo")
        audit("coalition.settings_update", actor=actor, target=row, changed=changed)
        transaction.on_commit(coalition.invalidate)
    coalition.invalidate()
    return row
