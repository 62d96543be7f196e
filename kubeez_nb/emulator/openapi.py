"""``/openapi.json``: the wire shapes (``SCHEMAS``) and the document made from the route table.

Spec = behaviour: request bodies and query strings are checked against these same schemas
(``schemacheck``) before any model rule runs, every status a route can answer is declared with
its headers (``Retry-After`` / ``Retry-After-Ms`` / ``X-RateLimit-*`` / ``Allow``), and every
operation that can succeed carries a working request example.
"""

from __future__ import annotations

import re
from typing import Any

from kubeez_nb.emulator.routes import AUTH_ERRORS, CREATES_JOB, ROUTES, STATUS_ENDPOINTS, Route


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


_S, _N, _I, _B = {"type": "string"}, {"type": "number"}, {"type": "integer"}, {"type": "boolean"}
_S1 = {"type": "string", "minLength": 1}  #: a string the server refuses when empty
_URL = {"type": "string", "format": "uri", "minLength": 1}
_NS, _NN, _NI = (
    {"type": ["string", "null"]},
    {"type": ["number", "null"]},
    {"type": ["integer", "null"]},
)
_URLS = {"type": "array", "items": {"type": "string", "format": "uri"}}
_NAME = {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"}
_REF = "#/components/schemas/"
VOICES = ["Rachel", "Drew", "Clyde", "Paul", "Aria", "Domi", "Dave", "Roger", "Fin", "Sarah", "James", "Jane",
          "Juniper", "Arabella", "Hope", "Bradford", "Reginald", "Gaming", "Austin", "Kuon", "Blondie", "Priyanka",
          "Alexandra", "Monika", "Mark", "Grimblewood"]  # fmt: skip

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
    "MediaRequest": _obj({"model": _S1, "prompt": _S, "aspect_ratio": _S, "duration": _S, "resolution": _S,
                          "quality": _S, "sound": _B, "negative_prompt": _S, "source_media_urls": _URLS,
                          "generation_type": _S}, ("model",)),
    "ExtendRequest": _obj({"source_task_id": _S1, "prompt": _S1,
                           "extend_model": {"type": "string", "enum": ["lite", "fast", "quality"], "default": "fast"}},
                          ("source_task_id", "prompt")),
    "MusicRequest": _obj({"model": _S1, "prompt": _S, "instrumental": _B, "title": _S, "style": _S, "lyrics": _S,
                          "song_description": _S, "vocal_gender": {"type": "string", "enum": ["m", "f", "random"]},
                          "negative_tags": _S, "style_weight": _N, "weirdness_constraint": _N, "audio_weight": _N},
                         ("model",)),
    "DialogueRequest": _obj({"text": _S1, "voice": {"type": "string", "enum": VOICES}, "stability": _N,
                             "similarity_boost": _N, "style": _N, "speed": _N, "language_code": _S}, ("text",)),
    "CaptionsRequest": _obj({"media_url": _URL, "quality": {"type": "string", "enum": ["auto", "best"]}, "language": _S,
                             "code_switching": _B}, ("media_url",)),
    "SeparationRequest": _obj({"media_url": _URL}, ("media_url",)),
    "AdCopyRequest": _obj({"reference_ad_url": _URL, "product_image_url": _URL, "product_text": _S,
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
    "Song": _obj({"title": _NS, "audio_url": _NS, "stream_url": _NS, "cover_image_url": _NS, "duration": _NN}),
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
    "AssetCreate": _obj({"name": _NAME, "url": _URL}, ("name", "url")),
    "AssetRename": _obj({"name": _NAME}, ("name",)),
    "Deleted": _obj({"deleted": _B, "id": _S}, ("deleted", "id")),
    "Balance": _obj({"credits": _N, "message": _S}, ("credits",)),
    "GenerationPage": _obj({"generations": {"type": "array", "items": {"$ref": _REF + "Generation"}}, "count": _I,
                            "next_cursor": _NS, "has_more": _B}, ("generations", "has_more")),
}  # fmt: skip

#: Working request bodies, one per operation that can succeed (fuzzing starts from these).
EXAMPLES: dict[str, dict[str, Any]] = {
    "generate_media": {"model": "nano-banana-2", "prompt": "matte-black headphones on marble, soft studio light",
                       "aspect_ratio": "1:1"},
    "extend": {"source_task_id": "task_from_a_completed_veo_3_1_clip", "prompt": "the camera keeps rising",
               "extend_model": "fast"},
    "generate_music": {"model": "V5", "prompt": "lo-fi beat with warm vinyl crackle"},
    "generate_dialogue": {"text": "Welcome to Kubeez. Let me show you around.", "voice": "Rachel", "stability": 0.5,
                          "language_code": "en"},
    "generate_captions": {"media_url": "https://cdn.example.com/interview.mp4", "quality": "auto"},
    "generate_separation": {"media_url": "https://cdn.example.com/song.mp3"},
    "generate_ad_copy": {"reference_ad_url": "https://cdn.example.com/ad.png", "product_text": "Acme headphones",
                         "variant_count": 2, "aspect_ratio": "1:1"},
    "add_asset": {"name": "acme-logo", "url": "https://cdn.example.com/logo.png"},
    "rename_asset": {"name": "acme-logo-v2"},
}  # fmt: skip

#: Query parameters per operation: (name, description, schema, required).
QUERY: dict[str, list[tuple[str, str, dict[str, Any], bool]]] = {
    "list_models": [("model_type", "only rows of this model_type",
                     {"type": "string", "enum": ["image", "video", "music", "speech", "other", "separation"]}, False)],
    "generations": [
        ("status", "only rows in this status",
         {"type": "string", "enum": ["queued", "pending", "processing", "completed", "failed", "cancelled"]}, False),
        ("model", "only rows of this model_id", _S1, False),
        ("generation_type", "only rows of this generation type, e.g. text-to-image", _S1, False),
        ("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}, False),
        ("cursor", "next_cursor of the previous page, unchanged (opaque)", {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}, False),
    ],
    "media_file": [
        ("expires", "expiry of the signed link (epoch seconds)", {"type": "integer"}, True),
        ("sig", "signature of the link", {"type": "string", "pattern": "^[0-9a-f]{32}$"}, True),
    ],
}  # fmt: skip

#: Path parameter schemas (ids never contain ``/``).
PATH_PARAM = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}
PATH_PARAMS = {"model_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$"},
               "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$"}}  # fmt: skip
