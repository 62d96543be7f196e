"""History: /v1/generations (+ the ledger) as a typed DataFrame; live variants load; 50 000 rows."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kubeez_nb.history import COLUMNS, empty_frame, frame_from_rows

CATALOG = {
    "models": [
        {"model_id": "nano-banana-2", "model_type": "image"},
        {"model_id": "kling-3-0-std", "model_type": "video"},
        {"model_id": "z-image", "model_type": "image"},
        {"model_id": "suno-v5", "model_type": "music"},
    ]
}


def _row(i: int, **over: Any) -> dict[str, Any]:
    """A generation row exactly as api-facts.md describes it."""
    row: dict[str, Any] = {
        "id": f"gen-{i}",
        "status": "completed",
        "model": "nano-banana-2",
        "prompt": f"prompt {i}",
        "generation_type": "text-to-image",
        "created_at": f"2026-11-{10 + i % 10:02d}T12:00:00.000Z",
        "completed_at": f"2026-11-{10 + i % 10:02d}T12:00:07.500Z",
        "processing_time_ms": 7500,
        "credits_deducted": 8,
        "error_message": None,
        "outputs": [
            {
                "id": f"o{i}",
                "url": f"https://cdn.kubeez.com/{i}.png",
                "media_type": "image",
                "thumbnail_url": None,
                "width": 1024,
                "height": 1024,
                "duration": None,
                "format": "png",
                "file_size": 1000,
            }
        ],
    }
    row.update(over)
    return row


def _dtypes(df: pd.DataFrame) -> dict[str, str]:
    return {c: str(t) for c, t in df.dtypes.items()}


def test_rows_become_a_typed_frame() -> None:
    rows = [
        _row(1),
        _row(
            2,
            model="kling-3-0-std",
            credits_deducted=85.0,
            processing_time_ms=60000,
            outputs=[{"url": "https://cdn.kubeez.com/2.mp4", "media_type": "video", "duration": 5}],
        ),
    ]
    df = frame_from_rows(rows, catalog=CATALOG)
    assert list(df.columns) == list(COLUMNS)
    assert _dtypes(df) == COLUMNS
    assert str(df["created_at"].dt.tz) == "UTC"
    clip = df.set_index("id").loc["gen-2"]
    assert clip["model_type"] == "video" and clip["media_type"] == "video"
    assert clip["credits"] == 85.0 and clip["processing_s"] == 60.0 and clip["output_s"] == 5.0
    assert (
        clip["output_urls"] == ["https://cdn.kubeez.com/2.mp4"]
        and clip["first_url"] == "https://cdn.kubeez.com/2.mp4"
    )
    assert df["credits"].sum() == 93.0
    assert set(df["source"]) == {"api"}
    assert df["created_at"].is_monotonic_decreasing  # newest first


def test_live_variants_load_without_error() -> None:
    rows: list[Any] = [
        _row(
            1,
            status="error",
            model="Z-image",
            credits_deducted="12",
            created_at=1767225600,
            outputs=[{"url": "/images/a.png", "media_type": "image/png"}],
        ),  # id drift, MIME, relative URL, epoch
        {"detail": "Not Found"},  # an error body that slipped into a page
        "garbage",
        _row(
            2,
            status="pending",
            created_at=None,
            completed_at="",
            processing_time_ms=None,
            credits_deducted=None,
            outputs=[{"url": None, "media_type": "video", "cdn_ready": False}],
        ),
        _row(
            3,
            model="kling-3-0-std",
            created_at="Mar 1 2026 10:00",
            credits_deducted="7.5 credits",
            outputs=[
                {"url": "https://x/a.mp4", "duration": "5s"},
                {"url": "https://x/b.mp4", "duration": "8"},
            ],
        ),
        {
            "id": "music-1",
            "status": "completed",
            "model": "suno-v5",
            "songs": [
                {"title": "a", "audio_url": None, "stream_url": "https://x/s1.mp3"},
                {"title": "b", "audio_url": "https://x/s2.mp3"},
            ],
        },
        {
            "id": "sep-1",
            "status": "completed",
            "vocals_url": "https://x/v.wav",
            "instrumental_url": "https://x/i.wav",
        },
        _row(4, credits_deducted=None, cost=3),  # cost instead of credits_deducted
        _row(
            5,
            model={"model_id": "nano-banana-2"},
            prompt=None,
            text="a dialogue line",
            outputs=None,
        ),
        _row(
            6,
            created_at="9999-01-01T00:00:00Z",
            status="failed",
            error_message=None,
            error={"message": "moderation"},
            outputs=[],
        ),
        _row(1, credits_deducted=999),  # a repeated id (overlapping pages) keeps its first row
    ]
    df = frame_from_rows(rows, catalog=CATALOG, base_url="https://api.kubeez.com")
    assert _dtypes(df) == COLUMNS
    assert df.attrs["dropped_rows"] == 2
    by = df.set_index("id")
    assert len(by) == 8 and by.index.is_unique
    assert by.loc["gen-1", "status"] == "failed" and by.loc["gen-1", "credits"] == 12.0
    assert by.loc["gen-1", "model_type"] == "image" and by.loc["gen-1", "media_type"] == "image"
    assert by.loc["gen-1", "output_urls"] == ["https://api.kubeez.com/images/a.png"]
    assert by.loc["gen-1", "created_at"] == pd.Timestamp("2026-01-01", tz="UTC")
    assert pd.isna(by.loc["gen-2", "created_at"]) and pd.isna(by.loc["gen-2", "credits"])
    assert by.loc["gen-2", "n_outputs"] == 1 and by.loc["gen-2", "output_urls"] == []
    assert pd.isna(by.loc["gen-2", "first_url"])
    assert by.loc["gen-3", "created_at"] == pd.Timestamp("2026-03-01 10:00", tz="UTC")
    assert by.loc["gen-3", "credits"] == 7.5 and by.loc["gen-3", "output_s"] == 13.0
    assert by.loc["music-1", "output_urls"] == ["https://x/s1.mp3", "https://x/s2.mp3"]
    assert by.loc["music-1", "media_type"] == "audio" and by.loc["music-1", "model_type"] == "music"
    assert by.loc["sep-1", "n_outputs"] == 2 and by.loc["sep-1", "model_type"] == "unknown"
    assert by.loc["gen-4", "credits"] == 3.0
    assert (
        by.loc["gen-5", "model"] == "nano-banana-2"
        and by.loc["gen-5", "prompt"] == "a dialogue line"
    )
    assert pd.isna(
        by.loc["gen-6", "created_at"]
    )  # beyond what the column can hold: NaT, not a crash
    assert by.loc["gen-6", "error_message"] == "moderation"


def test_history_reads_status_and_numbers_by_the_wire_rules() -> None:
    """The job's spellings of a status (``errored``, ``done``) fold in history too, and one
    number rule reads charges and epoch times: a failed job counts as failed in a report."""
    rows = [
        {
            "id": "a",
            "status": "errored",
            "credits_deducted": "3 credits",
            "created_at": 1_767_225_600_000,
        },
        {"id": "b", "status": "done", "credits_deducted": 2, "created_at": 1_767_225_600},
        {"id": "c", "status": "Canceled", "credits_deducted": None},
    ]
    df = frame_from_rows(rows)
    assert list(df["status"].astype(str)) == ["failed", "completed", "cancelled"]
    assert df["credits"].tolist()[:2] == [3.0, 2.0]
    assert (
        df["created_at"].iloc[0] == df["created_at"].iloc[1] == pd.Timestamp("2026-01-01", tz="UTC")
    )


def test_empty_history_has_every_column() -> None:
    for empty in ([], None, {"generations": []}, [{"detail": "nothing"}]):
        df = frame_from_rows(empty)
        assert len(df) == 0 and _dtypes(df) == COLUMNS
    assert _dtypes(empty_frame()) == COLUMNS


def test_ledger_adds_params_estimates_and_local_jobs(tmp_path: Path) -> None:
    api = [_row(1), _row(2, credits_deducted=None)]
    ledger = [  # Ledger.jobs() rows: request JSON, estimate, cost, local paths by output index
        {
            "job_id": "gen-1",
            "kind": "media",
            "model": "nano-banana-2",
            "status": "completed",
            "request": {"model": "nano-banana-2", "prompt": "prompt 1", "aspect_ratio": "16:9"},
            "estimate": 8.0,
            "cost": 8.0,
            "outputs": [],
            "local_paths": {0: str(tmp_path / "1.png")},
            "submitted_at": 1763000000.0,
            "created_at": 1763000000.5,
            "completed_at": 1763000008.0,
        },
        {
            "job_id": "gen-2",
            "model": "nano-banana-2",
            "status": "completed",
            "request": '{"prompt": "p2"}',
            "estimate": 8.0,
            "cost": None,
            "submitted_at": 1763000100.0,
        },
        {
            "job_id": "local-only",
            "model": "kling-3-0-std",
            "status": "processing",
            "request": {"model": "kling-3-0-std", "prompt": "a boat", "duration": "5s"},
            "estimate": 85.0,
            "cost": None,
            "outputs": "[]",
            "local_paths": {},
            "submitted_at": 1763000200.0,
        },
        {
            "job_id": None,
            "model": "kling-3-0-std",
            "status": "rejected",
            "error": "insufficient_credits",
            "request": {"model": "kling-3-0-std", "prompt": "refused"},
            "estimate": 85.0,
            "submitted_at": 1763000300.0,
        },
    ]
    df = frame_from_rows(api, ledger, catalog=CATALOG).set_index("id")
    assert (
        df.loc["gen-1", "source"] == "both" and df.loc["gen-1", "params"]["aspect_ratio"] == "16:9"
    )
    assert df.loc["gen-1", "estimate"] == 8.0 and df.loc["gen-1", "local_paths"] == [
        str(tmp_path / "1.png")
    ]
    assert df.loc["gen-1", "created_at"] == pd.Timestamp(
        "2026-11-11T12:00:00Z"
    )  # the server's time wins
    assert df.loc["gen-2", "params"] == {"prompt": "p2"} and pd.isna(df.loc["gen-2", "credits"])
    job = df.loc["local-only"]
    assert job["source"] == "ledger" and job["model_type"] == "video" and job["prompt"] == "a boat"
    assert (
        pd.isna(job["credits"]) and job["estimate"] == 85.0
    )  # an estimate never poses as a charge
    assert job["created_at"] == pd.Timestamp(1763000200.0, unit="s", tz="UTC")
    assert len(df) == 3  # the refused submit never became a generation


def test_client_history_joins_the_ledger(client: Any) -> None:
    job = client.generate_media(
        model="nano-banana-2", prompt="history join test", aspect_ratio="1:1"
    )
    job.wait(progress=False)
    df = client.history(limit=100, max_pages=2)
    assert _dtypes(df) == COLUMNS
    mine = df.set_index("id").loc[job.id]
    assert mine["source"] == "both" and mine["params"].get("aspect_ratio") == "1:1"
    assert mine["estimate"] == pytest.approx(float(job.estimate)) and mine[
        "credits"
    ] == pytest.approx(job.cost)
    assert mine["model_type"] == "image" and mine["status"] == "completed"
    filtered = client.history(status="failed", limit=100, max_pages=2)
    assert job.id not in set(filtered["id"])  # filters reach the server and the ledger alike


def test_fifty_thousand_seeded_generations(tmp_path: Path) -> None:
    """Seeded with 50 000: dtypes, total credits equal the emulator's own sum, HTML report with every chart."""
    import kubeez_nb as kz

    with kz.Emulator(speed=200.0) as emu:
        # the documented read limit (120/min) would make 500 pages take ~4 min; this key may read fast
        key = emu.add_key("sk_test_history_50k", rate_limits={"read": 1_000_000})
        emu.seed_history(50_000, key)
        client = kz.Client(
            api_key=key, base_url=emu.url, home=tmp_path, rate_limits={"read": 1_000_000}
        )
        started = time.perf_counter()
        df = client.history(limit=100, max_pages=None)
        fetched = time.perf_counter() - started
        expected = _emulator_credit_total(emu, key)
        report = kz.cost_report(df, client=client)
        out = report.to_html(tmp_path / "report.html")
    assert len(df) == 50_000 and df["id"].is_unique
    assert _dtypes(df) == COLUMNS
    assert df["credits"].sum() == pytest.approx(expected, abs=1e-6)
    assert (
        set(df["status"].cat.categories) <= {"completed", "failed"}
        and (df["status"] == "failed").any()
    )
    assert (df["model_type"] != "unknown").all()
    page = out.read_text()
    assert len(report.charts) >= 7
    assert page.count('<img alt="') == len(report.charts) == page.count("data:image/png;base64,")
    assert report.summary["credits"] == pytest.approx(expected)
    assert fetched < 60, f"50 000 rows took {fetched:.1f} s to fetch"


