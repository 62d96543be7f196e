"""The Kubeez client: one method per route of the guide, validation and a price before every POST.

>>> client = Client()                       # KUBEEZ_API_KEY / KUBEEZ_BASE_URL, or arguments
>>> job = client.generate_media("nano-banana-2", "a red fox in snow", aspect_ratio="1:1")
>>> job.wait().outputs[0].url

Every generate method is ``submit(prepare(kind, model, **params))`` (:mod:`kubeez_nb.pipeline`):
resolve the model from the cached catalog → build the body and list every problem → estimate
(all without HTTP) → the one confirm / budget guard → ledger row → POST (with the
no-double-billing policy of ``_http``) → :class:`~kubeez_nb.job.Job`. The client has no emulator
code path: only the base URL and key differ.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import threading
import warnings
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast
from urllib.parse import quote

from kubeez_nb import pipeline
from kubeez_nb._config import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_DEMO,
    ENV_DEMO_SPEED,
    MAX_UPLOAD_BYTES,
    RECHECK_GRACE_S,
    env_flag,
    kubeez_home,
)
from kubeez_nb._http import Reply, Secret, Transport
from kubeez_nb._pages import MAX_PAGES, GenerationPage, generation_pages
from kubeez_nb.contract.checks import check_credits
from kubeez_nb.errors import (
    FileTooLargeError,
    KubeezError,
    ModelNotFoundError,
    ValidationError,
    response_format_error,
)
from kubeez_nb.job import Job, JobGroup, Observer
from kubeez_nb.pipeline import Request
from kubeez_nb.records import Asset, AssetList, Balance, Captions, Uploaded

if TYPE_CHECKING:
    from kubeez_nb.contract.catalog import Catalog, Model
    from kubeez_nb.contract.pricing import Estimate

log = logging.getLogger("kubeez_nb.client")

#: live clients, so kz.jobs() can settle unsettled rows with one of them
_CLIENTS: weakref.WeakSet[Client] = weakref.WeakSet()


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
        #: credits *estimated* for the jobs this client submitted (what the budget is checked
        #: against; what the server billed is in ``job.cost`` / ``client.history()``)
        self.estimated_spend = 0.0
        #: ``observer(job, event)`` given to every job of this client (ledger, media cache)
        self.observers: list[Observer] = [self._observe]
        self._catalog: Catalog | None = None
        self._lock = threading.RLock()
        self._known_ids: set[str] = set()
        self._twins = pipeline.KeyedLocks()
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

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from kubeez_nb.contract.htmltable import bundle, esc

        key = "key set" if "key=set" in repr(self) else "<b style='color:#c62828'>no key</b>"
        url = esc(getattr(getattr(self, "_transport", None), "base_url", "unconfigured"))
        return bundle(repr(self), f"<div><b>Kubeez client</b> · <code>{url}</code> · {key}</div>")

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
    def validate(self, model: Any = None, kind: str | None = None, **params: Any) -> None:
        """Raise :class:`ValidationError` listing every problem of a request; None when valid."""
        self.prepare(kind or self.kind_of(model), model, **params).raise_for_problems()

    def kind_of(self, model: Any) -> str:
        """The request kind of a model (its route); ``media`` for None or an unknown id."""
        from kubeez_nb.contract.catalog import Model

        if isinstance(model, Model):
            return model.endpoint
        found = self.catalog().get(model) if isinstance(model, str) else None
        return found.endpoint if found is not None else "media"

    def estimate(self, model: Any = None, kind: str | None = None, **params: Any) -> Estimate:
        """Credits a request would cost (``float(est)``), with the formula in ``str(est)``.

        For ``kind="extend"``, pass ``extend_model`` (lite / fast / quality). A request with
        problems is still priced when it can be; else its ``ValidationError`` is raised.
        """
        req = self.prepare(kind or self.kind_of(model), model, **params)
        if req.estimate is None:
            req.raise_for_problems()
            raise ValidationError(
                "this request cannot be priced", model=req.model.id if req.model else None
            )
        return req.estimate

    # ---- the one pipeline (kubeez_nb.pipeline) ------------------------------------------------
    def prepare(self, kind: str, model: str | Model | None = None, **params: Any) -> Request:
        """A :class:`~kubeez_nb.pipeline.Request`: the body, the estimate and every problem of
        one generate request, computed once, without HTTP (beyond the cached catalog)."""
        return pipeline.prepare(self, kind, model, **params)

    def submit(
        self, request: Request, *, confirm: bool = False, confirm_above: float | None = None
    ) -> Job | JobGroup | Captions:
        """Send a prepared request: ``ValidationError`` when it has problems,
        ``ConfirmationRequired`` above ``confirm_above`` (default ``self.confirm_above``) unless
        ``confirm``, ``BudgetExceededError`` over the budget; then ledger row, then POST."""
        return pipeline.submit(self, request, confirm=confirm, confirm_above=confirm_above)

    def generate_media(
        self, model: Any, prompt: str | None = None, *, confirm: bool = False, **params: Any
    ) -> Job:
        """``POST /v1/generate/media``: an image or video job, returned at once.

        ``params``: ``aspect_ratio``, ``duration``, ``resolution``, ``quality``, ``sound``,
        ``negative_prompt``, ``source_media_urls``, ``generation_type`` (what the model offers).
        """
        req = self.prepare("media", model, prompt=prompt, **params)
        return cast(Job, self.submit(req, confirm=confirm))

    def generate_music(
        self, model: Any, prompt: str | None = None, *, confirm: bool = False, **params: Any
    ) -> Job:
        """``POST /v1/generate/music``: simple (``prompt``, ``instrumental``) or advanced
        (``title`` + ``style``, ``lyrics`` | ``song_description``, ``vocal_gender`` ...)."""
        req = self.prepare("music", model, prompt=prompt, **params)
        return cast(Job, self.submit(req, confirm=confirm))

    def generate_dialogue(
        self, text: str, voice: str | None = None, *, confirm: bool = False, **params: Any
    ) -> Job:
        """``POST /v1/generate/dialogue``: one voice reading ``text`` (default voice: the first
        of the catalog's allowlist). ``stability``, ``similarity_boost``, ``style``, ``speed``,
        ``language_code`` are optional."""
        model = params.pop("model", None)
        req = self.prepare("dialogue", model, text=text, voice=voice, **params)
        return cast(Job, self.submit(req, confirm=confirm))

    def separate(self, media_url: str, *, confirm: bool = False, model: Any = None) -> Job:
        """``POST /v1/generate/separation``: vocals + instrumental stems of an audio track."""
        req = self.prepare("separation", model, media_url=media_url)
        return cast(Job, self.submit(req, confirm=confirm))

    def extend(
        self,
        source: Job | str,
        prompt: str,
        extend_model: str = "fast",
        *,
        confirm: bool = False,
        model: Any = None,
    ) -> Job:
        """``POST /v1/generate/media/extend``: continue a finished Veo 3.1 clip.

        ``source`` is the clip's :class:`Job` (checked first: completed, extendable, not an
        extend, not 1080p) or its ``source_task_id``; ``model``: the clip's model when
        ``source`` is an id (it sets the price, which the model's cost note lists).
        """
        req = self.prepare("extend", model, source=source, prompt=prompt, extend_model=extend_model)
        return cast(Job, self.submit(req, confirm=confirm))

    def ad_copy(self, reference_ad_url: str, *, confirm: bool = False, **params: Any) -> JobGroup:
        """``POST /v1/generate/ad-copy``: ad creatives, one media job per variant (a JobGroup).

        ``params``: ``product_image_url``, ``product_text``, ``variant_count``, ``aspect_ratio``,
        ``language``.
        """
        model = params.pop("model", None)
        req = self.prepare("ad-copy", model, reference_ad_url=reference_ad_url, **params)
        return cast(JobGroup, self.submit(req, confirm=confirm))

    def captions(
        self, media_url: str, quality: str = "auto", *, confirm: bool = False, **params: Any
    ) -> Captions:
        """``POST /v1/generate/captions`` (synchronous): word timings of a video's or audio's speech.

        Not resubmitted after an ambiguous failure: it may have been billed, and its result
        cannot be fetched again, so the error is raised for you to decide.
        """
        model = params.pop("model", None)
        req = self.prepare("captions", model, media_url=media_url, quality=quality, **params)
        return cast(Captions, self.submit(req, confirm=confirm))

    # ---- jobs --------------------------------------------------------------------------------
    def job(self, job_id: str, kind: str = "media") -> Job:
        """Re-attach to a job by id (``kind``: media, music, separation, dialogue, extend, ad-copy)."""
        return self._new_job(job_id, kind).refresh()

    def _new_job(self, job_id: str, kind: str = "media", **kw: Any) -> Job:
        """A Job of this client (its transport and observers), its id remembered as ours."""
        job = Job(self, job_id, kind, transport=self._transport, observers=self.observers, **kw)
        with self._lock:
            self._known_ids.add(job.id)
        return job

    @property
    def transport(self) -> Transport:
        """The HTTP transport (rate limits, retries, no double billing) jobs poll through."""
        return self._transport

    @property
    def spent(self) -> float:
        """Deprecated alias of :attr:`estimated_spend` (it always held estimates, not bills)."""
        warnings.warn(
            "Client.spent is deprecated: use Client.estimated_spend (estimates, not bills)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.estimated_spend

    # ---- uploads and assets ------------------------------------------------------------------
    def upload(self, file: str | Path | IO[bytes], filename: str | None = None) -> list[str]:
        """``POST /v1/upload/media``: stream a local file (max 500 MB); returns its signed URLs."""
        from requests_toolbelt import MultipartEncoder

        own = isinstance(file, (str, Path))
        fh: IO[bytes] = open(file, "rb") if isinstance(file, (str, Path)) else file  # noqa: SIM115
        try:
            name = filename or (
                Path(file).name
                if isinstance(file, (str, Path))
                else Path(str(getattr(fh, "name", "upload.bin"))).name
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
        return Uploaded(self._transport.resolve(u) or u for u in urls)

    def _connect_timeout(self) -> float:
        t = self._transport.timeout
        return float(t[0] if isinstance(t, tuple) else t)

    def assets(self) -> list[Asset]:
        """``GET /v1/assets``: the Asset Library (URLs signed for about an hour)."""
        data = self._get("/v1/assets")
        rows = data.get("assets") if isinstance(data, Mapping) else data
        if not isinstance(rows, list):
            raise response_format_error(200, data, "an asset list")
        return AssetList(Asset.from_json(r, self._transport.resolve) for r in rows)

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
    ) -> Iterator[GenerationPage]:
        """The pages of ``GET /v1/generations`` (newest first), lazily; ``page.next`` is the
        following page's query (None at the end): ``**page.next`` continues a read later."""
        return generation_pages(self._get, max_pages=max_pages, **filters)

    def history(self, **filters: Any) -> Any:
        """Generations (server, via the local mirror) + ledger as a typed DataFrame: history_frame."""
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

    def _observe(self, job: Job, event: str) -> None:
        """The client's job observer: every status into the ledger; outputs into the media
        cache once completed (Job runs observers best effort: a failure never fails the job)."""
        if event == "status" and self.ledger is not None:
            self.ledger.record_status(job)
        elif event == "completed" and self.cache is not None:
            self.cache.fetch(job)


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
