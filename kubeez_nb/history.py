"""Generation history as a typed pandas DataFrame: ``/v1/generations`` merged with the local ledger.

>>> df = client.history(status="completed")     # every page, one row per generation id
>>> df.groupby("model", observed=True).credits.sum()

:func:`frame_from_rows` is the pure part (rows in, typed frame out, no HTTP), so rows from
anywhere (a saved JSON dump, another tool, a test) become the same frame. It tolerates the live
variants of ``api-facts.md``: MIME-style ``media_type``, ``null`` or root-relative URLs, missing
timestamps, numbers sent as strings, ``"5s"`` durations, music ``songs`` and separation stems,
and stray non-generation rows (``{"detail": ...}``), which are dropped and counted in
``df.attrs["dropped_rows"]``.

Speed matters (50 000 rows must beat ``pd.json_normalize`` + a ``groupby``): the flat fields are
pulled out by ``DataFrame.from_records`` (one C pass), each column is typed once as a whole, and
Python-level fallbacks run only on the rows whose values are odd.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from kubeez_nb.contract.catalog import media_kind, parse_seconds

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

#: Every column of a history frame, in order, with its dtype. An empty history has exactly these.
COLUMNS: dict[str, str] = {
    "id": "string",
    "status": "category",  # lower-cased; ``error`` folded into ``failed``
    "model": "category",
    "model_type": "category",  # from the catalog by model id; ``unknown`` when not listed
    "generation_type": "category",
    "prompt": "string",  # the prompt, or a dialogue's text
    "created_at": "datetime64[ns, UTC]",
    "completed_at": "datetime64[ns, UTC]",
    "processing_s": "float64",  # processing_time_ms / 1000, else completed_at - created_at
    "credits": "float64",  # credits_deducted, else cost / credits / estimated_cost_credits
    "estimate": "float64",  # the pre-submit estimate (ledger), else the server's estimate
    "n_outputs": "int64",
    "media_type": "category",  # image | video | audio (MIME types and URL extensions folded)
    "output_s": "float64",  # seconds of video / audio produced, summed over outputs
    "output_urls": "object",  # list[str]: the outputs that have a URL
    "first_url": "string",
    "local_paths": "object",  # list[str]: cached files recorded by the ledger
    "error_message": "string",
    "params": "object",  # dict: the request body as submitted (ledger), else {}
    "source": "category",  # api | ledger | both
}

SOURCES = ("api", "ledger", "both")
# the raw fields read from every row in one C pass
_RAW = ("id", "status", "model", "generation_type", "prompt", "created_at", "completed_at",
        "processing_time_ms", "credits_deducted", "estimated_cost_credits", "error_message", "outputs")
_NUMERIC = ("processing_time_ms", "credits_deducted", "estimated_cost_credits")
_ID_KEYS = ("id", "generation_id", "job_id", "separation_id", "task_id")
_CREDIT_KEYS = ("cost", "credits", "estimated_cost_credits", "actual_cost")
# A dict counts as a generation row when it carries at least one of these keys.
_ROW_KEYS = frozenset((*_ID_KEYS, *_CREDIT_KEYS, "credits_deducted", "status", "model", "prompt", "outputs"))
_FILTER_KEYS = ("status", "model", "generation_type")
_STATUS_ALIASES = {"error": "failed", "canceled": "cancelled", "succeeded": "completed", "success": "completed"}
_MEDIA_ORDER = ("audio", "image", "video")
_TYPE_MEDIA = {"image": "image", "video": "video", "music": "audio", "speech": "audio", "separation": "audio"}
_NUMBER_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)", re.IGNORECASE)  # "12 credits"
_NS_MIN, _NS_MAX = "1677-09-22", "2262-04-10"  # the range datetime64[ns] can hold
# private keys a merged ledger row carries through the pipeline
_SOURCE, _PARAMS, _PATHS = "_kz_source", "_kz_params", "_kz_local_paths"


# ---------------------------------------------------------------------------------------------
# public entry points


def history_frame(client: Any, *, ledger: bool = True, **filters: Any) -> pd.DataFrame:
    """Every page of ``GET /v1/generations`` (``filters`` passed through) merged with the ledger.

    ``client.history(**filters)`` calls this. The catalog (``client.catalog()``) gives each
    model its ``model_type``; the local ledger, when the client keeps one, adds the request
    parameters, the pre-submit estimate and the paths of cached outputs, and contributes the
    jobs the server no longer lists. ``ledger=False`` uses the server's rows only.

    Every page is read (``max_pages=None``) unless ``max_pages`` says otherwise: a cost report on
    a silently truncated history would be wrong. Reads are paced by the client's rate limiter
    (the documented 120 reads/min), so a long history takes a while to fetch the first time.
    """
    filters.setdefault("max_pages", None)
    rows = client.generations(**filters)
    ledger_rows = _ledger_rows(client, filters) if ledger else None
    try:
        catalog = client.catalog()
    except Exception:  # the history is still useful untyped: model_type becomes "unknown"
        catalog = None
    return frame_from_rows(rows, ledger_rows, catalog=catalog, base_url=getattr(client, "base_url", None))


def frame_from_rows(
    rows: Iterable[Any] | Mapping[str, Any] | None,
    ledger_rows: Iterable[Mapping[str, Any]] | None = None,
    catalog: Any = None,
    *,
    base_url: str | None = None,
) -> pd.DataFrame:
    """A typed history frame (the columns and dtypes of :data:`COLUMNS`) from generation rows.

    ``rows`` are ``/v1/generations`` rows (a ``{"generations": [...]}`` page is unwrapped).
    ``ledger_rows`` are ``Ledger.jobs()`` rows, merged by id: the server's status, cost and
    outputs win; the ledger adds params, estimate and local paths; its jobs the server does not
    list are added with ``source="ledger"``. ``catalog`` maps model ids to types: a ``Catalog``,
    a ``{"models": [...]}`` payload, a list of model dicts, or ``{model_id: model_type}``.
    ``base_url`` resolves root-relative output URLs. Newest first; a repeated id keeps its
    first row.
    """
    with _gc_paused():
        return _frame(rows, ledger_rows, catalog, base_url)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building: the frame allocates a few containers per row and
    each collection would rescan every row dict the caller holds (a 50 000-row history spent a
    third of its time there). The state is restored after; anything cyclic pandas made on the
    way is collected at the next run as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _frame(rows: Any, ledger_rows: Iterable[Mapping[str, Any]] | None, catalog: Any, base_url: str | None) -> pd.DataFrame:
    api_rows, dropped = _generation_dicts(rows)
    merged = False
    if ledger_rows is not None:
        # a refused POST (status "rejected") never became a generation and cost nothing
        jobs = [r for r in ledger_rows if isinstance(r, Mapping) and _norm_status(r.get("status")) != "rejected"]
        led_rows, led_dropped = _generation_dicts([_ledger_as_row(r) for r in jobs])
        dropped += led_dropped
        if led_rows:
            api_rows, merged = _merge_ledger(api_rows, led_rows), True
    if not api_rows:
        return empty_frame(dropped_rows=dropped)
    df = _typed(api_rows, _model_types(catalog), base_url, merged)
    df.attrs["dropped_rows"] = dropped + df.attrs.pop("junk_rows", 0)
    return df


def empty_frame(**attrs: Any) -> pd.DataFrame:
    """A history frame with no rows and every column of :data:`COLUMNS` at its dtype."""
    import pandas as pd

    df = pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in COLUMNS.items()})
    df["source"] = pd.Categorical([], categories=SOURCES)
    df["media_type"] = pd.Categorical([], categories=pd.Index(_MEDIA_ORDER, dtype=object))
    df.attrs.update(attrs)
    return df


# ---------------------------------------------------------------------------------------------
# rows in


def _generation_dicts(rows: Any) -> tuple[list[dict[str, Any]], int]:
    """The dict rows (a page unwrapped), and how many non-dict rows were dropped."""
    if rows is None:
        return [], 0
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a DataFrame of rows
        rows = rows.to_dict("records")
    if isinstance(rows, Mapping):  # a raw page: {"generations": [...]} or {"data": [...]}
        inner = next((rows[k] for k in ("generations", "data", "items", "results") if isinstance(rows.get(k), list)), None)
        rows = inner if inner is not None else [rows]
    rows = list(rows)
    if set(map(type, rows)) <= {dict}:  # the usual case: checked in C, rows without an id below
        kept = rows
    else:  # Mapping subclasses are kept, anything else is counted and dropped
        kept = [r if type(r) is dict else dict(r) for r in rows if isinstance(r, Mapping)]
    return kept, len(rows) - len(kept)


def _first(row: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = row.get(key)
        if value is not None:
            return value
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, Mapping):  # {"model_id": ...} / {"id": ...}
        return _text(_first(value, ("model_id", "id", "name", "message"))) or json.dumps(dict(value), default=str)
    return str(value)


def _prompt_of(row: Mapping[str, Any]) -> str | None:
    value = row.get("prompt")
    if value is None:  # dialogue rows carry "text"; music rows a description or title
        value = _first(row, ("text", "song_description", "title", "style"))
    return json.dumps(value, default=str) if isinstance(value, (dict, list)) else _text(value)


def _error_of(row: Mapping[str, Any]) -> str | None:
    value = _first(row, ("error_message", "error", "failure_reason", "detail"))
    if isinstance(value, Mapping):
        value = value.get("message") or value.get("msg") or value.get("error") or json.dumps(dict(value), default=str)
    elif isinstance(value, list):
        value = "; ".join(str(v.get("msg", v)) if isinstance(v, Mapping) else str(v) for v in value)
    return _text(value)


def _outputs_of(row: Mapping[str, Any], outs: Any) -> list[Any]:
    """A row's outputs as a list: ``outputs`` in any shape, music ``songs`` or separation stems."""
    if outs is not None and outs == outs:  # not None / NaN
        if isinstance(outs, str):  # a JSON string from a ledger, or one bare URL
            try:
                outs = json.loads(outs)
            except ValueError:
                return [outs]
        return list(outs) if isinstance(outs, (list, tuple)) else [outs]
    songs = row.get("songs")
    if isinstance(songs, list):
        return [{"url": s.get("audio_url") or s.get("stream_url"), "media_type": "audio", "duration": s.get("duration")}
                if isinstance(s, Mapping) else s for s in songs]
    return [{"url": row[k], "media_type": "audio"} for k in ("vocals_url", "instrumental_url") if row.get(k)]


