"""The one request pipeline: ``prepare`` (body, estimate, every problem; no HTTP) and ``submit``
(the one confirm / budget guard, the ledger row, the POST with the no-double-billing policy).

>>> req = client.prepare("media", "nano-banana-2", prompt="a fox", aspect_ratio="16:9")
>>> req.ok, float(req.estimate), req.code()
(True, 4.0, 'client.generate_media("nano-banana-2", prompt="a fox", aspect_ratio="16:9")')
>>> job = client.submit(req)

Every front end (``generate_*``, the magic, the panels, ``batch``) goes through these two
functions; nothing else validates, prices, guards or posts a generate request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace
from typing import TYPE_CHECKING, Any

from kubeez_nb._call_code import call_code
from kubeez_nb._config import TERMINAL_FAILED, TERMINAL_OK
from kubeez_nb._http import Reply
from kubeez_nb.contract import wire
from kubeez_nb.contract.kinds import KINDS
from kubeez_nb.errors import (
    APIError,
    BudgetExceededError,
    ConfirmationRequired,
    KubeezError,
    Problem,
    ValidationError,
    response_format_error,
)
from kubeez_nb.job import Job, JobGroup
from kubeez_nb.ledger import REJECTED, UNKNOWN
from kubeez_nb.matching import signature
from kubeez_nb.records import Captions

if TYPE_CHECKING:
    from kubeez_nb.client import Client
    from kubeez_nb.contract.catalog import Model
    from kubeez_nb.contract.pricing import Estimate

log = logging.getLogger("kubeez_nb.pipeline")

#: ledger keys whose POST is running in this process (reconciliation leaves them alone)
INFLIGHT_KEYS: set[int] = set()
_INFLIGHT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Request:
    """One generate request, computed once: what would be POSTed, its price, its problems."""

    kind: str
    model: Model | None
    body: Mapping[str, Any]
    estimate: Estimate | None
    problems: tuple[Problem, ...]
    count: int = 1

    @property
    def ok(self) -> bool:
        """No problems: the request can be sent."""
        return not self.problems

    def raise_for_problems(self) -> None:
        """:class:`ValidationError` listing every problem, when there is any."""
        if self.problems:
            raise ValidationError(list(self.problems), model=self.model.id if self.model else None)

    def code(self, client: str = "client") -> str:
        """The Python call that makes this request (running it gives the same body and price)."""
        return call_code(
            self.kind, self.body, model=self.model.id if self.model else None, client=client
        )

    def __repr__(self) -> str:
        price = f"{float(self.estimate):g} credits" if self.estimate is not None else "no price"
        state = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        return f"Request({self.kind}, {self.model.id if self.model else None}, {price}, {state})"


# ---- prepare ---------------------------------------------------------------------------------


def prepare(client: Client, kind: str, model: Any = None, **params: Any) -> Request:
    """Resolve the model, build the body, price it, list every problem. No HTTP beyond the
    cached catalog; user-input problems (an unknown model included) are returned, never raised."""
    from kubeez_nb.contract.catalog import Model
    from kubeez_nb.contract.rules import build_body, extend_problems

    problems: list[Problem] = []
    if kind not in KINDS:
        msg = f"{kind!r} is not a request kind; choose one of {', '.join(KINDS)}"
        problems.append(Problem("kind", kind, list(KINDS), msg))
        return Request(kind, None, MappingProxyType({}), None, tuple(problems))
    catalog = client.catalog()
    m: Model | None = None
    if kind == "extend":
        source = params.pop("source", None)
        if isinstance(source, Job):
            row = dict(source.raw)
            row.setdefault("id", source.id)
            row.setdefault("model", source.model)
            if source.kind == "extend":
                row["kind"] = "extend"
            problems += extend_problems(row, params.get("extend_model"), catalog=catalog)
            params.setdefault("source_task_id", source.source_task_id)
            if model is None and source.model:
                model = catalog.get(source.model)
        else:
            if source is not None:
                params.setdefault("source_task_id", source)
            problems += extend_problems(None, params.get("extend_model"))
    if kind == "dialogue" and params.get("voice") is None:
        voices = catalog.voices
        params["voice"] = voices[0] if voices else None
    if isinstance(model, Model):
        m = model
    elif model is None:
        m = catalog.endpoint_model(kind) if not KINDS[kind].model_chosen else None
    elif kind == "extend" and model in ("lite", "fast", "quality"):
        m = None
    elif model in catalog:
        m = catalog[model]
    else:
        problems.append(_unknown_model(model, list(catalog)))
        return Request(kind, None, MappingProxyType(dict(params)), None, tuple(problems))
    if KINDS[kind].model_chosen and m is None and not problems:
        problems.append(
            Problem(
                "model",
                None,
                "a model id from the catalog",
                "a model id is required (client.catalog() lists them)",
                code="missing_model",
            )
        )
    body: dict[str, Any] = {k: v for k, v in params.items() if v is not None}
    if not problems:
        try:
            body = build_body(m, kind, params)
        except ValidationError as err:
            problems += err.problems
    elif m is not None or kind == "extend":
        try:
            build_body(m, kind, params)
        except ValidationError as err:
            problems += err.problems
    est = _estimate(m, kind, body)
    count = int(body.get("variant_count") or 1) if kind == "ad-copy" and not problems else 1
    return Request(kind, m, MappingProxyType(body), est, tuple(_unique(problems)), count)


def _estimate(model: Model | None, kind: str, body: Mapping[str, Any]) -> Estimate | None:
    from kubeez_nb.contract.pricing import estimate

    try:
        return estimate(model, kind, body)
    except Exception:  # a price is advice: a body the rules refuse may not price
        log.debug("no estimate for %s", kind, exc_info=True)
        return None


def _unknown_model(model: Any, ids: list[str]) -> Problem:
    from kubeez_nb.contract.catalog import suggest

    close = suggest(str(model), ids)
    hint = f"; did you mean {', '.join(close)}?" if close else "; client.catalog() lists the ids"
    return Problem(
        "model",
        model,
        close or "a model id from the catalog",
        f"unknown model {model!r}{hint}",
        code="unknown_model",
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: list[Problem] = []
    for p in problems:
        if p not in seen:
            seen.append(p)
    return seen


# ---- submit ----------------------------------------------------------------------------------


def submit(
    client: Client,
    request: Request,
    *,
    confirm: bool = False,
    confirm_above: float | None = None,
) -> Job | JobGroup | Captions:
    """The one guard (problems, confirmation, budget), then the ledger, then the transport."""
    request.raise_for_problems()
    body = dict(request.body)
    est = request.estimate
    from kubeez_nb.contract.checks import check_credits

    if isinstance(confirm_above, float) and confirm_above == math.inf:
        threshold = None  # this front end never asks (the magic's ``confirm_above = None``)
    else:
        override = check_credits("confirm_above", confirm_above)  # ValueError for nan, -1, "x"
        threshold = override if override is not None else client.confirm_above
    if request.kind == "captions":
        with client._lock:
            guard(client, est, confirm, threshold)
        reply = client._transport.submit(
            KINDS["captions"].post_path, body, recover=None, attempts=1
        )
        with client._lock:
            client.estimated_spend += float(est) if est is not None else 0.0
        return Captions.from_json(reply.data, media_url=body.get("media_url"))
    reply, key, submitted = _post(client, request, body, confirm, threshold)
    return _jobs(client, request, body, reply, key, submitted)


def guard(client: Client, est: Estimate | None, confirm: bool, threshold: float | None) -> None:
    """``ConfirmationRequired`` above ``threshold`` unless confirmed; ``BudgetExceededError``."""
    credits = float(est) if est is not None else 0.0
    if threshold is not None and credits > threshold and not confirm:
        raise ConfirmationRequired(estimate=credits, threshold=threshold)
    budget, spent = client.budget, client.estimated_spend
    if budget is not None and spent + credits > budget + 1e-9:
        raise BudgetExceededError(estimate=credits, budget=budget, spent=spent)


def _post(
    client: Client,
    request: Request,
    body: dict[str, Any],
    confirm: bool,
    threshold: float | None,
) -> tuple[Reply, Any, float]:
    """Guard, ledger row, POST. Returns (reply, ledger key, submit time)."""
    kind, model, est = request.kind, request.model, request.estimate
    credits = float(est) if est is not None else 0.0
    with client._lock:
        guard(client, est, confirm, threshold)
        client.estimated_spend += credits
    pending = SimpleNamespace(
        client=client,
        id=None,
        kind=kind,
        model=(model.id if model else None),
        status="submitting",
        created_at=None,
    )
    try:
        ledger = client.ledger
        # the row (body + first-send time) is written before the POST, or nothing is sent
        request_id = uuid.uuid4().hex  # the Idempotency-Key of every send of this request
        key = (
            ledger.record_submit(pending, body, est, request_key=request_id)
            if ledger is not None
            else None
        )
    except BaseException:
        with client._lock:
            client.estimated_spend -= credits
        raise
    submitted = time.time()
    if key is not None:
        with _INFLIGHT_LOCK:
            INFLIGHT_KEYS.add(key)
    try:
        # identical requests are sent one at a time: a lost answer is then always matched to
        # the request that made the job (history rows cannot tell twins apart)
        with client._twins.hold(signature(model.id if model else None, body)):
            reply = client._transport.submit(
                KINDS[kind].post_path,
                body,
                recover=lambda since: _recover(client, kind, model, body, since, key),
                grace=client.recheck_grace,
                request_id=request_id,
            )
            ids = _reply_ids(reply.data)
            with client._lock:
                client._known_ids.update(ids)
            if ledger is not None and key is not None and not _recovered(reply):
                _claim_answer(ledger, key, ids)
    except BaseException as exc:
        outcome = _outcome(exc)
        if outcome == REJECTED:
            with client._lock:
                client.estimated_spend -= credits
        if ledger is not None and key is not None:
            try:
                if outcome == REJECTED:
                    ledger.record_rejected(key, str(exc))
                else:
                    ledger.record_unknown(key, str(exc) or type(exc).__name__)
            except Exception:
                log.warning("could not record the outcome in the ledger", exc_info=True)
        raise
    finally:
        with _INFLIGHT_LOCK:
            INFLIGHT_KEYS.discard(key)
    if not isinstance(reply.data, Mapping):
        raise response_format_error(reply.status, reply.data, "a JSON object")
    return reply, key, submitted


def _jobs(
    client: Client,
    request: Request,
    body: dict[str, Any],
    reply: Reply,
    key: Any,
    submitted: float,
) -> Job | JobGroup:
    kind, m, est = request.kind, request.model, request.estimate
    data = reply.data
    if not KINDS[kind].multi:
        job = _job(
            client,
            kind,
            KINDS[kind].job_ids(data)[:1] or [None],
            reply,
            model=data.get("model") or (m.id if m else None),
            body=body,
            est=est,
            key=key,
            submitted=submitted,
        )
        if kind == "extend":
            job.source_task_id = job.source_task_id or body.get("source_task_id")
        return job
    ids = data.get("generation_ids")
    if not isinstance(ids, list) or not ids:
        raise response_format_error(reply.status, data, "an ad-copy answer with 'generation_ids'")
    share = None
    if est is not None:
        from kubeez_nb.contract.pricing import Estimate

        share = Estimate(
            float(est) / len(ids),
            f"1/{len(ids)} of: {est.breakdown}",
            est.approximate,
            est.model_id,
            est.billing,
        )
    jobs = [
        _job(
            client,
            kind,
            [gid],
            reply,
            model=m.id if m else None,
            body=body,
            est=share,
            key=key if i == 0 else None,
            submitted=submitted,
        )
        for i, gid in enumerate(ids)
    ]
    for job in jobs:
        job.project_id = data.get("project_id")
    return JobGroup(jobs, project_id=data.get("project_id"), estimate=est)


def _job(
    client: Client,
    kind: str,
    ids: list[Any],
    reply: Reply,
    *,
    model: str | None,
    body: dict[str, Any],
    est: Any,
    key: Any,
    submitted: float,
) -> Job:
    job_id = ids[0]
    if not isinstance(job_id, str) or not job_id:
        raise response_format_error(reply.status, reply.data, "an answer with a job id")
    keep = ("status", "model", "source_task_id", "project_id")
    raw = {k: v for k, v in reply.data.items() if k in keep}
    if wire.status(raw.get("status")) in TERMINAL_OK | TERMINAL_FAILED:
        # a submit answer is not the job's record (no outputs, no error message): the first
        # poll confirms a terminal state instead of trusting it blind
        raw.pop("status")
    job = client._new_job(
        job_id,
        kind,
        model=model,
        request=body,
        estimate=est,
        submitted_at=submitted,
        raw=raw or None,
        poll_hint=reply.retry_after(),
    )
    job.local_id = key
    job._notify()
    return job


def _claim_answer(ledger: Any, key: int, ids: list[str]) -> None:
    """Attach the server's answer to the row at once (a killed process then leaves a row with
    its job id). Best effort: the job exists and is ours whatever the ledger says."""
    try:
        if not ledger.claim(key, ids):
            log.warning("job %s was already claimed by another ledger row", ", ".join(ids))
    except Exception:
        log.warning("could not attach job %s to its ledger row", ", ".join(ids), exc_info=True)


# ---- no double billing -----------------------------------------------------------------------


def _recover(
    client: Client,
    kind: str,
    model: Model | None,
    body: Mapping[str, Any],
    since: float,
    key: int | None = None,
) -> Reply | None:
    """After an ambiguous POST failure: the job the server accepted anyway, if any.

    Exact matching of ``/v1/generations`` rows (:mod:`kubeez_nb.matching`); a row this process
    handed to another request, or another ledger row claimed, is never taken. Identical
    requests of one client are never in flight together (``_post``), and the claim is made in
    the ledger, so twins never share a job.
    """
    from kubeez_nb import matching

    model_id = model.id if model else None
    history = matching.history_since(client.iter_generation_pages, since, model_id)
    matches = matching.candidates(history, kind, model_id, body, since)
    ledger = client.ledger if key is not None else None
    with client._lock:
        taken = set(client._known_ids)
        if ledger is not None:
            taken |= ledger.claimed([m[1] for m in matches])
        ids = matching.claim_first(matching.pick(matches, kind, body, taken), ledger, key)
        if not ids:
            return None
        client._known_ids.update(ids)
    if KINDS[kind].multi:
        project = next((m[2].get("project_id") for m in matches if m[1] == ids[0]), None)
        return Reply(200, {"project_id": project, "generation_ids": ids, "recovered": True})
    row = next(m[2] for m in matches if m[1] == ids[0])
    data = {KINDS[kind].id_keys[0]: ids[0], "status": row.get("status"), "model": row.get("model")}
    return Reply(200, {**data, "recovered": True})


def _recovered(reply: Reply) -> bool:
    return isinstance(reply.data, Mapping) and bool(reply.data.get("recovered"))


def _outcome(exc: BaseException) -> str:
    """``rejected`` when the POST provably charged nothing, else ``unknown``."""
    if getattr(exc, "outcome", None) == UNKNOWN:
        return UNKNOWN
    if isinstance(exc, APIError) and exc.status is not None and exc.status < 500:
        return REJECTED  # refused (4xx, or 429s waited out): not accepted
    if isinstance(exc, KubeezError) and getattr(exc, "maybe_sent", None) is False:
        return REJECTED  # never reached the server
    if isinstance(exc, (ValidationError, ValueError)) and not isinstance(exc, APIError):
        return REJECTED  # refused before any HTTP
    return UNKNOWN


def _reply_ids(data: Any) -> list[str]:
    if not isinstance(data, Mapping):
        return []
    ids = [data.get(k) for k in ("generation_id", "separation_id", "id")]
    if isinstance(data.get("generation_ids"), list):
        ids += data["generation_ids"]
    return [str(i) for i in ids if isinstance(i, str) and i]


class KeyedLocks:
    """One lock per key, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[Any, list[Any]] = {}

    @contextmanager
    def hold(self, key: Any) -> Iterator[None]:
        with self._lock:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]


__all__ = ["INFLIGHT_KEYS", "KeyedLocks", "Request", "guard", "prepare", "submit"]
