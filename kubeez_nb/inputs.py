"""Compatibility shim: the input checks live in :mod:`kubeez_nb.contract.checks`.

Removed once ``client.py``, ``job.py`` and ``batching.py`` import them from there.
"""

from __future__ import annotations

from kubeez_nb.contract.checks import check_credits, check_seconds, printable, text_problems

__all__ = ["check_credits", "check_seconds", "printable", "text_problems"]
