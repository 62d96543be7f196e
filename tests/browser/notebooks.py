"""What each demo notebook must show once it ran in a browser, and the one check every frontend
test uses (``check_demo_notebook``): JupyterLab, Lab under a hub prefix, Notebook 7.

The emulator runs inside the kernel on a random loopback port. On Binder or any remote hub the
browser cannot reach that port, so any output that points the browser there is a broken medium.
The check bars every origin but the server's own (``bar_all_but``): media must travel through the
Jupyter server (``/files/`` under its base URL, data: URIs or widget messages).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from browser import (
    IGNORED,
    LabServer,
    bar_all_but,
    cell_errors,
    console_errors,
    loopback_references,
    origin_key,
    run_notebook,
    wait_kernel_idle,
    wait_media,
    widget_error_count,
)


def code_prompts(page: Any) -> list[str]:
    """The input prompts of the notebook in view (``[3]:``, ``[ ]:`` ...), in order."""
    return [
        t.strip()
        for t in page.locator("[data-kz-active] .jp-CodeCell .jp-InputPrompt").all_inner_texts()
    ]


_TAG_CELL_JS = """(snippet) => {
    const cells = [...document.querySelectorAll('[data-kz-active] .jp-CodeCell')];
    const i = cells.findIndex(c => (c.querySelector('.jp-InputArea-editor') || c).innerText.includes(snippet));
    if (i < 0) return null;
    cells[i].setAttribute('data-kz-cell', String(i));
    return i;
}"""


def cell_selector(page: Any, snippet: str) -> str:
    """A CSS selector for the code cell of the notebook in view whose source contains ``snippet``."""
    index = page.evaluate(_TAG_CELL_JS, snippet)
    assert index is not None, f"no code cell contains {snippet!r}"
    return f'[data-kz-active] .jp-CodeCell[data-kz-cell="{index}"]'


def media_in(cell: str) -> str:
    """The media elements in a cell's outputs."""
    return ", ".join(f"{cell} .jp-OutputArea-output {tag}" for tag in ("img", "video", "audio"))


# ---- per-notebook expectations --------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """What one code cell (found by a snippet of its source) must show once the notebook ran:
    at least this many media elements per tag, and these CSS selectors visible in its outputs."""

    source: str
    media: dict[str, int] = field(default_factory=dict)
    shows: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expect:
    """One demo notebook: its cells' expectations and an optional interaction once it ran."""

    notebook: str
    cells: tuple[Cell, ...]
    interact: Callable[[Any], None] | None = None


def _generate_in_standalone_panel(page: Any) -> None:
    """02-studio: the single-model panel (kling video) generates; the video arrives through the
    widget channel (a blob: URL), not from the emulator's address."""
    cell = cell_selector(page, 'kz.panel("kling-3-0-std"')
    panel = page.locator(f"{cell} .kubeez-panel").first
    prompt = panel.locator(".kubeez-field-prompt textarea")
    words = "a paper boat drifting down a rainy street"
    prompt.fill(words)
    prompt.press("Tab")
    # the live character count proves the kernel got the text
    panel.locator(".kubeez-field-prompt .kubeez-count", has_text=f"{len(words)} /").wait_for(
        timeout=15_000
    )
    button = panel.locator("button.kubeez-generate")
    page.wait_for_function(
        "b => !b.disabled", arg=button.element_handle(), timeout=20_000, polling=200
    )
    button.click()
    panel.locator(".kubeez-done").wait_for(timeout=120_000)
    report = wait_media(page, {"video": 1}, media_in(cell))
    assert all(r["src"].startswith("blob:") for r in report), [r["src"][:80] for r in report]
    assert report[0]["duration"] == pytest.approx(5.0, abs=0.2), report[0]  # the 5 s asked for


TABLE = ".jp-OutputArea-output table"
EXPECT = [
    Expect(
        "01-quickstart.ipynb",
        (
            Cell("image.wait()", {"img": 1}),
            Cell("video.wait()", {"video": 1}),
            Cell("voice.wait()", {"audio": 1}),
        ),
    ),
    Expect(
        "02-studio.ipynb",
        (
            Cell(
                "kz.studio(client)",
                shows=(
                    ".kubeez-studio .lm-TabBar-tab",
                    ".kubeez-studio button.kubeez-generate",
                    ".kubeez-balance",
                ),
            ),
            Cell('kz.panel("kling-3-0-std"', shows=(".kubeez-panel button.kubeez-generate",)),
        ),
        _generate_in_standalone_panel,
    ),
    Expect(
        "03-magic.ipynb",
        (
            Cell("%kubeez --ar 16:9 a red fox", {"img": 1}),
            Cell("-o clip", {"video": 1}),
            Cell("%%kubeez --ar 9:16", {"img": 1}),
            Cell("%kubeez say", {"audio": 1}),
            Cell("%kubeez models video", shows=(TABLE,)),
        ),
    ),
    Expect(
        "04-batch-and-compare.ipynb",
        (
            Cell("kz.batch(", {"img": 6}),  # 2 prompts x 3 models, side by side
            Cell("result.df[", shows=(TABLE,)),
        ),
    ),
    Expect(
        "05-cost-report.ipynb",
        (
            Cell("report = kz.cost_report(df", {"img": 7}, shows=(TABLE,)),  # 7 charts, data: PNGs
        ),
    ),
    Expect(
        "06-assets-captions-separation.ipynb",
        (
            Cell("edit.wait()", {"img": 1}),
            Cell("client.captions(", shows=(TABLE,)),
            Cell("generate_music(", {"audio": 2, "img": 2}),  # two tracks, each with its cover
            Cell("client.separate(", {"audio": 2}),  # vocals and instrumental
        ),
    ),
]

