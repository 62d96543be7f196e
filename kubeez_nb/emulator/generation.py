"""The emulator's generate verbs (``create_media`` ... ``captions``) and the media lengths they
price by. Each is a method of :class:`~kubeez_nb.emulator.backend.Backend` (bound there by name):
it uses the backend's tables, prices and files. No HTTP here.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from kubeez_nb.emulator.errors import InvalidRequest, NotFound
from kubeez_nb.emulator.files import StoredFile
from kubeez_nb.emulator.outputs import DEFAULT_VIDEO_SECONDS, mediagen
from kubeez_nb.emulator.records import Account, Job

if TYPE_CHECKING:
    from kubeez_nb.emulator.backend import Backend

EXTEND_ADDS_SECONDS = 7.0


# ---- verbs: generation -----------------------------------------------------------------
def create_media(
    self: Backend,
    acc: Account,
    model: str,
    params: dict[str, Any],
    request_id: str | None = None,
) -> Job:
    """POST /v1/generate/media (already validated)."""
    row = self.model_row(model)
    params = dict(params)
    measured: dict[str, Any] = {}
    if row.get("model_type") == "video":
        urls = params.get("source_media_urls") or []
        out = self.output_seconds(row, params)
        ref = self.source_seconds(urls, "video")
        if ref:
            measured["ref_seconds"] = ref
        audio = self.source_seconds(urls, "audio")
        if audio and "audio_seconds" in (row.get("cost_note") or ""):
            out = measured["audio_seconds"] = audio  # the clip follows the audio (lip sync)
        params["_output_seconds"] = out
        params["_measured"] = measured
        credits = self.price(model, "media", params, output_seconds=out, **measured)
    else:
        credits = self.price(model, "media", params)
    gen_type = params.get("generation_type") or _default_generation_type(row, params)
    return self._new_job(
        acc,
        kind="media",
        model=model,
        prompt=params.get("prompt"),
        generation_type=gen_type,
        params=params,
        credits=credits,
        request_id=request_id,
    )


def create_extend(
    self: Backend,
    acc: Account,
    source_task_id: str,
    prompt: str,
    extend_model: str,
    request_id: str | None = None,
) -> Job:
    """POST /v1/generate/media/extend: the caller's own completed Veo 3.1 clip, not an extend, not 1080p."""
    from kubeez_nb.contract.rules import extend_problems

    with self.lock:
        src = self.jobs.get(self.task_ids.get(source_task_id, source_task_id))
    if src is None or src.owner != acc.key:
        raise NotFound(
            f"No generation of yours has source_task_id {source_task_id!r}. "
            "Take it from GET /v1/generate/media/{id} of a completed Veo 3.1 clip.",
            extra={"field": "source_task_id"},
        )
    status, _ = self.observe(src)
    outs = src.outputs or []
    facts = {
        "id": src.id,
        "model": src.model,
        "status": status,
        "source_task_id": src.source_task_id,
        "generation_type": src.generation_type,
        "outputs": [{"width": o.width, "height": o.height} for o in outs],
    }
    problems = extend_problems(facts, extend_model, catalog=self.catalog)
    if problems:
        raise InvalidRequest(
            "; ".join(p.message for p in problems),
            code=problems[0].code,
            extra={"field": problems[0].field, "problems": [p.to_dict() for p in problems]},
        )
    credits = self.price(src.model, "extend", {"extend_model": extend_model})
    params = {
        "prompt": prompt,
        "extend_model": extend_model,
        "aspect_ratio": src.params.get("aspect_ratio"),
        "_output_seconds": (outs[0].duration or DEFAULT_VIDEO_SECONDS) + EXTEND_ADDS_SECONDS,
    }
    return self._new_job(
        acc,
        kind="extend",
        model=src.model,
        prompt=prompt,
        generation_type="extend",
        params=params,
        credits=credits,
        request_id=request_id,
        extends=src.id,
    )


def create_music(
    self: Backend,
    acc: Account,
    model: str,
    params: dict[str, Any],
    request_id: str | None = None,
) -> Job:
    credits = self.price(model, "music", params)
    prompt = params.get("prompt") or params.get("song_description") or params.get("lyrics")
    gen_type = (self.model_row(model).get("generation_types") or ["text-to-music"])[0]
    return self._new_job(
        acc,
        kind="music",
        model=model,
        prompt=prompt,
        generation_type=gen_type,
        params=params,
        credits=credits,
        request_id=request_id,
    )


def create_dialogue(
    self: Backend,
    acc: Account,
    model: str,
    params: dict[str, Any],
    request_id: str | None = None,
) -> Job:
    credits = self.price(model, "dialogue", params)
    return self._new_job(
        acc,
        kind="dialogue",
        model=model,
        prompt=params.get("text"),
        generation_type="text-to-dialogue",
        params=params,
        credits=credits,
        request_id=request_id,
    )


