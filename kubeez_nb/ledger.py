"""The local ledger: a SQLite record of every job from the moment it is submitted.

Kubeez never refunds, signed URLs expire within the hour and kernels restart, so the ledger is
what makes sure nothing paid for is lost. The client writes a row *before* the POST returns
(``record_submit``), then every status change (``record_status``) and every cached file
(``record_local``). ``kz.jobs()`` lists the rows, ``kz.resume()`` (both in ``recovery.py``) re-attaches to unfinished jobs
in a new kernel and fetches their outputs into the media cache.

Durability: WAL journal, one ``BEGIN IMMEDIATE`` transaction per write, so a killed process
loses at most the write in flight. Thread safety: one connection shared behind a lock (writes are tiny; a connection per
thread would only add "database is locked" retries between threads of the same process).
Several processes may open the same file at once (WAL + busy timeout).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import fields, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kubeez_nb import _sqlite
from kubeez_nb._config import LEDGER_LOCK_TIMEOUT_S, TERMINAL_FAILED, TERMINAL_OK
from kubeez_nb.contract import wire
from kubeez_nb.errors import LedgerError

LEDGER_FILE = "ledger.sqlite3"
#: Status of a row whose POST has not answered yet (or never did: the process died mid-POST).
SUBMITTING = "submitting"
#: Status of a row whose POST was refused (validation, credits, scope): nothing was charged.
REJECTED = "rejected"
#: Status of a row the server no longer knows (404 on re-attach long after submit).
LOST = "lost"
#: Status of a row whose POST failed in a way that may have come after acceptance, and whose job
#: could not be found (yet): it may have been accepted and billed. Reconciled by jobs()/resume().
UNKNOWN = "unknown"
#: Status of a row whose job is provably not on the server (history read well after the send).
NOT_SUBMITTED = "not submitted"
#: Rows whose POST outcome is still to be settled against the server's history.
UNSETTLED = frozenset({SUBMITTING, UNKNOWN})

_FINAL = TERMINAL_OK | TERMINAL_FAILED | {REJECTED, LOST, NOT_SUBMITTED}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    local_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       TEXT UNIQUE,
    kind         TEXT NOT NULL DEFAULT 'media',
    model        TEXT,
    base_url     TEXT,
    status       TEXT NOT NULL,
    request      TEXT,
    estimate     REAL,
    estimate_note TEXT,
    cost         REAL,
    error        TEXT,
    outputs      TEXT,
    submitted_at REAL NOT NULL,
    created_at   REAL,
    updated_at   REAL NOT NULL,
    completed_at REAL
);
CREATE TABLE IF NOT EXISTS events (
    local_id INTEGER NOT NULL REFERENCES jobs(local_id),
    at       REAL NOT NULL,
    status   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS local_files (
    job_id TEXT NOT NULL,
    idx    INTEGER NOT NULL,
    path   TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS claims (
    job_id   TEXT PRIMARY KEY,
    local_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE INDEX IF NOT EXISTS events_job ON events(local_id);
"""


