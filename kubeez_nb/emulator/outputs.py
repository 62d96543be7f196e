"""What a finished job produced: the ``Output`` record and the recipes that make the files."""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any

from kubeez_nb.emulator.files import FileStore
from kubeez_nb.emulator.records import Job, Output

DEFAULT_VIDEO_SECONDS = 8.0  #: Veo-style "automatic" duration
SONG_SECONDS = 30.0  #: emulator songs are short so demos stay light


def mediagen() -> Any:
    """The media maker (imported on first use: Pillow and PyAV are heavy)."""
    from kubeez_nb.emulator import mediagen

    return mediagen


def make_outputs(files: FileStore, job: Job) -> list[Output]:
    """The files a finished job produced, made now (PNG, MP4 + poster, speech, two songs, stems)."""
    mg = mediagen()
    seed = int(uuid.UUID(job.id).int % (2**31))
    p = job.params
    prompt = job.prompt or ""
    if job.kind in {"media", "ad-copy"} and job.model_type == "image":
        w, h = mg.image_size(
            p.get("aspect_ratio"), image_resolution(job.model, p), p.get("quality")
        )
        rec = files.put_bytes(
            mg.make_png(prompt or job.model, w, h, seed=seed), f"{job.id}.png", owner=job.owner
        )
        return [Output(rec, "image", w, h, thumbnail=rec)]
    if job.kind in {"media", "extend"} and job.model_type == "video":
        w, h = mg.video_size(p.get("aspect_ratio"), video_resolution(job.model, p))
        seconds = float(p.get("_output_seconds") or DEFAULT_VIDEO_SECONDS)
        data = mg.make_mp4(prompt or job.model, w, h, seconds, seed=seed)
        rec = files.put_bytes(data, f"{job.id}.mp4", owner=job.owner)
        tw, th = thumb_size(w, h)
        thumb = files.put_lazy(
            f"{job.id}-thumb.png", lambda: mg.make_png(prompt or job.model, tw, th, seed=seed)
        )
        return [
            Output(rec, "video", w, h, duration=mg.media_duration(data, "mp4"), thumbnail=thumb)
        ]
    if job.kind == "dialogue":
        data, ext, words = mg.make_speech(
            prompt, p.get("voice") or "Rachel", float(p.get("speed") or 1.0)
        )
        rec = files.put_bytes(data, f"{job.id}.{ext}", owner=job.owner, words=words)
        return [Output(rec, "audio", duration=mg.media_duration(data, ext))]
    if job.kind == "music":
        outs = []
        title = p.get("title") or title_from(
            prompt or p.get("song_description") or p.get("style") or "Untitled"
        )
        for i in range(2):
            data, ext = mg.make_music(prompt or title, SONG_SECONDS, seed=seed + i)
            rec = files.put_bytes(data, f"{job.id}-{i + 1}.{ext}", owner=job.owner)
            cover = files.put_lazy(
                f"{job.id}-{i + 1}-cover.png",
                functools.partial(mg.make_png, title, 512, 512, seed=seed + i),
            )
            outs.append(
                Output(
                    rec,
                    "audio",
                    duration=mg.media_duration(data, ext),
                    label=f"{title} ({'AB'[i]})",
                    cover=cover,
                )
            )
        return outs
    if job.kind == "separation":
        assert job.input_file is not None
        data = files.read_bytes(job.input_file)
        (vocals, vext), (inst, iext) = mg.split_stems(data, job.input_file.ext)
        v = files.put_bytes(vocals, f"{job.id}-vocals.{vext}", owner=job.owner)
        inst_file = files.put_bytes(inst, f"{job.id}-instrumental.{iext}", owner=job.owner)
        return [
            Output(v, "audio", duration=mg.media_duration(vocals, vext), label="vocals"),
            Output(
                inst_file, "audio", duration=mg.media_duration(inst, iext), label="instrumental"
            ),
        ]
    raise AssertionError(f"no output recipe for {job.kind}/{job.model_type}")


def title_from(text: str) -> str:
    words = re.findall(r"[A-Za-z0-9']+", text)[:4]
    return " ".join(w.capitalize() for w in words) or "Untitled"


def thumb_size(w: int, h: int) -> tuple[int, int]:
    scale = 320 / max(w, h)
    return max(int(w * scale), 16), max(int(h * scale), 16)


def image_resolution(model: str, params: dict[str, Any]) -> str | None:
    """1K / 2K / 4K: asked for, else fixed by the id (``nano-banana-2-4K``)."""
    if params.get("resolution"):
        return str(params["resolution"])
    m = re.search(r"-([124])K$", model, re.IGNORECASE)
    return f"{m.group(1)}K" if m else None


def video_resolution(model: str, params: dict[str, Any]) -> str | None:
    """480p / 720p / 1080p: asked for (resolution or a p-video quality tier), else fixed by the id."""
    for key in ("resolution", "quality"):
        m = re.match(r"^(\d{3,4}p)", str(params.get(key) or ""))
        if m:
            return m.group(1)
    m = re.search(r"-(\d{3,4}p)(?:-|$)", model)
    if m:
        return m.group(1)
    if model.endswith("-hd"):
        return "1080p"
    return None
