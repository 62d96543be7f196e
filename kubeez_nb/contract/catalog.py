"""The model catalog as typed records, and request validation against a model's capabilities.

Everything here is read from ``/docs/models.json``: no model id, option list or price is written
into the code. ``validate(model, kind, params)`` returns *every* problem of a request at once
(field, value given, values allowed) so the client can refuse it before any HTTP request;
``build_body`` turns valid params into the wire body in the catalog's own forms (``"5s"``).

Unknown capability keys land in ``Capabilities.extra`` and unknown ``<name>_options`` lists are
checked generically; a catalog with new keys or model types never makes this module crash.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeez_nb.contract.kinds import (
    AD_VARIANT_RANGE,
    CAPTION_QUALITIES,
    DIALOGUE_SPEED_RANGE,
    EXTEND_MODELS,
    KINDS,
    MEDIA_KINDS,
    MUSIC_ADVANCED_FIELDS,
    VOCAL_GENDERS,
)
from kubeez_nb.contract.wire import media_kind
from kubeez_nb.contract.wire import seconds as parse_seconds
from kubeez_nb.errors import Problem, ValidationError
from kubeez_nb.inputs import text_problems

# Body fields of each route (the kinds table). Fields named by a model's capabilities
# (``<name>_options``) or by its usage_notes are accepted on top of these.
_FIELDS: dict[str, tuple[str, ...]] = {k.name: k.field_names for k in KINDS.values()}
# Routes whose wire body carries no ``model`` (the server picks it); normalize() drops it there.
_NO_MODEL_IN_BODY = frozenset(k.name for k in KINDS.values() if not k.model_in_body)
_MEDIA_FIELDS = _FIELDS["media"]

#: video_audio policies under which the model takes no ``sound`` field at all.
_NO_SOUND_PARAM = frozenset({"included", "silent"})
_RETIRED_RE = re.compile(
    r"\b(earlier|legacy|deprecated|no longer|retired|had taken its place|replaced by)\b", re.I
)
_ROUTE_RE = re.compile(r"/v1/generate/([a-z][a-z-]*)")


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return int(f) if math.isfinite(f) else None


def _str_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    if isinstance(value, str) and value:
        return [value]
    return []


@dataclass
class Capabilities:
    """What a model accepts, from the catalog's ``capabilities`` object.

    Absent list capabilities are empty lists; ``extra`` keeps every key this version does not
    know (``<name>_options`` lists among them are still validated generically).
    """

    prompt_max_chars: int | None = None
    aspect_ratio_options: list[str] = field(default_factory=list)
    duration_options: list[str] = field(default_factory=list)
    resolution_options: list[str] = field(default_factory=list)
    quality_options: list[str] = field(default_factory=list)
    max_input_images: int | None = None
    max_input_videos: int | None = None
    max_input_audios: int | None = None
    supports_sound: bool | None = None
    #: ``toggle_via_sound_param`` | ``included`` | ``silent`` | None (no audio track: images).
    video_audio: str | None = None
    supports_negative_prompt: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _LISTS = ("aspect_ratio_options", "duration_options", "resolution_options", "quality_options")
    _INTS = ("prompt_max_chars", "max_input_images", "max_input_videos", "max_input_audios")
    _BOOLS = ("supports_sound", "supports_negative_prompt")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Capabilities:
        """Parse a capabilities object; wrong-typed or unknown values never raise."""
        d = d if isinstance(d, Mapping) else {}
        kw: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in d.items():
            if key in cls._LISTS:
                kw[key] = _str_list(value)
            elif key in cls._INTS:
                kw[key] = _int_or_none(value)
            elif key in cls._BOOLS:
                kw[key] = value if isinstance(value, bool) else None
            elif key == "video_audio":
                kw[key] = value if isinstance(value, str) else None
            else:
                extra[str(key)] = value
        return cls(**kw, extra=extra)

    def options(self) -> dict[str, list[str]]:
        """Every ``<name>_options`` list by body field name (``aspect_ratio`` → its options)."""
        out: dict[str, list[str]] = {}
        for key in self._LISTS:
            out[key[: -len("_options")]] = list(getattr(self, key))
        for key, value in self.extra.items():
            if key.endswith("_options") and isinstance(value, (list, tuple)):
                out[key[: -len("_options")]] = _str_list(value)
        return out

    def max_inputs(self, kind: str) -> int | None:
        """The ``max_input_<kind>s`` limit (None when the catalog does not say)."""
        value = getattr(self, f"max_input_{kind}s", None)
        if value is None:
            value = _int_or_none(self.extra.get(f"max_input_{kind}s"))
        return value


@dataclass
class Model:
    """One catalog row. ``id`` is ``model_id``; ``raw`` keeps the row as served."""

    id: str
    display_name: str = ""
    model_type: str = ""
    provider: str = ""
    cost_per_generation: float = 0.0
    cost_note: str = ""
    estimated_time_seconds: float | None = None
    generation_types: list[str] = field(default_factory=list)
    requires_input_media: bool = False
    input_media_types: list[str] = field(default_factory=list)
    capabilities: Capabilities = field(default_factory=Capabilities)
    usage_notes: str = ""
    voice_allowlist: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Model:
        """Parse a catalog row (``model_id`` or ``id``); odd values are coerced, never fatal."""
        cost = d.get("cost_per_generation")
        try:
            cost_f = float(cost) if cost is not None and not isinstance(cost, bool) else 0.0
        except (TypeError, ValueError):
            cost_f = 0.0
        est = d.get("estimated_time_seconds")
        try:
            est_f = float(est) if est is not None and not isinstance(est, bool) else None
        except (TypeError, ValueError):
            est_f = None
        return cls(
            id=str(d.get("model_id") or d.get("id") or ""),
            display_name=str(d.get("display_name") or d.get("model_id") or d.get("id") or ""),
            model_type=str(d.get("model_type") or ""),
            provider=str(d.get("provider") or ""),
            cost_per_generation=cost_f if math.isfinite(cost_f) else 0.0,
            cost_note=str(d.get("cost_note") or ""),
            estimated_time_seconds=est_f,
            generation_types=_str_list(d.get("generation_types")),
            requires_input_media=bool(d.get("requires_input_media") is True),
            input_media_types=_str_list(d.get("input_media_types")),
            capabilities=Capabilities.from_dict(d.get("capabilities")),
            usage_notes=str(d.get("usage_notes") or ""),
            voice_allowlist=_str_list(d.get("voice_allowlist")),
            raw=dict(d),
        )

    def __repr__(self) -> str:
        return f"Model({self.id!r}, {self.model_type}, {self.cost_per_generation:g} credits)"

    @property
    def model_id(self) -> str:
        """Alias of ``id`` (the catalog's own name)."""
        return self.id

    @property
    def is_video(self) -> bool:
        return self.model_type == "video"

    @property
    def is_image(self) -> bool:
        return self.model_type == "image"

    @property
    def retired(self) -> bool:
        """The usage notes say this id was replaced (kept in the catalog for old jobs)."""
        return bool(_RETIRED_RE.search(self.usage_notes))

    @property
    def duration_seconds(self) -> list[int | float]:
        """The duration options as numbers of seconds, in catalog order."""
        out = []
        for opt in self.capabilities.duration_options:
            sec = parse_seconds(opt)
            if sec is not None:
                out.append(int(sec) if sec.is_integer() else sec)
        return out

    @property
    def duration_range(self) -> tuple[int, int] | None:
        """(min, max) when the durations are a flexible range of whole seconds (Kling 3.0: 3-15).

        Read from ``duration_min``/``duration_max`` or ``duration_range`` capabilities when a
        catalog has them, else recognised in an enumerated list of three or more consecutive
        whole seconds.
        """
        extra = self.capabilities.extra
        lo, hi = _int_or_none(extra.get("duration_min")), _int_or_none(extra.get("duration_max"))
        rng = extra.get("duration_range")
        if isinstance(rng, (list, tuple)) and len(rng) == 2:
            lo, hi = _int_or_none(rng[0]), _int_or_none(rng[1])
        if lo is not None and hi is not None:
            return (lo, hi)
        secs = self.duration_seconds
        if len(secs) >= 3 and all(isinstance(s, int) for s in secs):
            ordered = sorted(secs)
            if ordered == list(range(ordered[0], ordered[-1] + 1)):
                return (int(ordered[0]), int(ordered[-1]))
        return None

    @property
    def endpoint(self) -> str:
        """The generate route this model is used through: ``media``, ``music``, ``dialogue``,
        ``captions``, ``separation`` or ``ad-copy``.

        Read from the data: an explicit ``endpoint`` key, the ``/v1/generate/<x>`` route the
        usage notes name, the generation types, then the model type.
        """
        explicit = self.raw.get("endpoint")
        if isinstance(explicit, str) and explicit in KINDS:
            return explicit
        named = [r for r in _ROUTE_RE.findall(self.usage_notes) if r in KINDS and r != "extend"]
        special = [r for r in named if r != "media"]
        if special:
            return special[0]
        if named:
            return "media"
        gtypes = " ".join(self.generation_types)
        if "separation" in gtypes or self.model_type == "separation":
            return "separation"
        if self.model_type == "music":
            return "music"
        if "caption" in self.id.lower() or "caption" in self.display_name.lower():
            return "captions"
        if self.model_type == "speech" or "dialogue" in gtypes:
            return "dialogue"
        return "media"

    @property
    def extendable(self) -> bool:
        """Finished clips of this model can be extended (its cost note names the extend route)."""
        return "/extend" in self.cost_note or "media/extend" in self.usage_notes

    @property
    def option_fields(self) -> dict[str, list[str]]:
        """Body field → allowed values, for every non-empty ``<name>_options`` capability."""
        return {k: v for k, v in self.capabilities.options().items() if v}

    @property
    def media_limits(self) -> dict[str, int]:
        """How many source URLs of each kind the model takes (0 = none)."""
        return {kind: _limit(self, kind) for kind in MEDIA_KINDS}

    @property
    def needs_input_media(self) -> bool:
        """Source media is required: the catalog says so, or every generation type the model
        offers works from input media (``image-to-video``, ``first-and-last-frames``, ...)."""
        if self.requires_input_media:
            return True
        gtypes = [g for g in self.generation_types if g]
        return bool(gtypes) and all(_input_driven(g) for g in gtypes) and self.accepts_sources

    def default_generation_type(self, has_sources: bool) -> str | None:
        """The generation type a request implies when it names none (None if the model offers
        one type only, or nothing fits): ``text-to-*`` without sources, else an input-driven one."""
        gtypes = [g for g in self.generation_types if g]
        if len(gtypes) < 2:
            return None
        fits = [g for g in gtypes if _input_driven(g) == has_sources]
        return fits[0] if fits else None

    @property
    def accepts_sources(self) -> bool:
        return any(self.media_limits.values()) or self.requires_input_media

    def to_record(self) -> dict[str, Any]:
        """A flat dict for tables (pandas, widgets)."""
        caps = self.capabilities
        return {
            "model_id": self.id,
            "display_name": self.display_name,
            "model_type": self.model_type,
            "provider": self.provider,
            "cost_per_generation": self.cost_per_generation,
            "cost_note": self.cost_note,
            "estimated_time_seconds": self.estimated_time_seconds,
            "endpoint": self.endpoint,
            "generation_types": ", ".join(self.generation_types),
            "aspect_ratios": ", ".join(caps.aspect_ratio_options),
            "durations": ", ".join(caps.duration_options),
            "prompt_max_chars": caps.prompt_max_chars,
        }


class Catalog(Mapping[str, Model]):
    """Every model by id, in the order the server listed them."""

    def __init__(self, models: list[Model] | tuple[Model, ...] = (), *, raw: Any = None) -> None:
        self._models: dict[str, Model] = {}
        for m in models:
            if m.id and m.id not in self._models:
                self._models[m.id] = m
        self.raw = raw

    @classmethod
    def from_json(cls, payload: Any) -> Catalog:
        """Accept ``{"models": [...], ...}``, a bare list of rows, or a single row."""
        rows: Any = payload
        if isinstance(payload, Mapping):
            if isinstance(payload.get("models"), list):
                rows = payload["models"]
            elif "model_id" in payload:
                rows = [payload]
            else:
                rows = []
        if not isinstance(rows, list):
            rows = []
        models = [Model.from_dict(r) for r in rows if isinstance(r, Mapping)]
        return cls(models, raw=payload)

    # Mapping protocol -----------------------------------------------------------------------
    def __getitem__(self, model_id: str) -> Model:
        try:
            return self._models[model_id]
        except (KeyError, TypeError):
            raise KeyError(self._unknown_message(model_id)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        counts = ", ".join(f"{t} {n}" for t, n in self.type_counts().items())
        return f"<Catalog of {len(self)} models: {counts}>"

    def _unknown_message(self, model_id: Any) -> str:
        close = suggest(str(model_id), list(self._models))
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"no model {model_id!r} in the catalog{hint} (ids are case-sensitive)"

    # Queries --------------------------------------------------------------------------------
    @property
    def models(self) -> list[Model]:
        return list(self._models.values())

    @property
    def types(self) -> list[str]:
        """The model types present, in catalog order."""
        return list(self.type_counts())

    def type_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self._models.values():
            out[m.model_type] = out.get(m.model_type, 0) + 1
        return out

    def filter(
        self,
        model_type: str | None = None,
        generation_type: str | None = None,
        search: str | None = None,
        endpoint: str | None = None,
    ) -> Catalog:
        """The models matching every given criterion (``search``: words in id, name, provider, notes)."""
        words = search.lower().split() if search else []
        out = []
        for m in self._models.values():
            if model_type and m.model_type != model_type:
                continue
            if generation_type and generation_type not in m.generation_types:
                continue
            if endpoint and m.endpoint != endpoint:
                continue
            if words:
                hay = " ".join((m.id, m.display_name, m.provider, m.usage_notes)).lower()
                if not all(w in hay for w in words):
                    continue
            out.append(m)
        return Catalog(out, raw=None)

    def family(self, prefix: str) -> list[Model]:
        """Every variant whose id starts with ``prefix`` (``seedance-2`` → all Seedance 2 ids)."""
        hits = [m for m in self._models.values() if _in_family(m.id, prefix)]
        if not hits:  # ids drift in case (Z-image → z-image)
            low = prefix.lower()
            hits = [m for m in self._models.values() if _in_family(m.id.lower(), low)]
        return hits

    def for_endpoint(self, kind: str) -> list[Model]:
        """The models used through one generate route (e.g. the captions model(s))."""
        return [m for m in self._models.values() if m.endpoint == kind]

    def endpoint_model(self, kind: str) -> Model | None:
        """The model a route without a ``model`` field uses: the first current one listed.

        Ids whose notes say they were replaced come last, so captions use the successor id.
        """
        models = self.for_endpoint(kind)
        current = [m for m in models if not m.retired]
        return (current or models or [None])[0]

    @property
    def voices(self) -> list[str]:
        """The dialogue voices (the dialogue model's ``voice_allowlist``)."""
        for m in [*self.for_endpoint("dialogue"), *self._models.values()]:
            if m.voice_allowlist:
                return list(m.voice_allowlist)
        return []

    @property
    def extendable(self) -> list[Model]:
        """Models whose finished clips ``POST /v1/generate/media/extend`` accepts."""
        return [m for m in self._models.values() if m.extendable]

    def to_records(self) -> list[dict[str, Any]]:
        return [m.to_record() for m in self._models.values()]

    def to_dataframe(self) -> Any:
        """The catalog as a pandas DataFrame (pandas is imported here, on first use)."""
        import pandas as pd

        return pd.DataFrame(self.to_records())


def _input_driven(generation_type: str) -> bool:
    """``image-to-video``, ``first-and-last-frames``, ``add-vocals`` need input media;
    ``text-to-*`` types do not."""
    return not generation_type.startswith("text-to")


def _in_family(model_id: str, prefix: str) -> bool:
    if not model_id.startswith(prefix):
        return False
    rest = model_id[len(prefix) :]
    return not rest or rest[0] in "-_." or not prefix[-1:].isalnum()


def suggest(word: str, choices: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """Close matches for ``word`` among ``choices`` (case-insensitive), best first."""
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


# ---------------------------------------------------------------------------------------------
# Source media
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One entry of ``source_media_urls``: its URL and the kind it was declared or guessed as."""

    url: str
    kind: str | None
    declared: bool = False


def split_sources(value: Any) -> tuple[list[Source], list[Any]]:
    """Split ``source_media_urls`` into readable sources and entries that are not URLs.

    Entries may be URL strings, ``{"url": ..., "type": "image"}`` dicts, or objects with a
    ``url`` (and ``media_type``) attribute such as a job ``Output``; one bare string is a list of one.
    """
    if value is None:
        return [], []
    if isinstance(value, (str, Mapping)) or hasattr(value, "url"):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return [], [value]
    good: list[Source] = []
    bad: list[Any] = []
    for item in value:
        url: Any
        declared: Any = None
        if isinstance(item, str):
            url = item
        elif isinstance(item, Mapping):
            url = item.get("url")
            declared = item.get("type") or item.get("media_type") or item.get("kind")
        elif hasattr(item, "url"):  # an Output or Asset
            url = item.url
            declared = getattr(item, "media_type", None) or getattr(item, "kind", None)
        else:
            url = None
        if not isinstance(url, str) or not url.strip():
            bad.append(item)
            continue
        kind = media_kind(url, declared if isinstance(declared, str) else None)
        good.append(Source(url.strip(), kind, declared=isinstance(declared, str)))
    return good, bad


def _limit(model: Model, kind: str) -> int:
    limit = model.capabilities.max_inputs(kind)
    if limit is None:
        # No explicit cap: the catalog's input_media_types still says whether the kind is taken.
        return 1_000 if kind in model.input_media_types else 0
    return max(limit, 0)


# ---------------------------------------------------------------------------------------------
# Value helpers
# ---------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…'"


def _fmt_options(options: list[str], rng: tuple[int, int] | None = None) -> str:
    if rng:
        return (
            f"any whole number of seconds from {rng[0]} to {rng[1]} ({options[0]} … {options[-1]})"
        )
    return ", ".join(options)


def _match_option(value: Any, options: list[str]) -> str | None:
    """The catalog's spelling of ``value`` among ``options`` (exact, then case-insensitive)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value)
    if text in options:
        return text
    low = text.strip().lower()
    for opt in options:
        if opt.lower() == low:
            return opt
    return None


def _match_duration(value: Any, options: list[str]) -> str | None:
    sec = parse_seconds(value)
    if sec is None:
        return None
    for opt in options:
        if parse_seconds(opt) == sec:
            return opt
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _looks_like_url(value: Any) -> bool:
    return isinstance(value, str) and bool(
        re.match(r"^(https?://\S+|/\S+|data:\S+)$", value.strip())
    )


class _Checker:
    """Collects problems for one request (one instance per validate() call)."""

    def __init__(self, model: Model | None, kind: str, params: Mapping[str, Any]) -> None:
        self.model = model
        self.kind = kind
        self.params = {k: v for k, v in params.items() if v is not None}
        self.problems: list[Problem] = []
        self.name = model.id if model else kind

    def add(
        self, fld: str, value: Any, allowed: Any, message: str, code: str = "invalid_request"
    ) -> None:
        self.problems.append(Problem(fld, value, allowed, message, code))

    # generic checks ------------------------------------------------------------------------
    def required(self, fld: str, what: str) -> Any:
        value = self.params.get(fld)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add(fld, value, what, f"is required: give {what}", code=f"missing_{fld}")
            return None
        return value

    def text(
        self, fld: str, cap: int | None, *, required: bool = False, what: str = "text"
    ) -> None:
        value = self.params.get(fld)
        if value is None:
            if required:
                self.required(fld, what)
            return
        if not isinstance(value, str):
            self.add(fld, value, what, f"{_fmt(value)} is not text; give {what}")
            return
        if not value.strip():
            if required:
                self.required(fld, what)
            else:  # sent blank, a field is billed like a real one: say so rather than send it
                self.add(fld, value, what, f"is empty; give {what} or leave {fld} out",
                         code=f"empty_{fld}")  # fmt: skip
            return
        if cap is not None and len(value) > cap:
            self.add(
                fld,
                f"{len(value)} characters",
                f"at most {cap} characters",
                f"is {len(value)} characters long; {self.name} takes at most {cap}. Shorten it by {len(value) - cap}.",
            )

    def choice(
        self, fld: str, options: list[str] | tuple[str, ...], code: str = "invalid_request"
    ) -> None:
        value = self.params.get(fld)
        if value is None:
            return
        if _match_option(value, list(options)) is None:
            self.add(
                fld,
                value,
                list(options),
                f"{_fmt(value)} is not offered by {self.name}; choose one of {', '.join(options)}",
                code=code,
            )

    def number(self, fld: str, lo: float, hi: float, *, integer: bool = False) -> None:
        value = self.params.get(fld)
        if value is None:
            return
        ok = _is_number(value) and lo <= value <= hi
        if ok and integer and not float(value).is_integer():
            ok = False
        if not ok:
            kind = "a whole number" if integer else "a number"
            self.add(
                fld,
                value,
                (lo, hi),
                f"{_fmt(value)} is out of range; give {kind} from {lo:g} to {hi:g}",
            )

    def boolean(self, fld: str) -> None:
        value = self.params.get(fld)
        if value is not None and not isinstance(value, bool):
            self.add(
                fld, value, [True, False], f"{_fmt(value)} is not a boolean; give True or False"
            )

    def url(self, fld: str, *, required: bool = False, what: str = "a public http(s) URL") -> None:
        value = self.params.get(fld)
        if value is None:
            if required:
                self.required(fld, what)
            return
        if not _looks_like_url(value):
            extra = (
                " (upload a local file first with client.upload(path))"
                if isinstance(value, str)
                else ""
            )
            self.add(fld, value, what, f"{_fmt(value)} is not a URL; give {what}{extra}")
            return
        # The model's input_media_types say what the route reads (captions: video/audio).
        takes = self.model.input_media_types if self.model else []
        kind = media_kind(value)
        if takes and kind is not None and kind not in takes:
            self.add(
                fld,
                value,
                list(takes),
                f"{_fmt(value)} looks like {kind}; {self.name} reads {' or '.join(takes)}",
            )

    def unknown_fields(
        self, known: list[str] | tuple[str, ...], shown: list[str] | None = None
    ) -> None:
        """Flag fields the route does not take; ``shown`` lists what this model accepts."""
        notes = self.model.usage_notes if self.model else ""
        shown = list(known) if shown is None else shown
        for fld in self.params:
            if fld in known:
                continue
            if _documented_in(str(fld), notes):
                continue
            close = suggest(str(fld), list(known))
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.add(
                str(fld),
                self.params[fld],
                shown,
                f"is not a field of the {self.kind} request{hint} (accepted: {', '.join(shown)})",
            )


# ---------------------------------------------------------------------------------------------
# Per-route rules
# ---------------------------------------------------------------------------------------------


def _documented_in(name: str, notes: str) -> bool:
    """A field the model's usage notes describe is accepted (grok: "mode can be 'fun', ...").

    Identifier-like names (``code_switching``) count when named at all; plain words only as the
    subject of a sentence that quotes values, so an ordinary word such as "image" in prose does not.
    """
    if not notes or not name:
        return False
    word = re.escape(name)
    if "_" in name:
        return bool(re.search(rf"\b{word}\b", notes))
    # the subject of a sentence that quotes its values: "mode sets ...: 'fun', 'normal' ..."
    return bool(re.search(rf"(?:^|[.;]\s+){word}\b[^.]*'[^']+'", notes))


def _check_model_route(c: _Checker) -> None:
    m = c.model
    if m is None or c.kind == "extend":
        return
    if m.endpoint != c.kind:
        c.add(
            "model",
            m.id,
            c.kind,
            f"{m.id} is used through /v1/generate/{m.endpoint}, not /v1/generate/{c.kind}",
        )


def _check_media(c: _Checker) -> None:
    m = c.model
    assert m is not None
    caps = m.capabilities
    options = caps.options()
    known = list(_MEDIA_FIELDS) + [k for k in options if k not in _MEDIA_FIELDS]

    # A text-driven request is its prompt; only a request built from source media may omit it.
    c.text("prompt", caps.prompt_max_chars, required=not c.params.get("source_media_urls"),
           what="a prompt describing what to generate")  # fmt: skip

    # Every <name>_options list: aspect_ratio, duration, resolution, quality and unknown ones.
    for fld, opts in options.items():
        value = c.params.get(fld)
        if value is None:
            continue
        if not opts:
            what = (
                "the duration is fixed by the model"
                if fld == "duration"
                else f"{fld} is fixed by the model"
            )
            c.add(fld, value, [], f"{what} ({m.id} has no {fld} setting); leave {fld} out")
            continue
        if fld == "duration":
            if _match_duration(value, opts) is None:
                c.add(
                    fld,
                    value,
                    opts,
                    f"{_fmt(value)} is not offered by {m.id}; choose {_fmt_options(opts, m.duration_range)}",
                )
            continue
        c.choice(
            fld, opts, code="unsupported_aspect" if fld == "aspect_ratio" else "invalid_request"
        )

    _check_sound(c)
    if c.params.get("negative_prompt") is not None:
        if caps.supports_negative_prompt:
            c.text("negative_prompt", caps.prompt_max_chars)
        else:
            c.add(
                "negative_prompt",
                c.params["negative_prompt"],
                None,
                f"{m.id} does not take a negative_prompt; leave it out",
            )

    gtype = c.params.get("generation_type")
    if gtype is not None and m.generation_types:
        c.choice("generation_type", m.generation_types)

    _check_sources(c)
    c.unknown_fields(known, _media_fields_taken(m))


def _media_fields_taken(m: Model) -> list[str]:
    """The media body fields this model really takes (for "accepted: ..." messages)."""
    caps = m.capabilities
    out = ["model", "prompt"]
    out += list(m.option_fields)
    if caps.video_audio == "toggle_via_sound_param" or (
        caps.video_audio is None and caps.supports_sound
    ):
        out.append("sound")
    if caps.supports_negative_prompt:
        out.append("negative_prompt")
    if m.accepts_sources:
        out.append("source_media_urls")
    if m.generation_types:
        out.append("generation_type")
    return out


def _check_sound(c: _Checker) -> None:
    m = c.model
    assert m is not None
    value = c.params.get("sound")
    if value is None:
        return
    policy = m.capabilities.video_audio
    if not isinstance(value, bool):
        c.add("sound", value, [True, False], f"{_fmt(value)} is not a boolean; give True or False")
        return
    if policy == "silent" and value:
        c.add(
            "sound", value, [False], f"{m.id} makes silent video only; leave sound out (or False)"
        )
    elif policy == "included" and not value:
        c.add(
            "sound",
            value,
            [True],
            f"{m.id} always includes audio and takes no sound switch; leave sound out",
        )
    elif policy is None and not m.capabilities.supports_sound and value:
        c.add("sound", value, [], f"{m.id} has no sound setting; leave sound out")


def _check_sources(c: _Checker, fld: str = "source_media_urls") -> None:
    m = c.model
    assert m is not None
    raw = c.params.get(fld)
    sources, bad = split_sources(raw)
    for item in bad:
        c.add(
            fld,
            item,
            "URL strings or {'url': ..., 'type': 'image'|'video'|'audio'}",
            f"{_fmt(item)} is not a URL",
        )
    for s in sources:
        if not _looks_like_url(s.url):
            c.add(
                fld,
                s.url,
                "public http(s) URLs",
                f"{_fmt(s.url)} is not a URL (upload a local file first with client.upload(path))",
            )

    limits = m.media_limits
    accepted = [k for k in MEDIA_KINDS if limits[k] > 0]
    gtype = c.params.get("generation_type")
    needs = m.needs_input_media or (
        isinstance(gtype, str) and _input_driven(gtype) and bool(accepted)
    )
    if needs and not sources and not bad:
        kinds = "/".join(accepted or m.input_media_types or ["media"])
        c.add(
            fld,
            raw,
            accepted,
            f"{m.id} needs input media: put {kinds} URL(s) in {fld}",
            code=f"missing_{fld}",
        )
    if not sources:
        return

    counts = dict.fromkeys(MEDIA_KINDS, 0)
    unknown: list[str] = []
    for s in sources:
        kind = s.kind
        if kind is None and len(accepted) == 1:
            kind = accepted[0]  # a model that takes one kind only: nothing to tell apart
        if kind is None:
            unknown.append(s.url)
        else:
            counts[kind] += 1
    for kind in MEDIA_KINDS:
        n, cap = counts[kind], limits[kind]
        if n > cap:
            what = (
                f"takes at most {cap} {kind}{'s' if cap != 1 else ''}"
                if cap
                else f"takes no {kind} input"
            )
            c.add(fld, n, cap, f"{n} {kind} URL{'s' if n != 1 else ''} given; {m.id} {what}")
    if unknown:
        c.add(
            fld,
            unknown,
            accepted,
            f"cannot tell the media type of {', '.join(_fmt(u) for u in unknown[:3])}; "
            f"give it as {{'url': ..., 'type': {'|'.join(accepted) or 'image'}}}",
        )


def _check_music(c: _Checker) -> None:
    m = c.model
    cap = m.capabilities.prompt_max_chars if m else None
    p = c.params
    advanced = any(p.get(f) is not None for f in MUSIC_ADVANCED_FIELDS)
    for fld in ("title", "style", "lyrics", "song_description", "negative_tags"):
        c.text(fld, None)
    if advanced:
        if (p.get("title") is None) != (p.get("style") is None):
            missing = "style" if p.get("style") is None else "title"
            c.add(
                missing,
                None,
                "title and style together",
                f"advanced mode takes title and style as a pair: add {missing} or drop both",
                code=f"missing_{missing}",
            )
        n = sum(p.get(f) is not None for f in ("lyrics", "song_description"))
        if n != 1:
            given = [f for f in ("lyrics", "song_description") if p.get(f) is not None]
            c.add(
                "lyrics",
                given or None,
                ["lyrics", "song_description"],
                "advanced mode takes exactly one of lyrics or song_description"
                + (" (both given)" if n == 2 else ": add one"),
            )
        c.choice("vocal_gender", VOCAL_GENDERS)
        if p.get("instrumental") is True and p.get("lyrics") is not None:
            c.add(
                "instrumental",
                True,
                [False],
                "an instrumental song has no lyrics: drop lyrics or instrumental",
            )
        c.text("prompt", None)
    else:
        c.text(
            "prompt",
            cap,
            required=True,
            what=f"a song description of at most {cap} characters" if cap else "a prompt",
        )
    c.boolean("instrumental")
    for fld in ("style_weight", "weirdness_constraint", "audio_weight"):
        c.number(fld, 0.0, 1.0)
    if m is not None and (p.get("source_media_urls") is not None or m.requires_input_media):
        _check_sources(c)
    c.unknown_fields(_FIELDS["music"])


def _check_dialogue(c: _Checker, voices: list[str]) -> None:
    m = c.model
    cap = m.capabilities.prompt_max_chars if m else None
    c.text(
        "text",
        cap,
        required=True,
        what=f"the words to speak (at most {cap} characters)" if cap else "the words to speak",
    )
    voice = c.params.get("voice")
    if voice is not None and voices and _match_option(voice, voices) is None:
        close = suggest(str(voice), voices, n=1) if isinstance(voice, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        c.add(
            "voice",
            voice,
            list(voices),
            f"{_fmt(voice)} is not an available voice{hint}; choose one of {', '.join(voices)}",
        )
    elif voice is not None and not isinstance(voice, str):
        c.add("voice", voice, list(voices), f"{_fmt(voice)} is not a voice name")
    for fld in ("stability", "similarity_boost", "style"):
        c.number(fld, 0.0, 1.0)
    c.number("speed", *DIALOGUE_SPEED_RANGE)
    c.text("language_code", 16)
    c.unknown_fields(_FIELDS["dialogue"])


def _check_captions(c: _Checker) -> None:
    c.url("media_url", required=True, what="the URL of the video or audio to transcribe")
    c.choice("quality", CAPTION_QUALITIES)
    if c.params.get("quality") == "best" and not c.params.get("language"):
        c.add(
            "language",
            None,
            "a language code such as 'en'",
            "quality 'best' needs the language: add language='en' (or use quality 'auto')",
            code="missing_language",
        )
    c.text("language", 16)
    c.boolean("code_switching")
    c.unknown_fields(_FIELDS["captions"])


def _check_separation(c: _Checker) -> None:
    c.url("media_url", required=True, what="the URL of the audio track to split")
    c.unknown_fields(_FIELDS["separation"])


def _check_ad_copy(c: _Checker) -> None:
    m = c.model
    c.url("reference_ad_url", required=True, what="the URL of the ad to take after")
    c.url("product_image_url")
    c.text("product_text", m.capabilities.prompt_max_chars if m else None)
    c.number("variant_count", *AD_VARIANT_RANGE, integer=True)
    if m is not None:
        opts = m.capabilities.aspect_ratio_options
        if opts:
            c.choice("aspect_ratio", opts, code="unsupported_aspect")
    c.text("language", 16)
    c.unknown_fields(_FIELDS["ad-copy"])


def _check_extend(c: _Checker) -> None:
    m = c.model
    c.required("source_task_id", "the source_task_id of a completed Veo 3.1 clip")
    if c.params.get("source_task_id") is not None and not isinstance(
        c.params["source_task_id"], str
    ):
        c.add("source_task_id", c.params["source_task_id"], "a task id string", "is not a task id")
    c.text(
        "prompt",
        m.capabilities.prompt_max_chars if m else None,
        required=True,
        what="a prompt for the continuation",
    )
    c.choice("extend_model", EXTEND_MODELS)
    c.unknown_fields(_FIELDS["extend"])


def validate(
    model: Model | None,
    kind: str | None = "media",
    params: Mapping[str, Any] | None = None,
    *,
    voices: list[str] | None = None,
) -> list[Problem]:
    """Every problem of a request body for ``model`` on route ``kind`` (empty list = valid).

    ``params`` are the body fields (``model`` may be included or not). ``kind`` None means the
    model's own route. ``voices`` overrides the dialogue allowlist (default: the model's).
    Values of the wrong type are reported as problems, never raised.
    """
    params = dict(params or {})
    if kind is None:
        kind = model.endpoint if model else "media"
    c = _Checker(model, kind, params)
    if kind not in KINDS:
        c.add(
            "kind",
            kind,
            list(KINDS),
            f"{kind!r} is not a request kind; choose one of {', '.join(KINDS)}",
        )
        return c.problems
    given_model = params.get("model")
    if (
        model is not None
        and given_model is not None
        and given_model != model.id
        and kind not in _NO_MODEL_IN_BODY
    ):
        c.add(
            "model",
            given_model,
            model.id,
            f"the body names {given_model!r} but the request was checked for {model.id}",
        )
    _check_model_route(c)
    if kind == "media":
        if model is None:
            c.add("model", None, "a model id from the catalog", "is required", code="missing_model")
        else:
            _check_media(c)
    elif kind == "music":
        _check_music(c)
    elif kind == "dialogue":
        _check_dialogue(
            c, voices if voices is not None else (model.voice_allowlist if model else [])
        )
    elif kind == "captions":
        _check_captions(c)
    elif kind == "separation":
        _check_separation(c)
    elif kind == "ad-copy":
        _check_ad_copy(c)
    elif kind == "extend":
        _check_extend(c)
    # NUL / lone surrogates, whatever the route (after the field's own problems, if any)
    return c.problems + text_problems(params)


def normalize(
    model: Model | None, kind: str | None = "media", params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The wire body: None values dropped, options in the catalog's own spelling (``"5s"``,
    ``"4K"``, ``"Rachel"``), ``source_media_urls`` as a list of URL strings, ``model`` first
    where the route takes one. Assumes ``validate`` found no problems."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    if kind is None:
        kind = model.endpoint if model else "media"
    body: dict[str, Any] = {}
    if model is not None and kind not in _NO_MODEL_IN_BODY:
        body["model"] = model.id
    params.pop("model", None)
    options = model.capabilities.options() if model else {}
    if kind == "ad-copy":
        options = {"aspect_ratio": options.get("aspect_ratio", [])}
    elif kind not in ("media",):
        options = {}
    for key, value in params.items():
        opts = options.get(key)
        if opts:
            matched = (
                _match_duration(value, opts) if key == "duration" else _match_option(value, opts)
            )
            value = matched if matched is not None else value
        elif key == "voice" and model is not None and model.voice_allowlist:
            matched = _match_option(value, model.voice_allowlist)
            value = matched if matched is not None else value
        elif key == "source_media_urls":
            sources, _ = split_sources(value)
            value = [s.url for s in sources]
        elif key == "variant_count" and _is_number(value):
            value = int(value)
        elif (
            key == "sound"
            and model is not None
            and model.capabilities.video_audio in _NO_SOUND_PARAM
        ):
            continue  # the model takes no sound parameter; its audio policy is fixed
        body[key] = value
    if kind == "media" and model is not None and "generation_type" not in body:
        # The guide's own example names image-to-image when it sends references: do the same.
        implied = model.default_generation_type(bool(body.get("source_media_urls")))
        if implied:
            body["generation_type"] = implied
    return body


def build_body(
    model: Model | None,
    kind: str | None = "media",
    params: Mapping[str, Any] | None = None,
    *,
    voices: list[str] | None = None,
) -> dict[str, Any]:
    """``validate`` + ``normalize``: the wire body, or ``ValidationError`` listing every problem."""
    problems = validate(model, kind, params, voices=voices)
    if problems:
        raise ValidationError(problems, model=model.id if model else None)
    return normalize(model, kind, params)


# ---------------------------------------------------------------------------------------------
# Extend
# ---------------------------------------------------------------------------------------------


def extend_problems(
    source: Mapping[str, Any] | None,
    extend_model: str | None = "fast",
    *,
    catalog: Catalog | Mapping[str, Model] | None = None,
) -> list[Problem]:
    """The extend rules the client can check from the source job's status row.

    The source must be a completed clip of a model whose cost note names the extend route (Veo 3.1
    in today's catalog; checked when ``catalog`` is given), must carry a ``source_task_id``, must
    not itself be an extend, and must not be a 1080p output.
    """
    problems: list[Problem] = []
    if extend_model is not None and extend_model not in EXTEND_MODELS:
        problems.append(
            Problem(
                "extend_model",
                extend_model,
                list(EXTEND_MODELS),
                f"{_fmt(extend_model)} is not an extend model; choose one of {', '.join(EXTEND_MODELS)}",
            )
        )
    if source is None:
        return problems
    sid = source.get("id") or source.get("generation_id") or "the source"
    model_id = source.get("model")
    if catalog is not None and isinstance(model_id, str):
        model = catalog.get(model_id)
        if model is None or not model.extendable:
            allowed = [m.id for m in catalog.values() if m.extendable]
            problems.append(
                Problem(
                    "source_task_id",
                    model_id,
                    allowed,
                    f"{sid} was made with {model_id}, which cannot be extended; only these models can: {', '.join(allowed) or 'none'}",
                )
            )
    status = str(source.get("status") or "").lower()
    if status and status != "completed":
        problems.append(
            Problem(
                "source_task_id",
                status,
                ["completed"],
                f"{sid} is {status}; wait until it is completed, then extend it",
            )
        )
    elif not source.get("source_task_id"):
        problems.append(
            Problem(
                "source_task_id",
                None,
                "a source_task_id from the source clip's status",
                f"{sid} carries no source_task_id (only completed extendable clips do)",
                code="missing_source_task_id",
            )
        )
    if _is_extend_row(source):
        problems.append(
            Problem(
                "source_task_id",
                sid,
                "an original clip",
                f"{sid} is itself an extend; extend the original clip instead",
            )
        )
    if _is_1080p(source):
        problems.append(
            Problem(
                "source_task_id",
                "1080p",
                "a 720p clip",
                f"{sid} is a 1080p output, which cannot be extended; extend a 720p clip",
            )
        )
    return problems


def _is_extend_row(row: Mapping[str, Any]) -> bool:
    for key in ("kind", "generation_type", "type", "mode"):
        value = row.get(key)
        if isinstance(value, str) and "extend" in value.lower():
            return True
    return bool(row.get("extend_model") or row.get("is_extend"))


def _is_1080p(row: Mapping[str, Any]) -> bool:
    res = row.get("resolution")
    if isinstance(res, str) and res.lower().startswith("1080"):
        return True
    outputs = row.get("outputs")
    if isinstance(outputs, list):
        for out in outputs:
            if isinstance(out, Mapping):
                w, h = _int_or_none(out.get("width")), _int_or_none(out.get("height"))
                if w and h and min(w, h) >= 1080:
                    return True
    return False


__all__ = [
    "KINDS",
    "Capabilities",
    "Catalog",
    "Model",
    "Source",
    "build_body",
    "extend_problems",
    "media_kind",
    "normalize",
    "parse_seconds",
    "split_sources",
    "suggest",
    "validate",
]
