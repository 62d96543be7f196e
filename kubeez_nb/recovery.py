"""``kz.jobs()`` and ``kz.resume()``: what the ledger knows, settled against the server.

Rows whose POST never answered (``submitting``: the process died mid-POST) or failed
ambiguously (``unknown``) are reconciled with ``/v1/generations`` first
(:func:`kubeez_nb.matching.reconcile`); then ``resume()`` re-attaches to every unfinished job
and fetches outputs into the media cache. Nothing is ever submitted again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeez_nb._config import TERMINAL_FAILED, TERMINAL_OK
from kubeez_nb.ledger import (
    _FINAL,
    LOST,
    Ledger,
    _attr,
    _dt,
    _prompt,
    _set_local_id,
    ledger_for,
)

if TYPE_CHECKING:  # pragma: no cover
    from kubeez_nb.client import Client
    from kubeez_nb.job import Job

log = logging.getLogger("kubeez_nb.ledger")


def jobs(
    home: str | Path | None = None,
    *,
    unfinished: bool = False,
    limit: int | None = None,
    client: Client | None = None,
) -> Any:
    """``kz.jobs()``: the ledger as a table, newest first (a pandas DataFrame when pandas is present).

    Columns: ``job_id, kind, model, status, prompt, estimate, cost, submitted, completed,
    outputs`` (count), ``cached`` (outputs saved locally), ``error``.

    Rows left ``submitting`` / ``unknown`` (a POST that failed ambiguously, a killed process)
    are first settled against the server's history with ``client`` (else a live client of
    this process using the same ledger): found → job id attached; provably absent → ``not
    submitted``. Nothing is resubmitted. Without a client they are listed as they are.
    """
    ledger = ledger_for(home)
    for c in [client] if client is not None else _clients_of(ledger):
        _settle(c, ledger)
    rows = ledger.jobs(unfinished=unfinished)
    if limit is not None:
        rows = rows[:limit]
    table = [
        {
            "job_id": r["job_id"],
            "kind": r["kind"],
            "model": r["model"],
            "status": r["status"],
            "prompt": _prompt(r["request"]),
            "estimate": r["estimate"],
            "cost": r["cost"],
            "submitted": _dt(r["submitted_at"]),
            "completed": _dt(r["completed_at"]),
            "outputs": len(r["outputs"]),
            "cached": sum(1 for p in r["local_paths"].values() if Path(p).exists()),
            "error": r["error"],
        }
        for r in rows
    ]
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency, but keep the list form working
        return table
    return pd.DataFrame(table, columns=list(_JOBS_COLUMNS))


_JOBS_COLUMNS = (
    "job_id",
    "kind",
    "model",
    "status",
    "prompt",
    "estimate",
    "cost",
    "submitted",
    "completed",
    "outputs",
    "cached",
    "error",
)


def resume(
    client: Client | None = None,
    home: str | Path | None = None,
    wait: bool = True,
    progress: bool = True,
    absent_after: float | None = None,
) -> list[Job]:
    """``kz.resume()``: re-attach to every unfinished job of the ledger and fetch its outputs.

    First, rows whose POST never answered (``submitting``: the process died mid-POST) or
    failed ambiguously (``unknown``) are reconciled with ``/v1/generations`` by exact matching
    (:mod:`kubeez_nb.matching`): found → the job id is attached and the job resumed; absent
    although sent more than ``absent_after`` seconds ago (default ``ABSENT_AFTER_S``) →
    ``not submitted``.

    Also re-downloads the outputs of completed jobs whose cached files are missing, while their
    URLs are still valid. Returns the re-attached jobs (``wait=True``: finished). Jobs made by a
    different server (another base URL) are left alone; a job the server no longer knows is
    marked ``lost``. Nothing is submitted again, so nothing is paid twice.
    """
    from kubeez_nb.errors import NotFoundError

    if client is None:
        from kubeez_nb.client import connect

        client = connect()
    ledger = getattr(client, "ledger", None) if home is None else None
    if not isinstance(ledger, Ledger):
        ledger = ledger_for(home)
    base_url = getattr(client, "base_url", None)
    _settle(client, ledger, absent_after=absent_after)
    rows = [r for r in ledger.jobs(base_url=base_url) if r["job_id"] and _needs_resume(r)]
    attached: list[Job] = []
    for row in reversed(rows):  # oldest first: the order they were paid for
        try:
            job = client.job(row["job_id"], kind=row["kind"] or "media")
        except NotFoundError:
            if row["status"] not in TERMINAL_OK | TERMINAL_FAILED:
                ledger.record_status(_Lost(row))
            continue
        _set_local_id(job, row["local_id"])
        attached.append(job)
    if wait and attached:
        _wait_all(attached, progress=progress)
    from kubeez_nb.cache import cache_for_client

    cache = cache_for_client(client, home)
    for job in attached:
        if str(_attr(job, "status")) in TERMINAL_OK:
            try:
                cache.fetch(job, ledger=ledger)
            except Exception:  # one expired URL must not stop the others
                continue
        ledger.record_status(job)
    return attached


def _clients_of(ledger: Ledger) -> list[Any]:
    """Live clients of this process writing to ``ledger`` (one per server)."""
    from kubeez_nb.client import _CLIENTS

    found: dict[str, Any] = {}
    for c in list(_CLIENTS):
        try:
            if c._use_ledger and c.transport.has_key and c.ledger is ledger:
                found.setdefault(c.base_url, c)
        except Exception:  # a client whose ledger cannot open is no use here
            continue
    return list(found.values())


def _settle(client: Any, ledger: Ledger, absent_after: float | None = None) -> None:
    """Reconcile unsettled rows with ``client``'s server; a failure leaves them unsettled."""
    if not ledger.unsettled(base_url=getattr(client, "base_url", None)):
        return
    from kubeez_nb._config import ABSENT_AFTER_S
    from kubeez_nb.errors import KubeezError
    from kubeez_nb.matching import reconcile
    from kubeez_nb.pipeline import INFLIGHT_KEYS

    try:
        reconcile(
            client.iter_generation_pages,
            client.base_url,
            ledger,
            absent_after=ABSENT_AFTER_S if absent_after is None else absent_after,
            skip=set(INFLIGHT_KEYS),
        )
    except KubeezError as exc:
        import logging

        logging.getLogger("kubeez_nb.ledger").warning(
            "could not settle unsettled ledger rows: %s", exc
        )


