"""What ``%kubeez history`` / ``jobs`` / ``models`` show: a handful of chosen columns, short ids,
prompts cut with the full text on hover, thumbnails where there is media, a "N more" footer, and
words when there is nothing. The full DataFrame stays one attribute away (``_.frame``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kubeez_nb.contract.htmltable import amount, esc, short_url, table

__all__ = [
    "Column",
    "Table",
    "amount",
    "credits",
    "esc",
    "plain",
    "prompt",
    "short_id",
    "thumbnail",
    "when",
]

Cell = Callable[[Any], str]  # a row (pandas Series) -> ready HTML


@dataclass(frozen=True)
class Column:
    header: str
    cell: Cell
    text: Callable[[Any], str] | None = None  # plain text (default: the HTML without markup)


def _value(row: Any, name: str) -> Any:
    try:
        value = row[name]
    except (KeyError, IndexError):
        return None
    try:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        import pandas as pd

        if not isinstance(value, (list, tuple, dict)) and pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def short_id(name: str) -> Column:
    def cell(row: Any) -> str:
        full = str(_value(row, name) or "")
        return f"<code title='{esc(full)}'>{esc(full[:8])}</code>"

    return Column("id", cell, lambda row: str(_value(row, name) or "")[:8])


def prompt(name: str = "prompt", width: int = 48) -> Column:
    def cut(row: Any) -> str:
        text = " ".join(str(_value(row, name) or "").split())
        return text if len(text) <= width else text[: width - 1] + "…"

    def cell(row: Any) -> str:
        full = str(_value(row, name) or "")
        return f"<span title='{esc(full)}'>{esc(cut(row))}</span>"

    return Column(name, cell, cut)


def plain(name: str, header: str | None = None) -> Column:
    return Column(header or name, lambda row: esc(_value(row, name) or ""))


def credits(name: str, header: str = "credits") -> Column:
    def text(row: Any) -> str:
        value = _value(row, name)
        return "" if value is None else amount(value)

    return Column(header, lambda row: esc(text(row)), text)


def when(name: str, header: str | None = None) -> Column:
    """A timestamp to the minute, in the notebook's local time."""

    def text(row: Any) -> str:
        value = _value(row, name)
        if value is None:
            return ""
        try:
            import pandas as pd

            stamp = pd.Timestamp(value)
            if stamp.tzinfo is not None:
                stamp = stamp.tz_convert(None)
            return str(stamp.strftime("%Y-%m-%d %H:%M"))
        except (TypeError, ValueError):
            return str(value)[:16]

    return Column(header or name, lambda row: esc(text(row)), text)


def thumbnail(
    url: str = "first_url", paths: str = "local_paths", kind: str = "media_type"
) -> Column:
    """A small image (the cached copy first), or a link to a video / audio output."""

    def cell(row: Any) -> str:
        from kubeez_nb import render

        local = _value(row, paths)
        first_local = local[0] if isinstance(local, (list, tuple)) and local else None
        media = str(_value(row, kind) or "")
        src = render.safe_url(
            render.media_src(
                {"local_path": first_local, "url": _value(row, url), "media_type": media}
            )
        )
        if not src:
            return ""
        if media == "image" or (
            not media and short_url(src).lower().endswith((".png", ".jpg", ".webp"))
        ):
            return f"<img src='{esc(src)}' alt='' style='height:40px;max-width:64px'>"
        return f"<a href='{esc(src)}' target='_blank'>{esc(media or 'file')} ↗</a>"

    return Column("", cell, lambda row: "")


class Table:
    """A DataFrame shown as a compact table; indexing, ``len`` and attributes reach the frame."""

    def __init__(
        self,
        frame: Any,
        columns: Sequence[Column],
        *,
        empty: str,
        limit: int = 20,
        more: str = "",
        search: bool = False,
        caption: str = "",
    ) -> None:
        self.frame = frame
        self._columns = tuple(columns)
        self._empty = empty
        self._limit = limit
        self._more = more
        self._search = search
        self._caption = caption

    # the frame's own behaviour (so existing code using the DataFrame keeps working)
    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, key: Any) -> Any:
        return self.frame[key]

    def __iter__(self) -> Any:
        return iter(self.frame)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "frame":
            raise AttributeError(name)
        return getattr(self.frame, name)

    def _rows(self) -> list[Any]:
        return [row for _, row in self.frame.head(self._limit).iterrows()]

    def _footer(self) -> str:
        left = len(self.frame) - min(len(self.frame), self._limit)
        if left <= 0:
            return ""
        return f"{left:,} more{' · ' + self._more if self._more else ''} (all of it: <code>_.frame</code>)"

    def __repr__(self) -> str:
        if not len(self.frame):
            return self._empty
        lines = []
        for row in self._rows():
            texts = [(c.text or c.cell)(row) for c in self._columns if c.header]
            lines.append("  ".join(t for t in texts if t))
        left = len(self.frame) - len(lines)
        if left > 0:
            lines.append(f"… {left:,} more (_.frame has them all)")
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        try:
            body = table(
                [c.header for c in self._columns],
                [[c.cell(row) for c in self._columns] for row in self._rows()],
                caption=self._caption,
                footer=self._footer(),
                search=self._search,
                empty=self._empty,
            )
        except Exception as exc:  # a display never breaks the cell
            body = f"<pre>{esc(repr(self.frame))}</pre><small>{esc(exc)}</small>"
        return {"text/plain": repr(self), "text/html": body}