def create_separation(
    self: Backend, acc: Account, model: str, media_url: str, request_id: str | None = None
) -> Job:
    rec = self.fetch_media(media_url, owner=acc.key)
    if rec.kind not in {"audio", "video"}:
        raise InvalidRequest(
            f"media_url must point to audio (or video); it is {rec.mime}.",
            extra={"field": "media_url"},
        )
    seconds = self._duration_of(rec)
    credits = self.price(model, "separation", {"media_url": media_url}, media_seconds=seconds)
    return self._new_job(
        acc,
        kind="separation",
        model=model,
        prompt=None,
        generation_type="audio-separation",
        params={"media_url": media_url},
        credits=credits,
        request_id=request_id,
        input_file=rec,
    )


def create_ad_copy(
    self: Backend,
    acc: Account,
    model: str,
    params: dict[str, Any],
    request_id: str | None = None,
) -> tuple[str, list[Job]]:
    """POST /v1/generate/ad-copy: one image job per variant, billed together up front."""
    n = int(params.get("variant_count") or 1)
    total = self.price(model, "ad-copy", params)
    each = round(total / n, 4)
    with self.lock:
        if acc.credits + 1e-9 < total:
            self.charge(acc, total, request_id or "ad-copy")  # raises with the full amount
    project = "proj_" + uuid.uuid4().hex[:16]
    prompt = params.get("product_text") or "Ad variant"
    gen_type = "image-to-image"
    jobs = []
    for i in range(n):
        rid = f"{request_id}#{i}" if request_id else None
        jobs.append(
            self._new_job(
                acc,
                kind="ad-copy",
                model=model,
                prompt=f"{prompt} (variant {i + 1})",
                generation_type=gen_type,
                params=dict(params, variant_index=i),
                credits=each,
                request_id=rid,
                project_id=project,
            )
        )
    with self.lock:
        self.projects[project] = [j.id for j in jobs]
    return project, jobs


def captions(
    self: Backend,
    acc: Account,
    model: str,
    media_url: str,
    params: dict[str, Any],
    request_id: str | None = None,
) -> dict[str, Any]:
    """POST /v1/generate/captions (synchronous): word-level timings of the media's speech."""
    rec = self.fetch_media(media_url, owner=acc.key)
    if rec.kind not in {"audio", "video"}:
        raise InvalidRequest(
            f"media_url must point to audio or video; it is {rec.mime}.",
            extra={"field": "media_url"},
        )
    seconds = self._duration_of(rec)
    credits = self.price(model, "captions", params, media_seconds=seconds)
    rid = request_id or "cap_" + uuid.uuid4().hex[:16]
    self.charge(acc, credits, rid)
    words = rec.words if rec.words is not None else mediagen().placeholder_words(seconds)
    with self.lock:
        self.generations_created += 1
    return {
        "id": rid,
        "status": "completed",
        "model": model,
        "language": params.get("language") or "en",
        "duration": round(seconds, 3),
        "text": " ".join(w["text"] for w in words),
        "words": words,
        "credits_deducted": credits,
    }


def output_seconds(self: Backend, row: dict[str, Any], params: dict[str, Any]) -> float:
    """How long the video will be: fixed by the id (``-10s``), else the duration asked, else the
    length the price is quoted for (the client's estimate assumes the same), else the default."""
    from kubeez_nb.contract.wire import seconds as parse_seconds

    m = re.search(r"-(\d+)s(?:-|$)", row["model_id"])
    if m:
        return float(m.group(1))
    model = self.catalog[row["model_id"]]
    asked = parse_seconds(params.get("duration"))
    if asked:
        return asked
    quoted = model.quoted_seconds
    if quoted:
        return quoted
    return float(model.duration_seconds[0]) if model.duration_seconds else DEFAULT_VIDEO_SECONDS


def source_seconds(self: Backend, urls: Any, kind: str) -> float:
    """Total length of the ``kind`` ("video" / "audio") sources; ours are measured, others count 5 s."""
    from kubeez_nb.contract.checks import split_sources

    total = 0.0
    for src in split_sources(urls)[0]:
        rec = self._own_file(src.url)
        if rec is not None:
            if rec.kind == kind:
                total += self._duration_of(rec)
        elif src.kind == kind:
            total += 5.0  # an outside URL the emulator does not fetch: a typical clip
    return total


def _duration_of(self: Backend, rec: StoredFile) -> float:
    return float(mediagen().media_duration(self.files.read_bytes(rec), rec.ext))


def _default_generation_type(row: dict[str, Any], params: dict[str, Any]) -> str:
    types = row.get("generation_types") or ["text-to-image"]
    if params.get("source_media_urls"):
        for t in types:
            if not t.startswith("text-to"):
                return t
    return types[0]
