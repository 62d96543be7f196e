"""``make lab`` turns JupyterLab's "Would you like to get notified about official Jupyter news?"
pop-up off (it would sit over the studio on a first visit). The Makefile's ``LAB_FLAGS`` are read
from the Makefile itself and given to a Lab with no user settings (a first visit); the same Lab
without them shows the pop-up, which proves the check can see it."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from browser import REPO, bar_all_but, screenshot, start_lab

pytestmark = pytest.mark.browser
NEWS = "official Jupyter news"


def make_lab_flags() -> list[str]:
    """``LAB_FLAGS`` of the Makefile, continuation lines joined, ``$(CURDIR)`` = the repository."""
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    line = re.search(r"^LAB_FLAGS\s*:?=\s*(.+)$", text, re.M)
    assert line, "the Makefile has no LAB_FLAGS"
    return shlex.split(line.group(1).replace("$(CURDIR)", str(REPO)))


def first_visit(page: Any, tmp_path: Path, flags: list[str]) -> tuple[Any, bool]:
    """Open /lab on a Lab with no user settings; returns (server, whether the news pop-up showed)."""
    root = tmp_path / "root"
    root.mkdir()
    server = start_lab(root, tmp_path / "private", settings=False, extra_args=flags)
    try:
        blocked = bar_all_but(page, server.base)
        page.goto(server.url("lab"), wait_until="domcontentloaded")
        page.locator(".jp-DirListing-content").wait_for(timeout=60_000)
        try:  # the pop-up shows within a second of the file browser in a first visit
            page.get_by_text(NEWS).first.wait_for(timeout=5_000)
            shown = True
        except Exception:
            shown = False
        screenshot(
            page,
            Path(os.environ.get("KUBEEZ_BROWSER_SHOTS") or tmp_path)
            / f"make-lab-{bool(flags)}.png",
        )
        notification = server.api("lab/api/settings/@jupyterlab/apputils-extension:notification")
        assert not [u for u in blocked if "feed.xml" not in u], blocked
        return notification, shown
    finally:
        server.proc.stop()


def test_make_lab_shows_no_news_pop_up(page: Any, tmp_path: Path) -> None:
    flags = make_lab_flags()
    assert "--LabApp.news_url=None" in flags
    settings, shown = first_visit(page, tmp_path, flags)
    assert (
        settings["schema"]["properties"]["fetchNews"]["default"] == "false"
    )  # from overrides.json
    assert not shown, "make lab's JupyterLab asked about Jupyter news"


def test_without_the_flags_a_first_visit_asks_about_news(page: Any, tmp_path: Path) -> None:
    settings, shown = first_visit(page, tmp_path, [])
    assert settings["schema"]["properties"]["fetchNews"]["default"] == "none"  # undecided: Lab asks
    assert shown
