"""The studio's History tab: a grid of recent jobs (thumbnail, model, cost, date), filters, paging.

Rows come from ``client.history(max_pages=n, limit=PAGE)`` (the server's ``/v1/generations``
merged with the local ledger: params, estimates, cached files), one page of :data:`PAGE` jobs at a
time ("More" reads the next), so a 5,000-job history shows its first tiles at once. Filters:
model and status go to the server, type and date are applied to the rows read. A tile shows a
placeholder at once; image thumbnails arrive from a small worker pool (the cached file when there
is one, else a download), as bytes over the widget channel (never a loopback URL). Clicking a
tile re-attaches to the job and shows its result cards; "Open in form" restores the model and
every parameter of that job in its tab (remix).
"""

from __future__ import annotations

import html
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import ipywidgets as W

from kubeez_nb.contract.catalog import Catalog
from kubeez_nb.widgets.cards import cards_for
from kubeez_nb.widgets.results import result_widgets

#: Jobs per page.
PAGE = 50
#: Size of a tile, in pixels.
TILE = 128
ANY = "any"
_ICON = {"video": "▶ video", "audio": "♪ audio", "image": "image"}
_DATES = (("any date", ANY), ("today", "1"), ("last 7 days", "7"), ("last 30 days", "30"))


def _value(row: dict[str, Any], name: str) -> Any:
    v = row.get(name)
    try:
        import math

        if isinstance(v, float) and math.isnan(v):
            return None
    except Exception:  # pragma: no cover
        pass
    return v


