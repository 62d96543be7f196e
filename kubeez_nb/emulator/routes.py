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
    R("GET", "/docs/openapi", "docs_openapi", "A readable HTML view of /openapi.json (works offline)", auth=False,
      tag="discovery"),
    R("GET", "/docs/models.json", "docs_models", "The full model catalog", auth=False, response="ModelList", tag="discovery"),
    R("GET", "/docs/models/<model_id>", "docs_model", "One model by id (`{id}.json`), or every variant of a family prefix",
      auth=False, response="Model", errors=(404,), tag="discovery"),
    R("GET", "/media/<file_id>/<path:name>", "media_file", "A signed output, upload or asset link (403 once expired)",
      auth=False, errors=(403, 404, 416), tag="files"),
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

#: Emulator-only control routes, not in /openapi.json: no API key, but the control token, a loopback
#: caller and our own Host (``guard.check_control``).
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


def openapi(server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document (``kubeez_nb.emulator.openapi``; control routes are left out)."""
    from kubeez_nb.emulator.openapi import document

    return document(server_url)
