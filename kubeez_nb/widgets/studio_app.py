"""``kz.studio()``: one app with a tab per job kind; ``kz.panel(model_id)``: one model's form.

Only the first tab is built eagerly; the others are built the first time they are opened, so
the studio appears at once even on a large catalog. The balance line is always visible and
refreshes (in the background) after every job of any tab.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as W

from kubeez_nb.contract.catalog import Catalog, Model
from kubeez_nb.widgets.generate_panel import Panel
from kubeez_nb.widgets.history_tab import HistoryTab
from kubeez_nb.widgets.library import AssetsTab
from kubeez_nb.widgets.live import QueueStrip
from kubeez_nb.widgets.login import LoginBox, client_from_env, demo_banner
from kubeez_nb.widgets.studio_actions import StudioActions
from kubeez_nb.widgets.trace import LIVE_CLASS, Traced

#: (tab title, request kind or tab name), in display order.
TABS: tuple[tuple[str, str], ...] = (
    ("Image & video", "media"),
    ("Extend", "extend"),
    ("Music", "music"),
    ("Voice", "dialogue"),
    ("Captions", "captions"),
    ("Separation", "separation"),
    ("Ad creatives", "ad-copy"),
    ("Assets", "assets"),
    ("History", "history"),
)
_PANEL_KINDS = ("media", "extend", "music", "dialogue", "captions", "separation", "ad-copy")
#: Tabs whose forms take reference media (targets of an asset's "Use").
_REFERENCE_TABS = ("media", "music", "captions", "separation", "ad-copy")


#: The studio's layout rules: tabs wrap onto more rows instead of overflowing, nothing is wider
#: than the notebook column, every field (toggle buttons too) has its label in one 130 px column.
STUDIO_CSS = """
.kubeez-studio {max-width: 100%; box-sizing: border-box;}
.kubeez-studio .lm-TabBar-tab, .kubeez-studio .p-TabBar-tab
  {flex: 0 0 auto !important; min-width: fit-content !important;}
.kubeez-studio .widget-tab > .lm-TabBar, .kubeez-studio .widget-tab > .p-TabBar
  {height: auto !important; max-height: none !important; overflow: visible !important;}
.kubeez-studio .lm-TabBar-content, .kubeez-studio .p-TabBar-content
  {flex-wrap: wrap !important; height: auto !important;}
.kubeez-studio .widget-box, .kubeez-studio .widget-inline-hbox, .kubeez-studio .widget-tab,
.kubeez-studio .widget-tab-contents {min-width: 0; max-width: 100%; box-sizing: border-box;}
.kubeez-studio .widget-dropdown > select, .kubeez-studio .widget-text > input {min-width: 0;}
.kubeez-studio .widget-toggle-buttons
  {display: flex !important; flex-direction: row !important; flex-wrap: wrap; align-items: baseline;}
.kubeez-studio .widget-toggle-buttons > .widget-label
  {width: 130px; min-width: 130px; text-align: right; margin-right: 4px;}
