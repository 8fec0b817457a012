"""Call-outs (activations) with live turnout, and events with RSVPs.

An Activation asks people to come to a staging point (lawful presence only: witness, document,
accompany, observe). Everyone selected has a Response row, asked now or in a later wave; their
answer (coming with an ETA, declined, arrived, left) is the turnout board. Check-in keeps only
"there or not" and the time, never a location.

Events (rallies, press conferences, vigils, trainings, know-your-rights clinics) take RSVPs whose
contact details are encrypted at rest and purged after the event (VECINOS_EVENT_RETENTION_DAYS).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vecinos.core.crypto import EncryptedTextField

# The default roles' names in every catalog (the rows seed "en" and "es"): a role whose
# English name is still the default is named in the reader's language from here.
DEFAULT_ROLE_LABELS = {
    "observer": ("Legal observer", _("Legal observer")),
    "documenter": ("Documenter", _("Documenter")),
    "accompaniment": ("Accompaniment / family support", _("Accompaniment / family support")),
    "presence": ("Presence", _("Presence")),
    "driver": ("Driver", _("Driver")),
    "interpreter": ("Interpreter", _("Interpreter")),
}


class CalloutRole(models.Model):
    """A role a call-out can ask for (legal observer, documenter...). Editable in the admin."""

    key = models.SlugField(max_length=32, unique=True)
    names = models.JSONField(default=dict)  # {"en": "Legal observer", "es": "Observador legal"}
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "key"]

    def __str__(self) -> str:
        return self.key

    def name(self, language: str) -> str:
        """Its name in ``language``: the coordinators' own, else the default role's name from
        that language's catalog (unless they renamed it in English), else English."""
        own = self.names.get(language)
        if own:
            return own
        english, label = DEFAULT_ROLE_LABELS.get(self.key, ("", None))
        if label is not None and self.names.get("en", english) == english:
            with translation.override(language):
                return str(label)
        return self.names.get("en") or self.key


class Activation(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Waiting for a second approval")
        OPEN = "open", _("Open")
        STOOD_DOWN = "stood_down", _("Stood down")
        CANCELLED = "cancelled", _("Cancelled")

    code = models.CharField(max_length=8, db_index=True)  # short code people may text back
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    organization = models.ForeignKey(
        "network.Organization", on_delete=models.SET_NULL, null=True, related_name="activations"
    )
    incident = models.ForeignKey(
        "reports.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activations",
    )
    # The staging point names a place: encrypted like every place text.
    staging_point = EncryptedTextField()
    needed_by = models.DateTimeField()
    roles = models.JSONField(default=dict)  # {"observer": 3, "presence": 5}
    guidance = models.JSONField(default=dict)  # {"es": "...", "en": "..."}
    # The audience, in the shape alerts' selection reads (tiers, zones, point + radius, or an
    # area drawn on the map: [[lat, lng], ...], 3 to 200 corners, not closed).
    tiers = models.JSONField(default=list)
    zones = models.ManyToManyField("network.Zone", blank=True, related_name="+")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    radius_m = models.PositiveIntegerField(null=True, blank=True)
    polygon = models.JSONField(default=list, blank=True)
    # Quota mode: ask in waves of wave_size; the next wave after wave_minutes while unmet.
    quota = models.BooleanField(default=False)
    wave_size = models.PositiveIntegerField(default=20)
    wave_minutes = models.PositiveIntegerField(default=10)
    waves_sent = models.PositiveSmallIntegerField(default=0)
    next_wave_at = models.DateTimeField(null=True, blank=True, db_index=True)
    quota_met_at = models.DateTimeField(null=True, blank=True)
    after_action = EncryptedTextField(blank=True)
    # A rights library article (slug) whose link goes into the ask, in each person's language.
    rights_article = models.SlugField(max_length=60, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    recipients_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"activation {self.pk} {self.code}"

    # What alerts' selection and two-person rule read of an alert (reused, not copied).
    parent_id = None
    kind = "activation"

    @property
    def needed_total(self) -> int:
        return sum(int(n) for n in self.roles.values())


class Response(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Not asked yet")
        ASKED = "asked", _("No answer yet")
        COMING = "coming", _("Coming")
        DECLINED = "declined", _("Not coming")
        ARRIVED = "arrived", _("On site")
        LEFT = "left", _("Left")
        ENOUGH = "enough", _("Not needed")

    activation = models.ForeignKey(Activation, on_delete=models.CASCADE, related_name="responses")
    subscriber = models.ForeignKey("alerts.Subscriber", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)
    tier = models.CharField(max_length=12)
    language = models.CharField(max_length=8, default="es")
    wave = models.PositiveSmallIntegerField(default=1)
    rank = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ASKED)
    role = models.CharField(max_length=32, blank=True)
    eta = models.DateTimeField(null=True, blank=True)
    via = models.CharField(max_length=8, blank=True)
    asked_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["activation", "subscriber"], name="one_response_per_activation"
            )
        ]
        # The role too: a reply's quota count (roles filled) reads only this index.
        indexes = [models.Index(fields=["activation", "status", "role"], name="response_board")]


