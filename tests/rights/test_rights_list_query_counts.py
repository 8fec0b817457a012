"""Pinned query counts on the rights pages that list rows and are not pinned elsewhere: the
translation coverage page (every language x the articles), the recordings page (every language
with its recording) and an article's page. Each asks the database as often with N rows as with 3N
(tests/querycount.py). The library with its coverage table is in tests/core/test_query_counts.py."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import sign_in
from tests.querycount import assert_flat
from vecinos.core import languages
from vecinos.rights import selectors, services
from vecinos.rights.models import Article, Topic

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64


def _published(reviewer, **fields) -> None:
    """An editor's version, reviewed by a second coordinator (what the public reads), or, with
    no reviewer, waiting for one."""
    version = services.version_create(**fields)
    if reviewer is not None:
        services.version_mark_reviewed(version=version, actor=reviewer)


def _articles(actor, n: int, reviewer=None) -> Article:
    article = None
    for _ in range(n):
        k = next(_seq)
        article = Article.objects.create(slug=f"qc-article-{k}", topic=Topic.values[0])
        for language, word in (("en", "Right"), ("es", "Derecho"), ("ko", "권리")):
            _published(
                reviewer,
                article=article,
                language=language,
                title=f"QC {word} {k}",
                summary="A summary.",
                body="A body.",
                actor=actor,
            )
    assert article is not None
    return article


def test_translation_coverage(personas):
    client = sign_in(Client(), personas.coalition)

    def build(n: int) -> tuple[str, str]:
        _articles(personas.coordinator, n)
        return reverse("rights_translations"), f"/ {Article.objects.count()}</span></td>"

    assert_flat(client, build)


def test_recordings_page(personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = sign_in(Client(), personas.coalition)  # the hotline's recordings are theirs
    codes = iter([lang.code for lang in languages.content_languages()])

    def build(n: int) -> tuple[str, str]:
        code = ""
        for _ in range(n):
            code = next(codes)
            services.recording_save(language=code, data=MP3, actor=personas.coordinator)
        # The newest recording's player, by its signed address (issue 13: not guessable), up
        # to the signature's timestamp: the page signs it again, maybe a second later.
        path = selectors.audio_path(selectors.recordings()[code])
        return reverse("rights_recordings"), path.split(":", 1)[0] + ":"

    assert_flat(client, build)


def test_article_page(personas):
    client = Client()
    article = _articles(personas.coordinator, 1, personas.coalition)

    def build(n: int) -> tuple[str, str]:
        title = ""
        for _ in range(n):  # new versions of one article: the page shows the newest
            title = f"QC Right, edition {next(_seq)}"
            _published(
                personas.coalition,
                article=article,
                language="en",
                title=title,
                summary="A summary.",
                body="A body.",
                actor=personas.coordinator,
            )
        return reverse("rights_article", args=[article.slug]) + "?lang=en", title

    assert_flat(client, build)


def test_offline_list(personas):
    client = Client()

    def build(n: int) -> tuple[str, str]:
        article = _articles(personas.coordinator, n, personas.coalition)
        return reverse("rights_offline"), f"/rights/{article.slug}/?lang=ko"

    assert_flat(client, build)
