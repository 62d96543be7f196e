"""The emulator's state and verbs: keys, credits, jobs, files, assets, history. No HTTP here.

Verbs are named like the API (``create_media``, ``get_generation``, ``add_asset`` ...). They take
already-parsed values, raise the small error classes of ``errors.py`` and return plain records;
``responses.py`` turns those into wire JSON.

Jobs advance lazily: a job stores when it was created and when it will change state, and its
status is computed from the emulator clock whenever someone looks. Output files are made the
first time a finished job is observed (or fetched), so nothing runs in the background.
"""

from __future__ import annotations

import random
import re
import secrets
import shutil
import tempfile
import threading
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from kubeez_nb.contract.htmltable import amount
from kubeez_nb.emulator import generation
from kubeez_nb.emulator.clock import Clock
from kubeez_nb.emulator.errors import (
    FetchFailed,
    Forbidden,
    InsufficientCredits,
    InvalidRequest,
    ModelNotFound,
    NameTaken,
    NotFound,
    QuotaExceeded,
)
from kubeez_nb.emulator.fetch import download, ext_of, safe_name
from kubeez_nb.emulator.files import FileStore, StoredFile, mime_for
from kubeez_nb.emulator.outputs import make_outputs
from kubeez_nb.emulator.ratelimit import RateLimiter
from kubeez_nb.emulator.records import ALL_SCOPES, Account, Asset, Job, Knobs, Output

ASSET_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")
FAILURE_MESSAGES = (
    "Content moderation: the prompt was flagged by the provider's safety filter.",
    "Upstream provider error: the generation did not finish.",
)


