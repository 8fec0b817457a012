"""'My requests': a verifier's open verification requests, with the signed links' actions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from vecinos.reports import selectors, services


@never_cache
@login_required
@require_GET
def my_requests(request: HttpRequest) -> HttpResponse:
    member = request.user
    if not selectors.can_verify(member):  # type: ignore[arg-type]
        raise PermissionDenied
    rows = []
    for vr in selectors.open_requests_for(member):
        link = services.signed_request_link(vr)
        rows.append((vr, link.split("/v/", 1)[1].rstrip("/")))
    return render(request, "reports/member/my_requests.html", {"rows": rows})
