"""What every handler works with: :class:`Ctx` (one request), and the renderers and the
validation that turn backend records into wire JSON (``job_row``, ``render_output``, ``check``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubeez_nb.contract.kinds import KINDS
from kubeez_nb.emulator import schemacheck
from kubeez_nb.emulator.backend import Backend
from kubeez_nb.emulator.clock import iso
from kubeez_nb.emulator.errors import (
    InvalidRequest,
    ModelNotFound,
)
from kubeez_nb.emulator.guard import read_json, wait_headers
from kubeez_nb.emulator.records import Account, Asset, Job, Output

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

Reply = tuple[int, Any, dict[str, str]]
#: A multipart body may be this much bigger than the file it carries (boundaries, part headers).
MULTIPART_SLACK = 64 * 1024
REQUEST_ID_HEADERS = ("Idempotency-Key", "X-Idempotency-Key", "X-Request-Id", "X-Client-Request-Id")


@dataclass
class Ctx:
    """One request as the handlers see it."""

    request: Request
    backend: Backend
    args: dict[str, str] = field(default_factory=dict)
    account: Account | None = None
    schema: str | None = None  #: the declared request schema the JSON body must fit

    @property
    def base(self) -> str:
        """Our own origin as the caller reached it (signed links point back here)."""
        return self.request.host_url.rstrip("/")

    @property
    def request_id(self) -> str | None:
        """The caller's logical request id, if it sent one (stats group charges by it)."""
        for name in REQUEST_ID_HEADERS:
            value = self.request.headers.get(name)
            if value:
                return value[:200]
        return None

    @property
    def acc(self) -> Account:
        assert self.account is not None
        return self.account

    def json(self) -> dict[str, Any]:
        """The JSON object body (size- and depth-capped); 400 invalid_request when it is missing
        or not an object, 413 payload_too_large over ``max_json_bytes``."""
        k = self.backend.knobs
        body = read_json(self.request, k.max_json_bytes, k.max_json_depth)
        if body is None:
            raise InvalidRequest(
                "The request body must be a JSON object (send Content-Type: application/json)."
            )
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        if self.schema:
            from kubeez_nb.emulator.openapi import SCHEMAS

            schemacheck.check(body, self.schema, SCHEMAS)
        return body


# ---- rendering ---------------------------------------------------------------------------------
def render_output(ctx: Ctx, out: Output, *, cdn_ready: bool = True) -> dict[str, Any]:
    b = ctx.backend
    url = expires = thumb = None
    if cdn_ready:
        url, exp = b.files.sign(out.file, ctx.base)
        expires = iso(exp)
        if out.thumbnail is not None:
            thumb = url if out.thumbnail is out.file else b.files.sign(out.thumbnail, ctx.base)[0]
    media_type = out.media_type
    if b.knobs.mime_media_type:
        media_type = out.file.mime
    row: dict[str, Any] = {
        "id": out.file.id,
        "url": url,
        "media_type": media_type,
        "thumbnail_url": thumb,
        "width": out.width,
        "height": out.height,
        "duration": round(out.duration, 3) if out.duration is not None else None,
        "format": out.file.ext or None,
        "file_size": out.file.size or None,
        "url_expires_at": expires,
    }
    if out.label:
        row["label"] = out.label
    if not cdn_ready:
        row["cdn_ready"] = False
    return row


def job_row(ctx: Ctx, job: Job, status: str | None = None) -> dict[str, Any]:
    """A generation row as the status poll and /v1/generations show it."""
    b = ctx.backend
    status = status or b.status_of(job)[0]
    done = status in {"completed", "failed"}
    row: dict[str, Any] = {
        "id": job.id,
        "status": status,
        "model": job.model,
        "prompt": job.prompt,
        "generation_type": job.generation_type,
        "created_at": iso(job.created),
        "completed_at": iso(job.done_at) if done else None,
        "processing_time_ms": round((job.done_at - job.created) * 1000) if done else None,
        "credits_deducted": job.credits,
        "error_message": job.fail_message if status == "failed" else None,
        "outputs": [],
    }
    if status == "completed":
        outs = job.outputs if job.outputs is not None else b.materialise(job)
        ready = job.kind == "seeded" or b.cdn_wait(job) <= 0
        row["outputs"] = [render_output(ctx, o, cdn_ready=ready) for o in outs]
        if not ready:
            row["cdn_ready"] = False
        if job.source_task_id:
            row["source_task_id"] = job.source_task_id
    if job.extends:
        row["extended_from"] = job.extends
    if job.project_id:
        row["project_id"] = job.project_id
    return row


def asset_row(ctx: Ctx, asset: Asset) -> dict[str, Any]:
    url, exp = ctx.backend.files.sign(asset.file, ctx.base)
    return {
        "id": asset.id,
        "name": asset.name,
        "kind": asset.file.kind,
        "mime_type": asset.file.mime,
        "size_bytes": asset.file.size,
        "url": url,
        "url_expires_at": iso(exp),
        "created_at": iso(asset.created),
    }


def poll_headers(wait: float | None) -> dict[str, str]:
    """On non-terminal answers, when the job will next change: ``Retry-After`` (whole seconds,
    rounded up) and ``Retry-After-Ms`` (the precise wait)."""
    return {} if wait is None else wait_headers(wait)


# ---- validation ----------------------------------------------------------------------------------
def check(ctx: Ctx, kind: str, body: dict[str, Any], model_id: str | None = None) -> Any:
    """Validate ``body`` for route ``kind`` with the client's rules; returns the catalog Model.

    Unknown model → 404 model_not_found; else the first problem's wire code (missing_* before
    unsupported_aspect before invalid_request), and every problem listed in ``problems``.
    """
    from kubeez_nb.contract.rules import validate

    b = ctx.backend
    catalog = b.catalog
    model = None
    if KINDS[kind].model_chosen:
        model_id = body.get("model")
        if model_id is None or model_id == "":
            raise InvalidRequest(
                "model is required: pick a model_id from /docs/models.json.",
                code="missing_model",
                extra={"field": "model"},
            )
        if not isinstance(model_id, str) or model_id not in catalog:
            raise ModelNotFound(
                f"Model {model_id!r} is unknown or disabled. List models at /docs/models.json.",
                extra={"model": model_id},
            )
        model = catalog[model_id]
    elif model_id is not None:
        model = catalog[model_id]
    else:
        model = catalog.endpoint_model(kind)
    problems = validate(model, kind, body)
    if problems:
        order = sorted(
            problems,
            key=lambda p: (not p.code.startswith("missing_"), p.code != "unsupported_aspect"),
        )
        first = order[0]
        raise InvalidRequest(
            "; ".join(str(p) for p in problems),
            code=first.code,
            extra={"field": first.field, "problems": [_jsonable(p.to_dict()) for p in problems]},
        )
    return model


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
