"""Real-browser test harness: JupyterLab and Voila in subprocesses, headless Chromium via Playwright.

Browser tests live in ``tests/test_browser_*.py``, carry ``@pytest.mark.browser`` and load this
module's fixtures as a pytest plugin (the root ``conftest.py`` does not)::

    import pytest
    from browser import assert_media_loaded, block_host, open_notebook, run_all_cells, ...

    pytest_plugins = ["browser.fixtures"]  # lab, chromium, page, voila
    pytestmark = pytest.mark.browser

    def test_studio(lab, page):
        lab.write_notebook("studio/studio.ipynb", ["import kubeez_nb as kz", "kz.studio()"])
        run_notebook(page, lab, "studio/studio.ipynb")   # open, Run All, wait for every cell
        assert widget_error_count(page) == 0
        assert cell_errors(page) == [] and console_errors(page) == []

``lab.root`` is shared by the session: give each test its own sub-folder.

Fixtures (``browser/fixtures.py``)
----------------------------------
``lab`` (session server, per-test cleanup)
    A :class:`LabServer`: ``python -m jupyter lab`` on a free loopback port with a random token,
    ``root`` = a temp copy of the repository's ``notebooks/`` folder, env ``KUBEEZ_DEMO=1`` and
    ``KUBEEZ_HOME=<root>/kubeez-data`` (no API key or base URL leaks in from the test run). User
    settings, workspaces, runtime and IPython dirs are private temp folders; cells are all attached
    to the DOM (``windowingMode: none``) so output checks see every cell; news/update toasts are
    off. Started once (~3-10 s) as ``lab_server``, stopped with its kernels at the end; after each
    test using ``lab`` the kernels that test started are shut down (``lab.stop_kernels()``). ``lab.write_notebook(name,
    cells)`` adds a notebook; ``lab.url(path)`` builds a tokenised URL; ``lab.log()`` is the
    server log (shown when start-up fails).
``notebook7`` / ``hub_lab`` (session servers, per-test cleanup)
    The same, as Notebook 7 (``python -m jupyter notebook``; ``notebook_url`` is
    ``/notebooks/<name>``, ``tree_url()`` is ``/tree``) and as JupyterLab under
    ``--ServerApp.base_url=/user/demo/`` (``base`` includes the prefix; ``prefix`` is it). Servers
    are started by ``start_lab(root, private, app=..., base_url=..., settings=..., extra_args=...)``
    in ``browser/servers.py``; what each demo notebook must show and the check every frontend
    runs (``check_demo_notebook``) live in ``browser/notebooks.py``.
``chromium`` (session)
    A Playwright ``Browser``: ``/usr/bin/chromium`` headless with the flags in ``CHROMIUM_ARGS``
    (never ``playwright install``). Skips the test when Chromium is missing.
``page`` (function)
    A fresh ``Page`` (own context, 1400x900) whose console messages and page errors are recorded
    from the start: read them with ``console_errors(page)`` / ``console_messages(page)``. A
    screenshot ``<test name>.png`` lands in ``$KUBEEZ_BROWSER_SHOTS`` (default: pytest's temp dir)
    when the test fails.
``voila`` (function)
    A factory: ``voila(notebook_path, root=None) -> VoilaServer`` starts ``voila <nb>
    --no-browser`` on a free port (same env as ``lab``, ``KUBEEZ_HOME=<root or the notebook's
    folder>/kubeez-data``; cwd = the notebook's folder) and stops it after the test. Open
    ``server.url`` and call ``wait_for_voila(page)``. Relative ``<img src>`` in outputs load there
    too.

Helpers (plain functions taking the Playwright ``page``)
--------------------------------------------------------
``open_notebook``, ``wait_kernel_idle``, ``run_all_cells``, ``wait_cells_done``,
``run_notebook`` (all four in one), ``cell_errors`` (tracebacks in outputs), ``console_errors``,
``console_messages``,
``widget_error_count``, ``screenshot``, ``block_host`` (abort every request to the emulator's
host:port, returns the list of blocked URLs), ``media_report`` / ``assert_media_loaded`` (every
``<img>``, ``<video>``, ``<audio>`` really loaded), ``wait_for_voila``.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from browser.servers import START_TIMEOUT_S as START_TIMEOUT_S
from browser.servers import LabServer as LabServer
from browser.servers import VoilaServer as VoilaServer
from browser.servers import free_port as free_port
from browser.servers import notebook_json as notebook_json
from browser.servers import start_lab as start_lab
from browser.servers import start_voila as start_voila
from browser.servers import wait_for_voila as wait_for_voila

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: Console noise of a healthy offline session (not our errors): favicons, Lab's optional
#: endpoints, and Voila's CDN stylesheets (font-awesome) that cannot load without internet.
IGNORED_CONSOLE = (
    re.compile(r"favicon", re.I),
    re.compile(
        r"Failed to load resource: net::ERR_\w+ \(https?://(?!127\.0\.0\.1|localhost|\[::1\])"
    ),
    re.compile(
        r"Failed to load resource: the server responded with a status of 404 .*(lab/api/translations|api/workspaces|lsp)",
        re.I,
    ),
    re.compile(r"\[lsp\]|language server", re.I),
)
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0"}


# ---- processes ----------------------------------------------------------------------------------
def require_chromium() -> None:
    """Skip the calling test when Debian's Chromium is not installed."""
    if not os.path.exists(CHROMIUM_PATH):
        import pytest

        pytest.skip("chromium not installed: apt-get install chromium")


