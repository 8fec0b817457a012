"""Coalition settings, edited by a coalition coordinator."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from vecinos.core.coalition import settings_row
from vecinos.network import selectors as network
from vecinos.onboarding import services
from vecinos.onboarding.forms_coalition import CoalitionSettingsForm


def _initial() -> dict:
    row = settings_row()
    initial = {
        "name": row.name,
        "short_name": row.short_name,
        "public_contact": row.public_contact,
        "accent_color": row.accent_color,
        "languages": row.languages,
        "time_zone": row.time_zone,
        "hotline_default": (row.hotline or {}).get("default", ""),
    }
    for code, _label in settings.LANGUAGES:
        initial[f"hotline_{code}"] = (row.hotline or {}).get(code, "")
    return initial


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def coalition_settings(request: HttpRequest) -> HttpResponse:
    member = request.user
    if not network.is_coalition_coordinator(member):  # type: ignore[arg-type]
        raise PermissionDenied
    form = CoalitionSettingsForm(request.POST or None, request.FILES or None, initial=_initial())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.coalition_settings_update(
                actor=member,  # type: ignore[arg-type]
                name=data["name"].strip(),
                short_name=data["short_name"],
                hotline=form.hotline(),
                public_contact=data["public_contact"].strip(),
                accent_color=data["accent_color"],
                languages=list(data["languages"]),
                time_zone=data["time_zone"],
                logo=data["logo"].read() if data.get("logo") else None,
                remove_logo=data["remove_logo"],
            )
        except services.LogoInvalid:
            form.add_error("logo", _("The logo must be a PNG, JPEG or WebP image."))
        else:
            messages.success(request, _("Coalition settings saved."))
            return redirect("coalition_settings")
    return render(request, "onboarding/coalition_settings.html", {"form": form})
