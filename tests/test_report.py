"""Cost reports: the tables add up, charts are embedded, exports open, odd and empty input is fine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kubeez_nb as kz
from kubeez_nb.history import frame_from_rows
from kubeez_nb.report import CHARTS, TABLES

AS_OF = pd.Timestamp("2026-11-20T12:00:00Z")
TYPES = {"nano-banana-2": "image", "kling-3-0-std": "video", "suno-v5": "music"}


def _gen(
    gid: str,
    model: str,
    credits: float,
    when: str,
    status: str = "completed",
    prompt: str = "a fox",
    outputs: int = 1,
    duration: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    out = [
        {
            "url": f"https://cdn/{gid}-{n}",
            "media_type": TYPES.get(model, "image").replace("music", "audio"),
            "duration": duration,
        }
        for n in range(outputs)
    ]
    return {
        "id": gid,
        "status": status,
        "model": model,
        "prompt": prompt,
        "created_at": when,
        "credits_deducted": credits,
        "outputs": out if status == "completed" else [],
        "error_message": "moderation" if status == "failed" else None,
        **extra,
    }


def _frame() -> pd.DataFrame:
    rows = [
        _gen("a", "nano-banana-2", 8, "2026-11-19T10:00:00Z"),
        _gen("b", "nano-banana-2", 8, "2026-11-19T11:00:00Z", status="failed"),
        _gen("c", "kling-3-0-std", 85, "2026-11-17T09:00:00Z", prompt="a boat", duration=5),
        _gen("d", "suno-v5", 12, "2026-11-16T23:30:00Z", prompt="a song", outputs=2, duration=60),
        _gen("e", "nano-banana-2", 8, "2026-10-01T08:00:00Z"),  # outside the 30-day window
        _gen("f", "kling-3-0-std", 85, "2026-11-10T09:00:00Z", prompt="a boat", status="failed"),
    ]
    ledger = [
        {"job_id": "a", "status": "completed", "estimate": 8.0, "request": {"prompt": "a fox"}},
        {"job_id": "c", "status": "completed", "estimate": 80.0, "request": {"prompt": "a boat"}},
    ]
    return frame_from_rows(rows, ledger, catalog=TYPES)


def test_tables_add_up() -> None:
    r = kz.cost_report(_frame(), balance=1000, as_of=AS_OF)
    assert set(r.tables) == set(TABLES)
    by_model = r.by_model.set_index("model")
    assert (
        by_model.loc["kling-3-0-std", "credits"] == 170
        and by_model.loc["kling-3-0-std", "failed"] == 1
    )
    assert by_model.loc["nano-banana-2", "generations"] == 3 and by_model["credits"].sum() == 206
    assert r.by_model["model"].iloc[0] == "kling-3-0-std"  # costliest first
    assert r.by_model_type.set_index("model_type").loc["video", "share_pct"] == pytest.approx(
        100 * 170 / 206
    )
    failed = r.failed_spend.set_index("model")
    assert (
        failed.loc["kling-3-0-std", "failed_credits"] == 85
        and failed.loc["nano-banana-2", "failed_credits"] == 8
    )
    assert failed.loc["kling-3-0-std", "top_error"] == "moderation"
    assert r.summary["failed_credits"] == 93
    per_out = r.credits_per_output.set_index("model")
    assert per_out.loc["suno-v5", "credits_per_output"] == 6.0  # 12 credits, two songs
    assert (
        per_out.loc["kling-3-0-std", "credits_per_second"] == 17.0
    )  # 85 credits / 5 s (the failed job made nothing)
    est = r.estimate_vs_actual.set_index("model")
    assert (
        est.loc["kling-3-0-std", "estimated"] == 80 and est.loc["kling-3-0-std", "difference"] == 5
    )
    assert list(r.costliest_prompts["prompt"][:2]) == ["a boat", "a fox"]
    assert r.costliest_prompts["credits"].iloc[0] == 170


def test_days_and_weeks_are_continuous() -> None:
    r = kz.cost_report(_frame(), as_of=AS_OF)
    day = r.by_day
    assert day.index[0] == pd.Timestamp("2026-10-01", tz="UTC") and day.index[-1] == pd.Timestamp(
        "2026-11-19", tz="UTC"
    )
    assert (
        len(day) == 50
        and day["credits"].sum() == 206
        and day.loc["2026-10-02", "credits"].item() == 0
    )
    assert day["cumulative_credits"].iloc[-1] == 206
    assert (r.by_week.index.dayofweek == 0).all() and r.by_week["credits"].sum() == 206
    berlin = kz.cost_report(_frame(), as_of=AS_OF, tz="Europe/Berlin").by_day
    assert (
        berlin.loc["2026-11-17", "credits"].item() == 85 + 12
    )  # 23:30 UTC is past midnight in Berlin


def test_burn_down_says_how_long_the_balance_lasts() -> None:
    r = kz.cost_report(_frame(), balance=1000, as_of=AS_OF)
    burn = r.burn_down.set_index("window")
    week = 8 + 8 + 85 + 12  # the jobs of the last 7 days
    assert burn.loc["last 7 days", "credits"] == week
    assert r.days_left == pytest.approx(1000 / (week / 7))
    assert burn.loc["last 30 days", "credits"] == 198
    assert "lasts 62 days" in r.headline and "last 7 days" in r.headline
    idle = kz.cost_report(_frame(), balance=1000, as_of=pd.Timestamp("2027-06-01", tz="UTC"))
    assert idle.days_left is not None and idle.days_left > 1000  # only the all-time rate is left
    unknown = kz.cost_report(_frame(), as_of=AS_OF)
    assert unknown.days_left is None and "balance=" in unknown.summary["burn_sentence"]


def test_html_report_embeds_every_chart_and_escapes_text(tmp_path: Path) -> None:
    df = _frame()
    df["prompt"] = df["prompt"].astype(object)
    df.loc[0, "prompt"] = '<script>alert("x")</script>'
    r = kz.cost_report(df, balance=1000, as_of=AS_OF)
    assert set(r.charts) == set(CHARTS)  # failures, estimates, balance: every chart applies
    out = r.to_html(tmp_path / "sub" / "costs.html")
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(CHARTS)
    assert all(len(b) > 1000 for b in images)
    assert "<script>" not in page and "&lt;script&gt;" in page
    inline = r._repr_html_()
    assert inline.count("data:image/png;base64,") == len(CHARTS) and "<script>" not in inline


def test_empty_history_gives_a_report_not_a_crash(tmp_path: Path) -> None:
    r = kz.cost_report(frame_from_rows([]), balance=50)
    assert r.charts == [] and "No generations yet" in r._repr_html_()
    assert all(len(t) == 0 for name, t in r.tables.items() if name != "burn_down")
    assert "no generations yet" in r.to_html(tmp_path / "empty.html").read_text().lower()
    assert r.days_left == float("inf")
    assert len(r.to_csv(tmp_path / "csv")) == len(TABLES) + 2
    r.to_excel(tmp_path / "empty.xlsx")


def test_csv_and_excel_exports(tmp_path: Path) -> None:
    import openpyxl

    r = kz.cost_report(_frame(), balance=1000, as_of=AS_OF)
    paths = r.to_csv(tmp_path / "out")
    assert {p.stem for p in paths} == {"summary", *TABLES, "generations"}
    by_model = pd.read_csv(tmp_path / "out" / "by_model.csv")
    assert by_model["credits"].sum() == 206
    assert len(pd.read_csv(tmp_path / "out" / "generations.csv")) == 6
    assert "day" in pd.read_csv(tmp_path / "out" / "by_day.csv").columns
    with pytest.raises(ValueError, match="table="):
        r.to_csv(tmp_path / "one.csv")
    assert r.to_csv(tmp_path / "one.csv", table="by_week") == [tmp_path / "one.csv"]
    book = openpyxl.load_workbook(r.to_excel(tmp_path / "costs.xlsx"))
    assert book.sheetnames == ["summary", *TABLES, "generations"]
    assert book["generations"].max_row == 7  # header + 6 rows


def test_balance_comes_from_the_client(client: Any) -> None:
    expected = client.balance().credits
    r = kz.cost_report(_frame(), client=client, as_of=AS_OF)
    assert r.balance == expected

    class Broken:
        def balance(self) -> Any:
            raise ConnectionError("offline")

    offline = kz.cost_report(_frame(), client=Broken(), as_of=AS_OF)
    assert offline.balance is None and "offline" in offline.summary["burn_sentence"]


def test_hand_made_frames_and_bad_input() -> None:
    batch_like = pd.DataFrame(
        {
            "model": ["nano-banana-2", "kling-3-0-std"],
            "status": ["completed", "failed"],
            "cost": [8.0, 85.0],
            "prompt": ["x", "y"],
        }
    )
    r = kz.cost_report(batch_like)
    assert r.summary["credits"] == 93 and r.summary["failed_credits"] == 85
    assert r.by_day.empty and r.summary["undated"] == 2
    with pytest.raises(ValueError, match="credits"):
        kz.cost_report(pd.DataFrame({"model": ["x"]}))
    assert "kling-3-0-std" in repr(kz.cost_report(_frame()).by_model)


def test_report_is_collapsed_except_the_headline_and_the_top_chart() -> None:
    r = kz.cost_report(_frame(), balance=1000, as_of=AS_OF)
    page = r._repr_html_()
    assert page.count("<section>") == 1 and "<h3>Spend by model</h3>" in page
    assert page.count("<details>") >= len(CHARTS) - 1  # the rest fold away
    assert page.count(">Burn-down<") == 1 and "Nothing to show" not in page  # one heading
    assert re.search(r"took [\d,]+ credits \(\d+ %\)", r.headline), r.headline
    assert r.burn_down["runs_out"].dropna().dt.second.eq(0).all()  # to the minute


def test_a_short_history_is_not_projected_and_draws_no_single_bar_charts() -> None:
    rows = [_gen(f"s{i}", "nano-banana-2", 14, f"2026-11-20T11:5{i}:00Z") for i in range(5)]
    r = kz.cost_report(frame_from_rows(rows), balance=1000, as_of=AS_OF)
    assert not r.projectable
    assert "too short to project" in r.headline and "days (until" not in r.headline
    assert "burn_down" not in r.charts and "spend_by_day" not in r.charts
    assert "spend_by_week" not in r.charts
    page = r._repr_html_()
    assert "Burn-down" not in page and "Estimate vs actual" not in page  # nothing to show: omitted
