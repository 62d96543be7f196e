"""The static trace a widget app leaves in its cell: what it made, readable without a kernel.

A notebook saved with a live studio keeps no widget state, so reopened it would show only
"Error displaying widget". Displayed, an app (:class:`Traced`) therefore publishes two outputs
in its cell: the live widget, then a plain HTML gallery of what it made (model, prompt, cost, the
media as the render module draws them), kept current through a display handle after every
result. CSS in the trace hides the trace while the live widget is rendered before it, and hides
the dead widget output (an error or "Loading widget...") when there is no live widget: so a live
studio shows no duplicate and a reopened notebook shows the gallery alone.
"""

from __future__ import annotations

import html
import threading
from typing import Any

#: The marker class of a live app view, and the rules keyed on it (JupyterLab, Notebook 7 and
#: Voila all put each output in a ``.jp-OutputArea-child``).
LIVE_CLASS = "kubeez-live"
TRACE_CSS = (
    f".jp-OutputArea-child:has(.{LIVE_CLASS}) ~ .jp-OutputArea-child .kubeez-trace"
    " {display: none;}"
    f" .jp-OutputArea-child:has(+ .jp-OutputArea-child .kubeez-trace):not(:has(.{LIVE_CLASS}))"
    " {display: none;}"
)
#: How many results the trace keeps (newest first): a notebook stays small.
MAX_SHOWN = 24
_PROMPT_CHARS = 90


def _prompt(job: Any) -> str:
    body = getattr(job, "request", None) or {}
    if not isinstance(body, dict):
        return ""
    for key in ("prompt", "text", "song_description", "lyrics", "media_url"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= _PROMPT_CHARS else text[: _PROMPT_CHARS - 1] + "…"
    return ""


def _jobs(result: Any) -> list[Any]:
    jobs = getattr(result, "jobs", None)
    if jobs:
        return list(jobs)
    return [result] if getattr(result, "outputs", None) else []


def _links(outputs: list[Any]) -> str:
    from kubeez_nb import render

    out = []
    for i, o in enumerate(outputs, 1):
        src = render.safe_url(render.media_src(o, embed=False))
        if src:
            out.append(f"<a href='{html.escape(src)}' target='_blank'>file {i}</a>")
    return f"<div>{' · '.join(out)}</div>" if out else ""


def trace_bundle(title: str, jobs: list[Any], *, media: bool = True) -> dict[str, str]:
    """The trace of ``jobs`` (newest first): a title line and a compact gallery (``media``
    False: links to the files instead of players)."""
    from kubeez_nb import render

    style = f"<style>{TRACE_CSS}</style>"
    if not jobs:
        line = f"{title} — nothing generated yet; run the cell to open it"
        return {
            "text/plain": line,
            "text/html": f"<div class='kubeez-trace'>{style}<i>{html.escape(line)}</i></div>",
        }
    shown = jobs[:MAX_SHOWN]
    more = f" (the last {len(shown)} shown)" if len(jobs) > len(shown) else ""
    n = len(jobs)
    head = f"{title}: {n} result{'s' if n != 1 else ''}{more}"
    tiles, lines = [], [head]
    for job in shown:
        model = str(getattr(job, "model", "") or getattr(job, "kind", "") or "?")
        cost = render.cost_text(job)
        prompt = _prompt(job)
        outputs = list(getattr(job, "outputs", None) or [])[:4]
        shown_media = (
            "".join(render.output_html(o, embed=False, caption=False) for o in outputs)
            if media
            else _links(outputs)
        )
        meta = " · ".join(html.escape(x) for x in (model, cost) if x)
        words = f"<div class='kubeez-trace-prompt'>{html.escape(prompt)}</div>" if prompt else ""
        tiles.append(
            "<div class='kubeez-trace-tile' style='border:1px solid #ddd;padding:4px;"
            f"max-width:{render.OPTIONS.tile_px + 10}px;font-size:85%'>{shown_media}"
            f"<div><b>{meta}</b></div>{words}</div>"
        )
        lines.append(" · ".join(x for x in (model, repr(prompt) if prompt else "", cost) if x))
    body = (
        f"<div class='kubeez-trace'>{style}<div><b>{html.escape(title)}</b>: {n} "
        f"result{'s' if n != 1 else ''}{html.escape(more)} <small style='color:#666'>(saved; run "
        "the cell for the live app)</small></div>"
        f"<div style='display:flex;flex-wrap:wrap;gap:6px'>{''.join(tiles)}</div></div>"
    )
    return {"text/plain": "\n".join(lines), "text/html": body}


class Traced:
    """Mixin for an app widget: displayed, it publishes its live view and its trace.

    ``trace_title`` names the app in the trace; ``trace_add(result)`` records a finished
    result (a Job or a JobGroup) and updates every trace this app published."""

    trace_title = "kubeez"
    #: players / thumbnails in the trace (False: links to the files)
    trace_media = True
    _trace_jobs: list[Any]
    _trace_handles: list[Any]
    _trace_lock: threading.Lock

    def _trace_state(self) -> None:
        if not hasattr(self, "_trace_lock"):
            self._trace_jobs, self._trace_handles = [], []
            self._trace_lock = threading.Lock()

    def trace_bundle(self) -> dict[str, str]:
        """The trace as it stands now."""
        self._trace_state()
        return trace_bundle(self.trace_title, list(self._trace_jobs), media=self.trace_media)

    def trace_add(self, result: Any) -> None:
        """Record what ``result`` made and redraw the trace (called after every result;
        ``None``: just redraw)."""
        self._trace_state()
        made = [j for j in _jobs(result) if getattr(j, "outputs", None)]
        if not made and result is not None:
            return
        with self._trace_lock:  # from the panel's worker thread: one redraw at a time
            self._trace_jobs[:0] = list(reversed(made))
            bundle = trace_bundle(self.trace_title, list(self._trace_jobs), media=self.trace_media)
            for handle in self._trace_handles:
                try:
                    handle.update(bundle, raw=True)
                except Exception:  # a closed kernel channel must not fail the job
                    pass

    def adopt_traces(self, other: Traced) -> None:
        """Take over the traces ``other`` published (a login step handing over to the app it
        built): they show this app's results from now on, as does ``other`` if shown again."""
        self._trace_state()
        other._trace_state()
        with self._trace_lock:
            self._trace_handles.extend(other._trace_handles)
        other._trace_jobs, other._trace_handles = self._trace_jobs, self._trace_handles
        other._trace_lock = self._trace_lock
        other.trace_title, other.trace_media = self.trace_title, self.trace_media
        self.trace_add(None)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        self._trace_state()
        live = self._repr_mimebundle_()  # type: ignore[attr-defined]
        if live:  # what a page without the widget shows (the trace follows it)
            live = {
                **live,
                "text/plain": f"{self.trace_title} (a live app: it needs a running kernel)",
            }
            display(live, raw=True)
        handle = display(self.trace_bundle(), raw=True, display_id=True)
        if handle is not None:
            with self._trace_lock:
                self._trace_handles.append(handle)


__all__ = ["LIVE_CLASS", "TRACE_CSS", "Traced", "trace_bundle"]
