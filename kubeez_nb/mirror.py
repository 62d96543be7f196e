"""A local mirror of ``/v1/generations``: the rows of one account on one API origin, in SQLite.

One file per API origin + key fingerprint under ``KUBEEZ_HOME/mirror/`` (the key itself is
never stored: the fingerprint is a short keyed hash with a random salt kept beside the files).
Rows are kept verbatim (the JSON the server sent), so a frame built from the mirror equals one
built from a fresh read; beside them the few columns the sync and the filters need (position
in the server's newest-first order, status, terminal flag, model, generation type, created).

Storage only: it knows nothing of the client (the sync that fills it is
:mod:`kubeez_nb.history.sync`). Several kernels may share a home: WAL journal, a busy timeout
and one ``BEGIN IMMEDIATE`` transaction per page written, so a reader never sees half a page and
an interrupted sync keeps every page it committed. A damaged file is a cache of server data
and loses nothing: it is moved aside (``<name>.corrupt-<time>``) with a warning naming both
paths, and rebuilt.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kubeez_nb import _sqlite
from kubeez_nb.contract import wire

MIRROR_DIR = "mirror"
SALT_FILE = "salt"
#: seconds a writer waits for another kernel's transaction
LOCK_TIMEOUT_S = 30.0
#: the columns a filter may name, and the mirror column answering it
FILTER_COLUMNS = {"status": "status", "model": "model", "generation_type": "gtype"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    id TEXT PRIMARY KEY,
    ord REAL NOT NULL,
    created REAL,
    status TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    model TEXT,
    gtype TEXT,
    body TEXT NOT NULL,
    ver INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS rows_ord ON rows (ord, id);
CREATE INDEX IF NOT EXISTS rows_ver ON rows (ver);
CREATE INDEX IF NOT EXISTS rows_open ON rows (terminal) WHERE terminal = 0;
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT);
"""


class MirrorError(Exception):
    """The mirror file could not be used (named in the message)."""


def fingerprint(home: str | Path, base_url: str, secret: Any) -> str:
    """A short salted hash of the API origin + key: the mirror's file name, never the key.

    ``secret`` is a :class:`~kubeez_nb._secrets.Secret` (or None for a key-less client); the
    key is revealed only inside the hash call, never bound to a local.
    """
    salt = _salt(Path(home) / MIRROR_DIR)
    h = hashlib.blake2b(digest_size=8, key=salt, person=b"kubeez-mirror")
    parts = urlsplit(base_url.rstrip("/"))
    h.update(f"{parts.scheme}://{parts.netloc}{parts.path}".lower().encode())
    h.update(b"\0")
    if secret is not None:
        h.update(secret.reveal().encode())
    return h.hexdigest()


def _salt(folder: Path) -> bytes:
    """The home's random salt (made once; two kernels racing agree on the first written)."""
    path = folder / SALT_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the other kernel is writing it
            try:
                return bytes.fromhex(path.read_text().strip())
            except ValueError:
                time.sleep(0.01)
        raise MirrorError(f"the mirror salt {path} is unreadable; delete it") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(16))
    return bytes.fromhex(path.read_text().strip())


def mirror_path(home: str | Path, base_url: str, secret: Any) -> Path:
    """``home/mirror/generations-<fingerprint>.sqlite3``."""
    return Path(home) / MIRROR_DIR / f"generations-{fingerprint(home, base_url, secret)}.sqlite3"


def row_fields(row: Mapping[str, Any]) -> tuple[float | None, str, bool, str | None, str | None]:
    """(created epoch, status, terminal, model, generation type) of a generation row.

    Terminal as the client sees it: completed with every output URL present, failed, cancelled
    (a completed row whose outputs have no URL yet is still settling and is read again).
    """
    status = wire.status(row.get("status"))
    terminal = status in wire.TERMINAL_FAILED
    if status in wire.TERMINAL_OK:
        outs = row.get("outputs")
        terminal = not (
            isinstance(outs, list)
            and any(isinstance(o, Mapping) and not o.get("url") for o in outs)
        )
    return (
        wire.epoch(row.get("created_at")),
        status,
        terminal,
        wire.text(row.get("model")),
        wire.text(row.get("generation_type")),
    )


