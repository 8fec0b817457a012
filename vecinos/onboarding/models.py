"""An import started in the app: the uploaded file lives here, encrypted, only until the import
is done (or a day has passed); the result keeps counts and line numbers, never a row's data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
