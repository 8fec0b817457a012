"""Reports (what someone saw) and incidents (the one event many reports describe).

Reports document an operation, never a person: there is no field for an officer's name, face,
badge, plate or route. Precise coordinates, free text, media and reporter contacts are purged
after VECINOS_REPORT_RETENTION_DAYS; the coarse summary (H3 res-7 cell, zone, hour, outcome)
remains.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from vecinos.core.crypto import EncryptedFloatField, EncryptedTextField


class Activity(models.TextChoices):
    HOME = "home", _("Door knock / at a home")
    STREET = "street", _("Street arrest")
    CHECKPOINT = "checkpoint", _("Checkpoint")
    WORKPLACE = "workplace", _("Workplace")
    COURTHOUSE = "courthouse", _("Courthouse")
    SCHOOL = "school", _("Near a school")
    STAGING = "staging", _("Vehicles staging")
    OTHER = "other", _("Other")


class Agency(models.TextChoices):
    ICE_ERO = "ice", _("ICE / ERO")
    HSI = "hsi", _("HSI")
    CBP = "cbp", _("CBP / Border Patrol")
    POLICE = "police", _("Local police")
    UNKNOWN = "unknown", _("Other / unknown")


class IntakeChannel(models.TextChoices):
    WEB = "web", _("Web form")
    API = "api", _("API")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice hotline")
    PATROL = "patrol", _("Patrol / member")
    DISPATCHER = "dispatcher", _("Dispatcher")


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft (SMS in progress)")
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")


class Triage(models.TextChoices):
    NONE = "", _("Not triaged")
    LOG = "log", _("Log only")
    VERIFY = "verify", _("Send a verifier")
    URGENT = "urgent", _("Urgent")


class Incident(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        VERIFYING = "verifying", _("Verifying")
        CONFIRMED = "confirmed", _("Confirmed")
        FALSE_ALARM = "false_alarm", _("False alarm")
        UNABLE = "unable", _("Unable to verify")
        NOT_ENFORCEMENT = "not_enforcement", _("Not immigration enforcement")
        CLOSED = "closed", _("Closed")
        # Moved by the alerts app (reports.services.incident_alerted), never by a verifier.
        ALERTED = "alerted", _("Alerted")
        ALL_CLEAR = "all_clear", _("All clear")
        CORRECTED = "corrected", _("Corrected")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    # The verification outcome survives closing (the rumor page shows it).
    outcome = models.CharField(max_length=16, choices=Status.choices, blank=True)
    activity = models.CharField(max_length=16, choices=Activity.choices, default=Activity.OTHER)
    agency = models.CharField(max_length=16, choices=Agency.choices, default=Agency.UNKNOWN)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    cell7 = models.CharField(max_length=16, blank=True, db_index=True)
    zone = models.ForeignKey(
        "network.Zone", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    place_summary = EncryptedTextField(blank=True)
    credibility = models.PositiveSmallIntegerField(default=0)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    outcome_notes = EncryptedTextField(blank=True)
    lock_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    lock_until = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"

    @property
    def ready_for_alert(self) -> bool:
        return self.status == self.Status.CONFIRMED


class Report(models.Model):
    receipt = models.CharField(max_length=12, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    channel = models.CharField(max_length=12, choices=IntakeChannel.choices)
    language = models.CharField(max_length=8, default="es")
    status = models.CharField(max_length=8, choices=ReportStatus.choices, default=ReportStatus.NEW)
    triage = models.CharField(max_length=8, choices=Triage.choices, blank=True, default="")
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # partial: Meta.indexes
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    # SALUTE
    agents_count = models.PositiveSmallIntegerField(null=True, blank=True)
    vehicles_count = models.PositiveSmallIntegerField(null=True, blank=True)
    activity = models.CharField(max_length=16, choices=Activity.choices, blank=True)
    agency = models.CharField(max_length=16, choices=Agency.choices, default=Agency.UNKNOWN)
    # Encrypted: a member's quick report is sent from where they stand. Queries use cell7 and
    # the incident's position; the report's own is only read in Python.
    lat = EncryptedFloatField(null=True, blank=True)
    lng = EncryptedFloatField(null=True, blank=True)
    cell7 = models.CharField(max_length=16, blank=True)  # indexed: report_area_recent
    zone = models.ForeignKey(
        "network.Zone",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # partial: Meta.indexes
    )
    place_text = EncryptedTextField(blank=True)
    equipment = EncryptedTextField(blank=True)  # at most 200 characters (the form, the API)
    description = EncryptedTextField(blank=True)
    # Who reported (optional). Purged with the report's retention.
    reporter_contact = EncryptedTextField(blank=True)
    reporter_index = models.CharField(max_length=64, blank=True)  # never searched by
    reporter_member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        db_index=False,  # partial: Meta.indexes
    )
    reporter_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    trusted = models.BooleanField(default=False)
    # Rotating keyed hash of the IP or phone: links a burst, never a person.
    source_key = models.CharField(max_length=32, blank=True)  # indexed: report_source_recent
    flood_group = models.CharField(max_length=40, blank=True)  # read with the queue's index
    incident = models.ForeignKey(
        Incident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        db_index=False,  # partial: Meta.indexes
    )
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="report_queue"),
            # Flood signals on every public report: recent reports of one source or one area,
            # and (partial) the ones of a group not flagged yet.
            models.Index(fields=["source_key", "created_at"], name="report_source_recent"),
            models.Index(fields=["cell7", "created_at"], name="report_area_recent"),
            models.Index(
                fields=["source_key", "created_at"],
                name="report_source_unflagged",
                condition=models.Q(flood_group=""),
            ),
            models.Index(
                fields=["cell7", "created_at"],
                name="report_area_unflagged",
                condition=models.Q(flood_group=""),
            ),
            # Every public report writes each of the table's indexes (issue 15: intake). A new
            # report has no incident, triager or member and often no zone: these hold only the
            # rows that have one, which is all a lookup by them (x = ?, x IN (...)) ever reads.
            # cell7, source_key, flood_group and reporter_index had single-column indexes
            # too: the first two lead the composite ones above, and nothing looks up by the
            # other two alone.
            *(
                models.Index(
                    fields=[name],
                    name=f"report_{name}",
                    condition=models.Q(**{f"{name}__isnull": False}),
                )
                for name in ("incident", "zone", "reporter_member", "triaged_by")
            ),
        ]
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self) -> str:
        return self.receipt


class Attachment(models.Model):
    class Kind(models.TextChoices):
        PHOTO = "photo", _("Photo")
        RECORDING = "recording", _("Recording")

    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # Path under DATA_DIR/media (never under static: media is served only to dispatchers).
    path = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(default=0)
    remote_url = EncryptedTextField(blank=True)  # a provider recording not fetched yet
    created_at = models.DateTimeField(auto_now_add=True)


class IncidentEvent(models.Model):
    """The incident's timeline: every step with who and when."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(max_length=32)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]


