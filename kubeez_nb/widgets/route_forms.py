"""The forms of the routes whose body fields the guide fixes (music, dialogue, captions,
separation, ad creatives, extend), built from the same field classes; every limit that can be read
from the model (prompt caps, voices, aspect ratios) is read from it. ``route_fields`` is the one
entry point (``media`` goes through the capability chain)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kubeez_nb.contract.catalog import Model
from kubeez_nb.contract.kinds import (
    AD_VARIANT_RANGE,
    CAPTION_QUALITIES,
    DIALOGUE_SPEED_RANGE,
    EXTEND_MODELS,
    MEDIA_KINDS,
    VOCAL_GENDERS,
)
from kubeez_nb.widgets.chain import media_fields
from kubeez_nb.widgets.fields import (
    BoolField,
    ChoiceField,
    Field,
    MediaField,
    NumberField,
    TextField,
)


def _cap(model: Model | None) -> int | None:
    return model.capabilities.prompt_max_chars if model is not None else None


def _media_url(
    model: Model | None, name: str, *, required: bool, description: str, kinds: Sequence[str] = ()
) -> MediaField:
    limits = {k: 1 for k in (kinds or (model.input_media_types if model else ()) or MEDIA_KINDS)}
    return MediaField(name, limits, single=True, required=required, description=description)


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
        ChoiceField(
            "vocal_gender",
            list(VOCAL_GENDERS),
            default="random",
            description="Vocal gender",
            when=adv,
        ),
        TextField("negative_tags", placeholder="styles to avoid", when=adv),
        NumberField("style_weight", 0.0, 1.0, default=0.5, when=adv),
        NumberField("weirdness_constraint", 0.0, 1.0, default=0.5, when=adv),
        NumberField("audio_weight", 0.0, 1.0, default=0.5, when=adv),
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
        NumberField("stability", 0.0, 1.0, default=0.5),
        NumberField("similarity_boost", 0.0, 1.0, default=0.75, description="Similarity"),
        NumberField("style", 0.0, 1.0, default=0.0),
        NumberField("speed", *DIALOGUE_SPEED_RANGE, default=1.0),
        TextField("language_code", description="Language", placeholder="e.g. en (optional)"),
    ]
    return out


def captions_fields(model: Model | None) -> list[Field]:
    return [
        _media_url(
            model, "media_url", required=True, description="Video / audio", kinds=("video", "audio")
        ),
        ChoiceField("quality", list(CAPTION_QUALITIES), default=CAPTION_QUALITIES[0]),
        TextField("language", placeholder="needed with quality 'best', e.g. en"),
        BoolField("code_switching", optional=True, description="Code switching"),
    ]


def separation_fields(model: Model | None) -> list[Field]:
    return [
        _media_url(model, "media_url", required=True, description="Audio track", kinds=("audio",))
    ]


def ad_copy_fields(model: Model | None) -> list[Field]:
    out: list[Field] = [
        _media_url(
            model,
            "reference_ad_url",
            required=True,
            description="Reference ad",
            kinds=("image", "video"),
        ),
        _media_url(
            model,
            "product_image_url",
            required=False,
            description="Product image",
            kinds=("image",),
        ),
        TextField(
            "product_text",
            cap=_cap(model),
            multiline=True,
            placeholder="What the product is (optional)",
        ),
        NumberField(
            "variant_count", *AD_VARIANT_RANGE, default=1, integer=True, description="Variants"
        ),
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
        ChoiceField(
            "extend_model", list(EXTEND_MODELS), default="fast", description="Extend model"
        ),
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
