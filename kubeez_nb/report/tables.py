"""The names of a report's tables and charts, the table builders, and the text of the headline."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: The tables of a report, in the order they are shown and exported.
TABLES: tuple[str, ...] = (
    "by_model",
    "by_model_type",
    "by_day",
    "by_week",
    "failed_spend",
    "credits_per_output",
    "estimate_vs_actual",
    "costliest_prompts",
    "burn_down",
)
#: The charts a report can draw, in the order they are shown; ``report.charts`` lists the ones
#: the data supports (a history without failures has no failed-spend chart).
CHARTS: tuple[str, ...] = (
    "spend_by_model",
    "spend_by_model_type",
    "spend_by_day",
    "spend_by_week",
    "failed_spend",
    "credits_per_output",
    "estimate_vs_actual",
    "burn_down",
)
_TITLES = {
    "by_model": "Spend by model",
    "by_model_type": "Spend by model type",
    "by_day": "Spend by day",
    "by_week": "Spend by week",
    "failed_spend": "Spend on failed jobs",
    "credits_per_output": "Credits per output",
    "estimate_vs_actual": "Estimate vs actual",
    "costliest_prompts": "Costliest prompts",
    "burn_down": "Burn-down",
    "spend_by_model": "Spend by model",
    "spend_by_model_type": "Spend by model type",
    "spend_by_day": "Spend by day",
    "spend_by_week": "Spend by week",
}
_WINDOWS = (7, 30)
#: a burn-down projection needs at least this many days of history (five jobs in one minute
#: would otherwise "last 142 days")
MIN_PROJECTION_DAYS = 3.0
_TOP_BARS = 15  # bars in a per-model chart; the rest are summed into "other"
_SHOWN_DAYS = 31  # rows of the by-day table shown in HTML (the chart and the exports have all)
_SHOWN_ROWS = 25  # rows of a per-model table shown in HTML
_PROMPT_CHARS = 160  # a prompt shown in HTML is cut here (exports keep it whole)
_COLORS = {"ok": "#4C72B0", "failed": "#C44E52", "estimate": "#8C8C8C", "line": "#DD8452"}
_NO_MODEL = "(no model)"
_NAT = -(2**63)  # NaT as int64 nanoseconds
_DAY_NS = 86_400 * 10**9


def _codes(series: pd.Series, missing: str) -> tuple[Any, Any]:
    """(int codes >= 0, object array of labels): categorical codes when the column is one
    (no hashing), with ``missing`` as the label of null so those rows still count."""
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().astype(np.int64)
        labels = [str(c) for c in series.cat.categories]
    else:
        codes, uniques = pd.factorize(series.astype(object).to_numpy(), use_na_sentinel=True)
        labels = [str(u) for u in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(missing)
    return codes, np.asarray(labels, dtype=object)


def _spend_table(
    per: pd.DataFrame, key: str, total: float, extra: tuple[str, ...] = ()
) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    cols = [
        key,
        *extra,
        "generations",
        "completed",
        "failed",
        "credits",
        "share_pct",
        "avg_credits",
        "failed_credits",
    ]
    if per.empty:
        return pd.DataFrame(
            {c: pd.Series([], dtype="float64" if c not in (key, *extra) else object) for c in cols}
        )
    table = per[
        [key, *extra, "generations", "completed", "failed", "credits", "failed_credits"]
    ].copy()
    table["share_pct"] = 100.0 * table["credits"] / total if total else 0.0
    table["avg_credits"] = table["credits"] / np.maximum(table["generations"], 1)
    return table[cols].reset_index(drop=True)


def _failed_table(per: pd.DataFrame, models: Any, messages: pd.Series) -> pd.DataFrame:
    import pandas as pd

    cols = ["model", "model_type", "failed", "failed_credits", "share_of_model_pct", "top_error"]
    rows = per[per["failed"] > 0]
    if rows.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    errors = pd.DataFrame(
        {"model": models, "error": messages.astype(object).fillna("(no message)").to_numpy()}
    )
    common = (
        errors.value_counts(["model", "error"], sort=True)
        .reset_index()
        .drop_duplicates("model")
        .set_index("model")["error"]
    )
    table = rows[["model", "model_type", "failed", "failed_credits"]].copy()
    table["share_of_model_pct"] = (
        100.0 * rows["failed_credits"] / rows["credits"].where(rows["credits"] > 0)
    )
    table["top_error"] = [common.get(m, "") for m in table["model"]]
    return table.sort_values(["failed_credits", "failed"], ascending=False, ignore_index=True)[cols]


def _per_output_table(per: pd.DataFrame) -> pd.DataFrame:
    import numpy as np

    rows = per[per["outputs"] > 0]
    table = (
        rows[["model", "model_type", "completed", "outputs", "output_credits"]]
        .rename(columns={"output_credits": "credits"})
        .copy()
    )
    table["outputs"] = table["outputs"].astype("int64")
    table["credits_per_output"] = table["credits"] / table["outputs"]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_s = rows["timed_credits"] / rows["output_s"].where(rows["output_s"] > 0)
    table["credits_per_second"] = per_s.to_numpy()
    return table.sort_values("credits_per_output", ascending=False, ignore_index=True)


def _estimate_table(per: pd.DataFrame) -> pd.DataFrame:
    rows = per[per["estimated_jobs"] > 0]
    table = (
        rows[["model", "model_type", "estimated_jobs", "estimated", "estimated_actual"]]
        .rename(columns={"estimated_jobs": "jobs", "estimated_actual": "actual"})
        .copy()
    )
    table["difference"] = table["actual"] - table["estimated"]
    table["difference_pct"] = (
        100.0 * table["difference"] / table["estimated"].where(table["estimated"] > 0)
    )
    return table.sort_values("actual", ascending=False, ignore_index=True)


def _some(names: list[str], shown: int = 3) -> str:
    """``a, b, c +4 more``: the models that spent most on a prompt first."""
    head = ", ".join(str(n) for n in names[:shown])
    return head + (f" +{len(names) - shown} more" if len(names) > shown else "")


def _days_left(balance: float | None, per_day: float) -> float | None:
    if balance is None:
        return None
    if per_day <= 0:
        return math.inf
    return max(balance, 0.0) / per_day


# ---------------------------------------------------------------------------------------------
# text


def _fmt(x: Any) -> str:
    """``12,345`` / ``12,345.5``: whole credits without decimals."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:,.0f}" if x == int(x) or abs(x) >= 1000 else f"{x:,.1f}"


