"""Page structure that assistive technology relies on: the messages list keeps its list
semantics (the live region wraps it), and an htmx fragment opened directly is a whole document
with a language and a title, while htmx itself still gets the bare fragment."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_messages_are_a_list_inside_a_status_region(client, login, personas):
    login(personas.verifier)
    response = client.post(reverse("duty"), {"role": "verifier", "hours": "4"}, follow=True)
    page = response.content.decode()
    assert "You are on duty until" in page
    assert re.search(r'<div role="status">\s*<ul class="messages">', page)
    assert not re.search(r'<ul[^>]*class="messages"[^>]*role=', page)


@pytest.mark.django_db
def test_fragment_opened_directly_gets_lang_and_title_but_htmx_gets_the_fragment(
    client, login, personas
):
    login(personas.dispatcher)
    client.cookies["django_language"] = "es"
    direct = client.get(reverse("console_queue")).content.decode()
    assert direct.startswith("<!doctype html>")
    assert '<html lang="es">' in direct and "<title>Vecinos</title>" in direct
    htmx = client.get(reverse("console_queue"), HTTP_HX_REQUEST="true")
    assert htmx.status_code in (200, 204)
    assert not htmx.content.decode().lstrip().startswith("<!doctype")
