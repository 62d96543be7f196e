"""A faithful local Kubeez: every route of the guide over real HTTP, for demos and tests.

``Emulator()`` serves it from a thread (``with Emulator() as emu: emu.url, emu.api_key``);
``python -m kubeez_nb.emulator --port 8000 --api-key sk_test_x`` serves it from a shell.
Layout (moto-style): ``routes`` (declarative table + OpenAPI), ``responses`` (parse, validate,
authorise, render), ``backend`` (state, billing, jobs; no HTTP), ``mediagen`` (real media files),
``server`` (WSGI app + thread).
"""

from __future__ import annotations

from kubeez_nb.emulator.server import Emulator

__all__ = ["Emulator"]