# ---- Chromium -------------------------------------------------------------------------------------
@dataclass
class ConsoleEntry:
    """One console message or uncaught page error."""

    type: str
    text: str
    url: str = ""

    def __str__(self) -> str:
        return f"[{self.type}] {self.text}" + (f" ({self.url})" if self.url else "")


_CONSOLE: weakref.WeakKeyDictionary[Any, list[ConsoleEntry]] = weakref.WeakKeyDictionary()


def watch_console(page: Any) -> list[ConsoleEntry]:
    """Start recording ``page``'s console messages and page errors (the ``page`` fixture does this)."""
    entries = _CONSOLE.setdefault(page, [])

    def on_console(msg: Any) -> None:
        loc = msg.location or {}
        entries.append(ConsoleEntry(msg.type, msg.text, str(loc.get("url") or "")))

    page.on("console", on_console)
    page.on("pageerror", lambda exc: entries.append(ConsoleEntry("pageerror", str(exc))))
    return entries


def console_messages(page: Any) -> list[ConsoleEntry]:
    """Everything the page logged so far (empty if it was not watched)."""
    return list(_CONSOLE.get(page, []))


def console_errors(
    page: Any, ignore: Sequence[re.Pattern[str] | str] = IGNORED_CONSOLE
) -> list[str]:
    """Console errors and uncaught exceptions, minus known JupyterLab noise (``ignore``)."""
    patterns = [re.compile(p) if isinstance(p, str) else p for p in ignore]
    return [
        str(e)
        for e in console_messages(page)
        if e.type in ("error", "pageerror") and not any(p.search(str(e)) for p in patterns)
    ]


# ---- page helpers -------------------------------------------------------------------------------
# The notebook in view: hidden dock tabs keep their DOM (Lab 4 hides them with content-visibility
# or a zero scale, not always ``lm-mod-hidden``), so "visible" is measured. It is tagged with
# ``data-kz-active`` so Python locators can find it.
_PANEL_JS = """
const kzPanel = () => {
    const shown = p => {
        const r = p.getBoundingClientRect();
        const nb = p.querySelector('.jp-Notebook');
        return r.width > 0 && r.height > 0 && !p.classList.contains('lm-mod-hidden')
            && (!nb || !nb.checkVisibility || nb.checkVisibility());
    };
    const panels = [...document.querySelectorAll('.jp-NotebookPanel')].filter(shown);
    const panel = panels[panels.length - 1] || null;
    document.querySelectorAll('[data-kz-active]').forEach(p => { if (p !== panel) p.removeAttribute('data-kz-active'); });
    if (panel) panel.setAttribute('data-kz-active', '1');
    return panel;
};
const kzPrompts = panel => [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.innerText.trim());
const kzStatus = panel => {
    // Both the toolbar indicator and the status bar must agree: right after a notebook opens
    // the indicator can read idle before the kernel connection is up.
    const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    const fromInd = ind && ind.getAttribute('data-status');
    const bar = document.querySelector('#jp-main-statusbar');
    const line = bar ? (bar.innerText.split('\\n').find(l => l.includes('|')) || '') : '';
    const m = /\\|\\s*(\\w+)\\s*$/.exec(line);
    const fromBar = m ? m[1].toLowerCase() : '';
    if (fromInd && fromBar && fromInd !== fromBar) return fromInd === 'idle' ? fromBar : fromInd;
    return fromInd || fromBar;
};
"""
_ACTIVE_PANEL = "[data-kz-active]"


