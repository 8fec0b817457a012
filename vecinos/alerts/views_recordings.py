"""Recorded alert templates: the coalition coordinators' upload page, and the signed audio URL
the provider fetches to play one on a call (``alerts.recordings``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from vecinos.alerts import recordings as recorded
from vecinos.alerts import selectors
from vecinos.alerts.forms import TemplateRecordingForm
from vecinos.alerts.models import RECORDING_KINDS
from vecinos.core import audio
from vecinos.core import languages as registry
from vecinos.network.http import member_of


@never_cache
@login_required
def recordings(request: HttpRequest) -> HttpResponse:
    actor = member_of(request)
    if not selectors.can_record_templates(actor):
        raise PermissionDenied
    form = TemplateRecordingForm()
    if request.method == "POST":
        form = TemplateRecordingForm(request.POST, request.FILES)
        if form.is_valid():
            # One byte more than allowed is enough to know it is too big.
            data = form.cleaned_data["audio"].read(audio.MAX_BYTES + 1)
            try:
                recorded.recording_save(
                    kind=form.cleaned_data["kind"],
                    language=form.cleaned_data["language"],
                    data=data,
                    actor=actor,
                )
            except recorded.RecordingRefused:
                form.add_error("audio", _("Upload an MP3 or WAV file of at most 10 MB."))
            else:
                messages.success(request, _("Recording saved."))
                return redirect("alert_recordings")
    existing = recorded.recordings()
    rows = [
        (
            registry.BY_CODE[code],
            [
                (existing.get((kind, code)), recorded.audio_path(existing[(kind, code)]))
                if (kind, code) in existing
                else (None, "")
                for kind in recorded.KINDS
            ],
        )
        for code in recorded.RECORDED_LANGUAGES
    ]
    context = {"form": form, "rows": rows, "kinds": RECORDING_KINDS}
    status = 400 if request.method == "POST" else 200
    return render(request, "alerts/recordings.html", context, status=status)


def recording_audio(request: HttpRequest, token: str) -> HttpResponse:
    """The audio, decrypted, for whoever holds the signed URL (the provider during a call)."""
    found = recorded.load(token)
    if found is None:
        raise Http404
    recording, data = found
    return audio.response(data, recording.content_type)
