"""The Python call that makes a request, from its kind and the body that was sent.

``call_code("media", {"model": "z-image", "prompt": "a fox"})`` is
``client.generate_media("z-image", prompt="a fox")``: running it gives the same body and the same
estimate. ``Request.code()`` and the result actions (Insert code, Re-run, Vary ...) both use it,
so a prepared request and a finished job's ``request`` read the same. No kubeez_nb import: the
rendering layer uses it without pulling in the pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: request kind -> the client method that makes it
METHODS = {
    "media": "generate_media",
    "music": "generate_music",
    "dialogue": "generate_dialogue",
    "captions": "captions",
    "separation": "separate",
    "extend": "extend",
    "ad-copy": "ad_copy",
}
#: request kind -> body fields passed positionally (after the model, if any)
_POSITIONAL = {
    "dialogue": ("text",),
    "captions": ("media_url",),
    "separation": ("media_url",),
    "extend": ("source_task_id", "prompt"),
    "ad-copy": ("reference_ad_url",),
}


def call_code(
    kind: str, body: Mapping[str, Any], *, model: str | None = None, client: str = "client"
) -> str:
    """The ``client.<method>(...)`` call that POSTs ``body`` as a ``kind`` request.

    ``model``: the model id when the body does not carry it (routes whose server picks it)."""
    rest = dict(body)
    model_id = model if model is not None else rest.get("model")
    rest.pop("model", None)
    args: list[str] = []
    kwargs: dict[str, Any] = {}
    if kind in ("media", "music"):
        args.append(literal(model_id))
    elif model_id is not None:
        kwargs["model"] = model_id
    for name in _POSITIONAL.get(kind, ()):
        args.append(literal(rest.pop(name, None)))
    kwargs = {**rest, **kwargs}
    parts = args + [f"{k}={literal(v)}" for k, v in kwargs.items()]
    return f"{client}.{METHODS.get(kind, 'submit')}({', '.join(parts)})"


def literal(value: Any) -> str:
    """A Python literal of a JSON value (strings in double quotes, like the guide's examples)."""
    if isinstance(value, str):
        try:
            text = json.dumps(value, ensure_ascii=False)
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


__all__ = ["METHODS", "call_code", "literal"]
