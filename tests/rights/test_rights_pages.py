"""The rights library's public pages, in several languages, and the coordinators' review."""

from __future__ import annotations

import re

import pytest

from vecinos.core.models import AuditEvent
from vecinos.rights import content, services
from vecinos.rights.models import Article, ArticleVersion

pytestmark = pytest.mark.django_db

SHIPPED = ["en", "es", "tl", "ko", "zh-hans", "zh-hant", "vi", "hy", "fa", "ar", "ru", "km", "ja"]


@pytest.fixture(autouse=True)
def library(db):
    """The migration loads the texts, but a transactional test elsewhere may have flushed them."""
    services.load_content()


def html_tag(response) -> str:
    return re.search(r"<html[^>]*>", response.content.decode()).group(0)


def test_every_shipped_language_has_every_article_loaded():
    for code in content.available():
        assert set(content.load(code).articles) == set(content.TOPIC_OF), code
    assert Article.objects.count() == len(content.ARTICLES)
    for code in content.available():
        assert ArticleVersion.objects.filter(language=code).count() == len(content.ARTICLES)


def test_every_shipped_language_has_a_content_file():
    assert set(SHIPPED) <= set(content.available())


def test_non_english_texts_wait_for_a_native_speaker():
    assert not ArticleVersion.objects.filter(language="en", needs_native_review=True).exists()
    assert (
        not ArticleVersion.objects.exclude(language="en").filter(needs_native_review=False).exists()
    )


def test_index_in_english_lists_the_topics_and_says_not_legal_advice(client, settings):
    settings.HOTLINE_NUMBER = "+1 213 555 0100"
    settings.LEGAL_PARTNERS = "Example Legal Aid, (213) 555-0199"
    response = client.get("/rights/?lang=en")
    assert response.status_code == 200
    body = response.content.decode()
    assert "At the door" in body and "If someone is detained" in body
    assert "not legal advice" in body
    assert "+1 213 555 0100" in body and "Example Legal Aid" in body
    assert 'dir="rtl"' not in html_tag(response)


def test_article_in_spanish(client):
    response = client.get("/rights/at-the-door/?lang=es")
    assert response.status_code == 200
    body = response.content.decode()
    assert "orden judicial" in body
    assert 'lang="es"' in html_tag(response)
    assert "hablante nativo" in body  # not yet reviewed by a native speaker


@pytest.mark.parametrize("code", ["ar", "fa"])
def test_arabic_and_farsi_pages_are_right_to_left(client, code):
    for url in (f"/rights/?lang={code}", f"/rights/at-the-door/?lang={code}"):
        response = client.get(url)
        assert response.status_code == 200
        tag = html_tag(response)
        assert 'dir="rtl"' in tag and f'lang="{code}"' in tag


@pytest.mark.parametrize(
    ("code", "script"),
    [
        ("ko", "[\uac00-\ud7af]"),
        ("km", "[\u1780-\u17ff]"),
        ("hy", "[\u0530-\u058f]"),
        ("ru", "[\u0400-\u04ff]"),
        ("zh-hant", "[\u4e00-\u9fff]"),
        ("ja", "[\u3040-\u30ff]"),
    ],
)
def test_article_pages_show_each_script(client, code, script):
    response = client.get(f"/rights/if-someone-is-detained/?lang={code}")
    assert response.status_code == 200
    assert re.search(script, response.content.decode())
    assert 'dir="rtl"' not in html_tag(response)


def test_language_picker_lists_the_languages_the_article_exists_in(client):
    ArticleVersion.objects.filter(article__slug="at-court", language="vi").delete()
    body = client.get("/rights/at-court/?lang=en").content.decode()
    assert 'hreflang="ko"' in body and "한국어" in body
    assert 'hreflang="vi"' not in body


def test_unknown_language_falls_back_and_unknown_article_is_404(client):
    response = client.get("/rights/at-the-door/?lang=xx-<script>")
    assert response.status_code == 200
    assert 'lang="en"' in html_tag(response)
    assert client.get("/rights/no-such-article/").status_code == 404


