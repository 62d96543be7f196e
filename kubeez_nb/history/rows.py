"""The schema of a history frame (:data:`COLUMNS`) and the row-level readers: one API or ledger
row at a time, tolerant of the live variants (nothing here builds a frame)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kubeez_nb.contract import wire

if TYPE_CHECKING:  # pragma: no cover
    pass

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
_RAW = (
    "id",
    "status",
    "model",
    "generation_type",
    "prompt",
    "created_at",
    "completed_at",
    "processing_time_ms",
    "credits_deducted",
    "estimated_cost_credits",
    "error_message",
    "outputs",
)
_NUMERIC = ("processing_time_ms", "credits_deducted", "estimated_cost_credits")
_ID_KEYS = ("id", "generation_id", "job_id", "separation_id", "task_id")
_CREDIT_KEYS = ("cost", "credits", "estimated_cost_credits", "actual_cost")
# A dict counts as a generation row when it carries at least one of these keys.
_ROW_KEYS = frozenset(
    (*_ID_KEYS, *_CREDIT_KEYS, "credits_deducted", "status", "model", "prompt", "outputs")
)
_FILTER_KEYS = ("status", "model", "generation_type")
_MEDIA_ORDER = ("audio", "image", "video")
_TYPE_MEDIA = {
    "image": "image",
    "video": "video",
    "music": "audio",
    "speech": "audio",
    "separation": "audio",
}
_NS_MIN, _NS_MAX = "1677-09-22", "2262-04-10"  # the range datetime64[ns] can hold
# private keys a merged ledger row carries through the pipeline
_SOURCE, _PARAMS, _PATHS = "_kz_source", "_kz_params", "_kz_local_paths"


# rows in


def _generation_dicts(rows: Any) -> tuple[list[dict[str, Any]], int]:
    """The dict rows (a page unwrapped), and how many non-dict rows were dropped."""
    if rows is None:
        return [], 0
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a DataFrame of rows
        rows = rows.to_dict("records")
    if isinstance(rows, Mapping):  # a raw page: {"generations": [...]} or {"data": [...]}
        inner = next(
            (
                rows[k]
                for k in ("generations", "data", "items", "results")
                if isinstance(rows.get(k), list)
            ),
            None,
        )
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
        return _text(_first(value, ("model_id", "id", "name", "message"))) or json.dumps(
            dict(value), default=str
        )
    return str(value)


def _prompt_of(row: Mapping[str, Any]) -> str | None:
    value = row.get("prompt")
    if value is None:  # dialogue rows carry "text"; music rows a description or title
        value = _first(row, ("text", "song_description", "title", "style"))
    return json.dumps(value, default=str) if isinstance(value, (dict, list)) else _text(value)


def _error_of(row: Mapping[str, Any]) -> str | None:
    value = _first(row, ("error_message", "error", "failure_reason", "detail"))
    if isinstance(value, Mapping):
        value = (
            value.get("message")
            or value.get("msg")
            or value.get("error")
            or json.dumps(dict(value), default=str)
        )
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
        return [
            {
                "url": s.get("audio_url") or s.get("stream_url"),
                "media_type": "audio",
                "duration": s.get("duration"),
            }
            if isinstance(s, Mapping)
            else s
            for s in songs
        ]
    return [
        {"url": row[k], "media_type": "audio"}
        for k in ("vocals_url", "instrumental_url")
        if row.get(k)
    ]


def _url(output: Any) -> str | None:
    if isinstance(output, Mapping):
        url = _first(output, ("url", "audio_url", "stream_url", "video_url", "image_url"))
        return url if isinstance(url, str) and url else None
    return output if isinstance(output, str) and output else None


def _output_media(output: Any) -> str | None:
    """``image`` / ``video`` / ``audio`` for one output: its media_type by prefix, else its URL."""
    declared = output.get("media_type") if isinstance(output, Mapping) else None
    return wire.media_kind(_url(output), declared if isinstance(declared, str) else None)


def _summary(outputs: list[Any]) -> tuple[list[str], str | None, float | None]:
    """(URLs that are set, media kind of the first output, seconds of media) for one row."""
    total: float | None = None
    for out in outputs:
        secs = wire.seconds(out.get("duration")) if isinstance(out, Mapping) else None
        if secs is not None:
            total = secs if total is None else total + secs
    return (
        [u for u in map(_url, outputs) if u],
        _output_media(outputs[0]) if outputs else None,
        total,
    )


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
            "prompt": _first(row, ("prompt", "text"))
            or request.get("prompt")
            or request.get("text"),
            "generation_type": row.get("generation_type") or request.get("generation_type"),
            "created_at": _first(row, ("created_at", "submitted_at", "created", "started_at")),
            "completed_at": row.get("completed_at")
            or (_first(row, ("finished_at", "updated_at")) if done else None),
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
        return [
            str(value[k])
            for k in sorted(value, key=lambda k: int(k) if str(k).isdigit() else 0)
            if value[k]
        ]
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
    mid: Any
    kind: Any
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
    """The status by the wire's one rule (``errored`` / ``done`` / ``canceled`` resolved); None when empty."""
    text = _text(value)
    return wire.status(text) if text is not None and text.strip() else None


def _credit_fallback(row: Mapping[str, Any]) -> Any:
    """The charge of a row without ``credits_deducted``: ``cost`` / ``credits`` / ``actual_cost``;
    the server's ``estimated_cost_credits`` only when ``credits_deducted`` is absent altogether
    (``null`` means "not charged yet"). A ledger-only row has no charge until the server says so."""
    if row.get(_SOURCE, "api") == "ledger":
        return row.get("credits_deducted")
    keys = (
        _CREDIT_KEYS
        if "credits_deducted" not in row
        else tuple(k for k in _CREDIT_KEYS if k != "estimated_cost_credits")
    )
    return _first(row, keys)


def _type_lookup(types: dict[str, str]) -> Callable[[Any], str]:
    lowered = {k.lower(): v for k, v in types.items()}  # ids drift in case (Z-image -> z-image)

    def lookup(model: Any) -> str:
        model = _text(model)
        if not model:
            return "unknown"
        return types.get(model) or lowered.get(model.lower(), "unknown")

    return lookup
