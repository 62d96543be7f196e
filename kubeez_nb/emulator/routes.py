"""The declarative route table: every public route of the guide, its auth, scope and rate-limit
group, and what it takes and returns. The URL map and ``/openapi.json`` are both made from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Error answers shared by every authenticated route.
AUTH_ERRORS = (401, 403, 429)


@dataclass(frozen=True)
class Route:
    """One HTTP route."""

    method: str
    path: str  #: werkzeug rule syntax: ``/v1/generate/media/<gen_id>``
    endpoint: str  #: handler name in ``responses`` (or ``control``)
    summary: str
    auth: bool = True
    scope: str | None = None  #: scope the key needs (None: any valid key)
    group: str | None = None  #: rate-limit group (None: not limited)
    request: str | None = None  #: request schema name
    response: str | None = None  #: success schema name
    errors: tuple[int, ...] = ()
    status: int = 200
    tag: str = "generation"
    public: bool = True  #: listed in /openapi.json

    @property
    def openapi_path(self) -> str:
        return self.path.replace("<", "{").replace(">", "}").replace("{path:", "{")


R = Route
ROUTES: tuple[Route, ...] = (
    # discovery (no auth)
    R("GET", "/health", "health", "Liveness probe", auth=False, response="Health", tag="discovery"),
    R("GET", "/llms.txt", "llms_txt", "The guide for agents (markdown)", auth=False, tag="discovery"),
    R("GET", "/openapi.json", "openapi", "This OpenAPI 3.1 document", auth=False, tag="discovery"),
    R("GET", "/docs", "docs_page", "HTML reference", auth=False, tag="discovery"),
    R("GET", "/docs/models.json", "docs_models", "The full model catalog", auth=False, response="ModelList", tag="discovery"),
    R("GET", "/docs/models/<model_id>", "docs_model", "One model by id (`{id}.json`), or every variant of a family prefix",
      auth=False, response="Model", errors=(404,), tag="discovery"),
    R("GET", "/media/<file_id>/<path:name>", "media_file", "A signed output, upload or asset link (403 once expired)",
      auth=False, errors=(403, 404), tag="files"),
    # generation
    R("POST", "/v1/generate/media", "generate_media", "Start an image or video generation", scope="generate:media",
      group="media", request="MediaRequest", response="Accepted", errors=(400, 402, 404)),
    R("POST", "/v1/generate/media/extend", "extend", "Extend a completed Veo 3.1 clip (lite 45 / fast 75 / quality 300 credits)",
      scope="generate:media", group="media", request="ExtendRequest", response="ExtendAccepted", errors=(400, 402, 404)),
    R("GET", "/v1/generate/media/<gen_id>", "media_status", "Status of an image, video, dialogue or ad-copy generation",
      group="read", response="Generation", errors=(404,)),
    R("POST", "/v1/generate/music", "generate_music", "Start a music generation", scope="generate:music", group="music",
      request="MusicRequest", response="Accepted", errors=(400, 402, 404)),
    R("GET", "/v1/generate/music/<gen_id>", "music_status", "Status of a music generation (two songs)", group="read",
      response="MusicStatus", errors=(404,)),
    R("POST", "/v1/generate/dialogue", "generate_dialogue", "Single-voice text to speech (polls /v1/generate/media/{id})",
      scope="generate:speech", group="dialogue", request="DialogueRequest", response="Accepted", errors=(400, 402)),
    R("POST", "/v1/generate/captions", "generate_captions", "Word-level captions of a video or audio URL (synchronous)",
      scope="generate:speech", group="media", request="CaptionsRequest", response="Captions", errors=(400, 402, 502)),
    R("POST", "/v1/generate/separation", "generate_separation", "Split an audio track into vocals and instrumental",
      scope="generate:music", group="media", request="SeparationRequest", response="SeparationAccepted", errors=(400, 402, 502)),
    R("GET", "/v1/generate/separation/<sep_id>", "separation_status", "Status of a separation", group="read",
      response="SeparationStatus", errors=(404,)),
    R("POST", "/v1/generate/ad-copy", "generate_ad_copy", "Generate ad creatives (one generation per variant)",
      scope="generate:ads", group="ad-copy", request="AdCopyRequest", response="AdCopyAccepted", errors=(400, 402)),
    # uploads and assets
    R("POST", "/v1/upload/media", "upload_media", "Upload a local file (multipart field `file`, max 500 MB)",
      scope="generate:media", group="upload", request="Upload", response="UploadResult", errors=(400, 413), tag="files"),
    R("GET", "/v1/assets", "list_assets", "List the asset library", group="read", response="AssetList", tag="assets"),
    R("POST", "/v1/assets", "add_asset", "Ingest a public URL as a named asset", scope="generate:media", group="upload",
      request="AssetCreate", response="AssetEnvelope", errors=(400, 409, 413, 502), status=201, tag="assets"),
    R("PATCH", "/v1/assets/<asset_id>", "rename_asset", "Rename an asset", group="read", request="AssetRename",
      response="AssetEnvelope", errors=(400, 404, 409), tag="assets"),
    R("DELETE", "/v1/assets/<asset_id>", "delete_asset", "Delete an asset permanently", group="read",
      response="Deleted", errors=(404,), tag="assets"),
    # account
    R("GET", "/v1/models", "list_models", "The model catalog (auth-gated); `?model_type=`", group="read",
      response="ModelList", tag="account"),
    R("GET", "/v1/balance", "balance", "Credit balance", scope="read:balance", group="read", response="Balance", tag="account"),
    R("GET", "/v1/generations", "generations", "Recent generations, newest first; filters and cursor pagination",
      scope="read:generations", group="read", response="GenerationPage", errors=(400,), tag="account"),
)

#: Emulator-only control routes: no auth, loopback use, not in /openapi.json.
CONTROL_ROUTES: tuple[Route, ...] = (
    R("POST", "/_emulator/keys", "keys", "Add a key with scopes, credits, rate limits", auth=False, public=False),
    R("GET", "/_emulator/keys", "list_keys", "Keys (prefixes), scopes and balances", auth=False, public=False),
    R("POST", "/_emulator/knobs", "knobs", "Set fault knobs", auth=False, public=False),
    R("GET", "/_emulator/knobs", "get_knobs", "Current knobs", auth=False, public=False),
    R("POST", "/_emulator/clock", "clock", "Advance the emulator clock", auth=False, public=False),
    R("POST", "/_emulator/seed-history", "seed_history", "Add N past generations", auth=False, public=False),
    R("GET", "/_emulator/stats", "stats", "Request, generation and charge counters", auth=False, public=False),
    R("POST", "/_emulator/reset", "reset", "Forget jobs, assets, history, stats", auth=False, public=False),
)


def url_map() -> Any:
    """The werkzeug ``Map`` of every route (public and control)."""
    from werkzeug.routing import Map, Rule

    rules = [Rule(r.path, endpoint=r, methods=[r.method]) for r in (*ROUTES, *CONTROL_ROUTES)]
    return Map(rules, strict_slashes=False, merge_slashes=False)


# ---- OpenAPI -----------------------------------------------------------------------------------
def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


_S, _N, _I, _B = {"type": "string"}, {"type": "number"}, {"type": "integer"}, {"type": "boolean"}
_NS, _NN, _NI = {"type": ["string", "null"]}, {"type": ["number", "null"]}, {"type": ["integer", "null"]}
_URLS = {"type": "array", "items": {"type": "string", "format": "uri"}}
_REF = "#/components/schemas/"

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _obj({"error": _S, "message": _S, "field": _S, "problems": {"type": "array", "items": {"type": "object"}},
                   "retry_after": _N}, ("error", "message")),
    "Health": _obj({"status": {"type": "string", "enum": ["healthy"]}}, ("status",)),
    "Model": _obj({"model_id": _S, "display_name": _S, "model_type": _S, "provider": _S, "cost_per_generation": _N,
                   "cost_note": _S, "estimated_time_seconds": _N, "generation_types": {"type": "array", "items": _S},
                   "requires_input_media": _B, "input_media_types": {"type": "array", "items": _S},
                   "capabilities": {"type": "object"}, "usage_notes": _S,
                   "voice_allowlist": {"type": "array", "items": _S}}, ("model_id", "model_type")),
    "ModelList": _obj({"models": {"type": "array", "items": {"$ref": _REF + "Model"}}, "total_count": _I}, ("models",)),
    "MediaRequest": _obj({"model": _S, "prompt": _S, "aspect_ratio": _S, "duration": _S, "resolution": _S, "quality": _S,
                          "sound": _B, "negative_prompt": _S, "source_media_urls": _URLS, "generation_type": _S}, ("model",)),
    "ExtendRequest": _obj({"source_task_id": _S, "prompt": _S,
                           "extend_model": {"type": "string", "enum": ["lite", "fast", "quality"], "default": "fast"}},
                          ("source_task_id", "prompt")),
    "MusicRequest": _obj({"model": _S, "prompt": _S, "instrumental": _B, "title": _S, "style": _S, "lyrics": _S,
                          "song_description": _S, "vocal_gender": {"type": "string", "enum": ["m", "f", "random"]},
                          "negative_tags": _S, "style_weight": _N, "weirdness_constraint": _N, "audio_weight": _N},
                         ("model",)),
    "DialogueRequest": _obj({"text": _S, "voice": _S, "stability": _N, "similarity_boost": _N, "style": _N, "speed": _N,
                             "language_code": _S}, ("text",)),
    "CaptionsRequest": _obj({"media_url": _S, "quality": {"type": "string", "enum": ["auto", "best"]}, "language": _S,
                             "code_switching": _B}, ("media_url",)),
    "SeparationRequest": _obj({"media_url": _S}, ("media_url",)),
    "AdCopyRequest": _obj({"reference_ad_url": _S, "product_image_url": _S, "product_text": _S,
                           "variant_count": {"type": "integer", "minimum": 1, "maximum": 10}, "aspect_ratio": _S,
                           "language": _S}, ("reference_ad_url",)),
    "Accepted": _obj({"generation_id": _S, "status": _S, "model": _S, "estimated_cost_credits": _N},
                     ("generation_id", "status")),
    "ExtendAccepted": _obj({"generation_id": _S, "status": _S, "source_task_id": _S, "estimated_cost_credits": _N},
                           ("generation_id", "status", "source_task_id")),
    "SeparationAccepted": _obj({"separation_id": _S, "status": _S, "estimated_cost_credits": _N}, ("separation_id", "status")),
    "AdCopyAccepted": _obj({"project_id": _S, "generation_ids": {"type": "array", "items": _S}},
                           ("project_id", "generation_ids")),
    "Output": _obj({"id": _S, "url": _NS, "media_type": _S, "thumbnail_url": _NS, "width": _NI, "height": _NI,
                    "duration": _NN, "format": _NS, "file_size": _NI, "url_expires_at": _NS}),
    "Generation": _obj({"id": _S, "status": _S, "model": _S, "prompt": _NS, "generation_type": _S, "created_at": _S,
                        "completed_at": _NS, "processing_time_ms": _NI, "credits_deducted": _N, "error_message": _NS,
                        "outputs": {"type": "array", "items": {"$ref": _REF + "Output"}}, "source_task_id": _S},
                       ("id", "status")),
    "Song": _obj({"title": _S, "audio_url": _NS, "stream_url": _NS, "cover_image_url": _NS, "duration": _NN}),
    "MusicStatus": _obj({"id": _S, "status": _S, "songs": {"type": "array", "items": {"$ref": _REF + "Song"}}}, ("id", "status")),
    "SeparationStatus": _obj({"id": _S, "status": _S, "vocals_url": _NS, "instrumental_url": _NS}, ("id", "status")),
    "Word": _obj({"text": _S, "start": _N, "end": _N}, ("text", "start", "end")),
    "Captions": _obj({"id": _S, "status": _S, "text": _S, "language": _S, "duration": _N, "credits_deducted": _N,
                      "words": {"type": "array", "items": {"$ref": _REF + "Word"}}}, ("words",)),
    "Upload": _obj({"file": {"type": "string", "format": "binary"}}, ("file",)),
    "UploadResult": _obj({"success": _B, "urls": _URLS, "uploaded": _I}, ("success", "urls", "uploaded")),
    "Asset": _obj({"id": _S, "name": _S, "kind": _S, "mime_type": _S, "size_bytes": _I, "url": _S,
                   "url_expires_at": _S, "created_at": _S}, ("id", "name", "url")),
    "AssetEnvelope": _obj({"asset": {"$ref": _REF + "Asset"}}, ("asset",)),
    "AssetList": _obj({"assets": {"type": "array", "items": {"$ref": _REF + "Asset"}}, "count": _I, "quota_bytes": _I,
                       "used_bytes": _I}, ("assets", "count", "quota_bytes", "used_bytes")),
    "AssetCreate": _obj({"name": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"}, "url": _S}, ("name", "url")),
    "AssetRename": _obj({"name": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"}}, ("name",)),
    "Deleted": _obj({"deleted": _B, "id": _S}, ("deleted", "id")),
    "Balance": _obj({"credits": _N, "message": _S}, ("credits",)),
    "GenerationPage": _obj({"generations": {"type": "array", "items": {"$ref": _REF + "Generation"}}, "count": _I,
                            "next_cursor": _NS, "has_more": _B}, ("generations", "has_more")),
}

_ERROR_TEXT = {
    400: "invalid_request, unsupported_aspect or missing_<field>",
    401: "missing or unknown API key",
    402: "insufficient_credits",
    403: "missing_scope (the body names the scope), or an expired / tampered signed link",
    404: "not_found or model_not_found",
    409: "name_taken",
    413: "file_too_large or quota_exceeded",
    429: "rate_limit_exceeded (Retry-After header and retry_after field)",
    502: "fetch_failed",
}
_QUERY = {
    "list_models": [("model_type", "image | video | music | speech | ...")],
    "generations": [("status", "queued | processing | completed | failed"), ("model", "a model_id"),
                    ("generation_type", "e.g. text-to-image"), ("limit", "1-100, default 50"),
                    ("cursor", "next_cursor of the previous page")],
}


def openapi(server_url: str | None = None) -> dict[str, Any]:
    """An OpenAPI 3.1 document generated from ``ROUTES`` (control routes are left out)."""
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        if not r.public:
            continue
        op: dict[str, Any] = {"operationId": r.endpoint, "summary": r.summary, "tags": [r.tag]}
        params = [{"name": p.split(":")[-1], "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in _path_params(r.path)]
        params += [{"name": n, "in": "query", "required": False, "description": d, "schema": {"type": "string"}}
                   for n, d in _QUERY.get(r.endpoint, [])]
        if params:
            op["parameters"] = params
        if r.request:
            ctype = "multipart/form-data" if r.request == "Upload" else "application/json"
            op["requestBody"] = {"required": True, "content": {ctype: {"schema": {"$ref": _REF + r.request}}}}
        ok: dict[str, Any] = {"description": "OK"}
        if r.response:
            ok["content"] = {"application/json": {"schema": {"$ref": _REF + r.response}}}
        responses: dict[str, Any] = {str(r.status): ok}
        for code in sorted(set(r.errors) | (set(AUTH_ERRORS) if r.auth else set())):
            responses[str(code)] = {"description": _ERROR_TEXT.get(code, "error"),
                                    "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}}}
        op["responses"] = responses
        if r.auth:
            op["security"] = [{"ApiKeyHeader": []}, {"BearerAuth": []}]
            if r.scope:
                op["x-required-scope"] = r.scope
            if r.group:
                op["x-rate-limit-group"] = r.group
        paths.setdefault(r.openapi_path, {})[r.method.lower()] = op
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Kubeez REST API (local emulator)", "version": "1.0.0",
                 "description": "Generated from the emulator's route table; see /llms.txt."},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "BearerAuth": {"type": "http", "scheme": "bearer"},
            },
        },
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


def _path_params(path: str) -> list[str]:
    import re

    return re.findall(r"<([^>]+)>", path)
