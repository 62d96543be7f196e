"""A cost report as inline HTML, a standalone HTML file, CSV files and an Excel workbook."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeez_nb.report.tables import (
    _PROMPT_CHARS,
    _SHOWN_DAYS,
    _SHOWN_ROWS,
    _TITLES,
    TABLES,
    _day,
    _fmt,
    _plain,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


class ExportMixin:
    """The output methods of ``CostReport``."""

    df: pd.DataFrame
    tz: str
    as_of: pd.Timestamp | None
    _summary: dict[str, Any]
    _tables: dict[str, pd.DataFrame]

    def _img(self, name: str) -> str:  # pragma: no cover - ChartsMixin's
        raise NotImplementedError

    @property
    def charts(self) -> list[str]:  # pragma: no cover - CostReport's
        raise NotImplementedError

    def __repr__(self) -> str:
        s = self._summary
        span = (
            f", {_day(s['first'])} to {_day(s['last'])}"
            if s.get("first") is not None and s["first"] == s["first"]
            else ""
        )
        return f"CostReport({s['generations']:,} generations, {_fmt(s['credits'])} credits{span})"

    def _repr_html_(self) -> str:
        try:
            return self._html_body()
        except Exception as exc:  # a display hook must never raise: show the text and the error
            return f"<pre>{html.escape(repr(self))}\n\ncould not render the report: {html.escape(repr(exc))}</pre>"

    def _html_body(self) -> str:
        s = self._summary
        parts = [
            f'<div class="kz-report"><h2>Kubeez cost report</h2><p class="kz-headline">{html.escape(s["headline"])}</p>'
        ]
        if not s["generations"]:
            parts.append(
                "<p><b>No generations yet.</b> Make one, then run the report again.</p></div>"
            )
            return _STYLE + "".join(parts)
        parts.append(self._summary_html())
        charts = set(self.charts)
        layout: list[tuple[str, str | None]] = [
            ("by_model", "spend_by_model"),
            ("burn_down", "burn_down"),
            ("by_model_type", "spend_by_model_type"),
            ("by_day", "spend_by_day"),
            ("by_week", "spend_by_week"),
            ("failed_spend", "failed_spend"),
            ("credits_per_output", "credits_per_output"),
            ("estimate_vs_actual", "estimate_vs_actual"),
            ("costliest_prompts", None),
        ]
        first_chart = next((c for _, c in layout if c in charts), None)
        for table, chart in layout:
            shown = self._display(table)
            if (shown.empty and chart not in charts) or (
                table == "burn_down" and not getattr(self, "projectable", True)
            ):
                continue  # nothing to show (or too little history to project): no section
            top = chart is not None and chart == first_chart
            title = html.escape(_TITLES[table])
            # the headline and the top chart stay open; every other section is one click away
            parts.append(
                f"<section><h3>{title}</h3>" if top else f"<details><summary>{title}</summary>"
            )
            limit, what = (_SHOWN_DAYS, "days") if table == "by_day" else (_SHOWN_ROWS, "rows")
            if len(self._tables[table]) > limit and table not in (
                "by_week",
                "costliest_prompts",
                "burn_down",
            ):
                first = "last" if table == "by_day" else "first"
                parts.append(
                    f'<p class="kz-note">The {first} {limit} of {len(self._tables[table])} {what}; '
                    "the CSV / Excel exports have them all.</p>"
                )
            if chart in charts:
                parts.append(self._img(chart))
            if not shown.empty and top:  # the open section keeps its chart, the table folds
                parts.append(
                    f"<details><summary class='kz-sub'>the table ({len(shown)} rows)</summary>"
                    f"{_table_html(shown)}</details>"
                )
            elif not shown.empty:
                parts.append(_table_html(shown))
            parts.append("</section>" if top else "</details>")
        parts.append("</div>")
        return _STYLE + "".join(parts)

    def _summary_html(self) -> str:
        s = self._summary
        rows = [
            ("Generations", f"{s['generations']:,}"),
            ("Credits spent", _fmt(s["credits"])),
            (
                "From / to",
                f"{_day(s['first'])} → {_day(s['last'])}"
                if s["first"] is not None and s["first"] == s["first"]
                else "–",
            ),
            (
                "Failed jobs",
                f"{s['failed_jobs']:,} ({_fmt(s['failed_credits'])} credits, {s['failed_share_pct']:.1f}% of spend)",
            ),
            ("Balance", "unknown" if s["balance"] is None else f"{_fmt(s['balance'])} credits"),
        ]
        if s["balance"] is None:  # else the headline already says it (one "Burn-down" only)
            rows.append(("Projection", s["burn_sentence"]))
        if s["undated"]:
            rows.append(
                (
                    "Undated",
                    f"{s['undated']:,} generations have no created_at (left out of the day/week tables)",
                )
            )
        if s["dropped_rows"]:
            rows.append(("Dropped", f"{s['dropped_rows']:,} history rows were not generations"))
        body = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows
        )
        return f'<table class="kz-summary">{body}</table>'

    def _display(self, name: str) -> pd.DataFrame:
        """A table ready to show: rounded, dates as dates, prompts cut to a readable length."""
        table = self._tables[name].copy()
        if name in ("by_day", "by_week"):
            table = table.iloc[::-1]  # newest first on screen
            days: Any = table.index  # a DatetimeIndex
            table.index = days.strftime("%Y-%m-%d")
            if name == "by_day" and len(table) > _SHOWN_DAYS:
                table = table.iloc[:_SHOWN_DAYS]
        elif name not in ("costliest_prompts", "burn_down") and len(table) > _SHOWN_ROWS:
            table = table.iloc[:_SHOWN_ROWS]
        if name == "costliest_prompts" and len(table):
            table["prompt"] = [
                p if len(p) <= _PROMPT_CHARS else p[: _PROMPT_CHARS - 1] + "…"
                for p in table["prompt"].astype(str)
            ]
        for col in table.columns:
            if str(table[col].dtype).startswith("datetime64"):
                table[col] = table[col].dt.strftime("%Y-%m-%d").fillna("–")
        return table

    def to_html(self, path: str | Path) -> Path:
        """Write a standalone HTML report (every chart embedded as a PNG data URI); returns the path."""
        path = Path(path)
        if path.suffix.lower() not in (".html", ".htm"):
            path = (
                path.with_suffix(".html") if not path.is_dir() else path / "kubeez-cost-report.html"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = (
            html.escape(self.as_of.strftime("%Y-%m-%d %H:%M UTC")) if self.as_of is not None else ""
        )
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
            raise ImportError(
                "to_excel needs openpyxl: pip install 'kubeez-nb[excel]' (or pip install openpyxl)"
            ) from None
        import pandas as pd

        path = Path(path)
        if path.suffix.lower() != ".xlsx":
            path = path.with_suffix(".xlsx")
        path.parent.mkdir(parents=True, exist_ok=True)
        names = ["summary", *TABLES] + (["generations"] if include_rows else [])
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name in names:
                self._export_frame(name, excel=True).to_excel(
                    writer, sheet_name=name[:31], index=False
                )
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
                    frame[col] = [
                        json.dumps(v, default=str) if isinstance(v, (list, dict, tuple)) else v
                        for v in frame[col]
                    ]
        elif name in self._tables:
            frame = self._tables[name]
            frame = frame.reset_index() if name in ("by_day", "by_week") else frame.copy()
        else:
            raise ValueError(
                f"unknown table {name!r}; tables: {', '.join(('summary', *TABLES, 'generations'))}"
            )
        if excel:  # Excel has no time zones: write UTC wall time
            for col in frame.columns:
                if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
                    frame[col] = frame[col].dt.tz_convert("UTC").dt.tz_localize(None)
        return frame


def _table_html(table: pd.DataFrame) -> str:
    if table.empty:
        return '<p class="kz-empty">Nothing to show.</p>'
    index = table.index.name is not None
    table = table.rename(columns=lambda c: str(c).replace("_", " "))  # headers may wrap
    return table.to_html(
        classes="kz-table",
        border=0,
        escape=True,
        index=index,
        na_rep="–",
        float_format=lambda x: _fmt(x) if not math.isinf(x) else "∞",
    )


_STYLE = """<style>
.kz-report{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:960px;color:#222;box-sizing:border-box}
.kz-report details{margin:.4em 0}.kz-report summary{cursor:pointer;font-weight:600;margin:.5em 0 .2em}
.kz-report h2{margin:.2em 0}.kz-report h3{margin:1.2em 0 .3em;font-size:1.05em}
.kz-headline{font-size:1.02em;line-height:1.4}
.kz-report table{border-collapse:collapse;font-size:.85em;margin:.3em 0;max-width:100%}
.kz-report th,.kz-report td{padding:3px 8px;border-bottom:1px solid #e5e5e5;text-align:right}
.kz-report .kz-summary th,.kz-report .kz-summary td{text-align:left}
.kz-report .kz-sub{font-weight:400;font-size:.9em;color:#555}
.kz-report .kz-table td:first-child,.kz-report .kz-table th:first-child{text-align:left;overflow-wrap:anywhere}
.kz-report figure{margin:.3em 0;max-width:100%}.kz-report img{max-width:100%;height:auto}
.kz-empty,.kz-note{color:#777}.kz-note{font-size:.85em;margin:.2em 0}.kz-foot{color:#777;font-size:.8em;font-family:system-ui,sans-serif}
</style>"""