def _url(output: Any) -> str | None:
    if isinstance(output, Mapping):
        url = _first(output, ("url", "audio_url", "stream_url", "video_url", "image_url"))
        return url if isinstance(url, str) and url else None
    return output if isinstance(output, str) and output else None


def _output_media(output: Any) -> str | None:
    """``image`` / ``video`` / ``audio`` for one output: its media_type by prefix, else its URL."""
    declared = output.get("media_type") if isinstance(output, Mapping) else None
    return media_kind(_url(output), declared if isinstance(declared, str) else None)


def _summary(outputs: list[Any]) -> tuple[list[str], str | None, float | None]:
    """(URLs that are set, media kind of the first output, seconds of media) for one row."""
    total: float | None = None
    for out in outputs:
        secs = parse_seconds(out.get("duration")) if isinstance(out, Mapping) else None
        if secs is not None:
            total = secs if total is None else total + secs
    return [u for u in map(_url, outputs) if u], _output_media(outputs[0]) if outputs else None, total


# ---------------------------------------------------------------------------------------------
# ledger


def _ledger_rows(client: Any, filters: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The client's ledger jobs matching the same filters as the server query (None: no ledger)."""
    ledger = getattr(client, "ledger", None)
    if ledger is None or not callable(getattr(ledger, "jobs", None)):
        return None
    rows = [r for r in ledger.jobs() if isinstance(r, Mapping)]
    base = str(getattr(client, "base_url", "") or "").rstrip("/")
    if base:  # one ledger may have seen several services (a demo emulator, then the real API)
        rows = [r for r in rows if not r.get("base_url") or str(r["base_url"]).rstrip("/") == base]
    for key in _FILTER_KEYS:
        wanted = filters.get(key)
        if wanted is not None:
            rows = [r for r in rows if _matches(r, key, wanted)]
    return [dict(r) for r in rows]


def _matches(row: Mapping[str, Any], key: str, wanted: Any) -> bool:
    if key == "status":
        return _norm_status(row.get("status")) == _norm_status(wanted)
    value = row.get(key)
    if value is None and isinstance(_maybe_json(row.get("request")), Mapping):
        value = _maybe_json(row["request"]).get(key)
    return value is not None and str(value) == str(wanted)


def _ledger_as_row(job: Mapping[str, Any]) -> dict[str, Any]:
    """A ledger job in the shape of a generations row, carrying params and local paths."""
    row = dict(job)
    request = _maybe_json(row.pop("request", None))
    if not isinstance(request, Mapping):
        request = _maybe_json(row.get("params"))
    request = dict(request) if isinstance(request, Mapping) else {}
    estimate = _maybe_json(row.pop("estimate", None))
    if isinstance(estimate, Mapping):
        estimate = _first(estimate, ("credits", "total"))
    elif estimate is not None and not isinstance(estimate, (int, float, str)):
        estimate = getattr(estimate, "credits", None)
    # the ledger's cost is the actual charge; its estimate must never pose as one
    charged = _first(row, ("credits_deducted", "cost", "actual_cost"))
    for key in _CREDIT_KEYS:
        row.pop(key, None)
    done = _norm_status(row.get("status")) in ("completed", "failed", "cancelled")
    row.update(
        {
            "id": _text(_first(row, _ID_KEYS)),
            "model": row.get("model") or request.get("model"),
            "prompt": _first(row, ("prompt", "text")) or request.get("prompt") or request.get("text"),
            "generation_type": row.get("generation_type") or request.get("generation_type"),
            "created_at": _first(row, ("created_at", "submitted_at", "created", "started_at")),
            "completed_at": row.get("completed_at") or (_first(row, ("finished_at", "updated_at")) if done else None),
            "credits_deducted": charged,
            "estimated_cost_credits": estimate,
            "outputs": _maybe_json(row.get("outputs")),
            "error_message": _first(row, ("error_message", "error")),
            _SOURCE: "ledger",
            _PARAMS: request,
            _PATHS: _paths(_maybe_json(row.get("local_paths"))),
        }
    )
    return row


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _paths(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, Mapping):  # {output_index: path}
        return [str(value[k]) for k in sorted(value, key=lambda k: int(k) if str(k).isdigit() else 0) if value[k]]
    if isinstance(value, (list, tuple)):
        return [str(p) for p in value if p]
    return [str(value)]


def _merge_ledger(api: list[dict[str, Any]], led: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per id: the server's non-null fields win; the ledger fills the gaps."""
    by_id = {r["id"]: r for r in led if r.get("id") is not None}
    out = list(api)
    for n, row in enumerate(api):
        gid = row.get("id")
        job = by_id.pop(gid if isinstance(gid, str) else _text(gid), None) if by_id else None
        if job is not None:
            merged = {**job, **{k: v for k, v in row.items() if v is not None}, _SOURCE: "both"}
            if not row.get("outputs") and job.get("outputs"):
                merged["outputs"] = job["outputs"]
            if job.get("estimated_cost_credits") is not None:
                merged["estimated_cost_credits"] = job["estimated_cost_credits"]
            out[n] = merged
    return out + [r for r in led if r.get("id") is None or r["id"] in by_id]


# ---------------------------------------------------------------------------------------------
# typing


def _model_types(catalog: Any) -> dict[str, str]:
    """``{model_id: model_type}`` from whatever catalog form was given (empty if none)."""
    if catalog is None:
        return {}
    if isinstance(catalog, Mapping) and isinstance(catalog.get("models"), list):
        catalog = catalog["models"]
    if isinstance(catalog, Mapping):
        items: Iterable[tuple[Any, Any]] = catalog.items()
    else:
        try:
            items = [(None, m) for m in catalog]
        except TypeError:
            return {}
    types: dict[str, str] = {}
    for key, model in items:
        if isinstance(model, str):  # {id: model_type}
            mid, kind = key, model
        elif isinstance(model, Mapping):
            mid, kind = model.get("model_id") or model.get("id") or key, model.get("model_type")
        else:  # a catalog.Model
            mid = getattr(model, "id", None) or getattr(model, "model_id", None) or key
            kind = getattr(model, "model_type", None)
        if mid is not None and kind:
            types[str(mid)] = str(kind)
    return types


def _norm_status(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    text = text.strip().lower()
    return _STATUS_ALIASES.get(text, text) or None


def _strings(values: np.ndarray) -> np.ndarray:
    """An object array whose entries are str or None (numbers and dicts turned into text)."""
    import pandas as pd

    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values
    return _objects([_text(v) for v in values])


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-D object array of ``values`` (never a 2-D array made of a list of lists)."""
    import numpy as np

    return np.fromiter(values, dtype=object, count=len(values))


def _category(values: np.ndarray | tuple[np.ndarray, Any], label: Callable[[Any], Any] = _text, categories: Iterable[Any] | None = None) -> pd.Categorical:
    """A categorical of ``label(v)``, computed once per distinct value, not once per row.

    ``values`` may be a ``pd.factorize`` result already at hand (the model column serves twice)."""
    import numpy as np
    import pandas as pd

    codes, uniques = values if isinstance(values, tuple) else pd.factorize(_strings(values))
    labels = [label(u) for u in uniques]
    cats = list(categories) if categories is not None else sorted({x for x in labels if x is not None})
    where = {c: i for i, c in enumerate(cats)}
    lookup = np.array([where.get(x, -1) if x is not None else -1 for x in labels] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(lookup[codes], categories=pd.Index(cats, dtype=object))


def _datetimes(values: np.ndarray) -> pd.Series:
    import numpy as np
    import pandas as pd

    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = _objects([v if isinstance(v, str) else _odd_time(v) for v in values])
    series = pd.Series(values, dtype=object)
    parsed = _ns_utc(pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce"))
    nat = parsed.isna().to_numpy()
    if nat.any():  # non-ISO spellings ("Mar 1 2026 10:00"): parse those few on their own
        missed = nat & np.fromiter((isinstance(v, str) and bool(v.strip()) for v in values), dtype=bool, count=len(values))
        if missed.any():
            again = _ns_utc(pd.to_datetime(series[missed], utc=True, format="mixed", errors="coerce"))
            parsed = parsed.copy()
            parsed[missed] = again.array
    return parsed


def _ns_utc(parsed: pd.Series) -> pd.Series:
    """``datetime64[ns, UTC]``; dates beyond what nanoseconds can hold (year 2262+) become NaT."""
    import pandas as pd

    if not isinstance(parsed.dtype, pd.DatetimeTZDtype):  # all NaT may come back untyped
        parsed = pd.to_datetime(parsed, utc=True, errors="coerce")
    lo, hi = pd.Timestamp(_NS_MIN, tz="UTC"), pd.Timestamp(_NS_MAX, tz="UTC")
    if parsed.notna().any() and (parsed.min() < lo or parsed.max() > hi):
        parsed = parsed.where(parsed.isna() | parsed.between(lo, hi))
    return parsed.astype("datetime64[ns, UTC]")


def _odd_time(value: Any) -> str | None:
    """Epoch numbers (seconds, or milliseconds when huge) and datetimes as ISO strings."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        secs = value / 1000.0 if abs(value) > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(secs, tz=timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _numbers(values: pd.Series | np.ndarray | list[Any]) -> pd.Series:
    """float64 (fresh index) from numbers, numeric strings and ``"12 credits"``-like text;
    NaN otherwise (infinities too: no charge or duration is infinite)."""
    import numpy as np
    import pandas as pd

    series = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(_objects(list(values)))
    if series.dtype.kind in "iuf":
        out = series.astype("float64")
    elif pd.api.types.infer_dtype(series, skipna=True) in ("integer", "floating", "mixed-integer-float", "decimal", "empty"):
        out = pd.to_numeric(series, errors="coerce").astype("float64")
    else:
        out = pd.Series([_number(v) for v in series], dtype="float64")
    values_ = out.to_numpy()
    if np.isinf(values_).any():
        out = out.where(np.isfinite(values_))
    return out


def _number(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _NUMBER_RE.match(value) if isinstance(value, str) else None
    return float(match.group(1)) if match else float("nan")


def _typed(rows: list[dict[str, Any]], types: dict[str, str], base_url: str | None, merged: bool) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    raw = pd.DataFrame.from_records(rows, columns=list(_RAW))
    junk = 0
    if pd.api.types.infer_dtype(raw["id"].to_numpy(dtype=object), skipna=False) != "string":  # ids missing or odd
        ids = [i if isinstance(i, str) else _text(_first(r, _ID_KEYS)) for i, r in zip(raw["id"], rows, strict=True)]
        # {"detail": ...} and other dicts that carry none of a generation's keys are dropped
        keep = np.fromiter((i is not None or not _ROW_KEYS.isdisjoint(r) for i, r in zip(ids, rows, strict=True)), dtype=bool, count=len(rows))
        raw["id"] = _objects(ids)
        if not keep.all():
            junk = int((~keep).sum())
            rows = [r for r, k in zip(rows, keep, strict=True) if k]
            raw = raw[keep].reset_index(drop=True)
    col = {k: raw[k].to_numpy(dtype=object) for k in _RAW if k not in _NUMERIC}
    n = len(rows)
    ids = col["id"]

    prompts = col["prompt"]
    if pd.api.types.infer_dtype(prompts, skipna=False) != "string":
        prompts = _objects([p if isinstance(p, str) else _prompt_of(r) for p, r in zip(prompts, rows, strict=True)])

    credits = _numbers(raw["credits_deducted"])
    missing = credits.isna().to_numpy()
    if missing.any():  # no credits_deducted: the documented fallbacks, for server rows only
        credits[missing] = _numbers([_credit_fallback(rows[i]) for i in np.flatnonzero(missing)]).to_numpy()

    statuses = _category(col["status"], _norm_status)
    failed_like = ~np.asarray(statuses == "completed")
    errors = col["error_message"]
    if failed_like.any():  # an error may sit under "error" / "detail", or be a dict
        errors = errors.copy()
        errors[failed_like] = [_error_of(rows[i]) for i in np.flatnonzero(failed_like)]
    errors = _strings(errors)

    outputs = col["outputs"]
    if set(map(type, outputs)) != {list}:  # songs, stems, JSON strings, a bare dict
        outputs = _objects([o if type(o) is list else _outputs_of(r, o) for o, r in zip(outputs, rows, strict=True)])
    n_outputs, urls, media, output_s = _output_columns(outputs, base_url)

    model_codes = pd.factorize(_strings(col["model"]))
    models = _category(model_codes)
    model_types = _category(model_codes, _type_lookup(types))
    model_types = model_types.add_categories(["unknown"]) if "unknown" not in model_types.categories else model_types
    model_types = model_types.fillna("unknown")
    # an output without a readable media_type or extension still has its model's kind
    unknown_media = pd.isna(media) & (n_outputs > 0)
    if unknown_media.any():
        media[unknown_media] = [_TYPE_MEDIA.get(t) for t in model_types[unknown_media]]

    created = _datetimes(col["created_at"])
    completed = _datetimes(col["completed_at"])
    processing = _numbers(raw["processing_time_ms"]) / 1000.0
    if processing.isna().any():
        processing = processing.fillna((completed - created).dt.total_seconds())

    if merged:
        sources = [r.get(_SOURCE, "api") for r in rows]
        params = _objects([r.get(_PARAMS) or {} for r in rows])
        paths = _objects([list(r.get(_PATHS) or ()) for r in rows])
    else:
        sources = ["api"] * n
        params = _objects([{} for _ in range(n)])
        paths = _objects([[] for _ in range(n)])

    df = pd.DataFrame(
        {
            "id": pd.array(ids, dtype="string"),
            "status": statuses,
            "model": models,
            "model_type": model_types,
            "generation_type": _category(col["generation_type"]),
            "prompt": pd.array(prompts, dtype="string"),
            "created_at": created,
            "completed_at": completed,
            "processing_s": processing,
            "credits": credits,
            "estimate": _numbers(raw["estimated_cost_credits"]),
            "n_outputs": n_outputs,
            "media_type": _media_category(media),
            "output_s": output_s,
            "output_urls": urls,
            "first_url": pd.array([u[0] if u else None for u in urls], dtype="string"),
            "local_paths": paths,
            "error_message": pd.array(errors, dtype="string"),
            "params": params,
            "source": pd.Categorical(sources, categories=SOURCES),
        }
    )
    present = [i for i in ids if isinstance(i, str)] if pd.isna(ids).any() else ids
    if len(set(present)) < len(present):  # overlapping pages: keep the first (newest) row of an id
        df = df[~(df["id"].duplicated() & df["id"].notna()).to_numpy()]
    if not df["created_at"].is_monotonic_decreasing:
        df = df.sort_values("created_at", ascending=False, na_position="last", kind="stable")
    df = df.reset_index(drop=True)
    df.attrs["junk_rows"] = junk
    return df


def _media_category(media: np.ndarray) -> pd.Categorical:
    """image / video / audio as a categorical with fixed categories (frames concatenate cleanly)."""
    import pandas as pd

    return pd.Categorical(media, categories=pd.Index(_MEDIA_ORDER, dtype=object))


def _credit_fallback(row: Mapping[str, Any]) -> Any:
    """The charge of a row without ``credits_deducted``: ``cost`` / ``credits`` / ``actual_cost``;
    the server's ``estimated_cost_credits`` only when ``credits_deducted`` is absent altogether
    (``null`` means "not charged yet"). A ledger-only row has no charge until the server says so."""
    if row.get(_SOURCE, "api") == "ledger":
        return row.get("credits_deducted")
    keys = _CREDIT_KEYS if "credits_deducted" not in row else tuple(k for k in _CREDIT_KEYS if k != "estimated_cost_credits")
    return _first(row, keys)


def _type_lookup(types: dict[str, str]) -> Callable[[Any], str]:
    lowered = {k.lower(): v for k, v in types.items()}  # ids drift in case (Z-image -> z-image)

    def lookup(model: Any) -> str:
        model = _text(model)
        if not model:
            return "unknown"
        return types.get(model) or lowered.get(model.lower(), "unknown")

    return lookup


def _output_columns(outputs: list[list[Any]], base_url: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """(n_outputs, output_urls lists, first output's media kind, seconds of media) for every row.

    The common shape, one output dict per row, goes through ``from_records`` in one pass;
    other rows (several outputs, songs, bare URLs, odd values) are summarised one by one.
    """
    import numpy as np
    import pandas as pd

    n = len(outputs)
    counts = np.fromiter(map(len, outputs), dtype=np.int64, count=n)
    single = counts == 1
    urls = np.empty(n, dtype=object)
    media = np.full(n, None, dtype=object)
    secs = np.full(n, np.nan)
    none = np.flatnonzero(counts == 0)
    if len(none):  # failed and pending jobs: nothing to summarise
        urls[none] = _objects([[] for _ in range(len(none))])
    slow = counts > 1
    if single.any():
        idx = np.flatnonzero(single)
        firsts = list(map(itemgetter(0), outputs if single.all() else [outputs[i] for i in idx]))
        if set(map(type, firsts)) == {dict}:
            first = pd.DataFrame.from_records(firsts, columns=["url", "media_type", "duration"])
            url = first["url"].to_numpy(dtype=object)
            kind = first["media_type"].to_numpy(dtype=object)
            duration = first["duration"]
            # rows whose URL, media kind or duration is not the plain form take the slow path
            plain_urls = url == "" if pd.api.types.infer_dtype(url, skipna=False) == "string" else None
            bad_url = plain_urls if plain_urls is not None else ~np.fromiter(
                (isinstance(u, str) and bool(u) for u in url), dtype=bool, count=len(idx))
            numbers = _numbers(duration).to_numpy()
            odd = bad_url | ~((kind == "image") | (kind == "video") | (kind == "audio"))
            if duration.dtype.kind not in "iuf":  # "5s" and friends
                odd |= np.isnan(numbers) & duration.notna().to_numpy()
            urls[idx] = url.reshape(-1, 1).tolist()  # one list per row, built in C
            media[idx] = kind
            secs[idx] = numbers
            slow[idx[odd]] = True
        else:
            slow |= single
    for i in np.flatnonzero(slow):
        urls[i], media[i], total = _summary(outputs[i])
        secs[i] = np.nan if total is None else total
    if base_url:  # root-relative URLs (/images/x.png) resolve against the service
        for i in _rows_with_relative_urls(urls):
            urls[i] = [urljoin(base_url, u) if u.startswith("/") else u for u in urls[i]]
    return counts, urls, media, pd.Series(secs)


def _rows_with_relative_urls(urls: np.ndarray) -> np.ndarray:
    import numpy as np

    first = np.fromiter((us[0][:1] if us else "" for us in urls), dtype="U1", count=len(urls))
    some = np.fromiter((len(us) > 1 for us in urls), dtype=bool, count=len(urls))
    many = np.flatnonzero(some & (first != "/"))
    relative = (first == "/") | np.isin(np.arange(len(urls)), [i for i in many if any(u.startswith("/") for u in urls[i])])
    return np.flatnonzero(relative)
