"""The public front door: `/` for a visitor who is not signed in (members get their own home)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from vecinos.network import views as network_views
from vecinos.network.models import Role
from vecinos.onboarding import joining


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return network_views.home(request)
    return render(request, "onboarding/public_home.html")


@never_cache
@require_http_methods(["GET", "POST"])
def import_join(request: HttpRequest, token: str) -> HttpResponse:
    """The link texted to someone an organization imported: join it, or not. A button, not the
    GET, answers (a link preview must not)."""
    pending = joining.load(token)
    if pending is None:
        if joining.is_ours(token):
            # Answered already (people tap a texted link twice): say so, not "not found". Who
            # holds the link got the text; which answer it was is not repeated.
            return render(request, "onboarding/import_join.html", {"answer": "used"}, status=410)
        raise Http404
    organization = pending.organization
    answer = ""
    if request.method == "POST":
        if request.POST.get("action") == "join":
            joining.accept(pending)
            answer = "joined"
        elif request.POST.get("action") == "decline":
            joining.decline(pending)
            answer = "declined"
    roles = [str(Role(role).label) for role in pending.roles if role in Role.values]
    return render(
        request,
        "onboarding/import_join.html",
        {"organization": organization, "roles": roles, "answer": answer},
    )
