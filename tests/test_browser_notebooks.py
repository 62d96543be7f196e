"""Every demo notebook in real JupyterLab (headless Chromium, demo mode), with the page barred from
every address but the Jupyter server's own: it runs to the end, shows no widget or cell error, and
every image, video and audio element in its outputs really loads.

The emulator runs inside the kernel on a random loopback port. On Binder or any remote hub the
browser cannot reach that port, so any output that points the browser there is a broken medium.
Barring every origin but Lab's (a Playwright route on the page's context) reproduces that here:
the media must travel through the Jupyter server (``/files/``, data: URIs or widget messages).
Each demo is run in Lab once, by ``test_browser_reopen.py``: it runs the check below, then saves
the notebook and reopens it (one run of each notebook serves both).
What each notebook must show, and the check itself, live in ``browser/notebooks.py`` (shared with
the Notebook 7 and hub-prefix tests in ``test_browser_frontends.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from browser import (
    IGNORED,
    REPO,
    LabServer,
    bar_all_but,
    console_errors,
    loopback_references,
    media_report,
    origin_key,
)
from browser.notebooks import EXPECT

pytestmark = pytest.mark.browser


def test_every_demo_notebook_is_covered() -> None:
    on_disk = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert on_disk == sorted(e.notebook for e in EXPECT)


def test_the_bar_breaks_an_emulator_url_and_the_checks_name_it(
    lab: LabServer, chromium: Any, page: Any, client: Any
) -> None:
    """The guard itself: an output that shows a medium by the emulator's own URL loads in an
    open page but not in a barred one, and both checks name it."""
    job = client.generate_media(
        model="nano-banana-2", prompt="a guard image", aspect_ratio="1:1"
    ).wait()
    url = job.outputs[0].url
    assert origin_key(url) == origin_key(client.base_url)  # the emulator's loopback address
    html = (
        f'<div class="jp-OutputArea-output"><img id="emu" src="{url}">'
        f'<img id="lab" src="{lab.url("static/favicons/favicon.ico")}"></div>'
    )
    open_page = chromium.new_page()
    try:
        open_page.set_content(html, wait_until="load")
        assert all(r["ok"] for r in media_report(open_page)), (
            "the emulator's image should load unbarred"
        )
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
