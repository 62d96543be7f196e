"""Rendering: ``_repr_mimebundle_`` builders for outputs, jobs, groups and captions.

Every builder returns ``{"text/plain": ..., "text/html": ...}`` and never raises: on any failure
it returns the plain text plus an escaped note of what went wrong. Every string that came from
the server or the user is HTML-escaped.

Where media comes from (``media_src``): the cached file, as a path *relative to the kernel's
working directory* (JupyterLab resolves a relative ``src`` against the notebook's folder and
serves it through ``/files/``; a loopback URL would not reach the browser on Binder or any
remote hub); else the remote URL. Only small images are embedded as ``data:`` URIs, and only
when asked (``embed=True`` or ``OPTIONS.embed_images``), so a saved notebook stays small.

Every ``src`` / ``href`` passes ``safe_url``: only ``http(s)``, relative paths and raster
``data:image/...`` URIs are written; anything else a server might send (``javascript:``,
``vbscript:``, ``data:text/html``, ``data:image/svg+xml``, ``file:``) is dropped and the tile says
"unsafe URL omitted".

``watch(job)`` displays a job and keeps that display up to date from the job's own background
poller, leaving the kernel free: while it runs a bar against the catalog's ETA and a ticking
clock; once done, each output with its action row (``kubeez_nb.actions``: plain HTML, so a saved
notebook reopens with the card, never a dead widget).
"""

from __future__ import annotations

import base64
import html
import mimetypes
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kubeez_nb._config import TERMINAL_FAILED, TERMINAL_OK
from kubeez_nb.contract.wire import epoch as epoch_seconds


@dataclass
class RenderOptions:
    """Process-wide rendering defaults (``kubeez_nb.render.OPTIONS``)."""

    #: embed cached images as data: URIs (self-contained notebooks, bigger files)
    embed_images: bool = False
    #: never embed a file larger than this, even when asked
    embed_max_bytes: int = 512 * 1024
    #: largest width of one image / video tile, CSS pixels
    tile_px: int = 320
    #: an action row under each finished result (Download, Copy URL, Insert code, Re-run ...):
    #: about 4 KB of a saved notebook per result; False keeps only the media and the status line
    actions: bool = True


OPTIONS = RenderOptions()

_STATUS_COLOURS = {"completed": "#2e7d32", "failed": "#c62828", "cancelled": "#757575"}
_RUNNING_COLOUR = "#1565c0"


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """An attribute or key, never raising (broken objects still render)."""
    try:
        if isinstance(obj, Mapping):
            return obj.get(name, default)
        return getattr(obj, name, default)
    except Exception:
        return default


def _bundle(text: str, body: str) -> dict[str, str]:
    return {"text/plain": text, "text/html": body}


def _safe(kind: str, build: Any, obj: Any, *args: Any, **kw: Any) -> dict[str, str]:
    """Run a builder; on any error return a text fallback with an escaped error note."""
    try:
        return build(obj, *args, **kw)
    except Exception as exc:  # rendering must never break a cell
        try:
            text = repr(obj)
        except Exception:
            text = f"<{kind}>"
        note = f"could not render this {kind}: {type(exc).__name__}: {exc}"
        return _bundle(f"{text}\n({note})", f"<pre>{_esc(text)}</pre><small>{_esc(note)}</small>")


# -- where the media comes from ------------------------------------------------------------------

UNSAFE_NOTE = "unsafe URL omitted"
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_RASTER_DATA = re.compile(r"^data:image/(png|jpe?g|gif|webp|avif|bmp)[;,]")


def safe_url(url: Any) -> str | None:
    """``url`` if a browser may load or open it from our HTML, else None.

    Allowed: ``http://``, ``https://``, relative paths (incl. ``//host/...``) and raster
    ``data:image/...``. The scheme is read the way a browser does: ASCII whitespace and control
    characters are ignored and case does not matter (``" Java\tScript:"`` is ``javascript:``).
    """
    if url is None:
        return None
    text = str(url)
    probe = re.sub(r"[\x00-\x20\x7f]+", "", text).lower()
    if not probe:
        return None
    scheme = _SCHEME.match(probe)
    if scheme is None:
        return text  # relative: resolved against the notebook's page
    if scheme.group(1) in ("http", "https"):
        return text
    if _RASTER_DATA.match(probe):
        return text
    return None


