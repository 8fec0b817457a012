"""The coalition coordinators' translations page: strings translated per language, rights
articles written and reviewed, and the native speaker's review of the interface (the mark
that hides the footer notice), audited."""

from __future__ import annotations

import re

import polib
import pytest

from vecinos.core import coalition, languages
from vecinos.core.extensions import navigation_for
from vecinos.core.models import AuditEvent, CoalitionSettings
from vecinos.rights import services

pytestmark = pytest.mark.django_db

NOTICE = "This translation needs review by a native speaker."


@pytest.fixture(autouse=True)
def library(db):
    services.load_content()


def row_of(body: str, code: str) -> str:
    match = re.search(rf'<tr data-language="{re.escape(code)}">(.*?)</tr>', body, re.S)
    assert match, code
    return match.group(1)


def test_catalog_count_matches_the_po_file():
    for lang in languages.written_languages():
        if lang.code == "en":
            continue
        po = polib.pofile(str(languages.LOCALE_DIR / lang.locale / "LC_MESSAGES" / "django.po"))
        live = [e for e in po if not e.obsolete]
        count = languages.catalog_count(lang)
        assert count is not None
        assert count.total == len(live), lang.code
        assert count.translated == len(po.translated_entries()), lang.code
    en = languages.catalog_count(languages.BY_CODE["en"])
    assert en is not None and en.translated == en.total > 1000
    assert languages.catalog_count(languages.BY_CODE["mix"]) is None


def test_coalition_coordinator_sees_every_language(client, personas, login):
    login(personas.coalition)
    response = client.get("/rights/translations/")
    assert response.status_code == 200
    body = response.content.decode()
    total = languages.catalog_count(languages.BY_CODE["ko"]).total
    for lang in languages.written_languages():
        row = row_of(body, lang.code)
        assert lang.native_name in row
    ko = row_of(body, "ko")
    assert f"/ {total}" in ko
    assert "Mark reviewed" in ko and "Needs a native speaker" in ko
    assert "Mark reviewed" not in row_of(body, "en")
    # The rights articles: every one written in Korean, none reviewed yet.
    assert re.search(r">(\d+) / \1<", ko)
    assert "rights_translations" in [
        e.url_name for g in navigation_for(personas.coalition) for e in g.entries
    ]


def test_marking_a_language_reviewed_hides_the_notice_and_is_audited(
    client, settings, personas, login
):
    coalition.invalidate()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    assert "translation-notice" in client.get("/report/").content.decode()
    login(personas.coalition)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post("/rights/translations/", {"language": "ko", "reviewed": "1"})
    assert response.status_code == 302
    assert CoalitionSettings.objects.get(pk=1).reviewed_languages == ["ko"]
    event = AuditEvent.objects.get(action="language.reviewed")
    assert event.actor == personas.coalition and event.detail == {"language": "ko"}
    assert not languages.needs_review("ko") and languages.needs_review("tl")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    assert "translation-notice" not in client.get("/report/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "tl"
    assert "translation-notice" in client.get("/report/").content.decode()
    # Back to needs-review.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get("/rights/translations/").content.decode()
    assert "Mark as needing review" in row_of(body, "ko")
    client.post("/rights/translations/", {"language": "ko", "reviewed": "0"})
    assert AuditEvent.objects.filter(action="language.needs_review").count() == 1
    assert languages.needs_review("ko")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    po = polib.pofile(str(languages.LOCALE_DIR / "ko" / "LC_MESSAGES" / "django.po"))
    assert po.find(NOTICE).msgstr in client.get("/report/").content.decode()


def test_unknown_or_source_language_is_refused(client, personas, login):
    login(personas.coalition)
    for code in ("en", "mix", "xx", ""):
        response = client.post("/rights/translations/", {"language": code, "reviewed": "1"})
        assert response.status_code == 404, code
    assert not AuditEvent.objects.filter(action__startswith="language.").exists()


@pytest.mark.parametrize("who", ["coordinator", "dispatcher", "newcomer", "outsider"])
def test_others_get_403_and_no_link(client, personas, login, who):
    member = getattr(personas, who)
    login(member)
    assert client.get("/rights/translations/").status_code == 403
    response = client.post("/rights/translations/", {"language": "ko", "reviewed": "1"})
    assert response.status_code == 403
    assert languages.needs_review("ko")
    assert "rights_translations" not in [
        e.url_name for g in navigation_for(member) for e in g.entries
    ]


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/rights/translations/")
    assert response.status_code == 302 and "/signin/" in response["Location"]
