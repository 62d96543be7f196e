"""Shared fixtures: a session emulator on port 0, a client bound to it, a bare IPython shell."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

#: the real-browser harness (JupyterLab / Voila servers, headless Chromium): tests/browser/, and
#: the fixtures kubeez-nb ships for its users (kubeez_emulator, kubeez_client; entry point
#: pytest11), listed here too so a checkout that is not pip-installed has them
pytest_plugins = ["browser.fixtures", "kubeez_nb.pytest_plugin", "pytester"]

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
)


#: The slowest files first (seconds of one serial run on the 2-core CI box), so that with one
#: xdist worker per core (``make test``: ``-n 2 --dist loadfile``) neither worker is left with a
#: long file at the end while the other idles. Files not named keep their place after these.
SLOW_FIRST = (
    "test_browser_reopen.py",  # 195 s: every demo notebook run, saved and reopened
    "test_proofs.py",  # 90 s: the fault suites
    "test_browser_frontends.py",  # 73 s: Notebook 7 and a hub prefix
    "test_packaging.py",  # 50 s: build, fresh venv, install
    "test_browser_studio_actions.py",
    "test_http.py",
    "test_notebooks.py",
    "test_nbconvert.py",
    "test_schemathesis.py",
    "test_browser_smoke.py",
    "test_browser_make_lab.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order kept within


@pytest.fixture(scope="session", autouse=True)
def _kubeez_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep every ledger and media cache of the run in a temp folder; no real key leaks in."""
    home = tmp_path_factory.mktemp("kubeez-home")
    saved = {
        k: os.environ.get(k)
        for k in ("KUBEEZ_HOME", "KUBEEZ_API_KEY", "KUBEEZ_BASE_URL", "KUBEEZ_DEMO")
    }
    os.environ["KUBEEZ_HOME"] = str(home)
    for k in ("KUBEEZ_API_KEY", "KUBEEZ_BASE_URL", "KUBEEZ_DEMO"):
        os.environ.pop(k, None)
    yield home
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


#: per-minute limits no test run reaches (every group of the guide's table)
UNLIMITED = {
    group: 1_000_000 for group in ("media", "music", "dialogue", "ad-copy", "upload", "read")
}


@pytest.fixture(scope="session")
def emulator() -> Iterator[object]:
    """One fast emulator for the whole run (speed 200: an image job takes a fraction of a second)."""
    from kubeez_nb import Emulator

    with Emulator(speed=200.0, credits=10_000_000) as emu:
        # The whole run shares this key: under the guide's per-minute limits (120 reads, 30
        # media) tests would wait out each other's 429s. Rate limiting is tested on private
        # emulators (``fresh_emulator``, the fault suites), where the limits are the point.
        emu.add_key(emu.api_key, credits=10_000_000, rate_limits=UNLIMITED)
        yield emu


@pytest.fixture
def fresh_emulator(kubeez_emulator: object) -> object:
    """A private emulator for tests that turn knobs, move the clock or drain credits (the shipped
    ``kubeez_emulator`` fixture: speed 200, ``@pytest.mark.kubeez(...)`` sets its arguments)."""
    return kubeez_emulator


@pytest.fixture
def client(emulator: object, tmp_path: Path) -> object:
    """A client bound to the session emulator, with its own ledger and cache."""
    from kubeez_nb import Client

    return Client(api_key=emulator.api_key, base_url=emulator.url, home=tmp_path)  # type: ignore[attr-defined]


@pytest.fixture
def shell() -> Iterator[object]:
    """A bare IPython shell (no kernel) for magic tests."""
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    yield sh
    InteractiveShell.clear_instance()
