"""Subscriptions (who wants to hear about where), alerts (what to say to whom) and their
recipients (who got it, whether they acknowledged, where their escalation stands).

Deliveries themselves are messaging.Delivery rows keyed to an AlertRecipient.
"""

from __future__ import annotations

import math

import h3
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from vecinos.core import geo
from vecinos.core.crypto import EncryptedJSONField, EncryptedTextField
from vecinos.reports import voice_prompts


class Subscriber(models.Model):
    """A person who receives alerts: a member, or a member of the public known only by contact."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        ACTIVE = "active", _("Active")
        STOPPED = "stopped", _("Stopped")

    member = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subscriber",
    )
    phone = EncryptedTextField(blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)
    email = EncryptedTextField(blank=True)
    # Contact points per channel (messaging owns them: usable flags, carrier errors).
    sms = models.ForeignKey(
        "messaging.ContactPoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    voice = models.ForeignKey(
        "messaging.ContactPoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    push = models.ForeignKey(
        "messaging.ContactPoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    email_contact = models.ForeignKey(
        "messaging.ContactPoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    language = models.CharField(max_length=8, default="es")
    # Channels in order of preference, e.g. ["sms", "voice"].
    channels = models.JSONField(default=list)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    confirm_code = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=8, default="web")  # sms | web | member | import
    # How an imported subscriber agreed to hear from the coalition (a sign-up sheet, a form),
    # and the organization that brought them in: kept with the record, as carriers require.
    consent = EncryptedTextField(blank=True)
    imported_by = models.ForeignKey(
        "network.Organization", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["phone_index"],
                condition=~models.Q(phone_index=""),
                name="one_sub_per_phone",
            )
        ]


class SubscriptionArea(models.Model):
    """A zone, or a place with a radius (home, work, a school)."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="areas")
    label = models.CharField(max_length=40, blank=True)
    zone = models.ForeignKey("network.Zone", on_delete=models.CASCADE, null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    radius_m = models.PositiveIntegerField(null=True, blank=True)
    # H3 res-7 cell of the point: the index that makes "everyone within 10 km" fast.
    cell7 = models.CharField(max_length=16, blank=True, db_index=True)
    # A member's own place (their home, say) is not kept in plaintext: lat/lng hold the centre
    # of its res-7 cell (a neighborhood) and radius_m grows by the distance to it, so the
    # selection still reaches everyone it would have; the chosen point and radius are here,
    # encrypted ("lat,lng,radius"), for display.
    point = EncryptedTextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["lat", "lng"], name="area_latlng"),
            # Covers the radius selection: no table lookups for a million rows.
            models.Index(
                fields=["cell7", "subscriber", "lat", "lng", "radius_m"], name="area_cell_cover"
            ),
            # The widest area anyone has, in one probe: how far past a circle's rim to look.
            models.Index(fields=["radius_m"], name="area_radius"),
        ]

    def place_coarsely(self, lat: float, lng: float, radius_m: int) -> None:
        """Keep a named person's place only as its neighborhood cell (see ``point``)."""
        self.cell7 = geo.cell_of(lat, lng, geo.COARSE_RESOLUTION)
        c_lat, c_lng = h3.cell_to_latlng(self.cell7)
        self.lat, self.lng = round(c_lat, 5), round(c_lng, 5)
        self.radius_m = radius_m + math.ceil(geo.haversine_m(lat, lng, self.lat, self.lng)) + 1
        self.point = f"{lat:.5f},{lng:.5f},{radius_m}"

    @property
    def shown_radius_m(self) -> int | None:
        """The radius the person chose (a member's area stores a wider, coarse one)."""
        if self.point:
            return int(self.point.rsplit(",", 1)[1])
        return self.radius_m


class OptOut(models.Model):
    """STOP is kept forever (by blind index), across every organization."""

    phone_index = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=16, default="sms")  # sms | import | carrier


class Tier(models.TextChoices):
    INTERNAL = "internal", _("Dispatchers and verifiers")
    RESPONDERS = "responders", _("Rapid responders and legal observers")
    MEMBERS = "members", _("Members")
    PUBLIC = "public", _("Public subscribers")


TIER_ORDER = [Tier.INTERNAL, Tier.RESPONDERS, Tier.MEMBERS, Tier.PUBLIC]


