"""The API docs page renders from the project's own assets under its own CSP: no CDN."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_page_renders_with_local_assets(live_server, new_page):
    page = new_page()
    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert response is not None and response.status == 200
    title = page.locator(".swagger-ui .info .title")
    title.wait_for()
    assert "Vecinos API" in title.inner_text()
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 5
    assert list(page.problems) == [], list(page.problems)
