"""Member pages of the reports pipeline: the duty page (dispatchers and verifiers mark themselves
on duty) and the member quick report (any active signed-in member; it carries their tier)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from vecinos.network import selectors as network
from vecinos.network.http import member_of
from vecinos.reports import selectors, services
from vecinos.reports.forms_console import (
    DutyEndForm,
    DutyForm,
    QuickReportForm,
)
from vecinos.reports.models import (
    OnDuty,
    Report,
)
from vecinos.reports.views_console import _hhmm

# --- duty ------------------------------------------------------------------------------------


@never_cache
@login_required
def duty(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    if not selectors.can_take_duty(member):
        raise PermissionDenied
    roles = [r for r in ("dispatcher", "verifier") if network.has_role(member, r)]
    form = DutyForm(roles=roles)
    if request.method == "POST":
        if request.POST.get("action") == "end":
            end = DutyEndForm(request.POST)
            if end.is_valid() and end.cleaned_data["role"] in roles:
                services.duty_end(member=member, role=end.cleaned_data["role"])
                messages.success(request, _("You are off duty. Thank you."))
            return redirect("duty")
        form = DutyForm(request.POST, roles=roles)
        if form.is_valid():
            data = form.cleaned_data
            try:
                shift = services.duty_start(
                    member=member,
                    role=data["role"],
                    hours=data["hours"],
                    lat=data["lat"],
                    lng=data["lng"],
                )
            except services.NotAllowed:
                raise PermissionDenied from None
            messages.success(
                request,
                _("You are on duty until %(time)s.") % {"time": _hhmm(shift.until)},
            )
            return redirect("duty")
    shifts = {d.role: d for d in OnDuty.objects.filter(member=member, until__gt=timezone.now())}
    return render(
        request,
        "reports/console/duty.html",
        {
            "form": form,
            "rows": [(role, shifts.get(role)) for role in roles],
            "role_labels": {"dispatcher": _("Dispatcher"), "verifier": _("Verifier")},
            "can_console": selectors.can_use_console(member),
        },
    )


# --- member quick report -------------------------------------------------------------------------

QUICK_RECEIPT_KEY = "vecinos_quick_receipt"


def _refused(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    return render(request, "error.html", {"title": title, "message": message}, status=status)


@never_cache
@login_required
def quick_report(request: HttpRequest) -> HttpResponse:
    user = member_of(request)
    if not selectors.can_quick_report(user):
        raise PermissionDenied
    form = QuickReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                key = services.check_source(f"member:{user.pk}", bucket="member")
            except services.Banned:
                return _refused(
                    request,
                    _("Reports are paused"),
                    _(
                        "Reports from your account are paused. Call the hotline or your "
                        "coordinator."
                    ),
                    403,
                )
            except services.RateLimited:
                return _refused(
                    request,
                    _("Too many reports"),
                    _(
                        "You sent many reports in a short time. Wait a few minutes, or call the "
                        "hotline if it is urgent."
                    ),
                    429,
                )
            data = form.cleaned_data
            try:
                report = services.report_submit(
                    data=services.ReportInput(
                        channel="patrol",
                        language=(get_language() or user.preferred_language or "es")[:8],
                        activity=data["activity"],
                        agents_count=form.count,
                        lat=data["lat"],
                        lng=data["lng"],
                        place_text=data["place_text"],
                        reporter_member=user,
                    ),
                    source_key_value=key,
                )
            except services.ReportInvalid as exc:
                for name, message in exc.errors.items():
                    target = name if name in form.fields else None
                    form.add_error(target, message)
            else:
                request.session[QUICK_RECEIPT_KEY] = report.receipt
                return redirect("quick_report_done")
        status = 400
    return render(request, "reports/member/quick_report.html", {"form": form}, status=status)


@never_cache
@login_required
def quick_report_done(request: HttpRequest) -> HttpResponse:
    receipt = request.session.get(QUICK_RECEIPT_KEY)
    if not receipt:
        return redirect("quick_report")
    report = Report.objects.filter(receipt=receipt, reporter_member=member_of(request)).first()
    if report is None:
        return redirect("quick_report")
    return render(request, "reports/member/quick_report_done.html", {"report": report})
