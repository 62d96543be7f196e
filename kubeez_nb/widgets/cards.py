"""Result cards: one finished output with the actions that fit its kind.

A card shows the output (``results.output_widget``: bytes over the widget channel) and a row of
actions. Download, Copy URL and Insert code run in the browser (small inline scripts: the file is
fetched through the Jupyter server's ``/files/`` route, never the kernel's loopback URL; the cell
is inserted with the notebook's own "insert below" command). The other actions call back into the
studio (``CardHost``): save as asset, use as reference (current form, model kept), caption /
separate / extend this (the right tab, prefilled), re-run, vary.

Which actions fit (``actions_for``, shared with displayed jobs in ``kubeez_nb.actions``, which also
holds the browser-side HTML and scripts): captions take audio and video, separation audio, extend a
finished clip of an extendable model; the others every output with a URL.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any, Protocol

import ipywidgets as W

from kubeez_nb.actions import ACTIONS as _SHARED
from kubeez_nb.actions import (  # re-exported: the studio imports them from here
    actions_for,
    cell_code,
    copy_html,
    download_html,
    insert_html,
    notebook_relative,
    row_html,
)
from kubeez_nb.widgets.results import _kind, output_widget

#: What a studio card's kernel-side buttons do differently from a displayed job's (they open
#: the studio's own tabs instead of inserting code).
_STUDIO_TIPS = {
    "reference": "add it to the current form's references",
    "caption": "open Captions with this file",
    "separate": "open Separation with this file",
    "extend": "open Extend with this clip",
    "vary": "the same form: change the prompt and generate",
}
#: Every action a card can offer, in display order: (name, button label, tooltip).
ACTIONS: tuple[tuple[str, str, str], ...] = tuple(
    (name, label, _STUDIO_TIPS.get(name, tip)) for name, label, tip in _SHARED
)
_HOST_ACTIONS = ("asset", "reference", "caption", "separate", "extend", "rerun", "vary")


class CardHost(Protocol):
    """What a card calls back (the studio). ``act`` returns a short status line."""

    def act(self, action: str, card: ResultCard) -> str: ...


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
                parts.append(download_html(output, widget=True))
            elif name == "copy":
                parts.append(copy_html(self.url))
            elif name == "code" and code is not None:
                parts.append(insert_html(cell_code(code)))
            else:
                b = W.Button(description=label, tooltip=tip, layout=W.Layout(width="auto"))
                b.add_class(f"kubeez-act-{name}")
                b.on_click(lambda _b, n=name: self.act(n))
                self.buttons[name] = b
        browser = W.HTML(row_html(parts) if parts else "")
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
