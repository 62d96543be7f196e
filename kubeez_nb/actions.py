"""Result actions as plain HTML: the one source of the action row a result shows.

Used by a displayed ``Job`` / ``JobGroup`` (``render``), by galleries (``BatchResult.gallery()``)
and by the studio's result cards (``widgets.cards``, whose kernel-side buttons come on top).
Nothing here calls the kernel: a displayed job stays static HTML, so a saved notebook reopens
with its card, never "Error displaying widget". Every action is browser-side or inserts code:

- Download: the cached file through the Jupyter server's ``/files/`` route (the href is made in
  the browser: the page knows the notebook's path), never the kernel's loopback URL.
- Copy URL: the output's URL to the clipboard.
- Insert code, Vary: a new cell below with the Python of the request (Vary: the prompt on its
  own line, selected, for the user to change); not run.
- Re-run, Caption this, Separate this, Extend this, Use as reference, Save as asset: a new cell
  with the chained code (``client.captions(url)``, ``client.extend(client.job(id), ...)`` ...),
  run at once (the client's confirm / budget guard applies as for any call).

The cell is inserted with the notebook's own "insert below" command (JupyterLab 4 and Notebook
7); outside a notebook cell (Voila, an HTML export) the code is offered in a prompt to copy.
Opened untrusted, the handlers are stripped and the buttons are inert, nothing worse.
"""

from __future__ import annotations

import html
import os
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kubeez_nb._call_code import call_code, literal
from kubeez_nb.contract.kinds import KINDS
from kubeez_nb.contract.wire import epoch

#: Every action a result can offer, in display order: (name, button label, tooltip).
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("download", "Download", "save the file (served by the Jupyter server)"),
    ("copy", "Copy URL", "copy the output's URL to the clipboard"),
    ("asset", "Save as asset", "keep it in your asset library"),
    ("reference", "Use as reference", "the same request with this output as a reference"),
    ("caption", "Caption this", "word timings of its speech"),
    ("separate", "Separate this", "vocals and instrumental stems"),
    ("extend", "Extend this", "continue this clip"),
    ("rerun", "Re-run", "the same request again"),
    ("vary", "Vary", "the same request: change the prompt and run it"),
    ("code", "Insert code", "a new cell below with the Python that makes this request"),
)
#: Actions whose inserted cell runs at once (the others leave it for the user to edit / run).
RUN_AT_ONCE = frozenset({"asset", "reference", "caption", "separate", "extend", "rerun"})
#: Actions that need the request that made the job (``job.request``).
NEED_REQUEST = frozenset({"reference", "rerun", "vary", "code"})


def actions_for(kind: str, *, extendable: bool = False, has_url: bool = True) -> list[str]:
    """The actions that fit an output of media ``kind`` (image / video / audio / file)."""
    out = ["download"]
    if has_url:
        out += ["copy", "asset", "reference"]
        if kind in ("audio", "video"):
            out.append("caption")
        if kind == "audio":
            out.append("separate")
        if kind == "video" and extendable:
            out.append("extend")
    return [*out, "rerun", "vary", "code"]


