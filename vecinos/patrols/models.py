"""Community patrols: places, recurring shift templates, shifts, sign-ups, check-ins, logs.

Check-ins keep only "at the place or not" and the time: never a location trail.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from vecinos.core.crypto import EncryptedTextField


class Place(models.Model):
    class Kind(models.TextChoices):
        SCHOOL = "school", _("School")
        COURTHOUSE = "courthouse", _("Courthouse")
        CORNER = "corner", _("Day-labor corner")
        OTHER = "other", _("Other place")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    lat = models.FloatField()
    lng = models.FloatField()
    zone = models.ForeignKey(
        "network.Zone", on_delete=models.SET_NULL, null=True, blank=True, related_name="places"
    )
    organization = models.ForeignKey(
        "network.Organization", on_delete=models.CASCADE, related_name="places"
    )
    # Where to stand, who the school contact is: for the organization's members only.
    notes = EncryptedTextField(_("notes for volunteers"), blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ShiftTemplate(models.Model):
    """A recurring shift: e.g. Monday to Friday 7:15-8:15 at a school."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="templates")
    weekdays = models.JSONField(default=list)  # 0 = Monday ... 6 = Sunday
    start_time = models.TimeField()
    end_time = models.TimeField()
    min_people = models.PositiveSmallIntegerField(default=2)
    ideal_people = models.PositiveSmallIntegerField(default=4)
    max_people = models.PositiveSmallIntegerField(default=6)
    active_from = models.DateField()
    active_until = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["place", "start_time"]


class Holiday(models.Model):
    """A day without shifts (school holiday), for one organization's places or for all."""

    date = models.DateField(db_index=True)
    name = models.CharField(max_length=120)
    organization = models.ForeignKey(
        "network.Organization", on_delete=models.CASCADE, null=True, blank=True
    )

    class Meta:
        ordering = ["date"]


class Shift(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        NONE = "", _("Not reported yet")
        ALL_CLEAR = "all_clear", _("All clear")
        ACTIVITY = "activity", _("Activity seen")

    template = models.ForeignKey(
        ShiftTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="shifts"
    )
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="shifts")
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    min_people = models.PositiveSmallIntegerField(default=2)
    ideal_people = models.PositiveSmallIntegerField(default=4)
    max_people = models.PositiveSmallIntegerField(default=6)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    cancelled_reason = models.CharField(max_length=120, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    report = models.ForeignKey(
        "reports.Report", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["starts_at", "place_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["place", "starts_at"], name="one_shift_per_place_and_start"
            )
        ]


class Signup(models.Model):
    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="signups")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="patrol_signups"
    )
    is_lead = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    offered_for_swap = models.BooleanField(default=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_at_place = models.BooleanField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shift", "member"], name="one_signup_per_shift")
        ]


class PatrolLogEntry(models.Model):
    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="log")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]


class CalendarFeed(models.Model):
    """A private iCalendar URL: a member's own shifts, or an organization's for coordinators."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_feeds",
    )
    organization = models.ForeignKey(
        "network.Organization", on_delete=models.CASCADE, null=True, blank=True
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
