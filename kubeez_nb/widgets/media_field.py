"""The reference-media field (URLs, assets, uploads) and its checks while the user types.

A URL box is checked as the user types, not only when it loses focus: each keystroke only
(re)starts a short timer (:class:`Debounce`); when the typing pauses, the field checks every line
locally (an http(s) link with a host and no spaces: no catalog, no HTTP), shows what is wrong next
to itself in the form's words, and only then tells the form, which prepares the request once
(price, problems, Generate). Values set by code (an asset, an upload, "use as reference", a
model switch) apply at once.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import ipywidgets as W

from kubeez_nb.contract import checks
from kubeez_nb.contract.catalog import split_sources
from kubeez_nb.contract.kinds import MEDIA_KINDS
from kubeez_nb.contract.wire import media_kind
from kubeez_nb.errors import Problem
from kubeez_nb.widgets.fields import _DESC, _UNSET, Callback, Field, _esc, _layout

#: Seconds of no typing before a URL box is checked and the form re-prepared.
TYPING_PAUSE = 0.3

#: What every link message ends with: the UI's own ways to give a file.
FIX = "paste an https:// link or use the Upload file button"


def link_problem(url: str) -> str | None:
    """What is wrong with ``url`` as a link, in the form's words (None: nothing); the rule is the
    contract's (``contract.checks.link_problem``: local syntax only)."""
    why = checks.link_problem(url)
    if why is None:
        return None
    text = url.strip()
    shown = text if len(text) <= 60 else text[:59] + "…"
    if why == "space":
        return f"'{shown}' has a space in it (one link per line); {FIX}"
    if why == "host":
        return f"'{shown}' has no host after {urlsplit(text).scheme}://; {FIX}"
    return f"'{shown}' is not a link; {FIX}"


class Debounce:
    """Run ``fn()`` once the calls to :meth:`__call__` pause for ``delay`` seconds (a timer
    thread); ``flush()`` runs a pending call now, ``cancel()`` drops it."""

    def __init__(self, fn: Callable[[], None], delay: float = TYPING_PAUSE) -> None:
        self.fn = fn
        self.delay = delay
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.idle = threading.Event()
        self.idle.set()

    def __call__(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self.idle.clear()
            self._timer = threading.Timer(self.delay, self._fire)
            self._timer.daemon = True
            self._timer.name = "kubeez-typing"
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self.fn()
        finally:
            with self._lock:
                if self._timer is None:
                    self.idle.set()

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self.idle.set()

    def flush(self) -> None:
        with self._lock:
            pending = self._timer is not None
            if pending:
                self._timer.cancel()  # type: ignore[union-attr]
                self._timer = None
        if pending:
            self._fire()


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
            continuous_update=True,
            style=_DESC,
            layout=_layout(width="95%", height="2.4em" if single else "4em"),
        )
        self._value_widget = self.urls
        self.label = label
        self._callbacks: list[Callback] = []
        self._by_code = 0  # > 0 while code (not typing) sets the text: no pause, no timer
        self.typing = Debounce(self._settled)
        #: what is wrong with the links, next to the box (empty until there is something wrong)
        self.note = W.HTML(layout=_layout(margin="0 0 0 134px"))
        self.note.add_class("kubeez-link-note")
        self.assets = W.Dropdown(
            options=[("add an asset…", _UNSET)], value=_UNSET, layout=_layout(width="220px")
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
        self.urls.observe(self._edited, "value")
        row = W.HBox([self.assets, self.file, self.counter], layout=_layout(margin="0 0 0 134px"))
        super().__init__(name, W.VBox([self.urls, self.note, row]))

    # typing -----------------------------------------------------------------------------------
    def observe(self, callback: Callback) -> None:
        """Call ``callback()`` after a change: once the typing pauses, at once for code's."""
        self._callbacks.append(callback)

    def _edited(self, _change: Any) -> None:
        self.counter.value = self._count_text()
        if self._by_code:
            self.typing.cancel()
            self._settled()
        else:
            self.typing()  # a keystroke: check when the typing pauses

    def _settled(self) -> None:
        self.check()
        for cb in list(self._callbacks):
            cb()

    def _assign(self, text: str) -> None:
        self._by_code += 1
        try:
            self.urls.value = text
        finally:
            self._by_code -= 1

    def problems(self) -> list[Problem]:
        """What is wrong with the links as typed (local syntax only), one problem per link."""
        out = []
        for url in self.url_list():
            message = link_problem(url)
            if message is not None:
                out.append(Problem(self.name, url, None, message, code="not_a_url"))
        return out

    def check(self) -> list[Problem]:
        """Show the links' problems next to the box (nothing when they are fine)."""
        found = self.problems()
        self.note.value = (
            "<div class='kubeez-link-problem' style='color:#b00020;font-size:90%;line-height:1.35'>"
            + "<br>".join(
                f"<b>{html.escape(self.label)}</b>: {html.escape(p.message)}" for p in found
            )
            + "</div>"
            if found
            else ""
        )
        return found

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
            self._assign("")
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
        self._assign("\n".join(kept))
        return bool(kept)

    def add(self, url: str, kind: str | None = None) -> None:
        """Append one URL (from an asset, an upload or the studio's "use as reference")."""
        if kind:
            self.kinds[url] = kind
        if self.single:
            self._assign(url)
        elif url not in self.url_list():
            self._assign("\n".join([*self.url_list(), url]))

    def set_assets(self, assets: Iterable[tuple[str, str, str | None]]) -> None:
        """Offer these ``(name, url, kind)`` in the "add asset" list (only kinds this field takes)."""
        opts: list[tuple[str, Any]] = [("add an asset…", _UNSET)]  # a None value shows blank
        for name, url, kind in assets:
            if kind is None or not self.limits or kind in self.limits:
                opts.append((name, (url, kind)))
        self.assets.options = opts

    def _on_asset(self, change: dict[str, Any]) -> None:
        if change["new"] in (None, _UNSET):
            return
        url, kind = change["new"]
        self.add(url, kind)
        self.assets.value = _UNSET

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


__all__ = ["FIX", "Debounce", "MediaField", "link_problem"]
