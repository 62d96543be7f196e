"""The layer between HTTP and the backend: parse, validate, authorise, render. It stores nothing.

Each handler takes a ``Ctx`` (the request, its authenticated account, path arguments) and returns
``(status, body, headers)``. Validation uses the client's own rules (``kubeez_nb.contract.rules``), so
the emulator refuses exactly what a careful client refuses, with the guide's wire codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from kubeez_nb.contract.htmltable import amount
from kubeez_nb.contract.kinds import KINDS
from kubeez_nb.emulator.context import (
    MULTIPART_SLACK,
    Ctx,
    Reply,
    asset_row,
    check,
    job_row,
    poll_headers,
)
from kubeez_nb.emulator.errors import (
    FileTooLarge,
    InvalidRequest,
    ModelNotFound,
    NotFound,
    RangeNotSatisfiable,
)
from kubeez_nb.emulator.files import StoredFile
from kubeez_nb.emulator.records import Job
from kubeez_nb.emulator.seeding import PAGE_DEFAULT, PAGE_MAX


# ---- handlers: public --------------------------------------------------------------------------
def health(ctx: Ctx) -> Reply:
    return 200, {"status": "healthy"}, {}


def docs_models(ctx: Ctx) -> Reply:
    rows = ctx.backend.catalog_rows
    return 200, {"models": rows, "total_count": len(rows)}, {}


def docs_model(ctx: Ctx) -> Reply:
    """One row by id; a family prefix answers every variant."""
    ident = ctx.args["model_id"]
    if ident.endswith(".json"):
        ident = ident[: -len(".json")]
    rows = ctx.backend.family(ident)
    if not rows:
        raise ModelNotFound(
            f"No model or model family {ident!r}. List models at /docs/models.json.",
            extra={"model": ident},
        )
    if len(rows) == 1 and rows[0]["model_id"] == ident:
        return 200, rows[0], {}
    return 200, {"models": rows, "total_count": len(rows)}, {}


def llms_txt(ctx: Ctx) -> Reply:
    text = (Path(__file__).with_name("data") / "llms.txt").read_text(encoding="utf-8")
    return 200, text, {"Content-Type": "text/markdown; charset=utf-8"}


def docs_page(ctx: Ctx) -> Reply:
    html = (
        "<!doctype html><meta charset='utf-8'><title>Kubeez API (local emulator)</title>"
        "<h1>Kubeez API: local emulator</h1><ul>"
        "<li><a href='/llms.txt'>/llms.txt</a>: the guide</li>"
        "<li><a href='/openapi.json'>/openapi.json</a>: OpenAPI 3.1 (<a href='/docs/openapi'>readable view</a>)</li>"
        "<li><a href='/docs/models.json'>/docs/models.json</a>: the model catalog</li></ul>"
    )
    return 200, html, {"Content-Type": "text/html; charset=utf-8"}


#: Types a browser only ever renders as media: served inline. Anything else (HTML, SVG, XML,
#: scripts, unknown bytes) is an attachment, so an upload cannot run script on our origin.
INLINE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "video/", "audio/")


def docs_openapi(ctx: Ctx) -> Reply:
    """A readable HTML view of /openapi.json, rendered here (no script, no CDN: works offline)."""
    from kubeez_nb.emulator.apidocs import render
    from kubeez_nb.emulator.openapi import document

    return 200, render(document(ctx.base)), {"Content-Type": "text/html; charset=utf-8"}


def media_file(ctx: Ctx) -> Reply:
    """A signed output / upload / asset link (403 once expired, 416 for a Range past the end)."""
    from werkzeug.exceptions import RequestedRangeNotSatisfiable
    from werkzeug.utils import send_file

    rec = ctx.backend.files.verify(ctx.args["file_id"], ctx.request.args.to_dict(flat=False))
    path = ctx.backend.files.materialise(rec)
    try:
        resp = send_file(
            path,
            ctx.request.environ,
            mimetype=rec.mime,
            download_name=rec.name,
            conditional=True,
            max_age=3600,
        )
    except RequestedRangeNotSatisfiable:
        size = path.stat().st_size
        raise RangeNotSatisfiable(
            f"Range {ctx.request.headers.get('Range')!r} cannot be served from a {size}-byte file.",
            headers={"Content-Range": f"bytes */{size}"},
        ) from None
    inline = rec.mime.startswith(INLINE_TYPES)
    resp.headers["Content-Disposition"] = (
        f'{"inline" if inline else "attachment"}; filename="{rec.name}"'
    )
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return resp.status_code, resp, {}


# ---- handlers: generation ------------------------------------------------------------------------
def generate_media(ctx: Ctx) -> Reply:
    body = ctx.json()
    check(ctx, "media", body)
    job = ctx.backend.create_media(ctx.acc, body["model"], body, ctx.request_id)
    return 200, _accepted(ctx, job), _first_poll(ctx, job)


def _first_poll(ctx: Ctx, job: Job) -> dict[str, str]:
    """``Retry-After`` on the accepted answer too: when the first poll is worth making."""
    return poll_headers(ctx.backend.status_of(job)[1])


def _accepted(ctx: Ctx, job: Job, **extra: Any) -> dict[str, Any]:
    return {
        KINDS[job.kind].id_keys[0]: job.id,
        "status": job.first_status,
        "model": job.model,
        "estimated_cost_credits": job.credits,
        **extra,
    }


def extend(ctx: Ctx) -> Reply:
    body = ctx.json()
    check(ctx, "extend", body)
    job = ctx.backend.create_extend(
        ctx.acc,
        body["source_task_id"],
        body["prompt"],
        body.get("extend_model") or "fast",
        ctx.request_id,
    )
    return 200, _accepted(ctx, job, source_task_id=body["source_task_id"]), _first_poll(ctx, job)


def _poll(ctx: Ctx, job: Job | None, what: str) -> tuple[Job, str, dict[str, Any], float | None]:
    """Shared by the status routes: visibility window, lazy progress, row, next-change wait."""
    b = ctx.backend
    if job is None:
        raise NotFound(f"{what} not found.")
    b.check_visible(job)
    status, wait = b.observe(job)
    row = job_row(ctx, job, status)
    if row.get("cdn_ready") is False:
        wait = b.cdn_wait(job)
    return job, status, row, wait


def media_status(ctx: Ctx) -> Reply:
    b, gid = ctx.backend, ctx.args["gen_id"]
    job = b.find_job(ctx.acc, gid, ("media", "extend", "dialogue", "ad-copy")) or b.seeded.job_for(
        ctx.acc.key, gid
    )
    _, _, row, wait = _poll(
        ctx, job, f"Generation {gid!r} (music and separation jobs poll their own routes)"
    )
    return 200, row, poll_headers(wait)


def generate_music(ctx: Ctx) -> Reply:
    body = ctx.json()
    check(ctx, "music", body)
    job = ctx.backend.create_music(ctx.acc, body["model"], body, ctx.request_id)
    return 200, _accepted(ctx, job), _first_poll(ctx, job)


def music_status(ctx: Ctx) -> Reply:
    b, gid = ctx.backend, ctx.args["gen_id"]
    job, status, row, wait = _poll(
        ctx, b.find_job(ctx.acc, gid, ("music",)), f"Music generation {gid!r}"
    )
    songs = []
    if status == "completed":
        for out, rendered in zip(job.outputs or [], row["outputs"], strict=True):
            cover = (
                b.files.sign(out.cover, ctx.base)[0]
                if out.cover is not None and rendered["url"]
                else None
            )
            songs.append(
                {
                    "id": out.file.id,
                    "title": out.label,
                    "audio_url": rendered["url"],
                    "stream_url": rendered["url"],
                    "cover_image_url": cover,
                    "duration": rendered["duration"],
                    "url_expires_at": rendered["url_expires_at"],
                }
            )
    row["songs"] = songs
    return 200, row, poll_headers(wait)


def generate_dialogue(ctx: Ctx) -> Reply:
    body = ctx.json()
    model = check(ctx, "dialogue", body)
    job = ctx.backend.create_dialogue(ctx.acc, model.id, body, ctx.request_id)
    return 200, _accepted(ctx, job), _first_poll(ctx, job)


def generate_captions(ctx: Ctx) -> Reply:
    body = ctx.json()
    model = check(ctx, "captions", body)
    result = ctx.backend.captions(ctx.acc, model.id, body["media_url"], body, ctx.request_id)
    return 200, result, {}


def generate_separation(ctx: Ctx) -> Reply:
    body = ctx.json()
    model = check(ctx, "separation", body)
    job = ctx.backend.create_separation(ctx.acc, model.id, body["media_url"], ctx.request_id)
    return (
        200,
        {
            KINDS["separation"].id_keys[0]: job.id,
            "status": job.first_status,
            "estimated_cost_credits": job.credits,
        },
        _first_poll(ctx, job),
    )


def separation_status(ctx: Ctx) -> Reply:
    sid = ctx.args["sep_id"]
    _, _, row, wait = _poll(
        ctx, ctx.backend.find_job(ctx.acc, sid, ("separation",)), f"Separation {sid!r}"
    )
    row["vocals_url"] = row["instrumental_url"] = None
    for out in row["outputs"]:
        if out.get("label") in {"vocals", "instrumental"}:
            row[f"{out['label']}_url"] = out["url"]
    return 200, row, poll_headers(wait)


def generate_ad_copy(ctx: Ctx) -> Reply:
    body = ctx.json()
    model = check(ctx, "ad-copy", body)
    project, jobs = ctx.backend.create_ad_copy(ctx.acc, model.id, body, ctx.request_id)
    return (
        200,
        {
            "project_id": project,
            "generation_ids": [j.id for j in jobs],
            "status": jobs[0].first_status,
            "estimated_cost_credits": round(sum(j.credits for j in jobs), 4),
        },
        _first_poll(ctx, jobs[0]),
    )


# ---- handlers: uploads and assets -------------------------------------------------------------
class _CappedSink:
    """A write-only file for werkzeug's multipart parser that refuses bytes beyond the cap."""

    def __init__(self, path: Path, cap: int) -> None:
        self.path, self.cap, self.size = path, cap, 0
        self._fh: IO[bytes] = open(path, "wb")  # noqa: SIM115 (closed by the upload handler)

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.cap:
            raise FileTooLarge(
                f"The file is over the {self.cap}-byte upload limit (500 MB per request)."
            )
        return self._fh.write(data)

    def seek(self, *args: Any) -> int:
        return self._fh.seek(*args)

    def tell(self) -> int:
        return self._fh.tell()

    def read(self, *args: Any) -> bytes:
        return b""

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def upload_media(ctx: Ctx) -> Reply:
    """Multipart ``file`` field(s), streamed to disk; 413 file_too_large over the cap."""
    from werkzeug.formparser import parse_form_data

    b = ctx.backend
    cap = b.knobs.max_upload_bytes
    length = ctx.request.content_length
    if length is not None and length > cap + MULTIPART_SLACK:
        raise FileTooLarge(
            f"The upload is {length} bytes; the limit is {cap} bytes (500 MB) per request."
        )
    if not (ctx.request.mimetype or "").startswith("multipart/form-data"):
        raise InvalidRequest(
            "Send the file as multipart/form-data in a field named 'file' (curl -F \"file=@./photo.jpg\")."
        )
    sinks: list[_CappedSink] = []

    def factory(
        total_content_length: Any = None,
        content_type: Any = None,
        filename: Any = None,
        content_length: Any = None,
    ) -> Any:
        sink = _CappedSink(b.new_upload_path(), cap)
        sinks.append(sink)
        return sink

    try:
        _, _form, files = parse_form_data(
            ctx.request.environ, stream_factory=factory, max_form_memory_size=1 << 20
        )
        uploads = files.getlist("file")
        if not uploads:
            raise InvalidRequest(
                "No file in the form: send it in a field named 'file'.",
                code="missing_file",
                extra={"field": "file"},
            )
        stored: list[StoredFile] = []
        for fs in uploads:
            capped = fs.stream
            assert isinstance(capped, _CappedSink)
            capped.close()
            stored.append(
                b.store_upload(ctx.acc, capped.path, fs.filename or "upload.bin", capped.size)
            )
    finally:
        for sink in sinks:
            sink.close()
            sink.path.unlink(missing_ok=True)
    urls = [b.files.sign(rec, ctx.base)[0] for rec in stored]
    return 200, {"success": True, "urls": urls, "uploaded": len(urls)}, {}