def media_src(output: Any, *, embed: bool | None = None) -> str | None:
    """The ``src`` to show ``output`` with: cached file (relative path) > remote URL.

    A cached file outside the working directory is shown by its remote URL while that is still
    valid, else by a relative path (it works when the Jupyter server's root is high enough).
    """
    url = _get(output, "url") or _get(output, "stream_url")
    return _src(_get(output, "local_path"), url, output, embed=embed)


def cover_src(output: Any) -> str | None:
    """The ``src`` of a song's cover: the cached copy, else its URL."""
    return _src(_get(output, "thumbnail_path"), _get(output, "thumbnail_url"), output, embed=False)


def _src(local: Any, url: Any, output: Any, *, embed: bool | None) -> str | None:
    path = Path(local) if local else None
    if path is None or not path.is_file():
        return str(url) if url else None
    if embed if embed is not None else OPTIONS.embed_images:
        data = _data_uri(path, _get(output, "media_type"))
        if data:
            return data
    rel = _relative(path)
    if rel is not None and not rel.startswith(".."):
        return rel
    if url and not _expired(output):
        return str(url)
    return rel if rel is not None else path.as_uri()


def _relative(path: Path) -> str | None:
    try:
        rel = os.path.relpath(path.resolve(), Path.cwd().resolve())
    except ValueError:  # another drive on Windows
        return None
    return quote(Path(rel).as_posix())


def _expired(output: Any) -> bool:
    from kubeez_nb.actions import url_expired

    return url_expired(output)


def _data_uri(path: Path, media_type: Any) -> str | None:
    """A data: URI for a small image (None for anything else or anything too big)."""
    mime = mimetypes.guess_type(path.name)[0] or ""
    if not mime.startswith("image/") and not str(media_type or "").startswith("image"):
        return None
    try:
        if path.stat().st_size > OPTIONS.embed_max_bytes:
            return None
        payload = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return None
    return f"data:{mime or 'image/png'};base64,{payload}"


def _kind(output: Any) -> str:
    from kubeez_nb.cache import output_kind

    return output_kind(output) or "file"


# -- outputs -------------------------------------------------------------------------------------


def output_text(output: Any) -> str:
    """One line: kind, size / length, label, where it is."""
    bits = [_kind(output)]
    w, h = _get(output, "width"), _get(output, "height")
    if w and h:
        bits.append(f"{w}×{h}")
    dur = _get(output, "duration")
    if isinstance(dur, (int, float)) and dur:
        bits.append(f"{dur:g} s")
    label = _get(output, "title") or _get(output, "label")
    if label:
        bits.append(repr(str(label)))
    where = _get(output, "local_path") or _get(output, "url") or "no file yet"
    return " ".join(bits) + f": {where}"


def output_html(output: Any, *, embed: bool | None = None, caption: bool = True) -> str:
    """The HTML of one output: <img>, <video controls>, <audio controls> or a link."""
    raw = media_src(output, embed=embed)
    src = safe_url(raw)
    kind = _kind(output)
    label = _get(output, "title") or _get(output, "label")
    tile = OPTIONS.tile_px
    if not src:
        why = UNSAFE_NOTE if raw else "no file yet"
        return f"<div><i>{_esc(label or kind)}: {why}</i></div>"
    s = _esc(src)
    if kind == "image":
        alt = _esc(label or "generated image")
        media = f'<a href="{s}" target="_blank"><img src="{s}" alt="{alt}" style="max-width:{tile}px;max-height:{tile}px"></a>'
    elif kind == "video":
        media = f'<video controls preload="metadata" src="{s}" style="max-width:{tile}px"></video>'
    elif kind == "audio":
        media = f'<audio controls preload="metadata" src="{s}"></audio>'
        cover_raw = cover_src(output)
        cover = safe_url(cover_raw)
        if cover_raw and not cover and caption:
            media = f"<small>cover: {UNSAFE_NOTE}</small>{media}"
        if cover and caption:  # a song: cover, title, player
            media = f'<img src="{_esc(cover)}" alt="cover" style="width:64px;height:64px;object-fit:cover;float:left;margin-right:8px">{media}'
    else:
        media = f'<a href="{s}" target="_blank">{_esc(label or "download")}</a>'
    cap = f"<figcaption><b>{_esc(label)}</b></figcaption>" if caption and label else ""
    return f'<figure style="margin:2px">{cap}{media}</figure>'


def output_bundle(
    output: Any, include: Any = None, exclude: Any = None, *, embed: bool | None = None
) -> dict[str, str]:
    """Bundle for one :class:`~kubeez_nb.job.Output`."""
    return _safe("output", lambda o: _bundle(output_text(o), output_html(o, embed=embed)), output)