class ActivationMessage(models.Model):
    """A message to everyone coming, everyone on site, or a stand-down."""

    class Audience(models.TextChoices):
        COMING = "coming", _("Everyone coming")
        ON_SITE = "on_site", _("Everyone on site")
        BOTH = "both", _("Everyone coming or on site")

    activation = models.ForeignKey(Activation, on_delete=models.CASCADE, related_name="messages")
    audience = models.CharField(max_length=8, choices=Audience.choices)
    stand_down = models.BooleanField(default=False)
    texts = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    recipients_count = models.PositiveIntegerField(default=0)


# --- Events -----------------------------------------------------------------------------------


class Event(models.Model):
    class Kind(models.TextChoices):
        RALLY = "rally", _("Rally")
        PRESS = "press", _("Press conference")
        VIGIL = "vigil", _("Vigil")
        TRAINING = "training", _("Training")
        KYR = "kyr", _("Know-your-rights clinic")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    code = models.CharField(max_length=12, unique=True)  # the SMS keyword, e.g. MARCHA7
    titles = models.JSONField(default=dict)  # per language
    descriptions = models.JSONField(default=dict)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    place = models.CharField(max_length=200)  # public: where people gather
    capacity = models.PositiveIntegerField(null=True, blank=True)
    languages = models.JSONField(default=list)
    accessibility = models.TextField(blank=True)
    public = models.BooleanField(default=True)
    organization = models.ForeignKey(
        "network.Organization", on_delete=models.CASCADE, related_name="events"
    )
    hosts = models.ManyToManyField("network.Organization", blank=True, related_name="+")
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    walk_ins = models.PositiveIntegerField(default=0)
    cancelled = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return self.code

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles.get("es") or self.titles.get("en") or ""

    def description(self, language: str) -> str:
        return (
            self.descriptions.get(language)
            or self.descriptions.get("es")
            or self.descriptions.get("en")
            or ""
        )


class Rsvp(models.Model):
    class Status(models.TextChoices):
        # Asked on the web, waiting for the link sent to the phone or email to be opened.
        PENDING = "pending", _("Waiting for confirmation")
        # Coming to the event ("Asistirá"), not on the way like a call-out's "Going" (outside
        # walk, session 18: the door list said people who had arrived were "on the way").
        GOING = "going", pgettext_lazy("event RSVP", "Going")
        WAITLIST = "waitlist", _("Waitlist")
        CANCELLED = "cancelled", _("Cancelled")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="rsvps")
    nickname = EncryptedTextField(blank=True)
    phone = EncryptedTextField(blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)
    email = EncryptedTextField(blank=True)
    email_index = models.CharField(max_length=64, blank=True)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    language = models.CharField(max_length=8, default="es")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.GOING)
    via = models.CharField(max_length=8, default="web")
    created_at = models.DateTimeField(auto_now_add=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reminded_day = models.BooleanField(default=False)
    reminded_soon = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "id"]
