"""The studio notebook (02-studio) as a Voila app in headless Chromium, demo mode, with the page
barred from every address but Voila's own server: the studio renders, and a prompt typed in the
Image & video tab generates an image that arrives through the server (widget bytes, a blob: URL),
never from the emulator's loopback port inside the kernel."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser import (
    IGNORED,
    REPO,
    VoilaServer,
    bar_all_but,
    cell_errors,
    console_errors,
    loopback_references,
    wait_for_voila,
    wait_media,
    widget_error_count,
)

pytestmark = pytest.mark.browser

STUDIO = REPO / "notebooks" / "02-studio.ipynb"


@pytest.mark.timeout(240)
def test_studio_in_voila_generates_an_image_through_the_server(
    voila: Callable[[Path], VoilaServer], page: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "studio-voila"
    folder.mkdir()
    shutil.copy(STUDIO, folder / STUDIO.name)  # its own KUBEEZ_HOME (kubeez-data next to it)
    server = voila(folder / STUDIO.name)
    blocked = bar_all_but(page, server.url)

    page.goto(server.url, timeout=90_000)
    wait_for_voila(page)

    studio = page.locator(".kubeez-studio").first
    studio.wait_for(state="visible", timeout=60_000)
    tabs = studio.locator(".lm-TabBar-tab")
    tabs.first.wait_for(state="visible", timeout=30_000)
    assert "Image & video" in tabs.all_inner_texts()
    panel = studio.locator(".kubeez-panel").first
    button = panel.locator("button.kubeez-generate")
    button.wait_for(state="visible", timeout=30_000)
    studio.locator(".kubeez-balance", has_text="credits").wait_for(timeout=30_000)
    assert widget_error_count(page) == 0

    prompt = panel.locator(".kubeez-field-prompt textarea")
    words = "a lighthouse on a cliff at dusk"
    prompt.fill(words)
    prompt.press("Tab")
    # the live character count proves the kernel got the text
    panel.locator(".kubeez-field-prompt .kubeez-count", has_text=f"{len(words)} /").wait_for(
        timeout=15_000
    )
    page.wait_for_function(
        "b => !b.disabled", arg=button.element_handle(), timeout=20_000, polling=200
    )
    button.click()
    panel.locator(".kubeez-done").wait_for(timeout=120_000)

    result = ".kubeez-studio .kubeez-panel .kubeez-result"
    report = wait_media(page, {"img": 1}, f"{result} img, {result} video, {result} audio")
    assert all(r["src"].startswith("blob:") for r in report), [r["src"][:80] for r in report]
    assert report[0]["width"] > 0 and report[0]["height"] > 0

    assert widget_error_count(page) == 0
    assert cell_errors(page) == []
    assert loopback_references(page, server.url, scope="body") == []
    # Voila's template links font-awesome stylesheets on a CDN (barred like everything else);
    # nothing other than those may leave the page, above all nothing on the loopback (the emulator).
    others = [
        u
        for u in blocked
        if not (urlsplit(u).hostname == "cdn.jsdelivr.net" and u.endswith(".css"))
    ]
    assert others == [], "the page tried to reach an address other than Voila's server"
    assert console_errors(page, IGNORED) == []
