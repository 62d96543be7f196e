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
from dataclasses import dataclass
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

pytest_plugins = ["browser.fixtures"]  # lab, chromium, page, voila
pytestmark = pytest.mark.browser

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
#: An attribute that makes the browser fetch (or link to) an address on the kernel's machine.
LOOPBACK_URL = re.compile(r"^\s*(?:(?:https?|wss?):)?//(?:127\.\d+\.\d+\.\d+|localhost|\[::1\]|0\.0\.0\.0)[:/]", re.I)
#: JupyterLab noise of a healthy offline session on top of the harness's IGNORED_CONSOLE (each one
#: explained). Nothing here can match an error raised by kubeez_nb's outputs or widgets.
LAB_NOISE: tuple[re.Pattern[str], ...] = ()
IGNORED = (*IGNORED_CONSOLE, *LAB_NOISE)


# ---- the page's network: only the server it was opened from -------------------------------------
def _origin_key(url: str) -> tuple[str, int] | None:
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
    allowed = _origin_key(server_url)
    blocked: list[str] = []

    def foreign(url: str) -> bool:
        key = _origin_key(url)
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


def loopback_references(page: Any, server_url: str) -> list[str]:
    """``<tag attr=...>`` of every element in the outputs whose src / srcset / poster / data /
    href points at a loopback address other than the server's own (Lab itself rewrites a
    relative ``src`` into an absolute URL of its own origin)."""
    own = _origin_key(server_url)
    attrs = page.eval_on_selector_all(
        ".jp-OutputArea-output [src], .jp-OutputArea-output [srcset], .jp-OutputArea-output [poster],"
        " .jp-OutputArea-output object[data], .jp-OutputArea-output a[href]",
        _LINKS_JS,
    )
    return [
        f"<{a['tag']} {a['name']}={a['value'][:140]!r}>"
        for a in attrs
        if LOOPBACK_URL.search(a["value"]) and _origin_key(a["value"].split()[0]) != own
    ]


def wait_media(page: Any, need: dict[str, int], selector: str = OUTPUT_MEDIA_SELECTOR,
               timeout: float = 60.0) -> list[dict[str, Any]]:
    """Wait until the outputs hold at least ``need[tag]`` elements of each tag and every matched
    element loaded; fail naming the missing kinds and the elements that did not load."""
    deadline = time.monotonic() + timeout
    while True:
        report = media_report(page, selector)
        counts = Counter(r["tag"] for r in report)
        short = {tag: n for tag, n in need.items() if counts[tag] < n}
        bad = [r for r in report if not r["ok"]]
        if not short and not bad:
            return report
        if time.monotonic() > deadline:
            lines = "\n".join(f"  <{r['tag']} src={r['src'][:140]!r}>: {r['reason']}" for r in bad)
            raise AssertionError(
                f"media in the outputs: {dict(counts)}; wanted at least {need}"
                + (f"; missing {short}" if short else "")
                + (f"\n{len(bad)} did not load:\n{lines}" if bad else "")
            )
        page.wait_for_timeout(250)


def code_prompts(page: Any) -> list[str]:
    """The input prompts of the notebook in view (``[3]:``, ``[ ]:`` ...), in order."""
    return [t.strip() for t in page.locator("[data-kz-active] .jp-CodeCell .jp-InputPrompt").all_inner_texts()]


# ---- per-notebook expectations --------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    """What a notebook must show once it ran: at least this many media elements per tag, these
    surfaces (CSS selectors) visible, and an optional interaction on the rendered page."""

    notebook: str
    media: dict[str, int]
    surfaces: tuple[str, ...] = ()
    interact: Callable[[Any], None] | None = None


def _generate_in_standalone_panel(page: Any) -> None:
    """02-studio: the single-model panel (kling video) generates and shows the video through the
    widget channel (blob: URL), not the emulator's address."""
    panel = page.locator(".kubeez-panel").filter(has=page.locator(".kubeez-model-info", has_text="kling-3-0-std")).last
    panel.wait_for(state="visible", timeout=30_000)
    prompt = panel.locator(".kubeez-field-prompt textarea")
    words = "a paper boat drifting down a rainy street"
    prompt.fill(words)
    prompt.press("Tab")
    panel.locator(".kubeez-field-prompt .kubeez-count", has_text=f"{len(words)} /").wait_for(timeout=15_000)
    button = panel.locator("button.kubeez-generate")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle(), timeout=20_000, polling=200)
    button.click()
    panel.locator(".kubeez-done").wait_for(timeout=120_000)
    video = panel.locator(".kubeez-result video").first
    video.wait_for(state="attached", timeout=10_000)
    src = video.evaluate("v => v.currentSrc || v.src")
    assert src.startswith("blob:"), f"the panel's video is not widget bytes: {src[:120]}"


EXPECT = [
    Expect("01-quickstart.ipynb", {"img": 1, "video": 1, "audio": 1}),
    Expect("02-studio.ipynb", {"video": 1}, (".kubeez-studio .lm-TabBar, .kubeez-studio .widget-tab",
                                             ".kubeez-studio button.kubeez-generate", ".kubeez-balance"),
           _generate_in_standalone_panel),
    Expect("03-magic.ipynb", {"img": 2, "video": 1, "audio": 1}),
    Expect("04-batch-and-compare.ipynb", {"img": 6}),
    Expect("05-cost-report.ipynb", {"img": 3}),
    Expect("06-assets-captions-separation.ipynb", {"img": 2, "audio": 3}),
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
    for selector in expect.surfaces:
        page.locator(selector).first.wait_for(state="visible", timeout=30_000)
    if expect.interact:
        expect.interact(page)
    report = wait_media(page, expect.media)

    assert widget_error_count(page) == 0
    assert cell_errors(page) == []
    loopback = loopback_references(page, lab.base)
    assert loopback == [], f"outputs point the browser at the kernel's loopback: {loopback}"
    foreign = [r["src"] for r in report if _origin_key(r["src"]) not in (None, _origin_key(lab.base))]
    assert foreign == [], "media loaded from somewhere other than the Jupyter server"
    assert console_errors(page, IGNORED) == []
    assert blocked == [], "the page tried to reach an address other than the Jupyter server"
