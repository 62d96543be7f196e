"""The studio's Assets and History tabs (lists of server-side things, loaded in the background).

Assets: thumbnails, add by URL, upload a local file, rename, delete (asks twice), and "use" to
put an asset into another tab's reference field. Every request runs in a worker thread through the client.
"""

from __future__ import annotations

import html
import io
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as W

from kubeez_nb.contract.htmltable import size
from kubeez_nb.contract.wire import media_kind

#: Largest asset whose thumbnail is fetched and shown.
THUMB_MAX_BYTES = 2 * 1024 * 1024
_RED = "color:#b00020"


def _background(target: Callable[[], None]) -> threading.Thread:
    t = threading.Thread(target=target, daemon=True, name="kubeez-widget-io")
    t.start()
    return t


def _err(err: BaseException) -> str:
    text = str(err).split("\n→ ")
    hint = f"<br>→ {html.escape(text[1])}" if len(text) > 1 else ""
    return f"<span style='{_RED}'>{html.escape(text[0])}{hint}</span>"


class _Loading(W.VBox):
    """A tab whose content loads in the background; ``loaded`` is set when a load ends."""

    loaded: threading.Event

    def _load(self) -> None:
        raise NotImplementedError

    def refresh(self, *, wait: bool = False) -> None:
        """Reload in the background (``wait``: block, for scripts and tests)."""
        self.loaded.clear()
        t = _background(self._load)
        if wait:
            t.join()