def _js(body: str) -> str:
    """A page function with the panel helpers in scope."""
    return "() => {" + _PANEL_JS + body + "}"


_KERNEL_IDLE_JS = _js("const panel = kzPanel(); return !!panel && kzStatus(panel) === 'idle';")
_PROMPTS_JS = _js("const panel = kzPanel(); return panel ? kzPrompts(panel) : [];")
_CELLS_DONE_JS = _js("""
    const panel = kzPanel();
    if (!panel) return false;
    const prompts = kzPrompts(panel);
    if (prompts.some(t => t.includes('*')) || kzStatus(panel) !== 'idle') return false;
    return prompts.some(t => /\\[\\d+\\]/.test(t));
""")
_NOTHING_RAN_JS = _js("""
    const panel = kzPanel();
    if (!panel) return false;
    const prompts = kzPrompts(panel);
    return kzStatus(panel) === 'idle' && prompts.every(t => !t.includes('*') && !/\\d/.test(t));
""")


def wait_kernel_idle(page: Any, timeout: float = 60.0) -> None:
    """Wait until the notebook in view has a kernel that reads Idle in both the toolbar indicator
    and the status bar, and still does 0.4 s later (a new kernel flickers idle/busy/idle)."""
    deadline = time.monotonic() + timeout
    while True:
        left = max(0.1, deadline - time.monotonic())
        page.wait_for_function(_KERNEL_IDLE_JS, timeout=left * 1000, polling=100)
        page.wait_for_timeout(400)
        if page.evaluate(_KERNEL_IDLE_JS):
            return


def open_notebook(page: Any, lab: LabServer, name: str, timeout: float = 90.0) -> None:
    """Open ``name`` (relative to ``lab.root``) in a fresh Lab workspace and wait for an idle kernel."""
    page.goto(lab.notebook_url(name), wait_until="domcontentloaded", timeout=timeout * 1000)
    page.wait_for_function(
        _js("const p = kzPanel(); return !!p && !!p.querySelector('.jp-Notebook .jp-Cell');"),
        timeout=timeout * 1000,
        polling=200,
    )
    wait_kernel_idle(page, timeout)


def _prompts(page: Any) -> list[str]:
    return list(page.evaluate(_PROMPTS_JS))


def run_all_cells(page: Any, attempts: int = 3) -> None:
    """Run → Run All Cells (menu bar; the command palette on retries) and check that it started.

    A click that lands while Lab is still settling can be lost, so the helper waits until some
    prompt changed (``[*]`` or a new number) and retries otherwise.
    """
    before = _prompts(page)
    for attempt in range(attempts):
        page.locator(f"{_ACTIVE_PANEL} .jp-Notebook").first.click(position={"x": 5, "y": 5})
        if attempt % 2 == 0:
            with contextlib.suppress(Exception):
                page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click(
                    timeout=5000
                )
                page.locator(
                    ".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")
                ).first.click(timeout=5000)
        else:
            page.keyboard.press("Escape")
            page.keyboard.press("Control+Shift+C")
            page.keyboard.type("Run All Cells")
            page.keyboard.press("Enter")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            now = _prompts(page)
            if now != before or any("*" in p for p in now):
                return
            page.wait_for_timeout(100)
        page.keyboard.press("Escape")  # close a menu or palette left open
    raise AssertionError(
        f"Run All Cells did not start after {attempts} attempts; prompts: {before}"
    )


def wait_cells_done(page: Any, timeout: float = 180.0, *, rerun_if_lost: bool = False) -> None:
    """Wait until no cell shows ``[*]``, the kernel is idle and at least one cell ran.

    ``rerun_if_lost``: a Run All sent while Lab is still wiring the kernel up is occasionally
    dropped (every prompt back to ``[ ]``, kernel idle). When nothing ran at all, which makes a
    second run harmless, Run All is sent again (twice at most).
    """
    deadline = time.monotonic() + timeout
    stalled_since: float | None = None
    reruns = 0
    while True:
        if page.evaluate(_CELLS_DONE_JS):
            return
        now = time.monotonic()
        if now > deadline:
            raise AssertionError(
                f"cells still running or never ran after {timeout:.0f} s; prompts: {_prompts(page)}"
            )
        lost = rerun_if_lost and page.evaluate(_NOTHING_RAN_JS)
        stalled_since = (stalled_since or now) if lost else None
        if stalled_since is not None and now - stalled_since > 3 and reruns < 2:
            reruns += 1
            stalled_since = None
            run_all_cells(page)
        page.wait_for_timeout(250)


