"""The data migration that encrypts rights recordings stored in the clear before."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from vecinos.core import audio
from vecinos.rights.models import Recording

pytestmark = pytest.mark.django_db
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64


def test_plain_recordings_are_encrypted_and_missing_ones_dropped(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "rights").mkdir()
    (tmp_path / "rights" / "mix-0123.mp3").write_bytes(MP3)
    kept = Recording.objects.create(
        language="mix", filename="mix-0123.mp3", content_type="audio/mpeg"
    )
    Recording.objects.create(language="zap", filename="zap-gone.mp3", content_type="audio/mpeg")
    migration = importlib.import_module("vecinos.rights.migrations.0004_encrypt_recordings")
    migration.encrypt_plain_recordings(apps, None)
    kept.refresh_from_db()
    assert kept.filename.startswith("rights-voice/")
    assert audio.read(kept.filename) == MP3
    assert b"ID3" not in (tmp_path / kept.filename).read_bytes()
    assert not (tmp_path / "rights" / "mix-0123.mp3").exists()
    assert list(Recording.objects.values_list("language", flat=True)) == ["mix"]
