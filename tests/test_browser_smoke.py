"""The browser harness works end to end: JupyterLab and Voila render widgets and served media in
headless Chromium, and the emulator's own media (H.264 MP4, WAV) really play there."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import (
    OUTPUT_MEDIA_SELECTOR,
    LabServer,
    assert_media_loaded,
    block_host,
    cell_errors,
    console_errors,
    free_port,
    media_report,
    run_notebook,
    wait_for_voila,
    widget_error_count,
)

from kubeez_nb.emulator import mediagen

pytestmark = pytest.mark.browser

SLIDER_CELL = (
    "import ipywidgets as widgets\nslider = widgets.IntSlider(value=7, description='level')\nslider"
)
IMAGE_CELL = (
    'from IPython.display import HTML\nHTML(\'<img id="smoke-img" src="media/dot.png" alt="dot">\')'
)


def _smoke_notebook(lab: LabServer, name: str, *extra_cells: str) -> Path:
    """A notebook in its own folder with a slider and an <img> of a file next to it (relative src)."""
    folder = lab.root / name
    (folder / "media").mkdir(parents=True, exist_ok=True)
    (folder / "media" / "dot.png").write_bytes(mediagen.make_png("smoke", 64, 48))
    return lab.write_notebook(f"{name}/smoke.ipynb", [SLIDER_CELL, IMAGE_CELL, *extra_cells])


def test_lab_renders_a_slider_and_a_served_image(lab: LabServer, page: object) -> None:
    _smoke_notebook(lab, "smoke-lab")
    emulator_port = free_port()  # stands in for the emulator: nothing may reach it
    blocked = block_host(page, "127.0.0.1", emulator_port)

    run_notebook(page, lab, "smoke-lab/smoke.ipynb")

    page.locator(".widget-slider").first.wait_for(state="visible", timeout=20_000)
    assert page.locator(".widget-readout").first.inner_text().strip() == "7"
    assert widget_error_count(page) == 0
    report = assert_media_loaded(page, "#smoke-img")
    assert (report[0]["width"], report[0]["height"]) == (64, 48)
    assert "/files/smoke-lab/media/dot.png" in report[0]["src"]  # through the Jupyter server
    assert cell_errors(page) == []
    assert console_errors(page) == []
    assert blocked == []


def test_emulator_video_and_audio_play_in_chromium(lab: LabServer, page: object) -> None:
    folder = lab.root / "smoke-media" / "media"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clip.mp4").write_bytes(mediagen.make_mp4("smoke clip", 320, 180, 2.0))
    speech, ext, words = mediagen.make_speech("testing one two three", "Rachel")
    (folder / f"speech.{ext}").write_bytes(speech)
    song, song_ext = mediagen.make_music("smoke song", 3.0)
    (folder / f"song.{song_ext}").write_bytes(song)
    html = (
        '<video id="clip" src="media/clip.mp4" controls muted preload="metadata"></video>'
        f'<audio id="speech" src="media/speech.{ext}" controls preload="metadata"></audio>'
        f'<audio id="song" src="media/song.{song_ext}" controls preload="metadata"></audio>'
    )
    lab.write_notebook(
        "smoke-media/media.ipynb", [f"from IPython.display import HTML\nHTML({html!r})"]
    )

    run_notebook(page, lab, "smoke-media/media.ipynb")

    loaded = assert_media_loaded(page, OUTPUT_MEDIA_SELECTOR, at_least=3)
    report = {r["src"].split("?")[0].rsplit("/", 1)[-1]: r for r in loaded}
    assert all("/files/smoke-media/media/" in r["src"] for r in loaded), loaded
    assert (report["clip.mp4"]["width"], report["clip.mp4"]["height"]) == (320, 180)
    assert report["clip.mp4"]["duration"] == pytest.approx(2.0, abs=0.01)
    assert report[f"speech.{ext}"]["duration"] == pytest.approx(words[-1]["end"] / 1000, abs=0.01)
    assert report[f"song.{song_ext}"]["duration"] == pytest.approx(3.0, abs=0.01)
    # The H.264 stream really decodes: playback advances.
    played = page.evaluate(
        """async () => {
            const v = document.querySelector('#clip');
            v.muted = true;
            await v.play();
            await new Promise(r => setTimeout(r, 800));
            v.pause();
            return v.currentTime;
        }"""
    )
    assert played > 0.2
    assert console_errors(page) == []


def test_block_host_aborts_requests_to_that_address_only(lab: LabServer, page: object) -> None:
    assert lab.api("api/sessions") == []  # earlier tests' kernels were shut down after them
    port = free_port()
    blocked = block_host(page, "localhost", port)  # loopback spellings are one host
    page.set_content(
        f'<img id="emu" src="http://127.0.0.1:{port}/v1/files/x.png">'
        f'<img id="lab" src="{lab.url("static/favicons/favicon.ico")}">'
    )
    page.wait_for_load_state("load")
    report = {r["src"].split("?")[0].rsplit("/", 1)[-1]: r for r in media_report(page)}
    assert not report["x.png"]["ok"]
    assert report["favicon.ico"]["ok"]
    assert blocked == [f"http://127.0.0.1:{port}/v1/files/x.png"]


def test_voila_renders_the_slider(lab: LabServer, voila: object, page: object) -> None:
    notebook = _smoke_notebook(lab, "smoke-voila")
    server = voila(notebook)  # type: ignore[operator]

    page.goto(server.url, timeout=90_000)
    wait_for_voila(page)

    page.locator(".widget-slider").first.wait_for(state="visible", timeout=30_000)
    assert widget_error_count(page) == 0
    report = assert_media_loaded(page, "#smoke-img")
    assert (report[0]["width"], report[0]["height"]) == (64, 48)
    assert console_errors(page) == []


def test_cell_errors_reports_tracebacks_but_not_warnings(lab: LabServer, page: object) -> None:
    lab.write_notebook(
        "smoke-errors/errors.ipynb", ["import warnings\nwarnings.warn('just a warning')", "1/0"]
    )

    run_notebook(page, lab, "smoke-errors/errors.ipynb")

    errors = cell_errors(page)
    assert len(errors) == 1 and "ZeroDivisionError" in errors[0]
