"""A panel's result area: finished outputs as widgets that carry their own bytes.

Media reaches the browser inside the widget message (ipywidgets ``Image`` / ``Video`` /
``Audio`` made from the cached file), i.e. through the Jupyter server's comm channel: it works
on Binder or any remote hub where the browser cannot reach the kernel's loopback emulator.
Files above :data:`MAX_WIDGET_BYTES` are shown by ``media.output_html`` instead (a relative
path the Jupyter server serves), so a huge video never floods the comm channel.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as W

from kubeez_nb.contract.wire import media_kind

#: Largest file sent inside a widget message (the Jupyter server caps websocket messages).
MAX_WIDGET_BYTES = 8 * 1024 * 1024
#: Widest a result is shown, in pixels.
TILE_PX = 384


def _kind(output: Any) -> str:
    declared = getattr(output, "media_type", None)
    return (
        media_kind(getattr(output, "url", None) or getattr(output, "local_path", None), declared)
        or "file"
    )


def _format(path: Path, kind: str) -> str:
    ext = path.suffix.lstrip(".").lower() or {"image": "png", "video": "mp4", "audio": "mp3"}.get(
        kind, "bin"
    )
    return {"jpg": "jpeg", "m4a": "mp4"}.get(ext, ext) if kind == "image" else ext


def caption(output: Any) -> str:
    """A one-line caption: label, size or length, format."""
    bits = []
    label = getattr(output, "title", None) or getattr(output, "label", None)
    if label:
        bits.append(f"<b>{html.escape(str(label))}</b>")
    w, h = getattr(output, "width", None), getattr(output, "height", None)
    if w and h:
        bits.append(f"{w}×{h}")
    dur = getattr(output, "duration", None)
    if isinstance(dur, (int, float)) and dur:
        bits.append(f"{dur:g} s")
    fmt = getattr(output, "format", None)
    if fmt:
        bits.append(html.escape(str(fmt)))
    return f"<small style='color:#555'>{' · '.join(bits)}</small>" if bits else ""


def output_widget(output: Any) -> W.Widget:
    """One output as an Image / Video / Audio widget (bytes from the cache), else HTML."""
    kind = _kind(output)
    local = getattr(output, "local_path", None)
    path = Path(local) if local else None
    try:
        size = path.stat().st_size if path is not None and path.is_file() else None
    except OSError:
        size = None
    media: W.Widget
    if (
        path is not None
        and size is not None
        and size <= MAX_WIDGET_BYTES
        and kind
        in (
            "image",
            "video",
            "audio",
        )
    ):
        data = path.read_bytes()
        fmt = _format(path, kind)
        if kind == "image":
            media = W.Image(value=data, format=fmt, layout=W.Layout(max_width=f"{TILE_PX}px"))
        elif kind == "video":
            media = W.Video(
                value=data,
                format=fmt,
                autoplay=False,
                loop=False,
                controls=True,
                layout=W.Layout(max_width=f"{TILE_PX}px"),
            )
        else:
            media = W.Audio(value=data, format=fmt, autoplay=False, loop=False, controls=True)
    else:
        import kubeez_nb.render as render

        media = W.HTML(render.output_html(output, embed=False, caption=False))
    cap = caption(output)
    children = [media, W.HTML(cap)] if cap else [media]
    return W.VBox(children, layout=W.Layout(margin="2px 8px 2px 0"))


def result_widgets(result: Any) -> list[W.Widget]:
    """Widgets for whatever a submit returned once finished: a Job, a JobGroup, Captions."""
    outputs = getattr(result, "outputs", None)
    if isinstance(outputs, list) and outputs:
        tiles = [output_widget(o) for o in outputs]
        return [W.HBox(tiles, layout=W.Layout(flex_flow="row wrap"))]
    bundle = _bundle(result)
    if bundle:
        return [W.HTML(bundle)]
    return [W.HTML(f"<pre>{html.escape(repr(result))}</pre>")]


def _bundle(obj: Any) -> str:
    make = getattr(obj, "_repr_mimebundle_", None)
    if make is None:
        return ""
    try:
        data = make()
    except Exception:  # rendering must never take the panel down
        return ""
    if isinstance(data, tuple):
        data = data[0]
    if isinstance(data, dict):
        text = data.get("text/html") or ""
        if not text and data.get("text/plain"):
            text = f"<pre>{html.escape(str(data['text/plain']))}</pre>"
        return str(text)
    return ""


__all__ = ["MAX_WIDGET_BYTES", "caption", "output_widget", "result_widgets"]
