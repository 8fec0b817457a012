"""The emergency purge's reports step: reports keep only their coarse summary; media files,
SMS conversations, bans, verification requests and duty rows go (ReportsConfig.ready)."""

from __future__ import annotations

from django.conf import settings

from vecinos.reports import recordings
from vecinos.reports.models import (
    Attachment,
    BannedSource,
    Incident,
    OnDuty,
    Report,
    SmsSession,
    VerificationRequest,
)


def purge_personal() -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in Attachment.objects.exclude(path="").values_list("path", flat=True):
        (settings.MEDIA_ROOT / path).unlink(missing_ok=True)
    # Hotline recordings still held at Twilio are deleted there too. Those Twilio could not
    # confirm stay as empty rows (only the Recording's address) so the catch-up deletes them.
    left_at_twilio = recordings.purge_remote(Attachment.objects.all())
    counts["attachments"] = Attachment.objects.exclude(pk__in=left_at_twilio).delete()[0]
    Attachment.objects.filter(pk__in=left_at_twilio).update(path="", size=0)
    counts["recordings_left_at_twilio"] = len(left_at_twilio)
    counts["reports"] = Report.objects.update(
        lat=None,
        lng=None,
        place_text="",
        description="",
        equipment="",
        reporter_contact="",
        reporter_index="",
        source_key="",
        reporter_member=None,
    )
    Incident.objects.update(lat=None, lng=None, place_summary="", outcome_notes="")
    SmsSession.objects.all().delete()
    BannedSource.objects.all().delete()
    VerificationRequest.objects.all().delete()
    OnDuty.objects.all().delete()
    return counts
