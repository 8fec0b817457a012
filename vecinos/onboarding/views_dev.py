"""The phone simulator (development only): read what the console transport "sent".

With the console transport nothing leaves the server, so the demo's people could never read
their verify, acknowledge or subscribe links. This page shows each fictional phone's messages
with working links. It is not routed at all when VECINOS_ENV=production, and answers 404
whenever a real provider sends text messages.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages as notices
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from vecinos.messaging import selectors as messaging_selectors
from vecinos.messaging.views import answer_sms
from vecinos.network.models import Member
from vecinos.network.phones import InvalidPhone, normalize_phone, phone_index

LIMIT = 300


def simulator_enabled() -> bool:
    return not settings.PRODUCTION and not messaging_selectors.channel_configured("sms")


class ReplyForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("Phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
    )
    body = forms.CharField(label=gettext_lazy("Message"), max_length=160)

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except InvalidPhone:
            raise forms.ValidationError(
                gettext_lazy("Enter a valid phone number, for example (213) 555-0134.")
            ) from None


SESSION_KEY = "phone_simulator_texts"
KEPT = 50


@dataclass
class _Texted:
    """A text this browser sent from a phone (``sent``), or our answer to it, shown in the
    phone's thread beside what the console transport sent it."""

    created_at: datetime
    address: str
    body: str
    sent: bool
    channel: str = "sms"
    subject: str = ""


def _remember(request: HttpRequest, phone: str, text: str, answer: str) -> None:
    """The conversation stays on the page (outside walk, session 19: a reply showed once, as
    a banner, and was gone). Kept in this browser's session only, the last KEPT texts."""
    kept = list(request.session.get(SESSION_KEY) or [])
    kept.append([timezone.now().isoformat(), phone, text, answer])
    request.session[SESSION_KEY] = kept[-KEPT:]


def _texted(request: HttpRequest) -> list[_Texted]:
    out = []
    for row in request.session.get(SESSION_KEY) or []:
        try:
            at, phone, text, answer = row
            when = datetime.fromisoformat(at)
        except (TypeError, ValueError):
            continue  # a session from another version: skipped, never a 500
        out.append(_Texted(when, phone, text, sent=True))
        if answer:
            # Just after the text it answers, so it sorts above it (newest first).
            out.append(_Texted(when + timedelta(microseconds=1), phone, answer, sent=False))
    return out


@never_cache
@require_http_methods(["GET", "POST"])
def phone_simulator(request: HttpRequest) -> HttpResponse:
    if not simulator_enabled():
        raise Http404
    reply_form = ReplyForm(request.POST or None, initial={"phone": request.GET.get("to", "")})
    if request.method == "POST" and reply_form.is_valid():
        # As if that phone had texted our number: the webhook's own handling, and its answer.
        phone, body = reply_form.cleaned_data["phone"], reply_form.cleaned_data["body"]
        answer = answer_sms(phone, body, f"SIM{secrets.token_hex(16)}")
        _remember(request, phone, body, answer or "")
        notices.info(request, _("%(phone)s texted: %(text)s") % {"phone": phone, "text": body})
        notices.info(
            request, _("Answer: %(text)s") % {"text": answer} if answer else _("No answer.")
        )
        return redirect(f"{reverse('phone_simulator')}?{urlencode({'to': phone})}")
    messages: list[Any] = messaging_selectors.outbox_recent(LIMIT)
    phones: dict[str, int] = {}
    everything = [*messages, *_texted(request)]
    for message in everything:
        phones[message.address] = phones.get(message.address, 0) + 1
    selected = request.GET.get("to", "")
    if selected not in phones:
        # A phone that has had nothing yet (it has just texted us, say): its own empty thread,
        # not every phone's messages (outside walk, session 19).
        try:
            known = normalize_phone(selected) == selected
        except InvalidPhone:
            known = False
        if known:
            phones[selected] = 0
        else:
            selected = ""
    names = {}
    by_index = {phone_index(a): a for a in phones if a.startswith("+")}
    for member in Member.objects.filter(phone_index__in=list(by_index)).only(
        "username", "phone_index"
    ):
        names[by_index[member.phone_index]] = member.username
    # What this browser texted from the phones, and our answers, in the same thread.
    shown = [m for m in everything if not selected or m.address == selected]
    # Links point at VECINOS_PUBLIC_URL; open them on the address this page was opened at.
    here = request.build_absolute_uri("/").rstrip("/")
    if settings.PUBLIC_URL and here != settings.PUBLIC_URL:
        for message in shown:
            message.body = message.body.replace(settings.PUBLIC_URL, here)
    shown.sort(key=lambda m: m.created_at, reverse=True)
    return render(
        request,
        "onboarding/phone_simulator.html",
        {
            "phones": [(a, names.get(a, ""), n) for a, n in phones.items()],
            "selected": selected,
            "selected_name": names.get(selected, ""),
            "shown": shown,
            "reply_form": reply_form,
        },
    )
