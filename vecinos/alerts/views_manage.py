"""Managing the alerts service: opt-outs (import, undo), the outbox, the CAP and Atom feeds."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from vecinos.alerts import cap, selectors, services
from vecinos.alerts.forms import (
    OptOutImportForm,
    OptOutUndoForm,
)
from vecinos.network.http import member_of
from vecinos.network.phones import phone_index

# --- opt-outs and the outbox ----------------------------------------------------------------------


@never_cache
@login_required
def optouts(request: HttpRequest) -> HttpResponse:
    actor = member_of(request)
    if not selectors.can_manage_optouts(actor):
        raise PermissionDenied
    import_form = OptOutImportForm()
    undo_form = OptOutUndoForm()
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "import":
            import_form = OptOutImportForm(request.POST, request.FILES)
            if import_form.is_valid():
                try:
                    result = services.opt_out_import(
                        phones=import_form.cleaned_data["lines"], actor=actor
                    )
                except services.NotAllowed:
                    raise PermissionDenied from None
                # Numbers newly on the list (each once): the page's total grows by as many.
                said = ngettext(
                    "%(counter)s number was added to the stop list.",
                    "%(counter)s numbers were added to the stop list.",
                    result["added"],
                ) % {"counter": result["added"]}
                if result["already"]:
                    said += " " + ngettext(
                        "%(counter)s was already on it.",
                        "%(counter)s were already on it.",
                        result["already"],
                    ) % {"counter": result["already"]}
                if result["invalid"]:
                    said += " " + ngettext(
                        "%(invalid)s line was not a phone number.",
                        "%(invalid)s lines were not phone numbers.",
                        result["invalid"],
                    ) % {"invalid": result["invalid"]}
                messages.success(request, said)
                return redirect("optouts")
        elif action == "undo":
            undo_form = OptOutUndoForm(request.POST)
            if undo_form.is_valid():
                index = phone_index(undo_form.cleaned_data["phone"])
                try:
                    undone = services.opt_out_undo(index=index, actor=actor)
                except services.NotAllowed:
                    raise PermissionDenied from None
                if undone:
                    messages.success(request, _("That number is off the stop list."))
                else:
                    messages.warning(request, _("That number is not on the stop list."))
                return redirect("optouts")
    return render(
        request,
        "alerts/optouts.html",
        {"import_form": import_form, "undo_form": undo_form, "counts": selectors.optout_counts()},
    )


@never_cache
@login_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    if not selectors.can_see_outbox(member_of(request)):
        raise PermissionDenied
    rows = selectors.outbox()
    for row in rows:
        row.masked = selectors.mask_address(row.address)
        row.body_masked = selectors.mask_body(row.body)
    return render(
        request,
        "alerts/outbox.html",
        {"rows": rows, "limit": selectors.OUTBOX_LIMIT, "console": _console_transport()},
    )


def _console_transport() -> bool:
    return any("console" in conf.get("path", "") for conf in settings.TRANSPORTS.values())


# --- CAP and Atom ---------------------------------------------------------------------------------


@require_GET
def cap_feed(request: HttpRequest) -> HttpResponse:
    body = cap.atom_feed(selectors.public_alerts())
    response = HttpResponse(body, content_type="application/atom+xml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=30"
    return response


@require_GET
def cap_alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.public_alert(alert_id)
    if alert is None:
        raise Http404
    response = HttpResponse(cap.cap_xml(alert), content_type="application/xml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=30"
    return response
