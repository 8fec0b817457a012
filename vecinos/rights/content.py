"""The shipped rights texts: one file per language, ``content/<code>.txt``.

    @page                       strings of the rights pages, the SMS reply, the voice summary
    key = value

    @card                       the back of the red card, one instruction a line
    key = value

    @article at-the-door        an article: title and summary lines, a blank line, the body
    title = At the door
    summary = One or two sentences for SMS and voice.

    Body in the limited markup (vecinos.rights.markup).

The files are the starting point: ``vecinos rights load`` (and the initial data migration) put
them in the database as versions; coordinators then edit and review in the app. English is the
source; every other language is marked as needing review by a native speaker.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from vecinos.core import languages

CONTENT_DIR = Path(__file__).resolve().parent / "content"

# (slug, topic) in reading order; the slug is the same in every language.
ARTICLES: tuple[tuple[str, str], ...] = (
    ("at-the-door", "door"),
    ("on-the-street", "street"),
    ("in-a-car", "car"),
    ("at-work", "work"),
    ("at-school", "school"),
    ("at-court", "court"),
    ("if-someone-is-detained", "detained"),
    ("family-plan", "plan"),
    ("witness-and-document", "witness"),
    ("hotline", "hotline"),
)
TOPIC_OF = dict(ARTICLES)
POSITION_OF = {slug: (i + 1) * 10 for i, (slug, _topic) in enumerate(ARTICLES)}


@dataclass
class ArticleText:
    slug: str
    title: str
    summary: str
    body: str


@dataclass
class LanguageContent:
    language: str
    page: dict[str, str] = field(default_factory=dict)
    card: dict[str, str] = field(default_factory=dict)
    articles: dict[str, ArticleText] = field(default_factory=dict)


class ContentError(ValueError):
    pass


def parse(text: str, language: str) -> LanguageContent:  # noqa: C901 - one branch per line kind of the content format
    result = LanguageContent(language=language)
    section = ""
    slug = ""
    head: dict[str, str] = {}
    body: list[str] = []

    def close() -> None:
        if section == "article":
            if not head.get("title"):
                raise ContentError(f"{language}: article {slug!r} has no title")
            result.articles[slug] = ArticleText(
                slug=slug,
                title=head["title"],
                summary=head.get("summary", ""),
                body="\n".join(body).strip(),
            )

    in_body = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if line.startswith("@"):
            close()
            parts = line[1:].split()
            section = parts[0] if parts else ""
            slug = parts[1] if len(parts) > 1 else ""
            head, body, in_body = {}, [], False
            if section not in ("page", "card", "article"):
                raise ContentError(f"{language}:{number}: unknown section {line!r}")
            if section == "article" and slug not in TOPIC_OF:
                raise ContentError(f"{language}:{number}: unknown article {slug!r}")
            continue
        if section in ("page", "card"):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise ContentError(f"{language}:{number}: expected key = value")
            target = result.page if section == "page" else result.card
            target[key.strip()] = value.strip()
        elif section == "article":
            if not in_body:
                if not line.strip():
                    if head:
                        in_body = True
                    continue
                key, sep, value = line.partition("=")
                if sep and key.strip() in ("title", "summary"):
                    head[key.strip()] = value.strip()
                    continue
                in_body = True
            body.append(line)
    close()
    return result


@functools.cache
def load(language: str) -> LanguageContent | None:
    path = CONTENT_DIR / f"{language}.txt"
    if not path.exists():
        return None
    return parse(path.read_text(encoding="utf-8"), language)


def available() -> list[str]:
    """Registry codes that have a content file, in registry order."""
    return [
        lang.code for lang in languages.LANGUAGES if (CONTENT_DIR / f"{lang.code}.txt").exists()
    ]


def page_strings(language: str) -> dict[str, str]:
    """The rights pages' strings in ``language``, English filling any gap."""
    english = load("en")
    strings = dict(english.page if english else {})
    own = load(language)
    if own is not None:
        strings.update({k: v for k, v in own.page.items() if v})
    return strings


def card_strings(language: str) -> dict[str, str]:
    english = load("en")
    strings = dict(english.card if english else {})
    own = load(language)
    if own is not None:
        strings.update({k: v for k, v in own.card.items() if v})
    return strings
