from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("the audit log is append-only")

    def delete(self):
        raise PermissionError("the audit log is append-only")


class AuditEvent(models.Model):
    """One sensitive action. Append-only: rows are never updated or deleted by the app.

    ``detail`` never holds personal data (no names, numbers or addresses): only ids, role names
    and counts, so the audit log itself is not a roster.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who"),
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    organization_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only")


class RateCounter(models.Model):
    """Embedded-mode rate-limit counters (Redis holds them at scale)."""

    name = models.CharField(max_length=120, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires = models.BigIntegerField(db_index=True)


class CoalitionSettings(models.Model):
    """The coalition's public identity: one row (pk 1), read through ``core.coalition``.

    Nothing here is personal data (the coalition's own public name, numbers and logo), so it is
    stored in the clear. The logo is kept in the database as a re-encoded PNG (no metadata) so
    every web host serves the same one without shared media storage.
    """

    name = models.CharField(_("coalition name"), max_length=120)
    short_name = models.CharField(
        _("short name"),
        max_length=24,
        help_text=_("Starts every SMS, for example “LARRN:”. Keep it short."),
    )
    hotline = models.JSONField(_("hotline numbers"), default=dict, blank=True)  # language -> E.164
    public_contact = models.CharField(_("public contact"), max_length=200, blank=True)
    accent_color = models.CharField(_("accent colour"), max_length=7, default="#0b6e4f")
    languages = models.JSONField(_("languages"), default=list, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="America/Los_Angeles")
    # Interface languages a coalition coordinator marked reviewed by a native speaker
    # (``core.languages.needs_review``); set on the translations page, audited.
    reviewed_languages = models.JSONField(default=list, blank=True)
    logo_png = models.BinaryField(blank=True, default=b"")
    logo_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("coalition settings")
        verbose_name_plural = _("coalition settings")

    def __str__(self) -> str:
        return self.name
