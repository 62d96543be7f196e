"""The studio as a workspace in real JupyterLab (headless Chromium, demo mode): the browser-side
actions of a result card (Download through ``/files/``, Copy URL, Insert code), the kernel-side
ones (Caption this, Use as reference, Vary), progress that moves while a 10 s video renders,
History filters and "Open in form", and the 800 px layout (screenshots at 800 and 1400 px)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from browser import LabServer, cell_errors, doc_shot, screenshot, widget_error_count
from studio_page import generate, open_studio, tab

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(420)
def test_card_actions_progress_and_history(lab: LabServer, page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_studio(lab, page, "studio-actions/actions.ipynb")

    # an image: its card and the browser-side actions ---------------------------------------
    panel = generate(page, "z-image", "a red fox in fresh snow")
    card = panel.locator(".kubeez-card").first
    card.wait_for(state="visible", timeout=120_000)
    card.locator(".kubeez-act-vary").wait_for(timeout=20_000)
    for cls in ("download", "copy", "asset", "reference", "rerun", "vary", "code"):
        assert card.locator(f".kubeez-act-{cls}").count() == 1, cls
    assert card.locator(".kubeez-act-caption").count() == 0  # an image cannot be captioned

    link = card.locator("a.kubeez-act-download")
    link.dispatch_event("mousedown")
    href = link.get_attribute("href") or ""
    assert "/files/" in href and "kubeez-data/media/" in href and "127.0.0.1" not in href, href
    reply = page.request.get(href if href.startswith("http") else lab.url(href.lstrip("/")))
    assert reply.ok and reply.body().startswith(b"\x89PNG")  # served by the Jupyter server

    copy = card.locator("button.kubeez-act-copy")
    copy.click()
    page.locator(".kubeez-copied").wait_for(timeout=5_000)
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == copy.get_attribute("data-url") and copied.startswith("http")

    cells_before = page.locator(".jp-Notebook .jp-Cell").count()
    card.locator("button.kubeez-act-code").click()
    page.locator(".kubeez-inserted").wait_for(timeout=10_000)
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells_before + 1
    new = page.locator(".jp-Notebook .jp-Cell").nth(1)
    text = new.locator(".cm-content").inner_text()
    assert 'client.generate_media("z-image"' in text and "a red fox in fresh snow" in text, text
    new.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        "c => c.querySelector('.jp-OutputArea-output') !== null",
        arg=new.element_handle(),
        timeout=60_000,
    )
    page.wait_for_function(
        "c => /z-image/.test(c.querySelector('.jp-OutputArea').innerText)",
        arg=new.element_handle(),
        timeout=60_000,
    )
    assert cell_errors(page) == []

    # kernel-side actions: Vary restores the form; Use as reference keeps the model -------------
    card.locator(".kubeez-act-vary").click()
    panel.locator(".kubeez-status", has_text="change the prompt").wait_for(timeout=10_000)

    # a 10 s video: the elapsed time and the bar move every second; a clear end state ----------
    panel = generate(page, "veo3-1-text-to-video", "waves on a beach at dusk")
    text_el = panel.locator(".kubeez-progress-text")
    text_el.filter(has_text="catalog estimate 3:00").wait_for(timeout=20_000)
    samples = []
    for _ in range(6):
        samples.append((text_el.inner_text(), panel.locator(".kubeez-bar").inner_html()))
        time.sleep(1.0)  # sampling the page once a second while the job's own 10 s run
    changed = sum(1 for i in range(1, len(samples)) if samples[i] != samples[i - 1])
    assert changed == len(samples) - 1, samples
    panel.locator(".kubeez-progress-end", has_text="done in").wait_for(timeout=60_000)
    page.locator(".kubeez-queue-item", has_text="veo3-1-text-to-video").first.wait_for()
    vcard = panel.locator(".kubeez-card-video").first
    vcard.wait_for(timeout=30_000)
    for cls in ("caption", "extend"):
        assert vcard.locator(f".kubeez-act-{cls}").count() == 1, cls
    vcard.locator(".kubeez-act-caption").click()
    captions = page.locator(".kubeez-studio .kubeez-panel").filter(
        has=page.locator(".kubeez-field-media-url")
    )
    captions.first.wait_for(state="visible", timeout=20_000)
    url_box = captions.first.locator(".kubeez-field-media-url textarea")
    page.wait_for_function(
        "t => t.value.startsWith('http')", arg=url_box.element_handle(), timeout=10_000
    )

    # History: tiles, a type filter, Open in form -------------------------------------------
    tab(page, "History")
    grid = page.locator(".kubeez-history-grid")
    grid.locator(".kubeez-history-tile").first.wait_for(timeout=30_000)
    assert page.locator(".kubeez-history-img img, img.kubeez-history-img").count() >= 1
    page.locator(".kubeez-history select").nth(1).select_option(label="video")
    page.wait_for_function(
        "() => { const t = [...document.querySelectorAll('.kubeez-history-tile')];"
        " return t.length > 0 && t.every(x => x.classList.contains('kubeez-history-video')); }",
        timeout=20_000,
    )
    page.locator(".kubeez-history").first.scroll_into_view_if_needed()
    screenshot(page, doc_shot("studio-history.png"))
    page.locator(".kubeez-history-tile .kubeez-history-open").first.click()
    media = page.locator(".kubeez-studio .kubeez-panel").first
    media.locator(".kubeez-model-info", has_text="veo3-1-text-to-video").wait_for(timeout=20_000)
    prompt = media.locator(".kubeez-field-prompt textarea")
    assert prompt.input_value() == "waves on a beach at dusk"

    assert widget_error_count(page) == 0
    assert cell_errors(page) == []
    tab(page, "Image & video")
    page.set_viewport_size({"width": 1400, "height": 2000})
    page.locator(".kubeez-card").first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    screenshot(page, doc_shot("studio-1400.png"))


_LAYOUT_JS = """() => {
  const s = document.querySelector('.kubeez-studio');
  const out = {studio: [s.scrollWidth, s.clientWidth], clipped: [], wide: []};
  for (const el of s.querySelectorAll('.widget-label, .widget-label-basic, label')) {
    if (el.offsetParent && el.scrollWidth > el.clientWidth + 1)
      out.clipped.push(el.textContent);
  }
  const area = s.closest('.jp-OutputArea-output') || s.parentElement;
  out.area = [area.scrollWidth, area.clientWidth];
  return out;
}"""


@pytest.mark.timeout(300)
def test_studio_fits_800px(lab: LabServer, page: Any) -> None:
    page.set_viewport_size({"width": 800, "height": 1000})
    open_studio(lab, page, "studio-actions/layout.ipynb")
    # the notebook gets the page's width (left sidebar closed): an 800 px notebook column
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").first.click()
    page.wait_for_timeout(500)
    for title in ("Image & video", "Voice", "Captions", "Music"):
        tab(page, title)
        page.wait_for_timeout(800)
        got = page.evaluate(_LAYOUT_JS)
        assert got["studio"][0] <= got["studio"][1], (title, got)
        assert got["area"][0] <= got["area"][1], (title, got)
        assert got["clipped"] == [], (title, got)
    tab(page, "Image & video")
    page.set_viewport_size({"width": 800, "height": 1800})
    page.wait_for_timeout(500)
    screenshot(page, doc_shot("studio-800.png"))


@pytest.mark.timeout(300)
def test_insert_code_in_notebook7(notebook7: LabServer, page: Any) -> None:
    """Insert code works in Notebook 7 too (the same notebook widget and shortcuts), Download
    resolves under Notebook 7's /notebooks/ URL, and the studio's trace is hidden there too."""
    open_studio(notebook7, page, "studio-actions/nb7.ipynb")
    panel = generate(page, "z-image", "a fox in Notebook 7")
    card = panel.locator(".kubeez-card").first
    card.locator(".kubeez-act-vary").wait_for(timeout=60_000)
    # the cell's static trace followed the result, hidden next to the live studio here too
    trace = page.locator(".kubeez-trace", has_text="1 result").first
    trace.wait_for(state="attached", timeout=20_000)
    assert not trace.is_visible()
    link = card.locator("a.kubeez-act-download")
    link.dispatch_event("mousedown")
    href = link.get_attribute("href") or ""
    assert "/files/" in href and "kubeez-data/media/" in href, href
    reply = page.request.get(href if href.startswith("http") else notebook7.url(href.lstrip("/")))
    assert reply.ok and reply.body().startswith(b"\x89PNG")
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    card.locator("button.kubeez-act-code").click()
    page.locator(".kubeez-inserted").wait_for(timeout=10_000)
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells + 1
    text = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".cm-content").inner_text()
    assert 'client.generate_media("z-image"' in text and "a fox in Notebook 7" in text, text
