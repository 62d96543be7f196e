"""Result cards: one finished output with the actions that fit its kind.

A card shows the output (``results.output_widget``: bytes over the widget channel) and a row of
actions. Download, Copy URL and Insert code run in the browser (small inline scripts: the file is
fetched through the Jupyter server's ``/files/`` route, never the kernel's loopback URL; the cell
is inserted with the notebook's own "insert below" command). The other actions call back into the
studio (``CardHost``): save as asset, use as reference (current form, model kept), caption /
separate / extend this (the right tab, prefilled), re-run, vary.

Which actions fit (``actions_for``): captions take audio and video, separation audio, extend a
finished clip of an extendable model; the others every output with a URL.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import ipywidgets as W

from kubeez_nb.widgets.results import _kind, output_widget

#: Every action a card can offer, in display order: (name, button label, tooltip).
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("download", "Download", "save the file (served by the Jupyter server)"),
    ("copy", "Copy URL", "copy the output's URL to the clipboard"),
    ("asset", "Save as asset", "keep it in your asset library"),
    ("reference", "Use as reference", "add it to the current form's references"),
    ("caption", "Caption this", "open Captions with this file"),
    ("separate", "Separate this", "open Separation with this file"),
    ("extend", "Extend this", "open Extend with this clip"),
    ("rerun", "Re-run", "the same request again"),
    ("vary", "Vary", "the same form: change the prompt and generate"),
    ("code", "Insert code", "a new cell below with the Python that makes this request"),
)
_HOST_ACTIONS = ("asset", "reference", "caption", "separate", "extend", "rerun", "vary")


class CardHost(Protocol):
    """What a card calls back (the studio). ``act`` returns a short status line."""

    def act(self, action: str, card: ResultCard) -> str: ...


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


#: Inline scripts (ipywidgets' HTML view sets innerHTML: handlers run, <script> tags do not).
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
    "var t=this.dataset.url,s=this;"
    "var done=function(){s.textContent='Copied';s.classList.add('kubeez-copied');};"
    "if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t)"
    ".then(done,function(){prompt('Copy the URL',t);});}"
    "else{var a=document.createElement('textarea');a.value=t;document.body.appendChild(a);"
    "a.select();document.execCommand('copy');a.remove();done();}"
)
#: Insert code: select this output's cell, run the notebook's "insert cell below" (key b in
#: command mode), enter the new cell (Enter) and type the code; works in JupyterLab 4 and
#: Notebook 7 (the same notebook widget and shortcuts).
_INSERT_JS = (
    "var s=this,code=JSON.parse(s.dataset.code);"
    "var cell=s.closest('.jp-Cell');if(!cell){prompt('Copy this code',code);return false;}"
    "var key=function(el,k,c,n){var e=new KeyboardEvent('keydown',{key:k,code:c,bubbles:true,"
    "cancelable:true});Object.defineProperty(e,'keyCode',{get:function(){return n;}});"
    "Object.defineProperty(e,'which',{get:function(){return n;}});el.dispatchEvent(e);};"
    "var nb=cell.closest('.jp-Notebook');"
    "cell.dispatchEvent(new MouseEvent('mousedown',{bubbles:true}));"
    "s.focus();key(s,'Escape','Escape',27);s.focus();key(s,'b','KeyB',66);"
    "setTimeout(function(){var a=nb.querySelector('.jp-Cell.jp-mod-active');"
    "if(!a||a===cell){prompt('Copy this code',code);return;}"
    "a.focus();key(a,'Enter','Enter',13);"
    "setTimeout(function(){var ed=a.querySelector('.cm-content');if(ed){ed.focus();"
    "document.execCommand('insertText',false,code);}"
    "s.textContent='Inserted';s.classList.add('kubeez-inserted');},80);},80);return false;"
)
_LINK = (
    "display:inline-block;padding:2px 8px;margin:2px;border:1px solid #bbb;border-radius:3px;"
    "font-size:12px;text-decoration:none;color:inherit;background:#f5f5f5;cursor:pointer"
)


def download_html(output: Any) -> str:
    """A Download link to the cached file through ``/files/`` (href made in the browser)."""
    rel = notebook_relative(getattr(output, "local_path", None))
    if rel is None:
        return "<small style='color:#666' title='not in the cache yet'>no local copy</small>"
    name = Path(rel).name
    return (
        f"<a class='kubeez-act-download' href='#' download='{_attr(name)}' "
        f'data-rel=\'{_attr(rel)}\' onmousedown="{_FILES_JS}" onfocus="{_FILES_JS}" '
        f"style='{_LINK}'>⬇ Download</a>"
    )


def copy_html(url: str) -> str:
    return (
        f"<button class='kubeez-act-copy' data-url='{_attr(url)}' onclick=\"{_COPY_JS}\" "
        f"style='{_LINK}' title='copy the output URL'>Copy URL</button>"
    )


def insert_html(code: str) -> str:
    return (
        f"<button class='kubeez-act-code' data-code='{_attr(json.dumps(code))}' "
        f"onclick=\"{_INSERT_JS}\" style='{_LINK}' "
        "title='a new cell below with the Python that makes this request'>Insert code</button>"
    )


def cell_code(request_code: str) -> str:
    """The text of an inserted cell: a client, then the request's call."""
    return f"import kubeez_nb as kz\n\nclient = kz.connect()\njob = {request_code}\njob"


