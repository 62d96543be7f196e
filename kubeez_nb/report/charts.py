"""Charts of a cost report (matplotlib Figure API: no pyplot, no global backend switch)."""

from __future__ import annotations

import base64
import html
import io
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from kubeez_nb.report.tables import _COLORS, _TITLES, _TOP_BARS, CHARTS, _fmt

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from kubeez_nb.report.core import CostReport


class ChartsMixin:
    """``figure`` / ``png`` of ``CostReport`` (drawn once each, then kept)."""

    _png: dict[str, str]

    def figure(self, name: str) -> Figure:
        """A fresh matplotlib Figure of chart ``name`` (see :attr:`charts`), to restyle or save."""
        if name not in CHARTS:
            raise ValueError(f"unknown chart {name!r}; charts: {', '.join(CHARTS)}")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 3.6), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        _DRAW[name](cast("CostReport", self), ax)
        ax.set_title(
            _TITLES.get(name, name.replace("_", " ").capitalize()), loc="left", fontsize=11
        )
        if name not in (
            "spend_by_model",
            "failed_spend",
            "credits_per_output",
            "estimate_vs_actual",
        ):
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


def _barh(
    ax: Any, table: pd.DataFrame, label: str, value: str, color: str, xlabel: str = "credits"
) -> None:
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

    axis.set_major_formatter(
        FuncFormatter(lambda x, _pos: f"{x:,.0f}" if abs(x) >= 10 or x == int(x) else f"{x:,.1f}")
    )


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
    ax.bar(
        t.index, t["failed_credits"], bottom=ok, width=0.9, color=_COLORS["failed"], label="failed"
    )
    if len(t) >= 7:
        ax.plot(
            t.index,
            t["credits"].rolling(7, min_periods=1).mean(),
            color=_COLORS["line"],
            label="7-day average",
        )
    ax.set_ylabel("credits")
    ax.legend(fontsize=8, frameon=False)
    _date_axis(ax)


def _draw_by_week(r: CostReport, ax: Any) -> None:
    t = r.by_week
    ok = t["credits"] - t["failed_credits"]
    ax.bar(t.index, ok, width=5, color=_COLORS["ok"], label="completed / other")
    ax.bar(
        t.index, t["failed_credits"], bottom=ok, width=5, color=_COLORS["failed"], label="failed"
    )
    ax.set_ylabel("credits (week from Monday)")
    ax.legend(fontsize=8, frameon=False)
    _date_axis(ax)


def _draw_failed(r: CostReport, ax: Any) -> None:
    _barh(
        ax,
        r.failed_spend,
        "model",
        "failed_credits",
        _COLORS["failed"],
        "credits spent on failed jobs",
    )


def _draw_per_output(r: CostReport, ax: Any) -> None:
    _barh(
        ax, r.credits_per_output, "model", "credits_per_output", _COLORS["ok"], "credits per output"
    )


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
        index: Any = t.index  # a DatetimeIndex of day starts
        day_ends = (index + pd.Timedelta(days=1)).tz_convert("UTC")
        ends = day_ends.where(
            day_ends < r.as_of, r.as_of
        )  # today's bucket ends now, not at midnight
        ax.plot(
            ends,
            r.balance + spent_after.to_numpy(),
            color=_COLORS["ok"],
            label="balance (no top-ups assumed)",
        )
        rate = s.get("credits_per_day") or 0.0
        days = s.get("days_left")
        if rate > 0 and days is not None and math.isfinite(days):
            start: Any = r.as_of
            horizon = min(days, 3650.0)
            end = start + pd.Timedelta(days=horizon)
            ax.plot(
                [start, end],
                [r.balance, r.balance - rate * horizon],
                linestyle="--",
                color=_COLORS["line"],
                label=f"at {_fmt(rate)} credits/day",
            )
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