def outputs_html(
    outputs: Sequence[Any], kind: str | None = None, *, embed: bool | None = None, job: Any = None
) -> str:
    """Several outputs: a grid of tiles; separation stems as labelled players; songs as a list.
    With ``job`` (finished), each output carries its action row (``kubeez_nb.actions``)."""
    if not outputs:
        return ""

    def tile(i: int, o: Any) -> str:
        return output_html(o, embed=embed) + (_actions(job, o, i) if job is not None else "")

    if kind == "separation" or all(_kind(o) == "audio" for o in outputs):
        rows = "".join(
            f"<div style='margin:4px 0'>{tile(i, o)}</div>" for i, o in enumerate(outputs)
        )
        return f"<div>{rows}</div>"
    tiles = "".join(f"<div>{tile(i, o)}</div>" for i, o in enumerate(outputs))
    return f"<div style='display:flex;flex-wrap:wrap;gap:6px'>{tiles}</div>"


def _actions(job: Any, output: Any, index: int, width: int | None = None) -> str:
    if not OPTIONS.actions:
        return ""
    from kubeez_nb.actions import output_actions_html

    return output_actions_html(job, output, index=index, width=width or 600)


def _failed_actions(job: Any) -> str:
    if not OPTIONS.actions:
        return ""
    from kubeez_nb.actions import failed_actions_html

    return failed_actions_html(job)


# -- jobs ----------------------------------------------------------------------------------------


def elapsed_seconds(job: Any) -> float | None:
    """Seconds from submit (or server creation) to completion, or until now while running."""
    start = epoch_seconds(_get(job, "submitted_at")) or epoch_seconds(_get(job, "created_at"))
    if start is None:
        return None
    status = str(_get(job, "status") or "")
    end = epoch_seconds(_get(job, "completed_at"))
    if end is None:
        if status in TERMINAL_OK or status in TERMINAL_FAILED:
            return None
        end = time.time()
    return max(0.0, end - start)


def eta_seconds(job: Any) -> float | None:
    """The catalog's usual duration of the job's model (``estimated_time_seconds``), from the
    client's cached catalog only: a display never fetches."""
    from kubeez_nb.actions import model_of

    eta = getattr(model_of(job), "estimated_time_seconds", None)
    return float(eta) if isinstance(eta, (int, float)) and eta > 0 else None


def _running_clock(job: Any) -> str:
    """``running… 12 s of usually ~40 s`` and a bar (elapsed / the catalog's ETA, never full;
    without an ETA an indeterminate bar) while a job runs, else ""."""
    from kubeez_nb.progress import clock_text, fraction

    status = str(_get(job, "status") or "")
    if status in TERMINAL_OK | TERMINAL_FAILED:
        return ""
    elapsed, eta = elapsed_seconds(job), eta_seconds(job)
    value = f" value='{fraction(elapsed or 0.0, eta, status):.3f}'" if eta else ""
    bar = (f"<progress class='kubeez-job-bar' max='1'{value} style='width:200px;height:10px;"
           "vertical-align:middle;margin-right:6px'></progress>")  # fmt: skip
    clock = _esc(clock_text(elapsed, eta))
    return f"<div class='kubeez-job-running'>{bar}<small style='color:#888'>running… {clock}</small></div>"


def _credits(value: Any) -> str | None:
    try:
        return f"{float(value):,.4g}"
    except (TypeError, ValueError):
        return None


def cost_text(job: Any) -> str:
    """``est. 14 · charged 14 credits`` (either part may be missing)."""
    est, cost = _credits(_get(job, "estimate")), _credits(_get(job, "cost"))
    done = str(_get(job, "status") or "") in TERMINAL_OK | TERMINAL_FAILED
    parts = []
    if est is not None:
        parts.append(f"est. {est}")
    if cost is not None and done:
        parts.append(f"charged {cost}")
    return (" · ".join(parts) + " credits") if parts else ""


def _failure_hint(job: Any) -> str:
    from kubeez_nb.errors import JobFailedError

    return JobFailedError.default_hint + " Kubeez does not refund failed jobs."


def job_text(job: Any) -> str:
    """Plain-text card: model, status, elapsed, cost, outputs or error."""
    status = str(_get(job, "status") or "unknown")
    head = f"Job {_get(job, 'id') or '(not submitted)'} · {_get(job, 'model') or _get(job, 'kind') or '?'} · {status}"
    el = elapsed_seconds(job)
    if el is not None:
        head += f" · {el:.1f} s"
    cost = cost_text(job)
    if cost:
        head += f" · {cost}"
    lines = [head]
    if _get(job, "error"):
        lines.append(f"  error: {_get(job, 'error')}")
        lines.append(f"  → {_failure_hint(job)}")
    for i, out in enumerate(_get(job, "outputs") or []):
        lines.append(f"  [{i}] {output_text(out)}")
    return "\n".join(lines)


