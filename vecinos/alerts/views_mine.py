"""'My alerts': the alerts a member received, each with its acknowledge button."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from vecinos.alerts import selectors, services


@never_cache
@login_required
@require_GET
def my_alerts(request: HttpRequest) -> HttpResponse:
    rows = []
    signer = signing.TimestampSigner(salt="vecinos.ack")
    for recipient in selectors.received_alerts(request.user):
        text, lang = services.message_for(recipient.alert, recipient.language)
        rows.append((recipient, services.ack_token(recipient.pk, signer), text, lang))
    return render(request, "alerts/my_alerts.html", {"rows": rows})
