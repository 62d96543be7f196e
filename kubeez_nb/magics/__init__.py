"""``%kubeez`` / ``%%kubeez``: quick prompts and every job kind from one line.

``%load_ext kubeez_nb`` registers the magics and the ``Kubeez`` configurable; nothing heavy is
imported until the first ``%kubeez`` runs (the client, pandas and the renderers load lazily).

The line is ``[SUBCOMMAND] [OPTIONS] PROMPT``. Options come from IPython ``magic_arguments``
parsers (``%kubeez?`` prints every one); the prompt is the rest of the line, kept verbatim. A
first word naming a subcommand selects it; to start a prompt with such a word, put the prompt
after ``--`` (``%kubeez -- models on a runway``) or quote it. ``{name}`` in the line or the cell
body is filled from the notebook's variables (``{{`` and ``}}`` stay literal braces); ``$name`` is
not expanded, because prompts often mention prices.

Every user mistake becomes a ``UsageError`` that says what to type instead; no tracebacks.
"""

from __future__ import annotations

from typing import Any

from kubeez_nb.magics.commands import KubeezMagics
from kubeez_nb.magics.display import DryRun
from kubeez_nb.magics.options import Kubeez
from kubeez_nb.magics.parse import interpolate

__all__ = ["DryRun", "Kubeez", "KubeezMagics", "interpolate", "register"]


def register(ipython: Any) -> None:
    """Register ``%kubeez`` / ``%%kubeez`` and the ``Kubeez`` configurable on ``ipython``."""
    # %reload_ext must not leave a stale configurable behind (%config would update the old one)
    ipython.configurables = [c for c in ipython.configurables if not isinstance(c, Kubeez)]
    settings = Kubeez(parent=ipython)
    ipython.configurables.append(settings)
    magics = KubeezMagics(ipython, settings)
    ipython.register_magics(magics)
    for key in ("%kubeez", "%%kubeez"):
        ipython.set_hook("complete_command", magics.complete, str_key=key)
