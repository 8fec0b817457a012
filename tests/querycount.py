"""Pinned query counts for list pages (HOUSE_STYLE habit 10), shared by every app's tests.

``assert_flat(client, build)`` asks ``build(n)`` to add n rows the page lists and to return the
page's URL and a text the newest row shows. It counts the page's queries after N rows, adds 2N
more (3N in all) and counts again: the two counts must be equal, and under a ceiling, so a query
per row fails, and so does a page that quietly stops showing the rows (the text must be there).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

N = 2
# Far below one query per row at 3N for any page here, and a sign of trouble if ever reached.
CEILING = 40

Build = Callable[[int], tuple[str, str]]


def count_queries(client: Client, url: str, shown: str, **headers) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    body = response.content.decode()
    assert shown in body, f"{shown!r} not on {url}"
    return len(captured), [q["sql"][:200] for q in captured.captured_queries]


def assert_flat(client: Client, build: Build, *, n: int = N, **headers) -> int:
    url, shown = build(n)
    client.get(url, **headers)  # warm per-process caches (zones, coalition), as a server has them
    few, _ = count_queries(client, url, shown, **headers)
    url, shown = build(2 * n)
    many, sql = count_queries(client, url, shown, **headers)
    assert many == few, f"{few} queries, then {many} once {2 * n} more rows:\n" + "\n".join(sql)
    assert few <= CEILING, "\n".join(sql)
    return few
