"""Pages of the alerts app.

Who may do what:
- Alerts list, compose, detail, live progress, phone-tree view, outbox: ``services.can_alert``
  (dispatchers, coalition and organization coordinators, all trained). Approving a public alert
  takes a second, different one of them (``services.alert_approve`` enforces it).
- The outbox: the same people. Opt-out imports and undo: coordinators.
- The captain page: members whose captain role is in force; it is the only page that shows a
  phone number, only the assigned captain's own calls, and every view of it is audited.
- The acknowledgement link and the public subscribe pages: anyone holding the link / anyone,
  rate-limited. They never say whether a number is already subscribed or opted out.
- My alerts: any signed-in member, for their own subscription only.

Alert pages never show a phone number: a recipient is a member's username or "subscriber #id".

This module holds what the alerts pages share (views_compose, views_ack, views_subscribe,
views_manage): the alerting-permission decorator and small helpers.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

import phonenumbers
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from vecinos.alerts import selectors
from vecinos.alerts.models import Alert
from vecinos.core.clientip import limit_key
from vecinos.core.privacy import source_key
from vecinos.network.http import member_of

# --- helpers ----------------------------------------------------------------------------------


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def alerting_view(view):
    """Sign-in, then the alerting permission. A signed-out poll sends the whole page to sign-in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if _is_htmx(request):
                response = HttpResponse(status=204)
                current = request.headers.get("HX-Current-URL") or reverse("alerts")
                response["HX-Redirect"] = redirect_to_login(current).url
                return response
            return redirect_to_login(request.get_full_path())
        if not selectors.can_alert(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(wrapped)


def _alert_or_404(request: HttpRequest, alert_id: int) -> Alert:
    alert = selectors.alert_get(alert_id, member_of(request))
    if alert is None:
        raise Http404
    return alert


def _client_key(request: HttpRequest) -> str:
    return source_key(limit_key(request))


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/too_many.html", status=429)


def _display_phone(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)
