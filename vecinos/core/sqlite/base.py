"""SQLite backend with a fair queue for write transactions, within and across processes.

SQLite lets one writer at a time; the others sleep in its busy handler, whose back-off grows to
100 ms per try. Under a burst of reports that back-off, not the work, set the latency. Writers
therefore queue before BEGIN IMMEDIATE: threads of one process on a lock, and processes (the
web workers, the background worker) on an exclusive flock of a file beside the database, which
the kernel hands to the next waiter as soon as it is released. Nobody sleeps longer than the
transaction ahead of them takes.
"""

from __future__ import annotations

import fcntl
import os
import threading

from django.db.backends.sqlite3 import base

_WRITE_LOCK = threading.Lock()
_files: dict[str, tuple[int, int]] = {}  # database path -> (pid, fd)


def _lock_fd(name: str) -> int | None:
    """This process's descriptor of the database's lock file (none for in-memory databases)."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    held = _files.get(name)
    pid = os.getpid()
    if held is None or held[0] != pid:  # opened before a fork belongs to the parent
        fd = os.open(f"{name}-writelock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        _files[name] = held = (pid, fd)
    return held[1]


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False
    _holds_file_lock: int | None = None

    def _start_transaction_under_autocommit(self):
        _WRITE_LOCK.acquire()
        self._holds_write_lock = True
        try:
            fd = _lock_fd(str(self.settings_dict["NAME"]))
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._holds_file_lock = fd
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private hook, not in the stubs
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_file_lock is not None:
            fd, self._holds_file_lock = self._holds_file_lock, None
            fcntl.flock(fd, fcntl.LOCK_UN)
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
