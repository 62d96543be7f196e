"""Batch runs: many requests at once, paced by the client's rate limiter, one progress bar.

>>> res = kz.batch(prompts=["a fox", "an owl"], models=["nano-banana-2", "z-image"], aspect_ratio="1:1")
>>> res.df          # one row per request: params, job id, status, estimate, cost, outputs, error
>>> res.gallery()   # prompts × models comparison grid

Everything is estimated and validated first; if the total would go over the budget (the
``budget`` argument, else the client's remaining budget) nothing is submitted. Submissions go
through a thread pool and the client's own limiter (one limiter, no second guess), so they leave
exactly as fast as the rate limits allow. Each job is then polled on its own schedule from one
scheduler: at the time the server's ``Retry-After`` names, else on the documented backoff, by a
small pool of workers (the client's limiter keeps them within the read budget); the runner is
``_batch_runner.py``. Failures (invalid requests, API errors, failed jobs) are collected on the
result, never raised. ``timeout=`` is one deadline for the whole batch (see ``_batch_runner``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubeez_nb._batch_runner import _message, _Runner, _terminal
from kubeez_nb._config import TERMINAL_OK
from kubeez_nb.contract.kinds import EXTEND_MODELS

#: seconds past a batch's deadline ``batch()`` waits for POSTs in flight before returning
_SUBMIT_GRACE_S = 0.75
#: Request keys that are about routing, not the model's parameters.
_META = ("kind",)


@dataclass
class BatchItem:
    """One request of a batch and what became of it."""

    index: int
    request: dict[str, Any]
    kind: str
    estimate: Any = None
    #: the request as the pipeline prepared it (``client.prepare``); None when it could not be
    prepared: Any = None
    #: a Job, or a JobGroup for ad-copy requests; None when nothing was submitted
    job: Any = None
    #: why the request failed (validation, API error, failed job), else None
    error: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None

    @property
    def jobs(self) -> list[Any]:
        if self.job is None:
            return []
        return list(getattr(self.job, "jobs", None) or [self.job])

    @property
    def status(self) -> str:
        if self.job is None:
            if self.error:
                return "not submitted"
            return "submitting" if self.submitted_at is not None else "pending"
        states = [str(j.status) for j in self.jobs]
        for s in ("failed", "cancelled"):
            if s in states:
                return s
        return states[0] if len(set(states)) == 1 else "running"

    @property
    def done(self) -> bool:
        return (self.job is None and self.error is not None) or (
            self.job is not None and all(_terminal(j) for j in self.jobs)
        )

    @property
    def ok(self) -> bool:
        return self.job is not None and all(str(j.status) in TERMINAL_OK for j in self.jobs)


class BatchResult:
    """The outcome of :func:`batch`: items, jobs, failures, a DataFrame and a gallery."""

    def __init__(
        self, items: list[BatchItem], *, grid: tuple[list[str], list[str]] | None = None
    ) -> None:
        self.items = items
        self.grid = grid
        self.started_at = time.time()
        self.finished_at: float | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        #: the batch's ``timeout`` (seconds) and whether it stopped there with jobs still running
        self.timeout: float | None = None
        self.timed_out = False

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Any:
        return iter(self.items)

    def __repr__(self) -> str:
        return f"BatchResult({self.summary()})"

    @property
    def jobs(self) -> list[Any]:
        """Every submitted job (ad-copy groups flattened), in request order."""
        return [j for it in self.items for j in it.jobs]

    @property
    def failures(self) -> list[BatchItem]:
        """Items that did not produce their outputs (not submitted, API error, failed job)."""
        return [it for it in self.items if it.done and not it.ok]

    @property
    def done(self) -> bool:
        return all(it.done for it in self.items)

    @property
    def cost(self) -> float:
        """Credits the server reported for the submitted jobs."""
        return sum(float(j.cost) for j in self.jobs if getattr(j, "cost", None) is not None)

    @property
    def estimate(self) -> float:
        """Credits estimated for the requests that were valid."""
        return sum(float(it.estimate) for it in self.items if it.estimate is not None)

    def summary(self) -> str:
        ok = sum(1 for it in self.items if it.ok)
        failed = len(self.failures)
        running = len(self.items) - ok - failed
        text = f"{len(self.items)} requests: {ok} completed, {failed} failed"
        if running:
            text += f", {running} running"
        text += f"; est. {self.estimate:,.4g} credits"
        if self.jobs:
            text += f", charged {self.cost:,.4g}"
        if self.finished_at is not None:
            text += f"; {self.finished_at - self.started_at:.1f} s"
        if self.timed_out and not self.done:
            text += (f"; stopped at its timeout of {self.timeout:g} s with jobs still running"
                     " (result.wait() follows them)")  # fmt: skip
        return text

    def wait(self, timeout: float | None = None) -> BatchResult:
        """Block until the batch is finished (started with ``wait=False``, or stopped at its
        ``timeout`` with jobs still running: those are followed now); returns it.

        ``timeout`` is a deadline in seconds (``TimeoutError`` past it; see ``Job.wait``).
        """
        from kubeez_nb.contract.checks import check_seconds

        timeout = check_seconds("timeout", timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"batch still running after {timeout:g} s; wait() again later")
        if (
            self._runner is not None
            and not self.done
            and (deadline is None or time.monotonic() < deadline)
        ):
            self._runner.follow(deadline)
        if not self.done and any(not _terminal(j) for j in self.jobs):
            raise TimeoutError(f"batch still running after {timeout:g} s; wait() again later")
        return self

    def to_dataframe(self) -> Any:
        """One row per request: its params, job id, status, estimate, cost, outputs, error, elapsed."""
        import pandas as pd

        rows = []
        for it in self.items:
            jobs = it.jobs
            outputs = [o for j in jobs for o in (j.outputs or [])]
            elapsed = None
            if it.submitted_at is not None and it.finished_at is not None:
                elapsed = it.finished_at - it.submitted_at
            costs = [float(j.cost) for j in jobs if getattr(j, "cost", None) is not None]
            rows.append(
                {
                    "index": it.index,
                    "kind": it.kind,
                    **{k: v for k, v in it.request.items() if k not in _META},
                    "job_id": ",".join(str(j.id) for j in jobs) or None,
                    "status": it.status,
                    "estimate": float(it.estimate) if it.estimate is not None else math.nan,
                    "cost": sum(costs) if costs else math.nan,
                    "output_urls": [o.url for o in outputs],
                    "local_paths": [o.local_path for o in outputs],
                    "error": it.error,
                    "elapsed_s": elapsed,
                }
            )
        return pd.DataFrame(rows).set_index("index")

    @property
    def df(self) -> Any:
        """Same as :meth:`to_dataframe`."""
        return self.to_dataframe()

    def gallery(self) -> Any:
        """A comparison gallery (prompts × models table for a grid batch), displayable."""
        from IPython.display import HTML

        return HTML(self._gallery_html())

    def _gallery_html(self) -> str:
        from kubeez_nb import render as media

        if self.grid is None:
            return media.group_html(self.jobs)
        prompts, models = self.grid
        by_cell = {(it.request.get("prompt"), it.request.get("model")): it for it in self.items}
        head = "".join(f"<th>{media._esc(m)}</th>" for m in models)
        body = []
        for p in prompts:
            cells = []
            for m in models:
                it = by_cell.get((p, m))
                cells.append(f"<td style='vertical-align:top'>{_cell_html(it)}</td>")
            body.append(
                f"<tr><th style='text-align:left;max-width:200px'>{media._esc(p)}</th>{''.join(cells)}</tr>"
            )
        return f"<table><thead><tr><th>prompt \\ model</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from kubeez_nb import render as media

        def build(res: BatchResult) -> dict[str, str]:
            lines = [res.summary()] + [
                f"  #{it.index} {it.status}: {it.error}" for it in res.failures
            ]
            html = f"<div><b>{media._esc(res.summary())}</b>{res._failures_html()}{res._gallery_html()}</div>"
            return {"text/plain": "\n".join(lines), "text/html": html}

        return media._safe("batch", build, self)

    def _failures_html(self) -> str:
        from kubeez_nb import render as media

        if not self.failures:
            return ""
        rows = "".join(
            f"<li>#{it.index} {media._esc(it.request.get('model'))}: {media._esc(it.error or it.status)}</li>"
            for it in self.failures
        )
        return (
            f"<details><summary>{len(self.failures)} failure(s)</summary><ul>{rows}</ul></details>"
        )


def _cell_html(item: BatchItem | None) -> str:
    from kubeez_nb import render as media

    if item is None:
        return ""
    if item.job is None:
        return f"<small style='color:#c62828'>{media._esc(item.error)}</small>"
    parts = []
    for job in item.jobs:
        parts.append(media.job_tile_html(job))
        if not job.outputs and not job.error:
            parts.append(f"<small>{media._esc(job.status)}</small>")
    cost = media.cost_text(item.job) if len(item.jobs) == 1 else ""
    return "".join(parts) + (f"<br><small>{media._esc(cost)}</small>" if cost else "")


# ---- requests ----------------------------------------------------------------------------------


def _requests_from(requests: Any, prompts: Sequence[str] | None, models: Sequence[str] | None,
                   common: Mapping[str, Any]) -> tuple[list[dict[str, Any]], tuple[list[str], list[str]] | None]:  # fmt: skip
    """Normalise the three input forms into a list of request dicts (+ the grid axes)."""
    if requests is None:
        if not prompts or not models:
            raise ValueError(
                "batch() needs requests (a list of dicts or a DataFrame), or prompts=[...] and models=[...] for a grid"
            )
        if isinstance(prompts, str) or isinstance(models, str):
            raise TypeError(
                "prompts and models must be lists of strings, e.g. prompts=['a fox'], models=['nano-banana-2']"
            )
        grid = (list(prompts), list(models))
        return [{"model": m, "prompt": p, **common} for p in prompts for m in models], grid
    if hasattr(requests, "to_dict") and hasattr(requests, "columns"):  # a pandas DataFrame
        rows = requests.to_dict(orient="records")
    elif isinstance(requests, Mapping):
        rows = [requests]
    elif isinstance(requests, Iterable) and not isinstance(requests, (str, bytes)):
        rows = list(requests)
    else:
        raise TypeError(
            f"batch() takes a list of dicts or a DataFrame, not {type(requests).__name__}"
        )
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(
                f"request #{i} is a {type(row).__name__}; each request must be a dict like {{'model': ..., 'prompt': ...}}"
            )
        out.append({**common, **{k: v for k, v in row.items() if not _missing(v)}})
    return out, None


def _missing(value: Any) -> bool:
    """NaN / None cells of a DataFrame mean "not given"."""
    if value is None:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def _prepare(client: Any, kind: str, request: Mapping[str, Any]) -> Any:
    """The request as the client's pipeline prepares it (body, estimate, every problem)."""
    p = {k: v for k, v in request.items() if k not in _META}
    model = p.pop("model", None)
    if kind == "extend":
        source = p.pop("source", None) or p.pop("source_task_id", None)
        if model in EXTEND_MODELS:  # "model": "fast" names the extend tier
            p.setdefault("extend_model", model)
            model = None
        p["extend_model"] = p.get("extend_model") or "fast"
        p["source"] = source
    return client.prepare(kind, model, **p)