#: Where the spec spells a path differently from the werkzeug rule.
SPEC_PATH = {"docs_model": "/docs/models/{model_id}.json"}

_ERROR_TEXT = {
    400: "invalid_request, unsupported_aspect or missing_<field>: the body or query breaks this schema, or fits it "
         "but not the chosen model's capabilities (see /docs/models.json), or the JSON nests too deep",
    401: "missing or unknown API key",
    402: "insufficient_credits",
    403: "missing_scope (the body names the scope), or an expired / tampered signed link",
    404: "not_found or model_not_found",
    409: "name_taken",
    413: "file_too_large, quota_exceeded or payload_too_large (JSON bodies over 1 MiB)",
    416: "range_not_satisfiable (Content-Range: bytes */size)",
    429: "rate_limit_exceeded (Retry-After / Retry-After-Ms headers and a retry_after field)",
    502: "fetch_failed: the URL could not be fetched",
    "5XX": "server side (or an emulator fault knob); safe to retry idempotently after a delay",
}  # fmt: skip
_INT_HDR: dict[str, Any] = {"schema": {"type": "integer", "minimum": 0}}
RATE_HEADERS: dict[str, dict[str, Any]] = {
    "X-RateLimit-Limit": {
        "description": "requests allowed per window for this route group",
        **_INT_HDR,
    },
    "X-RateLimit-Remaining": {"description": "requests left in the window", **_INT_HDR},
    "X-RateLimit-Reset": {
        "description": "seconds until a slot frees",
        "schema": {"type": "number", "minimum": 0},
    },
    "X-RateLimit-Window": {
        "description": "window length in seconds",
        "schema": {"type": "number", "minimum": 0},
    },
}
WAIT_HEADERS: dict[str, dict[str, Any]] = {
    "Retry-After": {"description": "whole seconds to wait (RFC 9110 delta-seconds, rounded up)",
                    "schema": {"type": "integer", "minimum": 1}},
    "Retry-After-Ms": {"description": "the precise wait in milliseconds", "schema": {"type": "integer", "minimum": 1}},
}  # fmt: skip
#: Operations whose success answers may say when to look again (non-terminal job states).
PACED = CREATES_JOB | STATUS_ENDPOINTS
#: Links for the stateful phase: the id a create answers feeds the follow-up operations.
LINKS = {
    "generate_media": {"media_status": ("gen_id", "$response.body#/generation_id")},
    "generate_dialogue": {"media_status": ("gen_id", "$response.body#/generation_id")},
    "generate_music": {"music_status": ("gen_id", "$response.body#/generation_id")},
    "generate_separation": {"separation_status": ("sep_id", "$response.body#/separation_id")},
    "add_asset": {"rename_asset": ("asset_id", "$response.body#/asset/id"),
                  "delete_asset": ("asset_id", "$response.body#/asset/id")},
}  # fmt: skip
_TEXT_TYPES = {"llms_txt": "text/markdown", "docs_page": "text/html", "docs_openapi": "text/html"}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF + schema}}}


