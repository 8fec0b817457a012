"""The one HTTP client for provider calls (Twilio, the Android gateway, signal-cli, recordings).

- One pool per process (urllib3, keep-alive: a fan-out sends thousands of requests over a
  handful of sockets); the worker's event loop gets its aiohttp sessions from here too.
- Explicit timeouts: connecting takes at most CONNECT_TIMEOUT (or the call's own timeout if
  shorter); the whole request at most ``timeout`` (or, for downloads, each read).
- Redirects are never followed: credentials go to the configured host only (a redirect comes
  back as an answer like any other, and the transport treats it as unexpected).
- Network trouble raises ``Unreachable``, a transient TransportError whose message names only
  the provider and the kind of failure (never a URL, a header or a body: logs stay free of
  credentials and numbers); ``uncertain`` is False only when no connection was ever made, so
  the request certainly never reached the provider.
- The status decides the rest, per provider; ``busy(status)`` is what every provider means by
  "try later" (429 and 5xx).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import urllib3
from django.conf import settings

from vecinos.transports.base import TransportError

CONNECT_TIMEOUT = 5.0


class Unreachable(TransportError):
    """The provider could not be reached, or did not answer in time: always transient."""

    def __init__(self, label: str, cause: str, *, code: str = "", uncertain: bool = True) -> None:
        super().__init__(f"{label} unreachable: {cause}", code=code, uncertain=uncertain)
        self.cause = cause


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: Mapping[str, str]

    def json(self, *, strict: bool = False) -> dict:
        """The body as a JSON object; {} when it is empty or not an object, or not JSON (which
        raises ValueError instead when ``strict``: an answer that must be read, or else)."""
        try:
            data = json.loads(self.body or b"{}")
        except (ValueError, RecursionError):
            if strict:
                raise ValueError("not JSON") from None
            return {}
        return data if isinstance(data, dict) else {}


def busy(status: int) -> bool:
    """429 and 5xx: the provider is overloaded or down; the same request may work later."""
    return status == 429 or status >= 500


def basic_auth(user: str, password: str) -> dict[str, str]:
    return urllib3.make_headers(basic_auth=f"{user}:{password}")


@cache
def _pool(maxsize: int) -> urllib3.PoolManager:
    return urllib3.PoolManager(maxsize=maxsize, block=False, retries=False)


def pool() -> urllib3.PoolManager:
    """This process's pool (one per process: keep-alive connections matter in a fan-out)."""
    return _pool(max(4, int(getattr(settings, "DELIVERY_CONCURRENCY", 4))))


def _timeout(seconds: float, *, whole: bool) -> urllib3.Timeout:
    connect = min(seconds, CONNECT_TIMEOUT)
    if whole:
        return urllib3.Timeout(connect=connect, read=seconds, total=seconds)
    return urllib3.Timeout(connect=connect, read=seconds)


def _never_connected(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", None) or exc
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
    )


def request(
    method: str,
    url: str,
    *,
    label: str,
    timeout: float,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    json_body: Any = None,
    max_bytes: int | None = None,
    whole: bool = True,
    code: str = "",
) -> Answer:
    """Send one request; the answer, whatever its status, or Unreachable.

    ``form`` is sent urlencoded, ``json_body`` as JSON. ``max_bytes`` reads at most that many
    bytes plus one (so the caller can tell "too large"). ``whole=False`` bounds each read by
    ``timeout`` instead of the whole request (downloads). ``code`` is put on Unreachable.
    """
    kwargs: dict[str, Any] = {}
    if form is not None:
        kwargs.update(fields=form, encode_multipart=False)
    elif json_body is not None:
        kwargs["json"] = json_body
    try:
        response = pool().request(
            method,
            url,
            headers=headers or {},
            redirect=False,
            preload_content=False,
            timeout=_timeout(timeout, whole=whole),
            **kwargs,
        )
        try:
            body = response.read() if max_bytes is None else response.read(max_bytes + 1)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:  # timeouts, refused, reset, cut mid-answer
        raise Unreachable(
            label, type(exc).__name__, code=code, uncertain=not _never_connected(exc)
        ) from None
    return Answer(status=response.status, body=body or b"", headers=dict(response.headers))


# --- the worker's event loop (aiohttp) ---------------------------------------------------------


def async_session(limit: int) -> Any:
    """A keep-alive aiohttp session for the worker's event loop (created on that loop)."""
    import aiohttp  # only worker processes with an async transport need it

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit))


@cache
def _client_timeout(timeout: float) -> Any:
    import aiohttp

    return aiohttp.ClientTimeout(total=timeout, connect=min(timeout, CONNECT_TIMEOUT))


async def request_async(
    session: Any,
    method: str,
    url: str,
    *,
    label: str,
    timeout: float,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    code: str = "",
) -> Answer:
    """``request`` on the worker's event loop: the same rules (no redirects, Unreachable)."""
    import aiohttp

    try:
        async with session.request(
            method,
            url,
            data=data,
            headers=headers or {},
            allow_redirects=False,
            timeout=_client_timeout(timeout),
        ) as response:
            body = await response.read()
            status = response.status
            # aiohttp's own read-only view (case-insensitive), not a copy per message.
            answer_headers = response.headers
    except (TimeoutError, aiohttp.ClientError) as exc:
        # Refused before connecting: certainly not sent. Anything later: maybe sent.
        raise Unreachable(
            label,
            type(exc).__name__,
            code=code,
            uncertain=not isinstance(exc, aiohttp.ClientConnectorError),
        ) from None
    return Answer(status=status, body=body or b"", headers=answer_headers)


def auth_header_async(user: str, password: str) -> str:
    import aiohttp

    return aiohttp.encode_basic_auth(user, password)
