"""Capability → widget: every form field of every panel is made here.

A media model's fields come from its catalog row through an ordered chain of small functions
``(name, value, model) -> Field | NOTHING | None`` (the pattern of ipywidgets' ``interaction.py``):
the first function that answers wins; ``None`` means "not mine, ask the next one"; ``NOTHING``
means "this capability makes no field" (``supports_negative_prompt: false``, an empty
``duration_options``). The last function makes a generic text field, so an unknown capability
key is shown, never a crash.

The other routes (music, dialogue, captions, separation, ad creatives, extend) have their body
fields fixed by the guide, not by capabilities; ``route_fields`` builds them from the same
field classes, reading every limit it can (prompt caps, voices, aspect ratios) from the model.

A :class:`Field` wraps the widget shown and converts to and from the body value: ``get()`` is the
value sent (``None`` = left out), ``set(value)`` applies a value only when it fits and says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as W

from kubeez_nb.contract.catalog import (
    AD_VARIANT_RANGE,
    CAPTION_QUALITIES,
    DIALOGUE_SPEED_RANGE,
    EXTEND_MODELS,
    MEDIA_KINDS,
    VOCAL_GENDERS,
    Model,
    media_kind,
    parse_seconds,
    split_sources,
)

#: Options lists at most this long (and short labels) become toggle buttons, longer ones a dropdown.
TOGGLE_MAX_OPTIONS = 5
TOGGLE_MAX_LABEL = 10

_DESC = {"description_width": "130px"}


class _Nothing:
    """Marker: the capability was understood and makes no field."""

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING = _Nothing()

Callback = Callable[[], None]


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _layout(**kw: Any) -> W.Layout:
    return W.Layout(**kw)


# ---------------------------------------------------------------------------------------------
# Field classes
# ---------------------------------------------------------------------------------------------


class Field:
    """One body field: the widget shown and its value as sent.

    ``send`` False marks a helper field the form reads but never sends (a mode switch);
    ``when`` = (other field, value) shows and sends this field only while the other one has
    that value (music's advanced fields).
    """

    name: str
    widget: W.Widget
    send: bool = True
    when: tuple[str, str] | None = None
    #: The widget holding the value (set by subclasses before calling ``__init__``).
    _value_widget: Any = None

    def __init__(self, name: str, widget: W.Widget, *, when: tuple[str, str] | None = None) -> None:
        self.name = name
        self.widget = widget
        self.when = when
        widget.add_class(f"kubeez-field-{name.replace('_', '-')}")  # a stable hook for CSS/tests

    def get(self) -> Any:
        """The body value (None: leave the field out)."""
        return None

    def set(self, value: Any) -> bool:
        """Apply ``value`` if it fits this field; True when applied."""
        return False

    def observe(self, callback: Callback) -> None:
        """Call ``callback()`` whenever the user changes the value."""
        for w in self._watched():
            w.observe(lambda _change: callback(), "value")

    def _watched(self) -> list[W.Widget]:
        return [self._value_widget] if self._value_widget is not None else []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}={self.get()!r}>"


class ChoiceField(Field):
    """Pick one of the catalog's options: toggle buttons for a few short ones, else a dropdown.

    ``options`` are plain strings or ``(label, value)`` pairs; ``optional`` adds a leading
    "(default)" entry that sends nothing.
    """

    def __init__(
        self,
        name: str,
        options: Sequence[str | tuple[str, Any]],
        *,
        default: Any = None,
        description: str | None = None,
        optional: bool = False,
        toggle: bool | None = None,
        when: tuple[str, str] | None = None,
    ) -> None:
        pairs: list[tuple[str, Any]] = [
            (o, o) if isinstance(o, str) else (str(o[0]), o[1]) for o in options
        ]
        if optional:
            pairs.insert(0, ("(default)", None))
        self.values = [v for _, v in pairs]
        if toggle is None:
            toggle = len(pairs) <= TOGGLE_MAX_OPTIONS and all(
                len(label) <= TOGGLE_MAX_LABEL for label, _ in pairs
            )
        if default not in self.values:
            default = self.values[0] if self.values else None
        cls = W.ToggleButtons if toggle else W.Dropdown
        kw: dict[str, Any] = (
            {"style": {**_DESC, "button_width": "auto"}} if toggle else {"style": _DESC}
        )
        widget = cls(
            options=_encode(pairs),
            value=(_UNSET if default is None else default) if pairs else None,
            description=description or _label(name), **kw,
        )
        self._value_widget = widget
        super().__init__(name, widget, when=when)

    def get(self) -> Any:
        value = self._value_widget.value
        return None if value == _UNSET else value

    def set(self, value: Any) -> bool:
        match = _match(value, self.values)
        if match is _MISSING:
            return False
        self._value_widget.value = _UNSET if match is None else match
        return True

    def set_options(self, options: Sequence[str | tuple[str, Any]]) -> None:
        """Replace the options, keeping the current value when it is still offered."""
        current = self.get()
        pairs = [(o, o) if isinstance(o, str) else (str(o[0]), o[1]) for o in options]
        self.values = [v for _, v in pairs]
        w = self._value_widget
        # not under hold_trait_notifications(): the selection's value list is derived from
        # `options` by an observer, so a value set in the same hold is validated against the old list
        w.options = _encode(pairs)
        value = current if current in self.values else (self.values[0] if self.values else None)
        if value is not None or None in self.values:
            w.value = _UNSET if value is None else value


#: stands for a "send nothing" choice inside the widget: a selection widget reads None as
#: "nothing selected" and would show a blank box instead of the "(default)" / "auto" label
_UNSET = "\x00kubeez-unset"


def _encode(pairs: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(label, _UNSET if value is None else value) for label, value in pairs]


_MISSING = object()


def _match(value: Any, values: Sequence[Any]) -> Any:
    """The entry of ``values`` equal to ``value`` (exactly, case-insensitively, or as seconds)."""
    if value in values:
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        for v in values:
            if isinstance(v, str) and v.lower() == low:
                return v
    sec = parse_seconds(value)
    if sec is not None:
        for v in values:
            if isinstance(v, str) and parse_seconds(v) == sec:
                return v
    return _MISSING


class RangeField(Field):
    """A flexible duration (Kling 3.0: any 3-15 s) as a slider; sends the catalog's own "7s"."""

    def __init__(
        self, name: str, options: Sequence[str], lo: int, hi: int, *, default: Any = None
    ) -> None:
        self.options = list(options)
        start = parse_seconds(default) if default is not None else None
        value = int(start) if start is not None and lo <= start <= hi else lo
        widget = W.IntSlider(
            value=value,
            min=lo,
            max=hi,
            step=1,
            description=_label(name),
            readout_format="d",
            continuous_update=False,
            style=_DESC,
        )
        self.unit = W.HTML("s")
        self._value_widget = widget
        super().__init__(name, W.HBox([widget, self.unit]))

    def get(self) -> Any:
        sec = self._value_widget.value
        for opt in self.options:
            if parse_seconds(opt) == sec:
                return opt
        return f"{sec}s"

    def set(self, value: Any) -> bool:
        sec = parse_seconds(value)
        w = self._value_widget
        if sec is None or not float(sec).is_integer() or not (w.min <= sec <= w.max):
            return False
        w.value = int(sec)
        return True


class BoolField(Field):
    """A checkbox. ``optional`` fields send only ``True`` (unchecked = leave it out)."""

    def __init__(
        self,
        name: str,
        *,
        default: bool = False,
        description: str | None = None,
        optional: bool = False,
        when: tuple[str, str] | None = None,
    ) -> None:
        self.optional = optional
        widget = W.Checkbox(
            value=default, description=description or _label(name), indent=True, style=_DESC
        )
        self._value_widget = widget
        super().__init__(name, widget, when=when)

    def get(self) -> Any:
        value = bool(self._value_widget.value)
        return True if value else (None if self.optional else False)

    def set(self, value: Any) -> bool:
        if not isinstance(value, bool) and value is not None:
            return False
        self._value_widget.value = bool(value)
        return True


class TextField(Field):
    """Free text; a multi-line one shows a live count against ``cap`` (the prompt_max_chars)."""

    def __init__(
        self,
        name: str,
        *,
        cap: int | None = None,
        multiline: bool = False,
        description: str | None = None,
        placeholder: str = "",
        required: bool = False,
        when: tuple[str, str] | None = None,
    ) -> None:
        self.cap = cap
        self.required = required
        cls = W.Textarea if multiline else W.Text
        box = cls(
            value="",
            description=description or _label(name),
            placeholder=placeholder,
            continuous_update=True,
            style=_DESC,
            layout=_layout(width="95%", height="5em" if multiline else None),
        )
        self._value_widget = box
        self.counter = W.HTML(self._count_text(""))
        if cap is not None:
            box.observe(
                lambda ch: setattr(self.counter, "value", self._count_text(ch["new"])), "value"
            )
            widget: W.Widget = W.VBox([box, self.counter])
        else:
            widget = box
        super().__init__(name, widget, when=when)

    def _count_text(self, text: str) -> str:
        if self.cap is None:
            return ""
        n = len(text)
        over = n > self.cap
        color = "#b00020" if over else "#666"
        extra = f" (over by {n - self.cap})" if over else ""
        return (
            f"<small style='color:{color};margin-left:134px' class='kubeez-count'>"
            f"{n:,} / {self.cap:,} characters{extra}</small>"
        )

    def get(self) -> Any:
        value = self._value_widget.value
        return value if value.strip() else None

    def set(self, value: Any) -> bool:
        if value is None:
            value = ""
        if not isinstance(value, str):
            return False
        # Text is kept even past a smaller cap: the count turns red and the form says by how much.
        self._value_widget.value = value
        return True


class NumberField(Field):
    """An optional number in a range: a checkbox to send it, and a slider for the value."""

    def __init__(
        self,
        name: str,
        lo: float,
        hi: float,
        *,
        default: float,
        step: float = 0.05,
        integer: bool = False,
        optional: bool = True,
        description: str | None = None,
        when: tuple[str, str] | None = None,
    ) -> None:
        self.integer = integer
        cls = W.IntSlider if integer else W.FloatSlider
        slider = cls(
            value=default,
            min=lo,
            max=hi,
            step=1 if integer else step,
            description=description or _label(name),
            continuous_update=False,
            style=_DESC,
        )
        self._value_widget = slider
        self.enabled = W.Checkbox(
            value=not optional, description="send", indent=False, layout=_layout(width="70px")
        )
        slider.disabled = optional
        self.enabled.observe(lambda ch: setattr(slider, "disabled", not ch["new"]), "value")
        widget = W.HBox([slider, self.enabled]) if optional else slider
        super().__init__(name, widget, when=when)

    def _watched(self) -> list[W.Widget]:
        return [self._value_widget, self.enabled]

    def get(self) -> Any:
        if not self.enabled.value:
            return None
        value = self._value_widget.value
        return int(value) if self.integer else round(float(value), 4)

    def set(self, value: Any) -> bool:
        w = self._value_widget
        if value is None:
            self.enabled.value = False
            return True
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (w.min <= value <= w.max)
        ):
            return False
        w.value = value
        self.enabled.value = True
        return True


