"""The studio in real JupyterLab (headless Chromium), demo mode: pick a model, change the aspect
ratio, Generate, and the image appears inline with no "Error displaying widget"; the cell keeps
a static trace of the result, hidden next to the live studio and shown alone once the saved
notebook is reopened without a kernel; a bad reference URL is flagged while it is typed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from browser import LabServer, bar_all_but, cell_errors, doc_shot, screenshot, widget_error_count
from browser.notebooks import reopen, save
from studio_page import SHOTS, catalog, enabled, open_studio, pick

pytestmark = pytest.mark.browser

STUDIO = "import kubeez_nb as kz\nkz.studio()"


def _pick_model() -> tuple[str, str]:
    """A text-to-image model with an aspect-ratio dropdown (not the picker's first model) and an
    aspect ratio other than its default."""
    images = [
        m
        for m in catalog().for_endpoint("media")
        if m.model_type == "image"
        and "text-to-image" in m.generation_types
        and not m.needs_input_media
        and not m.retired
        and len(m.capabilities.aspect_ratio_options) > 5
    ]
    m = images[1] if len(images) > 1 else images[0]
    ratio = next(r for r in m.capabilities.aspect_ratio_options if r not in ("1:1", "auto"))
    return m.id, ratio


_IMG_LOADED = "img => img.complete && img.naturalWidth > 0"


@pytest.mark.timeout(300)
def test_studio_renders_generates_and_shows_the_image(lab: LabServer, page: object) -> None:
    model_id, ratio = _pick_model()
    name = "studio-browser.ipynb"  # at the root: the reopened copy sits beside it
    open_studio(lab, page, name, setup=STUDIO)
    assert "Demo mode" in page.locator(".kubeez-studio").first.inner_text()
    page.locator(".kubeez-balance", has_text="credits").first.wait_for(timeout=30_000)
    trace = page.locator(".kubeez-trace").first
    trace.wait_for(state="attached", timeout=10_000)
    assert not trace.is_visible()  # the live studio is rendered: its trace is hidden

    panel = pick(page, model_id)
    panel.locator(".kubeez-field-aspect-ratio select").select_option(label=ratio)
    prompt = panel.locator(".kubeez-field-prompt textarea")
    words = "a red fox in fresh snow, golden hour"
    prompt.fill(words)
    prompt.press("Tab")
    # the live count proves the kernel got the text
    count = panel.locator(".kubeez-field-prompt .kubeez-count", has_text=f"{len(words)} /")
    count.wait_for(timeout=10_000)

    button = panel.locator("button.kubeez-generate")
    enabled(page, button)
    button.click()
    image = panel.locator(".kubeez-result img").first
    image.wait_for(state="visible", timeout=120_000)
    page.wait_for_function(_IMG_LOADED, arg=image.element_handle(), timeout=30_000)
    size = image.evaluate("img => [img.naturalWidth, img.naturalHeight, img.src]")
    a, b = (float(x) for x in ratio.split(":"))
    assert abs(size[0] / size[1] - a / b) < 0.05, size  # the aspect ratio chosen in the browser
    assert str(size[2]).startswith("blob:")  # bytes came over the widget channel, not loopback
    panel.locator(".kubeez-done").wait_for(timeout=10_000)

    # the trace followed the result through its display handle, and stays hidden
    page.locator(".kubeez-trace", has_text="1 result").first.wait_for(
        state="attached", timeout=20_000
    )
    assert not page.locator(".kubeez-trace").first.is_visible()
    assert widget_error_count(page) == 0
    assert cell_errors(page) == []
    screenshot(page, doc_shot("studio.png"))

    # saved and reopened with no kernel: the trace alone, its image served by Jupyter
    saved = save(page, lab, name)
    blocked = bar_all_but(page, lab.base)
    started = time.monotonic()
    reopen(page, lab, saved, name, kernel=False)
    trace = page.locator(".kubeez-trace").first
    trace.wait_for(state="visible", timeout=30_000)
    text = trace.inner_text()
    assert "kubeez studio: 1 result" in text and model_id in text and words in text, text
    thumb = trace.locator("img").first
    page.wait_for_function(_IMG_LOADED, arg=thumb.element_handle(), timeout=30_000)
    shown = page.locator(".jp-Notebook .jp-OutputArea").first.inner_text()
    assert "Error displaying widget" not in shown, shown
    assert "kubeez studio (a live app: it needs a running kernel)" in shown, shown
    assert blocked == []
    screenshot(page, SHOTS / "studio-reopened.png")
    print(f"reopened trace visible in {time.monotonic() - started:.1f} s")


@pytest.mark.timeout(300)
def test_a_bad_reference_url_is_flagged_while_typing(lab: LabServer, page: Any) -> None:
    open_studio(lab, page, "studio-browser/links.ipynb", setup=STUDIO)
    panel = pick(page, "gpt-1.5-image-high")
    prompt = panel.locator(".kubeez-field-prompt textarea")
    prompt.fill("a fox like this one")
    prompt.press("Tab")
    button = panel.locator("button.kubeez-generate")
    enabled(page, button)
    field = panel.locator(".kubeez-field-source-media-urls")
    assert field.locator(".kubeez-link-problem").count() == 0  # nothing red before typing

    box = field.locator("textarea")
    box.click()
    started = time.monotonic()
    box.press_sequentially("htp:/fox.png", delay=40)
    note = field.locator(".kubeez-link-problem")
    note.wait_for(timeout=10_000)
    flagged = time.monotonic() - started
    focused = page.evaluate("() => document.activeElement && document.activeElement.tagName")
    assert focused == "TEXTAREA"  # shown while the box still has the focus: no blur needed
    said = note.inner_text()
    assert "References: 'htp:/fox.png' is not a link" in said, said
    assert "paste an https:// link or use the Upload file button" in said
    page.wait_for_function("b => b.disabled", arg=button.element_handle(), timeout=10_000)
    assert "is not a link" in (button.get_attribute("title") or "")
    screenshot(page, SHOTS / "studio-bad-link.png")

    box.press("Control+a")
    box.press_sequentially("https://example.com/fox.png", delay=20)
    note.wait_for(state="detached", timeout=10_000)
    enabled(page, button, timeout=10_000)
    assert widget_error_count(page) == 0
    print(f"typed bad link flagged {flagged:.1f} s after the first key (12 keys at 40 ms)")