class Backend:
    """All emulator state. Thread-safe: one lock guards the tables; media is made outside it."""

    # ---- verbs: generation (``generation.py``) ----------------------------------------------
    create_media = generation.create_media
    create_extend = generation.create_extend
    create_music = generation.create_music
    create_dialogue = generation.create_dialogue
    create_separation = generation.create_separation
    create_ad_copy = generation.create_ad_copy
    captions = generation.captions
    output_seconds = generation.output_seconds
    source_seconds = generation.source_seconds
    _duration_of = generation._duration_of

    def __init__(
        self,
        catalog: Any = None,
        *,
        speed: float = 20.0,
        url_ttl: float = 3600.0,
        root: Path | None = None,
        knobs: dict[str, Any] | None = None,
    ) -> None:
        self.clock = Clock()
        self.speed = float(speed)
        self._own_root = root is None
        self.root = (
            Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="kubeez-emulator-"))
        )
        self.files = FileStore(self.root / "files", self.clock, ttl=url_ttl)
        self.uploads_dir = self.root / "uploads"
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self.catalog_rows = load_catalog_rows(catalog)
        self._by_id = {row["model_id"]: row for row in self.catalog_rows}
        from kubeez_nb.contract.catalog import Catalog

        self.catalog = Catalog.from_json({"models": self.catalog_rows})
        self._initial_knobs = dict(knobs or {})
        self.knobs = Knobs()
        self.knobs.update(**self._initial_knobs)
        self.rng = random.Random(self.knobs.seed)
        self.limiter = RateLimiter()
        self.limiter.scale = self.knobs.rate_limit_scale
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.jobs: dict[str, Job] = {}
        self.job_order: list[Job] = []
        self.task_ids: dict[str, str] = {}  #: source_task_id → job id
        self.projects: dict[str, list[str]] = {}
        self.assets: dict[str, Asset] = {}
        from kubeez_nb.emulator.seeding import SeededHistory

        self.seeded = SeededHistory(self)
        self.files.resolver = self.seeded.resolve_file
        self._reset_stats()

    # ---- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Remove every file the emulator made (when it owns its folder)."""
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def reset(self) -> None:
        """Forget jobs, assets, history, stats, clock offset and knob changes; keys get their first balances back."""
        with self.lock:
            self.jobs.clear()
            self.job_order.clear()
            self.task_ids.clear()
            self.projects.clear()
            self.assets.clear()
            self.seeded.clear()
            self.files.clear()
            for acc in self.accounts.values():
                acc.credits = self._initial_credits.get(acc.key, acc.credits)
            self.limiter.reset()
            self.clock.reset()
            self.knobs = Knobs()
            self.knobs.update(**self._initial_knobs)  # back to the constructor's knobs
            self.limiter.scale = self.knobs.rate_limit_scale
            self.rng = random.Random(self.knobs.seed)
            self._reset_stats()

    def set_knobs(self, **changes: Any) -> dict[str, Any]:
        with self.lock:
            self.knobs.update(**changes)
            if "seed" in changes:
                self.rng = random.Random(self.knobs.seed)
            self.limiter.scale = self.knobs.rate_limit_scale
            return self.knobs.as_dict()

    def _reset_stats(self) -> None:
        self.route_counts: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self.charges: dict[str, list[float]] = defaultdict(list)
        self.generations_created = 0
        self.credits_charged = 0.0
        if not hasattr(self, "_initial_credits"):
            self._initial_credits: dict[str, float] = {}

    def stats(self) -> dict[str, Any]:
        """Counters for tests: requests per route, generations, charges per logical request."""
        with self.lock:
            return {
                "requests": dict(self.route_counts),
                "statuses": {str(k): v for k, v in self.status_counts.items()},
                "generations_created": self.generations_created,
                "charges": {k: list(v) for k, v in self.charges.items()},
                "credits_charged": round(self.credits_charged, 4),
                "seeded_credits": self.seeded.credits(),
                "clock_offset": self.clock.offset,
                "knobs": self.knobs.as_dict(),
            }

    def chance(self, rate: float) -> bool:
        """One roll of the seeded fault dice."""
        if rate <= 0:
            return False
        with self.lock:
            return self.rng.random() < rate

    # ---- keys --------------------------------------------------------------------------------
    def add_key(
        self,
        key: str | None = None,
        scopes: Any = None,
        credits: float = 10_000,
        rate_limits: dict[str, int] | None = None,
    ) -> Account:
        """Create (or replace) a key. ``scopes=None`` grants every scope."""
        key = key or "sk_test_" + secrets.token_hex(12)
        scope_set = frozenset(
            ALL_SCOPES if scopes is None else ([scopes] if isinstance(scopes, str) else scopes)
        )
        unknown = sorted(scope_set - set(ALL_SCOPES))
        if unknown:
            raise ValueError(f"unknown scope(s) {unknown}; known scopes: {list(ALL_SCOPES)}")
        bad_groups = sorted(set(rate_limits or {}) - set(self.limiter.defaults))
        if bad_groups:
            raise ValueError(
                f"unknown rate-limit group(s) {bad_groups}; groups: {sorted(self.limiter.defaults)}"
            )
        acc = Account(key, scope_set, float(credits), dict(rate_limits or {}))
        with self.lock:
            self.accounts[key] = acc
            self._initial_credits[key] = float(credits)
        return acc

    def account(self, key: str | None) -> Account | None:
        if not key:
            return None
        with self.lock:
            return self.accounts.get(key)

    # ---- catalog -----------------------------------------------------------------------------
    def model_row(self, model_id: str) -> dict[str, Any]:
        row = self._by_id.get(model_id)
        if row is None:
            raise ModelNotFound(
                f"Model {model_id!r} is unknown or disabled. List models at /docs/models.json.",
                extra={"model": model_id},
            )
        return row

    def models(self, model_type: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.catalog_rows if model_type is None or r.get("model_type") == model_type
        ]

    def family(self, prefix: str) -> list[dict[str, Any]]:
        """Rows whose id is ``prefix`` exactly, else every row starting with it."""
        if prefix in self._by_id:
            return [self._by_id[prefix]]
        return [r for r in self.catalog_rows if r["model_id"].startswith(prefix)]

    # ---- billing -----------------------------------------------------------------------------
    def price(self, model_id: str, kind: str, params: dict[str, Any], **measured: Any) -> float:
        """Credits for a request by the cost contract: the client's own ``pricing.estimate``, fed
        with what the server measured (``output_seconds``, ``ref_seconds``, ``audio_seconds``,
        ``media_seconds``), so an estimate equals the charge whenever its inputs were known."""
        from kubeez_nb.contract.pricing import estimate

        self.model_row(model_id)  # 404 model_not_found for unknown ids
        body = {k: v for k, v in params.items() if not k.startswith("_")}
        return float(estimate(self.catalog[model_id], kind, body, **measured).credits)

    def charge(self, acc: Account, credits: float, request_id: str) -> None:
        """Deduct ``credits`` or raise InsufficientCredits (402, or 400 with the knob)."""
        credits = round(float(credits), 4)
        with self.lock:
            if acc.credits + 1e-9 < credits:
                raise InsufficientCredits(
                    f"This request costs {amount(credits)} credits but the balance is {amount(acc.credits)}. "
                    "Top up at https://kubeez.com/billing.",
                    status=self.knobs.credits_error_status,
                    extra={"required": credits, "balance": acc.credits},
                )
            acc.credits = round(acc.credits - credits, 4)
            self.charges[request_id].append(credits)
            self.credits_charged += credits

    def adjust(self, job: Job, acc: Account | None, credits: float) -> None:
        """Settle a per-second job on its measured output (may go below zero, as a real meter would)."""
        delta = round(credits - job.credits, 4)
        if abs(delta) < 1e-9:
            return
        with self.lock:
            job.credits = round(credits, 4)
            if acc is not None:
                acc.credits = round(acc.credits - delta, 4)
            key = job.request_id or job.id
            if self.charges.get(key):
                self.charges[key][-1] = round(self.charges[key][-1] + delta, 4)
            self.credits_charged += delta

    # ---- jobs --------------------------------------------------------------------------------
    def _new_job(
        self,
        acc: Account,
        *,
        kind: str,
        model: str,
        prompt: str | None,
        generation_type: str,
        params: dict[str, Any],
        credits: float,
        request_id: str | None,
        **extra: Any,
    ) -> Job:
        """Bill, then create a job scheduled on the emulator clock."""
        row = self.model_row(model)
        job_id = str(uuid.uuid4())
        self.charge(acc, credits, request_id or job_id)
        now = self.clock.now()
        total = max(float(row.get("estimated_time_seconds") or 30) / max(self.speed, 1e-6), 0.01)
        fail = (
            self.rng.choice(FAILURE_MESSAGES) if self.chance(self.knobs.job_failure_rate) else None
        )
        job = Job(
            id=job_id,
            owner=acc.key,
            kind=kind,
            model=model,
            model_type=row.get("model_type", "other"),
            prompt=prompt,
            generation_type=generation_type,
            params=dict(params),
            created=now,
            start_at=now + 0.15 * total,
            done_at=now + total,
            credits=round(credits, 4),
            fail_message=fail,
            first_status="pending" if self.knobs.pending_status else "queued",
            request_id=request_id,
            **extra,
        )
        with self.lock:
            self.jobs[job.id] = job
            self.job_order.append(job)
            self.generations_created += 1
        return job

    def status_of(self, job: Job, now: float | None = None) -> tuple[str, float | None]:
        """The job's status now and the seconds until it next changes (None when terminal)."""
        now = self.clock.now() if now is None else now
        if now < job.start_at:
            return job.first_status, job.start_at - now
        if now < job.done_at:
            return "processing", job.done_at - now
        return ("failed" if job.fail_message else "completed"), None

    def cdn_wait(self, job: Job, now: float | None = None) -> float:
        """Seconds until a completed job's outputs get their URLs (the ``cdn_delay`` knob)."""
        now = self.clock.now() if now is None else now
        return max(job.done_at + self.knobs.cdn_delay - now, 0.0)

    def find_job(
        self, acc: Account, job_id: str, kinds: tuple[str, ...] | None = None
    ) -> Job | None:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None or job.owner != acc.key or (kinds and job.kind not in kinds):
            return None
        return job

    def observe(self, job: Job) -> tuple[str, float | None]:
        """Status for a poll; a finished job gets its files made on first sight."""
        status, wait = self.status_of(job)
        if status == "completed":
            self.materialise(job)
        return status, wait

    def check_visible(self, job: Job) -> None:
        """The ``not_found_window`` knob: a fresh job is briefly invisible to polls."""
        window = self.knobs.not_found_window
        if window > 0:
            left = job.created + window - self.clock.now()
            if left > 0:
                raise NotFound(
                    f"Generation {job.id} not found.",
                    headers={"Retry-After": f"{min(left, 5.0):.2f}"},
                )

    def materialise(self, job: Job) -> list[Output]:
        """Make the job's output files once (outside the table lock; per-job lock)."""
        with job.lock:
            if job.outputs is None:
                job.outputs = make_outputs(self.files, job)
                if job.model.startswith("veo3-1") and job.source_task_id is None:
                    job.source_task_id = "task_" + uuid.uuid4().hex[:20]
                    with self.lock:
                        self.task_ids[job.source_task_id] = job.id
                self._settle(job)
        return job.outputs

    def _settle(self, job: Job) -> None:
        """Per-second models pay for the output they actually got."""
        if job.kind not in {"media"} or job.model_type != "video" or not job.outputs:
            return
        seconds = job.outputs[0].duration
        if seconds is None:
            return
        measured = dict(job.params.get("_measured") or {})
        measured["output_seconds"] = seconds
        credits = self.price(job.model, "media", job.params, **measured)
        self.adjust(job, self.accounts.get(job.owner), credits)

    def _own_file(self, url: str) -> StoredFile | None:
        try:
            return self.files.resolve_url(url)
        except (Forbidden, NotFound):
            return None

    def fetch_media(
        self, url: str, owner: str | None = None, limit: int | None = None
    ) -> StoredFile:
        """Our own file for a link of ours, else download ``url`` (short timeout); 502 fetch_failed."""
        try:
            rec = self.files.resolve_url(url)
        except (Forbidden, NotFound) as exc:
            raise FetchFailed(f"Could not fetch {url}: {exc}") from None
        if rec is not None:
            return rec
        return download(
            self.files,
            url,
            owner,
            limit or self.knobs.max_upload_bytes,
            self.knobs.allow_private_fetch,
        )

    def list_generations(self, acc: Account, **filters: Any) -> tuple[list[Job], str | None]:
        """GET /v1/generations: newest first, live jobs and seeded history merged."""
        with self.lock:
            live = [j for j in self.job_order if j.owner == acc.key]
        return self.seeded.page(acc.key, live, **filters)

    def seed_history(self, n: int, key: str | None = None, seed: int | None = None) -> int:
        """Add ``n`` past generations (90 days, across the catalog) to ``key`` (default: the first key, the demo key)."""
        with self.lock:
            owner = key or next(iter(self.accounts), None)
        if owner is None:
            raise ValueError("add a key before seeding history")
        return self.seeded.seed(owner, n, self.clock.now(), seed)

    # ---- verbs: uploads and assets -------------------------------------------------------------
    def store_upload(self, acc: Account, temp_path: Path, filename: str, size: int) -> StoredFile:
        """Adopt a streamed upload (already on disk) as a servable file."""
        fid = self.files.new_id()
        path = self.files.path_for(fid)
        Path(temp_path).replace(path)
        rec = StoredFile(
            fid, safe_name(filename), mime_for(ext_of(filename) or "bin"), acc.key, path, size
        )
        self.files.add(rec)
        return rec

    def new_upload_path(self) -> Path:
        return self.uploads_dir / uuid.uuid4().hex

    def list_assets(self, acc: Account) -> list[Asset]:
        with self.lock:
            return sorted(
                (a for a in self.assets.values() if a.owner == acc.key), key=lambda a: a.created
            )

    def used_bytes(self, acc: Account) -> int:
        return sum(a.file.size for a in self.list_assets(acc))

    def _check_name(self, acc: Account, name: Any, exclude: str | None = None) -> str:
        if not isinstance(name, str) or not name:
            raise InvalidRequest(
                "name is required: lowercase letters, digits, '_' or '-', at most 64 characters.",
                code="missing_name",
                extra={"field": "name"},
            )
        if not ASSET_NAME.match(name):
            raise InvalidRequest(
                f"Invalid name {name!r}: use lowercase letters, digits, '_' or '-', at most 64 characters.",
                extra={"field": "name"},
            )
        with self.lock:
            if any(
                a.name == name and a.owner == acc.key and a.id != exclude
                for a in self.assets.values()
            ):
                raise NameTaken(
                    f"An asset named {name!r} already exists; pick another name or rename it.",
                    extra={"field": "name"},
                )
        return name

    def add_asset(self, acc: Account, name: Any, url: Any) -> Asset:
        """POST /v1/assets: ingest ``url`` under a unique ``name`` within the quota."""
        name = self._check_name(acc, name)
        if not isinstance(url, str) or not url:
            raise InvalidRequest(
                "url is required: a public http(s) URL to ingest.",
                code="missing_url",
                extra={"field": "url"},
            )
        src = self.fetch_media(url, owner=acc.key)
        used, quota = self.used_bytes(acc), self.knobs.asset_quota_bytes
        if used + src.size > quota:
            raise QuotaExceeded(
                f"Adding {src.size} bytes would exceed the asset library quota ({used} of {quota} bytes used). Delete assets first.",
                extra={"quota_bytes": quota, "used_bytes": used},
            )
        # assets own their bytes: copy, so deleting an upload or output never breaks an asset
        fid = self.files.new_id()
        path = self.files.path_for(fid)
        shutil.copyfile(self.files.materialise(src), path)
        rec = StoredFile(fid, src.name, src.mime, acc.key, path, src.size, words=src.words)
        self.files.add(rec)
        with self.lock:
            self._check_name(acc, name)  # a racing add may have taken it meanwhile
            asset = Asset("ast_" + uuid.uuid4().hex[:16], acc.key, name, rec, self.clock.now())
            self.assets[asset.id] = asset
        return asset

    def rename_asset(self, acc: Account, asset_id: str, name: Any) -> Asset:
        with self.lock:
            asset = self._asset(acc, asset_id)
            asset.name = self._check_name(acc, name, exclude=asset.id)
            return asset

    def delete_asset(self, acc: Account, asset_id: str) -> Asset:
        with self.lock:
            asset = self._asset(acc, asset_id)
            del self.assets[asset.id]
        self.files.remove(asset.file.id)
        return asset

    def _asset(self, acc: Account, asset_id: str) -> Asset:
        asset = self.assets.get(asset_id)
        if asset is None or asset.owner != acc.key:
            raise NotFound(f"Asset {asset_id!r} not found.")
        return asset


# ---- helpers -----------------------------------------------------------------------------------
def load_catalog_rows(catalog: Any) -> list[dict[str, Any]]:
    """Model rows from None (the shipped snapshot), a path, a ``{"models": [...]}`` dict or a list."""
    import json

    if catalog is None:
        catalog = Path(__file__).with_name("data") / "models.json"
    if isinstance(catalog, (str, Path)):
        catalog = json.loads(Path(catalog).read_text(encoding="utf-8"))
    if hasattr(catalog, "to_dict"):
        catalog = catalog.to_dict()
    rows = catalog.get("models", []) if isinstance(catalog, dict) else list(catalog)
    out = []
    for row in rows:
        row = row.to_dict() if hasattr(row, "to_dict") else dict(row)
        if "model_id" not in row:
            raise ValueError(f"catalog row without model_id: {row!r}")
        out.append(row)
    return out