def test_article_body_markup_is_escaped(client, personas):
    article = Article.objects.get(slug="at-work")
    version = services.version_create(
        article=article,
        language="en",
        title="<b>x</b>",
        summary="s",
        body="<script>alert(1)</script>\n\n- **bold** item\n- call 213-555-0100",
        actor=None,
    )
    services.version_mark_reviewed(version=version, actor=personas.coalition)  # public once read
    body = client.get("/rights/at-work/?lang=en").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body
    assert "<strong>bold</strong>" in body
    assert '<span dir="ltr" class="ltr">213-555-0100</span>' in body


def test_coordinator_marks_a_version_reviewed_and_it_is_audited(client, personas, login):
    version = ArticleVersion.objects.get(article__slug="at-the-door", language="ko")
    login(personas.coordinator)
    page = client.get("/rights/at-the-door/?lang=ko").content.decode()
    assert f"/rights/review/{version.pk}/" in page
    response = client.post(f"/rights/review/{version.pk}/")
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.reviewed_by == personas.coordinator and version.reviewed_at is not None
    assert not version.needs_native_review
    event = AuditEvent.objects.get(action="rights.version_reviewed")
    assert event.actor == personas.coordinator and event.target_id == str(version.pk)
    page = client.get("/rights/at-the-door/?lang=ko").content.decode()
    assert "원어민" not in page  # the "needs review" note is gone


