"""The model catalog as typed records: :class:`Model`, :class:`Capabilities`, :class:`Catalog`.

Everything here is read from ``/docs/models.json``: no model id, option list or price is written
into the code. Unknown capability keys land in ``Capabilities.extra``; a catalog with new keys or
model types never makes this module crash. Request validation against a model lives in
:mod:`kubeez_nb.contract.rules`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeez_nb.contract.htmltable import amount, bundle, esc, table
from kubeez_nb.contract.kinds import (
    KINDS,
    MEDIA_KINDS,
)
from kubeez_nb.contract.wire import Source as Source
from kubeez_nb.contract.wire import media_kind
from kubeez_nb.contract.wire import seconds as parse_seconds
from kubeez_nb.contract.wire import split_sources as split_sources

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
        return f"Model({self.id!r}, {self.model_type}, {amount(self.cost_per_generation)} credits)"

    def _cells(self) -> list[str]:
        note = self.cost_note or ""
        short = note if len(note) <= 60 else note[:59] + "…"
        took = f"~{self.estimated_time_seconds:g} s" if self.estimated_time_seconds else ""
        return [
            f"<code>{esc(self.id)}</code>",
            esc(self.display_name if self.display_name != self.id else ""),
            esc(self.model_type),
            esc(self.provider),
            f"<span title='{esc(note)}'>{amount(self.cost_per_generation)}</span>",
            f"<span title='{esc(note)}'>{esc(short)}</span>",
            esc(took),
        ]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        body = table(_MODEL_HEADERS, [self._cells()])
        if self.usage_notes:
            body += f"<div style='color:#666;font-size:90%'>{esc(self.usage_notes)}</div>"
        return bundle(repr(self), body)

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
            ordered = sorted(int(s) for s in secs)
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
    def quoted_seconds(self) -> float | None:
        """The clip length ``cost_per_generation`` is quoted for ("the price of a 5 s clip"), read
        from the cost note; None when it names none."""
        num = r"(\d+(?:\.\d+)?)"
        m = re.search(rf"(?:price of|is)\s+an?\s+{num}\s*s\b", self.cost_note)
        if m:
            return float(m.group(1))
        m = re.search(rf"an?\s+{num}\s*s\s+(?:clip|output)", self.cost_note)
        return float(m.group(1)) if m else None

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


_MODEL_HEADERS = ("model", "name", "type", "provider", "credits", "pricing", "takes")


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

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        counts = ", ".join(f"{n} {esc(t)}" for t, n in self.type_counts().items())
        return bundle(
            repr(self),
            table(
                _MODEL_HEADERS,
                [m._cells() for m in self.models],
                caption=f"<b>{len(self)} models</b> ({counts}); hover a price for its note; "
                "<code>catalog.filter(model_type='video')</code> or "
                "<code>filter(search='kling')</code> narrows it",
                search=True,
                empty="The catalog is empty.",
            ),
        )

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
        return (current or models or [None])[0]  # type: ignore[list-item]

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


def _limit(model: Model, kind: str) -> int:
    limit = model.capabilities.max_inputs(kind)
    if limit is None:
        # No explicit cap: the catalog's input_media_types still says whether the kind is taken.
        return 1_000 if kind in model.input_media_types else 0
    return max(limit, 0)


__all__ = [
    "KINDS",
    "Capabilities",
    "Catalog",
    "Model",
    "media_kind",
    "parse_seconds",
    "suggest",
]