def list_assets(ctx: Ctx) -> Reply:
    b = ctx.backend
    assets = b.list_assets(ctx.acc)
    return (
        200,
        {
            "assets": [asset_row(ctx, a) for a in assets],
            "count": len(assets),
            "quota_bytes": b.knobs.asset_quota_bytes,
            "used_bytes": sum(a.file.size for a in assets),
        },
        {},
    )


def add_asset(ctx: Ctx) -> Reply:
    body = ctx.json()
    asset = ctx.backend.add_asset(ctx.acc, body.get("name"), body.get("url"))
    return 201, {"asset": asset_row(ctx, asset)}, {}


def rename_asset(ctx: Ctx) -> Reply:
    body = ctx.json()
    asset = ctx.backend.rename_asset(ctx.acc, ctx.args["asset_id"], body.get("name"))
    return 200, {"asset": asset_row(ctx, asset)}, {}


def delete_asset(ctx: Ctx) -> Reply:
    asset = ctx.backend.delete_asset(ctx.acc, ctx.args["asset_id"])
    return 200, {"deleted": True, "id": asset.id}, {}


# ---- handlers: account -------------------------------------------------------------------------
def list_models(ctx: Ctx) -> Reply:
    mtype = ctx.request.args.get("model_type") or None
    rows = [
        {k: v for k, v in r.items() if k not in {"cost_note", "voice_allowlist"}}
        for r in ctx.backend.models(mtype)
    ]
    return 200, {"models": rows, "total_count": len(rows)}, {}


def balance(ctx: Ctx) -> Reply:
    credits = ctx.acc.credits
    msg = (
        f"You have {amount(credits)} credits."
        if credits > 0
        else "You are out of credits. Top up at https://kubeez.com/billing."
    )
    return 200, {"credits": credits, "message": msg}, {}


def generations(ctx: Ctx) -> Reply:
    """Newest first; filters status/model/generation_type; ``limit`` + opaque ``cursor``."""
    q = ctx.request.args
    raw_limit = q.get("limit", str(PAGE_DEFAULT))
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = -1
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidRequest(
            f"limit must be a whole number from 1 to {PAGE_MAX}, got {raw_limit!r}.",
            extra={"field": "limit"},
        )
    b = ctx.backend
    jobs, next_cursor = b.list_generations(
        ctx.acc,
        status=q.get("status") or None,
        model=q.get("model") or None,
        generation_type=q.get("generation_type") or None,
        limit=limit,
        cursor=q.get("cursor") or None,
    )
    rows = [job_row(ctx, j) for j in jobs]
    return (
        200,
        {
            "generations": rows,
            "count": len(rows),
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
        },
        {},
    )
