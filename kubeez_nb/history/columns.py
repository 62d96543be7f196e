"""Typing whole columns of a history frame at once: categories, datetimes, numbers, outputs.
Python-level fallbacks run only on the rows whose values are odd."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from kubeez_nb.contract import wire
from kubeez_nb.history.rows import (
    _ID_KEYS,
    _MEDIA_ORDER,
    _NS_MAX,
    _NS_MIN,
    _NUMERIC,
    _PARAMS,
    _PATHS,
    _RAW,
    _ROW_KEYS,
    _SOURCE,
    _TYPE_MEDIA,
    SOURCES,
    _credit_fallback,
    _error_of,
    _first,
    _norm_status,
    _outputs_of,
    _prompt_of,
    _summary,
    _text,
    _type_lookup,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd


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


def _category(
    values: np.ndarray | tuple[np.ndarray, Any],
    label: Callable[[Any], Any] = _text,
    categories: Iterable[Any] | None = None,
) -> pd.Categorical:
    """A categorical of ``label(v)``, computed once per distinct value, not once per row.

    ``values`` may be a ``pd.factorize`` result already at hand (the model column serves twice)."""
    import numpy as np
    import pandas as pd

    codes, uniques = values if isinstance(values, tuple) else pd.factorize(_strings(values))
    labels = [label(u) for u in uniques]
    cats = (
        list(categories) if categories is not None else sorted({x for x in labels if x is not None})
    )
    where = {c: i for i, c in enumerate(cats)}
    lookup = np.array(
        [where.get(x, -1) if x is not None else -1 for x in labels] + [-1], dtype=np.int64
    )
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
        missed = nat & np.fromiter(
            (isinstance(v, str) and bool(v.strip()) for v in values), dtype=bool, count=len(values)
        )
        if missed.any():
            again = _ns_utc(
                pd.to_datetime(series[missed], utc=True, format="mixed", errors="coerce")
            )
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
    """Epoch numbers (seconds, or milliseconds when huge) and datetimes as ISO strings, read by
    :func:`wire.epoch` (text is left to pandas' vectorised parser)."""
    if isinstance(value, str):
        return None
    secs = wire.epoch(value)
    if secs is None:
        return None
    try:
        return datetime.fromtimestamp(secs, tz=timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _numbers(values: pd.Series | np.ndarray | list[Any]) -> pd.Series:
    """float64 (fresh index) from numbers, numeric strings and ``"12 credits"``-like text;
    NaN otherwise (infinities too: no charge or duration is infinite)."""
    import numpy as np
    import pandas as pd

    series = (
        values.reset_index(drop=True)
        if isinstance(values, pd.Series)
        else pd.Series(_objects(list(values)))
    )
    if series.dtype.kind in "iuf":
        out = series.astype("float64")
    elif pd.api.types.infer_dtype(series, skipna=True) in (
        "integer",
        "floating",
        "mixed-integer-float",
        "decimal",
        "empty",
    ):
        out = pd.to_numeric(series, errors="coerce").astype("float64")
    else:
        out = pd.Series([_number(v) for v in series], dtype="float64")
    values_ = out.to_numpy()
    if np.isinf(values_).any():
        out = out.where(np.isfinite(values_))
    return out


def _number(value: Any) -> float:
    """:func:`wire.number` (``"12 credits"`` -> 12.0), NaN where it reads nothing."""
    n = wire.number(value)
    return float("nan") if n is None else n


def _typed(
    rows: list[dict[str, Any]], types: dict[str, str], base_url: str | None, merged: bool
) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    raw = pd.DataFrame.from_records(rows, columns=list(_RAW))
    junk = 0
    if (
        pd.api.types.infer_dtype(raw["id"].to_numpy(dtype=object), skipna=False) != "string"
    ):  # ids missing or odd
        ids: Any = [
            i if isinstance(i, str) else _text(_first(r, _ID_KEYS))
            for i, r in zip(raw["id"], rows, strict=True)
        ]
        # {"detail": ...} and other dicts that carry none of a generation's keys are dropped
        keep = np.fromiter(
            (i is not None or not _ROW_KEYS.isdisjoint(r) for i, r in zip(ids, rows, strict=True)),
            dtype=bool,
            count=len(rows),
        )
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
        prompts = _objects(
            [p if isinstance(p, str) else _prompt_of(r) for p, r in zip(prompts, rows, strict=True)]
        )

    credits = _numbers(raw["credits_deducted"])
    missing = credits.isna().to_numpy()
    if missing.any():  # no credits_deducted: the documented fallbacks, for server rows only
        credits[missing] = _numbers(
            [_credit_fallback(rows[i]) for i in np.flatnonzero(missing)]
        ).to_numpy()

    statuses = _category(col["status"], _norm_status)
    failed_like = ~np.asarray(statuses == "completed")
    errors = col["error_message"]
    if failed_like.any():  # an error may sit under "error" / "detail", or be a dict
        errors = errors.copy()
        errors[failed_like] = [_error_of(rows[i]) for i in np.flatnonzero(failed_like)]
    errors = _strings(errors)

    outputs = col["outputs"]
    if set(map(type, outputs)) != {list}:  # songs, stems, JSON strings, a bare dict
        outputs = _objects(
            [
                o if type(o) is list else _outputs_of(r, o)
                for o, r in zip(outputs, rows, strict=True)
            ]
        )
    n_outputs, urls, media, output_s = _output_columns(outputs, base_url)

    model_codes = pd.factorize(_strings(col["model"]))
    models = _category(model_codes)
    model_types = _category(model_codes, _type_lookup(types))
    model_types = (
        model_types.add_categories(["unknown"])
        if "unknown" not in model_types.categories
        else model_types
    )
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


def _output_columns(
    outputs: np.ndarray | list[list[Any]], base_url: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
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
            plain_urls = (
                url == "" if pd.api.types.infer_dtype(url, skipna=False) == "string" else None
            )
            bad_url = (
                plain_urls
                if plain_urls is not None
                else ~np.fromiter(
                    (isinstance(u, str) and bool(u) for u in url), dtype=bool, count=len(idx)
                )
            )
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
    relative = (first == "/") | np.isin(
        np.arange(len(urls)), [i for i in many if any(u.startswith("/") for u in urls[i])]
    )
    return np.flatnonzero(relative)