def run_notebook(page: Any, lab: LabServer, name: str, timeout: float = 180.0) -> None:
    """Open ``name``, run every cell and wait until all finished (it needs one code cell at least)."""
    open_notebook(page, lab, name)
    run_all_cells(page)
    wait_cells_done(page, timeout, rerun_if_lost=True)


def cell_errors(page: Any) -> list[str]:
    """Tracebacks and ``UsageError``-style errors shown in outputs (first 2000 characters each).

    Lab renders an error output as ``stderr`` text, so warnings are told apart by content: a
    traceback header or a line that starts with ``SomethingError:`` / ``...Exception:``.
    """
    return page.eval_on_selector_all(
        "[data-mime-type='application/vnd.jupyter.stderr'], [data-mime-type='application/vnd.jupyter.error']",
        r"""els => els.map(e => e.innerText)
                   .filter(t => /Traceback \(most recent call last\)|^\w*(Error|Exception)\b:?/m.test(t))
                   .map(t => t.slice(0, 2000))""",
    )


def widget_error_count(page: Any) -> int:
    """How many times the page shows ipywidgets' "Error displaying widget"."""
    return int(
        page.evaluate("() => document.body.innerText.split('Error displaying widget').length - 1")
    )


def doc_shot(name: str) -> Path:
    """Where a screenshot the README shows is written: ``docs/name`` when ``KUBEEZ_UPDATE_DOCS=1``
    (``make screenshots``), else the folder of the other shots (``$KUBEEZ_BROWSER_SHOTS`` or
    ``<tmp>/kubeez-shots``), so a test run leaves ``git status`` clean."""
    if os.environ.get("KUBEEZ_UPDATE_DOCS") == "1":
        return REPO / "docs" / name
    import tempfile

    return (
        Path(os.environ.get("KUBEEZ_BROWSER_SHOTS") or Path(tempfile.gettempdir()) / "kubeez-shots")
        / name
    )


def screenshot(page: Any, path: str | Path) -> Path:
    """Save a PNG of the page (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def _host_key(host: str, port: int | None) -> tuple[str, int | None]:
    host = host.strip("[]").lower()
    return ("loopback" if host in {h.strip("[]") for h in _LOOPBACK} else host, port)


def block_host(page: Any, host: str, port: int) -> list[str]:
    """Abort every request the page's context makes to ``host:port`` (loopback names are one host).

    Returns the live list of URLs blocked so far: proof that media reached the browser through
    the Jupyter server only, when the emulator's own address never answered.
    """
    blocked: list[str] = []
    key = _host_key(host, port)

    def matches(url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
            return False
        default = 443 if parts.scheme in ("https", "wss") else 80
        return _host_key(parts.hostname, parts.port or default) == key

    def handler(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort("blockedbyclient")

    page.context.route(matches, handler)
    return blocked


_MEDIA_JS = """async (selector) => {
    const els = [...document.querySelectorAll(selector)];
    const out = [];
    for (const el of els) {
        const tag = el.tagName.toLowerCase();
        const src = el.currentSrc || el.src || (el.querySelector('source') || {}).src || '';
        let ok = false, reason = '';
        if (tag === 'img') {
            ok = el.complete && el.naturalWidth > 0;
            reason = ok ? '' : (el.complete ? 'broken image (naturalWidth 0)' : 'still loading');
        } else if (el.error) {
            reason = `media error code ${el.error.code}: ${el.error.message || ''}`;
        } else if (el.readyState >= 1) {
            ok = true;
        } else if (src) {
            // preload="none" media never load metadata on their own: ask the server instead.
            try {
                const r = await fetch(src, {headers: {Range: 'bytes=0-1'}});
                ok = r.ok; reason = ok ? '' : `HTTP ${r.status}`;
            } catch (e) { reason = `fetch failed: ${e}`; }
        } else {
            reason = 'no src';
        }
        out.push({tag, src, ok, reason,
                  width: el.naturalWidth || el.videoWidth || 0, height: el.naturalHeight || el.videoHeight || 0,
                  duration: Number.isFinite(el.duration) ? el.duration : null});
    }
    return out;
}"""

MEDIA_SELECTOR = "img, video, audio"
OUTPUT_MEDIA_SELECTOR = (
    ".jp-OutputArea-output img, .jp-OutputArea-output video, .jp-OutputArea-output audio"
)


def media_report(page: Any, selector: str = MEDIA_SELECTOR) -> list[dict[str, Any]]:
    """One dict per matched ``<img>`` / ``<video>`` / ``<audio>``: tag, src, ok, reason, size, duration."""
    return list(page.evaluate(_MEDIA_JS, selector))


def assert_media_loaded(
    page: Any, selector: str = OUTPUT_MEDIA_SELECTOR, *, at_least: int = 1, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Wait until every matched media element loaded (img naturalWidth > 0, media readyState >= 1
    or its src answers); fail listing the ones that did not. Returns the final report."""
    deadline = time.monotonic() + timeout
    while True:
        report = media_report(page, selector)
        bad = [r for r in report if not r["ok"]]
        if len(report) >= at_least and not bad:
            return report
        if time.monotonic() > deadline:
            lines = "\n".join(f"  <{r['tag']} src={r['src'][:120]!r}>: {r['reason']}" for r in bad)
            raise AssertionError(
                f"{len(bad)} of {len(report)} media elements did not load (wanted at least {at_least}):\n{lines}"
            )
        page.wait_for_timeout(250)


