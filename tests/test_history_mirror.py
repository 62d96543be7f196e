"""history() through the local mirror: incremental resync, resume after Ctrl-C, equal frames,
filters from the mirror, progress display, reads through the rate limiter."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kubeez_nb as kz
from kubeez_nb.history import sync
from kubeez_nb.progress import TextProgress

FAST = {"read": 1_000_000}  # 500 pages at the documented 120/min would take ~4 minutes


def _reads(emu: Any) -> int:
    return int(emu.stats()["requests"].get("GET /v1/generations", 0))


@pytest.fixture
def emu() -> Iterator[Any]:
    """A private emulator at real time (speed 1): jobs stay where the clock (advance) puts them."""
    with kz.Emulator(speed=1.0, credits=1_000_000) as e:
        yield e


def _client(emu: Any, home: Path, key: str | None = None, **kw: Any) -> kz.Client:
    key = key or emu.add_key("sk_test_history_mirror", credits=1_000_000, rate_limits=FAST)
    return kz.Client(api_key=key, base_url=emu.url, home=home, rate_limits=FAST, **kw)


def _processing_job(client: kz.Client, emu: Any) -> Any:
    job = client.generate_media(
        "nano-banana-2", "the job that finishes in between", aspect_ratio="1:1"
    )
    emu.advance(15)  # nano-banana-2 takes 42 s: past the queued 15 %, still processing
    assert job.refresh().status == "processing"
    return job


def test_fifty_thousand_rows_resync_in_at_most_two_requests(emu: Any, tmp_path: Path) -> None:
    key = emu.add_key("sk_test_history_50k_mirror", credits=1_000_000, rate_limits=FAST)
    emu.seed_history(50_000, key)
    client = _client(emu, tmp_path, key)
    job = _processing_job(client, emu)
    first = client.history(progress=False)
    assert len(first) == 50_001 and _reads(emu) == 501  # the whole list, 100 rows a page
    assert first.set_index("id").loc[job.id, "status"] == "processing"

    new = [
        client.generate_media("nano-banana-2", f"made in between {i}", aspect_ratio="1:1")
        for i in range(10)
    ]
    emu.advance(60)  # the processing job completes; the new ones too
    before = _reads(emu)
    second = client.history(progress=False)
    assert _reads(emu) - before <= 2
    assert len(second) == 50_011 and second["id"].is_unique
    assert {j.id for j in new} <= set(second["id"])
    assert set(first["id"]) <= set(second["id"])
    row = second.set_index("id").loc[job.id]
    assert row["status"] == "completed" and row["credits"] > 0
    assert second["status"].value_counts()["completed"] >= 11


def _unsigned(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["first_url"] = out["first_url"].str.split("?").str[0].astype("string")
    out["output_urls"] = [[u.split("?")[0] for u in urls] for urls in out["output_urls"]]
    return out


def test_mirror_equals_a_fresh_full_read_and_the_cost_report_agrees(
    emu: Any, tmp_path: Path
) -> None:
    key = emu.add_key("sk_test_history_equal", credits=1_000_000, rate_limits=FAST)
    emu.seed_history(2_500, key)
    client = _client(emu, tmp_path, key)
    _processing_job(client, emu)
    client.history(progress=False)  # the mirror holds a processing row
    for i in range(3):
        client.generate_media("nano-banana-2", f"equal {i}", aspect_ratio="1:1")
    emu.advance(120)
    mirrored = client.history(progress=False)
    fresh = client.history(mirror=False, progress=False)  # every page straight from the server
    # output links are signed for an hour: a mirrored row keeps the link it was read with, so
    # the links are compared without their signature; every other column exactly
    pd.testing.assert_frame_equal(_unsigned(mirrored), _unsigned(fresh))
    assert not mirrored["first_url"].equals(fresh["first_url"])  # the signatures did differ
    assert len(mirrored) == 2_504 and (mirrored["status"] != "processing").all()
    rebuilt = client.history(refresh=True, progress=False)
    pd.testing.assert_frame_equal(_unsigned(rebuilt), _unsigned(fresh))
    a, b = kz.cost_report(mirrored, balance=100.0), kz.cost_report(fresh, balance=100.0)
    assert a.summary == b.summary and a.summary["credits"] > 0
    for name, table in a.tables.items():  # runs_out: a forecast from the time it is built
        pd.testing.assert_frame_equal(
            table.drop(columns="runs_out", errors="ignore"),
            b.tables[name].drop(columns="runs_out", errors="ignore"),
        )


def test_interrupted_first_sync_continues_where_it_stopped(
    emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = emu.add_key("sk_test_history_resume", credits=1_000_000, rate_limits=FAST)
    emu.seed_history(1_000, key)
    client = _client(emu, tmp_path, key)
    real = client.transport.request
    pages = {"n": 0}

    def ctrl_c_after_four_pages(method: str, path: str, **kw: Any) -> Any:
        if path == "/v1/generations":
            pages["n"] += 1
            if pages["n"] == 5:
                raise KeyboardInterrupt
        return real(method, path, **kw)

    monkeypatch.setattr(client.transport, "request", ctrl_c_after_four_pages)
    with pytest.raises(KeyboardInterrupt):
        client.history(progress=False)
    assert pages["n"] == 5 and sync.mirror_for(client).count() == 400  # the fault fired
    monkeypatch.setattr(client.transport, "request", real)

    before = _reads(emu)
    df = client.history(progress=False)
    # one page on top (finds the held rows), then the six pages it had not read yet
    assert _reads(emu) - before == 7
    assert len(df) == 1_000 and df["id"].is_unique
    assert sync.mirror_for(client).state()["complete"]
    before = _reads(emu)
    assert len(client.history(progress=False)) == 1_000 and _reads(emu) - before == 1


def test_filters_come_from_the_mirror_once_complete_and_from_the_server_before(
    emu: Any, tmp_path: Path
) -> None:
    key = emu.add_key("sk_test_history_filters", credits=1_000_000, rate_limits=FAST)
    emu.seed_history(800, key)
    client = _client(emu, tmp_path, key)
    asked: list[dict[str, Any]] = []
    real = client.transport.request

    def spy(method: str, path: str, **kw: Any) -> Any:
        if path == "/v1/generations":
            asked.append(dict(kw.get("params") or {}))
        return real(method, path, **kw)

    client.transport.request = spy  # type: ignore[method-assign]
    failed = client.history(status="failed", progress=False)  # mirror empty: the server filters
    assert asked and all(p.get("status") == "failed" for p in asked)
    assert len(failed) and (failed["status"] == "failed").all()
    assert sync.mirror_for(client).count() == 0

    full = client.history(progress=False)
    asked.clear()
    again = client.history(status="failed", progress=False)
    assert len(asked) == 1 and "status" not in asked[0]  # one head page; the mirror filters
    pd.testing.assert_frame_equal(again, failed)

    model = full["model"].value_counts().index[0]
    by_model = client.history(model=model, progress=False)
    assert len(by_model) == (full["model"] == model).sum() and (by_model["model"] == model).all()
    gtype = str(full["generation_type"].iloc[0])
    by_type = client.history(generation_type=gtype, progress=False)
    assert len(by_type) == (full["generation_type"] == gtype).sum()

    times = full["created_at"]  # bounds between two rows (a bound on a row is float-fragile)
    mid = (
        times.iloc[len(full) // 2]
        + (times.iloc[len(full) // 2 - 1] - times.iloc[len(full) // 2]) / 2
    )
    late = (
        times.iloc[len(full) // 4]
        + (times.iloc[len(full) // 4 - 1] - times.iloc[len(full) // 4]) / 2
    )
    window = client.history(since=mid.to_pydatetime(), until=late.isoformat(), progress=False)
    expected = full[(full["created_at"] >= mid) & (full["created_at"] < late)]
    assert len(window) == len(expected) > 0
    assert set(window["id"]) == set(expected["id"])
    # before the mirror is complete a date range reads from the server, newest first, and
    # stops at the first page wholly older than ``since``
    other = _client(emu, tmp_path / "other", key)
    recent = times.iloc[150] + (times.iloc[149] - times.iloc[150]) / 2
    before = _reads(emu)
    newest = other.history(since=recent, progress=False)
    assert set(newest["id"]) == set(full["id"].iloc[:150]) and _reads(emu) - before == 3
    with pytest.raises(ValueError, match="not a time"):
        client.history(since="yesterday-ish", progress=False)


def test_a_slow_read_shows_pages_rows_and_time_left(
    emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = emu.add_key("sk_test_history_progress", credits=1_000_000, rate_limits=FAST)
    emu.seed_history(300, key)
    client = _client(emu, tmp_path, key)
    out = io.StringIO()
    monkeypatch.setattr(sync, "PROGRESS_AFTER_S", 0.0)  # every read counts as slow
    monkeypatch.setattr(sync, "track", lambda what: TextProgress(what, out))
    client.history(limit=100)
    text = out.getvalue()
    assert "3 pages, 300 rows" in text and "120 pages/min" in text and "✓" in text

    seen: list[tuple[str, float | None]] = []

    class Recorder:
        def update(self, text: str, fraction: float | None = None) -> None:
            seen.append((text, fraction))

        def close(self, ok: bool = True) -> None:
            seen.append(("closed", 1.0 if ok else 0.0))

    monkeypatch.setattr(sync, "track", lambda what: Recorder())
    client.history(limit=100, refresh=True)  # a rebuild knows how many rows to expect
    assert seen[0] == ("1 pages, 100 rows, 0 s; ~1 s left at 120 reads/min", pytest.approx(1 / 3))
    assert seen[-1] == ("closed", 1.0)
    monkeypatch.setattr(sync, "track", lambda what: TextProgress(what, out))

    out.seek(0)
    out.truncate(0)
    monkeypatch.setattr(sync, "PROGRESS_AFTER_S", 3600.0)  # a quick read shows nothing
    client.history()
    assert out.getvalue() == ""


def test_history_reads_go_through_the_rate_limiter(emu: Any, tmp_path: Path) -> None:
    key = emu.add_key("sk_test_history_limiter", credits=1_000_000, rate_limits=FAST)
    emu.seed_history(500, key)
    client = _client(emu, tmp_path, key)
    limiter = client.transport.limiter
    groups: list[str | None] = []
    real = limiter.acquire

    def counting(group: str | None, **kw: Any) -> Any:
        groups.append(group)
        return real(group, **kw)

    limiter.acquire = counting  # type: ignore[method-assign]
    client.history(progress=False)
    assert groups.count("read") >= _reads(emu) == 5  # every page took a read slot


def test_non_terminal_rows_far_down_are_reread_by_id(emu: Any, tmp_path: Path) -> None:
    """A held processing row below 25 finished ones: one status request, not the pages down."""
    key = emu.add_key("sk_test_history_by_id", credits=1_000_000, rate_limits=FAST)
    client = _client(emu, tmp_path, key)
    slow = client.generate_media(
        "sora-2-pro-text-to-video-15s-standard", "a slow video", aspect_ratio="16:9", duration="15s"
    )
    for i in range(25):
        client.generate_media("nano-banana-2", f"on top {i}", aspect_ratio="1:1")
    emu.advance(60)  # the images are done (42 s), the video (420 s) is processing
    client.history(limit=10, progress=False)
    assert [gid for gid, _, _ in sync.mirror_for(client).open_rows()] == [slow.id]
    emu.advance(600)
    before = dict(emu.stats()["requests"])
    df = client.history(limit=10, progress=False)
    after = emu.stats()["requests"]
    delta = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert delta == {"GET /v1/generations": 1, "GET /v1/generate/media/<gen_id>": 1}, delta
    assert df.set_index("id").loc[slow.id, "status"] == "completed"
    assert sync.mirror_for(client).open_rows() == []