def _emulator_credit_total(emu: Any, key: str) -> float:
    """The emulator's own sum of the credits its seeded history was charged."""
    return float(emu.stats()["seeded_credits"])


def _json_values() -> Any:
    from hypothesis import strategies as st

    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**63)
        | st.floats(allow_nan=True)
        | st.text(max_size=12)
        | st.sampled_from(
            [
                "5s",
                "2026-11-01T00:00:00Z",
                "image/png",
                "completed",
                "error",
                "/images/x.png",
                "",
                "NaN",
            ]
        )
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    ["url", "media_type", "duration", "model_id", "message", "audio_url"]
                ),
                inner,
                max_size=3,
            )
        ),
        max_leaves=6,
    )


def test_any_odd_row_loads() -> None:
    """Whatever a field holds (numbers as strings, lists, dicts, huge ints, NaN), the frame is typed."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    keys = st.sampled_from(
        [
            "id",
            "status",
            "model",
            "prompt",
            "generation_type",
            "created_at",
            "completed_at",
            "processing_time_ms",
            "credits_deducted",
            "cost",
            "error_message",
            "outputs",
            "songs",
            "vocals_url",
            "text",
            "detail",
        ]
    )
    rows = st.lists(st.dictionaries(keys, _json_values(), max_size=8) | _json_values(), max_size=6)

    @settings(max_examples=150, deadline=None)
    @given(rows)
    def check(sample: list[Any]) -> None:
        df = frame_from_rows(
            sample,
            sample[:2] if all(isinstance(r, dict) for r in sample[:2]) else None,
            catalog=CATALOG,
        )
        assert _dtypes(df) == COLUMNS

    check()
