"""The quickstart and the studio in the other frontends people open them in, headless Chromium,
demo mode, the page barred from every address but the Jupyter server:

- **Notebook 7** (``/tree`` to pick a notebook, ``/notebooks/<name>`` to run it);
- **JupyterLab under a base URL prefix** (``--ServerApp.base_url=/user/demo/``, as on Binder and
  every JupyterHub), where media paths must stay under the prefix.

Each frontend is one server for the session (``notebook7`` / ``hub_lab`` in ``browser/fixtures.py``);
the checks per notebook are the JupyterLab ones (``browser/notebooks.py``).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from browser import REPO, LabServer, bar_all_but, console_errors, screenshot, widget_error_count
from browser.fixtures import HUB_PREFIX
from browser.notebooks import BY_NAME, NOTEBOOK7_NOISE, check_demo_notebook

pytestmark = pytest.mark.browser

FRONTENDS = {"notebook7": NOTEBOOK7_NOISE, "hub_lab": ()}
NOTEBOOKS = ("01-quickstart.ipynb", "02-studio.ipynb")


def shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``$KUBEEZ_BROWSER_SHOTS`` (to look at them), else the test's temp dir."""
    return Path(os.environ.get("KUBEEZ_BROWSER_SHOTS") or tmp_path)


def overflow(page: Any, selector: str) -> list[str]:
    """The elements under ``selector`` that stick out past the right edge of the viewport."""
    return page.eval_on_selector_all(
        selector,
        """els => els.filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                    .map(e => `${e.className} right=${Math.round(e.getBoundingClientRect().right)}`)""",
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", NOTEBOOKS, ids=[Path(n).stem for n in NOTEBOOKS])
@pytest.mark.parametrize("frontend", FRONTENDS)
def test_demo_notebook_runs_in(
    frontend: str, name: str, request: pytest.FixtureRequest, page: Any, tmp_path: Path
) -> None:
    server: LabServer = request.getfixturevalue(frontend)

    check_demo_notebook(page, server, BY_NAME[name], ignore=FRONTENDS[frontend])

    stem = f"{frontend}-{Path(name).stem}"
    if name == "02-studio.ipynb":
        studio = page.locator(".kubeez-studio").first
        studio.scroll_into_view_if_needed()
        screenshot(page, shots(tmp_path) / f"{stem}-1400.png")
        if frontend == "notebook7":  # the narrow window people keep beside their editor
            page.set_viewport_size({"width": 800, "height": 900})
            page.wait_for_timeout(500)  # let Lumino re-lay the tab bar out
            studio.scroll_into_view_if_needed()
            screenshot(page, shots(tmp_path) / f"{stem}-800.png")
            assert (
                overflow(
                    page, ".kubeez-studio, .kubeez-studio .lm-TabBar, .kubeez-studio .kubeez-panel"
                )
                == []
            )
            assert widget_error_count(page) == 0
    else:
        screenshot(page, shots(tmp_path) / f"{stem}.png")


def test_notebook7_tree_lists_the_demos_and_opens_one(
    notebook7: LabServer, page: Any, tmp_path: Path
) -> None:
    blocked = bar_all_but(page, notebook7.base)
    page.goto(notebook7.tree_url(), wait_until="domcontentloaded")
    listing = page.locator(".jp-DirListing-content")
    listing.locator(".jp-DirListing-itemName", has_text="02-studio.ipynb").wait_for(timeout=30_000)
    names = [t.strip() for t in listing.locator(".jp-DirListing-itemName").all_inner_texts()]
    demos = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert set(demos) <= set(names), names
    screenshot(page, shots(tmp_path) / "notebook7-tree.png")
    # checked before opening: once the notebook opens in its own tab, the tree tab logs Notebook
    # 7's own "Cannot read properties of null (reading 'updateRenderOption')"
    assert console_errors(page, NOTEBOOK7_NOISE) == []

    with page.context.expect_page(timeout=30_000) as opened:
        listing.locator(".jp-DirListing-item", has_text="01-quickstart.ipynb").first.dblclick()
    notebook = opened.value
    notebook.wait_for_url("**/notebooks/01-quickstart.ipynb*", timeout=30_000)
    notebook.locator(
        ".jp-NotebookPanel .jp-Cell", has_text="import kubeez_nb as kz"
    ).first.wait_for(timeout=30_000)
    assert blocked == []
    notebook.close()


def test_hub_lab_answers_only_under_its_prefix(hub_lab: LabServer) -> None:
    """The guard: the server really is behind ``/user/demo/`` (a root-absolute URL would 404)."""
    assert hub_lab.prefix == HUB_PREFIX
    assert hub_lab.api("api/status")["started"]
    root = f"http://127.0.0.1:{hub_lab.port}/api/status?token={hub_lab.token}"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(root, timeout=10)
    assert err.value.code == 404
