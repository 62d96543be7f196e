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


def generation_pages(
    get: Callable[..., Any], *, max_pages: int | None = MAX_PAGES, **filters: Any
) -> Iterator[list[dict[str, Any]]]:
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
        yield rows
        pages += 1
        if not isinstance(data, Mapping) or not rows:
            return
        if max_pages is not None and pages >= max_pages:
            return
        cursor = data.get("next_cursor") or data.get("cursor_next") or data.get("next")
        if isinstance(cursor, str) and cursor:
            if cursor in seen_cursors:
                return
            seen_cursors.add(cursor)
            params["cursor"] = cursor
        elif data.get("has_more"):
            start = data.get("offset", params.get("offset", 0))
            params["offset"] = int(start or 0) + len(rows)
        else:
            return


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
