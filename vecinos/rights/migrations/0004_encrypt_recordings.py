"""Rights recordings stored before they were encrypted (plain files under MEDIA_ROOT/rights/):
encrypt each into MEDIA_ROOT/rights-voice/ (``core.audio``) and remove the plain file. A row
whose file is gone is deleted: the hotline then speaks the summary instead of playing nothing."""

from django.conf import settings
from django.db import migrations


def encrypt_plain_recordings(apps, schema_editor):
    from vecinos.core import audio

    Recording = apps.get_model("rights", "Recording")
    for recording in Recording.objects.exclude(filename__startswith="rights-voice/"):
        plain = settings.MEDIA_ROOT / "rights" / recording.filename
        try:
            data = plain.read_bytes()
        except OSError:
            recording.delete()
            continue
        recording.filename = audio.store(data, "rights-voice")
        recording.save(update_fields=["filename"])
        plain.unlink(missing_ok=True)


class Migration(migrations.Migration):
    dependencies = [("rights", "0003_recordings")]

    operations = [migrations.RunPython(encrypt_plain_recordings, migrations.RunPython.noop)]
