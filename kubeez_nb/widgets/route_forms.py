"""The forms of the routes whose body fields the guide fixes (music, dialogue, captions,
separation, ad creatives, extend), built from the same field classes. Labels, ranges, fixed choices, media kinds and
required flags come from the table of request kinds (``contract.kinds``); every limit that can be
read from the model (prompt caps, voices, aspect ratios) is read from it. ``route_fields`` is the one
entry point (``media`` goes through the capability chain)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kubeez_nb.contract.catalog import Model
from kubeez_nb.contract.kinds import (
    CAPTION_QUALITIES,
    KINDS,
    MEDIA_KINDS,
)
from kubeez_nb.contract.kinds import Field as KindField
from kubeez_nb.widgets.chain import media_fields
from kubeez_nb.widgets.fields import (
    BoolField,
    ChoiceField,
    Field,
    NumberField,
    TextField,
)
from kubeez_nb.widgets.media_field import MediaField


def _cap(model: Model | None) -> int | None:
    return model.capabilities.prompt_max_chars if model is not None else None


def _spec(kind: str, name: str) -> KindField:
    """The body field ``name`` of request kind ``kind`` in the table of request kinds."""
    spec = KINDS[kind].field(name)
    if spec is None:  # pragma: no cover - a form field the table does not list is a bug
        raise KeyError(f"{kind} requests have no field {name!r} in contract.kinds")
    return spec


def _media_url(model: Model | None, kind: str, name: str) -> MediaField:
    """One media URL field: required, label and media kinds from the table."""
    spec = _spec(kind, name)
    kinds = spec.media or (model.input_media_types if model else ()) or MEDIA_KINDS
    limits = {k: 1 for k in kinds}
    return MediaField(name, limits, single=True, required=spec.required, description=spec.title)


def _number(kind: str, name: str, *, default: float, **kw: Any) -> NumberField:
    """A slider over the field's documented range, labelled as the table says."""
    spec = _spec(kind, name)
    lo, hi = spec.range or (0.0, 1.0)
    return NumberField(
        name, lo, hi, default=default, integer=spec.type == "integer", description=spec.title, **kw
    )


def _choice(kind: str, name: str, **kw: Any) -> ChoiceField:
    """A choice over the field's fixed values (the table's), labelled as the table says."""
    spec = _spec(kind, name)
    kw.setdefault("description", spec.title)
    return ChoiceField(name, list(spec.choices), **kw)


def music_fields(model: Model | None) -> list[Field]:
    """Simple mode (prompt, instrumental) or advanced (title + style, lyrics or description, …)."""
    adv = ("mode", "advanced")
    out: list[Field] = [
        _ModeField("mode", ["simple", "advanced"]),
        TextField(
            "prompt",
            cap=_cap(model),
            multiline=True,
            placeholder="Describe the song",
            when=("mode", "simple"),
        ),
        TextField("title", when=adv),
        TextField("style", placeholder="e.g. lo-fi hip hop, warm", when=adv),
        _ModeField("words", ["song_description", "lyrics"], description="Words", when=adv),
        TextField("song_description", multiline=True, when=("words", "song_description")),
        TextField("lyrics", multiline=True, when=("words", "lyrics")),
        _choice("music", "vocal_gender", default="random", when=adv),
        TextField("negative_tags", placeholder="styles to avoid", when=adv),
        _number("music", "style_weight", default=0.5, when=adv),
        _number("music", "weirdness_constraint", default=0.5, when=adv),
        _number("music", "audio_weight", default=0.5, when=adv),
        BoolField("instrumental", optional=True, description="Instrumental"),
    ]
    if model is not None and model.accepts_sources:
        limits = {k: v for k, v in model.media_limits.items() if v > 0}
        out.insert(1, MediaField("source_media_urls", limits, required=model.needs_input_media))
    return out


def dialogue_fields(model: Model | None, voices: Sequence[str] = ()) -> list[Field]:
    """Text, a voice from the catalog's allowlist, and the optional voice settings."""
    voices = list(voices) or (model.voice_allowlist if model else [])
    out: list[Field] = [
        TextField("text", cap=_cap(model), multiline=True, placeholder="The words to speak")
    ]
    if voices:
        out.append(ChoiceField("voice", voices, description="Voice", toggle=False))
    else:
        out.append(TextField("voice"))
    out += [
        _number("dialogue", "stability", default=0.5),
        _number("dialogue", "similarity_boost", default=0.75),
        _number("dialogue", "style", default=0.0),
        _number("dialogue", "speed", default=1.0),
        TextField("language_code", description="Language", placeholder="e.g. en (optional)"),
    ]
    return out


def captions_fields(model: Model | None) -> list[Field]:
    return [
        _media_url(model, "captions", "media_url"),
        _choice("captions", "quality", default=CAPTION_QUALITIES[0]),
        TextField("language", placeholder="needed with quality 'best', e.g. en"),
        BoolField("code_switching", optional=True, description="Code switching"),
    ]


def separation_fields(model: Model | None) -> list[Field]:
    return [_media_url(model, "separation", "media_url")]


def ad_copy_fields(model: Model | None) -> list[Field]:
    out: list[Field] = [
        _media_url(model, "ad-copy", "reference_ad_url"),
        _media_url(model, "ad-copy", "product_image_url"),
        TextField(
            "product_text",
            cap=_cap(model),
            multiline=True,
            placeholder="What the product is (optional)",
        ),
        _number("ad-copy", "variant_count", default=1),
    ]
    ratios = model.capabilities.aspect_ratio_options if model else []
    if ratios:
        out.append(ChoiceField("aspect_ratio", ratios, optional=True, description="Aspect ratio"))
    out.append(TextField("language", placeholder="e.g. en (optional)"))
    return out


def extend_fields(model: Model | None) -> list[Field]:
    """The source clip (options filled in by the Extend tab), the prompt and the extend tier."""
    return [
        ChoiceField("source_task_id", [], description="Source clip", toggle=False),
        TextField("prompt", cap=_cap(model), multiline=True, placeholder="What happens next"),
        _choice("extend", "extend_model", default="fast"),
    ]


class _ModeField(ChoiceField):
    """A switch the form reads to show other fields; never sent."""

    send = False

    def __init__(self, name: str, options: Sequence[str], **kw: Any) -> None:
        kw.setdefault("toggle", True)
        super().__init__(name, options, **kw)


def route_fields(model: Model | None, kind: str, *, voices: Sequence[str] = ()) -> list[Field]:
    """The fields of a request of ``kind`` (``media`` goes through the capability chain)."""
    if kind == "media":
        if model is None:
            return []
        return media_fields(model)
    makers: dict[str, Callable[[], list[Field]]] = {
        "music": lambda: music_fields(model),
        "dialogue": lambda: dialogue_fields(model, voices),
        "captions": lambda: captions_fields(model),
        "separation": lambda: separation_fields(model),
        "ad-copy": lambda: ad_copy_fields(model),
        "extend": lambda: extend_fields(model),
    }
    make = makers.get(kind)
    return make() if make else [TextField("prompt", multiline=True)]


__all__ = ["route_fields"]
