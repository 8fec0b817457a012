"""Imports in the app: upload, map the columns, preview, dry run, import with progress."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from vecinos.core.audit import audit
from vecinos.core.crypto import decrypt_bytes
from vecinos.core.tabular import TableError, read_table
from vecinos.network import selectors as network
from vecinos.network.models import Member, Organization
from vecinos.onboarding import joining, services
from vecinos.onboarding.forms import FIELD_LABELS, MappingForm, UploadForm
from vecinos.onboarding.imports import headers_for, people_left_today_of, preview
from vecinos.onboarding.models import ImportJob


def _member(request: HttpRequest) -> Member:
    return request.user  # type: ignore[return-value]


def _organizations(member: Member):
    ids = network.coordinated_org_ids(member)
    organizations = Organization.objects.all()
    return organizations if ids is None else organizations.filter(pk__in=ids)


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    job = ImportJob.objects.select_related("organization").filter(pk=job_id).first()
    member = _member(request)
    if job is None or job.created_by_id != member.pk:
        raise Http404
    if not network.can_manage_org(member, job.organization):
        raise PermissionDenied
    return job


def _left_today(organizations: list[Organization]) -> list[tuple[Organization, int]]:
    left = people_left_today_of([org.pk for org in organizations])
    return [(org, left[org.pk]) for org in organizations]


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    if not network.is_coordinator(member):
        raise PermissionDenied
    organizations = _organizations(member)
    form = UploadForm(request.POST or None, request.FILES or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_create(
                actor=member,
                organization=form.cleaned_data["organization"],
                kind=form.cleaned_data["kind"],
                data=form.cleaned_data["file"].read(),
            )
        except TableError as exc:
            form.add_error("file", str(exc))
        except services.NotAllowed:
            raise PermissionDenied from None
        else:
            return redirect("import_job", job_id=job.pk)
    jobs = ImportJob.objects.filter(created_by=member).select_related("organization")[:10]
    org_ids = network.coordinated_org_ids(member)
    # Their own file's names and numbers, for the organizations they coordinate.
    waiting = joining.waiting(None if org_ids is None else list(org_ids))
    if waiting:
        audit("import.pending_view", actor=member, shown=len(waiting))
    coalition_wide = network.is_coalition_coordinator(member)
    context = {
        "form": form,
        "jobs": jobs,
        "waiting": waiting,
        "coalition_wide": coalition_wide,
        # Each person an organization brings in is texted: so many a day (imports.py).
        "left_today": [] if coalition_wide else _left_today(list(organizations.order_by("name"))),
    }
    return render(request, "onboarding/import_start.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    context: dict = {"job": job}
    if job.file and job.status != ImportJob.Status.RUNNING:
        table = read_table(decrypt_bytes(bytes(job.file)))
        suggested, _missing = headers_for(job.kind, table, job.mapping or None)  # type: ignore[arg-type]
        form = MappingForm(
            request.POST or None,
            kind=job.kind,
            headers=job.headers,
            suggested=suggested.columns,
        )
        if request.method == "POST" and form.is_valid():
            services.import_job_start(
                job=job,
                actor=_member(request),
                mapping=form.mapping(),
                dry_run=request.POST.get("action") != "import",
                language=translation.get_language() or "",
            )
            return redirect("import_job", job_id=job.pk)
        chosen = form.mapping() if form.is_bound and form.is_valid() else suggested.columns
        mapping, missing, checked = preview(
            kind=job.kind,  # type: ignore[arg-type]
            table=table,
            organization=job.organization,
            chosen=chosen,
        )
        columns = sorted(mapping.columns.items(), key=lambda item: item[1])
        labels = [FIELD_LABELS[name] for name, _i in columns]
        problems = {p.line: p.reason for p in checked.problems}
        context.update(
            form=form,
            missing=missing,
            preview_columns=labels,
            preview_rows=[
                (
                    line,
                    [
                        (label, cells[i] if i < len(cells) else "")
                        for label, (_n, i) in zip(labels, columns, strict=True)
                    ],
                    problems.get(line, ""),
                )
                for line, cells in table.rows[:10]
            ],
            unknown=mapping.unknown,
        )
    elif request.method == "POST":
        return redirect("import_job", job_id=job.pk)
    return render(request, "onboarding/import_job.html", context)


@never_cache
@login_required
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    response = render(request, "onboarding/_import_progress.html", {"job": job})
    if job.status != ImportJob.Status.RUNNING:
        response["HX-Refresh"] = "true"  # done: show the whole result page
    return response


@never_cache
@login_required
def import_report(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    response = HttpResponse(services.report_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response