class ResultCard(W.VBox):
    """One output of a finished job with its actions (``card.buttons[name]`` for the Python ones)."""

    def __init__(
        self,
        job: Any,
        output: Any,
        *,
        code: str | None = None,
        host: CardHost | None = None,
        extendable: bool = False,
        on_status: Callable[[str], None] | None = None,
    ) -> None:
        self.job = job
        self.output = output
        self.host = host
        self.kind = _kind(output)
        self.url = str(getattr(output, "url", None) or "")
        self.code = code
        self.actions = actions_for(self.kind, extendable=extendable, has_url=bool(self.url))
        if host is None:
            self.actions = [a for a in self.actions if a not in _HOST_ACTIONS]
        if code is None:
            self.actions = [a for a in self.actions if a != "code"]
        self.status = W.HTML()
        self.status.add_class("kubeez-card-status")
        self._on_status = on_status
        self.buttons: dict[str, W.Button] = {}
        parts: list[str] = []
        for name, label, tip in ACTIONS:
            if name not in self.actions:
                continue
            if name == "download":
                parts.append(download_html(output))
            elif name == "copy":
                parts.append(copy_html(self.url))
            elif name == "code" and code is not None:
                parts.append(insert_html(cell_code(code)))
            else:
                b = W.Button(description=label, tooltip=tip, layout=W.Layout(width="auto"))
                b.add_class(f"kubeez-act-{name}")
                b.on_click(lambda _b, n=name: self.act(n))
                self.buttons[name] = b
        browser = W.HTML(" ".join(parts))
        row = W.HBox(
            [browser, *self.buttons.values()],
            layout=W.Layout(flex_flow="row wrap", align_items="center", max_width="420px"),
        )
        super().__init__(
            [output_widget(output), row, self.status],
            layout=W.Layout(margin="4px 10px 6px 0", border="1px solid #ddd", padding="4px"),
        )
        self.add_class("kubeez-card")
        self.add_class(f"kubeez-card-{self.kind}")

    def act(self, action: str) -> str:
        """Run one Python-side action through the host; the card shows what happened."""
        if self.host is None or action not in self.actions:
            return ""
        try:
            said = self.host.act(action, self)
        except Exception as err:  # an action must never take the card down
            said = f"<span style='color:#b00020'>{html.escape(str(err).splitlines()[0])}</span>"
        self.status.value = f"<small>{said}</small>" if said else ""
        return said


def cards_for(
    result: Any, *, code: str | None = None, host: CardHost | None = None, extendable: bool = False
) -> list[W.Widget]:
    """Cards for every output of a finished Job / JobGroup (empty when it has none)."""
    jobs = getattr(result, "jobs", None) or [result]
    out: list[W.Widget] = []
    for job in jobs:
        for o in getattr(job, "outputs", None) or []:
            out.append(ResultCard(job, o, code=code, host=host, extendable=extendable))
    return out


__all__ = ["ACTIONS", "CardHost", "ResultCard", "actions_for", "cards_for", "notebook_relative"]
