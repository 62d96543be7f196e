"""Seeded history: many past generations held column-wise, plus the history listing.

``--seed-history 100000`` must build in well under a second and page in milliseconds, so seeded
rows are numpy columns (time, model, status, type, credits, ...) sorted newest first, never
100 000 objects. A page turns only its rows into ``Job`` records; their output files are lazy
placeholders made on first download. Live jobs and seeded rows are merged by a keyset cursor
``(created, id)``, which stays stable while new jobs arrive.
"""

from __future__ import annotations

import base64
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubeez_nb.emulator.errors import InvalidRequest

if TYPE_CHECKING:
    import numpy as np

    from kubeez_nb.emulator.backend import Backend
    from kubeez_nb.emulator.files import StoredFile
    from kubeez_nb.emulator.records import Job

SEED_DAYS = 90
MAX_SEED = 100_000
PAGE_DEFAULT, PAGE_MAX = 50, 100
FAILED_SHARE = 0.07
TYPE_WEIGHTS = {
    "image": 0.5,
    "video": 0.3,
    "music": 0.08,
    "speech": 0.07,
    "separation": 0.03,
    "other": 0.02,
}
PROMPTS = (
    "matte-black headphones on marble, soft studio light",
    "a red fox in fresh snow at dawn",
    "isometric city block at night, neon signs",
    "a cup of espresso with latte art, top view",
    "mountain lake reflection, golden hour, drone shot",
    "vintage poster of a rocket launch",
    "a corgi surfing a small wave",
    "product shot of a glass perfume bottle on sand",
    "lo-fi beat with warm vinyl crackle",
    "upbeat synthwave chorus about summer nights",
    "calm narrator voice introducing a cooking show",
    "slow pan across a rainy Tokyo street",
    "watercolor map of an imaginary island",
    "a robot barista pouring coffee",
    "paper-cut style forest with fireflies",
    "minimal logo of a hummingbird, flat vector",
)
STATUS_NAMES = ("completed", "failed")
_SEED_FILE_PREFIX = "seed_"


@dataclass
class _Columns:
    """One owner's seeded rows, newest first."""

    ts: np.ndarray  # float64 epoch seconds
    model: np.ndarray  # int32 index into SeededHistory.models
    gtype: np.ndarray  # int32 index into SeededHistory.types
    status: np.ndarray  # int8 index into STATUS_NAMES
    credits: np.ndarray  # float64
    ptime: np.ndarray  # int64 processing ms
    prompt: np.ndarray  # int16 index into PROMPTS
    ids: list[str]


