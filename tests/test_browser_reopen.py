"""Every demo notebook run in JupyterLab, then read without a kernel; the cost report fits its page.

Every demo notebook is run in JupyterLab (``browser.notebooks.check_demo_notebook``: it runs to
the end with no widget or cell error, every medium loads through the Jupyter server only), saved,
and its saved copy reopened with **No Kernel** and with a fresh kernel that ran nothing: what a
colleague sees opening the file later. No output may say "Error displaying widget", the studio
and panel cells included (they leave a static trace of what they made), and every medium of the
saved outputs still loads through the Jupyter server.

The cost report cell of ``05-cost-report.ipynb`` (2,000 generations) must stay under 2,500 px
tall with its sections collapsed, and its HTML export must have no element wider than the
element that contains it, at 800 and 1,400 px.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser import LabServer, bar_all_but, wait_media
from browser.notebooks import EXPECT, Expect, cell_selector, check_demo_notebook, reopen, save

pytestmark = pytest.mark.browser

#: cells whose expected media are the live widget's (``blob:`` URLs), not in a saved copy
LIVE_APPS = ("kz.studio(", "kz.panel(")

_WIDGET_ERRORS_JS = """() => {
    const panel = document.querySelector('[data-kz-active]') || document;
    const out = [];
    panel.querySelectorAll('.jp-CodeCell').forEach((cell, i) => {
        const src = (cell.querySelector('.jp-InputArea-editor') || cell).innerText;
        const shown = (cell.querySelector('.jp-OutputArea') || {innerText: ''}).innerText;
        if (shown.includes('Error displaying widget')) out.push(i + ': ' + src.slice(0, 80));
    });
    return out;
}"""

_TOO_WIDE_JS = """() => {
    document.querySelectorAll('details').forEach(d => d.open = true);
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
        const parent = el.parentElement;
        if (!parent) continue;
        const r = el.getBoundingClientRect(), p = parent.getBoundingClientRect();
        if (r.width > 0 && r.right > p.right + 1 && getComputedStyle(parent).overflowX === 'visible')
            out.push(`${el.tagName}.${el.className} ${Math.round(r.width)} px in ${Math.round(p.width)} px`);
    }
    return out;
}"""


def _check_saved_outputs(page: Any, lab: LabServer, expect: Expect) -> None:
    broken = page.evaluate(_WIDGET_ERRORS_JS)
    assert broken == [], f"saved outputs that reopen as 'Error displaying widget': {broken}"
    need: dict[str, int] = {}
    for cell in expect.cells:
        if not any(app in cell.source for app in LIVE_APPS):
            for tag, n in cell.media.items():
                need[tag] = need.get(tag, 0) + n
    report = wait_media(page, need)  # the saved media still load, through the server only
    assert all(r["ok"] for r in report)


def _check_cost_report(page: Any, lab: LabServer, chromium: Any) -> None:
    """The report cell is compact collapsed; its HTML export fits at 800 and 1,400 px."""
    cell = cell_selector(page, "report = kz.cost_report(df")
    height = page.locator(f"{cell} .jp-OutputArea").first.bounding_box()["height"]
    assert 300 < height < 2500, f"the report cell is {height:.0f} px tall collapsed"
    export = lab.root / "kubeez-data" / "exports" / "kubeez-cost-report.html"
    assert export.is_file()
    for width in (800, 1400):
        view = chromium.new_page(viewport={"width": width, "height": 900})
        try:
            view.goto(export.as_uri())
            too_wide = view.evaluate(_TOO_WIDE_JS)
            opened = view.evaluate("() => document.querySelectorAll('details[open]').length")
        finally:
            view.close()
        assert opened >= 5, "the check must look inside the collapsed sections too"
        assert too_wide == [], f"at {width} px: {too_wide}"


#: checks of one notebook's live page, run after it ran and before it is saved
AFTER_RUN = {"05-cost-report.ipynb": _check_cost_report}


@pytest.mark.timeout(420)
@pytest.mark.parametrize("expect", EXPECT, ids=[Path(e.notebook).stem for e in EXPECT])
def test_a_demo_notebook_runs_in_lab_and_reopens_without_a_kernel_with_no_widget_error(
    expect: Expect, lab: LabServer, page: Any, chromium: Any
) -> None:
    check_demo_notebook(page, lab, expect)  # runs to the end, media through the server only
    if expect.notebook in AFTER_RUN:
        AFTER_RUN[expect.notebook](page, lab, chromium)
    saved = save(page, lab, expect.notebook)
    blocked = bar_all_but(page, lab.base)
    for kernel in (False, True):
        reopen(page, lab, saved, expect.notebook, kernel=kernel)
        _check_saved_outputs(page, lab, expect)
    assert blocked == []
