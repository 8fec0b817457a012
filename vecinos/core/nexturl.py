"""Where to go back to after a form: a "next" field or parameter, checked."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """``candidate`` when it is a path on this site ("/..."), else ``default``.

    Only a path: another host, a scheme, "//host" or "/\\host" go to the default, and so does
    anything else, such as "-1", which ``redirect()`` would take for the name of a view and
    fail on (a 500, found by fuzzing the coordinator's forms in session 21)."""
    if (
        candidate
        and candidate.startswith("/")
        and not candidate.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return default
