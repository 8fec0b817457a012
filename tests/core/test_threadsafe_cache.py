"""Things a process builds once and shares (the Redis client, the HTTP pools, the transports)
are built once even when its threads first ask for them at the same time.

A web process's first burst of requests used to build several Redis clients for the rate
limiter; the dropped ones were later collected in another thread, and their finalizers closed
the connection pool a request was still using (a 500 in bench/intake.py --postgres). Each
builder below is slowed down so that every thread asks while the first is still building:
with ``functools.cache`` each of them would build its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from vecinos.core import ratelimit, threadsafe
from vecinos.messaging import worker
from vecinos.transports import http, registry
from vecinos.transports.webpush import transport as webpush

THREADS = 8


def _all_at_once(fn: Callable[[], object]) -> list[object]:
    barrier = threading.Barrier(THREADS)

    def call() -> object:
        barrier.wait()
        return fn()

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda _: call(), range(THREADS)))


def _slowed(original: Callable, built: list) -> Callable:
    def slow(*args, **kwargs):
        time.sleep(0.05)
        value = original(*args, **kwargs)
        built.append(value)
        return value

    return slow


def test_concurrent_first_calls_build_one_value():
    built = []

    @threadsafe.cache
    def make(key):
        time.sleep(0.05)
        built.append(object())
        return built[-1]

    values = _all_at_once(lambda: make("a"))
    assert len(built) == 1
    assert all(v is built[0] for v in values)
    assert make("b") is not built[0]  # one value per argument
    assert len(built) == 2
    make.cache_clear()
    assert make("a") is not values[0]


def test_a_failed_build_is_not_cached():
    calls = []

    @threadsafe.cache
    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first build fails")
        return "ok"

    with pytest.raises(RuntimeError):
        flaky()
    assert flaky() == "ok"
    assert flaky() == "ok"
    assert len(calls) == 2


def _redis_case(monkeypatch):
    import redis

    if not settings.REDIS_URL:
        # Building a client opens no connection: any URL will do for this test.
        monkeypatch.setattr(settings, "REDIS_URL", "redis://127.0.0.1:6379/15")
    built: list = []
    monkeypatch.setattr(redis.Redis, "from_url", _slowed(redis.Redis.from_url, built))
    return ratelimit._redis, built, ratelimit._redis


def _pool_case(monkeypatch):
    built: list = []
    monkeypatch.setattr(http.urllib3, "PoolManager", _slowed(http.urllib3.PoolManager, built))
    return http.pool, built, http._pool


def _push_session_case(monkeypatch):
    built: list = []
    monkeypatch.setattr(webpush.requests, "Session", _slowed(webpush.requests.Session, built))
    return lambda: webpush._session(4), built, webpush._session


def _transport_case(monkeypatch):
    built: list = []
    monkeypatch.setattr(registry, "import_string", _slowed(registry.import_string, built))
    return lambda: registry.get_transport("sms"), built, registry._load


@pytest.mark.parametrize(
    "case",
    [_redis_case, _pool_case, _push_session_case, _transport_case],
    ids=["redis client", "http pool", "push session", "transport"],
)
def test_shared_per_process_objects_are_built_once(monkeypatch, case):
    getter, built, cached = case(monkeypatch)
    cached.cache_clear()
    try:
        values = _all_at_once(getter)
        assert len(built) == 1, f"built {len(built)} times"
        assert all(v is values[0] for v in values)
    finally:
        cached.cache_clear()  # the next test builds its own, unslowed


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (VECINOS_REDIS_URL)")
def test_concurrent_first_hits_on_a_fresh_client_all_count():
    ratelimit._redis.cache_clear()
    key = f"threadsafe-{time.time_ns()}"
    try:
        results = _all_at_once(lambda: ratelimit.hit("test", key, limit=THREADS, window_seconds=60))
        assert results == [True] * THREADS
        # The ninth hit is over the limit: every one of the eight was counted.
        assert ratelimit.hit("test", key, limit=THREADS, window_seconds=60) is False
    finally:
        ratelimit._redis.cache_clear()


def test_threads_sending_their_first_batch_share_one_rate_limiter(monkeypatch):
    """One token bucket per channel and process: two would double the provider's rate."""
    built: list = []
    original = worker.RateLimiter.__init__

    def slow_init(self, rate):
        time.sleep(0.05)
        original(self, rate)
        built.append(self)

    monkeypatch.setattr(worker.RateLimiter, "__init__", slow_init)
    monkeypatch.setattr(worker, "_limiters", {})
    limiters = _all_at_once(lambda: worker._limiter("sms", 10.0))
    assert len(built) == THREADS  # every thread built one while none was stored...
    assert all(lim is limiters[0] for lim in limiters)  # ...and all use the one stored first
    assert worker._limiters["sms"] is limiters[0]
