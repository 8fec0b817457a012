"""Public pages of the reports app: the report form, its receipt and the rumor check.

No sign-in needed. The client address is only ever turned into a rotating keyed hash
(services.check_source); it is never stored, logged or shown.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods

from vecinos.core.clientip import limit_key
from vecinos.reports import selectors, services
from vecinos.reports.forms import ReportForm
from vecinos.reports.models import Incident

RECEIPT_RE = re.compile(rf"^[{services.RECEIPT_ALPHABET}]{{4}}-[{services.RECEIPT_ALPHABET}]{{4}}$")


def too_many(request: HttpRequest) -> HttpResponse:
    """One answer for "over the limit" and "banned": a flooder learns nothing from it."""
    response = render(request, "reports/public/too_many.html", status=429)
    response["Retry-After"] = str(settings.REPORT_RATE_WINDOW)
    return response


# A report's text fields fit well under this; a bigger body carries photos.
UPLOAD_BODY_BYTES = 64 * 1024


def _carries_uploads(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > UPLOAD_BODY_BYTES
    except ValueError:
        return True


@never_cache
@require_http_methods(["GET", "POST"])
def report_form(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # The source first, from the headers alone: a banned or over-limit source is refused
        # before its body (photos) is parsed or decoded.
        try:
            services.precheck_source(
                limit_key(request), bucket="web", uploads=_carries_uploads(request)
            )
        except (services.RateLimited, services.Banned):
            return too_many(request)
        form = ReportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                key = services.check_source(limit_key(request), bucket="web")
            except (services.RateLimited, services.Banned):
                return too_many(request)
            member = request.user if request.user.is_authenticated else None
            try:
                report = services.report_submit(
                    data=form.to_input(language=get_language(), reporter_member=member),
                    source_key_value=key,
                )
            except services.ReportInvalid as exc:
                form.add_service_errors(exc.errors)
            else:
                return redirect("report_thanks", receipt=report.receipt)
    else:
        form = ReportForm()
    return render(
        request,
        "reports/public/report_form.html",
        {
            "form": form,
            "retention_days": settings.REPORT_RETENTION_DAYS,
            "signed_in_as": request.user if request.user.is_authenticated else None,
        },
    )


@require_GET
@cache_control(private=True, no_store=True)
def report_thanks(request: HttpRequest, receipt: str) -> HttpResponse:
    # No database lookup on purpose: receipts can be guessed, so this page says nothing about a
    # report and cannot be used to learn whether one exists.
    if not RECEIPT_RE.match(receipt):
        raise Http404
    return render(request, "reports/public/thanks.html", {"receipt": receipt})


def _hour(dt: datetime | None, tz: tzinfo) -> datetime | None:
    if dt is None:
        return None
    return dt.astimezone(tz).replace(minute=0, second=0, microsecond=0)


@require_GET
@cache_control(max_age=60)
def rumors(request: HttpRequest) -> HttpResponse:
    tz = timezone.get_default_timezone()  # the coalition's time zone (settings.TIME_ZONE)
    rows = []
    for incident in selectors.public_rumors():
        # Coarse data only: never coordinates, place text or anything about who reported.
        hour = _hour(incident.created_at, tz)
        rows.append(
            {
                "confirmed": incident.outcome == Incident.Status.CONFIRMED,
                # The latest word sent about it: an all-clear or a correction outranks
                # "Confirmed" (alert_sent, alert_all_clear, alert_correction or None).
                "alert_state": getattr(incident, "alert_state", None),
                "activity": incident.get_activity_display(),
                "agency": incident.get_agency_display(),
                "zone": incident.zone.name if incident.zone_id and incident.zone else "",
                "cell": incident.cell7,
                "hour": hour,
                "hour_end": hour + timedelta(hours=1) if hour else None,
                "checked": _hour(incident.verified_at, tz),
            }
        )
    return render(request, "reports/public/rumors.html", {"rows": rows, "time_zone": tz})
