"""The worker's asynchronous HTTP client (vecinos.transports.http, pyreqwest) against local
servers: the same rules as the synchronous one. No redirect is followed, no proxy from the
environment is used, no cookie is kept, and every failure is ``Unreachable``, "certainly not
sent" only when no connection was ever made."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.stubs_providers import self_signed_certificate
from vecinos.messaging.worker import new_send_loop
from vecinos.transports import http


class _Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer) -> None:
        self.answer = answer  # (handler) -> None: writes the whole answer
        self.seen: list[dict] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers),
                "body": self.rfile.read(length) if length else b"",
            }
        )
        self.server.answer(self)

    do_GET = do_POST = _any


def _reply(status: int, body: bytes = b"{}", headers: dict[str, str] | None = None):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


@pytest.fixture
def serve() -> Iterator:
    servers: list[_Recorder] = []

    def start(answer, tls=None) -> _Recorder:
        server = _Recorder(answer)
        if tls is not None:  # an ssl.SSLContext: the server speaks HTTPS from its first byte
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _on_send_loop(use):
    """Run ``await use(session)`` with a fresh client (http.async_session) on a sender event
    loop in a thread of its own, as the worker does, and return what it returns."""
    box: dict = {}

    async def with_session():
        session = http.async_session(4)
        try:
            return await use(session)
        finally:
            await session.close()

    def run() -> None:
        loop = new_send_loop()
        try:
            box["value"] = loop.run_until_complete(with_session())
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            box["error"] = exc
        finally:
            loop.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _send(url: str, *, timeout: float = 2.0, method: str = "POST", **kwargs) -> http.Answer:
    """One request as the worker sends it."""
    return _on_send_loop(
        lambda session: http.request_async(
            session, method, url, label="Twilio", timeout=timeout, **kwargs
        )
    )


def test_the_request_goes_as_given_and_the_answer_comes_back(serve):
    server = serve(_reply(201, b'{"sid": "SM1"}', {"Retry-After": "3"}))
    answer = _send(
        f"{server.url}/Messages.json",
        headers={
            "Authorization": http.auth_header_async("AC1", "tok:en"),
            "Idempotency-Key": "alert:1:sms",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        data=b"To=%2B12135550100&Body=Hola",
    )
    assert (answer.status, answer.json()) == (201, {"sid": "SM1"})
    assert answer.headers.get("retry-after") == "3"  # any case
    [seen] = server.seen
    assert (seen["method"], seen["path"], seen["body"]) == (
        "POST",
        "/Messages.json",
        b"To=%2B12135550100&Body=Hola",
    )
    assert seen["headers"]["Authorization"] == "Basic QUMxOnRvazplbg=="  # AC1:tok:en
    assert seen["headers"]["Idempotency-Key"] == "alert:1:sms"
    assert seen["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_a_redirect_comes_back_as_an_answer_and_is_never_followed(serve):
    elsewhere = serve(_reply(201))
    server = serve(_reply(307, b"", {"Location": f"{elsewhere.url}/steal"}))
    answer = _send(f"{server.url}/Messages.json", headers={"Authorization": "Basic c2VjcmV0"})
    assert answer.status == 307
    assert elsewhere.seen == []  # the credentials went to the configured host only


def test_no_cookie_is_kept_between_requests(serve):
    server = serve(_reply(200, b"{}", {"Set-Cookie": "track=1; Path=/"}))

    async def twice(session) -> None:
        for _ in range(2):
            await http.request_async(session, "GET", server.url, label="Twilio", timeout=2)

    _on_send_loop(twice)
    assert [s["headers"].get("Cookie") for s in server.seen] == [None, None]


def test_a_proxy_in_the_environment_is_not_used(serve, monkeypatch):
    server = serve(_reply(200))
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{dead.getsockname()[1]}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _send(server.url, method="GET").status == 200
    assert len(server.seen) == 1


def test_a_refused_connection_was_certainly_not_sent():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(http.Unreachable) as caught:
        _send(f"http://127.0.0.1:{port}/Messages.json", data=b"To=%2B12135550100")
    assert caught.value.uncertain is False and not caught.value.permanent
    # The message names the provider and the kind of failure, never the address.
    assert str(caught.value).startswith("Twilio unreachable: ")
    assert str(port) not in str(caught.value)


def test_no_answer_in_time_may_have_been_sent(serve):
    def silent(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(1.5)
        _reply(201)(handler)

    server = serve(silent)
    # The server answers 201 after 1.5 s: only the 0.3 s timeout can make this fail.
    with pytest.raises(http.Unreachable) as caught:
        _send(f"{server.url}/Messages.json", timeout=0.3, data=b"To=%2B12135550100")
    assert caught.value.uncertain is True
    assert len(server.seen) == 1  # it did reach the provider


def test_a_connection_closed_after_the_request_was_read_may_have_been_sent(serve):
    # pyreqwest calls this a ConnectError, as it does a refused connection: the request went
    # out on a kept-alive connection, and the provider may have acted on it.
    def close_on_the_second(handler: BaseHTTPRequestHandler) -> None:
        if len(handler.server.seen) == 2:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        _reply(201)(handler)

    server = serve(close_on_the_second)

    async def two(session) -> list:
        outcomes: list = []
        for _ in range(2):  # one kept-alive connection: a client of 4 opens only one here
            try:
                await http.request_async(
                    session, "POST", server.url, label="Twilio", timeout=2, data=b"To=1"
                )
                outcomes.append("answered")
            except http.Unreachable as exc:
                outcomes.append(exc)
        return outcomes

    first, second = _on_send_loop(two)
    assert first == "answered"
    assert isinstance(second, http.Unreachable) and second.uncertain is True
    assert len(server.seen) == 2  # the provider read it


def test_an_answer_cut_off_midway_may_have_been_sent(serve):
    def cut(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(201)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b'{"sid": "SM')
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)

    server = serve(cut)
    with pytest.raises(http.Unreachable) as caught:
        _send(f"{server.url}/Messages.json", data=b"To=%2B12135550100")
    assert caught.value.uncertain is True
    assert len(server.seen) == 1


def test_a_certificate_no_root_vouches_for_is_refused_before_anything_is_sent(serve, tmp_path):
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed_certificate(tmp_path))
    server = serve(_reply(201), tls=context)
    url = f"https://127.0.0.1:{server.server_address[1]}/Messages.json"
    with pytest.raises(http.Unreachable) as caught:
        _send(url, headers={"Authorization": "Basic c2VjcmV0"}, data=b"To=%2B12135550100")
    assert server.seen == []  # no request, no credentials, went over the untrusted connection
    assert not caught.value.permanent
