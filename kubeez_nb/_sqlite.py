"""The one way kubeez-nb's local SQLite files (the ledger, the history mirror) are opened and
written: WAL with ``synchronous=NORMAL`` (survives a killed process, keeps writes cheap),
autocommit connections shared across threads under a lock, and one ``BEGIN IMMEDIATE`` write
transaction whose every storage failure becomes the caller's own error naming the file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: what a write can fail with: SQLite itself, text it cannot store, the file system
STORAGE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, UnicodeError, OSError)


def connect(path: Path, *, timeout: float, schema: str) -> sqlite3.Connection:
    """An autocommit connection to ``path`` in WAL mode with ``schema`` applied (closed again
    when that fails)."""
    conn = sqlite3.connect(
        str(path), timeout=timeout, check_same_thread=False, isolation_level=None
    )
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(schema)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(
    conn: sqlite3.Connection,
    lock: threading.Lock | threading.RLock,
    error: Callable[[BaseException], Exception],
) -> Iterator[sqlite3.Connection]:
    """One write transaction under ``lock``: committed when the block ends, rolled back on any
    exception; a storage failure is raised as ``error(exc)`` (without the SQLite chain)."""
    with lock:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise error(exc) from None
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(exc, STORAGE_ERRORS):
                raise error(exc) from None
            raise
