"""Cost reports: where the credits went, as tables, charts, a standalone HTML file, CSV and Excel.

>>> report = kz.cost_report(client.history(), client=client)   # the balance comes from the client
>>> report                         # inline: headline, tables and charts
>>> report.to_html("costs.html")   # one file, every chart embedded: the report people forward
>>> report.to_csv("costs/"); report.to_excel("costs.xlsx")

Building a report computes its tables only (a few group-bys, cheap even for 50 000 rows); the
charts are drawn with matplotlib's Agg renderer when the report is shown or written, once each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from kubeez_nb.report.charts import ChartsMixin
from kubeez_nb.report.export import ExportMixin
from kubeez_nb.report.tables import (
    _DAY_NS,
    _NAT,
    _NO_MODEL,
    _WINDOWS,
    CHARTS,
    MIN_PROJECTION_DAYS,
    TABLES,
    _burn_sentence,
    _codes,
    _days_left,
    _estimate_table,
    _failed_table,
    _headline,
    _per_output_table,
    _some,
    _spend_table,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


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
            df = df.assign(
                **{
                    name: pd.Series([None] * len(df), index=df.index, dtype=object).astype(
                        cast(Any, dtype if dtype != "int64" else "float64")
                    )
                }
            )
    note = None
    if balance is None and client is not None:
        try:
            found: Any = client.balance()
            credits: Any = (
                getattr(found, "credits", None)
                if not isinstance(found, dict)
                else found.get("credits")
            )
            balance = float(credits)
        except Exception as exc:  # the report still stands without a balance; say why
            note = f"balance unavailable: {type(exc).__name__}: {exc}"
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now(tz="UTC")
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    return CostReport(
        df, None if balance is None else float(balance), tz, now, top, balance_note=note
    )


@dataclass
class CostReport(ChartsMixin, ExportMixin):
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
    def projectable(self) -> bool:
        """True when the history spans enough days (``MIN_PROJECTION_DAYS``) for a burn-down."""
        span = self._summary.get("span_days")
        return span is not None and span >= MIN_PROJECTION_DAYS

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
            # one bar is not a chart: a time chart needs at least two days / weeks
            "spend_by_day": len(t["by_day"]) > 1,
            "spend_by_week": len(t["by_week"]) > 1,
            "failed_spend": len(t["failed_spend"]) > 0
            and t["failed_spend"]["failed_credits"].sum() > 0,
            "credits_per_output": len(t["credits_per_output"]) > 0,
            "estimate_vs_actual": len(t["estimate_vs_actual"]) > 0,
            "burn_down": len(t["by_day"]) > 0 and self.projectable,
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
        per_model = pd.DataFrame(
            {
                "model": self._model_names,
                "model_type": np.asarray(type_names, dtype=object)[type_of],
                **sums,
            }
        )
        for name in ("generations", "completed", "failed", "estimated_jobs"):
            per_model[name] = per_model[name].astype(np.int64)
        per_model = per_model[per_model["generations"] > 0]
        per_model = per_model.sort_values(
            ["credits", "generations"], ascending=False, ignore_index=True
        )
        total = float(credits.sum())
        t: dict[str, pd.DataFrame] = {}
        t["by_model"] = _spend_table(per_model, "model", total, extra=("model_type",))
        by_type = per_model.groupby("model_type", observed=True, sort=False)[
            ["generations", "completed", "failed", "credits", "failed_credits"]
        ].sum()
        t["by_model_type"] = _spend_table(
            by_type.reset_index().sort_values("credits", ascending=False, ignore_index=True),
            "model_type",
            total,
        )
        t["by_day"], t["by_week"], undated = self._time_tables(credits, failed)
        t["failed_spend"] = _failed_table(
            per_model, self._model_names[codes[failed]], df["error_message"][failed]
        )
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
        return (
            created.dt.tz_convert("UTC")
            .dt.tz_localize(None)
            .to_numpy(dtype="datetime64[ns]")
            .view("int64")
        )

    def _time_tables(self, credits: Any, failed: Any) -> tuple[pd.DataFrame, pd.DataFrame, int]:
        import numpy as np
        import pandas as pd

        wall = self._wall_ns()
        dated = wall != _NAT
        cols = ["generations", "credits", "failed_credits"]
        if not dated.any():
            daily = pd.DataFrame(
                {
                    c: pd.Series([], dtype="int64" if c == "generations" else "float64")
                    for c in [*cols, "cumulative_credits"]
                }
            )
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
                "failed_credits": np.bincount(
                    day, weights=np.where(failed[dated], amounts, 0.0), minlength=size
                ),
            },
            index=pd.DatetimeIndex(
                ((np.arange(size, dtype=np.int64) + first) * _DAY_NS).view("datetime64[ns]"),
                name="day",
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
        codes, uniques = pd.factorize(
            self.df["prompt"].astype(object).to_numpy(), use_na_sentinel=True
        )
        valid = codes >= 0
        if not valid.any():
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        spend = np.bincount(codes[valid], weights=credits[valid], minlength=len(uniques))
        count = np.bincount(codes[valid], minlength=len(uniques))
        best = np.argsort(-spend, kind="stable")[: self.top]
        chosen = np.isin(codes, best)
        sub = pd.DataFrame(
            {
                "code": codes[chosen],
                "model": self._model_names[self._model_codes[chosen]],
                "credits": credits[chosen],
                "at": self._utc_ns()[chosen],
            }
        )
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
                "last_used": pd.to_datetime(
                    [last.get(i, _NAT) for i in best], unit="ns", utc=True
                ).where([last.get(i, _NAT) != _NAT for i in best]),
            }
        )

    def _burn_table(self, credits: Any) -> pd.DataFrame:
        import pandas as pd

        times = self._utc_ns()
        dated = times != _NAT
        as_of: Any = self.as_of  # set by __post_init__
        end = as_of.value
        # a window never counts days before the first generation: 5 days of history spread over
        # "the last 30 days" would understate the burn six-fold
        span = max((end - int(times[dated].min())) / _DAY_NS, 1.0) if dated.any() else math.inf
        windows: list[tuple[str, float, int]] = [
            (f"last {n} days", min(float(n), span), end - n * _DAY_NS) for n in _WINDOWS
        ]
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
                    "window": label,
                    "days": round(days, 2),
                    "credits": spent,
                    "credits_per_day": per_day,
                    "balance": self.balance,
                    "days_left": left,
                    "runs_out": (as_of + pd.Timedelta(days=left))
                    if finite and left is not None
                    else pd.NaT,
                }
            )
        table = pd.DataFrame(
            rows,
            columns=[
                "window",
                "days",
                "credits",
                "credits_per_day",
                "balance",
                "days_left",
                "runs_out",
            ],
        )
        # to the minute: a projection has no use for nanoseconds
        table["runs_out"] = pd.to_datetime(table["runs_out"], utc=True).dt.floor("min")
        table["balance"] = table["balance"].astype("float64")
        table["days_left"] = table["days_left"].astype("float64")
        return table

    def _make_summary(
        self, total: float, failed: Any, credits: Any, undated: int
    ) -> dict[str, Any]:
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
        days_left = (
            None
            if self.balance is None
            else (float(rate_row["days_left"]) if rate_row is not None else math.inf)
        )
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
        dated = created.dropna() if n else created
        s["span_days"] = (
            (dated.max() - dated.min()).total_seconds() / 86_400 if len(dated) else None
        )
        s["burn_sentence"] = _burn_sentence(s, burn, self.balance_note)
        s["headline"] = _headline(s)
        return s
