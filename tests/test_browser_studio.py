"""The studio in real JupyterLab (headless Chromium), demo mode: pick a model, change the aspect
ratio, Generate, and the image appears inline with no "Error displaying widget"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser import (
    LabServer,
    cell_errors,
    open_notebook,
    run_all_cells,
    screenshot,
    wait_cells_done,
    widget_error_count,
)

from kubeez_nb.contract.catalog import Catalog

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
SHOT = REPO / "docs" / "studio.png"


def _pick_model() -> tuple[str, str, str]:
    """A text-to-image model with an aspect-ratio dropdown (not the picker's first model), its
    picker label, and an aspect ratio other than its default."""
    from kubeez_nb.widgets.generate_panel import model_label

    catalog = Catalog.from_json(
        json.loads((REPO / "kubeez_nb/emulator/data/models.json").read_text())
    )
    images = [
        m
        for m in catalog.for_endpoint("media")
        if m.model_type == "image"
        and "text-to-image" in m.generation_types
        and not m.needs_input_media
        and not m.retired
        and len(m.capabilities.aspect_ratio_options) > 5
    ]
    m = images[1] if len(images) > 1 else images[0]
    ratio = next(r for r in m.capabilities.aspect_ratio_options if r not in ("1:1", "auto"))
    return m.id, model_label(m), ratio


@pytest.mark.timeout(300)
def test_studio_renders_generates_and_shows_the_image(lab: LabServer, page: object) -> None:
    model_id, label, ratio = _pick_model()
    lab.write_notebook("studio-browser/studio.ipynb", ["import kubeez_nb as kz\nkz.studio()"])
    open_notebook(page, lab, "studio-browser/studio.ipynb")
    run_all_cells(page)
    wait_cells_done(page)

    panel = page.locator(".kubeez-studio .kubeez-panel").first
    panel.wait_for(state="visible", timeout=60_000)
    assert "Demo mode" in page.locator(".kubeez-studio").first.inner_text()
    page.locator(".kubeez-balance", has_text="credits").first.wait_for(timeout=30_000)

    panel.locator(".kubeez-picker select").select_option(label=label)
    info = panel.locator(".kubeez-model-info")
    info.filter(has_text=model_id).wait_for(timeout=20_000)  # the form was rebuilt for it
    panel.locator(".kubeez-field-aspect-ratio select").select_option(label=ratio)
    prompt = panel.locator(".kubeez-field-prompt textarea")
    words = "a red fox in fresh snow, golden hour"
    prompt.fill(words)
    prompt.press("Tab")
    # the live count proves the kernel got the text
    count = panel.locator(".kubeez-field-prompt .kubeez-count", has_text=f"{len(words)} /")
    count.wait_for(timeout=10_000)

    button = panel.locator("button.kubeez-generate")
    page.wait_for_function(
        "b => !b.disabled", arg=button.element_handle(), timeout=20_000, polling=200
    )
    button.click()
    image = panel.locator(".kubeez-result img").first
    image.wait_for(state="visible", timeout=120_000)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=30_000
    )
    size = image.evaluate("img => [img.naturalWidth, img.naturalHeight, img.src]")
    a, b = (float(x) for x in ratio.split(":"))
    assert abs(size[0] / size[1] - a / b) < 0.05, size  # the aspect ratio chosen in the browser
    assert str(size[2]).startswith("blob:")  # bytes came over the widget channel, not loopback
    panel.locator(".kubeez-done").wait_for(timeout=10_000)

    assert widget_error_count(page) == 0
    assert cell_errors(page) == []
    screenshot(page, SHOT)
