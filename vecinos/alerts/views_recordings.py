"""Coordinators' recordings for calls, on two sibling pages: the recorded alert templates
(per alert kind) and the voice hotline's prompts (per prompt), each per language without a
voice; and the signed audio URL the provider fetches to play one (``alerts.recordings``)."""

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
from vecinos.alerts.forms import HotlinePromptForm, TemplateRecordingForm
from vecinos.alerts.models import RECORDING_KINDS
from vecinos.core import audio
from vecinos.core import languages as registry
from vecinos.network.http import member_of
from vecinos.reports import voice_prompts


def _upload(request: HttpRequest, form_class, here: str):
    """(the form, the redirect once saved, else None: show the page) of a coalition
    coordinator's upload."""
    actor = member_of(request)
    if not selectors.can_record_templates(actor):
        raise PermissionDenied
    if request.method != "POST":
        return form_class(), None
    form = form_class(request.POST, request.FILES)
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
            return form, redirect(here)
    return form, None


def _cells(kinds) -> list:
    """(language, [(recording or None, its audio path)] per kind) of each recorded language."""
    existing = recorded.recordings()
    rows = []
    for code in recorded.RECORDED_LANGUAGES:
        cells = []
        for kind in kinds:
            recording = existing.get((kind, code))
            cells.append((recording, recorded.audio_path(recording) if recording else ""))
        rows.append((registry.BY_CODE[code], cells))
    return rows


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    return render(request, template, context, status=status)


@never_cache
@login_required
def recordings(request: HttpRequest) -> HttpResponse:
    form, done = _upload(request, TemplateRecordingForm, "alert_recordings")
    if done is not None:
        return done
    kinds = [kind for kind, _label in RECORDING_KINDS]  # each alert kind, and a call-out
    context = {"form": form, "rows": _cells(kinds), "kinds": RECORDING_KINDS}
    return _render(request, "alerts/recordings.html", context)


@never_cache
@login_required
def hotline_recordings(request: HttpRequest) -> HttpResponse:
    """The hotline's prompts: what to say in each, which are recorded, which are missing."""
    form, done = _upload(request, HotlinePromptForm, "hotline_recordings")
    if done is not None:
        return done
    rows = []
    for lang, cells in _cells(voice_prompts.KINDS):
        missing = [
            label
            for (recording, _url), (_kind, label, _s) in zip(
                cells, voice_prompts.PROMPTS, strict=True
            )
            if recording is None
        ]
        rows.append((lang, voice_prompts.keys_to_press(lang.code), cells, missing))
    blanks = {"language": "…", "key": "…"}  # each language's own name and key (the table)
    scripts = [
        (
            label,
            [str(text) % blanks if kind == voice_prompts.LANGUAGE else str(text) for text in texts],
        )
        for kind, label, texts in voice_prompts.PROMPTS
    ]
    context = {
        "form": form,
        "rows": rows,
        "kinds": voice_prompts.CHOICES,
        "scripts": scripts,
        "incomplete": [row for row in rows if row[3]],
    }
    return _render(request, "alerts/hotline_recordings.html", context)


def recording_audio(request: HttpRequest, token: str) -> HttpResponse:
    """The audio, decrypted, for whoever holds the signed URL (the provider during a call)."""
    found = recorded.load(token)
    if found is None:
        raise Http404
    recording, data = found
    return audio.response(data, recording.content_type)
