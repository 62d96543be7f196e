"""Capability → widget: the fields of a media model's form, from its catalog row.

They come through an ordered chain of small functions ``(name, value, model) -> Field | NOTHING |
None`` (the pattern of ipywidgets' ``interaction.py``): the first function that answers wins;
``None`` means "not mine, ask the next one"; ``NOTHING`` means "this capability makes no field"
(``supports_negative_prompt: false``, an empty ``duration_options``). The last function makes a
generic text field, so an unknown capability key is shown, never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from kubeez_nb.contract.catalog import (
    Model,
)
from kubeez_nb.widgets.fields import (
    NOTHING,
    BoolField,
    ChoiceField,
    Field,
    InfoField,
    RangeField,
    TextField,
    _esc,
    _label,
    _Nothing,
)
from kubeez_nb.widgets.media_field import MediaField

Maker = Callable[[str, Any, Model], "Field | _Nothing | None"]


def prompt_from_cap(name: str, value: Any, model: Model) -> Field | _Nothing | None:
    """``prompt_max_chars`` → the prompt textarea with a live count."""
    if name != "prompt_max_chars":
        return None
    cap = value if isinstance(value, int) and not isinstance(value, bool) else None
    return TextField(
        "prompt", cap=cap, multiline=True, placeholder="Describe what you want", required=True
    )


def negative_prompt_from_cap(name: str, value: Any, model: Model) -> Field | _Nothing | None:
    """``supports_negative_prompt`` → a negative prompt box, only where it is supported."""
    if name != "supports_negative_prompt":
        return None
    if value is not True:
        return NOTHING
    return TextField(
        "negative_prompt",
        cap=model.capabilities.prompt_max_chars,
        multiline=True,
        placeholder="What to avoid",
    )


def sound_from_cap(name: str, value: Any, model: Model) -> Field | _Nothing | None:
    """``video_audio`` (and ``supports_sound``) → a sound toggle, or a note: included / silent."""
    if name == "supports_sound":
        if model.capabilities.video_audio is not None or value is not True:
            return NOTHING  # video_audio says it better, or there is no sound setting
        return BoolField("sound", default=True, description="Sound")
    if name != "video_audio":
        return None
    if value == "toggle_via_sound_param":
        return BoolField("sound", default=True, description="Sound")
    if value == "included":
        return InfoField("sound", "Sound: included (always on, no extra cost)")
    if value == "silent":
        return InfoField("sound", "Sound: silent video (no audio track)")
    if value is None:
        return NOTHING
    return InfoField("sound", f"Sound: {_esc(str(value))}")


def media_from_cap(name: str, value: Any, model: Model) -> Field | _Nothing | None:
    """``max_input_images/videos/audios`` and ``input_media_types`` → one references field."""
    if not (name.startswith("max_input_") or name in ("input_media_types", "requires_input_media")):
        return None
    if not model.accepts_sources:
        return NOTHING
    limits = {k: v for k, v in model.media_limits.items() if v > 0}
    return MediaField("source_media_urls", limits, required=model.needs_input_media)


def duration_range_from_cap(name: str, value: Any, model: Model) -> Field | _Nothing | None:
    """A flexible ``duration_options`` range (3s … 15s, every second) → a slider."""
    if name != "duration_options" or not value:
        return None
    rng = model.duration_range
    if rng is None:
        return None
    # Start at the length the catalog price is quoted for (Kling 3.0: "a 5 s clip"), if any.
    quoted = model.quoted_seconds
    start = quoted if quoted is not None and rng[0] <= quoted <= rng[1] else value[0]
    return RangeField(
        "duration", model.capabilities.duration_options, rng[0], rng[1], default=start
    )


def options_from_cap(name: str, value: Any, model: Model) -> Field | _Nothing | None:
    """Any ``<field>_options`` list → toggle buttons or a dropdown; an empty list → no field."""
    if not name.endswith("_options"):
        return None
    if not isinstance(value, (list, tuple)) or not value:
        return NOTHING
    field = name[: -len("_options")]
    options = [str(v) for v in value]
    return ChoiceField(field, options, default=quoted_option(model, options))


def quoted_option(model: Model, options: list[str]) -> str | None:
    """The option the catalog's price is quoted for ("cost_per_generation is the standard
    price"), so the default form costs what the model list says; None: the first option."""
    import re

    said = re.search(r"cost_per_generation is the (.+?) price", model.cost_note or "")
    if said is None:
        return None
    words = said.group(1)
    return next(
        (o for o in options if re.search(rf"(?<![\w.]){re.escape(o)}(?![\w.])", words)), None
    )


