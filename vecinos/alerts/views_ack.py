"""The acknowledgement link and the captain page (the phone tree)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from vecinos.alerts import selectors, services
from vecinos.alerts.models import AlertRecipient
from vecinos.alerts.views_common import (
    _display_phone,
)
from vecinos.core import languages
from vecinos.core.audit import audit
from vecinos.network.http import member_of

# --- acknowledgement link ------------------------------------------------------------------------


ACK_VIA = {"link", "push"}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def alert_ack(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link in an alert. GET only shows it with a "got it" button; POST confirms.

    Messaging apps and mail scanners fetch links to build previews (GET, sometimes HEAD), so
    nothing but a POST (a person pressing the button, or the push notification's action) may
    acknowledge. The form is CSRF-protected and works without JavaScript. A second POST is
    harmless and says it was already confirmed.
    """
    recipient = services.load_ack_token(token)
    if recipient is None:
        return render(request, "alerts/ack_gone.html", status=410)
    alert = recipient.alert
    text, lang = services.message_for(alert, recipient.language)
    state = "ask" if recipient.acknowledged_at is None else "already"
    if request.method == "POST":
        via = request.POST.get("via", "link")
        first = services.acknowledge(recipient=recipient, via=via if via in ACK_VIA else "link")
        state = "done" if first else "already"
    # The reader's own language wherever the interface ships in it (outside walk, session 19:
    # Korean, Tagalog and Armenian readers got the page in Spanish), else Spanish.
    page_lang = languages.text_language(recipient.language)
    with translation.override(page_lang):
        response = render(
            request,
            "alerts/ack.html",
            {
                "alert": alert,
                "token": token,
                "text": text,
                "text_lang": lang,
                "state": state,
                "expired": alert.expires_at <= timezone.now(),
            },
        )
    response["Content-Language"] = page_lang
    response["X-Robots-Tag"] = "noindex"
    # The site's "same-origin" Referrer-Policy keeps the token from other sites. Not
    # "no-referrer": browsers then send "Origin: null" with the form, and CSRF refuses it.
    return response


# --- the captain page ----------------------------------------------------------------------------


@never_cache
@login_required
def captain(request: HttpRequest) -> HttpResponse:
    actor = member_of(request)
    if not selectors.is_captain(actor):
        raise PermissionDenied
    # phone, phone_display, who, text and text_lang are added here for the template.
    calls: list[Any] = selectors.captain_calls(actor)
    for r in calls:
        r.phone = r.subscriber.phone
        r.phone_display = _display_phone(r.phone) if r.phone else ""
        member = r.subscriber.member
        r.who = (
            member.display_name
            if member is not None
            else _("Subscriber #%(id)s") % {"id": r.subscriber_id}
        )
        r.text, r.text_lang = services.message_for(r.alert, r.language)
    # Every time phone numbers are shown, who saw how many is on record.
    audit("tree.view", actor=actor, shown=len(calls))
    return render(
        request,
        "alerts/captain.html",
        {
            "calls": calls,
            "closed": selectors.captain_closed(actor),
            "statuses": AlertRecipient.CaptainStatus,
        },
    )


@never_cache
@login_required
@require_POST
def captain_mark(request: HttpRequest, recipient_id: int) -> HttpResponse:
    actor = member_of(request)
    if not selectors.is_captain(actor):
        raise PermissionDenied
    recipient = AlertRecipient.objects.select_related("alert").filter(pk=recipient_id).first()
    if recipient is None or recipient.captain_id != actor.pk:
        raise PermissionDenied  # the same answer for "missing" and "not yours"
    status = request.POST.get("status", "")
    if recipient.captain_status == AlertRecipient.CaptainStatus.CLOSED:
        messages.info(
            request,
            _("This call is no longer needed: %(reason)s.")
            % {"reason": recipient.alert.get_stop_reason_display()},
        )
        return redirect("captain")
    try:
        services.captain_mark(recipient=recipient, captain=actor, status=status)
    except services.NotAllowed:
        raise PermissionDenied from None
    except ValueError:
        messages.error(request, _("Choose reached, no answer or wrong number."))
        return redirect("captain")
    labels: dict[str, str] = {
        AlertRecipient.CaptainStatus.REACHED: _("Marked as reached. Thank you."),
        AlertRecipient.CaptainStatus.NO_ANSWER: _("Marked as no answer. Try again later."),
        AlertRecipient.CaptainStatus.WRONG_NUMBER: _("Marked as wrong number."),
    }
    messages.success(request, labels[status])
    return redirect("captain")
