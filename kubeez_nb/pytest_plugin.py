"""pytest fixtures for testing code built on kubeez-nb, with no key and no credits.

Installed with the package (entry point group ``pytest11``), so they are available in any test
suite once ``kubeez-nb`` is installed::

    def test_my_pipeline(kubeez_client):
        job = kubeez_client.generate_media(model="nano-banana-2", prompt="a fox").wait()
        assert job.ok and job.outputs[0].media_type == "image"

``kubeez_emulator``
    A fresh local Kubeez (:class:`kubeez_nb.Emulator`) per test on a free loopback port, stopped
    after it. Fast by default (``speed=200``: an image job takes a fraction of a second). Set its
    constructor arguments and knobs with a marker, or turn knobs later with ``set_knobs``::

        @pytest.mark.kubeez(credits=50, error_rate=0.2, seed=7)
        def test_retries(kubeez_emulator, kubeez_client): ...

``kubeez_client``
    A :class:`kubeez_nb.Client` bound to ``kubeez_emulator`` with its own ledger and media cache
    in ``tmp_path / "kubeez-home"`` (``KUBEEZ_HOME`` is set there for the test too, so code that
    builds its own client with ``kz.Client(api_key=..., base_url=...)`` stays inside the temp dir).

Disable with ``-p no:kubeez_nb.pytest_plugin``. Importing this module imports only pytest; the
emulator and client load when a test asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: the marker's name: ``@pytest.mark.kubeez(**emulator_kwargs)``
MARKER = "kubeez"
#: fixture defaults on top of the emulator's own (10 000 credits): fast jobs
DEFAULTS: dict[str, Any] = {"speed": 200.0}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): arguments for the kubeez_emulator fixture (speed, credits, url_ttl, "
        "seed_history, and knobs such as error_rate, burst_429, latency, job_failure_rate)",
    )


def emulator_kwargs(request: pytest.FixtureRequest) -> dict[str, Any]:
    """``DEFAULTS`` updated by every ``kubeez`` marker on the test (closest marker wins)."""
    kwargs = dict(DEFAULTS)
    for mark in reversed(list(request.node.iter_markers(MARKER))):
        if mark.args:
            raise pytest.UsageError(
                f"@pytest.mark.{MARKER} takes keyword arguments only, got {mark.args!r}"
            )
        kwargs.update(mark.kwargs)
    return kwargs


@pytest.fixture
def kubeez_emulator(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh local Kubeez emulator for this test (see the module docstring for the marker)."""
    from kubeez_nb import Emulator

    with Emulator(**emulator_kwargs(request)) as emu:
        yield emu


@pytest.fixture
def kubeez_client(kubeez_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A client bound to ``kubeez_emulator``; ledger and cache under ``tmp_path / "kubeez-home"``."""
    from kubeez_nb import Client

    home = tmp_path / "kubeez-home"
    monkeypatch.setenv("KUBEEZ_HOME", str(home))
    return Client(api_key=kubeez_emulator.api_key, base_url=kubeez_emulator.url, home=home)
