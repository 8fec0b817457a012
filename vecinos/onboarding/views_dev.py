"""The phone simulator (development only): read what the console transport "sent".

With the console transport nothing leaves the server, so the demo's people could never read
their verify, acknowledge or subscribe links. This page shows each fictional phone's messages
with working links. It is not routed at all when VECINOS_ENV=production, and answers 404
whenever a real provider sends text messages.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages as notices
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
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
        notices.info(request, _("%(phone)s texted: %(text)s") % {"phone": phone, "text": body})
        notices.info(
            request, _("Answer: %(text)s") % {"text": answer} if answer else _("No answer.")
        )
        return redirect(f"{reverse('phone_simulator')}?{urlencode({'to': phone})}")
    messages = messaging_selectors.outbox_recent(LIMIT)
    phones: dict[str, int] = {}
    for message in messages:
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
            "reply_form": reply_form,
        },
    )
