"""Group commit for the embedded database: concurrent small write transactions of one process
share one transaction.

SQLite has one writer. Under a surge (public reports) every request took it for a transaction
of its own: BEGIN IMMEDIATE, the cross-process lock, a few statements, COMMIT, and Django's
bookkeeping around them, while the other threads of the process queued for the same lock. Here
a request queues its writes instead; whoever gets the process's turn first runs every queued
request's writes in one transaction, each in a savepoint of its own (one that fails rolls back
alone and gets its exception back), commits once, and wakes them. Nobody waits longer than the
transaction ahead of them, as before, and the lock changes hands once per group, not once per
request.

Only on SQLite, and only outside a transaction: on PostgreSQL writers do not queue behind one
lock, and a caller already in a transaction keeps its own (tests, nested services). The writes
run on the thread that takes the turn, so they must not depend on the caller's thread: anything
translated must be turned into text before (``gettext`` follows the active language of the
thread that runs it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection, transaction

T = TypeVar("T")
log = logging.getLogger(__name__)

# Enough to amortize a transaction over many requests, few enough that one group's commit does
# not keep the first of them waiting long.
MAX_GROUP = 32


class _Item:
    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


_queued: list[_Item] = []
_queue_lock = threading.Lock()  # guards _queued
_turn = threading.Lock()  # one group at a time per process


def write(fn: Callable[[], T]) -> T:
    """Run ``fn`` (database writes, returning a result) in a write transaction, grouped with
    other threads' on SQLite. Raises what ``fn`` raised; its writes are then rolled back."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic():
            return fn()
    item = _Item(fn)
    with _queue_lock:
        _queued.append(item)
    while not item.done:
        with _turn:
            if item.done:  # a group ahead of us ran it
                break
            with _queue_lock:
                group = _queued[:MAX_GROUP]
                del _queued[:MAX_GROUP]
            _run(group)
    if item.error is not None:
        raise item.error
    return item.result  # type: ignore[no-any-return]


def _run(group: list[_Item]) -> None:
    committed = []
    try:
        with transaction.atomic():
            # Runs first of the commit hooks: an exception after it came from another hook,
            # not from the commit, and the group's writes stand.
            transaction.on_commit(lambda: committed.append(True))
            for item in group:
                try:
                    with transaction.atomic():  # a savepoint: one failure rolls back alone
                        item.result = item.fn()
                except Exception as exc:  # noqa: BLE001 - handed back to its own caller
                    item.error = exc
    except BaseException as exc:
        if committed:  # a commit hook failed: the writes are in, the callers get them
            log.exception("a commit hook of a group of writes failed")
            if not isinstance(exc, Exception):
                raise
            return
        # The commit failed: nothing of the group was written.
        for item in group:
            if item.error is None:
                item.error = exc
                item.result = None
        if not isinstance(exc, Exception):
            raise
    finally:
        for item in group:
            item.done = True
