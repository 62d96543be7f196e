"""Which ``/v1/generations`` row is *our* job: exact matching, claims, reconciliation.

Used after an ambiguous POST failure (the duplicate check of :meth:`Transport.submit`) and by
``kz.jobs()`` / ``kz.resume()`` to settle ledger rows left ``submitting`` or ``unknown``.

A history row stands for a request only when **all** of these hold (never prefix matching):

* the model is the request's (when the request names one);
* the prompt (or dialogue text, song description, lyrics) is exactly the request's; an ad-copy
  variant's prompt is the product text plus the server's `` (variant N)`` suffix;
* the generation type equals the request's when the request sets one;
* every other field the row echoes that the request also has (``aspect_ratio``, ``duration``,
  ``source_task_id``, ``media_url`` ...) is equal;
* it was created after the request's first send minus ``DUPLICATE_SKEW_S`` (clock skew);
* no other ledger row (of any process sharing the home) has claimed it, and this process has not
  handed it to another request. Claims are made in the ledger in one transaction, so two
  processes cannot both take a job.

Among several matching rows the first unclaimed one made after our send is taken (the closest
to it); rows inside the skew allowance before the send come last.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kubeez_nb._config import ABSENT_AFTER_S, DUPLICATE_SKEW_S
from kubeez_nb.contract.wire import epoch as epoch_seconds

if TYPE_CHECKING:  # pragma: no cover
    from kubeez_nb.ledger import Ledger

log = logging.getLogger("kubeez_nb.matching")

#: pages of /v1/generations read at most when looking for a request's job
RECOVER_PAGES = 20
#: row fields that describe the job, not the request (never compared with the body)
_ROW_ONLY = frozenset(
    {
        "id",
        "generation_id",
        "status",
        "created_at",
        "completed_at",
        "processing_time_ms",
        "credits_deducted",
        "cost",
        "error_message",
        "outputs",
        "songs",
        "cdn_ready",
        "project_id",
        "extended_from",
        "model",
        "prompt",
        "generation_type",
        "variant_index",
        # a finished Veo clip's own task id (what extends *it*), not the extend request's source
        "source_task_id",
    }
)
_TEXT_KEYS = ("prompt", "text", "song_description", "lyrics")


def request_text(body: Mapping[str, Any]) -> str | None:
    """The prompt-like text of a request body (what a history row echoes as ``prompt``)."""
    for key in _TEXT_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def signature(model_id: str | None, body: Mapping[str, Any]) -> tuple[Any, ...]:
    """Requests with equal signatures cannot be told apart by their history rows."""
    return (
        model_id,
        request_text(body),
        body.get("media_url"),
        body.get("source_task_id"),
        body.get("product_text"),
        body.get("generation_type"),
    )


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return False

    # "5s" vs "5", 8 vs "8": the duration forms the live API accepts for one value
    def norm(v: Any) -> str:
        return str(v).strip().lower().removesuffix("s")

    return (
        isinstance(a, (str, int, float)) and isinstance(b, (str, int, float)) and norm(a) == norm(b)
    )


def _variant_of(product: str, prompt: Any) -> bool:
    """An ad-copy row's prompt: the product text, optionally with the `` (variant N)`` suffix."""
    pattern = re.escape(product) + r"( \(variant \d+\))?"
    return isinstance(prompt, str) and re.fullmatch(pattern, prompt) is not None


def row_matches(
    kind: str, model_id: str | None, body: Mapping[str, Any], row: Mapping[str, Any], oldest: float
) -> bool:
    """Whether ``row`` can be the job of this request (see the module docstring)."""
    created = epoch_seconds(row.get("created_at"))
    if created is None or created < oldest:
        return False
    if model_id and "model" in row and row.get("model") != model_id:
        return False
    row_prompt = row.get("prompt") or None
    if kind == "ad-copy":
        product = body.get("product_text")
        if isinstance(product, str) and product and not _variant_of(product, row_prompt):
            return False
    elif ("prompt" in row or request_text(body)) and row_prompt != request_text(body):
        return False
    wanted_type = body.get("generation_type")
    if wanted_type and row.get("generation_type") not in (None, wanted_type):
        return False
    for key, value in row.items():
        if key in _ROW_ONLY or key not in body or value is None or body[key] is None:
            continue
        if not _same(value, body[key]):
            return False
    return True


def candidates(
    rows: Iterable[Mapping[str, Any]],
    kind: str,
    model_id: str | None,
    body: Mapping[str, Any],
    since: float,
) -> list[tuple[float, str, dict[str, Any]]]:
    """Matching rows as ``(created, id, row)``, best first."""
    oldest = since - DUPLICATE_SKEW_S
    out = []
    for row in rows:
        rid = str(row.get("id") or row.get("generation_id") or "")
        if rid and row_matches(kind, model_id, body, row, oldest):
            out.append((epoch_seconds(row.get("created_at")) or 0.0, rid, dict(row)))
    # rows made after our first send come first (oldest of them: the closest to it); rows from
    # the skew allowance before it only then, newest first (an older twin is likelier another's)
    out.sort(key=lambda m: (0, m[0]) if m[0] >= since else (1, -m[0]))
    return out


