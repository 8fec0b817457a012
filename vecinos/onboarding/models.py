"""An import started in the app: the uploaded file lives here, encrypted, only until the import
is done (or a day has passed); the result keeps counts and line numbers, never a row's data.
People an organization's coordinator imports wait in ``PendingMember`` until they accept."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from vecinos.core.crypto import EncryptedTextField


class ImportJob(models.Model):
    class Kind(models.TextChoices):
        MEMBERS = "members", _("Members")
        SUBSCRIBERS = "subscribers", _("Subscribers")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Ready to map columns")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    organization = models.ForeignKey(
        "network.Organization", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # AES-GCM (core.crypto.encrypt_bytes); emptied when the import is done or abandoned.
    file = models.BinaryField(default=b"")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)  # field -> column index, as the coordinator chose
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    dry_run = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    # {"new", "updated", "skipped", "errors", "warnings": [...], "problems": [[line, outcome,
    # reason], ...]}: no cell of the file, so the report can be downloaded after the file is gone.
    result = models.JSONField(default=dict)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class PendingMember(models.Model):
    """A row of a members import by an organization's coordinator, waiting for the person to
    open the link texted to them and join (``onboarding.joining``). Whether the number was new,
    a member of another organization or on the stop list, the importing organization sees the
    same thing: a name and number from its own file, waiting. Deleted when the person answers,
    and after ``PENDING_DAYS`` by the retention run."""

    organization = models.ForeignKey(
        "network.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = EncryptedTextField(blank=True)
    phone = EncryptedTextField()
    phone_index = models.CharField(max_length=64)
    email = EncryptedTextField(blank=True)
    language = models.CharField(max_length=8, default="es")
    roles = models.JSONField(default=list)
    # [[zone id or null, lat or null, lng or null, label], ...] as the file gave them.
    areas = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    texted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "phone_index"], name="pending_member_once"
            )
        ]