def job_html(
    job: Any, *, embed: bool | None = None, outputs: bool = True, actions: bool = True
) -> str:
    """HTML card of a job: while it runs a ticking bar; once done its outputs, each with its
    action row (a failed job: Re-run and Insert code)."""
    status = str(_get(job, "status") or "unknown")
    colour = _STATUS_COLOURS.get(status, _RUNNING_COLOUR)
    el = elapsed_seconds(job)
    meta = [f"<b>{_esc(_get(job, 'model') or _get(job, 'kind') or '?')}</b>",
            f"<span style='color:{colour}'>● {_esc(status)}</span>"]  # fmt: skip
    if el is not None and status in TERMINAL_OK | TERMINAL_FAILED:
        meta.append(f"{el:.1f} s")
    cost = cost_text(job)
    if cost:
        meta.append(_esc(cost))
    job_id = _get(job, "id")
    ident = f" <small style='color:#888'>{_esc(job_id)}</small>" if job_id else ""
    body = ""
    if _get(job, "error"):
        body += (f"<div style='color:#c62828'>{_esc(_get(job, 'error'))}<br>"
                 f"<small>→ {_esc(_failure_hint(job))}</small></div>")  # fmt: skip
    items = list(_get(job, "outputs") or [])
    done = status in TERMINAL_OK | TERMINAL_FAILED
    if outputs and items:
        body += outputs_html(
            items, str(_get(job, "kind") or ""), embed=embed, job=job if done and actions else None
        )
    elif not done:
        body += _running_clock(job)
    if status in TERMINAL_FAILED and actions:
        body += _failed_actions(job)
    return f"<div style='border-left:3px solid {colour};padding:2px 8px'><div>{' · '.join(meta)}{ident}</div>{body}</div>"


def job_bundle(
    job: Any, include: Any = None, exclude: Any = None, *, embed: bool | None = None
) -> dict[str, str]:
    """Bundle for a :class:`~kubeez_nb.job.Job` card (outputs inline once done)."""
    return _safe("job", lambda j: _bundle(job_text(j), job_html(j, embed=embed)), job)


# -- groups (ad-copy variants, several jobs) -----------------------------------------------------


def job_tile_html(job: Any, *, embed: bool | None = None) -> str:
    """A job in a gallery: its outputs (once done, each with its action row), while it runs its
    bar; a failed job's error with Re-run / Insert code."""
    status = str(_get(job, "status") or "unknown")
    done = status in TERMINAL_OK | TERMINAL_FAILED
    items = list(_get(job, "outputs") or [])
    inner = "".join(
        output_html(o, embed=embed, caption=False)
        + (_actions(job, o, i, OPTIONS.tile_px) if done else "")
        for i, o in enumerate(items)
    )
    if not done:
        inner += _running_clock(job)
    if _get(job, "error"):
        inner += f"<div style='color:#c62828'><small>{_esc(_get(job, 'error'))}</small></div>"
    if status in TERMINAL_FAILED:
        inner += _failed_actions(job)
    return inner


def group_html(jobs: Iterable[Any], *, embed: bool | None = None) -> str:
    """A gallery: one tile per job (its outputs and a one-line status)."""
    tiles = []
    for job in jobs:
        status = str(_get(job, "status") or "unknown")
        colour = _STATUS_COLOURS.get(status, _RUNNING_COLOUR)
        head = f"<small style='color:{colour}'>● {_esc(status)}</small>"
        inner = job_tile_html(job, embed=embed)
        tiles.append(f"<div style='border:1px solid #ddd;padding:4px'>{head}{inner}</div>")
    return f"<div style='display:flex;flex-wrap:wrap;gap:6px'>{''.join(tiles)}</div>"


def group_bundle(
    group: Any, include: Any = None, exclude: Any = None, *, embed: bool | None = None
) -> dict[str, str]:
    """Bundle for a :class:`~kubeez_nb.job.JobGroup`: a summary line and a gallery."""

    def build(g: Any) -> dict[str, str]:
        jobs = list(_get(g, "jobs") or list(g))
        done = sum(1 for j in jobs if str(_get(j, "status")) in TERMINAL_OK)
        failed = sum(1 for j in jobs if str(_get(j, "status")) in TERMINAL_FAILED)
        head = f"{len(jobs)} job(s): {done} completed, {failed} failed, {len(jobs) - done - failed} running"
        text = "\n".join([head, *(job_text(j) for j in jobs)])
        return _bundle(text, f"<div><b>{_esc(head)}</b>{group_html(jobs, embed=embed)}</div>")

    return _safe("group", build, group)