class Ledger:
    """SQLite ledger at ``path`` (created with its schema on open).

    ``base_url`` (the API's; else ``job.client.base_url``) is stored on each new row, so
    ``resume()`` only re-attaches jobs to the server that made them (a demo emulator's jobs are
    never polled on the live API).
    """

    def __init__(
        self, path: str | Path, *, base_url: str | None = None, origin: str | None = None
    ) -> None:
        self.path = Path(path)
        self.base_url = base_url or origin  # ``origin``: older spelling
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = _sqlite.connect(self.path, timeout=LEDGER_LOCK_TIMEOUT_S, schema=_SCHEMA)
            self._conn.row_factory = sqlite3.Row
            with self._lock:
                # one writer at a time: two kernels opening an older ledger together would both
                # see the columns missing and the second ALTER would fail
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    cols = {r[1] for r in self._conn.execute("PRAGMA table_info(jobs)")}
                    for col in ("first_sent_at REAL", "request_key TEXT"):
                        if col.split()[0] not in cols:  # a ledger written by an older version
                            self._conn.execute(f"ALTER TABLE jobs ADD COLUMN {col}")
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
        except (sqlite3.Error, OSError) as exc:
            # never recreated or overwritten: the user decides what happens to a damaged file
            raise self._error(exc, "could not be opened") from None

    def _error(self, exc: BaseException, doing: str) -> LedgerError:
        reason = f"{doing} ({type(exc).__name__}: {exc})"
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            reason = f"{doing}: the file is damaged or not a kubeez ledger ({exc})"
        return LedgerError(path=self.path, reason=reason)

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def _base_url(self, job: Any) -> str | None:
        base = self.base_url or _attr(_attr(job, "client"), "base_url")
        return str(base).rstrip("/") if base else None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction; any failure (disk full, read-only, locked past the timeout,
        damaged file, text SQLite cannot store) becomes a :class:`LedgerError` naming the file."""
        return _sqlite.transaction(
            self._conn, self._lock, lambda exc: self._error(exc, "could not be written")
        )

    # -- writes (called by the client) ---------------------------------------------------------

    def record_submit(
        self,
        job: Any,
        request: Mapping[str, Any],
        estimate: Any = None,
        *,
        request_key: str | None = None,
    ) -> int:
        """Write the row for a job about to be POSTed; return its local key.

        The key is also set as ``job.local_id`` so a later ``record_status(job)`` finds the row
        even when the generation id was unknown at submit time. The row holds everything the
        duplicate check needs (the body and ``first_sent_at``), written before the POST, and
        the ``Idempotency-Key`` it is sent with (``request_key``).
        Raises :class:`LedgerError` when the row cannot be written: then nothing may be sent.
        """
        now = time.time()
        job_id = _attr(job, "id")
        est = _float(estimate)
        note = (
            str(estimate)
            if estimate is not None and not isinstance(estimate, (int, float))
            else None
        )
        with self._tx() as db:
            if job_id is not None:
                row = db.execute("SELECT local_id FROM jobs WHERE job_id=?", (job_id,)).fetchone()
                if row is not None:  # the same job recorded twice: keep one row
                    _set_local_id(job, row[0])
                    return int(row[0])
            cur = db.execute(
                "INSERT INTO jobs (job_id, kind, model, base_url, status, request, estimate, estimate_note,"
                " submitted_at, created_at, updated_at, first_sent_at, request_key)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    job_id,
                    _attr(job, "kind") or "media",
                    _attr(job, "model") or request.get("model"),
                    self._base_url(job),
                    SUBMITTING if job_id is None else (_attr(job, "status") or "queued"),
                    _dumps(dict(request)),
                    est,
                    note,
                    now,
                    epoch_seconds(_attr(job, "created_at")),
                    now,
                    now,
                    request_key,
                ),
            )
            key = int(cur.lastrowid or 0)
            db.execute("INSERT INTO events VALUES (?,?,?)", (key, now, SUBMITTING))
        _set_local_id(job, key)
        return key

    def record_status(self, job: Any) -> None:
        """Store the job's id, status, outputs, error, cost and completion time.

        A job the ledger has not seen (re-attached with ``client.job(id)``) gets a row here.
        """
        now = time.time()
        job_id = _attr(job, "id")
        key = _attr(job, "local_id")
        status = str(_attr(job, "status") or "unknown")
        outputs = _outputs_json(job)
        completed = epoch_seconds(_attr(job, "completed_at"))
        if completed is None and status in TERMINAL_OK | TERMINAL_FAILED:
            completed = now
        with self._tx() as db:
            row = None
            if job_id is not None:
                row = db.execute(
                    "SELECT local_id, status FROM jobs WHERE job_id=?", (job_id,)
                ).fetchone()
            if row is None and key is not None:
                row = db.execute(
                    "SELECT local_id, status FROM jobs WHERE local_id=?", (key,)
                ).fetchone()
            if row is None:
                cur = db.execute(
                    "INSERT INTO jobs (job_id, kind, model, base_url, status, request, estimate, submitted_at,"
                    " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        job_id,
                        _attr(job, "kind") or "media",
                        _attr(job, "model"),
                        self._base_url(job),
                        status,
                        _dumps(_attr(job, "request")),
                        _float(_attr(job, "estimate")),
                        epoch_seconds(_attr(job, "created_at")) or now,
                        epoch_seconds(_attr(job, "created_at")),
                        now,
                    ),
                )
                local_id, old = int(cur.lastrowid or 0), None
            else:
                local_id, old = int(row[0]), row[1]
            db.execute(
                "UPDATE jobs SET job_id=COALESCE(?, job_id), status=?, outputs=COALESCE(?, outputs),"
                " error=COALESCE(?, error), cost=COALESCE(?, cost), model=COALESCE(model, ?),"
                " created_at=COALESCE(created_at, ?), completed_at=COALESCE(?, completed_at),"
                " updated_at=? WHERE local_id=?",
                (
                    job_id,
                    status,
                    outputs,
                    _scrubbed(_attr(job, "error")),
                    _float(_attr(job, "cost")),
                    _attr(job, "model"),
                    epoch_seconds(_attr(job, "created_at")),
                    completed,
                    now,
                    local_id,
                ),
            )
            if status != old:
                db.execute("INSERT INTO events VALUES (?,?,?)", (local_id, now, status))
        _set_local_id(job, local_id)

    def record_rejected(self, key: int, error: str) -> None:
        """Mark a submitted row whose POST was refused (nothing charged, nothing to resume)."""
        self._settle(key, REJECTED, error, final=True)

    def record_unknown(self, key: int, error: str) -> None:
        """Mark a row whose POST may have been accepted and billed, its job not found (yet)."""
        self._settle(key, UNKNOWN, error, final=False)

    def record_not_submitted(self, key: int, note: str) -> None:
        """Mark a row whose job is provably absent from the server's history."""
        self._settle(key, NOT_SUBMITTED, note, final=True)

    def _settle(self, key: int, status: str, error: str, *, final: bool) -> None:
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET status=?, error=?, updated_at=?, completed_at=? WHERE local_id=?"
                " AND job_id IS NULL",
                (status, _scrubbed(str(error)), now, now if final else None, key),
            )
            if cur.rowcount:
                db.execute("INSERT INTO events VALUES (?,?,?)", (key, now, status))

    # -- claims: a server-side job belongs to exactly one row ------------------------------------

    def claimed(self, job_ids: list[str]) -> set[str]:
        """Which of ``job_ids`` some row already owns (attached or claimed)."""
        if not job_ids:
            return set()
        marks = ",".join("?" * len(job_ids))
        with self._lock:
            try:
                rows = self._conn.execute(
                    f"SELECT job_id FROM claims WHERE job_id IN ({marks})"
                    f" UNION SELECT job_id FROM jobs WHERE job_id IN ({marks})",
                    [*job_ids, *job_ids],
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc, "could not be read") from None
        return {str(r[0]) for r in rows}

    def claim(self, key: int | None, job_ids: list[str]) -> bool:
        """Make row ``key`` the owner of ``job_ids`` (all or none), atomically across processes.

        False when any of them belongs to another row already. The first id becomes the row's
        ``job_id`` (an ad-copy request's other jobs get rows of their own when first seen).
        """
        if key is None or not job_ids:
            return key is None
        with self._tx() as db:
            marks = ",".join("?" * len(job_ids))
            taken = db.execute(
                f"SELECT 1 FROM claims WHERE job_id IN ({marks}) AND local_id<>?"
                f" UNION SELECT 1 FROM jobs WHERE job_id IN ({marks}) AND local_id<>?",
                [*job_ids, key, *job_ids, key],
            ).fetchone()
            if taken is not None:
                return False
            db.executemany("INSERT OR IGNORE INTO claims VALUES (?,?)", [(j, key) for j in job_ids])
            now = time.time()
            cur = db.execute(
                "UPDATE jobs SET job_id=?, status=CASE WHEN status IN (?,?) THEN 'queued'"
                " ELSE status END, error=NULL, completed_at=NULL, updated_at=?"
                " WHERE local_id=? AND job_id IS NULL",
                (job_ids[0], SUBMITTING, UNKNOWN, now, key),
            )
            if cur.rowcount:
                db.execute("INSERT INTO events VALUES (?,?,?)", (key, now, "attached"))
        return True

    def unsettled(self, base_url: str | None = None) -> list[dict[str, Any]]:
        """Rows still ``submitting`` / ``unknown`` without a job id (oldest first)."""
        rows = [
            r for r in self.jobs(base_url=base_url) if r["status"] in UNSETTLED and not r["job_id"]
        ]
        return list(reversed(rows))

    def record_local(self, job_id: str, index: int, path: str | Path) -> None:
        """Remember that output ``index`` of ``job_id`` is cached at ``path``."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO local_files VALUES (?,?,?)", (job_id, int(index), str(path))
            )

    # -- reads ---------------------------------------------------------------------------------

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The row of ``job_id`` as a dict (request/outputs decoded, ``local_paths`` by index)."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM jobs WHERE job_id=?", (job_id,)).fetchone()
            return self._decode(row) if row is not None else None

    def jobs(self, unfinished: bool = False, base_url: str | None = None) -> list[dict[str, Any]]:
        """Every row, newest first; ``unfinished=True`` keeps the jobs still worth polling."""
        sql = "SELECT * FROM jobs"
        args: list[Any] = []
        where = []
        if unfinished:
            where.append(f"status NOT IN ({','.join('?' * len(_FINAL))})")
            args += sorted(_FINAL)
        if base_url is not None:
            where.append("(base_url IS NULL OR base_url=?)")
            args.append(base_url.rstrip("/"))
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY submitted_at DESC, local_id DESC"
        with self._lock:
            return [self._decode(r) for r in self._conn.execute(sql, args).fetchall()]

    def events(self, job_id: str) -> list[tuple[float, str]]:
        """The status changes of ``job_id`` as ``(epoch seconds, status)``, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT e.at, e.status FROM events e JOIN jobs j ON j.local_id=e.local_id"
                " WHERE j.job_id=? ORDER BY e.at, e.rowid",
                (job_id,),
            ).fetchall()
        return [(float(a), str(s)) for a, s in rows]

    def _decode(self, row: sqlite3.Row) -> dict[str, Any]:
        d = dict(row)
        d["request"] = _loads(d.get("request")) or {}
        d["outputs"] = _loads(d.get("outputs")) or []
        d["local_paths"] = {}
        if d.get("job_id"):
            files = self._conn.execute(
                "SELECT idx, path FROM local_files WHERE job_id=?", (d["job_id"],)
            ).fetchall()
            d["local_paths"] = {int(i): str(p) for i, p in files}
        return d


