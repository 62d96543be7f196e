"""Keeping the history mirror (:mod:`kubeez_nb.mirror`) in step with ``/v1/generations``.

A sync reads newest-first pages only until it reaches rows the mirror holds in a terminal state
(finished rows never change), re-reads the rows it holds in a non-terminal state (by paging
when they sit in the next few pages, else one status request each, whichever costs fewer
reads), and merges. A first read that has not reached the end of the list yet (interrupted,
KeyboardInterrupt included) continues from the page it stopped at: every page is committed with
the query of the page after it. Reads go through the client, so through its rate limiter (the
budget polling uses too). Reads that last over a second show a progress display.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from kubeez_nb._config import RATE_LIMITS, RATE_WINDOW_S
from kubeez_nb.contract.kinds import STATUS_ROUTES
from kubeez_nb.errors import NotFoundError
from kubeez_nb.mirror import Mirror, mirror_path
from kubeez_nb.progress import Progress, track

#: a history read shows its progress once it has taken this long (seconds)
PROGRESS_AFTER_S = 1.0

_MIRRORS: weakref.WeakKeyDictionary[Any, Mirror] = weakref.WeakKeyDictionary()


def mirror_for(client: Any) -> Mirror:
    """The mirror of ``client``'s account: ``home/mirror/generations-<fingerprint>.sqlite3``."""
    m = _MIRRORS.get(client)
    if m is None:
        secret = getattr(client.transport, "_key", None)
        m = _MIRRORS[client] = Mirror(mirror_path(client.home, client.base_url, secret))
    return m


@dataclass
class SyncStats:
    """What a sync cost and found."""

    pages: int = 0  #: ``/v1/generations`` requests
    rows: int = 0  #: rows read from those pages
    by_id: int = 0  #: status requests re-reading held non-terminal rows
    complete: bool = False  #: the mirror now holds the whole list