class AssetsTab(_Loading):
    """The Asset Library: list, add by URL, upload, rename, delete, use as a reference.

    ``on_use(url, kind, target)`` puts an asset into the ``target`` tab; ``on_change(assets)``
    tells the studio the list changed (reference fields offer the assets).
    """

    def __init__(
        self,
        client: Any,
        *,
        targets: Sequence[tuple[str, str]] = (),
        on_use: Callable[[str, str | None, str], Any] | None = None,
        on_change: Callable[[list[Any]], None] | None = None,
        **kw: Any,
    ) -> None:
        self.client = client
        self.on_use = on_use
        self.on_change = on_change
        self.assets: list[Any] = []
        self._thumbs: dict[str, W.Box] = {}  # asset id -> its thumbnail slot
        self.loaded = threading.Event()
        self.status = W.HTML()
        self.new_name = W.Text(placeholder="name (a-z, 0-9, _ -)", layout=W.Layout(width="180px"))
        self.new_url = W.Text(placeholder="https://… public URL", layout=W.Layout(width="320px"))
        add = W.Button(description="Add by URL", icon="plus")
        add.on_click(lambda _b: self.add_url(self.new_name.value, self.new_url.value))
        self.file = W.FileUpload(accept="image/*,video/*,audio/*", multiple=False)
        self.file.observe(self._on_file, "value")
        self.target = W.Dropdown(
            options=list(targets) or [("Image & video", "media")],
            description="Use in",
            layout=W.Layout(width="260px"),
        )
        refresh = W.Button(description="Refresh", icon="refresh")
        refresh.on_click(lambda _b: self.refresh())
        self.rows = W.VBox()
        super().__init__(
            [
                W.HBox([self.new_name, self.new_url, add]),
                W.HBox([W.HTML("or upload a local file (named as above):"), self.file]),
                W.HBox([self.target, refresh]),
                self.status,
                self.rows,
            ],
            **kw,
        )

    # loading --------------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            self.assets = list(self.client.assets())
        except Exception as err:
            self.status.value = _err(err)
            self.loaded.set()
            return
        self.rows.children = [self._row(a) for a in self.assets] or [
            W.HTML("<i>No assets yet: add one by URL or upload a file.</i>")
        ]
        self.status.value = f"<small>{len(self.assets)} asset(s)</small>"
        self.loaded.set()
        if self.on_change:
            self.on_change(self.assets)
        for a in self.assets:  # thumbnails last: the list is usable before they arrive
            self._thumbnail(a)

    def _row(self, asset: Any) -> W.HBox:
        kind = asset.kind or media_kind(asset.url, asset.mime_type) or "file"
        thumb = W.Box(layout=W.Layout(width="64px", height="64px"))
        self._thumbs[asset.id] = thumb
        name = W.Text(value=asset.name, layout=W.Layout(width="180px"))
        rename = W.Button(description="Rename", layout=W.Layout(width="80px"))
        rename.on_click(lambda _b: self.rename(asset, name.value))
        use = W.Button(description="Use", icon="share", layout=W.Layout(width="70px"))
        use.on_click(lambda _b: self.use(asset))
        delete = W.Button(description="Delete", icon="trash", layout=W.Layout(width="90px"))
        delete.on_click(lambda b: self.delete(asset, b))
        info = W.HTML(f"<small>{html.escape(kind)} · {size(asset.size_bytes)}</small>")
        return W.HBox(
            [thumb, name, rename, info, use, delete], layout=W.Layout(align_items="center")
        )

    def _thumbnail(self, asset: Any) -> None:
        kind = asset.kind or media_kind(asset.url, asset.mime_type)
        slot = self._thumbs.get(asset.id)
        if kind != "image" or not asset.url or slot is None:
            return
        if isinstance(asset.size_bytes, int) and asset.size_bytes > THUMB_MAX_BYTES:
            return
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = self.client.download(asset.url, Path(tmp) / "thumb")
                data = Path(path).read_bytes()
        except Exception:  # a missing thumbnail is cosmetic
            return
        fmt = (asset.mime_type or "image/png").split("/")[-1]
        slot.children = [
            W.Image(value=data, format=fmt, layout=W.Layout(max_width="64px", max_height="64px"))
        ]

    # actions --------------------------------------------------------------------------------
    def add_url(self, name: str, url: str, *, wait: bool = False) -> None:
        """Save a public URL as a named asset."""
        name, url = name.strip(), url.strip()
        if not name or not url:
            self.status.value = f"<span style='{_RED}'>Give a name and a URL.</span>"
            return

        def run() -> None:
            try:
                self.client.add_asset(name, url)
            except Exception as err:
                self.status.value = _err(err)
                return
            self.new_url.value = ""
            self.new_name.value = ""
            self._load()

        self.status.value = "<i>Adding…</i>"
        t = _background(run)
        if wait:
            t.join()

    def _on_file(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        data, filename = bytes(f["content"]), str(f["name"])
        self.file.value = ()  # the bytes must not stay in widget state
        name = self.new_name.value.strip() or _name_from(filename)
        self.upload(data, filename, name)

    def upload(self, data: bytes, filename: str, name: str, *, wait: bool = False) -> None:
        """Upload local bytes and keep them as a named asset."""

        def run() -> None:
            try:
                url = self.client.upload(io.BytesIO(data), filename=filename)[0]
                self.client.add_asset(name, url)
            except Exception as err:
                self.status.value = _err(err)
                return
            self.new_name.value = ""
            self._load()

        self.status.value = f"<i>Uploading {html.escape(filename)}…</i>"
        t = _background(run)
        if wait:
            t.join()

    def rename(self, asset: Any, name: str, *, wait: bool = False) -> None:
        def run() -> None:
            try:
                self.client.rename_asset(asset.id, name.strip())
            except Exception as err:
                self.status.value = _err(err)
                return
            self._load()

        t = _background(run)
        if wait:
            t.join()

    def delete(self, asset: Any, button: W.Button | None = None, *, wait: bool = False) -> None:
        """Delete (permanent): the first click asks, the second deletes."""
        if button is not None and button.description != "Really delete?":
            button.description = "Really delete?"
            button.button_style = "danger"
            return

        def run() -> None:
            try:
                self.client.delete_asset(asset.id)
            except Exception as err:
                self.status.value = _err(err)
                return
            self._load()

        t = _background(run)
        if wait:
            t.join()

    def use(self, asset: Any) -> None:
        if self.on_use and asset.url:
            kind = asset.kind or media_kind(asset.url, asset.mime_type)
            self.on_use(asset.url, kind, self.target.value)


def _name_from(filename: str) -> str:
    import re

    stem = Path(filename).stem.lower()
    return re.sub(r"[^a-z0-9_-]+", "-", stem).strip("-")[:64] or "upload"


__all__ = ["AssetsTab"]
