"""Compatibility shim: typed outputs and their parsing live in :mod:`kubeez_nb.contract.wire`.

Removed once ``job.py`` imports ``Output`` / ``outputs`` / ``epoch`` from there.
"""

from __future__ import annotations

from kubeez_nb.contract.wire import Output
from kubeez_nb.contract.wire import epoch as _parse_time
from kubeez_nb.contract.wire import fallback_bundle as _fallback_bundle
from kubeez_nb.contract.wire import outputs as parse_outputs

__all__ = ["Output", "_fallback_bundle", "_parse_time", "parse_outputs"]