class Display:
    """A progress display that appears only once the read has lasted ``PROGRESS_AFTER_S``."""

    def __init__(self, what: str, show: bool = True) -> None:
        self.what, self.show = what, show
        self.started = time.monotonic()
        self.handle: Progress | None = None
        #: rows the read is expected to reach (a rebuild: what the mirror held), when known
        self.expected: int | None = None

    def step(self, stats: SyncStats, left: int | None = None) -> None:
        """Report progress; ``left``: reads still to make, when known."""
        if left is None and self.expected and stats.pages and stats.rows < self.expected:
            left = math.ceil((self.expected - stats.rows) / max(1, stats.rows // stats.pages))
        if not self.show:
            return
        elapsed = time.monotonic() - self.started
        if self.handle is None:
            if elapsed < PROGRESS_AFTER_S:
                return
            self.handle = track(self.what)
        rate = RATE_LIMITS["read"] / RATE_WINDOW_S  # documented reads per second
        text = f"{stats.pages} pages, {stats.rows:,} rows, {elapsed:.0f} s"
        if stats.by_id:
            text += f", {stats.by_id} re-read by id"
        if left is not None:
            text += f"; ~{math.ceil(left / rate)} s left at {RATE_LIMITS['read']} reads/min"
        else:
            text += f"; at most {RATE_LIMITS['read']} pages/min (the documented read rate)"
        done = stats.pages + stats.by_id
        self.handle.update(text, done / (done + left) if left is not None and done + left else None)

    def close(self, ok: bool) -> None:
        if self.handle is not None:
            self.handle.close(ok)


def sync(
    client: Any,
    mirror: Mirror,
    *,
    limit: int | None = None,
    refresh: bool = False,
    display: Display | None = None,
) -> SyncStats:
    """Bring ``mirror`` up to date with the server (``refresh``: rebuild it from scratch)."""
    display = display or Display("history", show=False)
    stats = SyncStats()
    ok = False
    try:
        if refresh:
            expected = mirror.count()  # a rebuild expects about as many rows as before
            mirror.clear()
            display.expected = expected or None
        if mirror.count():
            _head(client, mirror, limit, stats, display)
        state = mirror.state()
        if not state["complete"]:
            _tail(
                client, mirror, state["tail"] if state["started"] else None, limit, stats, display
            )
        stats.complete = mirror.state()["complete"]
        ok = True
        return stats
    finally:
        display.close(ok)


def _pages(client: Any, limit: int | None, start: Mapping[str, Any] | None) -> Iterator[Any]:
    params: dict[str, Any] = {"max_pages": None}
    if limit is not None:
        params["limit"] = limit
    params.update(start or {})  # a page's .next: its limit, filters and cursor / offset
    return iter(client.iter_generation_pages(**params))


def _ids(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(r["id"]) for r in rows if r.get("id") is not None]


def _head(
    client: Any, mirror: Mirror, limit: int | None, stats: SyncStats, display: Display
) -> None:
    """New rows on top of the held ones, and the held non-terminal rows, re-read."""
    pending = {gid: ord_ for gid, ord_, _ in mirror.open_rows()}
    collected: list[dict[str, Any]] = []
    met = end = False
    for page in _pages(client, limit, None):
        stats.pages += 1
        stats.rows += len(page)
        collected.extend(r for r in page if r.get("id") is not None)
        held = mirror.held(_ids(page))
        for gid in _ids(page):
            pending.pop(gid, None)
        met = met or any(terminal for _, terminal in held.values())
        display.step(stats)
        if page.next is None:
            end = True
            break
        if not met:
            continue
        if not pending:
            break
        lowest = min((o for o, _ in held.values()), default=None)
        oldest = min(pending.values())
        if lowest is not None and lowest < oldest:
            break  # paged past them: the listing no longer shows them; ask by id
        behind = mirror.count_between(oldest, lowest) if lowest is not None else len(pending)
        if math.ceil(behind / max(1, len(page))) > len(pending):
            break  # one status request each is cheaper than the pages down to them
    mirror.write(partial(_place, mirror, collected, tail=False))
    if pending:
        _by_id(client, mirror, list(pending), stats, display)
    if end and not mirror.state()["complete"]:
        mirror.write([], started=True, tail=None, complete=True)


def _tail(
    client: Any,
    mirror: Mirror,
    start: Mapping[str, Any] | None,
    limit: int | None,
    stats: SyncStats,
    display: Display,
) -> None:
    """The first read (or its continuation): pages below the held rows, one commit each."""
    for page in _pages(client, limit, start):
        stats.pages += 1
        stats.rows += len(page)
        rows = [r for r in page if r.get("id") is not None]
        mirror.write(
            partial(_place, mirror, rows, tail=True),
            started=True,
            tail=page.next,
            complete=page.next is None,
        )
        display.step(stats)


def _by_id(client: Any, mirror: Mirror, ids: list[str], stats: SyncStats, display: Display) -> None:
    """Re-read held non-terminal rows through their status routes (a read each)."""
    types = _model_types(client)
    wanted = set(ids)
    rows = {gid: row for gid, _, row in mirror.open_rows() if gid in wanted}
    fresh: list[tuple[float, dict[str, Any]]] = []
    held = mirror.held(ids)
    for n, gid in enumerate(ids):
        old = rows.get(gid)
        if old is None:
            continue
        route = STATUS_ROUTES.get(types.get(str(old.get("model")), ""), STATUS_ROUTES["media"])
        try:
            data = client.request("GET", route.format(id=gid))
        except NotFoundError:  # gone from the server: keep what we know
            continue
        finally:
            stats.by_id += 1
            display.step(stats, left=len(ids) - n - 1)
        if isinstance(data, Mapping) and str(data.get("id", gid)) == gid:
            fresh.append((held[gid][0], {**old, **data}))
    mirror.write(fresh)


def _model_types(client: Any) -> dict[str, str]:
    """``{model_id: model_type}`` from the client's cached catalog (empty when unavailable)."""
    try:
        return {m.id: str(m.model_type) for m in client.catalog()}
    except Exception:
        return {}


def _place(
    mirror: Mirror, rows: list[dict[str, Any]], *, tail: bool
) -> list[tuple[float, dict[str, Any]]]:
    """Positions for ``rows`` (server order, newest first) in the mirror's order: held rows keep
    theirs; each run of new rows goes between its held neighbours, or above the top (a head
    read) / below the bottom (a tail read) when it has none."""
    held = mirror.held(_ids(rows))
    bounds = mirror.bounds()
    out: list[tuple[float, dict[str, Any]]] = []
    run: list[dict[str, Any]] = []
    prev: float | None = None

    def flush(nxt: float | None) -> None:
        if not run:
            return
        n = len(run)
        hi = prev if prev is not None else (mirror.above(nxt) if nxt is not None else None)
        lo = nxt if nxt is not None else (mirror.below(prev) if prev is not None else None)
        if hi is None and lo is None:
            if tail:
                hi = bounds[0] if bounds else 0.0
            else:
                lo = bounds[1] if bounds else 0.0
        if hi is None:
            hi = lo + n + 1  # type: ignore[operator]
        if lo is None:
            lo = hi - n - 1
        step = (hi - lo) / (n + 1)
        out.extend((hi - step * (i + 1), r) for i, r in enumerate(run))
        run.clear()

    for row in rows:
        here = held.get(str(row["id"]))
        if here is None:
            run.append(row)
            continue
        flush(here[0])
        out.append((here[0], row))
        prev = here[0]
    flush(None)
    return out


__all__ = ["PROGRESS_AFTER_S", "Display", "SyncStats", "mirror_for", "sync"]
