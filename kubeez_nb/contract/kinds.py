"""The table of request kinds: one row per generate route of the guide.

Every per-kind fact lives here once: the POST path, the status path a job of it polls, the
documented rate-limit group, the scope a key needs, the keys of the submit answer that hold the
job id(s), whether the wire body carries ``model``, and the body fields (name, type, whether
required, range or choices, UI label). The client, the job, the rate limiter, the validation
rules, the widgets' field lists, the magic's options and the emulator's routes and OpenAPI read
this table instead of writing the facts again.

"kind" here always means *request kind* (a key of :data:`KINDS`); media kinds (image / video /
audio) are :data:`MEDIA_KINDS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: Media kinds a source URL or an output can have.
MEDIA_KINDS: tuple[str, ...] = ("image", "video", "audio")

#: Extend tiers (``extend_model``), cheapest first.
EXTEND_MODELS: tuple[str, ...] = ("lite", "fast", "quality")
CAPTION_QUALITIES: tuple[str, ...] = ("auto", "best")
VOCAL_GENDERS: tuple[str, ...] = ("m", "f", "random")
#: Advanced-mode music fields; sending any of them switches the request to advanced mode.
MUSIC_ADVANCED_FIELDS: tuple[str, ...] = (
    "title",
    "style",
    "lyrics",
    "song_description",
    "vocal_gender",
)
#: ElevenLabs' documented speed range for the dialogue voice.
DIALOGUE_SPEED_RANGE: tuple[float, float] = (0.7, 1.2)
AD_VARIANT_RANGE: tuple[int, int] = (1, 10)
#: Range of the 0..1 weights (music weights, dialogue voice settings).
UNIT_RANGE: tuple[float, float] = (0.0, 1.0)


@dataclass(frozen=True)
class Field:
    """One body field of a request kind.

    ``type``: ``text``, ``url``, ``urls`` (a list of URLs), ``number``, ``integer``, ``bool``,
    ``choice`` or ``id``. ``choices``: the fixed values (empty when the model's capabilities or
    the catalog supply them; ``source`` then names where they come from: ``capabilities`` or
    ``voices``). ``range``: inclusive bounds of a number. ``media``: the media kinds a URL field
    takes (empty: whatever the model takes).
    """

    name: str
    type: str = "text"
    required: bool = False
    label: str = ""
    choices: tuple[str, ...] = ()
    range: tuple[float, float] | None = None
    media: tuple[str, ...] = ()
    source: str | None = None

    @property
    def title(self) -> str:
        """The UI label (``label``, else the name in words)."""
        return self.label or self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class RequestKind:
    """One generate route of the guide."""

    name: str  #: "media"
    post_path: str  #: "/v1/generate/media"
    status_path: str | None  #: "/v1/generate/media/{id}" (None: synchronous, captions)
    rate_group: str  #: documented rate-limit group (captions / separation / extend count as media)
    scope: str  #: scope the key needs
    id_keys: tuple[str, ...]  #: keys of the submit answer holding the job id(s), first wins
    job_kind: str | None  #: what a Job of it is called (None: no job, captions)
    fields: tuple[Field, ...]  #: documented body fields (capability fields come on top for media)
    model_in_body: bool  #: the wire body carries ``model`` (else the server picks it)
    label: str = ""  #: UI name
    model_chosen: bool = False  #: the user names a model (else the route's catalog model is used)
    multi: bool = False  #: the answer holds a list of ids (one job per variant, ad-copy)

    @property
    def synchronous(self) -> bool:
        """The answer is the result (no job to poll)."""
        return self.status_path is None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the fields a request of this kind cannot go without."""
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def status_url(self, job_id: str) -> str:
        """The status path of one job (``job_id`` must already be URL-encoded as a segment)."""
        if self.status_path is None:
            raise ValueError(f"{self.name} requests are synchronous; they have no status route")
        return self.status_path.format(id=job_id)

    def job_ids(self, answer: Mapping[str, object]) -> list[str]:
        """The job id(s) in a submit answer (``[]`` when none is there)."""
        for key in self.id_keys:
            value = answer.get(key)
            if isinstance(value, list):
                return [str(v) for v in value if v not in (None, "")]
            if value not in (None, ""):
                return [str(value)]
        return []


