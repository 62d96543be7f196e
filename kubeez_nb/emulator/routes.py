"""The declarative route table: every public route of the guide, its auth, scope and rate-limit
group, and what it takes and returns. The URL map here and ``/openapi.json`` (``openapi.document``)
are both made from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeez_nb.contract.kinds import KINDS

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


#: Per request kind: handler, summary, request schema, success schema, error codes.
# fmt: off
_GENERATE: dict[str, tuple[str, str, str, str, tuple[int, ...]]] = {
    "media": ("generate_media", "Start an image or video generation", "MediaRequest", "Accepted", (400, 402, 404)),
    "extend": ("extend", "Extend a completed Veo 3.1 clip (lite 45 / fast 75 / quality 300 credits)",
               "ExtendRequest", "ExtendAccepted", (400, 402, 404)),
    "music": ("generate_music", "Start a music generation", "MusicRequest", "Accepted", (400, 402, 404)),
    "dialogue": ("generate_dialogue", "Single-voice text to speech (polls /v1/generate/media/{id})",
                 "DialogueRequest", "Accepted", (400, 402)),
    "captions": ("generate_captions", "Word-level captions of a video or audio URL (synchronous)",
                 "CaptionsRequest", "Captions", (400, 402, 502)),
    "separation": ("generate_separation", "Split an audio track into vocals and instrumental",
                   "SeparationRequest", "SeparationAccepted", (400, 402, 502)),
    "ad-copy": ("generate_ad_copy", "Generate ad creatives (one generation per variant)", "AdCopyRequest",
                "AdCopyAccepted", (400, 402)),
}
#: Per status path: handler, path parameter, summary, success schema.
_STATUS: dict[str, tuple[str, str, str, str]] = {
    "/v1/generate/media/{id}": ("media_status", "gen_id", "Status of an image, video, dialogue or ad-copy generation",
                                "Generation"),
    "/v1/generate/music/{id}": ("music_status", "gen_id", "Status of a music generation (two songs)", "MusicStatus"),
    "/v1/generate/separation/{id}": ("separation_status", "sep_id", "Status of a separation", "SeparationStatus"),
}
# fmt: on

#: handlers of the routes that create (and bill) a job: every asynchronous kind of the table
CREATES_JOB = frozenset(_GENERATE[k.name][0] for k in KINDS.values() if not k.synchronous)
#: handlers of the status routes
STATUS_ENDPOINTS = frozenset(v[0] for v in _STATUS.values())


def _generate_routes() -> tuple[Route, ...]:
    """The generate and status routes in the kinds table's order; a status route follows the
    run of kinds that poll it (media, extend; music; separation)."""
    out: list[Route] = []
    seen: set[str] = set()
    pending: str | None = None

    def flush() -> None:
        if pending is not None:
            handler, param, summary, response = _STATUS[pending]
            path = pending.replace("{id}", f"<{param}>")
            out.append(
                Route("GET", path, handler, summary, group="read", response=response, errors=(404,))
            )

    for kind in KINDS.values():
        if kind.status_path != pending:
            flush()
            pending = None
        if kind.status_path is not None and kind.status_path not in seen:
            seen.add(kind.status_path)
            pending = kind.status_path
        handler, summary, request, response, errors = _GENERATE[kind.name]
        out.append(
            Route(
                "POST",
                kind.post_path,
                handler,
                summary,
                scope=kind.scope,
                group=kind.rate_group,
                request=request,
                response=response,
                errors=errors,
            )
        )
    flush()
    return tuple(out)


R = Route
ROUTES: tuple[Route, ...] = (
    # discovery (no auth)
    R("GET", "/health", "health", "Liveness probe", auth=False, response="Health", tag="discovery"),
    R(
        "GET",
        "/llms.txt",
        "llms_txt",
        "The guide for agents (markdown)",
        auth=False,
        tag="discovery",
    ),
    R("GET", "/openapi.json", "openapi", "This OpenAPI 3.1 document", auth=False, tag="discovery"),
    R("GET", "/docs", "docs_page", "HTML reference", auth=False, tag="discovery"),
    R(
        "GET",
        "/docs/openapi",
        "docs_openapi",
        "A readable HTML view of /openapi.json (works offline)",
        auth=False,
        tag="discovery",
    ),
    R(
        "GET",
        "/docs/models.json",
        "docs_models",
        "The full model catalog",
        auth=False,
        response="ModelList",
        tag="discovery",
    ),
    R(
        "GET",
        "/docs/models/<model_id>",
        "docs_model",
        "One model by id (`{id}.json`), or every variant of a family prefix",
        auth=False,
        response="Model",
        errors=(404,),
        tag="discovery",
    ),
    R(
        "GET",
        "/media/<file_id>/<path:name>",
        "media_file",
        "A signed output, upload or asset link (403 once expired)",
        auth=False,
        errors=(403, 404, 416),
        tag="files",
    ),
    # generation (paths, scopes and groups from the kinds table)
    *_generate_routes(),
    # uploads and assets
    R(
        "POST",
        "/v1/upload/media",
        "upload_media",
        "Upload a local file (multipart field `file`, max 500 MB)",
        scope="generate:media",
        group="upload",
        request="Upload",
        response="UploadResult",
        errors=(400, 413),
        tag="files",
    ),
    R(
        "GET",
        "/v1/assets",
        "list_assets",
        "List the asset library",
        group="read",
        response="AssetList",
        tag="assets",
    ),
    R(
        "POST",
        "/v1/assets",
        "add_asset",
        "Ingest a public URL as a named asset",
        scope="generate:media",
        group="upload",
        request="AssetCreate",
        response="AssetEnvelope",
        errors=(400, 409, 413, 502),
        status=201,
        tag="assets",
    ),
    R(
        "PATCH",
        "/v1/assets/<asset_id>",
        "rename_asset",
        "Rename an asset",
        group="read",
        request="AssetRename",
        response="AssetEnvelope",
        errors=(400, 404, 409),
        tag="assets",
    ),
    R(
        "DELETE",
        "/v1/assets/<asset_id>",
        "delete_asset",
        "Delete an asset permanently",
        group="read",
        response="Deleted",
        errors=(404,),
        tag="assets",
    ),
    # account
    R(
        "GET",
        "/v1/models",
        "list_models",
        "The model catalog (auth-gated); `?model_type=`",
        group="read",
        response="ModelList",
        tag="account",
    ),
    R(
        "GET",
        "/v1/balance",
        "balance",
        "Credit balance",
        scope="read:balance",
        group="read",
        response="Balance",
        tag="account",
    ),
    R(
        "GET",
        "/v1/generations",
        "generations",
        "Recent generations, newest first; filters and cursor pagination",
        scope="read:generations",
        group="read",
        response="GenerationPage",
        errors=(400,),
        tag="account",
    ),
)

#: Emulator-only control routes, not in /openapi.json: no API key, but the control token, a loopback
#: caller and our own Host (``guard.check_control``).
CONTROL_ROUTES: tuple[Route, ...] = (
    R(
        "POST",
        "/_emulator/keys",
        "keys",
        "Add a key with scopes, credits, rate limits",
        auth=False,
        public=False,
    ),
    R(
        "GET",
        "/_emulator/keys",
        "list_keys",
        "Keys (prefixes), scopes and balances",
        auth=False,
        public=False,
    ),
    R("POST", "/_emulator/knobs", "knobs", "Set fault knobs", auth=False, public=False),
    R("GET", "/_emulator/knobs", "get_knobs", "Current knobs", auth=False, public=False),
    R("POST", "/_emulator/clock", "clock", "Advance the emulator clock", auth=False, public=False),
    R(
        "POST",
        "/_emulator/seed-history",
        "seed_history",
        "Add N past generations",
        auth=False,
        public=False,
    ),
    R(
        "GET",
        "/_emulator/stats",
        "stats",
        "Request, generation and charge counters",
        auth=False,
        public=False,
    ),
    R(
        "POST",
        "/_emulator/reset",
        "reset",
        "Forget jobs, assets, history, stats",
        auth=False,
        public=False,
    ),
)


def url_map() -> Any:
    """The werkzeug ``Map`` of every route (public and control)."""
    from werkzeug.routing import Map, Rule

    rules = [Rule(r.path, endpoint=r, methods=[r.method]) for r in (*ROUTES, *CONTROL_ROUTES)]
    return Map(rules, strict_slashes=False, merge_slashes=False)