def batch(
    requests: Any = None,
    *,
    client: Any = None,
    models: Sequence[str] | None = None,
    prompts: Sequence[str] | None = None,
    budget: float | None = None,
    confirm: bool = False,
    progress: bool = True,
    wait: bool = True,
    max_workers: int | None = None,
    timeout: float | None = None,
    **common: Any,
) -> BatchResult:
    """Run many requests at once; returns a :class:`BatchResult` (``.df``, ``.gallery()``).

    ``requests``: a list of dicts (each with ``"model"`` and its parameters, optionally
    ``"kind"``: media, music, dialogue, separation, extend, ad-copy), or a DataFrame with one row
    per request; or leave it out and pass ``prompts=[...]`` and ``models=[...]`` for a grid.
    Extra keyword arguments are parameters shared by every request (``aspect_ratio="16:9"``).

    Before anything is sent, every request is validated and estimated. Invalid ones are
    collected as failures. If the total estimate exceeds ``budget`` (else the client's remaining
    budget) :class:`~kubeez_nb.errors.BudgetExceededError` is raised; if a job costs more than
    the client's ``confirm_above`` and ``confirm`` is not True,
    :class:`~kubeez_nb.errors.ConfirmationRequired` is raised. Nothing is submitted then.

    ``wait=False`` returns at once while the batch runs in the background (``result.wait()``).
    ``timeout`` (seconds, None / ``inf`` for none) is one deadline for the whole batch: polls and
    waits are capped at it, no submission starts after it, and the result comes back at it with
    the jobs still running (``result.wait()`` follows them). ``budget`` and ``timeout`` take
    finite non-negative numbers only (``ValueError`` naming the argument otherwise).
    """
    from kubeez_nb.contract.checks import check_credits, check_seconds
    from kubeez_nb.errors import BudgetExceededError, ConfirmationRequired

    budget = check_credits("budget", budget)
    timeout = check_seconds("timeout", timeout)
    deadline = None if timeout is None else time.monotonic() + timeout

    if client is None:
        from kubeez_nb.client import connect

        client = connect()
    rows, grid = _requests_from(requests, prompts, models, common)
    items: list[BatchItem] = []
    for i, req in enumerate(rows):
        kind = str(req.get("kind") or "")
        item = BatchItem(index=i, request=dict(req), kind=kind or "media")
        try:
            item.kind = kind or client.kind_of(req.get("model"))
            item.prepared = _prepare(client, item.kind, req)
            item.prepared.raise_for_problems()
            item.estimate = item.prepared.estimate
        except Exception as exc:  # invalid requests are reported on the result, not raised
            item.error = _message(exc)
        items.append(item)

    total = sum(float(it.estimate) for it in items if it.estimate is not None)
    spent = float(getattr(client, "estimated_spend", 0.0) or 0.0)
    cap = budget
    if cap is None and getattr(client, "budget", None) is not None:
        cap = float(client.budget)
    if cap is not None and total + (spent if budget is None else 0.0) > cap + 1e-9:
        already = spent if budget is None else 0.0
        raise BudgetExceededError(
            f"This batch of {sum(it.estimate is not None for it in items)} job(s) is estimated at ≈ {total:,.4g} credits,"
            f" over the budget of {cap:,.4g} credits"
            + (f" ({already:,.4g} already spent)" if already else "")
            + "; nothing was submitted",
            estimate=total,
            budget=cap,
            spent=already,
            hint="Raise the cap (batch(..., budget=N) or Client(budget=N)), or run fewer / cheaper jobs.",
        )
    threshold = getattr(client, "confirm_above", None)
    if threshold is not None and not confirm:
        pricey = [
            it for it in items if it.estimate is not None and float(it.estimate) > float(threshold)
        ]
        if pricey:
            raise ConfirmationRequired(
                f"{len(pricey)} job(s) of this batch cost more than the confirm threshold of {float(threshold):g}"
                f" credits (batch total ≈ {total:,.4g}); nothing was submitted",
                estimate=total,
                threshold=float(threshold),
                hint="Pass batch(..., confirm=True) to run it, or raise Client(confirm_above=...).",
            )

    result = BatchResult(items, grid=grid)
    result.timeout = timeout
    runner = _Runner(client, result, progress=progress, max_workers=max_workers, deadline=deadline)
    result._runner = runner
    if wait and deadline is None:
        runner.run()
        return result
    result._thread = threading.Thread(target=runner.run, name="kubeez-batch", daemon=True)
    result._thread.start()
    if wait and deadline is not None:
        # POSTs still in flight at the deadline are let finish in the background (cutting one
        # would leave a job that may be billed but unknown); the result comes back now
        result._thread.join(max(deadline - time.monotonic(), 0.0) + _SUBMIT_GRACE_S)
        if result._thread.is_alive():
            result.timed_out = True
    return result


__all__ = ["BatchItem", "BatchResult", "batch"]