class HistoryTab(W.VBox):
    """Recent jobs as tiles; ``rows`` (dicts), ``tiles``; ``loaded`` / ``viewed`` / ``thumbs_done``."""

    def __init__(
        self,
        client: Any,
        catalog: Catalog | None = None,
        *,
        on_open: Callable[[str, str | None, dict[str, Any]], Any] | None = None,
        host: Any = None,
        **kw: Any,
    ) -> None:
        self.client = client
        self.catalog = catalog
        self.on_open = on_open
        self.host = host
        self.rows: list[dict[str, Any]] = []
        self.pages = 1
        self.loaded = threading.Event()
        self.viewed = threading.Event()
        self.thumbs_done = threading.Event()
        self.tiles: list[W.Widget] = []
        self._pool = ThreadPoolExecutor(4, thread_name_prefix="kubeez-thumbs")
        self._generation = 0
        models = sorted({m.id for m in catalog.values()}) if catalog is not None else []
        types = sorted({m.model_type for m in catalog.values() if m.model_type}) if catalog else []
        self.model_filter = W.Dropdown(
            options=[("any model", ANY), *((m, m) for m in models)], value=ANY, description="Model"
        )
        self.type_filter = W.Dropdown(
            options=[("any type", ANY), *((t, t) for t in types)], value=ANY, description="Type"
        )
        self.status_filter = W.Dropdown(
            options=[("any status", ANY), *((s, s) for s in ("completed", "failed", "processing"))],
            value=ANY,
            description="Status",
        )
        self.date_filter = W.Dropdown(options=list(_DATES), value=ANY, description="Date")
        for w in (self.model_filter, self.type_filter, self.status_filter, self.date_filter):
            w.layout = W.Layout(width="220px")
            w.style = {"description_width": "60px"}
            w.observe(lambda _ch: self.refresh(), "value")
        refresh = W.Button(description="Refresh", icon="refresh", layout=W.Layout(width="auto"))
        refresh.on_click(lambda _b: self.refresh())
        self.more = W.Button(description="More", layout=W.Layout(width="auto", display="none"))
        self.more.on_click(lambda _b: self.next_page())
        self.more.add_class("kubeez-history-more")
        self.status = W.HTML()
        self.grid = W.HBox(layout=W.Layout(flex_flow="row wrap"))
        self.grid.add_class("kubeez-history-grid")
        self.view = W.VBox()
        self.view.add_class("kubeez-history-view")
        filters = W.HBox(
            [self.model_filter, self.type_filter, self.status_filter, self.date_filter, refresh],
            layout=W.Layout(flex_flow="row wrap"),
        )
        super().__init__([filters, self.status, self.view, self.grid, self.more], **kw)
        self.add_class("kubeez-history")

    # loading ------------------------------------------------------------------------------------
    def refresh(self, *, wait: bool = False) -> None:
        """Reload from the first page (``wait``: block, for scripts and tests)."""
        self.pages = 1
        self._start(wait)

    def next_page(self, *, wait: bool = False) -> None:
        self.pages += 1
        self._start(wait)

    def _start(self, wait: bool) -> None:
        self.loaded.clear()
        self.thumbs_done.clear()
        self._generation += 1
        self.status.value = "<i>Loading…</i>"
        t = threading.Thread(target=self._load, args=(self._generation,), daemon=True)
        t.start()
        if wait:
            t.join()

    def _server_filters(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.model_filter.value != ANY:
            out["model"] = self.model_filter.value
        if self.status_filter.value != ANY:
            out["status"] = self.status_filter.value
        return out

    def _load(self, generation: int) -> None:
        try:
            frame = self.client.history(max_pages=self.pages, limit=PAGE, **self._server_filters())
            rows = [dict(r) for r in frame.to_dict("records")]
        except Exception as err:
            self.status.value = f"<span style='color:#b00020'>{html.escape(str(err))}</span>"
            self.loaded.set()
            self.thumbs_done.set()
            return
        if generation != self._generation:
            return
        read = len(rows)
        rows = [r for r in rows if self._keep(r)]
        self.rows = rows
        self.tiles = [self._tile(i, r) for i, r in enumerate(rows)]
        self.grid.children = tuple(self.tiles)
        self.more.layout.display = None if read >= PAGE * self.pages else "none"
        self.status.value = (
            f"<small>{len(rows)} job(s) shown; click one to view it</small>"
            if rows
            else "<i>No job matches these filters.</i>"
        )
        self.loaded.set()
        todo = [(i, r) for i, r in enumerate(rows) if self._image_url(r)]
        if not todo:
            self.thumbs_done.set()
            return
        left = [len(todo)]
        lock = threading.Lock()

        def one(i: int, r: dict[str, Any]) -> None:
            try:
                if generation == self._generation:
                    self._thumbnail(i, r)
            finally:
                with lock:
                    left[0] -= 1
                    if left[0] == 0 and generation == self._generation:
                        self.thumbs_done.set()

        for i, r in todo:
            self._pool.submit(one, i, r)

    def _keep(self, row: dict[str, Any]) -> bool:
        t = self.type_filter.value
        if t != ANY and _value(row, "model_type") != t:
            return False
        days = self.date_filter.value
        if days != ANY:
            import pandas as pd

            when = _value(row, "created_at")
            if when is None or pd.isna(when):
                return False
            cutoff = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=int(days))
            if when < cutoff:
                return False
        return True

    # tiles --------------------------------------------------------------------------------------
    @staticmethod
    def _image_url(row: dict[str, Any]) -> str | None:
        if _value(row, "media_type") != "image":
            return None
        url = _value(row, "first_url")
        return str(url) if url else None

    def _tile(self, index: int, row: dict[str, Any]) -> W.VBox:
        kind = str(_value(row, "media_type") or "file")
        thumb = W.Button(
            description=_ICON.get(kind, "·"),
            tooltip="view this job",
            layout=W.Layout(width=f"{TILE}px", height=f"{TILE * 3 // 4}px"),
        )
        thumb.add_class("kubeez-history-thumb")
        thumb.on_click(lambda _b: self.show(row))
        cost = _value(row, "credits")
        when = _value(row, "created_at")
        when_s = str(when)[:16].replace("T", " ") if when is not None else ""
        status = str(_value(row, "status") or "")
        color = "#b00020" if status == "failed" else "#555"
        info = W.HTML(
            f"<div style='width:{TILE}px;font-size:11px;line-height:1.25;overflow:hidden'>"
            f"<b title='{html.escape(str(row.get('model')))}'>{html.escape(str(row.get('model') or '?'))}</b><br>"
            + (f"{cost:g} cr · " if isinstance(cost, (int, float)) else "")
            + f"<span style='color:{color}'>{html.escape(status)}</span><br>"
            f"<span style='color:#777'>{html.escape(when_s)}</span><br>"
            f"<span style='color:#333'>{html.escape(str(_value(row, 'prompt') or '')[:40])}</span>"
            "</div>"
        )
        view = W.Button(description="View", layout=W.Layout(width=f"{TILE}px"), tooltip="view it")
        view.add_class("kubeez-history-view-button")
        view.on_click(lambda _b: self.show(row))
        open_b = W.Button(
            description="Open in form", layout=W.Layout(width=f"{TILE}px"), tooltip="remix"
        )
        open_b.add_class("kubeez-history-open")
        open_b.on_click(lambda _b: self.open_in_form(row))
        buttons = W.VBox([view, open_b], layout=W.Layout(width=f"{TILE}px"))
        box = W.VBox([thumb, info, buttons], layout=W.Layout(margin="0 6px 8px 0"))
        box.add_class("kubeez-history-tile")
        box.add_class(f"kubeez-history-{kind}")
        return box

    def _thumbnail(self, index: int, row: dict[str, Any]) -> None:
        paths = _value(row, "local_paths") or []
        data: bytes | None = None
        for p in paths:
            if Path(str(p)).is_file():
                data = Path(str(p)).read_bytes()
                break
        if data is None:
            url = self._image_url(row)
            if not url:
                return
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    data = Path(self.client.download(url, Path(tmp) / "thumb")).read_bytes()
            except Exception:  # a missing thumbnail is cosmetic: the placeholder stays
                return
        if index >= len(self.tiles):
            return
        img = W.Image(value=data, layout=W.Layout(width=f"{TILE}px", height=f"{TILE * 3 // 4}px"))
        img.layout.object_fit = "cover"
        img.add_class("kubeez-history-img")
        tile = self.tiles[index]
        thumb = tile.children[0]
        if isinstance(thumb, W.Button):
            tile.children = (img, *tile.children[1:])
            thumb.close()

    # actions ------------------------------------------------------------------------------------
    def kind_of(self, row: dict[str, Any]) -> str:
        model = self.catalog.get(str(row.get("model"))) if self.catalog is not None else None
        return model.endpoint if model is not None else "media"

    def params_of(self, row: dict[str, Any]) -> dict[str, Any]:
        """The parameters of a job: the ledger's request, else what the server row says."""
        params = _value(row, "params") or {}
        out = dict(params) if isinstance(params, dict) else {}
        if not out and _value(row, "prompt"):
            out["prompt"] = row["prompt"]
        if not out.get("generation_type") and _value(row, "generation_type"):
            out["generation_type"] = row["generation_type"]
        return out

    def open_in_form(self, row: dict[str, Any]) -> bool:
        """ "Open in form": the job's tab, its model, every parameter (remix)."""
        if self.on_open is None:
            return False
        model = str(row.get("model") or "") or None
        return bool(self.on_open(self.kind_of(row), model, self.params_of(row)))

    def show(self, row: dict[str, Any], *, wait: bool = False) -> None:
        """Re-attach to a job of the grid and show its result cards above the grid."""
        self.viewed.clear()

        def run() -> None:
            try:
                kind = self.kind_of(row)
                job_kind = kind if kind in ("music", "separation", "dialogue") else "media"
                job = self.client.job(str(row["id"]), job_kind)
                cache = getattr(self.client, "cache", None)
                if cache is not None and job.ok:
                    cache.fetch(job)
                if not job.request:
                    job.request = self.params_of(row)
                cards = cards_for(job, host=self.host) if job.outputs else []
                self.view.children = tuple(cards) or tuple(result_widgets(job))
            except Exception as err:
                self.view.children = (
                    W.HTML(f"<span style='color:#b00020'>{html.escape(str(err))}</span>"),
                )
            self.viewed.set()

        self.view.children = (W.HTML("<i>Loading…</i>"),)
        t = threading.Thread(target=run, daemon=True, name="kubeez-history-view")
        t.start()
        if wait:
            t.join()


__all__ = ["PAGE", "HistoryTab"]
