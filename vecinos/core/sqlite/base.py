"""SQLite backend with a fair in-process queue for write transactions.

SQLite lets one writer at a time; the others sleep in its busy handler, whose back-off grows to
100 ms per try. Under a burst of reports that back-off, not the work, set the latency. Threads of
one process therefore queue on a lock before BEGIN IMMEDIATE and get the write lock in turn;
other processes still meet SQLite's own locking as before.
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base

_WRITE_LOCK = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _start_transaction_under_autocommit(self):
        _WRITE_LOCK.acquire()
        self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private hook, not in the stubs
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            _WRITE_LOCK.release()

    def _commit(self):
        try:
            return super()._commit()  # type: ignore[misc]  # private hook, not in the stubs
        finally:
            self._release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()  # type: ignore[misc]  # private hook, not in the stubs
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            return super()._close()  # type: ignore[misc]  # private hook, not in the stubs
        finally:
            self._release_write_lock()