def _needs_resume(row: Mapping[str, Any]) -> bool:
    if row["status"] not in _FINAL:
        return True
    if row["status"] in TERMINAL_OK:  # completed, but some output has no file on disk
        have = {i for i, p in row["local_paths"].items() if Path(p).exists()}
        wanted = {
            i for i, o in enumerate(row["outputs"]) if isinstance(o, Mapping) and o.get("url")
        }
        return bool(wanted - have)
    return False


def _wait_all(jobs_: list[Job], progress: bool) -> None:
    """Wait for several jobs at once, one progress bar, each polled on its own schedule."""
    from concurrent.futures import ThreadPoolExecutor

    from kubeez_nb.progress import track

    bar = track(f"Resuming {len(jobs_)} job(s)") if progress else None
    done = 0
    lock = threading.Lock()

    def one(job: Job) -> None:
        nonlocal done
        try:
            job.wait(progress=False)
        except Exception:  # a failed job is recorded by its status; keep waiting for the others
            pass
        with lock:
            done += 1
            if bar is not None:
                bar.update(f"{done}/{len(jobs_)} done", done / len(jobs_))

    with ThreadPoolExecutor(max_workers=min(16, len(jobs_))) as pool:
        list(pool.map(one, jobs_))
    if bar is not None:
        bar.close(ok=all(str(_attr(j, "status")) in TERMINAL_OK for j in jobs_))


class _Lost:
    """A stand-in job for ``record_status`` when the server answers 404 for an old id."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.id = row["job_id"]
        self.local_id = row["local_id"]
        self.status = LOST
        self.error = "The server no longer knows this job (404 on re-attach)."
