"""History figure: typed frame + cost report versus the pandas one-liner a user would write.

- ``history_vs_json_normalize``: the emulator seeded with 50 000 generations, the rows fetched
  once (``client.generations``); then the median time of ``frame_from_rows`` (typed columns,
  catalog model types, outputs, dedup) + ``cost_report`` (every table) ÷ the median time of
  ``pd.json_normalize(rows)`` + ``groupby("model")["credits_deducted"].sum()``. Goal ≤ 1.0.
  Runs alternate so both sides see the same machine load. A report's charts are drawn only when
  it is shown or written; that time is not in the ratio and is given in the note.
- ``history_resync_requests``: on a 50 000-row account, the ``/v1/generations`` requests of a
  second ``client.history()`` after 10 new jobs (the mirror reads only what is new). Goal <= 2.
- ``history_resync_ratio``: that second call's wall time / the first call's (the full read into
  an empty mirror, measured in the same run: the baseline); the median of three rounds of
  10 jobs + history(). Goal <= 0.05.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROWS = 50_000
RUNS = 9
RESYNC_ROUNDS = 3


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _fetch(home: str) -> tuple[list[dict[str, Any]], Any, float, str, float]:
    """Seed an emulator, read its 50 000 rows once; the emulator is gone when this returns."""
    import kubeez_nb as kz

    with kz.Emulator(speed=200.0) as emu:
        # a key allowed to read fast: 500 pages at the documented 120/min would take ~4 minutes
        key = emu.add_key("sk_test_bench_history", rate_limits={"read": 1_000_000})
        emu.seed_history(ROWS, key)
        client = kz.Client(
            api_key=key, base_url=emu.url, home=home, ledger=False, rate_limits={"read": 1_000_000}
        )
        started = time.perf_counter()
        rows = client.generations(limit=100, max_pages=None)
        fetch_s = time.perf_counter() - started
        assert len(rows) == ROWS, f"fetched {len(rows)} rows, expected {ROWS}"
        return rows, client.catalog(), client.balance().credits, client.base_url, fetch_s


def _resync(record: Callable[..., None]) -> None:
    """First history() (the baseline: every page into an empty mirror), then three rounds of
    10 new jobs + history() (the median round is the figure: one round is a few hundred ms,
    easily shaken by a busy machine)."""
    import kubeez_nb as kz

    fast = {"read": 1_000_000, "media": 1_000}
    with tempfile.TemporaryDirectory() as home, kz.Emulator(speed=200.0) as emu:
        key = emu.add_key("sk_test_bench_resync", credits=1_000_000, rate_limits=fast)
        emu.seed_history(ROWS, key)
        client = kz.Client(api_key=key, base_url=emu.url, home=home, rate_limits=fast)
        client.catalog()  # every call finds it cached
        first_s = _timed(lambda: client.history(progress=False))
        rounds: list[tuple[float, int]] = []
        for r in range(RESYNC_ROUNDS):
            jobs = [
                client.generate_media("nano-banana-2", f"resync {r}.{i}", aspect_ratio="1:1")
                for i in range(10)
            ]
            for job in jobs:
                job.wait(progress=False)
            before = emu.stats()["requests"]["GET /v1/generations"]
            started = time.perf_counter()
            df = client.history(progress=False)
            took = time.perf_counter() - started
            rounds.append((took, emu.stats()["requests"]["GET /v1/generations"] - before))
            assert len(df) == ROWS + 10 * (r + 1), len(df)
    second_s = statistics.median(t for t, _ in rounds)
    requests = max(n for _, n in rounds)
    record(
        "history_resync_requests",
        requests,
        2,
        "<=",
        f"history() of a {ROWS:,}-row account after 10 new jobs, most of {RESYNC_ROUNDS} rounds "
        f"(the first read: {ROWS // 100} pages)",
    )
    record(
        "history_resync_ratio",
        second_s / first_s,
        0.05,
        "<=",
        f"history() after 10 new jobs {second_s * 1000:.0f} ms (median of {RESYNC_ROUNDS}: "
        f"{', '.join(f'{t * 1000:.0f}' for t, _ in rounds)}) vs the first (full read into the "
        f"mirror, same run) {first_s:.1f} s",
    )


def run(record: Callable[..., None]) -> None:
    _resync(record)
    _versus_json_normalize(record)


def _versus_json_normalize(record: Callable[..., None]) -> None:
    import gc

    import pandas as pd

    from kubeez_nb.history import frame_from_rows
    from kubeez_nb.report import cost_report

    with tempfile.TemporaryDirectory() as home:
        rows, catalog, balance, base_url, fetch_s = _fetch(home)
        gc.collect()  # both sides start from the same heap: the rows and nothing of the emulator

        def ours() -> None:
            cost_report(frame_from_rows(rows, catalog=catalog, base_url=base_url), balance=balance)

        def baseline() -> None:
            pd.json_normalize(rows).groupby("model")["credits_deducted"].sum()

        ours(), baseline()  # warm caches and imports
        a: list[float] = []
        b: list[float] = []
        for _ in range(RUNS):
            a.append(_timed(ours))
            b.append(_timed(baseline))
        report = cost_report(frame_from_rows(rows, catalog=catalog), balance=balance)
        html_s = _timed(lambda: report.to_html(Path(home) / "report.html"))

    ours_s, base_s = statistics.median(a), statistics.median(b)
    record(
        "history_vs_json_normalize",
        ours_s / base_s,
        1.0,
        "<=",
        f"frame+report tables {ours_s * 1000:.0f} ms vs json_normalize+groupby {base_s * 1000:.0f} ms "
        f"({ROWS:,} rows, median of {RUNS}); fetch {fetch_s:.1f} s (500 pages); "
        f"charts drawn lazily: to_html with {len(report.charts)} charts {html_s:.1f} s",
    )