class Mirror:
    """The mirror of one account's generations (thread-safe; one connection, a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._memo: dict[str, dict[str, Any]] | None = None
        self._memo_epoch: str | None = None
        self._memo_ver = -1
        self._ords: dict[str, float] = {}
        self._order: list[str] = []
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:
            self._move_aside(exc)
            self._conn = self._open()

    def __repr__(self) -> str:
        return f"Mirror({str(self.path)!r})"

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MirrorError(
                f"the history mirror {self.path} could not be created: {exc}"
            ) from None
        conn = _sqlite.connect(self.path, timeout=LOCK_TIMEOUT_S, schema=_SCHEMA)
        try:
            conn.execute("SELECT count(*) FROM rows").fetchone()
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check[0] if check else 'no answer'}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside(self, exc: BaseException) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.replace(side, aside.with_name(aside.name + suffix))
        except OSError as err:
            raise MirrorError(
                f"the history mirror {self.path} is damaged ({exc}) and could not be moved "
                f"aside ({err}); delete it (it is a cache of server data)"
            ) from None
        warnings.warn(
            f"the history mirror {self.path} was damaged ({exc}); moved it to {aside} and "
            "rebuilding it from the server (nothing is lost: it caches server data)",
            RuntimeWarning,
            stacklevel=3,
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return _sqlite.transaction(self._conn, self._lock, self._write_error)

    def _write_error(self, exc: BaseException) -> MirrorError:
        return MirrorError(f"the history mirror {self.path} could not be written: {exc}")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise MirrorError(
                    f"the history mirror {self.path} could not be read: {exc}"
                ) from None

    # ---- state ------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """``{"complete": bool, "tail": params to continue the first read | None, "started": bool}``."""
        meta = {k: json.loads(v) for k, v in self._query("SELECT k, v FROM meta")}
        return {
            "complete": bool(meta.get("complete")),
            "tail": meta.get("tail"),
            "started": bool(meta.get("started")),
        }

    def count(self) -> int:
        return int(self._query("SELECT count(*) FROM rows")[0][0])

    def bounds(self) -> tuple[float, float] | None:
        """(lowest, highest) position held, None when empty."""
        lo, hi = self._query("SELECT min(ord), max(ord) FROM rows")[0]
        return None if lo is None else (float(lo), float(hi))

    def held(self, ids: Iterable[str]) -> dict[str, tuple[float, bool]]:
        """``{id: (position, terminal)}`` of the rows held among ``ids``."""
        ids = list(ids)
        out: dict[str, tuple[float, bool]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for gid, ord_, term in self._query(
                f"SELECT id, ord, terminal FROM rows WHERE id IN ({marks})", chunk
            ):
                out[gid] = (float(ord_), bool(term))
        return out

    def open_rows(self) -> list[tuple[str, float, dict[str, Any]]]:
        """(id, position, row) of the held rows in a non-terminal state, newest first."""
        return [
            (gid, float(o), json.loads(body))
            for gid, o, body in self._query(
                "SELECT id, ord, body FROM rows WHERE terminal = 0 ORDER BY ord DESC"
            )
        ]

    def count_between(self, lo: float, hi: float) -> int:
        """Rows held at positions in ``[lo, hi]``."""
        return int(
            self._query("SELECT count(*) FROM rows WHERE ord BETWEEN ? AND ?", (lo, hi))[0][0]
        )

    def above(self, ord_: float) -> float | None:
        """The next position held above ``ord_`` (None: it is the top)."""
        return self._query("SELECT min(ord) FROM rows WHERE ord > ?", (ord_,))[0][0]

    def below(self, ord_: float) -> float | None:
        """The next position held below ``ord_`` (None: it is the bottom)."""
        return self._query("SELECT max(ord) FROM rows WHERE ord < ?", (ord_,))[0][0]

    # ---- writes ------------------------------------------------------------------------------
    def write(
        self,
        placed: Iterable[tuple[float, Mapping[str, Any]]]
        | Callable[[], Iterable[tuple[float, Mapping[str, Any]]]],
        **meta: Any,
    ) -> None:
        """Upsert ``(position, row)`` pairs and set ``meta`` keys, in one transaction.

        ``placed`` may be a function computing the pairs: it runs inside the transaction, so
        positions chosen from what is held cannot race another kernel's write. A held row
        keeps its position (only its content and state change)."""
        with self._tx() as conn:
            ver = _meta_int(conn, "ver") + 1
            records = []
            for ord_, row in placed() if callable(placed) else placed:
                created, status, terminal, model, gtype = row_fields(row)
                body = json.dumps(row, separators=(",", ":"), allow_nan=True)
                records.append(
                    (str(row["id"]), ord_, created, status, int(terminal), model, gtype, body, ver)
                )
            conn.executemany(
                "INSERT INTO rows (id, ord, created, status, terminal, model, gtype, body, ver) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "created=excluded.created, status=excluded.status, terminal=excluded.terminal, "
                "model=excluded.model, gtype=excluded.gtype, body=excluded.body, ver=excluded.ver",
                records,
            )
            if records:
                meta = {**meta, "ver": ver}
            conn.executemany(
                "INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in meta.items()],
            )

    def clear(self) -> None:
        """Forget every row and the sync state (``history(refresh=True)``)."""
        with self._tx() as conn:
            conn.execute("DELETE FROM rows")
            # the version keeps counting; a new epoch tells every kernel's memo to start over
            conn.execute("DELETE FROM meta WHERE k NOT IN ('ver')")
            conn.execute(
                "INSERT OR REPLACE INTO meta (k, v) VALUES ('epoch', ?)",
                (json.dumps(secrets.token_hex(8)),),
            )

    # ---- reads -------------------------------------------------------------------------------
    def rows(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        **filters: Any,
    ) -> list[dict[str, Any]]:
        """The held rows newest first (server order), filtered like ``/v1/generations`` plus a
        creation-time range ``[since, until)`` in epoch seconds."""
        where: list[str] = []
        args: list[Any] = []
        for key, value in filters.items():
            if value is None:
                continue
            if key not in FILTER_COLUMNS:
                raise ValueError(
                    f"unknown history filter {key!r}; one of {', '.join(FILTER_COLUMNS)}"
                )
            where.append(f"{FILTER_COLUMNS[key]} = ?")
            args.append(wire.status(value) if key == "status" else str(value))
        if since is not None:
            where.append("created >= ?")
            args.append(since)
        if until is not None:
            where.append("created < ?")
            args.append(until)
        sql = "SELECT id FROM rows WHERE " + " AND ".join(where) + " ORDER BY ord DESC"
        with self._lock:
            try:
                self._conn.execute("BEGIN")  # one snapshot for the changes and the ids
                try:
                    memo = self._refresh_memo()
                    if not where:
                        return [memo[gid] for gid in self._order]
                    ids = self._conn.execute(sql, args).fetchall()
                finally:
                    self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise MirrorError(
                    f"the history mirror {self.path} could not be read: {exc}"
                ) from None
        return [memo[gid] for (gid,) in ids]

    def _refresh_memo(self) -> dict[str, dict[str, Any]]:
        """The decoded rows and their order, kept between reads: only the rows written since
        the last read (by any kernel: each write bumps ``ver``) are decoded again, so a 50 000-row
        mirror reads in a fraction of the time decoding every row takes. The rows are shared
        between reads: callers must not change them (the frame builder copies what it keeps)."""
        conn = self._conn
        epoch = _meta_text(conn, "epoch")
        ver = _meta_int(conn, "ver")
        if self._memo is None or self._memo_epoch != epoch:
            self._memo, self._memo_epoch, self._memo_ver = {}, epoch, -1
            self._ords = {}
        if ver != self._memo_ver:
            changed = conn.execute(
                "SELECT id, ord, body FROM rows WHERE ver > ?", (self._memo_ver,)
            ).fetchall()
            # one decode of a JSON array is ~3x faster than a call per row; the cyclic GC would
            # rescan every new dict several times over (they hold no cycles)
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                decoded = json.loads("[" + ",".join(body for _, _, body in changed) + "]")
                self._memo.update(zip((gid for gid, _, _ in changed), decoded, strict=True))
                self._ords.update((gid, o) for gid, o, _ in changed)
                self._order = sorted(self._ords, key=self._ords.__getitem__, reverse=True)
            finally:
                if was_enabled:
                    gc.enable()
            self._memo_ver = ver
        return self._memo


def _meta_int(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
    return int(json.loads(row[0])) if row else 0


def _meta_text(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
    return str(json.loads(row[0])) if row else None


__all__ = ["Mirror", "MirrorError", "fingerprint", "mirror_path", "row_fields"]
