"""Progress display: an ipywidgets bar in a kernel, one rewriting line on a terminal, else nothing.

``track(description, eta=None)`` returns a handle with ``update(text, fraction)`` and
``close(ok)``. In a kernel the bar ticks the elapsed time (and the catalog's usual duration)
every second, and when it closes its display is replaced by static output, so a saved notebook
never shows "Error displaying widget" where a finished bar was.
Updates may come from any thread: widget traits are set directly (ipywidgets syncs trait
changes from threads through the kernel's comm), never through ``with Output():``, which is
not thread-safe.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, TextIO

_BAR_WIDTH = 24
#: Where a bar stops while the job is not finished (it never claims 100 % early).
_CAP = 0.95
_START = {"submitting": 0.02, "pending": 0.05, "queued": 0.05}
#: The widget bar's clock (a test moves it).
_now = time.monotonic


class Progress(Protocol):
    """What ``track()`` returns."""

    def update(self, text: str, fraction: float | None = None) -> None: ...

    def close(self, ok: bool = True) -> None: ...


def in_kernel() -> bool:
    """True inside a Jupyter kernel (a ZMQ shell), where widgets can be displayed."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    ip = get_ipython()
    if ip is None:
        return False
    return ip.__class__.__name__ == "ZMQInteractiveShell" or "IPKernelApp" in getattr(
        ip, "config", {}
    )


def clock_text(elapsed: float | None, eta: float | None = None) -> str:
    """``12 s`` / ``12 s of usually ~40 s`` / ``1 min 5 s``: how long a job has been running."""
    if elapsed is None:
        return ""

    def short(seconds: float) -> str:
        seconds = max(0, round(seconds))
        return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"

    text = short(elapsed)
    if eta is not None and eta > 0:
        text += f" of usually ~{short(eta)}"
    return text


def fraction(elapsed: float, eta: float | None, status: str) -> float:
    """The bar's fill for a running job: elapsed / ETA, capped below 1; at least the status's floor."""
    floor = _START.get(status, 0.1)
    if eta is None:  # no estimate: creep towards the cap so the bar still moves
        return min(_CAP, floor + (1 - floor) * (1 - 1 / (1 + elapsed / 30)))
    return min(_CAP, floor + (1 - floor) * elapsed / eta)


def track(description: str, *, stream: TextIO | None = None, eta: float | None = None) -> Progress:
    """Start a progress display for ``description`` (a widget, a text line or a silent no-op).

    ``eta``: the usual duration in seconds (the catalog's ``estimated_time_seconds``), shown
    next to the elapsed time in a kernel.
    """
    if in_kernel():
        try:
            return WidgetProgress(description, eta=eta)
        except Exception:  # ipywidgets missing or broken: fall back to text, never fail the job
            pass
    out = stream if stream is not None else sys.stderr
    if stream is not None or _isatty(out):
        return TextProgress(description, out)
    return NullProgress()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


class NullProgress:
    """A progress handle that shows nothing (no terminal, no kernel)."""

    def update(self, text: str, fraction: float | None = None) -> None:
        pass

    def close(self, ok: bool = True) -> None:
        pass


class TextProgress:
    """A single line rewritten with carriage returns; at most ~10 redraws a second."""

    def __init__(self, description: str, stream: TextIO) -> None:
        self.description = description
        self._stream = stream
        self._lock = threading.Lock()
        self._last = 0.0
        self._text = ""
        self._fraction: float | None = None
        self._closed = False
        self._width = 0
        self._draw(force=True)

    def update(self, text: str, fraction: float | None = None) -> None:
        with self._lock:
            if self._closed:
                return
            self._text, self._fraction = text, fraction
            self._draw()

    def close(self, ok: bool = True) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if ok and self._fraction is not None:
                self._fraction = 1.0
            self._draw(force=True, mark="✓" if ok else "✗")
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, force: bool = False, mark: str = "") -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        parts = [self.description]
        if self._fraction is not None:
            f = min(1.0, max(0.0, self._fraction))
            filled = round(f * _BAR_WIDTH)
            parts.append(f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {f:4.0%}")
        if self._text:
            parts.append(self._text)
        if mark:
            parts.append(mark)
        line = " ".join(parts)
        pad = max(0, self._width - len(line))  # wipe the tail of a longer previous line
        self._width = len(line)
        try:
            self._stream.write("\r" + line + " " * pad)
            self._stream.flush()
        except Exception:  # a closed stream must not break the job
            pass


class WidgetProgress:
    """An ipywidgets ``FloatProgress`` + ``Label`` in an ``HBox``, displayed once, ticking each
    second; replaced by static output (nothing when it succeeded) when it closes. Without a
    fraction from the caller it fills by ``fraction`` (as the displayed job and the studio)."""

    def __init__(self, description: str, *, eta: float | None = None) -> None:
        import ipywidgets as w
        from IPython.display import display

        self.bar = w.FloatProgress(
            value=0.0, min=0.0, max=1.0, bar_style="info", layout=w.Layout(width="240px")
        )
        self.label = w.Label(value="")
        self.title = w.Label(value=description)
        self.box = w.HBox([self.title, self.bar, self.label])
        self.description = description
        self.eta = eta
        self._text = ""
        self._start = _now()
        self._closed = False
        self._indeterminate = True
        self._status: str | None = None  # the job's status once told (no fraction given)
        self._stop = threading.Event()
        self._handle = display(self.box, display_id=True)
        self._ticker = threading.Thread(target=self._tick, name="kubeez-progress", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._draw()
            except Exception:  # a dead comm must not kill the thread noisily
                return

    def _draw(self) -> None:
        elapsed = _now() - self._start
        if self._indeterminate and (self._status is not None or self.eta):
            # no fraction from the caller (a job's wait): the one formula of every job bar
            self.bar.value = fraction(elapsed, self.eta, self._status or "")
        clock = clock_text(elapsed, self.eta)
        self.label.value = f"{self._text} · {clock}" if self._text else clock

    def update(self, text: str, fraction: float | None = None) -> None:
        """``fraction`` None: ``text`` is the job's status, the bar follows ``progress.fraction``
        (elapsed vs the catalog's usual duration) as the displayed job and the studio do."""
        if self._closed:
            return
        if fraction is None:
            self._status = text
        else:
            self._indeterminate = False
            self.bar.value = min(1.0, max(0.0, float(fraction)))
        self._text = text
        self._draw()

    def close(self, ok: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if ok:
            self.bar.value = 1.0
        self.bar.bar_style = "success" if ok else "danger"
        if self._handle is None:
            return
        # the result's own card says how it ended; a failed or interrupted wait keeps one line
        took = clock_text(_now() - self._start)
        text = "" if ok else f"{self.description}: {self._text or 'stopped'} after {took}"
        try:
            self._handle.update({"text/plain": text}, raw=True)
            self.box.close()
        except Exception:
            pass