def generation_types_from_model(name: str, value: Any, model: Model) -> Field | _Nothing | None:
    """``generation_types`` with a choice to make → a switch; "auto" (the default) sends none
    and lets the request imply it (text-to-* without references, else the input-driven one)."""
    if name != "generation_types":
        return None
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        return NOTHING  # one type: implied by the model, nothing to send
    options: list[tuple[str, Any]] = [("auto", None), *((str(v), str(v)) for v in value)]
    return ChoiceField("generation_type", options, description="Generation")


def boolean_from_cap(name: str, value: Any, model: Model) -> Field | _Nothing | None:
    """An unknown ``supports_<x>: true`` → an optional checkbox for ``x``; false → nothing."""
    if not isinstance(value, bool):
        return None
    if not value:
        return NOTHING
    field = name[len("supports_") :] if name.startswith("supports_") else name
    return BoolField(field, optional=True)


def limit_from_cap(name: str, value: Any, model: Model) -> Field | _Nothing | None:
    """Numbers that only bound another field (``max_*``, ``*_max_chars``) → no field of their own."""
    if name.startswith("max_") or name.endswith(("_max_chars", "_min", "_max", "_range")):
        return NOTHING
    return None


def generic_from_cap(name: str, value: Any, model: Model) -> Field | _Nothing | None:
    """The last resort: an unknown capability becomes a free text field (empty = not sent)."""
    field = re.sub(r"^(supports|allow|allows)_", "", name)
    shown = _esc(str(value))[:60]
    return TextField(field, description=_label(field), placeholder=f"catalog says: {shown}")


#: The ordered chain; the first function that answers wins. Edit here to change how a
#: capability is shown.
CHAIN: list[Maker] = [
    prompt_from_cap,
    negative_prompt_from_cap,
    sound_from_cap,
    media_from_cap,
    generation_types_from_model,
    duration_range_from_cap,
    options_from_cap,
    boolean_from_cap,
    limit_from_cap,
    generic_from_cap,
]

#: Display order of the fields a media form shows; unknown ones follow in catalog order.
MEDIA_ORDER = (
    "prompt",
    "negative_prompt",
    "generation_type",
    "source_media_urls",
    "aspect_ratio",
    "duration",
    "resolution",
    "quality",
    "sound",
)


def field_for(name: str, value: Any, model: Model, chain: Sequence[Maker] = CHAIN) -> Field | None:
    """The field one capability makes (None when it makes none)."""
    for maker in chain:
        made = maker(name, value, model)
        if made is NOTHING:
            return None
        if made is not None:
            return made  # type: ignore[return-value]
    return None


def capability_items(model: Model) -> list[tuple[str, Any]]:
    """What the catalog says about a media model, as (capability, value) pairs for the chain.

    The capabilities object as served, plus the row-level facts that also shape the form
    (generation types, input media types); a missing ``prompt_max_chars`` still gives a prompt.
    """
    raw_caps = model.raw.get("capabilities")
    items: list[tuple[str, Any]] = list(raw_caps.items()) if isinstance(raw_caps, dict) else []
    names = {k for k, _ in items}
    if "prompt_max_chars" not in names:
        items.insert(0, ("prompt_max_chars", None))
    items.append(("generation_types", list(model.generation_types)))
    items.append(("input_media_types", list(model.input_media_types)))
    return items


def media_fields(model: Model, chain: Sequence[Maker] = CHAIN) -> list[Field]:
    """Every field of a media model's form, from its capabilities, in display order."""
    made: dict[str, Field] = {}
    for name, value in capability_items(model):
        f = field_for(str(name), value, model, chain)
        if f is not None and f.name not in made:  # several caps may make one field (max_input_*)
            made[f.name] = f
    order = {n: i for i, n in enumerate(MEDIA_ORDER)}
    return sorted(made.values(), key=lambda f: order.get(f.name, len(order)))


__all__ = ["CHAIN", "MEDIA_ORDER", "capability_items", "field_for", "media_fields"]
