"""The browser fixtures as a pytest plugin: ``lab`` (``lab_server``), ``notebook7``
(``notebook7_server``), ``hub_lab`` (``hub_lab_server``, Lab under ``/user/demo/``), ``chromium``,
``page``, ``voila``.

Load it from a test module with ``pytest_plugins = ["browser.fixtures"]`` (see ``browser``'s
docstring); the helpers they use live in ``browser`` itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import (
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    REPO,
    LabServer,
    VoilaServer,
    console_messages,
    require_chromium,
    screenshot,
    start_lab,
    start_voila,
    watch_console,
)

#: the Binder / JupyterHub situation: every URL under a per-user prefix
HUB_PREFIX = "/user/demo/"


def _serve(
    tmp_path_factory: pytest.TempPathFactory, app: str = "lab", base_url: str = "/"
) -> Iterator[LabServer]:
    """A server for the whole run, serving a temp copy of ``notebooks/``."""
    require_chromium()  # no browser, no point starting a server
    root = tmp_path_factory.mktemp(f"{app}-root")
    source = REPO / "notebooks"
    if source.is_dir():
        shutil.copytree(
            source,
            root,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "kubeez-data", "__pycache__"),
        )
    server = start_lab(root, tmp_path_factory.mktemp(f"{app}-private"), app=app, base_url=base_url)
    try:
        yield server
    finally:
        server.proc.stop()


def _per_test(server: LabServer) -> Iterator[LabServer]:
    yield server
    with contextlib.suppress(Exception):
        server.stop_kernels()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """One JupyterLab for the whole run, serving a temp copy of ``notebooks/``."""
    yield from _serve(tmp_path_factory)


@pytest.fixture
def lab(lab_server: LabServer) -> Iterator[LabServer]:
    """The session's JupyterLab; the kernels a test started are shut down after it."""
    yield from _per_test(lab_server)


@pytest.fixture(scope="session")
def notebook7_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """One Jupyter Notebook 7 (``/tree``, ``/notebooks/...``) for the whole run."""
    yield from _serve(tmp_path_factory, "notebook")


@pytest.fixture
def notebook7(notebook7_server: LabServer) -> Iterator[LabServer]:
    """The session's Notebook 7; the kernels a test started are shut down after it."""
    yield from _per_test(notebook7_server)


@pytest.fixture(scope="session")
def hub_lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """One JupyterLab under ``--ServerApp.base_url=/user/demo/`` (as on Binder) for the whole run."""
    yield from _serve(tmp_path_factory, "lab", HUB_PREFIX)


@pytest.fixture
def hub_lab(hub_lab_server: LabServer) -> Iterator[LabServer]:
    """The session's prefixed JupyterLab; the kernels a test started are shut down after it."""
    yield from _per_test(hub_lab_server)


@pytest.fixture
def voila(tmp_path: Path) -> Iterator[Callable[[Path], VoilaServer]]:
    """Factory fixture: ``voila(notebook_path)`` starts a Voila server, stopped after the test."""
    require_chromium()
    started: list[VoilaServer] = []

    def start(notebook: Path, root: Path | None = None) -> VoilaServer:
        server = start_voila(Path(notebook), tmp_path / f"voila-private-{len(started)}", root=root)
        started.append(server)
        return server

    yield start
    for server in started:
        server.proc.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright; skips when it is not installed."""
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh page with console recording; screenshots itself when the test fails."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    watch_console(pg)
    failed_before = request.session.testsfailed
    try:
        yield pg
    finally:
        # The call phase's report is logged before fixture teardown, so a failure is counted now.
        if request.session.testsfailed > failed_before:
            shots = Path(os.environ.get("KUBEEZ_BROWSER_SHOTS") or tmp_path)
            shot = shots / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)}.png"
            with contextlib.suppress(Exception):
                screenshot(pg, shot)
                sys.stderr.write(f"screenshot: {shot}\n")
            with contextlib.suppress(Exception):
                tail = [str(e) for e in console_messages(pg)][-40:]
                sys.stderr.write("browser console:\n" + "\n".join(tail) + "\n")
        context.close()