def test_the_writer_of_a_version_cannot_review_it(client, personas, login):
    # A review is a second reading (outside walk: the coordinator who saved a version marked
    # it reviewed at once).
    article = Article.objects.get(slug="at-the-door")
    mine = services.version_create(
        article=article, language="es", title="En la puerta", summary="Resumen",
        body="No abra la puerta.", actor=personas.coordinator,
    )  # fmt: skip
    login(personas.coordinator)
    response = client.post(f"/rights/review/{mine.pk}/", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "Someone other than its writer must review this version." in response.content.decode()
    mine.refresh_from_db()
    assert mine.reviewed_at is None
    assert not AuditEvent.objects.filter(action="rights.version_reviewed").exists()
    login(personas.coalition)
    client.post(f"/rights/review/{mine.pk}/")
    mine.refresh_from_db()
    assert mine.reviewed_by == personas.coalition


@pytest.mark.parametrize("who", ["newcomer", "dispatcher", "anonymous"])
def test_others_cannot_mark_reviewed(client, personas, login, who):
    version = ArticleVersion.objects.get(article__slug="at-the-door", language="ko")
    member = getattr(personas, who, None)
    login(member)
    response = client.post(f"/rights/review/{version.pk}/")
    assert response.status_code in (302, 403)
    if member is not None:
        assert response.status_code == 403
    version.refresh_from_db()
    assert version.reviewed_at is None


def test_coordinator_sees_translation_coverage(client, personas, login):
    login(personas.coordinator)
    body = client.get("/rights/?lang=en").content.decode()
    assert "Needs a native speaker" in body
    login(personas.newcomer)
    assert "Needs a native speaker" not in client.get("/rights/?lang=en").content.decode()


def test_load_command_is_idempotent_and_keeps_coordinator_edits():
    assert services.load_content()["versions"] == 0
    assert ArticleVersion.objects.count() == len(SHIPPED) * len(content.ARTICLES)
    article = Article.objects.get(slug="hotline")
    services.version_create(
        article=article, language="es", title="Editado", summary="", body="Texto", actor=None
    )
    assert services.load_content(language_codes=["es"])["versions"] == 0
    assert ArticleVersion.objects.filter(article=article, language="es").count() == 2


def test_offline_list_and_service_worker(client):
    data = client.get("/rights/offline.json").json()
    assert "/rights/?lang=ar" in data["urls"]
    assert "/rights/at-the-door/?lang=km" in data["urls"]
    sw = client.get("/rights/sw.js")
    assert sw.status_code == 200 and sw["Content-Type"].startswith("application/javascript")
    assert b"save-rights" in sw.content


def test_public_nav_links_to_rights(client):
    assert 'href="/rights/"' in client.get("/report/").content.decode()


def test_coordinator_edits_an_article_as_a_new_version(client, personas, login):
    login(personas.coordinator)
    page = client.get("/rights/at-school/edit/?lang=ko")
    assert page.status_code == 200 and "학교에서" in page.content.decode()
    response = client.post(
        "/rights/at-school/edit/?lang=ko",
        {"title": "학교에서 (개정)", "summary": "요약", "body": "첫 문단.\n\n- 항목"},
    )
    assert response.status_code == 302
    versions = ArticleVersion.objects.filter(article__slug="at-school", language="ko")
    latest = versions.order_by("-number").first()
    assert versions.count() == 2 and latest.title == "학교에서 (개정)"
    assert latest.created_by == personas.coordinator and latest.reviewed_at is None
    assert AuditEvent.objects.filter(action="rights.version_create").exists()
    assert "학교에서 (개정)" in client.get("/rights/at-school/?lang=ko").content.decode()


def test_an_edit_reaches_the_public_once_another_coordinator_reviews_it(personas, login):
    """Outside probe, session 18: any organization's coordinator could put "show your papers
    to any agent who asks" on the public rights pages, live at once. An edit now waits for a
    second coordinator; the public reads the version before it meanwhile."""
    from django.test import Client

    writer = login(personas.coordinator)
    writer.post(
        "/rights/at-work/edit/?lang=en",
        {"title": "At work (changed)", "summary": "Show your papers.", "body": "Answer all."},
    )
    public = Client()
    assert "At work (changed)" not in public.get("/rights/at-work/?lang=en").content.decode()
    assert "At work (changed)" not in public.get("/rights/?lang=en").content.decode()
    own = writer.get("/rights/at-work/?lang=en", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "At work (changed)" in own and "waits for a review" in own
    edit = ArticleVersion.objects.filter(article__slug="at-work", language="en").latest("number")
    login(personas.coalition).post(f"/rights/review/{edit.pk}/")
    assert "At work (changed)" in public.get("/rights/at-work/?lang=en").content.decode()


def test_only_the_coalitions_coordinators_replace_the_hotlines_recordings(personas, login):
    """Outside probe, session 18: any organization's coordinator replaced the hotline's
    recorded rights message, played at once to every caller."""
    response = login(personas.coordinator).get("/rights/recordings/")
    assert response.status_code == 403
    assert login(personas.coalition).get("/rights/recordings/").status_code == 200


def test_only_the_boxes_of_a_right_to_left_edit_are_right_to_left(client, personas, login):
    """Editing Arabic in an English interface: the boxes are Arabic, right to left; the labels,
    hints and errors stay English, left to right (inside an RTL form their punctuation flips)."""
    login(personas.coordinator)
    for response in (
        client.get("/rights/at-school/edit/?lang=ar"),
        client.post("/rights/at-school/edit/?lang=ar", {"title": "x", "body": " "}),
    ):
        html = response.content.decode()
        form = re.search(r"<form method=\"post\"[^>]*>", html[html.index("<main") :]).group(0)
        assert "dir=" not in form and "lang=" not in form
        for name in ("title", "summary", "body"):
            box = re.search(rf"<(?:input|textarea)[^>]*name=\"{name}\"[^>]*>", html).group(0)
            assert 'lang="ar"' in box and 'dir="rtl"' in box, box
        label = re.search(r"<label[^>]*>Title", html)
        assert label is not None and "dir=" not in label.group(0)
    assert "Write the text of the article." in html or "field is required" in html


def test_an_arabic_article_keeps_the_english_edit_controls_left_to_right(client, personas, login):
    login(personas.coordinator)
    response = client.get("/rights/at-school/?lang=ar")
    html = response.content.decode()
    assert 'dir="rtl"' in html_tag(response)
    for marker in ("Edit this text", "Mark this version reviewed"):
        opening = (
            html.rfind("<p", 0, html.index(marker)),
            html.rfind("<form", 0, html.index(marker)),
        )
        tag = html[max(opening) : html.index(">", max(opening)) + 1]
        assert 'lang="en"' in tag and 'dir="ltr"' in tag, (marker, tag)


def test_empty_edit_gets_a_message_not_a_500(client, personas, login):
    login(personas.coordinator)
    response = client.post("/rights/at-school/edit/?lang=es", {"title": "x", "body": "  \n "})
    assert response.status_code == 200
    assert (
        "Write the text of the article." in response.content.decode()
        or "field is required" in response.content.decode()
    )
    assert ArticleVersion.objects.filter(article__slug="at-school", language="es").count() == 1


@pytest.mark.parametrize("who", ["newcomer", "dispatcher", "anonymous"])
def test_others_cannot_edit(client, personas, login, who):
    member = getattr(personas, who, None)
    login(member)
    response = client.get("/rights/at-school/edit/?lang=es")
    assert response.status_code == (403 if member else 302)
    response = client.post("/rights/at-school/edit/?lang=es", {"title": "x", "body": "y"})
    assert ArticleVersion.objects.filter(article__slug="at-school", language="es").count() == 1


def test_edit_in_a_spoken_only_language_is_404(client, personas, login):
    login(personas.coordinator)
    assert client.get("/rights/at-school/edit/?lang=mix").status_code == 404


def test_vecinos_rights_load_command(capsys):
    from vecinos.cli import main

    assert main(["rights", "load", "--language", "ko"]) == 0
    assert "new versions: 0" in capsys.readouterr().out


def test_an_account_the_writer_alone_vetted_cannot_review_and_nor_can_its_maker(personas, login):
    """Outside probe, session 19: an organization's coordinator invited an account, vouched
    for and trained it, and with it "reviewed" their own false advice onto the public pages.
    Neither such an account nor the one who alone vetted a writer is a second reading."""
    from datetime import date

    from django.test import Client

    from tests.conftest import make_member
    from vecinos.network import services as network
    from vecinos.network.models import Membership, Role

    writer = personas.coordinator
    puppet = make_member("puppet", org=personas.org_a, roles=(Role.PATROL,), phone="+12135550190")
    network.vouch_record(actor=writer, member=puppet)
    network.training_record(actor=writer, member=puppet, topic="rights", completed_on=date.today())
    Membership.objects.create(member=puppet, organization=personas.org_a, role=Role.ORG_COORDINATOR)
    public = Client()

    def edit(author, title: str) -> ArticleVersion:
        login(author).post(
            "/rights/at-work/edit/?lang=en",
            {"title": title, "summary": "Show your papers.", "body": "Open the door."},
        )
        return ArticleVersion.objects.filter(article__slug="at-work", language="en").latest(
            "number"
        )

    for author, reviewer in ((writer, puppet), (puppet, writer)):
        version = edit(author, f"Changed by {author.username}")
        # Neither the writer nor such an account is offered the review (outside walk, 19).
        for who in (author, reviewer):
            page = login(who).get("/rights/at-work/?lang=en").content.decode()
            assert f"/rights/review/{version.pk}/" not in page
        page = login(personas.coalition).get("/rights/at-work/?lang=en").content.decode()
        assert f"/rights/review/{version.pk}/" in page
        response = login(reviewer).post(
            f"/rights/review/{version.pk}/", HTTP_ACCEPT_LANGUAGE="en", follow=True
        )
        assert "Someone independent of its writer must review" in response.content.decode()
        version.refresh_from_db()
        assert version.reviewed_at is None
        assert "Changed by" not in public.get("/rights/at-work/?lang=en").content.decode()
    # Someone else may.
    login(personas.coalition).post(f"/rights/review/{version.pk}/")
    assert "Changed by puppet" in public.get("/rights/at-work/?lang=en").content.decode()
