"""The studio in a browser page: the steps the studio's browser tests share (open a notebook
running ``kz.studio()``, switch tabs, pick a model, generate). The harness itself (servers, pages,
notebook helpers) is ``tests/browser/``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from browser import LabServer, open_notebook, run_all_cells, wait_cells_done

from kubeez_nb.contract.catalog import Catalog

REPO = Path(__file__).resolve().parent.parent
#: demo speed 18: the catalog's 180 s for veo3-1-text-to-video is 10 s of emulator time
SETUP = "import os\nos.environ['KUBEEZ_DEMO_SPEED'] = '18'\nimport kubeez_nb as kz\nkz.studio()"
PANEL = ".kubeez-studio .kubeez-panel"
#: screenshots that are not the README's (those go to docs/): looked at, not committed
SHOTS = Path(tempfile.gettempdir()) / "kubeez-shots"


def catalog() -> Catalog:
    """The emulator's catalog (what the demo studio offers)."""
    return Catalog.from_json(json.loads((REPO / "kubeez_nb/emulator/data/models.json").read_text()))


def label(model_id: str) -> str:
    """The picker's label of a model."""
    from kubeez_nb.widgets.generate_panel import model_label

    return model_label(catalog()[model_id])


def open_studio(lab: LabServer, page: Any, name: str, setup: str = SETUP) -> Any:
    """Write a notebook that runs ``setup``, run it, and return the first panel once shown."""
    lab.write_notebook(name, [setup])
    open_notebook(page, lab, name)
    run_all_cells(page)
    wait_cells_done(page)
    panel = page.locator(PANEL).first
    panel.wait_for(state="visible", timeout=60_000)
    return panel


def tab(page: Any, title: str) -> None:
    """Open the studio tab called ``title``."""
    page.locator(".kubeez-studio .lm-TabBar-tab", has_text=title).first.click()


def pick(page: Any, model: str) -> Any:
    """Choose ``model`` in the first panel's picker; returns the panel once its form is rebuilt."""
    panel = page.locator(PANEL).first
    panel.locator(".kubeez-picker select").select_option(label=label(model))
    panel.locator(".kubeez-model-info", has_text=model).wait_for(timeout=20_000)
    return panel


def enabled(page: Any, button: Any, timeout: float = 20_000) -> None:
    """Wait until ``button`` (a locator) is enabled."""
    page.wait_for_function(
        "b => !b.disabled", arg=button.element_handle(), timeout=timeout, polling=200
    )


def generate(page: Any, model: str, prompt: str) -> Any:
    """Pick ``model``, type ``prompt``, click Generate; returns the panel (the job runs on)."""
    panel = pick(page, model)
    box = panel.locator(".kubeez-field-prompt textarea")
    box.fill(prompt)
    box.press("Tab")
    button = panel.locator("button.kubeez-generate")
    enabled(page, button)
    button.click()
    return panel
