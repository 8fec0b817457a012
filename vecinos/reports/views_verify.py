"""The verifier's pages, opened from the signed link in the request text message.

No sign-in is needed: the signed, expiring link is the credential. It stops working when it
expires (24 hours), when its signature does not match (410 either way), or when the verifier is
deactivated or loses the verifier role. Someone signed in as a different member is refused, so
a link forwarded to (or opened on the laptop of) someone else does not let them report an outcome
in the verifier's name.

Opening a valid link also lets this browser session see the incident's photos (console_media),
only while the request is open (asked or going, the incident not closed): once the verifier
reported back, or the request was cancelled, the link and that session see nothing more.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from vecinos.reports import selectors, services
from vecinos.reports.forms_console import OutcomeForm, RespondForm
from vecinos.reports.models import Incident, Report, VerificationRequest
from vecinos.reports.views_console import VERIFY_SESSION_KEY

OPEN_STATUSES = (
    VerificationRequest.Status.SENT,
    VerificationRequest.Status.ACCEPTED,
    VerificationRequest.Status.DECLINED,
)


class _Gone(Exception):
    pass


def _gone(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/verify/gone.html", status=410)


def _load(request: HttpRequest, token: str) -> VerificationRequest:
    vr = services.load_signed_request(token)
    if vr is None or not vr.verifier.is_active or not selectors.can_verify(vr.verifier):
        raise _Gone
    if request.user.is_authenticated and request.user.pk != vr.verifier_id:
        raise PermissionDenied
    granted = request.session.get(VERIFY_SESSION_KEY) or []
    if vr.pk not in granted:
        request.session[VERIFY_SESSION_KEY] = [*granted[-19:], vr.pk]
    return vr


def _signed(view):
    def wrapped(request: HttpRequest, token: str) -> HttpResponse:
        try:
            vr = _load(request, token)
        except _Gone:
            return _gone(request)
        return view(request, token, vr)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return never_cache(wrapped)


def _context(token: str, vr: VerificationRequest, **extra: Any) -> dict[str, Any]:
    incident = vr.incident
    # Once the request is over (cancelled, or the incident closed: someone else reported back)
    # the page says so, without the reports.
    reports = (
        list(
            Report.objects.filter(incident=incident)
            .prefetch_related("attachments")
            .order_by("created_at", "id")
        )
        if incident.status != Incident.Status.CLOSED
        and vr.status != VerificationRequest.Status.CANCELLED
        else []
    )
    agents = [r.agents_count for r in reports if r.agents_count is not None]
    vehicles = [r.vehicles_count for r in reports if r.vehicles_count is not None]
    return {
        "token": token,
        "vr": vr,
        "incident": incident,
        "reports": reports,
        "agents": max(agents) if agents else None,
        "vehicles": max(vehicles) if vehicles else None,
        "open": vr.status in OPEN_STATUSES and incident.status != Incident.Status.CLOSED,
        **extra,
    }


@_signed
def verify_request(request: HttpRequest, token: str, vr: VerificationRequest) -> HttpResponse:
    if vr.status == VerificationRequest.Status.DONE:
        return redirect("verify_thanks", token)
    return render(request, "reports/verify/request.html", _context(token, vr, form=OutcomeForm()))


@require_POST
@_signed
def verify_respond(request: HttpRequest, token: str, vr: VerificationRequest) -> HttpResponse:
    form = RespondForm(request.POST)
    if vr.status not in OPEN_STATUSES or not form.is_valid():
        return redirect("verify_request", token)
    services.verification_respond(request=vr, accept=form.cleaned_data["accept"])
    url = reverse("verify_request", args=[token])
    return redirect(url + ("#outcome" if form.cleaned_data["accept"] else ""))


@require_POST
@_signed
def verify_outcome(request: HttpRequest, token: str, vr: VerificationRequest) -> HttpResponse:
    if vr.status not in OPEN_STATUSES or vr.incident.status == Incident.Status.CLOSED:
        return render(
            request, "reports/verify/request.html", _context(token, vr, form=None), status=409
        )
    form = OutcomeForm(request.POST, request.FILES)
    if form.is_valid():
        photos = [(upload.read(), upload.name) for upload in form.cleaned_data["photos"]]
        try:
            services.verification_outcome(
                request=vr,
                outcome=form.cleaned_data["outcome"],
                notes=form.cleaned_data["notes"],
                photos=photos,
            )
        except services.ReportInvalid as exc:
            for message in exc.errors.values():
                form.add_error("photos", message)
        else:
            return redirect("verify_thanks", token)
    return render(
        request, "reports/verify/request.html", _context(token, vr, form=form), status=400
    )


@_signed
def verify_thanks(request: HttpRequest, token: str, vr: VerificationRequest) -> HttpResponse:
    if vr.status != VerificationRequest.Status.DONE:
        return redirect("verify_request", token)
    return render(request, "reports/verify/thanks.html", {"vr": vr, "incident": vr.incident})
