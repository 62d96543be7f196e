"""Live progress in the studio: a ticking elapsed time, a bar with an ETA, a queue strip.

``JobProgress`` belongs to one panel: ``start(model)`` shows "submitting · 0 s" and starts a
ticker thread that redraws twice a second (elapsed time, the bar, "≈ N s left"); the ETA is the
catalog's ``estimated_time_seconds`` for the model until the job reports a status, then the bar
follows the observed status (queued, processing, then done). ``finish(ok)`` stops the ticker and
leaves a clear end state (a full green bar "done in N s", or a red one "failed after N s").
``QueueStrip`` is the studio's row of every job in flight (several tabs can run at once).
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from kubeez_nb.progress import fraction

#: Seconds between redraws while a job runs.
TICK_S = 0.5


def eta_of(model: Any) -> float | None:
    """The catalog's estimated time of a model, in seconds (None when it gives none)."""
    eta = getattr(model, "estimated_time_seconds", None)
    return float(eta) if isinstance(eta, (int, float)) and eta > 0 else None


def _clock(seconds: float, tenths: bool = False) -> str:
    s = int(seconds)
    if s >= 60:
        return f"{s // 60}:{s % 60:02d}"
    return f"{seconds:.1f} s" if tenths else f"{s} s"


class JobProgress(W.VBox):
    """One panel's progress line and bar (``text`` / ``bar`` for tests; ``ticks`` counts redraws)."""

    def __init__(self, *, on_tick: Callable[[JobProgress], None] | None = None) -> None:
        self.bar = W.FloatProgress(
            value=0.0, min=0.0, max=1.0, layout=W.Layout(width="260px", height="14px")
        )
        self.text = W.HTML()
        self.bar.add_class("kubeez-bar")
        self.text.add_class("kubeez-progress-text")
        self.job_model = ""
        self.status = ""
        self.eta: float | None = None
        self.started = 0.0
        self.elapsed = 0.0
        self.ticks = 0
        self.running = False
        self.ident = ""
        self._on_tick = on_tick
        self._stop = threading.Event()
        self._lock = threading.Lock()
        super().__init__(
            [
                W.HBox(
                    [self.bar, self.text],
                    layout=W.Layout(align_items="center", flex_flow="row wrap"),
                )
            ],
            layout=W.Layout(display="none", margin="2px 0 0 134px"),
        )
        self.add_class("kubeez-progress")

    def start(self, model: Any, *, eta: float | None = None) -> None:
        """A job is being submitted: show the bar and start ticking."""
        self._stop.set()
        self._stop = threading.Event()
        self.job_model = str(getattr(model, "id", None) or model or "")
        self.eta = eta if eta is not None else eta_of(model)
        self.status = "submitting"
        self.ident = ""
        self.started = time.monotonic()
        self.running = True
        self.bar.bar_style = "info"
        self.layout.display = None
        self.redraw()
        stop = self._stop
        threading.Thread(
            target=self._tick, args=(stop,), daemon=True, name="kubeez-progress"
        ).start()

    def update(self, status: str, ident: str = "") -> None:
        """The job reported a status (from its poller)."""
        self.status = str(status or self.status)
        if ident:
            self.ident = ident
        self.redraw()

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(TICK_S):
            self.redraw()

    def redraw(self) -> None:
        with self._lock:
            if not self.running:
                return
            self.elapsed = time.monotonic() - self.started
            self.bar.value = fraction(self.elapsed, self.eta, self.status)
            if self.eta is None:
                left = ""
            elif self.elapsed < self.eta:
                left = f" · ≈ {_clock(self.eta - self.elapsed)} left (catalog estimate {_clock(self.eta)})"
            else:
                left = f" · taking longer than the catalog's {_clock(self.eta)}"
            ident = (
                f" <small style='color:#666'>{html.escape(self.ident)}</small>"
                if self.ident
                else ""
            )
            self.text.value = (
                f"<span class='kubeez-elapsed'>{html.escape(self.status)} · "
                f"{_clock(self.elapsed, True)}</span>{html.escape(left)}{ident}"
            )
            self.ticks += 1
        if self._on_tick is not None:
            self._on_tick(self)

    def finish(self, ok: bool, note: str = "") -> None:
        """Stop ticking; a full bar, green when ``ok``, red otherwise."""
        self._stop.set()
        with self._lock:
            self.running = False
            self.elapsed = time.monotonic() - self.started
            self.status = "completed" if ok else "failed"
            self.bar.value = 1.0
            self.bar.bar_style = "success" if ok else "danger"
            word = "done in" if ok else "failed after"
            self.text.value = (
                f"<span class='kubeez-progress-end'>{word} {self.elapsed:.1f} s</span>"
                + (f" · {html.escape(note)}" if note else "")
            )
        if self._on_tick is not None:
            self._on_tick(self)


class QueueStrip(W.HBox):
    """The studio's jobs in flight: one chip per running panel job (model, state, elapsed)."""

    def __init__(self) -> None:
        self._items: dict[int, JobProgress] = {}
        self._chips: dict[int, W.HTML] = {}
        self._lock = threading.Lock()
        super().__init__(layout=W.Layout(flex_flow="row wrap", display="none"))
        self.add_class("kubeez-queue")

    def track(self, progress: JobProgress) -> None:
        """Show ``progress`` in the strip (updated by its ticks; removed a while after its end)."""
        with self._lock:
            key = id(progress)
            self._items[key] = progress
            if key not in self._chips:
                chip = W.HTML()
                chip.add_class("kubeez-queue-item")
                self._chips[key] = chip
        self.redraw(progress)

    def redraw(self, progress: JobProgress) -> None:
        with self._lock:
            chip = self._chips.get(id(progress))
            if chip is None:
                return
            color = (
                "#1b5e20"
                if progress.status == "completed"
                else ("#b00020" if progress.status == "failed" else "#0d47a1")
            )
            chip.value = (
                f"<span style='border:1px solid #ccc;border-radius:10px;padding:1px 8px;"
                f"margin-right:4px;font-size:12px;color:{color}'>"
                f"{html.escape(progress.job_model)} · {html.escape(progress.status)} · "
                f"{_clock(progress.elapsed)}</span>"
            )
            live = [k for k, p in self._items.items() if p.running]
            shown = [self._chips[k] for k in self._items]
            self.children = tuple(shown)
            self.layout.display = None if live or shown else "none"

    @property
    def in_flight(self) -> int:
        return sum(1 for p in self._items.values() if p.running)

    def states(self) -> list[str]:
        """``model · status`` of every tracked job (for tests and reprs)."""
        return [f"{p.job_model} · {p.status}" for p in self._items.values()]


__all__ = ["TICK_S", "JobProgress", "QueueStrip", "eta_of", "fraction"]
