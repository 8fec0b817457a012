"""Waiting for a condition in a page without ``page.wait_for_function``.

Playwright runs a ``wait_for_function`` predicate through eval in the page whenever its first
look is false, and our pages' Content-Security-Policy (``script-src 'self'``) refuses eval: the
wait then fails with an EvalError instead of waiting (a CI run failed so). ``page.evaluate`` is
not governed by the page's policy, so the condition is polled from Python instead.
"""

from __future__ import annotations

import time
from typing import Any


def wait_for_js(
    page, expression: str, arg: Any = None, *, timeout: float = 30.0, every_ms: int = 50
):
    """Evaluate ``expression`` (a JavaScript function, given ``arg``) until it returns a truthy
    value, and return that value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(every_ms)
