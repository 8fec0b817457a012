"""Emergency purge across every app (`vecinos purge --personal-data`).

Lives at the top of the package because it reaches into every app; each app's own models are
emptied of people here, organizations, zones and places stay. Irreversible by design: data not
held cannot be handed over.
"""

from __future__ import annotations

from django.db import transaction


@transaction.atomic
def purge_everything_personal() -> dict[str, int]:
    from vecinos.alerts.models import Alert, OptOut, Subscriber
    from vecinos.messaging.models import ContactPoint, Delivery
    from vecinos.network.services import purge_personal_data
    from vecinos.patrols.models import CalendarFeed, PatrolLogEntry, Place, Signup
    from vecinos.reports.models import (
        Attachment,
        BannedSource,
        Incident,
        OnDuty,
        Report,
        SmsSession,
        VerificationRequest,
    )
    from vecinos.transports.models import OutboxMessage

    counts: dict[str, int] = {}
    # Call-out answers and RSVPs point at people (mobilize purges its own).
    from vecinos.mobilize.purge import purge_personal

    counts.update(purge_personal())
    # Messages and contacts first: they point at people.
    counts["deliveries"] = Delivery.objects.all().delete()[0]
    counts["outbox"] = OutboxMessage.objects.all().delete()[0]
    counts["subscribers"] = Subscriber.objects.all().delete()[0]  # areas, recipients cascade
    counts["contacts"] = ContactPoint.objects.all().delete()[0]
    counts["opt_outs"] = OptOut.objects.all().delete()[0]
    Alert.objects.update(messages={}, area_label="")
    # Reports keep only their coarse summary; media files go.
    from django.conf import settings

    from vecinos.reports import recordings

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
    PatrolLogEntry.objects.all().delete()
    Signup.objects.all().delete()
    CalendarFeed.objects.all().delete()
    Place.objects.update(notes="")
    # Sign-in throttling rows keep usernames and browser strings.
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    counts["sign_in_attempts"] = AccessAttempt.objects.all().delete()[0]
    AccessLog.objects.all().delete()
    AccessFailureLog.objects.all().delete()
    counts.update(purge_personal_data())
    # The demo's passwords file names the demo accounts (and gives their passwords).
    from vecinos.network.demo import credentials_path

    credentials_path().unlink(missing_ok=True)
    return counts