# -- captions ------------------------------------------------------------------------------------


def _clock(ms: Any) -> str:
    try:
        total = float(ms) / 1000.0
    except (TypeError, ValueError):
        return ""
    minutes, seconds = divmod(total, 60)
    return f"{int(minutes):02d}:{seconds:05.2f}"


def captions_bundle(
    captions: Any, include: Any = None, exclude: Any = None, *, max_rows: int = 200
) -> dict[str, str]:
    """Bundle for captions: a table of cues (start, end, text); full text in text/plain."""

    def build(c: Any) -> dict[str, str]:
        cues = c.cues() if callable(_get(c, "cues")) else list(_get(c, "words") or [])
        text = str(_get(c, "text") or " ".join(str(_get(q, "text", "")) for q in cues))
        lang = _get(c, "language")
        head = f"Captions: {len(cues)} cue(s)" + (f", language {lang}" if lang else "")
        rows = "".join(
            f"<tr><td>{_clock(_get(q, 'start'))}</td><td>{_clock(_get(q, 'end'))}</td>"
            f"<td style='text-align:left'>{_esc(_get(q, 'text'))}</td></tr>"
            for q in cues[:max_rows]
        )
        more = (
            f"<tr><td colspan=3>… {len(cues) - max_rows} more (to_srt() has all)</td></tr>"
            if len(cues) > max_rows
            else ""
        )
        table = (f"<table><thead><tr><th>start</th><th>end</th><th>text</th></tr></thead>"
                 f"<tbody>{rows}{more}</tbody></table>")  # fmt: skip
        return _bundle(f"{head}\n{text}", f"<div><b>{_esc(head)}</b>{table}</div>")

    return _safe("captions", build, captions)


# -- background updates --------------------------------------------------------------------------


def watch(job: Any) -> Any:
    """Display ``job`` (or a group of jobs) and keep that display current while it runs.

    Returns the DisplayHandle. Each job's own poller (``job.watch()``, a daemon thread on the
    server's schedule) fires ``on_change`` callbacks; each re-renders the bundle into the same
    display id. Updating a display from a thread only publishes a message (no ``with Output():``),
    which is safe, and the kernel stays free meanwhile.
    """
    from IPython.display import display

    members = list(getattr(job, "jobs", None) or [job])
    bundle = group_bundle if members != [job] else job_bundle

    def finished() -> bool:
        return all(str(_get(j, "status")) in TERMINAL_OK | TERMINAL_FAILED for j in members)

    shown = [bundle(job)]
    handle = display(shown[0], raw=True, display_id=True)
    if handle is None or finished():
        return handle
    lock = threading.Lock()

    def redraw(_changed: Any = None) -> None:
        with lock:  # a tick never publishes an older state after the final one
            now = bundle(job)
            if now != shown[0]:  # an unchanged card keeps its buttons (and what a click did)
                shown[0] = now
                handle.update(now, raw=True)

    def tick() -> None:  # the elapsed time moves each second; stops once every job ended
        while not finished():
            time.sleep(1.0)
            redraw()

    for member in members:
        member.on_change(redraw)
        member.watch()
    if finished():  # finished before we subscribed
        redraw()
    else:
        threading.Thread(target=tick, name="kubeez-display-tick", daemon=True).start()
    return handle


def static_bundle(results: Any, *, title: str = "") -> dict[str, str]:
    """A static bundle of what an app made (a Job, a JobGroup or a list of them): for a studio /
    panel to ``handle.update(static_bundle(jobs), raw=True)`` over its widget output once done,
    so a saved notebook keeps a readable trace instead of "Error displaying widget"."""
    items = list(getattr(results, "jobs", None) or ([results] if _get(results, "id") else results))
    if len(items) == 1:
        bundle = job_bundle(items[0])
    else:
        bundle = _safe("gallery", lambda js: _bundle(
            "\n".join(job_text(j) for j in js), group_html(js)), items)  # fmt: skip
    if title:
        bundle = {
            "text/plain": f"{title}\n{bundle['text/plain']}",
            "text/html": f"<div><b>{_esc(title)}</b></div>{bundle['text/html']}",
        }
    return bundle
