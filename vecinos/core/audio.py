"""Uploaded audio (recordings a coordinator makes for calls): what counts as audio, how big it
may be, and how it is kept: AES-GCM encrypted under MEDIA_ROOT like the reports' photos (the
coordinator's voice is a person's), under a random name that says nothing of its content."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpResponse

from vecinos.core import crypto

AUDIO_TYPES = {"audio/mpeg": "mp3", "audio/wav": "wav"}
MAX_BYTES = 10 * 1024 * 1024


def audio_type(data: bytes) -> str | None:
    """The audio type from the file's own bytes (never from its name or the browser's word):
    MP3 (an ID3 tag or an MPEG frame sync) or WAV (RIFF/WAVE); None for anything else."""
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    return None


def store(data: bytes, folder: str) -> str:
    """Write the audio encrypted; its path relative to MEDIA_ROOT."""
    rel = f"{folder}/{uuid.uuid4().hex}.bin"
    path = settings.MEDIA_ROOT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(crypto.encrypt_bytes(data))
    return rel


def read(rel: str) -> bytes | None:
    """The decrypted audio, or None when the file is gone, outside MEDIA_ROOT or undecryptable."""
    root = settings.MEDIA_ROOT.resolve()
    path = (root / rel).resolve()
    if not rel or not path.is_relative_to(root):
        return None
    try:
        return crypto.decrypt_bytes(path.read_bytes())
    except (OSError, crypto.Undecryptable):
        return None


def remove(rel: str) -> None:
    if rel:
        (settings.MEDIA_ROOT / rel).unlink(missing_ok=True)


def response(data: bytes, content_type: str) -> HttpResponse:
    """A decrypted recording for whoever holds its signed URL (the provider during a call):
    cached briefly and privately, never indexed."""
    answer = HttpResponse(data, content_type=content_type)
    answer["Cache-Control"] = "private, max-age=300"
    answer["X-Robots-Tag"] = "noindex"
    return answer
