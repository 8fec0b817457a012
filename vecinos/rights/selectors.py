"""Reads of the rights library. Public: anyone may read every article."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max, Q

from vecinos.core import languages, roles
from vecinos.messaging.inbound import fold
from vecinos.rights import content
from vecinos.rights.models import Article, ArticleVersion, Recording


def can_edit(member) -> bool:
    """Coordinators (of any organization, or the coalition) edit and review the library."""
    return roles.allowed("coordinator", member)


def can_record(member) -> bool:
    """Only coalition coordinators replace the hotline's recorded rights summary: it plays at
    once to every caller (as the alerts' recordings; outside probe, session 18)."""
    return roles.allowed("coalition_coordinator", member)


def _published(versions):
    """What the public reads: the library's own texts, and edits once a second coordinator
    reviewed them. An edit waits (its writer and the other coordinators see it), so no one
    coordinator can change the coalition's legal information alone (outside probe, session
    18: an organization's coordinator put "show your papers" on the public pages)."""
    return versions.filter(Q(source=ArticleVersion.Source.FILE) | Q(reviewed_by__isnull=False))


def can_mark_languages(member) -> bool:
    """Only coalition coordinators mark a language reviewed by a native speaker."""
    return roles.allowed("coalition_coordinator", member)


def current_versions(language: str, *, drafts: bool = False) -> list[ArticleVersion]:
    """The newest version of every article that exists in ``language``, in reading order: the
    newest published one, or with ``drafts`` (for the library's editors) the newest of all."""
    found = ArticleVersion.objects.filter(language=language)
    if not drafts:
        found = _published(found)
    latest = found.values("article_id").annotate(top=Max("number"))
    pairs = {row["article_id"]: row["top"] for row in latest}
    if not pairs:
        return []
    versions = ArticleVersion.objects.filter(
        language=language, article_id__in=pairs.keys()
    ).select_related("article", "reviewed_by", "created_by")
    chosen = [v for v in versions if pairs.get(v.article_id) == v.number]
    chosen.sort(key=lambda v: (v.article.position, v.article.slug))
    return chosen


def current_version(
    article: Article, language: str, *, drafts: bool = False
) -> ArticleVersion | None:
    found = ArticleVersion.objects.filter(article=article, language=language)
    if not drafts:
        found = _published(found)
    return found.select_related("reviewed_by", "created_by").order_by("-number").first()


def languages_of(article: Article) -> list[languages.Language]:
    codes = set(article.versions.values_list("language", flat=True).distinct())
    return [lang for lang in languages.LANGUAGES if lang.code in codes]


def library_languages() -> list[languages.Language]:
    """Languages at least one article is written in, in registry order."""
    codes = set(ArticleVersion.objects.values_list("language", flat=True).distinct())
    return [lang for lang in languages.LANGUAGES if lang.code in codes]


def get_article(slug: str) -> Article | None:
    return Article.objects.filter(slug=slug).first()


@dataclass
class Coverage:
    language: languages.Language
    articles: int
    reviewed: int
    needs_native_review: int


def coverage() -> list[Coverage]:
    """Per written language: articles present, reviewed, still waiting for a native speaker."""
    rows = []
    for lang in languages.written_languages():
        versions = current_versions(lang.code)
        rows.append(
            Coverage(
                language=lang,
                articles=len(versions),
                reviewed=sum(1 for v in versions if v.reviewed),
                needs_native_review=sum(1 for v in versions if v.needs_native_review),
            )
        )
    return rows


@dataclass
class LanguageCoverage:
    language: languages.Language
    strings: languages.CatalogCount | None
    articles: Coverage
    needs_review: bool


def translation_coverage() -> list[LanguageCoverage]:
    """Per written language: interface strings translated, articles written and reviewed, and
    whether a native speaker reviewed the interface (the coalition coordinator's mark)."""
    return [
        LanguageCoverage(
            language=row.language,
            strings=languages.catalog_count(row.language),
            articles=row,
            needs_review=languages.needs_review(row.language.code),
        )
        for row in coverage()
    ]


def sms_summary(language: str) -> str:
    """The short summary texted back for RIGHTS / DERECHOS: from the page strings."""
    return content.page_strings(language).get("sms", "")


def sms_keywords() -> dict[str, str]:
    """Folded keyword -> language, from every content file's ``keywords`` line."""
    table: dict[str, str] = {}
    for code in content.available():
        data = content.load(code)
        if data is None:
            continue
        for word in data.page.get("keywords", "").split(","):
            word = fold(word.strip())
            if word:
                table.setdefault(word, code)
    return table


def recording(language: str) -> Recording | None:
    return Recording.objects.filter(language=language).first()


def recordings() -> dict[str, Recording]:
    return {r.language: r for r in Recording.objects.all()}


AUDIO_SALT = "vecinos.rights-recording"


def audio_path(recording: Recording) -> str:
    """The signed path the provider (and a coordinator's player) fetches the audio from: it
    names the row and its file, so it cannot be guessed and a replaced file's URL stops."""
    from django.core import signing
    from django.urls import reverse

    token = signing.dumps([recording.pk, recording.filename], salt=AUDIO_SALT, compress=True)
    return reverse("rights_audio", args=[token])


def audio_of(token: str) -> tuple[Recording, bytes] | None:
    from django.core import signing

    from vecinos.core import audio

    try:
        pk, filename = signing.loads(token, salt=AUDIO_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    recording = Recording.objects.filter(pk=pk, filename=filename).first()
    data = audio.read(recording.filename) if recording is not None else None
    return (recording, data) if recording is not None and data is not None else None