def notebook_relative(local: str | os.PathLike[str] | None) -> str | None:
    """``local`` relative to the kernel's working directory (the notebook's folder in Jupyter),
    as a POSIX path (``../kubeez-data/...`` when the cache sits higher); None without a file.

    The browser turns it into a ``/files/`` URL: the kernel cannot know the server's root (the
    server tells it only the notebook's absolute path), the page knows the notebook's path."""
    if not local:
        return None
    path = Path(local)
    if not path.is_file():
        return None
    try:
        return Path(os.path.relpath(path.resolve(), Path.cwd().resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return None


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _sq(value: str) -> str:
    """``value`` for a single-quoted attribute: double quotes stay as they are (code is full of
    them, and each ``&quot;`` would cost six bytes of the saved notebook)."""
    return html.escape(value, quote=False).replace("'", "&#x27;")


# -- the browser side ----------------------------------------------------------------------------
# Inline handlers (an HTML output and ipywidgets' HTML view set innerHTML: attributes survive,
# <script> tags do not run). No double quote inside: they sit in double-quoted attributes.

_FILES_JS = (
    "var c=document.getElementById('jupyter-config-data');"
    "var b=c?JSON.parse(c.textContent).baseUrl||'/':'/';"
    "var m=decodeURIComponent(location.pathname).match(/\\/(?:tree|notebooks|render)\\/(.*)$/);"
    "var d=m?m[1].split('/').slice(0,-1):[];"
    "this.dataset.rel.split('/').forEach(function(p){if(p==='..')d.pop();"
    "else if(p&&p!=='.')d.push(p);});"
    "this.href=b+'files/'+d.map(encodeURIComponent).join('/');"
)
_COPY_JS = (
    "var t=s.dataset.url;"
    "var done=function(){s.textContent='Copied';s.classList.add('kubeez-copied');};"
    "if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t)"
    ".then(done,function(){prompt('Copy the URL',t);});}"
    "else{var a=document.createElement('textarea');a.value=t;document.body.appendChild(a);"
    "a.select();document.execCommand('copy');a.remove();done();}"
)
#: Insert a cell: select this output's cell, run the notebook's "insert cell below" (b in command
#: mode), enter the new cell (Enter), type the code; then select ``data-select`` (Vary's prompt)
#: or, with ``data-run``, run it: Ctrl+Enter in its editor ("run cell", JupyterLab 4 and
#: Notebook 7 alike). Right after typing, Notebook 7 can run the cell before the editor's text
#: reached the cell's model: an empty cell, which runs nothing and keeps its ``[ ]`` prompt. So
#: the run is checked (a cell sent to the kernel shows ``[*]`` at once) and Ctrl+Enter is sent
#: again, a few times 0.3 s apart; the button says "Inserted and run", else (or when the run was
#: dropped, e.g. no kernel: ``[ ]`` again) "Inserted: run it".
_INSERT_JS = (
    "var code=s.dataset.code,run=s.dataset.run==='1',sel=s.dataset.select;"
    "var cell=s.closest('.jp-Cell');if(!cell){prompt('Copy this code',code);return;}"
    "var key=function(el,k,c,n,ctl){var e=new KeyboardEvent('keydown',{key:k,code:c,"
    "ctrlKey:!!ctl,bubbles:true,cancelable:true});"
    "Object.defineProperty(e,'keyCode',{get:function(){return n;}});"
    "Object.defineProperty(e,'which',{get:function(){return n;}});el.dispatchEvent(e);};"
    "var nb=cell.closest('.jp-Notebook');"
    "cell.dispatchEvent(new MouseEvent('mousedown',{bubbles:true}));"
    "s.focus();key(s,'Escape','Escape',27);s.focus();key(s,'b','KeyB',66);"
    "setTimeout(function(){var a=nb.querySelector('.jp-Cell.jp-mod-active');"
    "if(!a||a===cell){prompt('Copy this code',code);return;}"
    "a.focus();key(a,'Enter','Enter',13);"
    "setTimeout(function(){var ed=a.querySelector('.cm-content');if(!ed)return;ed.focus();"
    "document.execCommand('insertText',false,code);"
    "s.textContent='Inserted';s.classList.add('kubeez-inserted');"
    "if(run){var tries=0,go=function(){var p=a.querySelector('.jp-InputPrompt');"
    "if(p&&!/\\[ \\]/.test(p.textContent)){s.textContent='Inserted and run';"
    "setTimeout(function(){if(/\\[ \\]/.test(p.textContent))s.textContent='Inserted: run it';"
    "},1500);return;}"
    "if(!p||tries++>=6){s.textContent='Inserted: run it';return;}"
    "ed.focus();key(ed,'Enter','Enter',13,true);setTimeout(go,300);};go();}"
    "else if(sel){var w=document.createTreeWalker(ed,NodeFilter.SHOW_TEXT),n;"
    "while((n=w.nextNode())){var i=n.data.indexOf(sel);if(i>=0){var r=document.createRange();"
    "r.setStart(n,i);r.setEnd(n,i+sel.length);var g=getSelection();g.removeAllRanges();"
    "g.addRange(r);break;}}}"
    "},80);},80);"
)
#: One handler per row (not per button): Copy URL and the code buttons of the row.
_ROW_JS = (
    "var s=event.target.closest('[data-url],[data-code]');"
    "if(!s||!this.contains(s)||s.tagName==='A')return;event.preventDefault();"
    f"if(s.dataset.code){{{_INSERT_JS}}}else{{{_COPY_JS}}}"
)
#: The look of every action link / button: one rule per row (``row_html``), not one per button,
#: so a saved notebook carries it once per result. Opened untrusted, the rule is stripped and the
#: buttons keep the browser's own look.
_LINK = (
    "display:inline-block;padding:2px 8px;margin:2px;border:1px solid #bbb;border-radius:3px;"
    "font-size:12px;line-height:16px;text-decoration:none;color:inherit;background:#f5f5f5;"
    "cursor:pointer;font-family:inherit"
)
_ROW_CSS = f"<style>.kubeez-actions>a,.kubeez-actions>button{{{_LINK}}}</style>"


def download_html(output: Any, *, widget: bool = False) -> str:
    """A Download link to the cached file through ``/files/``.

    The href is relative: JupyterLab and Notebook 7 resolve it against the notebook's folder into
    a ``/files/`` URL, even when the output is untrusted. ``widget``: the link sits in a widget's
    HTML (the studio), which nothing resolves, so the browser makes the same URL on press."""
    rel = notebook_relative(getattr(output, "local_path", None))
    if rel is None:
        return "<small style='color:#666' title='not in the cache yet'>no local copy</small>"
    name = Path(rel).name
    handler = f' onmousedown="{_FILES_JS}" onfocus="{_FILES_JS}"' if widget else ""
    return (
        f"<a class='kubeez-act-download' href='{_attr(quote(rel))}' download='{_attr(name)}' "
        f"data-rel='{_attr(rel)}'{handler}>⬇ Download</a>"
    )


def copy_html(url: str) -> str:
    return (
        f"<button class='kubeez-act-copy' data-url='{_attr(url)}' "
        "title='copy the output URL'>Copy URL</button>"
    )


def insert_html(
    code: str,
    name: str = "code",
    label: str = "Insert code",
    tip: str = "a new cell below with the Python that makes this request",
    *,
    run: bool = False,
    select: str | None = None,
) -> str:
    """A button that inserts ``code`` in a new cell below (and runs it with ``run``)."""
    extra = " data-run='1'" if run else ""
    if select:
        extra += f" data-select='{_sq(select)}'"
    return (
        f"<button class='kubeez-act-{_attr(name)}' data-code='{_sq(code)}'"
        f"{extra} title='{_attr(tip)}'>{html.escape(label)}</button>"
    )


def row_html(parts: Iterable[str], *, width: int = 600) -> str:
    """The row holding action links / buttons (one click handler for all of them)."""
    return (
        f"<div class='kubeez-actions' onclick=\"{_ROW_JS}\" style='display:flex;"
        f"flex-wrap:wrap;align-items:center;max-width:{width}px;margin:2px 0;clear:both'>"
        f"{_ROW_CSS}{''.join(parts)}</div>"
    )


# -- the code an action inserts ------------------------------------------------------------------


class _Name:
    """A bare Python name inside generated code (``literal`` writes its repr)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def cell_code(request_code: str, *, demo: bool = False, before: str = "", name: str = "job") -> str:
    """The text of an inserted cell: a client, then the call (``before``: lines in between)."""
    connect = "kz.connect(demo=True)" if demo else "kz.connect()"
    return f"import kubeez_nb as kz\n\nclient = {connect}\n{before}{name} = {request_code}\n{name}"


def _is_demo(client: Any) -> bool:
    """The client talks to this process's demo emulator (its cell must connect the same way)."""
    emu = getattr(sys.modules.get("kubeez_nb.client"), "_DEMO", None)
    base = str(getattr(client, "base_url", "") or "").rstrip("/")
    return emu is not None and bool(base) and base == str(getattr(emu, "url", "")).rstrip("/")


def model_of(job: Any) -> Any:
    """The job's catalog model from the client's cached catalog only (a display never fetches)."""
    try:
        catalog = getattr(getattr(job, "client", None), "_catalog", None)
        return catalog.get(getattr(job, "model", None)) if catalog is not None else None
    except Exception:
        return None


def request_code(job: Any) -> str | None:
    """``client.generate_media(...)`` (or the kind's call) that makes ``job``'s request again."""
    body = getattr(job, "request", None)
    kind = str(getattr(job, "kind", "") or "")
    if not isinstance(body, Mapping) or not body or kind not in KINDS:
        return None
    return call_code(kind, body, model=getattr(job, "model", None))


def _url_field(kind: str) -> str | None:
    spec = KINDS.get(kind)
    return next((f.name for f in spec.fields if f.type == "urls"), None) if spec else None


def takes_reference(job: Any, media: str) -> bool:
    """The job's model accepts a ``media`` output as a reference (catalog limits, cached)."""
    model = model_of(job)
    field = _url_field(str(getattr(job, "kind", "")))
    return bool(field and model is not None and model.media_limits.get(media, 0) > 0)


def url_expired(output: Any) -> bool:
    """The output's signed URL is past its ``url_expires_at``."""
    when = epoch(getattr(output, "url_expires_at", None))
    return when is not None and when <= time.time()


def output_url(output: Any) -> str:
    """The output's URL when it is a live ``http(s)`` one (the only kind an action hands on)."""
    url = str(getattr(output, "url", None) or "")
    live = url.lower().startswith(("https://", "http://")) and not url_expired(output)
    return url if live else ""


def _asset_name(job: Any, index: int) -> str:
    base = f"{getattr(job, 'model', '') or 'output'}-{str(getattr(job, 'id', ''))[-6:]}-{index}"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in base.lower()).strip("-")[:60]


def action_code(action: str, job: Any, output: Any, *, index: int = 0) -> str | None:
    """The cell an action inserts for ``output`` of ``job`` (None when it cannot be made)."""
    demo = _is_demo(getattr(job, "client", None))
    url = output_url(output)
    kind = str(getattr(job, "kind", "") or "")
    body = dict(getattr(job, "request", None) or {})
    if action in ("code", "rerun"):
        code = request_code(job)
        return cell_code(code, demo=demo) if code else None
    if action == "vary":
        field = "prompt" if "prompt" in body else ("text" if "text" in body else None)
        if field is None or request_code(job) is None:
            return None
        call = call_code(kind, {**body, field: _Name(field)}, model=getattr(job, "model", None))
        line = f"{field} = {literal(body[field])}  # change the {field}, then run this cell\n"
        return cell_code(call, demo=demo, before=line)
    if not url:
        return None
    if action == "caption":
        return cell_code(f"client.captions({literal(url)})", demo=demo, name="captions")
    if action == "separate":
        return cell_code(f"client.separate({literal(url)})", demo=demo, name="stems")
    if action == "asset":
        call = f"client.add_asset({literal(_asset_name(job, index))}, {literal(url)})"
        return cell_code(call, demo=demo, name="asset")
    if action == "extend":
        clip = f"clip = client.job({literal(str(getattr(job, 'id', '')))}, {literal(kind)})\n"
        prompt = str(body.get("prompt") or "")
        line = f"prompt = {literal(prompt)}  # what happens next\n"
        return cell_code('client.extend(clip, prompt, "fast")', demo=demo, before=clip + line)
    if action == "reference":
        field = _url_field(kind)
        if field is None or request_code(job) is None:
            return None
        refs = list(body.get(field) or [])
        call = call_code(kind, {**body, field: [*refs, url]}, model=getattr(job, "model", None))
        return cell_code(call, demo=demo)
    return None


def fitting(job: Any, output: Any) -> list[str]:
    """The actions ``output`` of ``job`` offers (``actions_for`` and what the job allows)."""
    from kubeez_nb.cache import output_kind

    media = output_kind(output) or "file"
    model = model_of(job)
    extendable = (
        bool(getattr(model, "extendable", False))
        and str(getattr(job, "kind", "")) == "media"
        and bool(getattr(job, "ok", False))
    )
    names = actions_for(media, extendable=extendable, has_url=bool(output_url(output)))
    if not request_code(job):
        names = [n for n in names if n not in NEED_REQUEST]
    if "reference" in names and not takes_reference(job, media):
        names.remove("reference")
    return names


def _buttons(job: Any, output: Any, names: list[str], index: int) -> list[str]:
    parts: list[str] = []
    for name, label, tip in ACTIONS:
        if name not in names:
            continue
        if name == "download":
            parts.append(download_html(output))
        elif name == "copy":
            parts.append(copy_html(output_url(output)))
        else:
            code = action_code(name, job, output, index=index)
            if code is None:
                continue
            body = getattr(job, "request", None) or {}
            field = "prompt" if "prompt" in body else "text"
            select = literal(body[field])[1:-1] if name == "vary" and field in body else None
            parts.append(
                insert_html(code, name, label, tip, run=name in RUN_AT_ONCE, select=select)
            )
    return parts


def output_actions_html(job: Any, output: Any, *, index: int = 0, width: int = 600) -> str:
    """The action row of one finished output ("" when nothing fits)."""
    try:
        parts = _buttons(job, output, fitting(job, output), index)
    except Exception:  # an action row must never take the display down
        return ""
    return row_html(parts, width=width) if parts else ""


def failed_actions_html(job: Any) -> str:
    """A failed job's row: Re-run and Insert code (when its request is known)."""
    try:
        parts = _buttons(job, None, ["rerun", "code"], 0) if request_code(job) else []
    except Exception:
        return ""
    return row_html(parts) if parts else ""


__all__ = [
    "ACTIONS",
    "action_code",
    "actions_for",
    "cell_code",
    "failed_actions_html",
    "fitting",
    "notebook_relative",
    "output_actions_html",
    "request_code",
]