BY_NAME = {e.notebook: e for e in EXPECT}


def check_demo_notebook(
    page: Any, server: LabServer, expect: Expect, ignore: tuple[re.Pattern[str], ...] = ()
) -> list[dict[str, Any]]:
    """Open ``expect.notebook`` on ``server`` with the page barred from every other address, run
    it, and assert what a user would see: every cell ran, each cell's media and surfaces, no widget
    or cell error, media only from the server (under its base URL), no console error (``IGNORED``
    plus ``ignore``). Returns the media report of every output."""
    blocked = bar_all_but(page, server.base)

    run_notebook(page, server, expect.notebook, timeout=240)

    prompts = code_prompts(page)
    assert prompts and all(re.search(r"\[\d+\]", p) for p in prompts), (
        f"cells that never ran: {prompts}"
    )
    for cell in expect.cells:
        where = cell_selector(page, cell.source)
        for selector in cell.shows:
            page.locator(f"{where} {selector}").first.wait_for(state="visible", timeout=30_000)
        if cell.media:
            try:
                wait_media(page, cell.media, media_in(where))
            except AssertionError as err:
                raise AssertionError(f"cell {cell.source!r}: {err}") from None
    if expect.interact:
        expect.interact(page)
    report = wait_media(page, {})  # every medium of every output, whichever cell it is in

    assert widget_error_count(page) == 0
    assert cell_errors(page) == []
    loopback = loopback_references(page, server.base)
    assert loopback == [], f"outputs point the browser at the kernel's loopback: {loopback}"
    foreign = [
        r["src"] for r in report if origin_key(r["src"]) not in (None, origin_key(server.base))
    ]
    assert foreign == [], "media loaded from somewhere other than the Jupyter server"
    # same origin is not enough under a hub prefix: a root-absolute /files/... would miss it
    outside = [
        r["src"]
        for r in report
        if origin_key(r["src"]) is not None and not r["src"].startswith(server.base + "/")
    ]
    assert outside == [], f"media outside the server's base URL {server.prefix}: {outside}"
    assert console_errors(page, (*IGNORED, *ignore)) == []
    assert blocked == [], "the page tried to reach an address other than the Jupyter server"
    return report


#: Console noise of a bare Notebook 7.6 page (seen on ``/tree`` with no notebook open and no
#: settings of ours): its shortcuts plugin reads the schema of a plugin the page never loaded.
#: Nothing of kubeez_nb's outputs or widgets can raise these two.
NOTEBOOK7_NOISE: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"^\[error\] Cannot convert undefined or null to object \(https?://[^)]*/static/notebook/notebook_core\.\w+\.js"
    ),
    re.compile(r"^\[pageerror\] Cannot read properties of undefined \(reading 'schema'\)$"),
)


# -- a saved notebook, reopened ------------------------------------------------------------------


def save(page: Any, lab: LabServer, name: str, timeout: float = 30.0) -> dict[str, Any]:
    """Save the notebook in view (Ctrl+S) and return the saved file once it holds outputs."""
    path = lab.root / name
    before = path.stat().st_mtime
    page.locator("[data-kz-active] .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.stat().st_mtime > before:
            saved = json.loads(path.read_text())
            if any(c.get("outputs") for c in saved["cells"]):
                return saved
        page.wait_for_timeout(250)
    raise AssertionError(f"{name} was not saved with its outputs within {timeout:.0f} s")


def reopen(page: Any, lab: LabServer, saved: dict[str, Any], name: str, *, kernel: bool) -> None:
    """Open a copy of ``saved``: with ``kernel`` a fresh one (what opening a saved file does:
    none of the old widget models exist), else No Kernel (no kernelspec, No Kernel chosen)."""
    saved = json.loads(json.dumps(saved))
    if not kernel:
        saved["metadata"].pop("kernelspec", None)
        saved["metadata"].pop("language_info", None)  # Lab would pick a kernel by language
    copy = f"reopened-{'fresh-' if kernel else ''}{name}"
    (lab.root / copy).write_text(json.dumps(saved))
    page.goto(lab.notebook_url(copy), wait_until="domcontentloaded")
    if not kernel:
        try:
            page.locator(".jp-Dialog button", has_text="No Kernel").first.click(timeout=30_000)
        except Exception:  # some Lab versions open it kernel-less without asking
            pass
    page.wait_for_function(
        "() => !!document.querySelector('[data-kz-active] .jp-Notebook .jp-Cell, .jp-Notebook .jp-Cell')",
        timeout=60_000,
    )
    if kernel:
        wait_kernel_idle(page)
    page.wait_for_timeout(2000)  # outputs render (and widget views fail) asynchronously
    status = page.locator(".jp-Notebook-ExecutionIndicator, .jp-KernelName").first.inner_text()
    assert ("No Kernel" not in status) == kernel, f"kernel status {status!r}"