def history_since(
    pages: Callable[..., Iterable[list[dict[str, Any]]]],
    since: float,
    model_id: str | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``/v1/generations`` created after ``since - DUPLICATE_SKEW_S`` (newest first):
    pages (``pages(max_pages=, model=)``, e.g. ``client.iter_generation_pages``) are read
    until one reaches older rows (a busy account may have made many since)."""
    oldest = since - DUPLICATE_SKEW_S
    out: list[dict[str, Any]] = []
    filters = {"model": model_id} if model_id else {}
    for rows in pages(max_pages=RECOVER_PAGES, **filters):
        out.extend(rows)
        times = [epoch_seconds(r.get("created_at")) for r in rows]
        if any(t is not None and t < oldest for t in times):
            break
    return out


def pick(
    matches: list[tuple[float, str, dict[str, Any]]],
    kind: str,
    body: Mapping[str, Any],
    taken: set[str],
) -> list[list[str]]:
    """Choices of job ids for one request, best first: one id each, or an ad-copy project's ids."""
    free = [m for m in matches if m[1] not in taken]
    if kind != "ad-copy":
        return [[m[1]] for m in free]
    groups: dict[Any, list[str]] = {}
    for _, rid, row in free:
        groups.setdefault(row.get("project_id") or rid, []).append(rid)
    want = int(body.get("variant_count") or 0)
    return [ids[:want] if want else ids for ids in groups.values() if not want or len(ids) >= want]


def claim_first(
    choices: list[list[str]], ledger: Ledger | None, key: int | None
) -> list[str] | None:
    """The first choice the ledger lets row ``key`` claim (every choice, without a ledger)."""
    for ids in choices:
        if ledger is None or key is None or ledger.claim(key, ids):
            return ids
    return None


def reconcile(
    pages: Callable[..., Iterable[list[dict[str, Any]]]],
    base_url: str,
    ledger: Ledger,
    *,
    absent_after: float = ABSENT_AFTER_S,
    skip: Iterable[int] = (),
) -> dict[str, int]:
    """Settle the ledger's ``submitting`` / ``unknown`` rows of the server at ``base_url``
    (whose ``/v1/generations`` pages ``pages`` reads, see :func:`history_since`).

    Found (exact match, unclaimed) → the job id is attached; provably absent (the history does
    not show it although the first send is older than ``absent_after``) → ``not submitted``;
    else the row stays as it is. Nothing is ever resubmitted. ``skip``: ledger keys whose POST
    is still running in this process. Returns counts ``attached``, ``absent``, ``open``.
    """
    counts = {"attached": 0, "absent": 0, "open": 0}
    skipped = set(skip)
    rows = [r for r in ledger.unsettled(base_url=base_url) if r["local_id"] not in skipped]
    if not rows:
        return counts
    sent = [float(r.get("first_sent_at") or r["submitted_at"]) for r in rows]
    history = history_since(pages, min(sent))
    now = time.time()
    for row, first in zip(rows, sent, strict=True):
        body = row["request"] or {}
        kind = row["kind"] or "media"
        matches = candidates(history, kind, row["model"], body, first)
        taken = ledger.claimed([m[1] for m in matches])
        ids = claim_first(pick(matches, kind, body, taken), ledger, row["local_id"])
        if ids:
            counts["attached"] += 1
            log.info("ledger row %s is job %s", row["local_id"], ", ".join(ids))
            _attach_rest(base_url, ledger, row, ids, history)
        elif now - first > absent_after:
            ledger.record_not_submitted(
                row["local_id"],
                "Not on the server: the history shows no matching job long after the send "
                "(nothing was charged for it).",
            )
            counts["absent"] += 1
        else:
            counts["open"] += 1
    return counts


def _attach_rest(
    base_url: str, ledger: Ledger, row: Mapping[str, Any], ids: list[str], history: list[dict]
) -> None:
    """Give an ad-copy request's other jobs their own rows (the first one is the row itself)."""
    from types import SimpleNamespace

    by_id = {str(r.get("id")): r for r in history}
    for rid in ids[1:]:
        src = by_id.get(rid, {})
        ledger.record_status(
            SimpleNamespace(
                client=SimpleNamespace(base_url=base_url),
                id=rid,
                kind=row["kind"],
                model=row["model"],
                status=src.get("status") or "queued",
                request=row["request"],
                estimate=None,
                created_at=src.get("created_at"),
                outputs=None,
                error=None,
                cost=None,
                completed_at=None,
                local_id=None,
            )
        )