def _day(ts: Any) -> str:
    return ts.strftime("%Y-%m-%d") if ts is not None and ts == ts else "–"


def _burn_sentence(s: dict[str, Any], burn: pd.DataFrame, note: str | None) -> str:
    if s["balance"] is None:
        why = f" ({note})" if note else ""
        return f"No balance given{why}: pass balance= or client= for a burn-down."
    span = s.get("span_days")
    if span is not None and span < MIN_PROJECTION_DAYS:
        return (
            f"Balance: {_fmt(s['balance'])} credits. The history spans {_span_text(span)}, too "
            f"short to project how long that lasts (the burn-down needs {MIN_PROJECTION_DAYS:g} days)."
        )
    if s["credits_per_day"] is None:
        return f"No spend in any window, so the balance of {_fmt(s['balance'])} credits is not burning."
    parts = [
        f"At {_rate_of(s['rate_window'])} ({_fmt(s['credits_per_day'])} credits/day) "
        f"the balance of {_fmt(s['balance'])} credits lasts {_fmt_days(s['days_left'])}"
    ]
    runs_out = burn.loc[burn["window"] == s["rate_window"], "runs_out"]
    if len(runs_out) and runs_out.iloc[0] == runs_out.iloc[0]:
        parts.append(f" (until {_day(runs_out.iloc[0])})")
    others = [
        f"at {_rate_of(row['window'])}, {_fmt_days(row['days_left'])}"
        for _, row in burn.iterrows()
        if row["window"] != s["rate_window"] and row["credits"] > 0
    ]
    if others:
        parts.append(f"; {'; '.join(others)}")
    return "".join(parts) + "."


def _span_text(days: float) -> str:
    if days < 1 / 24:
        return f"{max(days * 1440, 1):.0f} minutes"
    if days < 1:
        return f"{days * 24:.0f} hours"
    return f"{days:.1f} days"


def _rate_of(window: str) -> str:
    return "the all-time rate" if window == "all time" else f"the rate of the {window}"


def _fmt_days(days: float | None) -> str:
    if days is None or math.isnan(days):
        return "–"
    if math.isinf(days):
        return "indefinitely"
    return f"{days:,.1f} days" if days < 10 else f"{days:,.0f} days"


def _headline(s: dict[str, Any]) -> str:
    if not s["generations"]:
        return "No generations yet."
    text = f"{s['generations']:,} generations used {_fmt(s['credits'])} credits"
    if s["first"] is not None and s["first"] == s["first"]:
        text += f" from {_day(s['first'])} to {_day(s['last'])}"
    text += "."
    if s["top_model"]:
        share = 100.0 * s["top_model_credits"] / s["credits"] if s["credits"] else 0.0
        text += (
            f" The top model, {s['top_model']}, took {_fmt(s['top_model_credits'])} credits"
            f" ({share:.0f} %)."
        )
    if s["failed_jobs"]:
        text += f" {s['failed_jobs']:,} failed jobs cost {_fmt(s['failed_credits'])} credits ({s['failed_share_pct']:.1f} %)."
    if s["balance"] is not None:
        text += " " + s["burn_sentence"]
    return text


def _plain(v: Any) -> Any:
    if hasattr(v, "isoformat") and v == v:
        return v.isoformat()
    return v
