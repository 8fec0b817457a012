"""The phone simulator (development only): read what the console transport "sent".

With the console transport nothing leaves the server, so the demo's people could never read
their verify, acknowledge or subscribe links. This page shows each fictional phone's messages
with working links. It is not routed at all when VECINOS_ENV=production, and answers 404
whenever a real provider sends text messages.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from vecinos.messaging import selectors as messaging_selectors
from vecinos.network.models import Member
from vecinos.network.phones import phone_index

LIMIT = 300


def simulator_enabled() -> bool:
    return not settings.PRODUCTION and not messaging_selectors.channel_configured("sms")


@never_cache
@require_GET
def phone_simulator(request: HttpRequest) -> HttpResponse:
    if not simulator_enabled():
        raise Http404
    messages = messaging_selectors.outbox_recent(LIMIT)
    phones: dict[str, int] = {}
    for message in messages:
        phones[message.address] = phones.get(message.address, 0) + 1
    selected = request.GET.get("to", "")
    if selected not in phones:
        selected = ""
    names = {}
    by_index = {phone_index(a): a for a in phones if a.startswith("+")}
    for member in Member.objects.filter(phone_index__in=list(by_index)).only(
        "username", "phone_index"
    ):
        names[by_index[member.phone_index]] = member.username
    shown = [m for m in messages if not selected or m.address == selected]
    # Links point at VECINOS_PUBLIC_URL; open them on the address this page was opened at.
    here = request.build_absolute_uri("/").rstrip("/")
    for message in shown:
        if settings.PUBLIC_URL and here != settings.PUBLIC_URL:
            message.body = message.body.replace(settings.PUBLIC_URL, here)
    return render(
        request,
        "onboarding/phone_simulator.html",
        {
            "phones": [(a, names.get(a, ""), n) for a, n in phones.items()],
            "selected": selected,
            "selected_name": names.get(selected, ""),
            "shown": shown,
        },
    )
