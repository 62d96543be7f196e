"""A displayed studio / panel leaves a static trace of what it made in its own cell, kept current
through a display handle: what a saved notebook shows without a kernel."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ipywidgets = pytest.importorskip("ipywidgets")

WIDGET = "application/vnd.jupyter.widget-view+json"


def _shown(shell: Any, app: Any) -> Any:
    from IPython.display import display
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        display(app)
    return cap


def _until(check: Any, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


@pytest.fixture
def here(client: Any) -> Any:
    """The cache below the working directory, as in Jupyter (the notebook's folder)."""
    before = os.getcwd()
    os.chdir(Path(client.home))
    yield client
    os.chdir(before)


def test_a_studio_shows_its_live_view_then_a_trace_that_follows_each_result(
    shell: Any, here: Any
) -> None:
    from IPython.utils.capture import capture_output

    from kubeez_nb.widgets import Studio

    s = Studio(here)
    cap = _shown(shell, s)
    live, trace = cap.outputs
    assert WIDGET in live.data and "kubeez-live" in s._dom_classes
    assert trace.data["text/plain"] == (
        "kubeez studio — nothing generated yet; run the cell to open it"
    )
    assert "kubeez-trace" in trace.data["text/html"]
    assert ":has(.kubeez-live)" in trace.data["text/html"]  # hidden while the studio is live

    p = s.panel("media")
    assert p is not None
    p.picker.value = "z-image"
    p.form.apply({"prompt": "a red fox in the snow"})
    with capture_output() as cap:
        assert p.generate()
        assert p.finished.wait(60) and p.error is None, p.status_html.value
        # the listeners run last; the trace is redrawn through its display handle
        _until(lambda: any("1 result" in o.data["text/plain"] for o in cap.outputs))
    assert s.trace_bundle()["text/plain"].startswith("kubeez studio: 1 result\nz-image")
    page = s.trace_bundle()["text/html"]
    assert "a red fox in the snow" in page and "z-image" in page and "credits" in page
    assert '<img src="media/' in page  # the cached file, relative: served by Jupyter
    assert "127.0.0.1" not in page
    s.close_all()


def test_a_panel_leaves_a_trace_too(shell: Any, here: Any) -> None:
    import kubeez_nb as kz

    p = kz.panel("z-image", client=here)
    cap = _shown(shell, p)
    assert len(cap.outputs) == 2
    assert "kubeez panel · z-image — nothing generated yet" in cap.outputs[1].data["text/plain"]
    p.form.apply({"prompt": "a fox on a hill"})
    assert p.generate() and p.finished.wait(60)
    _until(lambda: "1 result" in p.trace_bundle()["text/plain"])
    page = p.trace_bundle()["text/html"]
    assert "a fox on a hill" in page and ">file 1</a>" in page and "<img" not in page


def test_the_login_step_leaves_the_apps_trace(
    shell: Any, emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from IPython.utils.capture import capture_output

    import kubeez_nb as kz

    for name in ("KUBEEZ_API_KEY", "KUBEEZ_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KUBEEZ_BASE_URL", emulator.url)
    monkeypatch.setenv("KUBEEZ_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    box = kz.studio()
    cap = _shown(shell, box)
    assert "kubeez studio — nothing generated yet" in cap.outputs[1].data["text/plain"]
    with capture_output() as cap:
        box.submit_key(emulator.api_key)
        assert box.ready.wait(30), box.status.value
        p = box.app.panel("media")
        p.picker.value = "z-image"
        p.form.apply({"prompt": "a fox behind a login"})
        assert p.generate() and p.finished.wait(60)
        _until(lambda: any("1 result" in o.data["text/plain"] for o in cap.outputs))
    assert "a fox behind a login" in box.trace_bundle()["text/html"]
    box.app.close_all()
