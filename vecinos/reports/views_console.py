"""The dispatcher console, incident pages, photos for the console, the duty page and the member
quick report.

Who may do what:
- The console and incident pages: ``selectors.can_use_console`` (dispatchers, coalition and
  organization coordinators, all trained). Reports and incidents belong to the whole coalition,
  not to one organization, so an organization coordinator of any member group may work the queue
  (and may break an edit lock); sending verifiers stays with dispatchers and coalition
  coordinators, as ``services.verifiers_request`` enforces.
- Photos and hotline recordings: console users, and verifiers asked to check that incident
  (signed in, or holding the signed link opened in this browser session). Recordings are
  decrypted on the way out (``services.read_media``).
- The duty page: members whose dispatcher or verifier role is in force.
- The quick report: any active signed-in member; the report carries their vetting tier.

Live parts (the queue, an incident's status and timeline) are polled by htmx. Each poll sends the
digest of what it shows; an unchanged fragment answers 204 so the page (focus, open groups) stays
still while a dispatcher works it with the keyboard.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import wraps
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from vecinos.network import selectors as network
from vecinos.network.http import member_of
from vecinos.network.models import Member, Role
from vecinos.reports import hooks, queue, selectors, services
from vecinos.reports.forms_console import (
    BanForm,
    DispatchForm,
    IncidentMergeForm,
    LockForm,
    MergeForm,
    TriageForm,
)
from vecinos.reports.models import (
    Incident,
    IncidentEvent,
    OnDuty,
    Report,
    ReportStatus,
    Triage,
    VerificationRequest,
)

LIVE_DIGEST_HEADER = "X-Live-Digest"
# Session key: verification requests whose signed link was opened in this browser.
VERIFY_SESSION_KEY = "vecinos_verify_requests"
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')

EVENT_TEXT = {
    "opened": gettext_lazy("Incident opened from report %(report)s"),
    "triaged": gettext_lazy("Report %(report)s triaged: %(tier)s"),
    "report_merged": gettext_lazy("Report %(report)s merged in"),
    "report_moved": gettext_lazy("Report %(report)s moved to incident #%(to)s"),
    "report_split": gettext_lazy("Report %(report)s split out into incident #%(to)s"),
    "incident_merged": gettext_lazy("Incident #%(source)s merged into this one"),
    "merged_into": gettext_lazy("Merged into incident #%(target)s"),
    "lock_broken": gettext_lazy("Edit lock broken"),
    "verifiers_requested": gettext_lazy("Verifiers asked: %(verifiers)s"),
    "verifier_accepted": gettext_lazy("Verifier is going"),
    "verifier_declined": gettext_lazy("Verifier declined"),
    "outcome": gettext_lazy("Outcome: %(outcome)s"),
    "closed": gettext_lazy("Incident closed"),
    "responders_asked": gettext_lazy("No verifier on duty: %(count)s responders asked to look"),
    "verified_otherwise": gettext_lazy("Verified another way (%(how)s): %(outcome)s. %(why)s"),
}
# Alerts made from the incident, with live counts from the alerts app (reports.hooks).
ALERT_EVENT_TEXT = gettext_lazy(
    "Alert #%(alert)s sent (%(label)s) to %(recipients)s people: %(sent)s messages sent, "
    "%(acknowledged)s acknowledged"
)


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "?"


# --- helpers ----------------------------------------------------------------------------------


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def console_view(view):
    """Sign-in, then the console permission. Polls of a signed-out session go to sign-in whole."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if _is_htmx(request):
                response = HttpResponse(status=204)
                current = request.headers.get("HX-Current-URL") or reverse("console")
                response["HX-Redirect"] = redirect_to_login(current).url
                return response
            return redirect_to_login(request.get_full_path())
        if not selectors.can_use_console(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(wrapped)


def _render_live(
    request: HttpRequest, template: str, context: dict[str, Any]
) -> tuple[SafeString, str]:
    """Our own template's output (safe to embed) and its digest, CSRF tokens left out."""
    html = render_to_string(template, context, request=request)
    return mark_safe(html), hashlib.sha256(_CSRF_INPUT.sub("", html).encode()).hexdigest()[:20]  # noqa: S308


def _live_response(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Render a polled fragment; 204 when the client already shows exactly this."""
    html, digest = _render_live(request, template, context)
    if request.method == "GET" and request.headers.get(LIVE_DIGEST_HEADER) == digest:
        response = HttpResponse(status=204)
    else:
        response = HttpResponse(html)
    response[LIVE_DIGEST_HEADER] = digest
    return response


def _hhmm(value) -> str:
    return time_format(timezone.localtime(value), "H:i") if value else ""


def _lock_message(holder: Member | None, until) -> str:
    return _("Being edited by %(name)s until %(time)s. Ask them, or wait until then.") % {
        "name": holder.username if holder else "?",
        "time": _hhmm(until),
    }


def _locked(request: HttpRequest, exc: services.LockedByOther, back: str) -> HttpResponse:
    message = _lock_message(exc.holder, exc.until)
    if _is_htmx(request):
        return HttpResponse(message, status=409, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    return redirect(back)


def _form_error(request: HttpRequest, form, back: str) -> HttpResponse:
    errors = [str(e) for errs in form.errors.values() for e in errs]
    message = " ".join(errors) or _("Something was missing. Try again.")
    if _is_htmx(request):
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    return redirect(back)


def _console_done(request: HttpRequest, message: str) -> HttpResponse:
    """After an action in the queue: the fresh queue for htmx, or back to the console."""
    if _is_htmx(request):
        # The page the dispatcher is on (the console's own URL carries it).
        current = parse_qs(urlsplit(request.headers.get("HX-Current-URL", "")).query)
        page = _page_number(current)
        response = _live_response(request, "reports/console/_queue.html", queue.console_queue(page))
        response["HX-Trigger"] = _hx_message(message)
        return response
    messages.success(request, message)
    return redirect("console")


def _hx_message(message: str) -> str:

    return json.dumps({"console-message": message})


def _distance_label(metres: float | None) -> str:
    if metres is None:
        return _("distance unknown")
    return _("%(km)s km") % {"km": f"{metres / 1000:.1f}"}


def _page_of(request: HttpRequest) -> int:
    return _page_number(request.GET)


def _page_number(query) -> int:
    raw = query.get("page", "1")
    raw = raw[-1] if isinstance(raw, list) else raw
    try:
        return max(1, min(int(raw), 10_000))
    except (TypeError, ValueError):
        return 1


# --- the console ------------------------------------------------------------------------------


@console_view
def console(request: HttpRequest) -> HttpResponse:
    context = queue.console_queue(_page_of(request))
    html, digest = _render_live(request, "reports/console/_queue.html", context)
    member = member_of(request)
    duty = OnDuty.objects.filter(member=member, role="dispatcher", until__gt=timezone.now())
    return render(
        request,
        "reports/console/console.html",
        {
            "queue_html": html,
            "digest": digest,
            "page": context["page"],
            "my_duty": duty.first(),
            "can_duty": network.has_role(member, Role.DISPATCHER),
            "notices": hooks.console_notices(member),
        },
    )


@console_view
def console_queue(request: HttpRequest) -> HttpResponse:
    return _live_response(
        request, "reports/console/_queue.html", queue.console_queue(_page_of(request))
    )


@console_view
@require_POST
def console_triage(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(Report, pk=report_id)
    form = TriageForm(request.POST)
    if not form.is_valid():
        return _form_error(request, form, reverse("console"))
    if report.status == ReportStatus.DRAFT:
        return _form_error_text(request, _("This report is not complete yet."), status=409)
    tier = form.cleaned_data["tier"]
    services.report_triage(report=report, tier=tier, actor=member_of(request))
    if tier == Triage.LOG:
        message = _("Report %(receipt)s logged.") % {"receipt": report.receipt}
    else:
        message = _("Report %(receipt)s: %(tier)s, incident #%(id)s.") % {
            "receipt": report.receipt,
            "tier": Triage(tier).label,
            "id": report.incident_id,
        }
    return _console_done(request, message)


def _form_error_text(request: HttpRequest, message: str, status: int) -> HttpResponse:
    if _is_htmx(request):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    return redirect("console")


@console_view
@require_POST
def console_merge(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(Report, pk=report_id)
    form = MergeForm(request.POST)
    if not form.is_valid():
        return _form_error(request, form, reverse("console"))
    incident = Incident.objects.filter(pk=form.cleaned_data["incident"]).first()
    if incident is None or incident.status == Incident.Status.CLOSED:
        return _form_error_text(request, _("That incident is closed or gone."), status=409)
    try:
        services.report_merge(report=report, incident=incident, actor=member_of(request))
    except services.LockedByOther as exc:
        return _locked(request, exc, reverse("console"))
    message = _("Report %(receipt)s merged into incident #%(id)s.") % {
        "receipt": report.receipt,
        "id": incident.pk,
    }
    back = request.POST.get("back")
    if back == "incident" and not _is_htmx(request):
        messages.success(request, message)
        return redirect("console_incident", incident.pk)
    return _console_done(request, message)


@console_view
@require_POST
def console_ban(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(Report, pk=report_id)
    form = BanForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    ban = services.ban_source(report=report, actor=member_of(request), reason=reason)
    if ban is None:
        return _form_error_text(
            request, _("This report has no source that can be banned."), status=409
        )
    return _console_done(
        request,
        _("The source of report %(receipt)s is banned. Its next reports will be refused.")
        % {"receipt": report.receipt},
    )


# --- incidents --------------------------------------------------------------------------------


def _timeline(incident: Incident) -> list[dict[str, Any]]:
    events = list(IncidentEvent.objects.filter(incident=incident).select_related("actor"))
    verifier_ids = {
        pk
        for e in events
        if e.kind == "verifiers_requested"
        for pk in e.detail.get("verifiers", [])
    }
    names = dict(Member.objects.filter(pk__in=verifier_ids).values_list("pk", "username"))
    counts = hooks.alert_counts(
        [
            e.detail["alert"]
            for e in events
            if e.kind in services.ALERT_EVENT_KINDS and isinstance(e.detail.get("alert"), int)
        ]
    )
    rows = []
    for event in events:
        detail = _Lenient(event.detail or {})
        if event.kind in services.ALERT_EVENT_KINDS:
            detail.update(counts.get(event.detail.get("alert"), {}))
            rows.append(
                {
                    "at": event.created_at,
                    "actor": event.actor.username if event.actor else "",
                    "text": str(ALERT_EVENT_TEXT) % detail,
                }
            )
            continue
        if event.kind == "triaged" and detail.get("tier") in Triage.values:
            detail["tier"] = Triage(detail["tier"]).label
        if event.kind == "verified_otherwise":  # views_notify: the "why" is stored encrypted
            from vecinos.reports.views_notify import event_detail

            detail.update(event_detail(detail))
        if event.kind == "outcome" and detail.get("outcome") in Incident.Status.values:
            detail["outcome"] = Incident.Status(detail["outcome"]).label
        if event.kind == "verifiers_requested":
            detail["verifiers"] = ", ".join(
                names.get(pk, "?") for pk in event.detail.get("verifiers", [])
            )
        template = EVENT_TEXT.get(event.kind)
        rows.append(
            {
                "at": event.created_at,
                "actor": event.actor.username if event.actor else "",
                "text": (str(template) % detail) if template else event.kind,
            }
        )
    return rows


def _live_context(incident: Incident, user: Member) -> dict[str, Any]:
    now = timezone.now()
    locked = bool(incident.lock_holder_id and incident.lock_until and incident.lock_until > now)
    # km_label is added here for the template.
    requests: list[Any] = list(
        VerificationRequest.objects.filter(incident=incident)
        .select_related("verifier")
        .order_by("created_at", "id")
    )
    for vr in requests:
        vr.km_label = _distance_label(vr.distance_m) if vr.distance_m is not None else ""
    return {
        "incident": incident,
        "lock": {
            "active": locked,
            "mine": locked and incident.lock_holder_id == user.pk,
            "holder": incident.lock_holder if locked else None,
            "until": incident.lock_until if locked else None,
            "message": _lock_message(incident.lock_holder, incident.lock_until) if locked else "",
        },
        "can_break": network.is_coordinator(user),
        "requests": requests,
        "timeline": _timeline(incident),
    }


def _load_incident(incident_id: int) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related("zone", "lock_holder", "verified_by"), pk=incident_id
    )


def _merge_targets(incident: Incident) -> list[tuple[int, str]]:
    """Open incidents to merge this one into (nearby first, then the most recent), labelled."""
    return [
        (
            other.pk,
            f"#{other.pk} · {other.get_activity_display()} · {_distance_label(metres)} · "
            f"{_hhmm(other.created_at)}",
        )
        for other, metres in queue.incident_merge_targets(incident)
    ]


def _dispatch_choices(incident: Incident, asked: set[int]) -> list[tuple[int, str]]:
    return [
        (member.pk, f"{member.username} · {_distance_label(metres)}")
        for member, metres in services.verifiers_ranked(incident)
        if member.pk not in asked
    ]


@console_view
def console_incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _load_incident(incident_id)
    member = member_of(request)
    live = _live_context(incident, member)
    reports = list(
        Report.objects.filter(incident=incident)
        .select_related("zone")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    asked = {r.verifier_id for r in live["requests"]}
    choices = _dispatch_choices(incident, asked)
    # Nobody asked yet: the nearest verifier on duty is ticked, so one press asks them (outside
    # walk, session 17: the console's "send a verifier" led to an incident with none ticked).
    nearest = {"verifiers": [choices[0][0]]} if choices and not asked else None
    dispatch_form = DispatchForm(choices=choices, initial=nearest)
    merge_form = IncidentMergeForm(choices=_merge_targets(incident))
    live_html, digest = _render_live(request, "reports/console/_incident_live.html", live)
    return render(
        request,
        "reports/console/incident.html",
        {
            **live,
            "reports": reports,
            "outcome_photos": list(incident.attachments.all()),
            "dispatch_form": dispatch_form,
            "merge_form": merge_form,
            "can_dispatch": selectors.can_dispatch(member),
            "live_html": live_html,
            "digest": digest,
        },
    )


@console_view
def console_incident_live(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _load_incident(incident_id)
    return _live_response(
        request, "reports/console/_incident_live.html", _live_context(incident, member_of(request))
    )


def _incident_done(request: HttpRequest, incident: Incident, message: str) -> HttpResponse:
    if _is_htmx(request):
        incident = _load_incident(incident.pk)
        response = _live_response(
            request,
            "reports/console/_incident_live.html",
            _live_context(incident, member_of(request)),
        )
        response["HX-Trigger"] = _hx_message(message)
        return response
    messages.success(request, message)
    return redirect("console_incident", incident.pk)


@console_view
@require_POST
def console_lock(request: HttpRequest, incident_id: int) -> HttpResponse:
    actor = member_of(request)
    incident = _load_incident(incident_id)
    back = reverse("console_incident", args=[incident.pk])
    form = LockForm(request.POST)
    if not form.is_valid():
        return _form_error(request, form, back)
    action = form.cleaned_data["action"]
    if action == "take":
        try:
            incident = services.lock_acquire(incident=incident, actor=actor)
        except services.LockedByOther as exc:
            return _locked(request, exc, back)
        message = _("You are editing this incident until %(time)s.") % {
            "time": _hhmm(incident.lock_until)
        }
    elif action == "release":
        services.lock_release(incident=incident, actor=actor)
        message = _("You stopped editing this incident.")
    else:
        try:
            services.lock_break(incident=incident, actor=actor)
        except services.NotAllowed:
            raise PermissionDenied from None
        message = _("The edit lock is broken. Anyone can now take it.")
    return _incident_done(request, incident, message)


@console_view
@require_POST
def console_split(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(Report.objects.select_related("incident"), pk=report_id)
    old = report.incident
    back = reverse("console_incident", args=[old.pk]) if old else reverse("console")
    try:
        new = services.report_split(report=report, actor=member_of(request))
    except services.LockedByOther as exc:
        return _locked(request, exc, back)
    messages.success(
        request,
        _("Report %(receipt)s is now incident #%(id)s.")
        % {"receipt": report.receipt, "id": new.pk},
    )
    return redirect(back if old else reverse("console_incident", args=[new.pk]))


@console_view
@require_POST
def console_incident_merge(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _load_incident(incident_id)
    back = reverse("console_incident", args=[incident.pk])
    form = IncidentMergeForm(request.POST, choices=_merge_targets(incident))
    if not form.is_valid():
        return _form_error(request, form, back)
    target = _load_incident(form.cleaned_data["target"])
    try:
        services.incident_merge(source=incident, target=target, actor=member_of(request))
    except services.LockedByOther as exc:
        return _locked(request, exc, back)
    messages.success(
        request,
        _("Incident #%(source)s was merged into this incident.") % {"source": incident.pk},
    )
    return redirect("console_incident", target.pk)


@console_view
@require_POST
def console_close(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _load_incident(incident_id)
    try:
        services.incident_close(incident=incident, actor=member_of(request))
    except services.LockedByOther as exc:
        return _locked(request, exc, reverse("console_incident", args=[incident.pk]))
    messages.success(request, _("Incident #%(id)s is closed.") % {"id": incident.pk})
    return redirect("console")


@console_view
@require_POST
def console_dispatch(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _load_incident(incident_id)
    back = reverse("console_incident", args=[incident.pk])
    actor = member_of(request)
    if not selectors.can_dispatch(actor):
        raise PermissionDenied
    asked = set(
        VerificationRequest.objects.filter(incident=incident).values_list("verifier_id", flat=True)
    )
    form = DispatchForm(request.POST, choices=_dispatch_choices(incident, asked))
    if not form.is_valid():
        return _form_error(request, form, back)
    verifiers = list(Member.objects.filter(pk__in=form.cleaned_data["verifiers"]))
    try:
        created = services.verifiers_request(incident=incident, verifiers=verifiers, actor=actor)
    except services.LockedByOther as exc:
        return _locked(request, exc, back)
    except services.NotAllowed:
        raise PermissionDenied from None
    message = _("Asked %(n)s verifier(s) by text message: %(names)s.") % {
        "n": len(created),
        "names": ", ".join(r.verifier.username for r in created) or "-",
    }
    return _incident_done(request, incident, message)