def _success(r: Route) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK"}
    if r.endpoint == "docs_model":
        ok["description"] = (
            "one Model for an exact id; for a family prefix, every variant as a ModelList"
        )
        ok["content"] = {
            "application/json": {
                "schema": {"oneOf": [{"$ref": _REF + "Model"}, {"$ref": _REF + "ModelList"}]}
            }
        }
    elif r.endpoint == "openapi":
        ok["content"] = {
            "application/json": {"schema": {"type": "object", "required": ["openapi", "paths"]}}
        }
    elif r.endpoint in _TEXT_TYPES:
        ok["content"] = {_TEXT_TYPES[r.endpoint]: {"schema": {"type": "string"}}}
    elif r.endpoint == "media_file":
        ok["content"] = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
        ok["headers"] = {
            "Content-Disposition": {
                "description": "inline for images, video and audio; attachment otherwise",
                "schema": {"type": "string"},
            },
            "X-Content-Type-Options": {"schema": {"type": "string", "enum": ["nosniff"]}},
        }
    elif r.response:
        ok["content"] = _json(r.response)
    headers = {**(RATE_HEADERS if r.group else {}), **(WAIT_HEADERS if r.endpoint in PACED else {})}
    if headers:
        ok["headers"] = {**ok.get("headers", {}), **headers}
    if r.endpoint in LINKS:
        ok["links"] = {
            target: {"operationId": target, "parameters": {param: expr}}
            for target, (param, expr) in LINKS[r.endpoint].items()
        }
    return ok


def _responses(r: Route) -> dict[str, Any]:
    out: dict[str, Any] = {str(r.status): _success(r)}
    if r.endpoint == "media_file":
        out["206"] = {
            "description": "the asked Range",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    codes: set[Any] = set(r.errors) | (set(AUTH_ERRORS) if r.auth else set())
    if r.request and r.request != "Upload":
        codes |= {400, 413}
    if r.path.startswith("/v1/"):
        codes.add("5XX")
    if r.endpoint in QUERY and r.endpoint != "media_file":
        codes.add(400)
    for code in sorted(codes, key=str):
        resp: dict[str, Any] = {
            "description": _ERROR_TEXT.get(code, "error"),
            "content": _json("Error"),
        }
        headers: dict[str, dict[str, Any]] = (
            dict(RATE_HEADERS) if r.group and code not in {401, "5XX"} else {}
        )
        if code == 429:
            headers.update({k: {**v, "required": True} for k, v in WAIT_HEADERS.items()})
        if code == 416:
            headers["Content-Range"] = {
                "schema": {"type": "string", "pattern": r"^bytes \*/\d+$"},
                "required": True,
            }
        if headers:
            resp["headers"] = headers
        out[str(code)] = resp
    return out


def _parameters(r: Route) -> list[dict[str, Any]]:
    params = [{"name": p, "in": "path", "required": True, "schema": PATH_PARAMS.get(p, PATH_PARAM)}
              for p in path_params(r.path)]  # fmt: skip
    params += [{"name": n, "in": "query", "required": req, "description": d, "schema": schema}
               for n, d, schema, req in QUERY.get(r.endpoint, [])]  # fmt: skip
    if r.endpoint == "media_file":
        params.append({"name": "Range", "in": "header", "required": False, "description": "bytes=start-end",
                       "schema": {"type": "string", "pattern": r"^bytes=\d*-\d*$"}})  # fmt: skip
    return params


def operation(r: Route) -> dict[str, Any]:
    """The OpenAPI operation object of one route."""
    op: dict[str, Any] = {"operationId": r.endpoint, "summary": r.summary, "tags": [r.tag]}
    params = _parameters(r)
    if params:
        op["parameters"] = params
    if r.request:
        ctype = "multipart/form-data" if r.request == "Upload" else "application/json"
        media: dict[str, Any] = {"schema": {"$ref": _REF + r.request}}
        if r.endpoint in EXAMPLES:
            media["example"] = EXAMPLES[r.endpoint]
        op["requestBody"] = {"required": True, "content": {ctype: media}}
    op["responses"] = _responses(r)
    if r.auth:
        op["security"] = [{"ApiKeyHeader": []}, {"BearerAuth": []}]
        if r.scope:
            op["x-required-scope"] = r.scope
        if r.group:
            op["x-rate-limit-group"] = r.group
    return op


def document(server_url: str | None = None) -> dict[str, Any]:
    """An OpenAPI 3.1 document generated from ``ROUTES`` (control routes are left out)."""
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        if r.public:
            paths.setdefault(SPEC_PATH.get(r.endpoint, r.openapi_path), {})[r.method.lower()] = (
                operation(r)
            )
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Kubeez REST API (local emulator)", "version": "1.0.0",
                 "description": "Generated from the emulator's route table; see /llms.txt. A readable view: /docs/openapi."},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "BearerAuth": {"type": "http", "scheme": "bearer"},
            },
        },
    }  # fmt: skip
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


def path_params(path: str) -> list[str]:
    """Parameter names of a werkzeug rule (``<path:name>`` → ``name``)."""
    return [p.split(":")[-1] for p in re.findall(r"<([^>]+)>", path)]
