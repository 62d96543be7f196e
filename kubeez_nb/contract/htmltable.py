"""Neutral display helpers for the records' and the contract's ``_repr_*`` methods: numbers for
people, URLs without their signed query, compact HTML tables. Imports nothing of kubeez_nb, so
the contract (which must not import ``render``) and ``records`` can both use it."""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["amount", "bundle", "esc", "fix_numbers", "short_url", "size", "table"]

_SCI = re.compile(r"\d+(?:\.\d+)?[eE][+-]?\d+")
_ids = itertools.count(1)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def amount(value: Any) -> str:
    """``99951900`` → ``99,951,900``; ``12.5`` → ``12.5``; never ``e+07``; ``?`` when unknown."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "?"
    if not math.isfinite(x):
        return str(x)
    if abs(x - round(x)) < 1e-9:
        return f"{round(x):,}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def fix_numbers(text: str) -> str:
    """``You have 9.99519e+07 credits.`` → ``You have 99,951,900 credits.``"""
    return _SCI.sub(lambda m: amount(m.group(0)), text)


def size(n: Any) -> str:
    """Bytes for people: ``1.2 MB``."""
    try:
        x = float(n)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if x < 1000 or unit == "GB":
            return f"{x:.0f} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1000
    return ""


def short_url(url: Any) -> str:
    """The URL without its query and fragment (signatures never reach a text repr)."""
    if not url:
        return ""
    return re.split(r"[?#]", str(url), maxsplit=1)[0]


def bundle(text: str, body: str) -> dict[str, str]:
    """A display bundle: one-line ``text/plain`` and the HTML."""
    return {"text/plain": text.splitlines()[0] if text else "", "text/html": body}


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    caption: str = "",
    footer: str = "",
    search: bool = False,
    empty: str = "Nothing to show.",
    max_height: str = "28em",
) -> str:
    """A compact HTML table; ``rows`` hold ready HTML cells (escape first).

    Long tables scroll inside ``max_height``. ``search`` adds a filter box (an inline handler: it works in a live, trusted output and is
    stripped harmlessly from an untrusted one, where the table still reads fine).
    """
    rows = list(rows)
    head = f"<div style='margin:2px 0'>{caption}</div>" if caption else ""
    if not rows:
        return f"{head}<div style='color:#666'><i>{esc(empty)}</i></div>"
    tid = f"kz-table-{next(_ids)}"
    box = ""
    if search:
        box = (
            f"<input type='search' placeholder='filter…' aria-label='filter rows' "
            f"style='margin:2px 0;width:14em' oninput=\"var q=this.value.toLowerCase();"
            f"document.querySelectorAll('#{tid} tbody tr').forEach(function(r){{"
            f"r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':''}})\">"
        )
    th = "".join(f"<th style='text-align:left'>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    foot = f"<div style='color:#666;font-size:90%'>{footer}</div>" if footer else ""
    return (
        f"<div style='max-width:100%'>{head}{box}"
        f"<div style='max-width:100%;max-height:{max_height};overflow:auto'>"
        f"<table id='{tid}' cellpadding='3' style='border-collapse:collapse;font-size:90%'>"
        f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>{foot}</div>"
    )