F = Field
_MODEL = F("model", "id", label="Model")  # the route's catalog model when not chosen
_CHOSEN_MODEL = F("model", "id", required=True, label="Model")
_MEDIA_STATUS = "/v1/generate/media/{id}"
_PROMPT = F("prompt", "text", required=True, label="Prompt")
_SOURCES = F("source_media_urls", "urls", label="Source media")
_KINDS: tuple[RequestKind, ...] = (
    RequestKind(
        "media",
        "/v1/generate/media",
        _MEDIA_STATUS,
        "media",
        "generate:media",
        ("generation_id", "id"),
        "media",
        (
            _CHOSEN_MODEL,
            _PROMPT,
            F("aspect_ratio", "choice", label="Aspect ratio", source="capabilities"),
            F("duration", "choice", label="Duration", source="capabilities"),
            F("resolution", "choice", label="Resolution", source="capabilities"),
            F("quality", "choice", label="Quality", source="capabilities"),
            F("sound", "bool", label="Sound"),
            F("negative_prompt", "text", label="Negative prompt"),
            _SOURCES,
            F("generation_type", "choice", label="Generation type", source="capabilities"),
        ),
        model_in_body=True,
        label="Image / video",
        model_chosen=True,
    ),
    RequestKind(
        "extend",
        "/v1/generate/media/extend",
        _MEDIA_STATUS,
        "media",
        "generate:media",
        ("generation_id", "id"),
        "extend",
        (
            _MODEL,
            F("source_task_id", "id", required=True, label="Source clip"),
            F("prompt", "text", required=True, label="Prompt"),
            F("extend_model", "choice", label="Extend model", choices=EXTEND_MODELS),
        ),
        model_in_body=False,
        label="Extend",
    ),
    RequestKind(
        "music",
        "/v1/generate/music",
        "/v1/generate/music/{id}",
        "music",
        "generate:music",
        ("generation_id", "id"),
        "music",
        (
            _CHOSEN_MODEL,
            F("prompt", "text", label="Prompt"),  # required unless advanced mode (the rules)
            F("instrumental", "bool", label="Instrumental"),
            F("title", "text", label="Title"),
            F("style", "text", label="Style"),
            F("lyrics", "text", label="Lyrics"),
            F("song_description", "text", label="Song description"),
            F("vocal_gender", "choice", label="Vocal gender", choices=VOCAL_GENDERS),
            F("negative_tags", "text", label="Negative tags"),
            F("style_weight", "number", label="Style weight", range=UNIT_RANGE),
            F("weirdness_constraint", "number", label="Weirdness", range=UNIT_RANGE),
            F("audio_weight", "number", label="Audio weight", range=UNIT_RANGE),
            _SOURCES,
        ),
        model_in_body=True,
        label="Music",
        model_chosen=True,
    ),
    RequestKind(
        "dialogue",
        "/v1/generate/dialogue",
        _MEDIA_STATUS,
        "dialogue",
        "generate:speech",
        ("generation_id", "id"),
        "dialogue",
        (
            _MODEL,
            F("text", "text", required=True, label="Text"),
            F("voice", "choice", label="Voice", source="voices"),
            F("stability", "number", label="Stability", range=UNIT_RANGE),
            F("similarity_boost", "number", label="Similarity", range=UNIT_RANGE),
            F("style", "number", label="Style", range=UNIT_RANGE),
            F("speed", "number", label="Speed", range=DIALOGUE_SPEED_RANGE),
            F("language_code", "text", label="Language"),
        ),
        model_in_body=False,
        label="Speech",
    ),
    RequestKind(
        "captions",
        "/v1/generate/captions",
        None,
        "media",
        "generate:speech",
        (),
        None,
        (
            _MODEL,
            F("media_url", "url", required=True, label="Video / audio", media=("video", "audio")),
            F("quality", "choice", label="Quality", choices=CAPTION_QUALITIES),
            F("language", "text", label="Language"),
            F("code_switching", "bool", label="Code switching"),
        ),
        model_in_body=False,
        label="Captions",
    ),
    RequestKind(
        "separation",
        "/v1/generate/separation",
        "/v1/generate/separation/{id}",
        "media",
        "generate:music",
        ("separation_id", "id"),
        "separation",
        (_MODEL, F("media_url", "url", required=True, label="Audio track", media=("audio",))),
        model_in_body=False,
        label="Stem separation",
    ),
    RequestKind(
        "ad-copy",
        "/v1/generate/ad-copy",
        _MEDIA_STATUS,
        "ad-copy",
        "generate:ads",
        ("generation_ids",),
        "ad-copy",
        (
            _MODEL,
            F(
                "reference_ad_url",
                "url",
                required=True,
                label="Reference ad",
                media=("image", "video"),
            ),
            F("product_image_url", "url", label="Product image", media=("image",)),
            F("product_text", "text", label="Product text"),
            F("variant_count", "integer", label="Variants", range=AD_VARIANT_RANGE),
            F("aspect_ratio", "choice", label="Aspect ratio", source="capabilities"),
            F("language", "text", label="Language"),
        ),
        model_in_body=False,
        label="Ad copy",
        multi=True,
    ),
)

#: Every request kind by name, in the guide's order.
KINDS: Mapping[str, RequestKind] = MappingProxyType({k.name: k for k in _KINDS})
#: The status routes (distinct paths), in table order: media, music, separation.
STATUS_PATHS: tuple[str, ...] = tuple(
    dict.fromkeys(k.status_path for k in _KINDS if k.status_path is not None)
)
#: Job kind -> the status path its jobs poll.
STATUS_ROUTES: Mapping[str, str] = MappingProxyType(
    {k.job_kind: k.status_path for k in _KINDS if k.job_kind and k.status_path}
)


def _clean(path: str) -> str:
    return "/" + path.split("?", 1)[0].strip("/")


def kind_for_path(method: str, path: str) -> RequestKind | None:
    """The request kind a POST to ``path`` submits, or None (not a generate route)."""
    if method.upper() != "POST":
        return None
    path = _clean(path)
    return next((k for k in _KINDS if k.post_path == path), None)


def kind_for_status_path(path: str) -> RequestKind | None:
    """The first request kind whose jobs poll ``path`` (``/v1/generate/music/abc`` -> music)."""
    path = _clean(path)
    for k in _KINDS:
        if k.status_path is None:
            continue
        prefix = k.status_path.split("{", 1)[0]
        rest = path[len(prefix) :] if path.startswith(prefix) else ""
        if rest and "/" not in rest:
            return k
    return None


def get(name: str) -> RequestKind:
    """The request kind ``name``; ``ValueError`` naming the known kinds otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown request kind {name!r}; one of {', '.join(KINDS)}") from None


__all__ = [
    "AD_VARIANT_RANGE",
    "CAPTION_QUALITIES",
    "DIALOGUE_SPEED_RANGE",
    "EXTEND_MODELS",
    "KINDS",
    "MEDIA_KINDS",
    "MUSIC_ADVANCED_FIELDS",
    "STATUS_PATHS",
    "STATUS_ROUTES",
    "UNIT_RANGE",
    "VOCAL_GENDERS",
    "Field",
    "RequestKind",
    "get",
    "kind_for_path",
    "kind_for_status_path",
]
