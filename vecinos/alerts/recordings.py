"""Recorded alert templates: per alert kind and language, for the languages no text-to-speech
voice reads (``RECORDED_LANGUAGES``: Armenian, Farsi, Khmer and the spoken-only Indigenous
languages). A coalition coordinator uploads them (``recording_save``, audited); an alert call to
someone of that language plays the kind's recording (``alerts.voice``). One more kind,
"callout", is a call-out's ask ("press 1 if you are coming, 2 if not"): mobilize's call-out
calls play it (``mobilize.voice``). The voice hotline's prompts are recorded the same way, one
per prompt kind (``reports.voice_prompts.KINDS``) and language, on a sibling page; the hotline
asks for them through ``reports.hooks`` (``prompt_urls``), since reports does not import alerts.

The audio is encrypted at rest (``core.audio``). The provider fetches it from
``/alerts/voice/<token>/``: the token is signed and names the row and its file, so the URL
cannot be guessed, and a replaced recording's old URL stops working.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from vecinos.alerts.models import RECORDING_KINDS, TemplateRecording
from vecinos.core import audio
from vecinos.core import languages as registry
from vecinos.core.audit import audit
from vecinos.reports import voice_prompts

FOLDER = "alert-voice"
SALT = "vecinos.alert-recording"
RECORDED_LANGUAGES = tuple(lang.code for lang in registry.LANGUAGES if not lang.tts_voice)
CALLOUT = "callout"
KINDS = (*(value for value, _label in RECORDING_KINDS), *voice_prompts.KINDS)


class RecordingRefused(ValueError):
    """Not audio, too big, or not a template this page takes (the message says which)."""


@transaction.atomic
def recording_save(*, kind: str, language: str, data: bytes, actor) -> TemplateRecording:
    if kind not in KINDS or language not in RECORDED_LANGUAGES:
        raise RecordingRefused("template")
    if len(data) > audio.MAX_BYTES:
        raise RecordingRefused("size")
    content_type = audio.audio_type(data)
    if content_type is None:
        raise RecordingRefused("type")
    rel = audio.store(data, FOLDER)
    old = TemplateRecording.objects.select_for_update().filter(kind=kind, language=language)
    old_path = old.values_list("path", flat=True).first()
    recording, _created = TemplateRecording.objects.update_or_create(
        kind=kind,
        language=language,
        defaults={
            "path": rel,
            "content_type": content_type,
            "size": len(data),
            "uploaded_by": actor,
        },
    )
    if old_path:
        transaction.on_commit(lambda: audio.remove(old_path))
    audit(
        "alert.recording_save",
        actor=actor,
        target=recording,
        kind=kind,
        language=language,
        size=len(data),
    )
    return recording


def recording_for(kind: str, language: str) -> TemplateRecording | None:
    if language not in RECORDED_LANGUAGES:
        return None
    return TemplateRecording.objects.filter(kind=kind, language=language).first()


def prompt_urls(kind: str, codes: list[str]) -> dict[str, str]:
    """{language: URL to play} of the hotline prompt ``kind`` in those of ``codes`` that have
    it (one query)."""
    wanted = [code for code in codes if code in RECORDED_LANGUAGES]
    if kind not in voice_prompts.KINDS or not wanted:
        return {}
    found = TemplateRecording.objects.filter(kind=kind, language__in=wanted)
    return {recording.language: audio_url(recording) for recording in found}


def recordings() -> dict[tuple[str, str], TemplateRecording]:
    return {(r.kind, r.language): r for r in TemplateRecording.objects.all()}


def token_of(recording: TemplateRecording) -> str:
    return signing.dumps([recording.pk, recording.path], salt=SALT, compress=True)


def audio_path(recording: TemplateRecording) -> str:
    return reverse("alert_recording_audio", args=[token_of(recording)])


def audio_url(recording: TemplateRecording) -> str:
    """The absolute URL the provider fetches to play it on a call."""
    return f"{settings.PUBLIC_URL}{audio_path(recording)}"


def load(token: str) -> tuple[TemplateRecording, bytes] | None:
    """The recording a token names and its audio; None for a forged, stale or missing one."""
    try:
        pk, path = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    recording = TemplateRecording.objects.filter(pk=pk, path=path).first()
    if recording is None:
        return None
    data = audio.read(recording.path)
    return (recording, data) if data is not None else None