class InfoField(Field):
    """A fact about the model shown in the form that sends nothing (sound included / silent)."""

    send = False

    def __init__(self, name: str, text: str) -> None:
        super().__init__(name, W.HTML(f"<span style='margin-left:134px;color:#555'>{text}</span>"))

    def observe(self, callback: Callback) -> None:
        return None


class MediaField(Field):
    """Reference media from URLs, the asset library or local files, counted against the limits.

    One URL per line in the text box; "add asset" appends an asset's URL; a local file is
    uploaded through ``uploader`` (set by the panel: ``client.upload``) and its URL appended.
    ``single`` fields (``media_url``) send one string; the others a list of entries, with the
    media type attached where it is known (assets, uploads) so the server need not guess.
    """

    def __init__(
        self,
        name: str,
        limits: dict[str, int],
        *,
        single: bool = False,
        required: bool = False,
        description: str | None = None,
    ) -> None:
        self.limits = {k: v for k, v in limits.items() if v > 0}
        self.single = single
        self.required = required
        self.kinds: dict[str, str] = {}  # url -> media kind, where we know it
        self.uploader: Callable[[bytes, str], str] | None = None
        label = description or ("Media URL" if single else "References")
        self.urls = W.Textarea(
            value="",
            description=label,
            placeholder="https://… (one per line)" if not single else "https://…",
            continuous_update=False,
            style=_DESC,
            layout=_layout(width="95%", height="2.4em" if single else "4em"),
        )
        self._value_widget = self.urls
        self.assets = W.Dropdown(
            options=[("add an asset…", None)], value=None, layout=_layout(width="220px")
        )
        self.assets.observe(self._on_asset, "value")
        accept = ",".join(f"{k}/*" for k in self.limits) or "image/*,video/*,audio/*"
        self.file = W.FileUpload(
            accept=accept,
            multiple=not single,
            description="Upload file",
            layout=_layout(width="140px"),
        )
        self.file.observe(self._on_file, "value")
        self.counter = W.HTML(self._count_text())
        self.urls.observe(lambda _ch: setattr(self.counter, "value", self._count_text()), "value")
        row = W.HBox([self.assets, self.file, self.counter], layout=_layout(margin="0 0 0 134px"))
        super().__init__(name, W.VBox([self.urls, row]))

    # values -----------------------------------------------------------------------------------
    def url_list(self) -> list[str]:
        return [u.strip() for u in self.urls.value.splitlines() if u.strip()]

    def get(self) -> Any:
        urls = self.url_list()
        if not urls:
            return None
        if self.single:
            return urls[0] if len(urls) == 1 else urls  # more than one: let validation say so
        return [{"url": u, "type": self.kinds[u]} if u in self.kinds else u for u in urls]

    def set(self, value: Any) -> bool:
        if value is None:
            self.urls.value = ""
            return True
        sources, bad = split_sources(value)
        if bad:
            return False
        kept: list[str] = []
        counts = dict.fromkeys(MEDIA_KINDS, 0)
        for s in sources:
            kind = s.kind or (next(iter(self.limits)) if len(self.limits) == 1 else None)
            if kind is not None and counts.get(kind, 0) >= self.limits.get(kind, 0):
                continue  # over this model's limit for that kind: drop it, keep the rest
            if kind is not None:
                counts[kind] += 1
                if s.declared:
                    self.kinds[s.url] = kind
            kept.append(s.url)
            if self.single:
                break
        self.urls.value = "\n".join(kept)
        return bool(kept)

    def add(self, url: str, kind: str | None = None) -> None:
        """Append one URL (from an asset, an upload or the studio's "use as reference")."""
        if kind:
            self.kinds[url] = kind
        if self.single:
            self.urls.value = url
        elif url not in self.url_list():
            self.urls.value = "\n".join([*self.url_list(), url])

    def set_assets(self, assets: Iterable[tuple[str, str, str | None]]) -> None:
        """Offer these ``(name, url, kind)`` in the "add asset" list (only kinds this field takes)."""
        opts: list[tuple[str, Any]] = [("add an asset…", None)]
        for name, url, kind in assets:
            if kind is None or not self.limits or kind in self.limits:
                opts.append((name, (url, kind)))
        self.assets.options = opts

    def _on_asset(self, change: dict[str, Any]) -> None:
        if change["new"] is None:
            return
        url, kind = change["new"]
        self.add(url, kind)
        self.assets.value = None

    def _on_file(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        # The bytes sit in widget state until we clear it: take them, clear at once.
        items = [(bytes(f["content"]), str(f["name"]), str(f.get("type") or "")) for f in files]
        self.file.value = ()
        if self.uploader is None:
            self.counter.value = "<small style='color:#b00020'>no upload available here</small>"
            return
        self.counter.value = "<small>uploading…</small>"
        for data, filename, mime in items:
            try:
                url = self.uploader(data, filename)
            except Exception as err:  # shown in the field; the form stays usable
                self.counter.value = (
                    f"<small style='color:#b00020'>upload failed: {_esc(str(err))}</small>"
                )
                return
            self.add(url, media_kind(filename, mime or None))
        self.counter.value = self._count_text()

    def _count_text(self) -> str:
        if not hasattr(self, "urls"):
            return ""
        counts = dict.fromkeys(MEDIA_KINDS, 0)
        unknown = 0
        for u in self.url_list():
            kind = self.kinds.get(u) or media_kind(u)
            if kind is None and len(self.limits) == 1:
                kind = next(iter(self.limits))
            if kind is None:
                unknown += 1
            else:
                counts[kind] += 1
        parts = []
        for kind, cap in self.limits.items():
            over = counts[kind] > cap
            cap_text = "" if cap >= 1000 else f" / {cap}"
            style = "color:#b00020" if over else "color:#666"
            parts.append(
                f"<span style='{style}'>{counts[kind]}{cap_text} {kind}{'s' if cap != 1 else ''}</span>"
            )
        for kind in MEDIA_KINDS:
            if kind not in self.limits and counts[kind]:
                parts.append(
                    f"<span style='color:#b00020'>{counts[kind]} {kind} (not taken)</span>"
                )
        if unknown:
            parts.append(f"<span style='color:#b00020'>{unknown} of unknown type</span>")
        return "<small class='kubeez-count'>" + " · ".join(parts) + "</small>"


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=True)


# ---------------------------------------------------------------------------------------------
# The capability chain (media models)
# ---------------------------------------------------------------------------------------------

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
    from kubeez_nb.contract.pricing import default_seconds

    # Start at the length the catalog price is quoted for (Kling 3.0: "a 5 s clip"), if any.
    quoted = default_seconds(model)
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
    return ChoiceField(field, [str(v) for v in value])


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


# ---------------------------------------------------------------------------------------------
# Route fields (music, dialogue, captions, separation, ad creatives, extend)
# ---------------------------------------------------------------------------------------------


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


__all__ = [
    "CHAIN",
    "NOTHING",
    "BoolField",
    "ChoiceField",
    "Field",
    "InfoField",
    "MediaField",
    "NumberField",
    "RangeField",
    "TextField",
    "capability_items",
    "field_for",
    "media_fields",
    "route_fields",
]