# ---- barring the page from everything but its own server (the Binder situation) ------------------
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
#: An attribute that makes the browser fetch (or link to) an address on the kernel's machine.
LOOPBACK_URL = re.compile(
    r"^\s*(?:(?:https?|wss?):)?//(?:127\.\d+\.\d+\.\d+|localhost|\[::1\]|0\.0\.0\.0)[:/]", re.I
)
#: Noise of a healthy offline session on top of the harness's IGNORED_CONSOLE, each explained.
#: Nothing here can match an error of kubeez_nb's outputs or widgets.
LAB_NOISE: tuple[re.Pattern[str], ...] = (
    # Voila's template links a CDN stylesheet (font-awesome on cdn.jsdelivr.net); the bar aborts
    # it and Chromium suffixes the code with ".Inspector", which the harness's pattern does not
    # expect. A refused loopback request (the emulator) stays an error: it is excluded here.
    re.compile(
        r"Failed to load resource: net::ERR_BLOCKED_BY_CLIENT\.Inspector \(https?://(?!127\.|localhost|\[::1\]|0\.0\.0\.0)"
    ),
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


def loopback_references(
    page: Any, server_url: str, scope: str = ".jp-OutputArea-output"
) -> list[str]:
    """``<tag attr=...>`` of every element under ``scope`` (default: the outputs) whose src /
    srcset / poster / data / href points at a loopback address other than the server's own
    (Lab itself rewrites a relative ``src`` into an absolute URL of its own origin)."""
    own = origin_key(server_url)
    selector = ", ".join(
        f"{scope} {a}" for a in ("[src]", "[srcset]", "[poster]", "object[data]", "a[href]")
    )
    attrs = page.eval_on_selector_all(selector, _LINKS_JS)
    return [
        f"<{a['tag']} {a['name']}={a['value'][:140]!r}>"
        for a in attrs
        if LOOPBACK_URL.search(a["value"]) and origin_key(a["value"].split()[0]) != own
    ]


def wait_media(
    page: Any, need: dict[str, int], selector: str = OUTPUT_MEDIA_SELECTOR, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Wait until the outputs hold at least ``need[tag]`` elements of each tag and every matched
    element loaded (an image decoded; a video or audio decoded its metadata, so it has a length:
    a server that merely answers is not enough); fail naming what is missing or broken."""
    deadline = time.monotonic() + timeout
    while True:
        report = media_report(page, selector)
        counts = Counter(r["tag"] for r in report)
        short = {tag: n for tag, n in need.items() if counts[tag] < n}
        bad = [
            r for r in report if not r["ok"] or (r["tag"] != "img" and not (r["duration"] or 0) > 0)
        ]
        if not short and not bad:
            return report
        if time.monotonic() > deadline:
            lines = "\n".join(
                f"  <{r['tag']} src={r['src'][:140]!r}>: {r['reason'] or 'no metadata (duration unknown)'}"
                for r in bad
            )
            raise AssertionError(
                f"media in the outputs: {dict(counts)}; wanted at least {need}"
                + (f"; missing {short}" if short else "")
                + (f"\n{len(bad)} did not load:\n{lines}" if bad else "")
            )
        page.wait_for_timeout(250)
