"""One model's form: its fields laid out, read as a request body.

A :class:`ModelForm` knows nothing about HTTP or jobs: it turns the fields ``chain.py`` /
``route_forms.py`` made for a model into ``params()`` (the body the user is about to send, which
the panel hands to ``client.prepare``), adds its own required-text ``problems()`` to the
request's, and carries values over from another form when the user switches model (``apply``:
each field keeps a value only when it fits).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as W

from kubeez_nb.contract.catalog import Model
from kubeez_nb.errors import Problem
from kubeez_nb.widgets.fields import Field, TextField
from kubeez_nb.widgets.media_field import MediaField
from kubeez_nb.widgets.route_forms import route_fields


class ModelForm:
    """The fields of one request kind for one model, in a ``VBox`` (``.widget``)."""

    def __init__(
        self,
        model: Model | None,
        kind: str,
        fields: Sequence[Field] | None = None,
        *,
        voices: Sequence[str] = (),
    ) -> None:
        self.model = model
        self.kind = kind
        self.voices = list(voices)
        made = list(fields) if fields is not None else route_fields(model, kind, voices=voices)
        self.fields: dict[str, Field] = {f.name: f for f in made}
        self._listeners: list[Callable[[], None]] = []
        for f in made:
            f.observe(self._changed)
        self.widget = W.VBox([f.widget for f in made], layout=W.Layout(width="100%"))
        if any(f.when for f in made):
            self._sync_visibility()

    # reading ----------------------------------------------------------------------------------
    def _active(self, f: Field) -> bool:
        if f.when is None:
            return True
        other, wanted = f.when
        ctl = self.fields.get(other)
        return ctl is not None and self._active(ctl) and ctl.get() == wanted

    def params(self) -> dict[str, Any]:
        """The request body as the user has it now (fields left empty are left out)."""
        out: dict[str, Any] = {}
        for f in self.fields.values():
            if not f.send or not self._active(f):
                continue
            value = f.get()
            if value is not None:
                out[f.name] = value
        return out

    def values(self) -> dict[str, Any]:
        """Every field's value, shown or not (what a model switch carries over)."""
        return {name: f.get() for name, f in self.fields.items() if not _is_info(f)}

    def problems(self, found: Sequence[Problem] = ()) -> list[Problem]:
        """``found`` (the request's problems: ``client.prepare`` of ``params()``) plus the form's
        own: it is stricter than the wire, a text-to-media job needs words to work from."""
        # a link's own problem, as the field shows it next to the box, stands for the request's
        links = [p for f in self.media_fields() if self._active(f) for p in f.problems()]
        bad = {(p.field, p.value) for p in links}
        problems = [p for p in found if (p.field, p.value) not in bad]
        problems += links
        named = {p.field for p in problems}
        for f in self.fields.values():
            if (
                isinstance(f, TextField)
                and f.required
                and f.name not in named
                and self._active(f)
                and f.get() is None
            ):
                problems.append(
                    Problem(
                        f.name,
                        None,
                        "text",
                        "is required: describe what you want",
                        code=f"missing_{f.name}",
                    )
                )
        return problems

    # writing ----------------------------------------------------------------------------------
    def apply(self, values: Mapping[str, Any]) -> list[str]:
        """Set every field whose value fits; returns the names applied (the others keep theirs)."""
        applied = []
        with self.quiet():
            for name, value in values.items():
                f = self.fields.get(name)
                if f is None or _is_info(f):
                    continue
                if f.set(value):
                    applied.append(name)
        self._changed()
        return applied

    def labels(self) -> dict[str, str]:
        """Each field's label as the form shows it (what messages call the field)."""
        out = {}
        for name, f in self.fields.items():
            w = f._value_widget
            label = getattr(w, "description", "") if w is not None else ""
            out[name] = str(label or name.replace("_", " ").capitalize())
        return out

    def media_fields(self) -> list[MediaField]:
        return [f for f in self.fields.values() if isinstance(f, MediaField)]

    # change notification ----------------------------------------------------------------------
    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after any value change (once per ``apply``)."""
        self._listeners.append(callback)

    def quiet(self) -> _Quiet:
        """Context manager: hold change callbacks (``apply`` fires one at the end)."""
        return _Quiet(self)

    _held = 0

    #: True once any value changed (the user typed, picked, or a value was applied)
    edited = False

    def _changed(self) -> None:
        if self._held:
            return
        self.edited = True
        if any(f.when for f in self.fields.values()):
            self._sync_visibility()
        for cb in list(self._listeners):
            cb()

    def _sync_visibility(self) -> None:
        for f in self.fields.values():
            display = None if self._active(f) else "none"
            if f.widget.layout.display != display:
                f.widget.layout.display = display

    def __repr__(self) -> str:
        mid = self.model.id if self.model else self.kind
        return f"<ModelForm {mid}: {', '.join(self.fields)}>"


class _Quiet:
    def __init__(self, form: ModelForm) -> None:
        self.form = form

    def __enter__(self) -> ModelForm:
        self.form._held += 1
        return self.form

    def __exit__(self, *exc: object) -> None:
        self.form._held -= 1


def _is_info(f: Field) -> bool:
    return not f.send and f.__class__.__name__ == "InfoField"


#: API words in messages and the UI's own words for them (the form's buttons, not code).
_UI_WORDS = (
    ("client.upload(path)", "the Upload file button"),
    ("kz.upload(path)", "the Upload file button"),
    ("client.upload()", "the Upload file button"),
    ("client.add_asset", "the Assets tab"),
)


def ui_words(text: str, labels: Mapping[str, str] | None = None) -> str:
    """``text`` with API field names replaced by the form's labels and code by the UI's buttons."""
    for api, ui in _UI_WORDS:
        text = text.replace(api, ui)
    for name, label in sorted((labels or {}).items(), key=lambda kv: -len(kv[0])):
        if name and label and name != label:
            text = text.replace(f"`{name}`", label).replace(name, label)
    return text


def problems_html(
    problems: Sequence[Problem],
    labels: Mapping[str, str] | None = None,
    *,
    quiet: bool = False,
) -> str:
    """The problems as a short list: field (the form's label), what was given, what is allowed.

    ``quiet``: the user has not acted yet: the same list in grey, as what is left to fill in."""
    if not problems:
        return ""
    rows = []
    for p in problems:
        allowed = _short(p.allowed)
        given = _short(p.value)
        extra = []
        if given and html.escape(str(p.value)) not in html.escape(p.message):
            extra.append(f"given: {given}")  # unless the message already quotes it
        if allowed and allowed.lower() not in p.message.lower():
            extra.append(f"allowed: {allowed}")  # unless the message already says it
        tail = f" <span style='color:#666'>({'; '.join(extra)})</span>" if extra else ""
        field = (labels or {}).get(p.field) or p.field
        message = ui_words(p.message, labels)
        rows.append(f"<li><b>{html.escape(field)}</b>: {html.escape(message)}{tail}</li>")
    color = "#666" if quiet else "#b00020"
    return (
        f"<div class='kubeez-problems{' kubeez-todo' if quiet else ''}' style='color:{color}'>"
        f"<ul style='margin:2px 0 2px 1em;padding:0;line-height:1.4'>{''.join(rows)}</ul></div>"
    )


def _short(value: Any, limit: int = 80) -> str:
    if value is None or value == [] or value == "":
        return ""
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
        text = ", ".join(items[:12]) + (f", … ({len(items) - 12} more)" if len(items) > 12 else "")
    else:
        text = str(value)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return html.escape(text)


__all__ = ["ModelForm", "problems_html"]
