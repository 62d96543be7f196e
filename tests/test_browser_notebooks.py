"""Every demo notebook in real JupyterLab (headless Chromium, demo mode), with the page barred from
every address but the Jupyter server's own: it runs to the end, shows no widget or cell error, and
every image, video and audio element in its outputs really loads.

The emulator runs inside the kernel on a random loopback port. On Binder or any remote hub the
browser cannot reach that port, so any output that points the browser there is a broken medium.
Barring every origin but Lab's (a Playwright route on the page's context) reproduces that here:
the media must travel through the Jupyter server (``/files/``, data: URIs or widget messages).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser import (
    IGNORED_CONSOLE,
    OUTPUT_MEDIA_SELECTOR,
    REPO,
    LabServer,
    cell_errors,
    console_errors,
    media_report,
    run_notebook,
    widget_error_count,
)

pytestmark = pytest.mark.browser

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
#: An attribute that makes the browser fetch (or link to) an address on the kernel's machine.
LOOPBACK_URL = re.compile(r"^\s*(?:(?:https?|wss?):)?//(?:127\.\d+\.\d+\.\d+|localhost|\[::1\]|0\.0\.0\.0)[:/]", re.I)
#: Noise of a healthy offline session on top of the harness's IGNORED_CONSOLE, each explained.
#: Nothing here can match an error of kubeez_nb's outputs or widgets.
LAB_NOISE: tuple[re.Pattern[str], ...] = (
    # Voila's template links a CDN stylesheet (font-awesome on cdn.jsdelivr.net); the bar aborts
    # it and Chromium suffixes the code with ".Inspector", which the harness's pattern does not
    # expect. A refused loopback request (the emulator) stays an error: it is excluded here.
    re.compile(r"Failed to load resource: net::ERR_BLOCKED_BY_CLIENT\.Inspector \(https?://(?!127\.|localhost|\[::1\]|0\.0\.0\.0)"),
)
IGNORED = (*IGNORED_CONSOLE, *LAB_NOISE)


# ---- the page's network: only the server it was opened from -------------------------------------
def origin_key(url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s)/ws(s) URL, loopback spellings folded into one host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    host = "loopback" if host in LOOPBACK_NAMES or host.startswith("127.") else host
    return host, parts.port or (443 if parts.scheme in ("https", "wss") else 80)


def bar_all_but(page: Any, server_url: str) -> list[str]:
    """Abort every request of the page's context that is not to ``server_url``'s host:port.

    Returns the live list of the URLs refused. (The harness's ``block_host`` bars one known
    address; the emulator's port is random inside the kernel, so here everything else is barred.)
    """
    allowed = origin_key(server_url)
    blocked: list[str] = []

    def foreign(url: str) -> bool:
        key = origin_key(url)
        return key is not None and key != allowed  # data:, blob: never reach the network

    def refuse(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort("blockedbyclient")

    page.context.route(foreign, refuse)
    return blocked


# ---- what the outputs show ------------------------------------------------------------------------
_LINKS_JS = """(els) => {
    const out = [];
    for (const el of els) {
        for (const name of ['src', 'srcset', 'poster', 'data', 'href']) {
            const v = el.getAttribute(name);
            // A URL written as text (a repr's base_url, the demo banner) is turned into a link by
            // Lab's text and markdown renderers: the anchor's text is the URL itself. That is
            // text on screen, not a medium or a link kubeez_nb built, so it is not counted here.
            const autolink = !!v && name === 'href' && el.textContent.trim() === v.trim();
            if (v && !autolink) out.push({tag: el.tagName.toLowerCase(), name, value: v});
        }
    }
    return out;
}"""


def loopback_references(page: Any, server_url: str, scope: str = ".jp-OutputArea-output") -> list[str]:
    """``<tag attr=...>`` of every element under ``scope`` (default: the outputs) whose src /
    srcset / poster / data / href points at a loopback address other than the server's own
    (Lab itself rewrites a relative ``src`` into an absolute URL of its own origin)."""
    own = origin_key(server_url)
    selector = ", ".join(f"{scope} {a}" for a in ("[src]", "[srcset]", "[poster]", "object[data]", "a[href]"))
    attrs = page.eval_on_selector_all(selector, _LINKS_JS)
    return [
        f"<{a['tag']} {a['name']}={a['value'][:140]!r}>"
        for a in attrs
        if LOOPBACK_URL.search(a["value"]) and origin_key(a["value"].split()[0]) != own
    ]


def wait_media(page: Any, need: dict[str, int], selector: str = OUTPUT_MEDIA_SELECTOR,
               timeout: float = 60.0) -> list[dict[str, Any]]:
    """Wait until the outputs hold at least ``need[tag]`` elements of each tag and every matched
    element loaded (an image decoded; a video or audio decoded its metadata, so it has a length:
    a server that merely answers is not enough); fail naming what is missing or broken."""
    deadline = time.monotonic() + timeout
    while True:
        report = media_report(page, selector)
        counts = Counter(r["tag"] for r in report)
        short = {tag: n for tag, n in need.items() if counts[tag] < n}
        bad = [r for r in report if not r["ok"] or (r["tag"] != "img" and not (r["duration"] or 0) > 0)]
        if not short and not bad:
            return report
        if time.monotonic() > deadline:
            lines = "\n".join(f"  <{r['tag']} src={r['src'][:140]!r}>: {r['reason'] or 'no metadata (duration unknown)'}" for r in bad)
            raise AssertionError(
                f"media in the outputs: {dict(counts)}; wanted at least {need}"
                + (f"; missing {short}" if short else "")
                + (f"\n{len(bad)} did not load:\n{lines}" if bad else "")
            )
        page.wait_for_timeout(250)


def code_prompts(page: Any) -> list[str]:
    """The input prompts of the notebook in view (``[3]:``, ``[ ]:`` ...), in order."""
    return [t.strip() for t in page.locator("[data-kz-active] .jp-CodeCell .jp-InputPrompt").all_inner_texts()]


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
    panel.locator(".kubeez-field-prompt .kubeez-count", has_text=f"{len(words)} /").wait_for(timeout=15_000)
    button = panel.locator("button.kubeez-generate")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle(), timeout=20_000, polling=200)
    button.click()
    panel.locator(".kubeez-done").wait_for(timeout=120_000)
    report = wait_media(page, {"video": 1}, media_in(cell))
    assert all(r["src"].startswith("blob:") for r in report), [r["src"][:80] for r in report]
    assert report[0]["duration"] == pytest.approx(5.0, abs=0.2), report[0]  # the 5 s asked for


TABLE = ".jp-OutputArea-output table"
EXPECT = [
    Expect("01-quickstart.ipynb", (
        Cell("image.wait()", {"img": 1}),
        Cell("video.wait()", {"video": 1}),
        Cell("voice.wait()", {"audio": 1}),
    )),
    Expect("02-studio.ipynb", (
        Cell("kz.studio(client)", shows=(".kubeez-studio .lm-TabBar-tab", ".kubeez-studio button.kubeez-generate",
                                        ".kubeez-balance")),
        Cell('kz.panel("kling-3-0-std"', shows=(".kubeez-panel button.kubeez-generate",)),
    ), _generate_in_standalone_panel),
    Expect("03-magic.ipynb", (
        Cell("%kubeez --ar 16:9 a red fox", {"img": 1}),
        Cell("-o clip", {"video": 1}),
        Cell("%%kubeez --ar 9:16", {"img": 1}),
        Cell("%kubeez say", {"audio": 1}),
        Cell("%kubeez models video", shows=(TABLE,)),
    )),
    Expect("04-batch-and-compare.ipynb", (
        Cell("kz.batch(", {"img": 6}),  # 2 prompts x 3 models, side by side
        Cell('result.df[', shows=(TABLE,)),
    )),
    Expect("05-cost-report.ipynb", (
        Cell("report = kz.cost_report(df", {"img": 7}, shows=(TABLE,)),  # 7 charts, data: PNGs
    )),
    Expect("06-assets-captions-separation.ipynb", (
        Cell("edit.wait()", {"img": 1}),
        Cell("client.captions(", shows=(TABLE,)),
        Cell("generate_music(", {"audio": 2, "img": 2}),  # two tracks, each with its cover
        Cell("client.separate(", {"audio": 2}),  # vocals and instrumental
    )),
]


def test_every_demo_notebook_is_covered() -> None:
    on_disk = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert on_disk == sorted(e.notebook for e in EXPECT)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("expect", EXPECT, ids=[Path(e.notebook).stem for e in EXPECT])
def test_demo_notebook_in_jupyterlab(expect: Expect, lab: LabServer, page: Any) -> None:
    blocked = bar_all_but(page, lab.base)

    run_notebook(page, lab, expect.notebook, timeout=240)

    prompts = code_prompts(page)
    assert prompts and all(re.search(r"\[\d+\]", p) for p in prompts), f"cells that never ran: {prompts}"
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
    loopback = loopback_references(page, lab.base)
    assert loopback == [], f"outputs point the browser at the kernel's loopback: {loopback}"
    foreign = [r["src"] for r in report if origin_key(r["src"]) not in (None, origin_key(lab.base))]
    assert foreign == [], "media loaded from somewhere other than the Jupyter server"
    assert console_errors(page, IGNORED) == []
    assert blocked == [], "the page tried to reach an address other than the Jupyter server"


def test_the_bar_breaks_an_emulator_url_and_the_checks_name_it(lab: LabServer, chromium: Any, page: Any,
                                                                client: Any) -> None:
    """The guard itself: an output that shows a medium by the emulator's own URL loads in an
    open page but not in a barred one, and both checks name it."""
    job = client.generate_media(model="nano-banana-2", prompt="a guard image", aspect_ratio="1:1").wait()
    url = job.outputs[0].url
    assert origin_key(url) == origin_key(client.base_url)  # the emulator's loopback address
    html = (
        f'<div class="jp-OutputArea-output"><img id="emu" src="{url}">'
        f'<img id="lab" src="{lab.url("static/favicons/favicon.ico")}"></div>'
    )
    open_page = chromium.new_page()
    try:
        open_page.set_content(html, wait_until="load")
        assert all(r["ok"] for r in media_report(open_page)), "the emulator's image should load unbarred"
    finally:
        open_page.close()

    blocked = bar_all_but(page, lab.base)
    page.set_content(html, wait_until="load")

    report = {r["src"].split("?")[0]: r["ok"] for r in media_report(page)}
    assert report[url.split("?")[0]] is False
    assert report[lab.url("static/favicons/favicon.ico").split("?")[0]] is True
    assert blocked == [url]
    assert loopback_references(page, lab.base) == [f"<img src={url[:140]!r}>"]
    assert any("ERR_BLOCKED_BY_CLIENT" in e for e in console_errors(page, IGNORED))
