"""The one HTTP client for provider calls (Twilio, the Android gateway, signal-cli, recordings).

- One pool per process (urllib3, keep-alive: a fan-out sends thousands of requests over a
  handful of sockets); the worker's event loop gets its clients from here too (pyreqwest:
  reqwest's connection pool, sockets and TLS run outside the GIL).
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
from datetime import timedelta
from functools import cache
from typing import Any

import urllib3
from django.conf import settings

from vecinos.core import threadsafe
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


@threadsafe.cache  # one pool per process, even under concurrent first requests
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


# --- the worker's event loop (pyreqwest) -------------------------------------------------------
# Measured in bench/fanout.py on the same machine and stub: aiohttp's client took 0.28 ms of a
# worker's CPU a message, pyreqwest 0.20 (issue 15). The same rules as ``request`` above.


def async_session(limit: int) -> Any:
    """A keep-alive client for the worker's event loop (made on that loop), at most ``limit``
    requests in flight. No proxy from the environment, no redirects, no cookies;
    certificates checked against the system's roots (rustls)."""
    from pyreqwest.client import ClientBuilder  # only worker processes send asynchronously

    return (
        ClientBuilder()
        .no_proxy()
        .follow_redirects(False)
        .connect_timeout(timedelta(seconds=CONNECT_TIMEOUT))
        .max_connections(limit)
        .pool_max_idle_per_host(limit)
        .build()
    )


# hyper's stage "Connect" among an error's causes: the connection was never made.
_CONNECT_STAGE = "client error (Connect)"


def _never_connected_async(exc: BaseException) -> bool:
    """Whether the request certainly never left. pyreqwest's classes alone cannot say: a
    connection the provider closed after reading the request is a ConnectError too, and the
    whole request's timeout a ConnectTimeoutError (both seen in tests/transports/
    test_http_async.py). Only hyper's own Connect stage, named in the causes, says so; any
    other wording counts as maybe sent, so the next attempt asks the provider first."""
    from pyreqwest import exceptions

    if not isinstance(exc, exceptions.ConnectError | exceptions.ConnectTimeoutError):
        return False
    causes = (getattr(exc, "details", None) or {}).get("causes") or []
    return any(isinstance(c, dict) and c.get("message") == _CONNECT_STAGE for c in causes)


@cache
def _whole(timeout: float) -> timedelta:
    return timedelta(seconds=timeout)


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
    """``request`` on the worker's event loop: the same rules (no redirects, Unreachable,
    ``uncertain`` False only when no connection was made)."""
    from pyreqwest import exceptions

    builder = session.request(method, url).timeout(_whole(timeout))
    if headers:
        builder = builder.headers(headers)
    if data is not None:
        builder = builder.body_bytes(data)
    try:
        response = await builder.build().send()
        body = bytes(await response.bytes())
    except exceptions.PyreqwestError as exc:  # timeouts, refused, reset, cut mid-answer
        raise Unreachable(
            label, type(exc).__name__, code=code, uncertain=not _never_connected_async(exc)
        ) from None
    # pyreqwest's own header map (case-insensitive), not a copy per message.
    return Answer(status=response.status, body=body, headers=response.headers)


def auth_header_async(user: str, password: str) -> str:
    """The Authorization header's value for HTTP basic authentication (as ``basic_auth``)."""
    return basic_auth(user, password)["authorization"]