.kubeez-studio .widget-toggle-buttons .widget-toggle-button {margin-bottom: 2px;}
.kubeez-studio .kubeez-card {max-width: 100%;}
.kubeez-studio .kubeez-card img, .kubeez-studio .kubeez-card video {max-width: 100%; height: auto;}
"""


class BalanceBar(W.HBox):
    """``Balance: N credits`` with a refresh button; refreshes in the background."""

    def __init__(self, client: Any, **kw: Any) -> None:
        self.client = client
        self.text = W.HTML("<span class='kubeez-balance'>Balance: …</span>")
        button = W.Button(
            icon="refresh", tooltip="refresh the balance", layout=W.Layout(width="36px")
        )
        button.on_click(lambda _b: self.refresh())
        self.updated = threading.Event()
        super().__init__([self.text, button], layout=W.Layout(align_items="center"), **kw)

    def refresh(self, *, wait: bool = False) -> None:
        self.updated.clear()
        t = threading.Thread(target=self._load, daemon=True, name="kubeez-balance")
        t.start()
        if wait:
            t.join()

    def _load(self) -> None:
        try:
            bal = self.client.balance()
            credits = float(bal.credits)
            link = getattr(bal, "purchase_url", None)
            extra = f" · <a href='{html.escape(link)}' target='_blank'>top up</a>" if link else ""
            self.text.value = (
                f"<span class='kubeez-balance'>Balance: <b>{credits:,.4g}</b> credits{extra}</span>"
                if credits < 1e4
                else f"<span class='kubeez-balance'>Balance: <b>{credits:,.0f}</b> credits{extra}</span>"
            )
        except Exception as err:
            first = html.escape(str(err).split("\n")[0])
            self.text.value = f"<span class='kubeez-balance' style='color:#b00020'>Balance unavailable: {first}</span>"
        self.updated.set()


def _models_for(catalog: Catalog, kind: str) -> list[Model]:
    """The catalog's models of one route in picker order: current ones before replaced ids and
    before those that need input media; for the other routes, those of the route's most common
    generation type first (music: text-to-music before lyrics / add-vocals); else catalog order."""
    models = catalog.for_endpoint(kind)
    if kind == "media":  # catalog order: the live catalog lists what it wants first
        return sorted(models, key=lambda m: (m.retired, m.needs_input_media))
    counts: dict[str, int] = {}
    for m in models:
        for g in m.generation_types:
            counts[g] = counts.get(g, 0) + 1
    main = max(counts, key=lambda g: counts[g]) if counts else None
    return sorted(
        models, key=lambda m: (m.retired, m.needs_input_media, main not in m.generation_types)
    )


class Studio(Traced, StudioActions, W.VBox):
    """The studio app. ``studio.panel(kind)`` is the (lazily built) Panel of a job kind.

    Displayed, it also leaves a static trace of what it made in its cell (``trace.py``)."""

    trace_title = "kubeez studio"

    def __init__(self, client: Any, **kw: Any) -> None:
        self.client = client
        self.catalog: Catalog = client.catalog()
        self.balance = BalanceBar(client)
        self.panels: dict[str, Panel] = {}
        self.assets_tab: AssetsTab | None = None
        self.history_tab: HistoryTab | None = None
        self._assets: list[tuple[str, str, str | None]] = []
        self._session: list[tuple[str, str, str | None]] = []  # outputs made this session
        self.queue = QueueStrip()
        self._slots = [W.VBox() for _ in TABS]
        self.tabs = W.Tab(children=self._slots, titles=[t for t, _ in TABS])
        self._built: set[int] = set()
        self.tabs.observe(lambda ch: self.open_tab(ch["new"]), "selected_index")
        header = W.HBox(
            [demo_banner(client), self.balance],
            layout=W.Layout(
                justify_content="space-between", align_items="center", flex_flow="row wrap"
            ),
        )
        # ipywidgets gives every tab a fixed width; let this studio's tabs fit their titles
        style = W.HTML(
            f"<style>{STUDIO_CSS}</style>",
            layout=W.Layout(display="none"),
        )
        super().__init__([style, header, self.queue, self.tabs], **kw)
        self.add_class("kubeez-studio")
        self.add_class(LIVE_CLASS)
        self.open_tab(0)
        self.balance.refresh()
        threading.Thread(target=self._load_assets, daemon=True, name="kubeez-assets").start()

    def __repr__(self) -> str:
        return f"<kubeez Studio: {len(self.catalog)} models, tabs built: {sorted(self._built)}>"

    def close_all(self) -> None:
        """Close the studio and every widget it made, cached forms included (frees their comms)."""
        for p in self.panels.values():
            for form in p._forms.values():
                close_tree(form.widget)
        close_tree(self)

    # tabs ---------------------------------------------------------------------------------------
    def open_tab(self, index: int | None) -> None:
        """Build tab ``index`` if it is not built yet."""
        if index is None or index in self._built or not 0 <= index < len(TABS):
            return
        self._built.add(index)
        kind = TABS[index][1]
        self._slots[index].children = [self._build(kind)]

    def _build(self, kind: str) -> W.Widget:
        if kind == "assets":
            targets = [(t, k) for t, k in TABS if k in _REFERENCE_TABS]
            self.assets_tab = AssetsTab(
                self.client,
                targets=targets,
                on_use=self.use_reference,
                on_change=self._assets_changed,
            )
            self.assets_tab.refresh()
            return self.assets_tab
        if kind == "history":
            self.history_tab = HistoryTab(
                self.client, self.catalog, on_open=self.open_in_form, host=self
            )
            self.history_tab.refresh()
            return self.history_tab
        return self.panel(kind) or W.HTML("<i>The catalog has no model for this route today.</i>")

    def panel(self, kind: str) -> Panel | None:
        """The Panel of one job kind (built on first use; None when the catalog has no model)."""
        if kind in self.panels:
            return self.panels[kind]
        if kind not in _PANEL_KINDS:
            raise ValueError(f"no panel for {kind!r}; one of {', '.join(_PANEL_KINDS)}")
        models: list[Model | None]
        if kind == "extend":
            extendable = self.catalog.extendable
            if not extendable:
                return None
            models = [None]
        else:
            models = list(_models_for(self.catalog, kind))
            if not models:
                return None
        p = Panel(
            self.client,
            kind,
            models,
            filters=kind == "media",
            catalog=self.catalog,
            on_done=self._job_done,
            host=self,
        )
        p.on_progress = self._progress
        if self._assets or self._session:
            p.set_assets([*self._session, *self._assets])
        self.panels[kind] = p
        if kind == "extend":
            self.load_extend_sources()
        return p

    def select(self, kind: str) -> None:
        """Show the tab of ``kind`` (built if needed)."""
        for i, (_, k) in enumerate(TABS):
            if k == kind:
                self.open_tab(i)
                self.tabs.selected_index = i
                return

    # cross-tab plumbing ---------------------------------------------------------------------------
    def _progress(self, progress: Any) -> None:
        if progress not in self.queue._items.values():
            self.queue.track(progress)
        else:
            self.queue.redraw(progress)

    def open_in_form(self, kind: str, model_id: str | None, body: dict[str, Any]) -> bool:
        """Show ``kind``'s tab with ``model_id``'s form holding ``body`` (History's remix)."""
        p = self.panel(kind)
        if p is None:
            return False
        if kind == "extend" and body.get("source_task_id"):
            self.add_extend_source(
                type("_Clip", (), {"id": body["source_task_id"], "model": "", "request": body})
            )
        p.restore(model_id, body)
        self.select(kind)
        return True

    def _job_done(self, result: Any) -> None:
        if result is not None:
            self.remember(result)
            self.trace_add(result)
        self.balance.refresh()
        if self.history_tab is not None:
            self.history_tab.refresh()
        if "extend" in self.panels:
            self.load_extend_sources()

    def load_extend_sources(self, *, wait: bool = False) -> None:
        """Fill the Extend tab with this user's completed clips of extendable models."""

        def run() -> None:
            extendable = {m.id for m in self.catalog.extendable}
            try:
                rows = self.client.generations(status="completed", max_pages=2)
            except Exception:
                rows = []
            options = []
            for r in rows:
                if r.get("model") in extendable and r.get("id"):
                    when = str(r.get("created_at") or "")[:16].replace("T", " ")
                    prompt = str(r.get("prompt") or "")[:40]
                    options.append((f"{r['model']} · {when} · {prompt}", str(r["id"])))
            p = self.panels.get("extend")
            if p is not None:
                if not options and not self.extend_options():
                    p.status_html.value = (
                        "<i>No completed Veo 3.1 clip yet: make one in Image &amp; video "
                        "(a veo3-1 model), then come back.</i>"
                    )
                mine = [o for o in self.extend_options() if o[0].startswith("★")]
                known = {v for _, v in options}
                options = [*(o for o in mine if o[1] not in known), *options]
                try:
                    p.set_choices("source_task_id", options)
                except Exception as err:  # a thread's exception would vanish: show it instead
                    p.status_html.value = (
                        f"<b>Could not list your clips:</b> {html.escape(str(err))}"
                    )

        t = threading.Thread(target=run, daemon=True, name="kubeez-extend-sources")
        t.start()
        if wait:
            t.join()

    def _load_assets(self) -> None:
        try:  # the History tab's table needs pandas: import it now, off the kernel's thread
            import pandas  # noqa: F401
        except Exception:  # pragma: no cover - pandas is a dependency of the extras
            pass
        try:
            assets = list(self.client.assets())
        except Exception:
            return  # the Assets tab shows the error when opened
        self._assets_changed(assets)

    def _assets_changed(self, assets: list[Any]) -> None:
        from kubeez_nb.contract.wire import media_kind

        self._assets = [
            (a.name, a.url, a.kind or media_kind(a.url, a.mime_type)) for a in assets if a.url
        ]
        self.offer_media()

    def use_reference(self, url: str, kind: str | None, target: str = "media") -> bool:
        """Put ``url`` into the reference field of the ``target`` tab and show that tab."""
        p = self.panel(target)
        if p is None:
            return False
        added = p.add_reference(url, kind)
        self.select(target)  # added, or the tab's status line says why not
        return added


def close_tree(widget: W.Widget) -> None:
    """Close ``widget`` and everything below it (children, layouts, styles)."""
    for child in list(getattr(widget, "children", ()) or ()):
        close_tree(child)
    for part in ("layout", "style"):
        sub = getattr(widget, part, None)
        if isinstance(sub, W.Widget):
            sub.close()
    widget.close()


class TracedLogin(Traced, LoginBox):
    """The login step of an app, leaving the app's trace: once logged in, the app's results
    redraw the trace this box published."""

    def _ready(self, client: Any, note: str) -> None:
        super()._ready(client, note)
        if isinstance(self.app, Traced):
            self.app.adopt_traces(self)


def _with_login(build: Any, client: Any, title: str, *, media: bool = True) -> W.Widget:
    """``build(client)`` with the given client, the environment's, or after a login step that
    leaves a trace named ``title`` too (``login.with_client`` with a traced login)."""
    if client is None:
        client = client_from_env()
    if client is not None:
        return build(client)
    box = TracedLogin(build)
    box.add_class(LIVE_CLASS)
    box.trace_title, box.trace_media = title, media
    return box


def studio(client: Any = None) -> W.Widget:
    """The Kubeez studio: a tab per job kind, built from the live catalog.

    ``client``: a :class:`~kubeez_nb.Client`; default: ``kz.connect()`` when demo mode or
    ``KUBEEZ_API_KEY`` is set, else a login step that asks for the key once.
    """
    return _with_login(Studio, client, Studio.trace_title)


def panel(model_id: str, client: Any = None) -> W.Widget:
    """One model's generate panel (the studio's form for that model, on its own)."""

    def build(c: Any) -> W.Widget:
        catalog = c.catalog()
        model = catalog[model_id]  # KeyError names close ids
        kind = model.endpoint
        p = Panel(c, kind, [model], catalog=catalog)
        p.trace_title = f"kubeez panel · {model.id}"
        # links, not players: the browser tests count a panel cell's media as the live ones
        p.trace_media = False
        p.add_class(LIVE_CLASS)
        p.on_done(p.trace_add)
        banner = demo_banner(c)
        if banner.value:
            p.children = (banner, *p.children)
        return p

    return _with_login(build, client, f"kubeez panel · {model_id}", media=False)


__all__ = ["BalanceBar", "Studio", "close_tree", "panel", "studio"]
