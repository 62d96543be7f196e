"""Progress: a rewriting text line, silence without a terminal, a widget bar in a kernel."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest

from kubeez_nb import progress


def test_text_progress_rewrites_one_line() -> None:
    out = io.StringIO()
    bar = progress.track("Batch of 4", stream=out)
    bar.update("2/4 done", 0.5)
    bar.close(ok=True)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert "\r" in text and "Batch of 4" in text and "100%" in text and "✓" in text


def test_failed_close_is_marked() -> None:
    out = io.StringIO()
    bar = progress.track("job", stream=out)
    bar.close(ok=False)
    assert "✗" in out.getvalue()


def test_silent_without_terminal_or_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(progress.track("x"), progress.NullProgress)


def test_widget_bar_in_a_kernel_updates_from_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[Any] = []
    monkeypatch.setattr(progress, "in_kernel", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    bar = progress.track("Batch of 10")
    assert isinstance(bar, progress.WidgetProgress) and len(shown) == 1
    threads = [threading.Thread(target=bar.update, args=(f"{i}/10", i / 10)) for i in range(1, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 0.1 <= bar.bar.value <= 0.5
    bar.close(ok=False)
    assert bar.bar.bar_style == "danger"
    assert len(shown) == 1  # displayed once, updated in place


class _Handle:
    def __init__(self) -> None:
        self.updates: list[dict[str, str]] = []

    def update(self, bundle: dict[str, str], raw: bool = False) -> None:
        self.updates.append(bundle)


def test_a_closed_bar_leaves_static_output_not_a_widget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A saved notebook keeps the last bundle of each display: after close it must not be the
    widget (it would reopen as "Error displaying widget")."""
    handles: list[_Handle] = []

    def display(obj: Any, **kw: Any) -> _Handle:
        assert kw.get("display_id") is True
        handles.append(_Handle())
        return handles[-1]

    monkeypatch.setattr(progress, "in_kernel", lambda: True)
    monkeypatch.setattr("IPython.display.display", display)
    done = progress.track("nano-banana-2 1234abcd", eta=40)
    done.update("processing")
    assert "processing" in done.label.value and "usually ~40 s" in done.label.value
    done.close(ok=True)
    assert handles[0].updates == [{"text/plain": ""}]  # the card below says completed
    failed = progress.track("kling 99", eta=None)
    failed.update("failed")
    failed.close(ok=False)
    (last,) = handles[1].updates
    assert "application/vnd.jupyter.widget-view+json" not in last
    assert last["text/plain"].startswith("kling 99: failed after")


@pytest.mark.parametrize("eta", [40.0, None])
def test_a_waiting_job_bar_fills_with_time_as_every_job_bar(
    monkeypatch: pytest.MonkeyPatch, eta: float | None
) -> None:
    """``job.wait()``'s bar (told only the status) fills by ``progress.fraction``, the formula of
    the displayed job's bar and the studio's: it moves with the elapsed time, stays below 100 %
    however long the job takes, and is full once the job ended well."""
    now = [1000.0]
    monkeypatch.setattr(progress, "_now", lambda: now[0])
    monkeypatch.setattr(progress, "in_kernel", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: _Handle())
    bar = progress.track("veo3-1 1234abcd", eta=eta)
    assert isinstance(bar, progress.WidgetProgress)
    fills = []
    for elapsed in (0, 10, 20, 35, 120, 3600):
        now[0] = 1000.0 + elapsed
        bar.update("processing")
        fills.append(bar.bar.value)
        assert bar.bar.value == pytest.approx(progress.fraction(elapsed, eta, "processing"))
    assert fills[0] < fills[1] < fills[2] < fills[3] and fills == sorted(fills), fills
    assert fills[-1] < 1.0, fills  # an overdue job is not shown as done
    bar.close(ok=True)
    assert bar.bar.value == 1.0 and bar.bar.bar_style == "success"


def test_clock_text_reads_like_a_person_would_say_it() -> None:
    assert progress.clock_text(12.4) == "12 s"
    assert progress.clock_text(65, 40) == "1 min 5 s of usually ~40 s"
    assert progress.clock_text(None) == ""
