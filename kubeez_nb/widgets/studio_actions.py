"""What a result card's buttons do in the studio (the studio is every card's ``CardHost``).

Each action acts on the studio's own panels and the client (HTTP only in a worker thread):
save as asset, use as reference (into the form the result came from, keeping its model),
caption / separate / extend this (that tab, prefilled), re-run and vary (the same form), and
"Open in form" for a History row (remix). Outputs made this session are remembered by name and
offered in every reference picker beside the assets.
"""

from __future__ import annotations

import html
import re
import threading
from typing import Any

from kubeez_nb.widgets.cards import ResultCard

#: request kinds whose panel a result of that job kind goes back to
_PANEL_OF = {"media": "media", "music": "music", "dialogue": "dialogue", "extend": "extend"}


def _asset_name(job: Any, card: ResultCard) -> str:
    base = f"{getattr(job, 'model', '') or 'output'}-{str(getattr(job, 'id', ''))[-6:]}"
    return re.sub(r"[^a-z0-9_-]+", "-", base.lower()).strip("-")[:60] or "output"


def output_name(job: Any, output: Any) -> str:
    """How a session output is named in the pickers: model, prompt start, kind."""
    body = getattr(job, "request", None) or {}
    words = str(body.get("prompt") or body.get("text") or body.get("title") or "")[:28]
    label = getattr(output, "label", None) or getattr(output, "media_type", None) or "output"
    return f"★ {getattr(job, 'model', '') or 'job'} · {words} · {label}".replace(" ·  ·", " ·")


class StudioActions:
    """Mixed into :class:`~kubeez_nb.widgets.studio_app.Studio` (``panel``, ``select``,
    ``client``, ``_assets`` and ``panels`` come from there)."""

    client: Any
    panels: dict[str, Any]
    _assets: list[tuple[str, str, str | None]]
    _session: list[tuple[str, str, str | None]]

    def panel(self, kind: str) -> Any: ...  # pragma: no cover - the Studio's
    def select(self, kind: str) -> None: ...  # pragma: no cover - the Studio's
    def load_extend_sources(self, *, wait: bool = False) -> None: ...  # pragma: no cover

    # the CardHost protocol ----------------------------------------------------------------------
    def act(self, action: str, card: ResultCard) -> str:
        job, url, kind = card.job, card.url, card.kind
        home = _PANEL_OF.get(str(getattr(job, "kind", "media")), "media")
        if action == "asset":
            return self._save_asset(card)
        if action == "reference":
            p = self.panel(home)
            fields = p.form.media_fields() if p is not None and p.form is not None else []
            takes = [f for f in fields if not f.limits or kind in f.limits]
            if not takes:
                model = p.form.model.id if p is not None and p.form.model else home
                return f"{html.escape(model)} takes no {html.escape(kind)} references"
            takes[0].add(url, kind)
            self.select(home)
            return f"added to the references of {html.escape(p.form.model.id if p.form.model else home)}"
        if action in ("caption", "separate"):
            target = "captions" if action == "caption" else "separation"
            p = self.panel(target)
            if p is None:
                return "the catalog has no model for this today"
            field = p.form.fields.get("media_url")
            if field is None:
                return "this form takes no media"
            field.add(url, kind)
            self.select(target)
            return f"opened {'Captions' if target == 'captions' else 'Separation'} with this file"
        if action == "extend":
            p = self.panel("extend")
            if p is None:
                return "no model can extend clips today"
            self.add_extend_source(job)
            self.select("extend")
            return "opened Extend with this clip"
        if action in ("rerun", "vary"):
            p = self.panel(home)
            if p is None:
                return ""
            self.select(home)
            p.restore(getattr(job, "model", None), dict(getattr(job, "request", None) or {}))
            if action == "vary":
                p.status_html.value = "<i>The same form: change the prompt, then Generate.</i>"
                return "the form holds this request: change the prompt and Generate"
            return "started again" if p.generate() else "the form has it: see its status"
        return ""

    def _save_asset(self, card: ResultCard) -> str:
        name = _asset_name(card.job, card)

        def run() -> None:
            try:
                self.client.add_asset(name, card.url)
            except Exception as err:
                card.status.value = (
                    f"<small style='color:#b00020'>{html.escape(str(err).splitlines()[0])}</small>"
                )
                return
            card.status.value = (
                f"<small class='kubeez-saved'>saved as asset {html.escape(name)}</small>"
            )
            self.refresh_assets()

        threading.Thread(target=run, daemon=True, name="kubeez-save-asset").start()
        return f"saving as {html.escape(name)}…"

    def refresh_assets(self) -> None:
        tab = getattr(self, "assets_tab", None)
        if tab is not None:
            tab.refresh()
        else:
            loader = getattr(self, "_load_assets", None)
            if loader is not None:
                loader()

    # extend sources -----------------------------------------------------------------------------
    def add_extend_source(self, job: Any) -> None:
        """Offer ``job`` in the Extend tab's clip list (first) and pick it."""
        p = self.panels.get("extend")
        if p is None:
            return
        field = p.form.fields.get("source_task_id")
        if field is None:
            return
        ident = str(getattr(job, "id", ""))
        body = getattr(job, "request", None) or {}
        label = (
            f"★ {getattr(job, 'model', '')} · {str(body.get('prompt') or '')[:40]} · {ident[-8:]}"
        )
        options = [(lbl, v) for lbl, v in self.extend_options() if v != ident]
        p.set_choices("source_task_id", [(label, ident), *options])
        field.set(ident)
        p.refresh()

    def extend_options(self) -> list[tuple[str, Any]]:
        p = self.panels.get("extend")
        field = p.form.fields.get("source_task_id") if p is not None else None
        if field is None:
            return []
        w = field._value_widget
        return [(str(lbl), v) for lbl, v in getattr(w, "options", ())]

    # session outputs in the pickers -------------------------------------------------------------
    def remember(self, result: Any) -> None:
        """Offer every output of a finished job in the reference pickers (by name)."""
        from kubeez_nb.contract.wire import media_kind

        for job in getattr(result, "jobs", None) or [result]:
            for o in getattr(job, "outputs", None) or []:
                url = getattr(o, "url", None)
                if url and all(u != url for _, u, _k in self._session):
                    kind = media_kind(url, getattr(o, "media_type", None))
                    self._session.insert(0, (output_name(job, o), str(url), kind))
        self.offer_media()

    def offer_media(self) -> None:
        offered = [*self._session, *self._assets]
        for p in self.panels.values():
            p.set_assets(offered)


__all__ = ["StudioActions", "output_name"]
