"""A call-out can attach a rights library article, as alerts do: its link goes into the ask, in
each person's language when the article is written in it; through the page and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import sign_in
from tests.mobilize.test_mobilize_callouts import (  # noqa: F401  (fixtures)
    _console_transports,
    outbox_to,
    responder,
)
from tests.mobilize.test_mobilize_events import _bearer
from tests.twilio_stub import fresh_rate_limits, twilio_webhooks  # noqa: F401
from vecinos.mobilize.models import Activation
from vecinos.rights.models import Article, ArticleVersion

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]
SLUG = "x13-at-the-door"


@pytest.fixture
def door_article(db):
    article = Article.objects.create(slug=SLUG, topic="door")
    for lang, title in (("en", "At the door"), ("es", "En la puerta"), ("ko", "문 앞에서")):
        ArticleVersion.objects.create(
            article=article, language=lang, number=1, title=title, body="..."
        )
    return article


def form(**extra) -> dict:
    when = (timezone.localtime() + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    return {
        "staging_point": "Mariachi Plaza, east side",
        "needed_by": when,
        "role_observer": "2",
        "guidance_es": "Observe desde una distancia segura.",
        "guidance_en": "Observe from a safe distance.",
        "tiers": ["responders"],
        "wave_size": "20",
        "wave_minutes": "10",
        **extra,
    }


def test_the_page_attaches_a_rights_article_link_in_each_language(
    client, personas, door_article, settings
):
    rosa = responder(personas.org_a, "rosa", "es")
    jin = responder(personas.org_a, "jin", "ko")
    tuan = responder(personas.org_a, "tuan", "vi")
    sign_in(client, personas.dispatcher)
    page = client.get("/mobilize/new/").content.decode()
    assert f'value="{SLUG}"' in page and "At the door" in page
    response = client.post("/mobilize/new/", form(rights_article=SLUG))
    assert response.status_code == 302, response.content
    assert Activation.objects.get().rights_article == SLUG
    url = f"{settings.PUBLIC_URL}/rights/{SLUG}/"
    [es_text] = outbox_to(rosa.phone)
    [ko_text] = outbox_to(jin.phone)
    [vi_text] = outbox_to(tuan.phone)
    assert es_text.endswith(f" {url}?lang=es") and "/r/" in es_text
    assert ko_text.endswith(f" {url}?lang=ko")
    assert vi_text.endswith(f" {url}")  # not written in Vietnamese: the page chooses
    assert "문 앞에서" in client.get(f"/rights/{SLUG}/?lang=ko").content.decode()


def test_without_an_article_the_ask_has_no_rights_link(client, personas, door_article):
    rosa = responder(personas.org_a, "rosa", "es")
    sign_in(client, personas.dispatcher)
    assert client.post("/mobilize/new/", form()).status_code == 302
    [es_text] = outbox_to(rosa.phone)
    assert "/rights/" not in es_text and not es_text.endswith(" ")


def test_an_unknown_article_on_the_page_gets_a_message_and_nothing_is_sent(
    client, personas, door_article
):
    responder(personas.org_a, "rosa", "es")
    sign_in(client, personas.dispatcher)
    response = client.post("/mobilize/new/", form(rights_article="nope"))
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"rights_article"}
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Activation.objects.exists()


def test_the_api_attaches_a_rights_article_and_refuses_an_unknown_one(
    client, personas, door_article, settings
):
    member = responder(personas.org_a, "jin", "ko")
    auth = _bearer(personas.dispatcher)
    body = {
        "staging_point": "Plaza",
        "needed_by": (timezone.now() + timedelta(hours=1)).isoformat(),
        "roles": {"observer": 2},
        "tiers": ["responders"],
        "rights_article": SLUG,
    }
    created = client.post("/api/v1/activations", body, content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    assert created.json()["rights_article"] == SLUG
    [ko_text] = outbox_to(member.phone)
    assert ko_text.endswith(f"{settings.PUBLIC_URL}/rights/{SLUG}/?lang=ko")
    bad = client.post(
        "/api/v1/activations",
        {**body, "rights_article": "nope"},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"rights_article"}
    assert Activation.objects.count() == 1