class OnDuty(models.Model):
    """A dispatcher or verifier who marked themselves on duty, until a time they chose."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty"
    )
    role = models.CharField(max_length=16)  # dispatcher | verifier
    until = models.DateTimeField(db_index=True)
    # Where a named person is right now: ciphertext, only compared in Python (verifier ranking).
    # Expired rows are deleted by reports.purge_expired_duty every few minutes.
    lat = EncryptedFloatField(null=True, blank=True)
    lng = EncryptedFloatField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "role"], name="one_duty_per_role")]


class VerificationRequest(models.Model):
    class Status(models.TextChoices):
        SENT = "sent", _("Asked")
        ACCEPTED = "accepted", _("Going")
        DECLINED = "declined", _("Declined")
        DONE = "done", _("Reported back")
        CANCELLED = "cancelled", _("Cancelled")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="verification_requests"
    )
    verifier = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verification_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SENT)
    distance_m = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "verifier"], name="one_request_per_verifier"
            )
        ]


class SmsSession(models.Model):
    """An SMS report in progress: which question we asked last, resumable."""

    phone_index = models.CharField(max_length=64, unique=True)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=16)
    language = models.CharField(max_length=8, default="es")
    updated_at = models.DateTimeField(auto_now=True)


class BannedSource(models.Model):
    """A source that flooded: stable keyed hash of the IP or phone (never the raw value)."""

    # "phone:" + a 64-hex blind index, or "src:" + a 32-hex source key.
    key = models.CharField(max_length=80, unique=True)
    reason = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)


class ConsolePresence(models.Model):
    """When a dispatcher's open console last said it is there (a heartbeat every minute)."""

    member = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    seen_at = models.DateTimeField(db_index=True)


class DispatcherPage(models.Model):
    """One notice to dispatchers that new reports wait (push, and SMS when nobody watches).

    One per burst: reports up to ``report_id_upto`` were announced; the next notice waits for a
    newer report and for the burst window to pass.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    report_id_upto = models.BigIntegerField()
    reports = models.PositiveIntegerField(default=0)
    sms = models.PositiveIntegerField(default=0)
    push = models.PositiveIntegerField(default=0)