# -- the ledger of a home folder, shared per process -----------------------------------------------

_OPEN: dict[Path, Ledger] = {}
_OPEN_LOCK = threading.Lock()


def ledger_for(home: str | Path | None = None) -> Ledger:
    """The process-wide :class:`Ledger` of ``home`` (default ``KUBEEZ_HOME``)."""
    from kubeez_nb._config import kubeez_home

    path = (Path(home).expanduser().resolve() if home is not None else kubeez_home()) / LEDGER_FILE
    with _OPEN_LOCK:
        if path not in _OPEN:
            _OPEN[path] = Ledger(path)
        return _OPEN[path]


# -- small helpers -----------------------------------------------------------------------------


def _attr(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except Exception:  # a property that raises must not break the ledger
        return None


def _set_local_id(job: Any, key: int) -> None:
    try:
        job.local_id = key
    except Exception:  # slotted or frozen job objects: the id lookup still works
        pass


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


#: epoch seconds from a datetime, an ISO string or a number (the one wire reader)
epoch_seconds = wire.epoch


def _dt(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=timezone.utc) if value is not None else None


def _record(obj: Any) -> dict[str, Any]:
    """The public fields of a dataclass / mapping / plain object (no deep copy, no private state)."""
    if isinstance(obj, Mapping):
        return dict(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        names = [f.name for f in fields(obj)]
    else:
        names = list(vars(obj))
    return {n: getattr(obj, n, None) for n in names if not n.startswith("_")}


def _jsonable(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return _record(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (datetime,)):
        return obj.isoformat()
    if hasattr(obj, "__float__"):
        return float(obj)
    return str(obj)


def _dumps(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=_jsonable, ensure_ascii=False)


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _outputs_json(job: Any) -> str | None:
    outputs = _attr(job, "outputs")
    if not outputs:
        return None
    return _dumps([_record(o) for o in outputs])


def _prompt(request: Mapping[str, Any]) -> str | None:
    for key in ("prompt", "text", "song_description", "style", "media_url", "reference_ad_url"):
        value = request.get(key)
        if value:
            return str(value)
    return None


def _scrubbed(text: Any) -> Any:
    """Server-supplied text with every live key and key-shaped token masked (stored as shown)."""
    if not isinstance(text, str):
        return text
    from kubeez_nb._http import scrub

    return scrub(text)
