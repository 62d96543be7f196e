"""Paging through ``GET /v1/generations``: cursor, ``has_more`` / ``offset`` or one page.

The first page asks for the largest size; a server that refuses it (the MCP twin documents
1-25) is asked again with the smaller one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kubeez_nb.errors import BadRequestError, response_format_error

#: page size asked of /v1/generations: the largest first (4x fewer reads of a 120/min budget);
#: the MCP twin documents 1-25, so a 400 on the first page falls back to the smaller size
PAGE_SIZES = (100, 25)
#: pages read at most by generations() unless max_pages says otherwise
MAX_PAGES = 400


class GenerationPage(list[dict[str, Any]]):
    """One page of rows; ``next`` is the query of the following page (None at the end), so
    ``generation_pages(get, **page.next)`` continues a read later (the history mirror's resume)."""

    next: dict[str, Any] | None = None


def generation_pages(
    get: Callable[..., Any], *, max_pages: int | None = MAX_PAGES, **filters: Any
) -> Iterator[GenerationPage]:
    """The pages of ``/v1/generations`` (newest first), lazily; ``get(path, **params)`` is the
    client's GET returning decoded JSON."""
    params = _clean({"limit": PAGE_SIZES[0], **filters})
    seen_cursors: set[str] = set()
    pages = 0
    while True:
        try:
            data = get("/v1/generations", **params)
        except BadRequestError:
            if pages or "limit" in filters or params["limit"] == PAGE_SIZES[-1]:
                raise
            params["limit"] = PAGE_SIZES[-1]
            continue
        rows = _rows(data)
        if rows is None:
            raise response_format_error(200, data, "a list of generations")
        pages += 1
        page = GenerationPage(rows)
        if isinstance(data, Mapping) and rows:
            cursor = data.get("next_cursor") or data.get("cursor_next") or data.get("next")
            if isinstance(cursor, str) and cursor:
                if cursor not in seen_cursors:
                    seen_cursors.add(cursor)
                    page.next = {**params, "cursor": cursor}
            elif data.get("has_more"):
                start = data.get("offset", params.get("offset", 0))
                page.next = {**params, "offset": int(start or 0) + len(rows)}
        yield page
        if page.next is None or (max_pages is not None and pages >= max_pages):
            return
        params = dict(page.next)


def _rows(data: Any) -> list[dict[str, Any]] | None:
    rows = (
        data.get("generations", data.get("items", data.get("data")))
        if isinstance(data, Mapping)
        else data
    )
    if not isinstance(rows, list):
        return None
    return [dict(r) for r in rows if isinstance(r, Mapping)]


def _clean(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