class Alert(models.Model):
    class Kind(models.TextChoices):
        SIGHTING = "sighting", _("Sighting confirmed")
        ACTIVATION = "activation", _("Activation call for responders")
        UPDATE = "update", _("Update")
        ALL_CLEAR = "all_clear", _("All clear")
        CORRECTION = "correction", _("Correction")
        NOTICE = "notice", _("Notice")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Waiting for a second approval")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    class StopReason(models.TextChoices):
        ALL_CLEAR = "all_clear", _("An all-clear was sent")
        CORRECTION = "correction", _("A correction was sent")
        CANCELLED = "cancelled", _("Stopped by a dispatcher")
        EXPIRED = "expired", _("The alert expired")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    tiers = models.JSONField(default=list)
    zones = models.ManyToManyField("network.Zone", blank=True, related_name="+")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    radius_m = models.PositiveIntegerField(null=True, blank=True)
    # A drawn area: [[lat, lng], ...] (3 to 200 corners, not closed); CAP <polygon>.
    polygon = models.JSONField(default=list, blank=True)
    area_label = models.CharField(max_length=120, blank=True)  # coarse, public (CAP <area>)
    # {"es": "...", "en": "..."}, encrypted at rest (internal alerts name places and people).
    messages = EncryptedJSONField(default=dict)
    expires_at = models.DateTimeField()
    incident = models.ForeignKey(
        "reports.Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="followups"
    )
    organization = models.ForeignKey(
        "network.Organization", on_delete=models.SET_NULL, null=True, related_name="alerts"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Frozen copy of the escalation policy at send time: later edits never change it.
    escalation = models.JSONField(default=dict)
    recipients_count = models.PositiveIntegerField(default=0)
    # When its author asked for the second person (the waiting time shown on the alert).
    requested_at = models.DateTimeField(null=True, blank=True)
    # Set once nothing more of this alert may go out (escalation, queued messages, captains).
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=12, choices=StopReason.choices, blank=True)
    # A large fan-out is written in chunks committed one by one (alerts.fanout): while some
    # are left this says from when another process may resume it (the writer's lease).
    fanout_resume_after = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"alert {self.pk} {self.kind}"


class AlertRecipient(models.Model):
    class CaptainStatus(models.TextChoices):
        NONE = "", _("Not assigned")
        PENDING = "pending", _("To call")
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        CLOSED = "closed", _("Closed: no longer needed")

    # No index of its own: one_recipient_per_alert (alert, subscriber) answers by alert.
    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="recipients", db_index=False
    )
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="+")
    tier = models.CharField(max_length=12, choices=Tier.choices)
    language = models.CharField(max_length=8)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    ack_via = models.CharField(max_length=12, blank=True)
    step = models.PositiveSmallIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)  # indexed below, when set
    captain = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tree_assignments",
        db_index=False,  # indexed below, when set
    )
    captain_status = models.CharField(
        max_length=14, choices=CaptainStatus.choices, blank=True, default=""
    )
    captain_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "subscriber"], name="one_recipient_per_alert")
        ]
        # A fan-out writes a row per person, and each index a row version: most rows never
        # get an escalation step or a captain, so those indexes hold only the rows that do
        # (a lookup by either names a value or "is set", which both databases match to the
        # condition).
        indexes = [
            models.Index(
                fields=["next_step_at"],
                condition=models.Q(next_step_at__isnull=False),
                name="recipient_next_step",
            ),
            models.Index(
                fields=["captain"],
                condition=models.Q(captain__isnull=False),
                name="recipient_captain",
            ),
        ]


class CaptainAssignment(models.Model):
    """Standing phone-tree lists: this captain calls these people when automation fails."""

    captain = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tree_list"
    )
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="captains")
    organization = models.ForeignKey("network.Organization", on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "organization"], name="one_captain_per_org"
            )
        ]


class SmsBudget(models.Model):
    """Messages and calls an organization may send per month (SMS segments + voice calls)."""

    organization = models.OneToOneField("network.Organization", on_delete=models.CASCADE)
    monthly_limit = models.PositiveIntegerField(default=50_000)
    warn_at_percent = models.PositiveSmallIntegerField(default=80)


# What a coordinator may record: each alert kind, and a call-out ("we need responders: press 1
# if you are coming, 2 if not"), which mobilize's call-out calls play.
RECORDING_KINDS = [
    *Alert.Kind.choices,
    ("callout", _("Call-out to responders (press 1 coming, 2 not)")),
]


class TemplateRecording(models.Model):
    """A coordinator's recording of an alert kind's template, of a call-out's ask, or of a
    hotline prompt (``reports.voice_prompts``), in a language no text-to-speech voice reads
    (Armenian, Farsi, Khmer, the spoken-only Indigenous languages): an alert call (a call-out's
    call) to someone of that language plays it, then speaks the alert's (call-out's) facts in
    Spanish; the hotline plays its prompts. The audio is encrypted at rest (``core.audio``) and
    served to the provider only under a signed URL."""

    kind = models.CharField(
        _("kind"), max_length=12, choices=[*RECORDING_KINDS, *voice_prompts.CHOICES]
    )
    language = models.CharField(_("language"), max_length=8)
    path = models.CharField(max_length=120)  # under MEDIA_ROOT, encrypted
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "language"], name="alerts_one_recording_per_template"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} [{self.language}]"
