"""The rights library: articles, each written in several languages, each language versioned.

An edit never overwrites: it adds a version (number + 1), so what a person was shown can be
told apart from what a coordinator changed later, and review applies to one exact text. The
current text of an article in a language is its highest version number. Nothing here is about
a person: there is nothing for the emergency purge to remove.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Topic(models.TextChoices):
    DOOR = "door", _("At the door")
    STREET = "street", _("On the street")
    CAR = "car", _("In a car")
    WORK = "work", _("At work")
    SCHOOL = "school", _("At school")
    COURT = "court", _("At court")
    DETAINED = "detained", _("If someone is detained")
    PLAN = "plan", _("Family preparedness plan")
    WITNESS = "witness", _("Witness and document safely")
    HOTLINE = "hotline", _("The hotline")
    OTHER = "other", _("Other")


class Article(models.Model):
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("rights article")
        verbose_name_plural = _("rights articles")

    def __str__(self) -> str:
        return self.slug


class ArticleVersion(models.Model):
    class Source(models.TextChoices):
        FILE = "file", _("content file")
        EDITOR = "editor", _("edited in the app")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    language = models.CharField(_("language"), max_length=8)
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    # One or two sentences: the SMS reply and the spoken version on the hotline.
    summary = models.CharField(_("summary"), max_length=480, blank=True)
    # Limited markup (vecinos.rights.markup): paragraphs, "- " bullet lists, "## " headings.
    body = models.TextField(_("text"))
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.FILE)
    # Set on every non-English text written without a native speaker; a coordinator's review
    # clears it for that exact version.
    needs_native_review = models.BooleanField(_("needs review by a native speaker"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        ordering = ["article", "language", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "language", "number"], name="rights_one_number_per_language"
            )
        ]
        indexes = [models.Index(fields=["language", "article", "number"])]

    def __str__(self) -> str:
        return f"{self.article.slug} [{self.language}] v{self.number}"

    @property
    def reviewed(self) -> bool:
        return self.reviewed_at is not None


class Recording(models.Model):
    """The rights summary as a coordinator recorded it, for one language: the hotline plays it
    (languages without a text-to-speech voice, and the spoken-only Indigenous languages)."""

    language = models.CharField(_("language"), max_length=8, unique=True)
    filename = models.CharField(max_length=64)  # under MEDIA_ROOT/rights/
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("rights recording")
        verbose_name_plural = _("rights recordings")

    def __str__(self) -> str:
        return self.language