def encode_cursor(ts: float, job_id: str) -> str:
    return base64.urlsafe_b64encode(f"{ts!r}|{job_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts, job_id = raw.split("|", 1)
        return float(ts), job_id
    except Exception:
        raise InvalidRequest(
            "Invalid cursor: pass the next_cursor value of the previous page unchanged.",
            extra={"field": "cursor"},
        ) from None


class SeededHistory:
    """Column store of past generations per owner, and the merged newest-first listing."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._lock = threading.Lock()
        self._cols: dict[str, _Columns] = {}
        self._where: dict[str, tuple[str, int]] = {}  # id -> (owner, row)
        self.models: list[str] = []
        self.types: list[str] = []

    def clear(self) -> None:
        with self._lock:
            self._cols.clear()
            self._where.clear()

    def count(self, owner: str | None = None) -> int:
        with self._lock:
            if owner is not None:
                c = self._cols.get(owner)
                return 0 if c is None else len(c.ids)
            return sum(len(c.ids) for c in self._cols.values())

    def credits(self, owner: str | None = None) -> float:
        """Credits the seeded rows were charged (one key's, or every key's)."""
        with self._lock:
            cols = [self._cols.get(owner)] if owner is not None else list(self._cols.values())
            return round(sum(float(c.credits.sum()) for c in cols if c is not None), 4)

    # ---- building -------------------------------------------------------------------------
    def _price_table(self) -> tuple[list[str], list[list[str]], list[float], list[str]]:
        """Per catalog model: id, generation types, the catalog price of a typical request, type."""
        b = self.backend
        ids, types, prices, mtypes = [], [], [], []
        for row in b.catalog_rows:
            mid, mtype = row["model_id"], row.get("model_type", "other")
            kind, params, measured = _typical_request(b, row)
            try:
                price = b.price(mid, kind, params, **measured)
            except Exception:  # a catalog row the pricing rules cannot read: its listed price
                price = float(row.get("cost_per_generation") or 0)
            ids.append(mid)
            types.append(list(row.get("generation_types") or ["text-to-image"]))
            prices.append(price)
            mtypes.append(mtype)
        return ids, types, prices, mtypes

    def seed(self, owner: str, n: int, now: float, seed: int | None = None) -> int:
        """Add ``n`` past generations for ``owner`` spread over the last 90 days; returns the new total."""
        import numpy as np

        n = int(n)
        if not 0 <= n <= MAX_SEED:
            raise ValueError(f"seed_history takes 0..{MAX_SEED} rows, got {n}")
        if n == 0:
            return self.count(owner)
        ids, gtypes, prices, mtypes = self._price_table()
        with self._lock:
            for t in {t for ts in gtypes for t in ts}:
                if t not in self.types:
                    self.types.append(t)
            self.models = ids
        rng = np.random.default_rng(seed if seed is not None else n)
        weights = np.array([TYPE_WEIGHTS.get(t, 0.02) for t in mtypes], dtype=float)
        per_type = {t: mtypes.count(t) for t in set(mtypes)}
        weights /= np.array([per_type[t] for t in mtypes], dtype=float)
        weights /= weights.sum()
        model = rng.choice(len(ids), size=n, p=weights).astype(np.int32)
        gtype = np.zeros(n, dtype=np.int32)
        for m in np.unique(model):
            rows = np.nonzero(model == m)[0]
            opts = np.array([self.types.index(t) for t in gtypes[m]], dtype=np.int32)
            gtype[rows] = opts[rng.integers(0, len(opts), size=len(rows))]
        ts = now - rng.uniform(60.0, SEED_DAYS * 86400.0, size=n)
        status = (rng.random(n) < FAILED_SHARE).astype(np.int8)
        est = np.array(
            [float(r.get("estimated_time_seconds") or 30) for r in self.backend.catalog_rows]
        )
        ptime = (est[model] * rng.uniform(0.6, 1.6, size=n) * 1000).astype(np.int64)
        credits = np.asarray(prices, dtype=float)[model]
        prompt = rng.integers(0, len(PROMPTS), size=n).astype(np.int16)
        # uuid4-shaped ids from the generator: reproducible per seed, unique across batches
        raw = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64).view(np.uint64)
        new_ids = [
            str(uuid.UUID(int=(int(a) << 64 | int(b)) & ~(0xF << 76) | (4 << 76))) for a, b in raw
        ]
        with self._lock:
            old = self._cols.get(owner)
            if old is not None:
                ts = np.concatenate([old.ts, ts])
                model = np.concatenate([old.model, model])
                gtype = np.concatenate([old.gtype, gtype])
                status = np.concatenate([old.status, status])
                credits = np.concatenate([old.credits, credits])
                ptime = np.concatenate([old.ptime, ptime])
                prompt = np.concatenate([old.prompt, prompt])
                new_ids = old.ids + new_ids
            order = np.lexsort((np.arange(len(ts)), -ts))  # newest first
            cols = _Columns(
                ts[order],
                model[order],
                gtype[order],
                status[order],
                credits[order],
                ptime[order],
                prompt[order],
                [new_ids[i] for i in order],
            )
            self._cols[owner] = cols
            for i, gid in enumerate(cols.ids):
                self._where[gid] = (owner, i)
            return len(cols.ids)

    # ---- reading --------------------------------------------------------------------------
    def job_for(self, owner: str, gen_id: str) -> Job | None:
        """``owner``'s seeded row ``gen_id`` as a finished ``Job`` (outputs are lazy placeholders)."""
        with self._lock:
            where = self._where.get(gen_id)
            if where is None or where[0] != owner:
                return None
            cols = self._cols[owner]
        return self._job(owner, cols, where[1])

    def _job(self, owner: str, c: _Columns, i: int) -> Job:
        from kubeez_nb.emulator.records import Job

        mid = self.models[int(c.model[i])]
        row = self.backend._by_id.get(mid, {"model_type": "other"})
        created = float(c.ts[i])
        done = created + int(c.ptime[i]) / 1000.0
        failed = int(c.status[i]) == 1
        job = Job(
            id=c.ids[i],
            owner=owner,
            kind="seeded",
            model=mid,
            model_type=row.get("model_type", "other"),
            prompt=PROMPTS[int(c.prompt[i])],
            generation_type=self.types[int(c.gtype[i])],
            params={},
            created=created,
            start_at=created,
            done_at=done,
            credits=float(c.credits[i]),
            fail_message="Upstream provider error: the generation did not finish."
            if failed
            else None,
        )
        job.outputs = [] if failed else [self._placeholder(job)]
        return job

    def _placeholder(self, job: Job) -> Any:
        from kubeez_nb.emulator.records import Output

        fid = _SEED_FILE_PREFIX + job.id
        rec = self.backend.files.get(fid)
        assert rec is not None
        w, h, secs = _placeholder_shape(job.model_type)
        media_type = {"image": "image", "video": "video"}.get(job.model_type, "audio")
        return Output(rec, media_type, w, h, secs, thumbnail=rec if media_type == "image" else None)

    def resolve_file(self, file_id: str) -> StoredFile | None:
        """The lazy placeholder file behind a seeded row's output link."""
        from kubeez_nb.emulator.files import StoredFile, mime_for

        if not file_id.startswith(_SEED_FILE_PREFIX):
            return None
        gen_id = file_id[len(_SEED_FILE_PREFIX) :]
        with self._lock:
            where = self._where.get(gen_id)
            if where is None:
                return None
            c = self._cols[where[0]]
            i = where[1]
            mid = self.models[int(c.model[i])]
            prompt = PROMPTS[int(c.prompt[i])]
        mtype = self.backend._by_id.get(mid, {}).get("model_type", "other")
        w, h, secs = _placeholder_shape(mtype)

        def make() -> bytes:
            from kubeez_nb.emulator.outputs import mediagen

            mg = mediagen()
            if mtype == "image":
                return mg.make_png(prompt, w or 512, h or 512)
            if mtype == "video":
                return mg.make_mp4(prompt, w or 640, h or 360, secs or 2.0)
            return mg.make_music(prompt, secs or 5.0)[0]

        ext = {"image": "png", "video": "mp4"}.get(mtype, "wav")
        return StoredFile(file_id, f"{gen_id}.{ext}", mime_for(ext), where[0], maker=make)

    def page(
        self,
        owner: str,
        live: list[Job],
        *,
        status: str | None = None,
        model: str | None = None,
        generation_type: str | None = None,
        limit: int = PAGE_DEFAULT,
        cursor: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """One newest-first page of ``live`` jobs merged with the seeded rows; (jobs, next_cursor)."""
        import numpy as np

        after = decode_cursor(cursor) if cursor else None
        want = limit + 1
        b = self.backend
        now = b.clock.now()

        def before(ts: float, jid: str) -> bool:
            return after is None or (ts, jid) < after

        picked: list[tuple[float, str, Any]] = []
        for job in reversed(live):  # live jobs are kept in creation order
            if not before(job.created, job.id):
                continue
            if model and job.model != model:
                continue
            if generation_type and job.generation_type != generation_type:
                continue
            if status and b.status_of(job, now)[0] != status:
                continue
            picked.append((job.created, job.id, job))
            if len(picked) >= want:
                break
        with self._lock:
            c = self._cols.get(owner)
            if c is not None and len(c.ids):
                mask = np.ones(len(c.ids), dtype=bool)
                if status:
                    mask &= c.status == (
                        STATUS_NAMES.index(status) if status in STATUS_NAMES else -1
                    )
                if model:
                    mask &= c.model == (self.models.index(model) if model in self.models else -1)
                if generation_type:
                    mask &= c.gtype == (
                        self.types.index(generation_type) if generation_type in self.types else -1
                    )
                start = 0
                if after is not None:
                    # ts is sorted descending: skip rows newer than the cursor, then ties by id
                    start = int(np.searchsorted(-c.ts, -after[0], side="left"))
                    while (
                        start < len(c.ids) and c.ts[start] == after[0] and c.ids[start] >= after[1]
                    ):
                        start += 1
                hits = np.flatnonzero(mask[start:])[:want] + start
                for i in hits:
                    picked.append((float(c.ts[i]), c.ids[i], (owner, c, int(i))))
        picked.sort(key=lambda t: (t[0], t[1]), reverse=True)
        page = picked[:limit]
        jobs = [item if not isinstance(item, tuple) else self._job(*item) for _, _, item in page]
        next_cursor = (
            encode_cursor(page[-1][0], page[-1][1]) if len(picked) > limit and page else None
        )
        return jobs, next_cursor


def _placeholder_shape(model_type: str) -> tuple[int | None, int | None, float | None]:
    if model_type == "image":
        return 1024, 1024, None
    if model_type == "video":
        return 1280, 720, 5.0
    return None, None, 30.0


def _typical_request(b: Backend, row: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The kind, params and measurements of a typical request for a catalog row (for prices)."""
    mtype, mid = row.get("model_type"), row["model_id"]
    if mid == "ad-copy":
        return "ad-copy", {"variant_count": 1}, {}
    if mtype == "music":
        return "music", {"model": mid, "prompt": "x"}, {}
    if mtype == "separation":
        return "separation", {}, {"media_seconds": 180.0}
    if mtype in {"speech", "other"} and row.get("voice_allowlist") is not None:
        return "dialogue", {"text": "x"}, {}
    if mtype in {"speech", "other"}:
        return "captions", {}, {"media_seconds": 30.0}
    if mtype == "video":
        return "media", {}, {"output_seconds": b.output_seconds(row, {})}
    return "media", {}, {}
