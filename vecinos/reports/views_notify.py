"""The console's heartbeat, and what a dispatcher does when no verifier is on duty."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from vecinos.core.crypto import decrypt
from vecinos.reports import notify, selectors, verify_otherwise
from vecinos.reports.models import Incident
from vecinos.reports.services import OUTCOMES, LockedByOther, NotAllowed

HOW_CHOICES = [
    ("phone", gettext_lazy("By phone (someone there called back)")),
    ("partner", gettext_lazy("A trusted partner's report")),
    ("other", gettext_lazy("Another way")),
]


class VerifiedOtherwiseForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("What was found"),
        choices=[(o.value, o.label) for o in OUTCOMES],
    )
    how = forms.ChoiceField(label=gettext_lazy("How it was verified"), choices=HOW_CHOICES)
    why = forms.CharField(
        label=gettext_lazy("Who confirmed it and why you trust it"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Say who confirmed it and why.")},
    )


def _dispatcher(request: HttpRequest):
    member = request.user
    if not selectors.can_dispatch(member):  # type: ignore[arg-type]
        raise PermissionDenied
    return member


@login_required
@require_POST
def console_heartbeat(request: HttpRequest) -> HttpResponse:
    notify.console_heartbeat(member=_dispatcher(request))
    return HttpResponse(status=204)


@login_required
@require_POST
def incident_ask_responders(request: HttpRequest, incident_id: int) -> HttpResponse:
    member = _dispatcher(request)
    incident = get_object_or_404(Incident.objects.select_related("zone"), pk=incident_id)
    try:
        count = verify_otherwise.responders_ask(incident=incident, actor=member)
    except NotAllowed:
        raise PermissionDenied from None
    except LockedByOther:
        messages.error(request, _("Someone else is editing this incident."))
        return redirect("console_incident", incident.pk)
    if count:
        messages.success(request, _("%(count)s responders were asked to look.") % {"count": count})
    else:
        messages.warning(request, _("No vouched responder with a phone was found."))
    return redirect("console_incident", incident.pk)


@login_required
@require_POST
def incident_verified_otherwise(request: HttpRequest, incident_id: int) -> HttpResponse:
    member = _dispatcher(request)
    incident = get_object_or_404(Incident, pk=incident_id)
    form = VerifiedOtherwiseForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("console_incident", incident.pk)
    try:
        verify_otherwise.incident_verified_otherwise(
            incident=incident,
            actor=member,
            outcome=form.cleaned_data["outcome"],
            how=form.cleaned_data["how"],
            why=form.cleaned_data["why"],
        )
    except NotAllowed:
        raise PermissionDenied from None
    except LockedByOther:
        messages.error(request, _("Someone else is editing this incident."))
        return redirect("console_incident", incident.pk)
    messages.success(request, _("Recorded as verified another way."))
    return redirect("console_incident", incident.pk)


def event_detail(detail: dict) -> dict:
    """The timeline text's values for a "verified another way" event (why decrypted)."""

    out = dict(detail)
    out["how"] = str(dict(HOW_CHOICES).get(detail.get("how", ""), "?"))
    if detail.get("outcome") in Incident.Status.values:
        out["outcome"] = Incident.Status(detail["outcome"]).label
    try:
        out["why"] = decrypt(detail.get("why", ""))
    except Exception:  # noqa: BLE001 - a purged or foreign key: show nothing rather than fail
        out["why"] = ""
    return out
