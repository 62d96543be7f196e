"""Progress display: an ipywidgets bar in a kernel, one rewriting line on a terminal, else nothing.

``track(description)`` returns a handle with ``update(text, fraction)`` and ``close(ok)``.
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


def track(description: str, *, stream: TextIO | None = None) -> Progress:
    """Start a progress display for ``description`` (a widget, a text line or a silent no-op)."""
    if in_kernel():
        try:
            return WidgetProgress(description)
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
    """An ipywidgets ``FloatProgress`` + ``Label`` in an ``HBox``, displayed once."""

    def __init__(self, description: str) -> None:
        import ipywidgets as w
        from IPython.display import display

        self.bar = w.FloatProgress(
            value=0.0, min=0.0, max=1.0, bar_style="info", layout=w.Layout(width="240px")
        )
        self.label = w.Label(value="")
        self.title = w.Label(value=description)
        self.box = w.HBox([self.title, self.bar, self.label])
        self.description = description
        self._closed = False
        self._indeterminate = True
        display(self.box)

    def update(self, text: str, fraction: float | None = None) -> None:
        if self._closed:
            return
        if fraction is None:
            # no fraction known: a slowly filling bar shows life without claiming progress
            self.bar.value = (
                min(0.95, self.bar.value + 0.02) if self._indeterminate else self.bar.value
            )
        else:
            self._indeterminate = False
            self.bar.value = min(1.0, max(0.0, float(fraction)))
        self.label.value = text

    def close(self, ok: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        if ok:
            self.bar.value = 1.0
        self.bar.bar_style = "success" if ok else "danger"
