"""Cost reports: where the credits went, as tables, charts, a standalone HTML file, CSV and Excel.

>>> report = kz.cost_report(client.history(), client=client)   # the balance comes from the client
>>> report                         # inline: headline, tables and charts
>>> report.to_html("costs.html")   # one file, every chart embedded: the report people forward
>>> report.to_csv("costs/"); report.to_excel("costs.xlsx")

Building a report computes its tables only (a few group-bys, cheap even for 50 000 rows); the
charts are drawn with matplotlib's Agg renderer when the report is shown or written, once each.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

#: The tables of a report, in the order they are shown and exported.
TABLES: tuple[str, ...] = (
    "by_model", "by_model_type", "by_day", "by_week", "failed_spend", "credits_per_output",
    "estimate_vs_actual", "costliest_prompts", "burn_down",
)
#: The charts a report can draw, in the order they are shown; ``report.charts`` lists the ones
#: the data supports (a history without failures has no failed-spend chart).
CHARTS: tuple[str, ...] = (
    "spend_by_model", "spend_by_model_type", "spend_by_day", "spend_by_week", "failed_spend",
    "credits_per_output", "estimate_vs_actual", "burn_down",
)
_TITLES = {
    "by_model": "Spend by model", "by_model_type": "Spend by model type", "by_day": "Spend by day",
    "by_week": "Spend by week", "failed_spend": "Spend on failed jobs",
    "credits_per_output": "Credits per output", "estimate_vs_actual": "Estimate vs actual",
    "costliest_prompts": "Costliest prompts", "burn_down": "Burn-down",
    "spend_by_model": "Spend by model", "spend_by_model_type": "Spend by model type",
    "spend_by_day": "Spend by day", "spend_by_week": "Spend by week",
}
_WINDOWS = (7, 30)
_TOP_BARS = 15  # bars in a per-model chart; the rest are summed into "other"
_SHOWN_DAYS = 31  # rows of the by-day table shown in HTML (the chart and the exports have all)
_SHOWN_ROWS = 25  # rows of a per-model table shown in HTML
_PROMPT_CHARS = 160  # a prompt shown in HTML is cut here (exports keep it whole)
_COLORS = {"ok": "#4C72B0", "failed": "#C44E52", "estimate": "#8C8C8C", "line": "#DD8452"}
_NO_MODEL = "(no model)"
_NAT = -(2**63)  # NaT as int64 nanoseconds
_DAY_NS = 86_400 * 10**9


def cost_report(
    df: Any,
    balance: float | None = None,
    client: Any = None,
    *,
    tz: str = "UTC",
    as_of: Any = None,
    top: int = 10,
) -> CostReport:
    """A :class:`CostReport` of a history frame (``client.history()``).

    ``balance``: credits left now, for the burn-down; with ``client`` and no ``balance`` it is
    read from ``client.balance()``. ``tz``: the time zone that decides which day a job belongs to
    (default UTC). ``as_of``: the moment the "last 7 / 30 days" windows end (default now).
    ``top``: rows in the costliest-prompts table. ``df`` may also be a list of generation rows,
    or a :class:`~kubeez_nb.client.Client` (its whole history is read).
    """
    import pandas as pd

    from kubeez_nb.history import COLUMNS, frame_from_rows

    if hasattr(df, "history") and hasattr(df, "generations"):  # a Client
        client = df if client is None else client
        df = df.history()
    if not isinstance(df, pd.DataFrame):
        df = frame_from_rows(df)
    elif "credits" not in df.columns and "cost" in df.columns:  # a batch / ledger frame
        df = df.rename(columns={"cost": "credits"})
    missing = [c for c in ("credits",) if c not in df.columns]
    if missing:
        raise ValueError(
            f"cost_report needs a history frame with a 'credits' column (missing: {missing}); "
            "pass client.history() or kubeez_nb.history.frame_from_rows(rows)"
        )
    for name, dtype in COLUMNS.items():  # a hand-made frame: the absent columns are empty
        if name not in df.columns:
            df = df.assign(**{name: pd.Series([None] * len(df), index=df.index, dtype=object).astype(dtype if dtype != "int64" else "float64")})
    note = None
    if balance is None and client is not None:
        try:
            found = client.balance()
            balance = float(getattr(found, "credits", None) if not isinstance(found, dict) else found.get("credits"))
        except Exception as exc:  # the report still stands without a balance; say why
            note = f"balance unavailable: {type(exc).__name__}: {exc}"
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now(tz="UTC")
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    return CostReport(df, None if balance is None else float(balance), tz, now, top, balance_note=note)


@dataclass
class CostReport:
    """Where the credits went. Tables are DataFrames (see :data:`TABLES`); charts are drawn lazily.

    Show it in a notebook, or write it with :meth:`to_html`, :meth:`to_csv`, :meth:`to_excel`.
    """

    df: pd.DataFrame = field(repr=False)
    """The history frame the report was made from."""
    balance: float | None = None
    """Credits left when the report was made (None: unknown, no burn-down)."""
    tz: str = "UTC"
    """Time zone of the day / week buckets."""
    as_of: pd.Timestamp | None = None
    """End of the "last N days" windows (UTC)."""
    top: int = 10
    """Rows in :attr:`costliest_prompts`."""
    balance_note: str | None = None
    """Why the balance is unknown, when reading it failed."""
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)
    _summary: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _png: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        import pandas as pd

        if self.as_of is None:
            self.as_of = pd.Timestamp.now(tz="UTC")
        self._build()

    # ---- tables ----------------------------------------------------------------------------------
    @property
    def by_model(self) -> pd.DataFrame:
        """Per model: generations, completed, failed, credits, share of spend, average per job, failed credits."""
        return self._tables["by_model"]

    @property
    def by_model_type(self) -> pd.DataFrame:
        """Per model type (image, video, music, ...): generations, credits, share of spend."""
        return self._tables["by_model_type"]

    @property
    def by_day(self) -> pd.DataFrame:
        """Per calendar day in :attr:`tz` (every day from first to last, quiet days at 0): generations, credits, failed credits, cumulative credits."""
        return self._tables["by_day"]

    @property
    def by_week(self) -> pd.DataFrame:
        """Per week starting Monday: generations, credits, failed credits."""
        return self._tables["by_week"]

    @property
    def failed_spend(self) -> pd.DataFrame:
        """Per model with failures: failed jobs, credits they cost, share of that model's spend, the commonest error."""
        return self._tables["failed_spend"]

    @property
    def credits_per_output(self) -> pd.DataFrame:
        """Per model, completed jobs only: outputs, credits, credits per output, credits per second of media."""
        return self._tables["credits_per_output"]

    @property
    def estimate_vs_actual(self) -> pd.DataFrame:
        """Per model, jobs with a pre-submit estimate (submitted from this machine): estimated, charged, difference."""
        return self._tables["estimate_vs_actual"]

    @property
    def costliest_prompts(self) -> pd.DataFrame:
        """The :attr:`top` prompts by total credits: credits, generations, models, last used."""
        return self._tables["costliest_prompts"]

    @property
    def burn_down(self) -> pd.DataFrame:
        """Per window (last 7 days, last 30 days, all time): credits spent, per day, days the balance lasts, run-out date."""
        return self._tables["burn_down"]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, in :data:`TABLES` order."""
        return {name: self._tables[name] for name in TABLES}

    @property
    def summary(self) -> dict[str, Any]:
        """The headline figures: totals, date range, failed spend, top model, burn-down."""
        return dict(self._summary)

    @property
    def days_left(self) -> float | None:
        """Days the balance lasts at the recent rate (7 days, else 30, else all time); None without a balance, inf without spend."""
        return self._summary.get("days_left")

    @property
    def headline(self) -> str:
        """One paragraph a person can forward: spend, failures, top model and the burn-down."""
        return self._summary["headline"]

    @property
    def charts(self) -> list[str]:
        """The charts this report draws (names from :data:`CHARTS`; those without data are left out)."""
        t = self._tables
        have = {
            "spend_by_model": t["by_model"]["credits"].sum() > 0,
            "spend_by_model_type": t["by_model_type"]["credits"].sum() > 0,
            "spend_by_day": len(t["by_day"]) > 0,
            "spend_by_week": len(t["by_week"]) > 0,
            "failed_spend": len(t["failed_spend"]) > 0 and t["failed_spend"]["failed_credits"].sum() > 0,
            "credits_per_output": len(t["credits_per_output"]) > 0,
            "estimate_vs_actual": len(t["estimate_vs_actual"]) > 0,
            "burn_down": len(t["by_day"]) > 0,
        }
        return [name for name in CHARTS if have[name]]

    # ---- building ----------------------------------------------------------------------------------
    def _build(self) -> None:
        import numpy as np
        import pandas as pd

        df = self.df
        credits = df["credits"].astype("float64").fillna(0.0).to_numpy()
        status = df["status"].astype("category") if len(df) else df["status"]
        failed = np.asarray(status == "failed", dtype=bool) if len(df) else np.zeros(0, bool)
        completed = np.asarray(status == "completed", dtype=bool) if len(df) else np.zeros(0, bool)
        estimate = df["estimate"].astype("float64").to_numpy()
        has_est = ~np.isnan(estimate) & df["credits"].notna().to_numpy()
        n_out = df["n_outputs"].astype("float64").fillna(0.0).to_numpy()
        out_s = df["output_s"].astype("float64").to_numpy()
        has_s = completed & ~np.isnan(out_s)
        # one bincount per measure over the model codes: a group-by without hashing any string
        self._model_codes, self._model_names = _codes(df["model"], _NO_MODEL)
        type_codes, type_names = _codes(df["model_type"], "unknown")
        codes, k = self._model_codes, len(self._model_names)
        measures = {
            "generations": None,
            "completed": completed.astype(np.float64),
            "failed": failed.astype(np.float64),
            "credits": credits,
            "failed_credits": np.where(failed, credits, 0.0),
            "outputs": np.where(completed, n_out, 0.0),
            "output_credits": np.where(completed, credits, 0.0),
            "output_s": np.where(has_s, out_s, 0.0),
            "timed_credits": np.where(has_s, credits, 0.0),
            "estimated_jobs": has_est.astype(np.float64),
            "estimated": np.where(has_est, estimate, 0.0),
            "estimated_actual": np.where(has_est, credits, 0.0),
        }
        sums = {name: np.bincount(codes, weights=w, minlength=k) for name, w in measures.items()}
        type_of = np.zeros(k, dtype=np.int64)
        type_of[codes] = type_codes
        per_model = pd.DataFrame({"model": self._model_names, "model_type": np.asarray(type_names, dtype=object)[type_of], **sums})
        for name in ("generations", "completed", "failed", "estimated_jobs"):
            per_model[name] = per_model[name].astype(np.int64)
        per_model = per_model[per_model["generations"] > 0]
        per_model = per_model.sort_values(["credits", "generations"], ascending=False, ignore_index=True)
        total = float(credits.sum())
        t: dict[str, pd.DataFrame] = {}
        t["by_model"] = _spend_table(per_model, "model", total, extra=("model_type",))
        by_type = per_model.groupby("model_type", observed=True, sort=False)[["generations", "completed", "failed", "credits", "failed_credits"]].sum()
        t["by_model_type"] = _spend_table(by_type.reset_index().sort_values("credits", ascending=False, ignore_index=True), "model_type", total)
        t["by_day"], t["by_week"], undated = self._time_tables(credits, failed)
        t["failed_spend"] = _failed_table(per_model, self._model_names[codes[failed]], df["error_message"][failed])
        t["credits_per_output"] = _per_output_table(per_model)
        t["estimate_vs_actual"] = _estimate_table(per_model)
        t["costliest_prompts"] = self._prompt_table(credits)
        t["burn_down"] = self._burn_table(credits)
        self._tables = t
        self._summary = self._make_summary(total, failed, credits, undated)

    def _wall_ns(self) -> Any:
        """created_at as int64 nanoseconds of wall-clock time in :attr:`tz` (NaT: ``_NAT``)."""
        import pandas as pd

        created = self.df["created_at"]
        if not isinstance(created.dtype, pd.DatetimeTZDtype):
            created = pd.to_datetime(created, utc=True, errors="coerce")
        if self.tz not in ("UTC", "utc"):
            created = created.dt.tz_convert(self.tz)
        return created.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view("int64")

    def _utc_ns(self) -> Any:
        import pandas as pd

        created = self.df["created_at"]
        if not isinstance(created.dtype, pd.DatetimeTZDtype):
            created = pd.to_datetime(created, utc=True, errors="coerce")
        return created.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view("int64")

    def _time_tables(self, credits: Any, failed: Any) -> tuple[pd.DataFrame, pd.DataFrame, int]:
        import numpy as np
        import pandas as pd

        wall = self._wall_ns()
        dated = wall != _NAT
        cols = ["generations", "credits", "failed_credits"]
        if not dated.any():
            daily = pd.DataFrame({c: pd.Series([], dtype="int64" if c == "generations" else "float64") for c in [*cols, "cumulative_credits"]})
            daily.index = pd.DatetimeIndex([], tz=self.tz, name="day")
            weekly = daily[cols].copy()
            weekly.index = pd.DatetimeIndex([], tz=self.tz, name="week")
            return daily, weekly, int((~dated).sum())
        # day numbers of the wall clock: one bincount per column, every quiet day included
        day = wall[dated] // _DAY_NS
        first = int(day.min())
        day -= first
        size = int(day.max()) + 1
        amounts = credits[dated]
        daily = pd.DataFrame(
            {
                "generations": np.bincount(day, minlength=size).astype(np.int64),
                "credits": np.bincount(day, weights=amounts, minlength=size),
                "failed_credits": np.bincount(day, weights=np.where(failed[dated], amounts, 0.0), minlength=size),
            },
            index=pd.DatetimeIndex(
                ((np.arange(size, dtype=np.int64) + first) * _DAY_NS).view("datetime64[ns]"), name="day"
            ).tz_localize(self.tz, ambiguous="NaT", nonexistent="shift_forward"),
        )
        daily["cumulative_credits"] = daily["credits"].cumsum()
        weekly = daily[cols].resample("W-MON", label="left", closed="left").sum()
        weekly.index.name = "week"
        return daily, weekly, int((~dated).sum())

    def _prompt_table(self, credits: Any) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        columns = ["prompt", "credits", "generations", "models", "last_used"]
        codes, uniques = pd.factorize(self.df["prompt"].astype(object).to_numpy(), use_na_sentinel=True)
        valid = codes >= 0
        if not valid.any():
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        spend = np.bincount(codes[valid], weights=credits[valid], minlength=len(uniques))
        count = np.bincount(codes[valid], minlength=len(uniques))
        best = np.argsort(-spend, kind="stable")[: self.top]
        chosen = np.isin(codes, best)
        sub = pd.DataFrame({"code": codes[chosen], "model": self._model_names[self._model_codes[chosen]],
                            "credits": credits[chosen], "at": self._utc_ns()[chosen]})
        per = sub.groupby(["code", "model"], sort=False)["credits"].sum().reset_index()
        per = per.sort_values(["code", "credits"], ascending=[True, False])
        names = per.groupby("code", sort=False)["model"].agg(list)
        last = sub.groupby("code")["at"].max()
        return pd.DataFrame(
            {
                "prompt": [uniques[i] for i in best],
                "credits": spend[best],
                "generations": count[best].astype(np.int64),
                "models": [_some(names.get(i, [])) for i in best],
                "last_used": pd.to_datetime([last.get(i, _NAT) for i in best], unit="ns", utc=True).where(
                    [last.get(i, _NAT) != _NAT for i in best]),
            }
        )

    def _burn_table(self, credits: Any) -> pd.DataFrame:
        import pandas as pd

        times = self._utc_ns()
        dated = times != _NAT
        as_of = self.as_of
        end = as_of.value
        # a window never counts days before the first generation: 5 days of history spread over
        # "the last 30 days" would understate the burn six-fold
        span = max((end - int(times[dated].min())) / _DAY_NS, 1.0) if dated.any() else math.inf
        windows: list[tuple[str, float, int]] = [(f"last {n} days", min(float(n), span), end - n * _DAY_NS) for n in _WINDOWS]
        if dated.any():
            windows.append(("all time", span, int(times[dated].min()) - 1))
        rows = []
        for label, days, start in windows:
            spent = float(credits[dated & (times > start) & (times <= end)].sum())
            per_day = spent / days
            left = _days_left(self.balance, per_day)
            finite = left is not None and math.isfinite(left) and left < 36_500
            rows.append(
                {
                    "window": label, "days": round(days, 2), "credits": spent, "credits_per_day": per_day,
                    "balance": self.balance, "days_left": left,
                    "runs_out": (as_of + pd.Timedelta(days=left)) if finite else pd.NaT,
                }
            )
        table = pd.DataFrame(rows, columns=["window", "days", "credits", "credits_per_day", "balance", "days_left", "runs_out"])
        table["runs_out"] = pd.to_datetime(table["runs_out"], utc=True)
        table["balance"] = table["balance"].astype("float64")
        table["days_left"] = table["days_left"].astype("float64")
        return table

    def _make_summary(self, total: float, failed: Any, credits: Any, undated: int) -> dict[str, Any]:
        t = self._tables
        n = len(self.df)
        failed_credits = float(credits[failed].sum()) if n else 0.0
        created = self.df["created_at"]
        first, last = (created.min(), created.max()) if n else (None, None)
        rate_row = None
        burn = t["burn_down"]
        for _, row in burn.iterrows():  # the most recent window that saw any spend
            if row["credits"] > 0:
                rate_row = row
                break
        days_left = None if self.balance is None else (float(rate_row["days_left"]) if rate_row is not None else math.inf)
        top_model = t["by_model"].iloc[0] if len(t["by_model"]) and total > 0 else None
        s: dict[str, Any] = {
            "generations": n,
            "credits": total,
            "failed_jobs": int(failed.sum()) if n else 0,
            "failed_credits": failed_credits,
            "failed_share_pct": 100.0 * failed_credits / total if total else 0.0,
            "first": first,
            "last": last,
            "undated": undated,
            "dropped_rows": int(self.df.attrs.get("dropped_rows", 0) or 0),
            "top_model": None if top_model is None else str(top_model["model"]),
            "top_model_credits": None if top_model is None else float(top_model["credits"]),
            "balance": self.balance,
            "rate_window": None if rate_row is None else str(rate_row["window"]),
            "credits_per_day": None if rate_row is None else float(rate_row["credits_per_day"]),
            "days_left": days_left,
        }
        s["burn_sentence"] = _burn_sentence(s, burn, self.balance_note)
        s["headline"] = _headline(s)
        return s

    # ---- charts ------------------------------------------------------------------------------------
    def figure(self, name: str) -> Figure:
        """A fresh matplotlib Figure of chart ``name`` (see :attr:`charts`), to restyle or save."""
        if name not in CHARTS:
            raise ValueError(f"unknown chart {name!r}; charts: {', '.join(CHARTS)}")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 3.6), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        _DRAW[name](self, ax)
        ax.set_title(_TITLES.get(name, name.replace("_", " ").capitalize()), loc="left", fontsize=11)
        if name not in ("spend_by_model", "failed_spend", "credits_per_output", "estimate_vs_actual"):
            _thousands(ax.yaxis)
        else:
            _thousands(ax.xaxis)
        ax.spines[["top", "right"]].set_visible(False)
        return fig

    def png(self, name: str) -> bytes:
        """Chart ``name`` as PNG bytes (drawn once, then kept)."""
        if name not in self._png:
            buf = io.BytesIO()
            with warnings.catch_warnings():  # odd date spans make the tick locator chatty
                warnings.simplefilter("ignore")
                self.figure(name).savefig(buf, format="png")
            self._png[name] = base64.b64encode(buf.getvalue()).decode("ascii")
        return base64.b64decode(self._png[name])

    def _img(self, name: str) -> str:
        self.png(name)
        title = html.escape(_TITLES.get(name, name))
        return f'<figure class="kz-chart"><img alt="{title}" src="data:image/png;base64,{self._png[name]}"/></figure>'

    # ---- output ------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        s = self._summary
        span = f", {_day(s['first'])} to {_day(s['last'])}" if s.get("first") is not None and s["first"] == s["first"] else ""
        return f"CostReport({s['generations']:,} generations, {_fmt(s['credits'])} credits{span})"

    def _repr_html_(self) -> str:
        try:
            return self._html_body()
        except Exception as exc:  # a display hook must never raise: show the text and the error
            return f"<pre>{html.escape(repr(self))}\n\ncould not render the report: {html.escape(repr(exc))}</pre>"

    def _html_body(self) -> str:
        s = self._summary
        parts = [f'<div class="kz-report"><h2>Kubeez cost report</h2><p class="kz-headline">{html.escape(s["headline"])}</p>']
        if not s["generations"]:
            parts.append("<p><b>No generations yet.</b> Make one, then run the report again.</p></div>")
            return _STYLE + "".join(parts)
        parts.append(self._summary_html())
        charts = set(self.charts)
        layout: list[tuple[str, str | None]] = [
            ("burn_down", "burn_down"), ("by_model", "spend_by_model"), ("by_model_type", "spend_by_model_type"),
            ("by_day", "spend_by_day"), ("by_week", "spend_by_week"), ("failed_spend", "failed_spend"),
            ("credits_per_output", "credits_per_output"), ("estimate_vs_actual", "estimate_vs_actual"),
            ("costliest_prompts", None),
        ]
        for table, chart in layout:
            parts.append(f'<section><h3>{html.escape(_TITLES[table])}</h3>')
            limit, what = (_SHOWN_DAYS, "days") if table == "by_day" else (_SHOWN_ROWS, "rows")
            if len(self._tables[table]) > limit and table not in ("by_week", "costliest_prompts", "burn_down"):
                first = "last" if table == "by_day" else "first"
                parts.append(f'<p class="kz-note">The {first} {limit} of {len(self._tables[table])} {what}; '
                             "the CSV / Excel exports have them all.</p>")
            if chart in charts:
                parts.append(self._img(chart))
            parts.append(_table_html(self._display(table)))
            parts.append("</section>")
        parts.append("</div>")
        return _STYLE + "".join(parts)

    def _summary_html(self) -> str:
        s = self._summary
        rows = [
            ("Generations", f"{s['generations']:,}"),
            ("Credits spent", _fmt(s["credits"])),
            ("From / to", f"{_day(s['first'])} → {_day(s['last'])}" if s["first"] is not None and s["first"] == s["first"] else "–"),
            ("Failed jobs", f"{s['failed_jobs']:,} ({_fmt(s['failed_credits'])} credits, {s['failed_share_pct']:.1f}% of spend)"),
            ("Balance", "unknown" if s["balance"] is None else f"{_fmt(s['balance'])} credits"),
            ("Burn-down", s["burn_sentence"]),
        ]
        if s["undated"]:
            rows.append(("Undated", f"{s['undated']:,} generations have no created_at (left out of the day/week tables)"))
        if s["dropped_rows"]:
            rows.append(("Dropped", f"{s['dropped_rows']:,} history rows were not generations"))
        body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f'<table class="kz-summary">{body}</table>'

    def _display(self, name: str) -> pd.DataFrame:
        """A table ready to show: rounded, dates as dates, prompts cut to a readable length."""
        table = self._tables[name].copy()
        if name in ("by_day", "by_week"):
            table = table.iloc[::-1]  # newest first on screen
            table.index = table.index.strftime("%Y-%m-%d")
            if name == "by_day" and len(table) > _SHOWN_DAYS:
                table = table.iloc[:_SHOWN_DAYS]
        elif name not in ("costliest_prompts", "burn_down") and len(table) > _SHOWN_ROWS:
            table = table.iloc[:_SHOWN_ROWS]
        if name == "costliest_prompts" and len(table):
            table["prompt"] = [p if len(p) <= _PROMPT_CHARS else p[: _PROMPT_CHARS - 1] + "…" for p in table["prompt"].astype(str)]
        for col in table.columns:
            if str(table[col].dtype).startswith("datetime64"):
                table[col] = table[col].dt.strftime("%Y-%m-%d").fillna("–")
        return table

    def to_html(self, path: str | Path) -> Path:
        """Write a standalone HTML report (every chart embedded as a PNG data URI); returns the path."""
        path = Path(path)
        if path.suffix.lower() not in (".html", ".htm"):
            path = path.with_suffix(".html") if not path.is_dir() else path / "kubeez-cost-report.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = html.escape(self.as_of.strftime("%Y-%m-%d %H:%M UTC")) if self.as_of is not None else ""
        doc = (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Kubeez cost report {stamp}</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
            f'<body>{self._html_body()}<p class="kz-foot">Made by kubeez-nb on {stamp}; days in {html.escape(self.tz)}.</p></body></html>\n'
        )
        path.write_text(doc, encoding="utf-8")
        return path

    def to_csv(self, folder: str | Path, table: str | None = None) -> list[Path]:
        """Write every table (and ``generations.csv``, the rows) into ``folder``; returns the paths.

        ``table="by_day"`` writes just that table, to ``folder`` if it ends in ``.csv``.
        """
        target = Path(folder)
        if table is not None:
            frame = self._export_frame(table)
            out = target if target.suffix.lower() == ".csv" else target / f"{table}.csv"
            out.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(out, index=False)
            return [out]
        if target.suffix.lower() == ".csv":
            raise ValueError(
                f"to_csv writes one CSV per table, so it needs a folder, not {str(target)!r}; "
                "or name one table: report.to_csv('by_day.csv', table='by_day')"
            )
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for name in ("summary", *TABLES, "generations"):
            out = target / f"{name}.csv"
            self._export_frame(name).to_csv(out, index=False)
            written.append(out)
        return written

    def to_excel(self, path: str | Path, include_rows: bool = True) -> Path:
        """Write an .xlsx workbook, one sheet per table (+ ``generations`` unless ``include_rows=False``)."""
        try:
            import openpyxl  # noqa: F401  (pandas needs it; say so plainly when it is missing)
        except ImportError:
            raise ImportError("to_excel needs openpyxl: pip install 'kubeez-nb[excel]' (or pip install openpyxl)") from None
        import pandas as pd

        path = Path(path)
        if path.suffix.lower() != ".xlsx":
            path = path.with_suffix(".xlsx")
        path.parent.mkdir(parents=True, exist_ok=True)
        names = ["summary", *TABLES] + (["generations"] if include_rows else [])
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name in names:
                self._export_frame(name, excel=True).to_excel(writer, sheet_name=name[:31], index=False)
        return path

    def _export_frame(self, name: str, excel: bool = False) -> pd.DataFrame:
        import pandas as pd

        if name == "summary":
            s = {k: v for k, v in self._summary.items() if k != "headline"}
            frame = pd.DataFrame({"figure": list(s), "value": [_plain(v) for v in s.values()]})
        elif name == "generations":
            frame = self.df.copy()
            for col in ("output_urls", "local_paths", "params"):
                if col in frame.columns:
                    frame[col] = [json.dumps(v, default=str) if isinstance(v, (list, dict, tuple)) else v for v in frame[col]]
        elif name in self._tables:
            frame = self._tables[name]
            frame = frame.reset_index() if name in ("by_day", "by_week") else frame.copy()
        else:
            raise ValueError(f"unknown table {name!r}; tables: {', '.join(('summary', *TABLES, 'generations'))}")
        if excel:  # Excel has no time zones: write UTC wall time
            for col in frame.columns:
                if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
                    frame[col] = frame[col].dt.tz_convert("UTC").dt.tz_localize(None)
        return frame


# ---------------------------------------------------------------------------------------------
# table helpers


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


def _spend_table(per: pd.DataFrame, key: str, total: float, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    cols = [key, *extra, "generations", "completed", "failed", "credits", "share_pct", "avg_credits", "failed_credits"]
    if per.empty:
        return pd.DataFrame({c: pd.Series([], dtype="float64" if c not in (key, *extra) else object) for c in cols})
    table = per[[key, *extra, "generations", "completed", "failed", "credits", "failed_credits"]].copy()
    table["share_pct"] = 100.0 * table["credits"] / total if total else 0.0
    table["avg_credits"] = table["credits"] / np.maximum(table["generations"], 1)
    return table[cols].reset_index(drop=True)


def _failed_table(per: pd.DataFrame, models: Any, messages: pd.Series) -> pd.DataFrame:
    import pandas as pd

    cols = ["model", "model_type", "failed", "failed_credits", "share_of_model_pct", "top_error"]
    rows = per[per["failed"] > 0]
    if rows.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    errors = pd.DataFrame({"model": models, "error": messages.astype(object).fillna("(no message)").to_numpy()})
    common = errors.value_counts(["model", "error"], sort=True).reset_index().drop_duplicates("model").set_index("model")["error"]
    table = rows[["model", "model_type", "failed", "failed_credits"]].copy()
    table["share_of_model_pct"] = 100.0 * rows["failed_credits"] / rows["credits"].where(rows["credits"] > 0)
    table["top_error"] = [common.get(m, "") for m in table["model"]]
    return table.sort_values(["failed_credits", "failed"], ascending=False, ignore_index=True)[cols]


def _per_output_table(per: pd.DataFrame) -> pd.DataFrame:
    import numpy as np

    rows = per[per["outputs"] > 0]
    table = rows[["model", "model_type", "completed", "outputs", "output_credits"]].rename(columns={"output_credits": "credits"}).copy()
    table["outputs"] = table["outputs"].astype("int64")
    table["credits_per_output"] = table["credits"] / table["outputs"]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_s = rows["timed_credits"] / rows["output_s"].where(rows["output_s"] > 0)
    table["credits_per_second"] = per_s.to_numpy()
    return table.sort_values("credits_per_output", ascending=False, ignore_index=True)


def _estimate_table(per: pd.DataFrame) -> pd.DataFrame:
    rows = per[per["estimated_jobs"] > 0]
    table = rows[["model", "model_type", "estimated_jobs", "estimated", "estimated_actual"]].rename(
        columns={"estimated_jobs": "jobs", "estimated_actual": "actual"}).copy()
    table["difference"] = table["actual"] - table["estimated"]
    table["difference_pct"] = 100.0 * table["difference"] / table["estimated"].where(table["estimated"] > 0)
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
        for _, row in burn.iterrows() if row["window"] != s["rate_window"] and row["credits"] > 0
    ]
    if others:
        parts.append(f"; {'; '.join(others)}")
    return "".join(parts) + "."


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
        text += f" The top model, {s['top_model']}, took {_fmt(s['top_model_credits'])} ({share:.0f}%)."
    if s["failed_jobs"]:
        text += f" {s['failed_jobs']:,} failed jobs cost {_fmt(s['failed_credits'])} credits ({s['failed_share_pct']:.1f}%)."
    if s["balance"] is not None:
        text += " " + s["burn_sentence"]
    return text


def _plain(v: Any) -> Any:
    if hasattr(v, "isoformat") and v == v:
        return v.isoformat()
    return v


def _table_html(table: pd.DataFrame) -> str:
    if table.empty:
        return '<p class="kz-empty">Nothing to show.</p>'
    index = table.index.name is not None
    return table.to_html(
        classes="kz-table", border=0, escape=True, index=index, na_rep="–",
        float_format=lambda x: _fmt(x) if not math.isinf(x) else "∞",
    )


_STYLE = """<style>
.kz-report{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:960px;color:#222}
.kz-report h2{margin:.2em 0}.kz-report h3{margin:1.2em 0 .3em;font-size:1.05em}
.kz-headline{font-size:1.02em;line-height:1.4}
.kz-report table{border-collapse:collapse;font-size:.85em;margin:.3em 0}
.kz-report th,.kz-report td{padding:3px 8px;border-bottom:1px solid #e5e5e5;text-align:right}
.kz-report .kz-summary th,.kz-report .kz-summary td{text-align:left}
.kz-report .kz-table td:first-child,.kz-report .kz-table th:first-child{text-align:left;white-space:nowrap}
.kz-report section{overflow-x:auto}.kz-report figure{margin:.3em 0}.kz-report img{max-width:100%}
.kz-empty,.kz-note{color:#777}.kz-note{font-size:.85em;margin:.2em 0}.kz-foot{color:#777;font-size:.8em;font-family:system-ui,sans-serif}
</style>"""


# ---------------------------------------------------------------------------------------------
# charts (matplotlib Figure API: no pyplot, no global backend switch)


def _barh(ax: Any, table: pd.DataFrame, label: str, value: str, color: str, xlabel: str = "credits") -> None:
    """Horizontal bars of the top rows; the rest are named in the axis label, not drawn as a
    giant "other" bar that would flatten the ones that matter."""
    table = table.sort_values(value, ascending=False)
    shown = table.head(_TOP_BARS)
    ax.barh(range(len(shown)), shown[value].astype(float), color=color)
    ax.set_yticks(range(len(shown)), [_label(x) for x in shown[label]], fontsize=8)
    ax.invert_yaxis()
    rest = table.iloc[_TOP_BARS:]
    if len(rest):
        xlabel += f"  (top {len(shown)} of {len(table)}; the other {len(rest)}: {_fmt(float(rest[value].sum()))} in all)"
    ax.set_xlabel(xlabel, fontsize=9)
    _thousands(ax.xaxis)


def _label(value: Any) -> str:
    """A tick label drawn as written: ``$`` would otherwise switch matplotlib to math mode."""
    return str(value).replace("$", r"\$")


def _thousands(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}" if abs(x) >= 10 or x == int(x) else f"{x:,.1f}"))


def _draw_by_model(r: CostReport, ax: Any) -> None:
    _barh(ax, r.by_model, "model", "credits", _COLORS["ok"])


def _draw_by_model_type(r: CostReport, ax: Any) -> None:
    t = r.by_model_type
    ax.bar([_label(x) for x in t["model_type"]], t["credits"], color=_COLORS["ok"])
    ax.set_ylabel("credits")


def _draw_by_day(r: CostReport, ax: Any) -> None:
    t = r.by_day
    ok = t["credits"] - t["failed_credits"]
    ax.bar(t.index, ok, width=0.9, color=_COLORS["ok"], label="completed / other")
    ax.bar(t.index, t["failed_credits"], bottom=ok, width=0.9, color=_COLORS["failed"], label="failed")
    if len(t) >= 7:
        ax.plot(t.index, t["credits"].rolling(7, min_periods=1).mean(), color=_COLORS["line"], label="7-day average")
    ax.set_ylabel("credits")
    ax.legend(fontsize=8, frameon=False)
    _date_axis(ax)


def _draw_by_week(r: CostReport, ax: Any) -> None:
    t = r.by_week
    ok = t["credits"] - t["failed_credits"]
    ax.bar(t.index, ok, width=5, color=_COLORS["ok"], label="completed / other")
    ax.bar(t.index, t["failed_credits"], bottom=ok, width=5, color=_COLORS["failed"], label="failed")
    ax.set_ylabel("credits (week from Monday)")
    ax.legend(fontsize=8, frameon=False)
    _date_axis(ax)


def _draw_failed(r: CostReport, ax: Any) -> None:
    _barh(ax, r.failed_spend, "model", "failed_credits", _COLORS["failed"], "credits spent on failed jobs")


def _draw_per_output(r: CostReport, ax: Any) -> None:
    _barh(ax, r.credits_per_output, "model", "credits_per_output", _COLORS["ok"], "credits per output")


def _draw_estimate(r: CostReport, ax: Any) -> None:
    import numpy as np

    t = r.estimate_vs_actual.head(_TOP_BARS)
    y = np.arange(len(t))
    ax.barh(y - 0.2, t["estimated"], height=0.4, color=_COLORS["estimate"], label="estimated")
    ax.barh(y + 0.2, t["actual"], height=0.4, color=_COLORS["ok"], label="charged")
    ax.set_yticks(y, [_label(m) for m in t["model"]], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("credits")
    ax.legend(fontsize=8, frameon=False)


def _draw_burn(r: CostReport, ax: Any) -> None:
    import pandas as pd

    t = r.by_day
    s = r.summary
    if r.balance is None:  # no balance: how the spend accumulated
        ax.plot(t.index, t["cumulative_credits"], color=_COLORS["ok"])
        ax.set_ylabel("credits spent (cumulative)")
    else:  # the balance as it was (no top-ups assumed), then the projection at the recent rate
        spent_after = t["credits"][::-1].cumsum()[::-1].shift(-1, fill_value=0.0)
        day_ends = (t.index + pd.Timedelta(days=1)).tz_convert("UTC")
        ends = day_ends.where(day_ends < r.as_of, r.as_of)  # today's bucket ends now, not at midnight
        ax.plot(ends, r.balance + spent_after.to_numpy(), color=_COLORS["ok"], label="balance (no top-ups assumed)")
        rate = s.get("credits_per_day") or 0.0
        days = s.get("days_left")
        if rate > 0 and days is not None and math.isfinite(days):
            start = r.as_of
            horizon = min(days, 3650.0)
            end = start + pd.Timedelta(days=horizon)
            ax.plot([start, end], [r.balance, r.balance - rate * horizon], linestyle="--", color=_COLORS["line"],
                    label=f"at {_fmt(rate)} credits/day")
        ax.axhline(0, color="#999", linewidth=0.8)
        ax.set_ylabel("credits")
        ax.legend(fontsize=8, frameon=False)
    _date_axis(ax)


def _date_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


_DRAW: dict[str, Callable[[CostReport, Any], None]] = {
    "spend_by_model": _draw_by_model,
    "spend_by_model_type": _draw_by_model_type,
    "spend_by_day": _draw_by_day,
    "spend_by_week": _draw_by_week,
    "failed_spend": _draw_failed,
    "credits_per_output": _draw_per_output,
    "estimate_vs_actual": _draw_estimate,
    "burn_down": _draw_burn,
}
