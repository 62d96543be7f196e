"""The form field classes every panel is made of.

A :class:`Field` wraps the widget shown and converts to and from the body value: ``get()`` is the
value sent (``None`` = left out), ``set(value)`` applies a value only when it fits and says so.
Which fields a model gets is decided in ``chain.py`` (media models, from capabilities) and
``route_forms.py`` (the other routes). The reference-media field is in ``media_field.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W

from kubeez_nb.contract.wire import seconds as parse_seconds

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
            description=description or _label(name),
            **kw,
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
    """A number in a range (a slider). An optional one left untouched shows "default" and is not
    sent (the server's default applies); moving the slider sends it; "reset" goes back to the
    default (not sent). No hidden "send" switch: what the form shows is what is sent and priced."""

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
        self.default = default
        self.optional = optional
        self.touched = not optional
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
        self._quiet = False
        self.state = W.HTML(layout=_layout(width="70px"))
        self.reset = W.Button(
            description="reset",
            tooltip="back to the default (not sent)",
            layout=_layout(width="60px"),
        )
        self.reset.on_click(lambda _b: self.set(None))
        self._callbacks: list[Callback] = []
        slider.observe(self._moved, "value")
        widget = W.HBox([slider, self.state, self.reset]) if optional else slider
        super().__init__(name, widget, when=when)
        self._show()

    def _moved(self, _change: Any) -> None:
        if not self._quiet and not self.touched:
            self.touched = True
            self._show()

    def _show(self) -> None:
        self.state.value = "" if self.touched else "<small style='color:#666'>default</small>"
        self.reset.layout.display = None if self.touched and self.optional else "none"

    def observe(self, callback: Callback) -> None:
        self._callbacks.append(callback)
        self._value_widget.observe(lambda _change: callback(), "value")

    def get(self) -> Any:
        if not self.touched:
            return None
        value = self._value_widget.value
        return int(value) if self.integer else round(float(value), 4)

    def set(self, value: Any) -> bool:
        w = self._value_widget
        if value is None and not self.optional:
            return False
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (w.min <= value <= w.max)
        ):
            return False
        self._quiet = True
        try:  # None: back to the default, not sent
            self.touched = value is not None
            w.value = self.default if value is None else value
        finally:
            self._quiet = False
        self._show()
        for cb in self._callbacks:
            cb()
        return True


class InfoField(Field):
    """A fact about the model shown in the form that sends nothing (sound included / silent)."""

    send = False

    def __init__(self, name: str, text: str) -> None:
        super().__init__(name, W.HTML(f"<span style='margin-left:134px;color:#555'>{text}</span>"))

    def observe(self, callback: Callback) -> None:
        return None


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=True)


__all__ = [
    "NOTHING",
    "BoolField",
    "ChoiceField",
    "Field",
    "InfoField",
    "NumberField",
    "RangeField",
    "TextField",
]
