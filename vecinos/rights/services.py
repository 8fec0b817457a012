"""Writes of the rights library: load the shipped texts, edit (a new version), review."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from vecinos.core import audio, languages
from vecinos.core.audit import audit
from vecinos.rights import content
from vecinos.rights.models import Article, ArticleVersion, Recording

# English is the source language of the shipped texts; the rest wait for a native speaker.
SOURCE_LANGUAGE = languages.SOURCE_LANGUAGE


class RightsError(ValueError):
    pass


def _next_number(article: Article, language: str) -> int:
    top = ArticleVersion.objects.filter(article=article, language=language).aggregate(
        top=Max("number")
    )["top"]
    return (top or 0) + 1


@transaction.atomic
def load_content(*, language_codes: list[str] | None = None) -> dict[str, int]:
    """Put the shipped texts in the database. Idempotent.

    A language's article gets a new version only when the file's text differs from its newest
    version and that version came from a file too: a coordinator's edit is never overwritten.
    """
    counts = {"articles": 0, "versions": 0, "kept": 0}
    for slug, topic in content.ARTICLES:
        _article, created = Article.objects.get_or_create(
            slug=slug, defaults={"topic": topic, "position": content.POSITION_OF[slug]}
        )
        counts["articles"] += int(created)
    articles = {a.slug: a for a in Article.objects.all()}
    for code in language_codes or content.available():
        data = content.load(code)
        if data is None:
            raise RightsError(f"no content file for {code!r}")
        for slug, text in data.articles.items():
            article = articles[slug]
            latest = (
                ArticleVersion.objects.filter(article=article, language=code)
                .order_by("-number")
                .first()
            )
            if latest is not None and (
                latest.source == ArticleVersion.Source.EDITOR
                or (latest.title, latest.summary, latest.body)
                == (text.title, text.summary, text.body)
            ):
                counts["kept"] += 1
                continue
            ArticleVersion.objects.create(
                article=article,
                language=code,
                number=_next_number(article, code),
                title=text.title,
                summary=text.summary,
                body=text.body,
                source=ArticleVersion.Source.FILE,
                needs_native_review=code != SOURCE_LANGUAGE,
            )
            counts["versions"] += 1
    return counts


@transaction.atomic
def version_create(
    *, article: Article, language: str, title: str, summary: str, body: str, actor
) -> ArticleVersion:
    """A coordinator's edit: a new version, unreviewed (review is of an exact text)."""
    lang = languages.get(language)
    if lang is None or not lang.written:
        raise RightsError("not a written language")
    version = ArticleVersion.objects.create(
        article=article,
        language=lang.code,
        number=_next_number(article, lang.code),
        title=title.strip(),
        summary=summary.strip(),
        body=body.strip(),
        source=ArticleVersion.Source.EDITOR,
        needs_native_review=False,
        created_by=actor,
    )
    audit(
        "rights.version_create",
        actor=actor,
        target=version,
        article=article.slug,
        language=lang.code,
        number=version.number,
    )
    return version


@transaction.atomic
def version_mark_reviewed(*, version: ArticleVersion, actor) -> ArticleVersion:
    """A coordinator vouches for this exact text (and, for a translation, a native reading)."""
    version = ArticleVersion.objects.select_for_update().get(pk=version.pk)
    version.reviewed_by = actor
    version.reviewed_at = timezone.now()
    version.needs_native_review = False
    version.save(update_fields=["reviewed_by", "reviewed_at", "needs_native_review"])
    audit(
        "rights.version_reviewed",
        actor=actor,
        target=version,
        article=version.article.slug,
        language=version.language,
        number=version.number,
    )
    return version


AUDIO_TYPES = audio.AUDIO_TYPES
MAX_RECORDING_BYTES = audio.MAX_BYTES
audio_type = audio.audio_type


FOLDER = "rights-voice"


@transaction.atomic
def recording_save(*, language: str, data: bytes, actor) -> Recording:
    """Store (or replace) the recorded rights summary of a language: encrypted at rest like all
    uploaded audio (``core.audio``; it is a person's voice), played on calls from a signed URL
    (``selectors.audio_path``)."""
    lang = languages.get(language)
    if lang is None:
        raise RightsError("unknown language")
    kind = audio_type(data)
    if kind is None or len(data) > MAX_RECORDING_BYTES:
        raise RightsError("not an MP3 or WAV file of at most 10 MB")
    name = audio.store(data, FOLDER)
    old = Recording.objects.select_for_update().filter(language=lang.code).first()
    old_name = old.filename if old else ""
    recording, _ = Recording.objects.update_or_create(
        language=lang.code,
        defaults={"filename": name, "content_type": kind, "size": len(data), "uploaded_by": actor},
    )
    if old_name:
        transaction.on_commit(lambda: audio.remove(old_name))
    audit("rights.recording_save", actor=actor, target=recording, language=lang.code)
    return recording
