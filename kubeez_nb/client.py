"""The Kubeez client: one method per route of the guide, validation and a price before every POST.

>>> client = Client()                       # KUBEEZ_API_KEY / KUBEEZ_BASE_URL, or arguments
>>> job = client.generate_media("nano-banana-2", "a red fox in snow", aspect_ratio="1:1")
>>> job.wait().outputs[0].url

Every generate method: resolve the model from the cached catalog → build the body
(:class:`~kubeez_nb.errors.ValidationError` lists every problem before any HTTP) → estimate →
budget / confirm guard → ledger row → POST (with the no-double-billing policy of ``_http``) →
:class:`~kubeez_nb.job.Job`. The client has no emulator code path: only the base URL and key differ.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from kubeez_nb._config import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_DEMO,
    ENV_DEMO_SPEED,
    MAX_UPLOAD_BYTES,
    RECHECK_GRACE_S,
    TERMINAL_FAILED,
    TERMINAL_OK,
    env_flag,
    kubeez_home,
)
from kubeez_nb._http import Reply, Secret, Transport
from kubeez_nb.errors import (
    APIError,
    BadRequestError,
    BudgetExceededError,
    ConfirmationRequired,
    FileTooLargeError,
    KubeezError,
    ModelNotFoundError,
    ValidationError,
    response_format_error,
)
from kubeez_nb.inputs import check_credits
from kubeez_nb.job import Job, JobGroup, normalize_status
from kubeez_nb.ledger import REJECTED, UNKNOWN
from kubeez_nb.matching import signature
from kubeez_nb.records import Asset, Balance, Captions

if TYPE_CHECKING:
    from kubeez_nb.contract.catalog import Catalog, Model
    from kubeez_nb.contract.pricing import Estimate

log = logging.getLogger("kubeez_nb.client")

#: page size asked of /v1/generations: the largest first (4x fewer reads of a 120/min budget);
#: the MCP twin documents 1-25, so a 400 on the first page falls back to the smaller size
PAGE_SIZES = (100, 25)
#: pages read at most by generations() unless max_pages says otherwise
MAX_PAGES = 400

#: live clients, so kz.jobs() can settle unsettled rows with one of them
_CLIENTS: weakref.WeakSet[Client] = weakref.WeakSet()
#: ledger keys whose POST is running in this process (reconciliation leaves them alone)
_INFLIGHT_KEYS: set[int] = set()
_INFLIGHT_LOCK = threading.Lock()


class _KeyedLocks:
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


_STATUS_KIND = {"media": "media", "extend": "media", "dialogue": "media", "ad-copy": "media"}


class Client:
    """A connection to the Kubeez API (or the local emulator: same code, another base URL).

    ``api_key``: argument, else ``KUBEEZ_API_KEY`` (needed only for ``/v1/*`` routes; a missing
    key fails on first use with a message saying how to set it or use demo mode).
    ``base_url``: argument, else ``KUBEEZ_BASE_URL``, else ``https://api.kubeez.com``.
    ``timeout``: (connect, read) seconds. ``home``: folder of the ledger and media cache (default
    ``KUBEEZ_HOME``). ``ledger``: record every job locally (and cache completed outputs).
    ``rate_limits``: per-group overrides of the documented limits. ``confirm_above``: jobs
    estimated above this many credits need ``confirm=True``. ``budget``: total credits this client
    may submit (estimates summed); going over raises ``BudgetExceededError`` before sending.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        home: str | Path | None = None,
        ledger: bool = True,
        rate_limits: Mapping[str, int] | None = None,
        confirm_above: float | None = None,
        budget: float | None = None,
    ) -> None:
        secret = _secret(api_key)
        api_key = None  # from here on only the masked Secret: no frame keeps the raw key
        base = (base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).strip()
        if not base.startswith(("http://", "https://")):
            raise ValueError(
                f"base_url must start with http:// or https:// (got {base!r}); the default is {DEFAULT_BASE_URL}"
            )
        self.confirm_above = confirm_above
        self.budget = budget
        self._transport = Transport(base, secret, timeout=timeout, rate_limits=rate_limits)
        self._home = Path(home).expanduser() if home is not None else None
        self._use_ledger = ledger
        self._ledger: Any = None
        self._cache: Any = None
        #: seconds before the duplicate check re-reads the history (see ``_http``'s policy)
        self.recheck_grace = RECHECK_GRACE_S
        #: credits estimated for the jobs this client submitted (what the budget is checked against)
        self.spent = 0.0
        self._catalog: Catalog | None = None
        self._lock = threading.RLock()
        self._known_ids: set[str] = set()
        self._twins = _KeyedLocks()
        _CLIENTS.add(self)

    @property
    def budget(self) -> float | None:
        """Total credits this client may submit (estimates summed); None: no limit."""
        return self._budget

    @budget.setter
    def budget(self, value: float | None) -> None:
        self._budget = check_credits("budget", value)

    @property
    def confirm_above(self) -> float | None:
        """Jobs estimated above this many credits need ``confirm=True``; None: never asked."""
        return self._confirm_above

    @confirm_above.setter
    def confirm_above(self, value: float | None) -> None:
        self._confirm_above = check_credits("confirm_above", value)

    def __repr__(self) -> str:
        transport = getattr(self, "_transport", None)  # repr of a half-built client never fails
        if transport is None:
            return "Client(unconfigured)"
        return (
            f"Client(base_url={self.base_url!r}, key={'set' if transport.has_key else 'missing'})"
        )

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def home(self) -> Path:
        """Folder of the ledger and media cache."""
        return (self._home or kubeez_home()).resolve()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- low level ---------------------------------------------------------------------------
    def request(self, method: str, path: str, **kw: Any) -> Any:
        """Any route, decoded JSON back (``params=``, ``json=``). Errors are typed."""
        return self._transport.request(method, path, **kw).data

    def _get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self._transport.request("GET", path, params=clean or None).data

    # ---- public discovery ------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """``GET /health``: ``{"status": "healthy"}`` when the service is up."""
        data = self._get("/health")
        if not isinstance(data, Mapping):
            raise response_format_error(200, data, "a health object")
        return dict(data)

    def catalog(self, refresh: bool = False) -> Catalog:
        """The full model catalog (``/docs/models.json``), fetched once per client."""
        from kubeez_nb.contract.catalog import Catalog

        with self._lock:
            if self._catalog is None or refresh:
                self._catalog = _catalog_from(self._get("/docs/models.json"), Catalog)
            return self._catalog

    def model(self, model_id: str) -> Model:
        """One model (``/docs/models/{id}.json``)."""
        from kubeez_nb.contract.catalog import Model

        data = self._get(f"/docs/models/{quote(model_id, safe='')}.json")
        if isinstance(data, Mapping) and isinstance(data.get("models"), list):
            rows = [
                r
                for r in data["models"]
                if isinstance(r, Mapping) and r.get("model_id") == model_id
            ]
            if not rows:
                raise ModelNotFoundError(
                    f"{model_id!r} is a model family, not one model; use client.family({model_id!r})"
                )
            data = rows[0]
        if not isinstance(data, Mapping) or "model_id" not in data:
            raise response_format_error(200, data, "a model row with 'model_id'")
        return Model.from_dict(data)

    def family(self, prefix: str) -> list[Model]:
        """Every variant of a model family (``/docs/models/{prefix}.json``), e.g. ``seedance-2``."""
        from kubeez_nb.contract.catalog import Catalog

        data = self._get(f"/docs/models/{quote(prefix, safe='')}.json")
        if isinstance(data, Mapping) and "model_id" in data:
            data = {"models": [data]}
        return _catalog_from(data, Catalog).models

    def models(self, model_type: str | None = None) -> Catalog:
        """``GET /v1/models`` (needs the key), optionally one ``model_type``."""
        from kubeez_nb.contract.catalog import Catalog

        return _catalog_from(self._get("/v1/models", model_type=model_type), Catalog)

    # ---- validation and price ------------------------------------------------------------------
    def _model_for(self, kind: str, model: Any) -> Model | None:
        """The catalog model of a request: given (id or Model), or the route's own model."""
        from kubeez_nb.contract.catalog import Model

        if isinstance(model, Model):
            return model
        catalog = self.catalog()
        if model is None:
            return catalog.endpoint_model(kind) if kind not in ("media", "music") else None
        if kind == "extend" and model in ("lite", "fast", "quality"):
            return None
        try:
            return catalog[model]
        except KeyError as exc:
            from kubeez_nb.contract.catalog import suggest

            close = suggest(str(model), list(catalog))
            hint = (
                f"Did you mean {', '.join(close)}?"
                if close
                else "client.catalog() lists the model ids."
            )
            raise ModelNotFoundError(f"Unknown model {model!r}", hint=hint) from exc

    def _body(self, kind: str, model: Model | None, params: Mapping[str, Any]) -> dict[str, Any]:
        from kubeez_nb.contract.catalog import build_body

        if kind in ("media", "music") and model is None:
            raise ValidationError("a model id is required (client.catalog() lists them)")
        return build_body(model, kind, params)

    def validate(self, model: Any = None, kind: str | None = None, **params: Any) -> None:
        """Raise :class:`ValidationError` listing every problem of a request; None when valid."""
        kind = kind or self._kind_of(model)
        self._body(kind, self._model_for(kind, model), params)

    def _kind_of(self, model: Any) -> str:
        if model is None:
            return "media"
        m = self._model_for("media", model)
        return m.endpoint if m is not None else "media"

    def estimate(self, model: Any = None, kind: str | None = None, **params: Any) -> Estimate:
        """Credits a request would cost (``float(est)``), with the formula in ``str(est)``.

        For ``kind="extend"``, pass ``extend_model`` (lite / fast / quality).
        """
        from kubeez_nb.contract.pricing import estimate

        kind = kind or self._kind_of(model)
        return estimate(self._model_for(kind, model), kind, params)

    # ---- the generate pipeline -------------------------------------------------------------
    def _guard(self, est: Estimate | None, confirm: bool) -> None:
        credits = float(est) if est is not None else 0.0
        if self.confirm_above is not None and credits > self.confirm_above and not confirm:
            raise ConfirmationRequired(estimate=credits, threshold=self.confirm_above)
        if self.budget is not None and self.spent + credits > self.budget + 1e-9:
            raise BudgetExceededError(estimate=credits, budget=self.budget, spent=self.spent)

    def _submit(
        self,
        kind: str,
        model: Model | None,
        body: dict[str, Any],
        *,
        confirm: bool,
        est: Estimate | None = None,
        path: str | None = None,
    ) -> tuple[Reply, Estimate | None, Any, float]:
        """Guard, ledger row, POST. Returns (reply, estimate, ledger key, submit time)."""
        from kubeez_nb.contract.pricing import estimate

        if est is None:
            est = estimate(model, kind, body)
        with self._lock:
            self._guard(est, confirm)
            self.spent += float(est) if est is not None else 0.0
        path = path or f"/v1/generate/{kind}"
        pending = SimpleNamespace(
            client=self,
            id=None,
            kind=kind,
            model=(model.id if model else None),
            status="submitting",
            created_at=None,
        )
        try:
            ledger = self.ledger
            # the row (body + first-send time) is written before the POST, or nothing is sent
            request_id = uuid.uuid4().hex  # the Idempotency-Key of every send of this request
            key = (
                ledger.record_submit(pending, body, est, request_key=request_id)
                if ledger is not None
                else None
            )
        except BaseException:
            with self._lock:
                self.spent -= float(est) if est is not None else 0.0
            raise
        submitted = time.time()
        if key is not None:
            with _INFLIGHT_LOCK:
                _INFLIGHT_KEYS.add(key)
        try:
            # identical requests are sent one at a time: a lost answer is then always matched to
            # the request that made the job (history rows cannot tell twins apart)
            with self._twins.hold(signature(model.id if model else None, body)):
                reply = self._transport.submit(
                    path,
                    body,
                    recover=lambda since: self._recover(kind, model, body, since, key),
                    grace=self.recheck_grace,
                    request_id=request_id,
                )
                ids = _reply_ids(reply.data)
                with self._lock:
                    self._known_ids.update(ids)
                if ledger is not None and key is not None and not _recovered(reply):
                    self._claim_answer(ledger, key, ids)
        except BaseException as exc:
            outcome = _outcome(exc)
            if outcome == REJECTED:
                with self._lock:
                    self.spent -= float(est) if est is not None else 0.0
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
                _INFLIGHT_KEYS.discard(key)
        if not isinstance(reply.data, Mapping):
            raise response_format_error(reply.status, reply.data, "a JSON object")
        return reply, est, key, submitted

    @staticmethod
    def _claim_answer(ledger: Any, key: int, ids: list[str]) -> None:
        """Attach the server's answer to the row at once (a killed process then leaves a row
        with its job id). Best effort: the job exists and is ours whatever the ledger says."""
        try:
            if not ledger.claim(key, ids):
                log.warning("job %s was already claimed by another ledger row", ", ".join(ids))
        except Exception:
            log.warning("could not attach job %s to its ledger row", ", ".join(ids), exc_info=True)

    def _job(
        self,
        kind: str,
        job_id: Any,
        reply: Reply,
        *,
        model: str | None,
        body: dict[str, Any],
        est: Any,
        key: Any,
        submitted: float,
    ) -> Job:
        if not isinstance(job_id, str) or not job_id:
            raise response_format_error(reply.status, reply.data, "an answer with a job id")
        raw = {
            k: v
            for k, v in reply.data.items()
            if k in ("status", "model", "source_task_id", "project_id")
        }
        if normalize_status(raw.get("status")) in TERMINAL_OK | TERMINAL_FAILED:
            # a submit answer is not the job's record (no outputs, no error message): the first
            # poll confirms a terminal state instead of trusting it blind
            raw.pop("status")
        job = Job(
            self,
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
        with self._lock:
            self._known_ids.add(job.id)
        self._record_status(job)
        return job

    def _generate(self, kind: str, model: Any, params: Mapping[str, Any], confirm: bool) -> Job:
        m = self._model_for(kind, model)
        body = self._body(kind, m, params)
        reply, est, key, submitted = self._submit(kind, m, body, confirm=confirm)
        data = reply.data
        job_id = data.get("generation_id") or data.get("separation_id") or data.get("id")
        return self._job(
            kind,
            job_id,
            reply,
            model=data.get("model") or (m.id if m else None),
            body=body,
            est=est,
            key=key,
            submitted=submitted,
        )

    def generate_media(
        self, model: Any, prompt: str | None = None, *, confirm: bool = False, **params: Any
    ) -> Job:
        """``POST /v1/generate/media``: an image or video job, returned at once.

        ``params``: ``aspect_ratio``, ``duration``, ``resolution``, ``quality``, ``sound``,
        ``negative_prompt``, ``source_media_urls``, ``generation_type`` (what the model offers).
        """
        return self._generate("media", model, {"prompt": prompt, **params}, confirm)

    def generate_music(
        self, model: Any, prompt: str | None = None, *, confirm: bool = False, **params: Any
    ) -> Job:
        """``POST /v1/generate/music``: simple (``prompt``, ``instrumental``) or advanced
        (``title`` + ``style``, ``lyrics`` | ``song_description``, ``vocal_gender`` ...)."""
        return self._generate("music", model, {"prompt": prompt, **params}, confirm)

    def generate_dialogue(
        self, text: str, voice: str | None = None, *, confirm: bool = False, **params: Any
    ) -> Job:
        """``POST /v1/generate/dialogue``: one voice reading ``text`` (default voice: the first
        of the catalog's allowlist). ``stability``, ``similarity_boost``, ``style``, ``speed``,
        ``language_code`` are optional."""
        if voice is None:
            voices = self.catalog().voices
            voice = voices[0] if voices else None
        model = params.pop("model", None)
        return self._generate("dialogue", model, {"text": text, "voice": voice, **params}, confirm)

    def separate(self, media_url: str, *, confirm: bool = False, model: Any = None) -> Job:
        """``POST /v1/generate/separation``: vocals + instrumental stems of an audio track."""
        return self._generate("separation", model, {"media_url": media_url}, confirm)

    def extend(
        self, source: Job | str, prompt: str, extend_model: str = "fast", *, confirm: bool = False
    ) -> Job:
        """``POST /v1/generate/media/extend``: continue a finished Veo 3.1 clip.

        ``source`` is the clip's :class:`Job` (checked first: completed, extendable, not an
        extend, not 1080p) or its ``source_task_id``.
        """
        from kubeez_nb.contract.catalog import build_body, extend_problems

        catalog = self.catalog()
        model: Model | None = None
        problems = []
        if isinstance(source, Job):
            row = dict(source.raw)
            row.setdefault("id", source.id)
            row.setdefault("model", source.model)
            if source.kind == "extend":
                row["kind"] = "extend"
            problems = extend_problems(row, extend_model, catalog=catalog)
            task_id = source.source_task_id
            model = catalog.get(source.model) if source.model else None
        else:
            task_id = source
            problems = extend_problems(None, extend_model)
        params = {"source_task_id": task_id, "prompt": prompt, "extend_model": extend_model}
        try:
            body = build_body(model, "extend", params)
        except ValidationError as err:
            problems = [*problems, *err.problems]
        if problems:
            seen: list[Any] = []
            for p in problems:
                if p not in seen:
                    seen.append(p)
            raise ValidationError(seen, model=model.id if model else None)
        reply, est, key, submitted = self._submit(
            "extend", model, body, confirm=confirm, path="/v1/generate/media/extend"
        )
        data = reply.data
        job = self._job(
            "extend",
            data.get("generation_id") or data.get("id"),
            reply,
            model=data.get("model") or (model.id if model else None),
            body=body,
            est=est,
            key=key,
            submitted=submitted,
        )
        job.source_task_id = job.source_task_id or task_id
        return job

    def ad_copy(self, reference_ad_url: str, *, confirm: bool = False, **params: Any) -> JobGroup:
        """``POST /v1/generate/ad-copy``: ad creatives, one media job per variant (a JobGroup).

        ``params``: ``product_image_url``, ``product_text``, ``variant_count``, ``aspect_ratio``,
        ``language``.
        """
        model = params.pop("model", None)
        m = self._model_for("ad-copy", model)
        body = self._body("ad-copy", m, {"reference_ad_url": reference_ad_url, **params})
        reply, est, key, submitted = self._submit("ad-copy", m, body, confirm=confirm)
        data = reply.data
        ids = data.get("generation_ids")
        if not isinstance(ids, list) or not ids:
            raise response_format_error(
                reply.status, data, "an ad-copy answer with 'generation_ids'"
            )
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
            self._job(
                "ad-copy",
                gid,
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

    def captions(
        self, media_url: str, quality: str = "auto", *, confirm: bool = False, **params: Any
    ) -> Captions:
        """``POST /v1/generate/captions`` (synchronous): word timings of a video's or audio's speech.

        Not resubmitted after an ambiguous failure: it may have been billed, and its result
        cannot be fetched again, so the error is raised for you to decide.
        """
        from kubeez_nb.contract.pricing import estimate

        model = params.pop("model", None)
        m = self._model_for("captions", model)
        body = self._body("captions", m, {"media_url": media_url, "quality": quality, **params})
        est = estimate(m, "captions", body)
        with self._lock:
            self._guard(est, confirm)
        reply = self._transport.submit("/v1/generate/captions", body, recover=None, attempts=1)
        with self._lock:
            self.spent += float(est)
        return Captions.from_json(reply.data, media_url=media_url)

    # ---- no double billing ------------------------------------------------------------------
    def _recover(
        self,
        kind: str,
        model: Model | None,
        body: Mapping[str, Any],
        since: float,
        key: int | None = None,
    ) -> Reply | None:
        """After an ambiguous POST failure: the job the server accepted anyway, if any.

        Exact matching of ``/v1/generations`` rows (:mod:`kubeez_nb.matching`); a row this
        process handed to another request, or another ledger row claimed, is never taken.
        Identical requests of this client are never in flight together (``_submit``), and the
        claim is made in the ledger, so twins never share a job.
        """
        from kubeez_nb import matching

        model_id = model.id if model else None
        history = matching.history_since(self, since, model_id)
        matches = matching.candidates(history, kind, model_id, body, since)
        ledger = self.ledger if key is not None else None
        with self._lock:
            taken = set(self._known_ids)
            if ledger is not None:
                taken |= ledger.claimed([m[1] for m in matches])
            ids = matching.claim_first(matching.pick(matches, kind, body, taken), ledger, key)
            if not ids:
                return None
            self._known_ids.update(ids)
        if kind == "ad-copy":
            project = next((m[2].get("project_id") for m in matches if m[1] == ids[0]), None)
            return Reply(200, {"project_id": project, "generation_ids": ids, "recovered": True})
        row = next(m[2] for m in matches if m[1] == ids[0])
        id_key = "separation_id" if kind == "separation" else "generation_id"
        data = {id_key: ids[0], "status": row.get("status"), "model": row.get("model")}
        return Reply(200, {**data, "recovered": True})

    # ---- jobs --------------------------------------------------------------------------------
    def job(self, job_id: str, kind: str = "media") -> Job:
        """Re-attach to a job by id (``kind``: media, music, separation, dialogue, extend, ad-copy)."""
        job = Job(self, job_id, kind)
        with self._lock:
            self._known_ids.add(job.id)
        return job.refresh()

    # ---- uploads and assets ------------------------------------------------------------------
    def upload(self, file: str | Path | IO[bytes], filename: str | None = None) -> list[str]:
        """``POST /v1/upload/media``: stream a local file (max 500 MB); returns its signed URLs."""
        from requests_toolbelt import MultipartEncoder

        own = isinstance(file, (str, Path))
        fh: IO[bytes] = open(file, "rb") if own else file  # type: ignore[arg-type]  # noqa: SIM115
        try:
            name = filename or (
                Path(file).name if own else Path(str(getattr(fh, "name", "upload.bin"))).name
            )
            start = fh.tell() if fh.seekable() else 0
            size = _size(fh)
            if size is not None and size - start > MAX_UPLOAD_BYTES:
                raise FileTooLargeError(
                    f"{name} is {size - start:,} bytes; uploads are limited to {MAX_UPLOAD_BYTES:,} bytes (500 MB)",
                )
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"

            def body() -> tuple[Any, dict[str, str]]:
                if fh.seekable():
                    fh.seek(start)
                enc = MultipartEncoder(fields={"file": (name, fh, mime)})
                return enc, {"Content-Type": enc.content_type}

            reply = self._transport.request(
                "POST",
                "/v1/upload/media",
                body_factory=body,
                timeout=(self._connect_timeout(), 600.0),
            )
        finally:
            if own:
                fh.close()
        data = reply.data
        urls: Any = None
        if isinstance(data, Mapping):
            urls = data.get("urls")
            if urls is None and isinstance(data.get("url"), str):
                urls = [data["url"]]
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise response_format_error(reply.status, data, "an upload answer with 'urls'")
        return [self._transport.resolve(u) or u for u in urls]

    def _connect_timeout(self) -> float:
        t = self._transport.timeout
        return float(t[0] if isinstance(t, tuple) else t)

    def assets(self) -> list[Asset]:
        """``GET /v1/assets``: the Asset Library (URLs signed for about an hour)."""
        data = self._get("/v1/assets")
        rows = data.get("assets") if isinstance(data, Mapping) else data
        if not isinstance(rows, list):
            raise response_format_error(200, data, "an asset list")
        return [Asset.from_json(r, self._transport.resolve) for r in rows]

    def add_asset(self, name: str, url: str) -> Asset:
        """``POST /v1/assets``: save a public URL under a stable ``name``."""
        body = {"name": name, "url": url}

        def recover(since: float) -> Reply | None:
            for asset in self.assets():
                if asset.name == name:
                    return Reply(200, {"asset": asset.raw})
            return None

        reply = self._transport.submit("/v1/assets", body, recover=recover)
        return Asset.from_json(reply.data, self._transport.resolve)

    def rename_asset(self, asset_id: str, name: str) -> Asset:
        """``PATCH /v1/assets/{id}``: give an asset a new name."""
        reply = self._transport.request(
            "PATCH", f"/v1/assets/{quote(asset_id, safe='')}", json={"name": name}
        )
        return Asset.from_json(reply.data, self._transport.resolve)

    def delete_asset(self, asset_id: str | Asset) -> None:
        """``DELETE /v1/assets/{id}`` (permanent)."""
        ident = asset_id.id if isinstance(asset_id, Asset) else asset_id
        self._transport.request("DELETE", f"/v1/assets/{quote(ident, safe='')}")

    # ---- account -----------------------------------------------------------------------------
    def balance(self) -> Balance:
        """``GET /v1/balance``: credits left."""
        return Balance.from_json(self._get("/v1/balance"))

    def generations(
        self, *, max_pages: int | None = MAX_PAGES, **filters: Any
    ) -> list[dict[str, Any]]:
        """``GET /v1/generations``: recent jobs, newest first, every page the server offers.

        Filters: ``status``, ``model``, ``generation_type`` (and ``limit`` per page). Follows
        ``next_cursor`` / ``has_more`` / ``offset`` pagination when present.
        """
        out: list[dict[str, Any]] = []
        for rows in self.iter_generation_pages(max_pages=max_pages, **filters):
            out.extend(rows)
        return out

    def iter_generation_pages(
        self, *, max_pages: int | None = MAX_PAGES, **filters: Any
    ) -> Iterator[list[dict[str, Any]]]:
        """The pages of ``GET /v1/generations`` one at a time (newest first), lazily."""
        params = _clean({"limit": PAGE_SIZES[0], **filters})
        seen_cursors: set[str] = set()
        pages = 0
        while True:
            try:
                data = self._get("/v1/generations", **params)
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

    def history(self, **filters: Any) -> Any:
        """Generations (server) joined with the local ledger, as a typed pandas DataFrame."""
        from kubeez_nb.history import history_frame

        return history_frame(self, **filters)

    # ---- ledger and cache hooks ----------------------------------------------------------------
    @property
    def ledger(self) -> Any:
        """The local job ledger (``home/ledger.sqlite3``), or None when disabled."""
        if not self._use_ledger:
            return None
        with self._lock:
            if self._ledger is None:
                from kubeez_nb.ledger import ledger_for

                self._ledger = ledger_for(self.home)
            return self._ledger

    @property
    def cache(self) -> Any:
        """The media cache (``home/media``), or None when the ledger is disabled."""
        if not self._use_ledger:
            return None
        with self._lock:
            if self._cache is None:
                from kubeez_nb.cache import MEDIA_DIR, MediaCache

                self._cache = MediaCache(
                    self.home / MEDIA_DIR, ledger=self.ledger, download=self._transport.download
                )
            return self._cache

    def download(self, url: str, dest: str | Path) -> Path:
        """Stream a media URL to ``dest`` (the key is never sent with it)."""
        return self._transport.download(url, dest)

    def _record_status(self, job: Job) -> None:
        ledger = self.ledger
        _best_effort(None if ledger is None else ledger.record_status, job, "update the ledger for")

    def _cache_outputs(self, job: Job) -> None:
        cache = self.cache
        _best_effort(None if cache is None else cache.fetch, job, "cache the outputs of")


# ---- helpers ---------------------------------------------------------------------------------


def _catalog_from(data: Any, catalog_cls: Any) -> Catalog:
    if not isinstance(data, (Mapping, list)):
        raise response_format_error(200, data, "a model catalog")
    try:
        return catalog_cls.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, KubeezError):
            raise
        raise response_format_error(200, data, f"a model catalog ({exc})") from None


def _secret(api_key: str | None) -> Secret | None:
    """The key (argument, else ``KUBEEZ_API_KEY``) wrapped at once in a masked Secret."""
    raw = api_key if api_key is not None else os.environ.get(ENV_API_KEY)
    raw = raw.strip() if isinstance(raw, str) else None
    return Secret(raw) if raw else None


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


def _size(fh: IO[bytes]) -> int | None:
    try:
        return os.fstat(fh.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        pass
    try:
        if fh.seekable():
            here = fh.tell()
            end = fh.seek(0, os.SEEK_END)
            fh.seek(here)
            return end
    except OSError:
        return None
    return None


# ---- connect ---------------------------------------------------------------------------------

_DEMO: Any = None
_DEMO_LOCK = threading.Lock()


def _best_effort(step: Any, job: Job, what: str) -> None:
    """Run a bookkeeping ``step(job)`` (ledger, cache): a failure there must never fail the job."""
    if step is None:
        return
    try:
        step(job)
    except Exception:
        log.warning("could not %s job %s", what, job.id, exc_info=True)


def _announce(text: str) -> None:
    # plain print: the client imports no IPython, and a notebook shows stdout just as well
    print(text, flush=True)


def demo_emulator(speed: float = 20.0) -> Any:
    """The process-wide demo emulator (started on first use)."""
    global _DEMO
    with _DEMO_LOCK:
        if _DEMO is None:
            from kubeez_nb.emulator import Emulator

            _DEMO = Emulator(speed=speed).start()
            # host:port without a scheme: a notebook must not offer a link the browser may not reach
            where = _DEMO.url.split("://", 1)[-1]
            _announce(f"Kubeez demo mode: local emulator at {where}, no credits spent.")
        return _DEMO


def connect(demo: bool = False, **kw: Any) -> Client:
    """A ready client: the real API from ``KUBEEZ_API_KEY`` / arguments, or with ``demo=True``
    (or ``KUBEEZ_DEMO=1``) a local emulator (announced; nothing is billed)."""
    if demo or env_flag(ENV_DEMO):
        emu = demo_emulator(float(kw.pop("speed", None) or os.environ.get(ENV_DEMO_SPEED) or 20.0))
        kw.pop("api_key", None)
        kw.pop("base_url", None)
        return Client(api_key=emu.api_key, base_url=emu.url, **kw)
    return Client(**kw)


__all__ = ["Client", "connect"]
