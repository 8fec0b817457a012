"""Photos and hotline recordings for the console, and for verifiers asked about the incident
(signed in, or holding the signed link opened in this browser session): decrypted on the way
out (``services.read_media``); recordings answer byte ranges for the audio player."""

from __future__ import annotations

import re

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.cache import never_cache

from vecinos.reports import selectors, services
from vecinos.reports.models import (
    Attachment,
    Incident,
    VerificationRequest,
)
from vecinos.reports.views_console import VERIFY_SESSION_KEY

# --- photos and recordings ----------------------------------------------------------------------


def _may_see_media(request: HttpRequest, incident_id: int | None) -> bool:
    if request.user.is_authenticated and selectors.can_use_console(request.user):
        return True
    if incident_id is None:
        return False
    # A verifier's access lasts as long as their request: asked or going, on an incident still
    # open, while they are an active verifier. Once they reported back (or declined, or were
    # cancelled) the link, and the browser session it was opened in, show nothing more.
    live = VerificationRequest.objects.filter(
        incident_id=incident_id,
        status__in=[VerificationRequest.Status.SENT, VerificationRequest.Status.ACCEPTED],
        verifier__is_active=True,
    ).exclude(incident__status=Incident.Status.CLOSED)
    if request.user.is_authenticated:
        vr = live.filter(verifier=request.user).first()
    else:
        granted = request.session.get(VERIFY_SESSION_KEY) or []
        vr = live.filter(pk__in=granted).select_related("verifier").first() if granted else None
    return vr is not None and selectors.can_verify(vr.verifier)


@never_cache
def console_media(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    attachment = Attachment.objects.select_related("report").filter(pk=attachment_id).first()
    incident_id = None
    if attachment is not None:
        incident_id = attachment.incident_id or (
            attachment.report.incident_id if attachment.report else None
        )
    if not _may_see_media(request, incident_id):
        if not request.user.is_authenticated and not request.session.get(VERIFY_SESSION_KEY):
            return redirect_to_login(request.get_full_path())
        raise PermissionDenied
    if attachment is None or not attachment.path:
        raise Http404
    if attachment.kind == Attachment.Kind.RECORDING:
        return _recording_response(request, attachment)
    try:
        content = services.read_media(attachment)  # photos are encrypted at rest too
    except (services.MediaUnreadable, OSError):
        raise Http404 from None
    inline = attachment.content_type.startswith(("image/", "audio/"))
    response = HttpResponse(
        content, content_type=attachment.content_type if inline else "application/octet-stream"
    )
    if not inline:
        response["Content-Disposition"] = "attachment"
    response["Cache-Control"] = "private, no-store"
    return response


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _recording_response(request: HttpRequest, attachment: Attachment) -> HttpResponse:
    """The decrypted audio of a hotline message (encrypted on disk), with single byte ranges:
    Safari's <audio> asks for ``Range: bytes=0-1`` first and plays nothing without a 206."""
    try:
        audio = services.read_media(attachment)
    except (services.MediaUnreadable, OSError):
        raise Http404 from None
    status, start, end = 200, 0, len(audio) - 1
    match = _RANGE.fullmatch(request.headers.get("Range", "").strip())
    if match and (match[1] or match[2]) and audio:
        if match[1]:
            start, end = int(match[1]), min(int(match[2] or end), end)
        else:  # the last N bytes
            start = max(0, len(audio) - int(match[2]))
        if start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{len(audio)}"
            return response
        status = 206
    response = HttpResponse(
        audio[start : end + 1], content_type=attachment.content_type, status=status
    )
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{len(audio)}"
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, no-store"
    return response
