"""A per-process cache for the things a process builds once and shares between its threads
(a Redis client, an HTTP pool, a transport).

``functools.cache`` does not hold a lock while it builds a value: threads that ask at the same
time each build one, and all but the last are dropped. For a client that owns connections
that is a defect, not a waste. The Redis client ``ratelimit`` used was built that way, and the
web process's first burst of requests built several. A dropped client is freed by the cyclic
garbage collector, in whatever thread runs it and whenever, and its finalizer closes its
connection pool, while the thread that built it may still be in a command on one of those
connections: under load that was a 500 about one report in a few thousand (bench/intake.py
--postgres, the socket closed in the handshake). Here the first caller builds and the others
wait for its value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from functools import update_wrapper
from typing import Generic, TypeVar

T = TypeVar("T")


class cache(Generic[T]):  # noqa: N801 - used as a decorator, like functools.cache
    """Decorator: one value per distinct (positional, hashable) arguments, built once per
    process even under concurrent first calls. The builder must not call itself."""

    def __init__(self, fn: Callable[..., T]) -> None:
        self._fn = fn
        self._values: dict[tuple[Hashable, ...], T] = {}
        self._lock = threading.Lock()
        update_wrapper(self, fn)

    def __call__(self, *args: Hashable) -> T:
        try:
            return self._values[args]  # the common case takes no lock
        except KeyError:
            pass
        with self._lock:
            if args not in self._values:
                self._values[args] = self._fn(*args)
            return self._values[args]

    def cache_clear(self) -> None:
        with self._lock:
            self._values.clear()
