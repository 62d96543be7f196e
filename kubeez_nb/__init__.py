"""kubeez-nb: the Kubeez AI-media API as a first-class citizen of Jupyter.

>>> import kubeez_nb as kz
>>> client = kz.connect(demo=True)          # local emulator, no credits spent
>>> job = client.generate_media(model="nano-banana-2", prompt="a red fox in snow")
>>> job.wait()                               # or just display `job`: it updates itself

Heavy libraries (pandas, Pillow, matplotlib, ipywidgets) load on first use, never on import.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from kubeez_nb._config import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> module that defines it; resolved lazily (PEP 562) to keep import cheap
_LAZY: dict[str, str] = {
    "Client": "kubeez_nb.client",
    "connect": "kubeez_nb.client",
    "Emulator": "kubeez_nb.emulator",
    "Job": "kubeez_nb.job",
    "JobGroup": "kubeez_nb.job",
    "Output": "kubeez_nb.job",
    "Model": "kubeez_nb.contract.catalog",
    "Catalog": "kubeez_nb.contract.catalog",
    "Estimate": "kubeez_nb.contract.pricing",
    "KubeezError": "kubeez_nb.errors",
    "ValidationError": "kubeez_nb.errors",
    "studio": "kubeez_nb.widgets",
    "panel": "kubeez_nb.widgets",
    "cost_report": "kubeez_nb.report",
    "jobs": "kubeez_nb.recovery",
    "resume": "kubeez_nb.recovery",
    "batch": "kubeez_nb.batching",
}

__all__ = [
    "Catalog",
    "Client",
    "Emulator",
    "Estimate",
    "Job",
    "JobGroup",
    "KubeezError",
    "Model",
    "Output",
    "ValidationError",
    "__version__",
    "batch",
    "connect",
    "cost_report",
    "jobs",
    "load_ipython_extension",
    "panel",
    "resume",
    "studio",
]

if TYPE_CHECKING:  # pragma: no cover
    from kubeez_nb.batching import batch
    from kubeez_nb.client import Client, connect
    from kubeez_nb.contract.catalog import Catalog, Model
    from kubeez_nb.contract.pricing import Estimate
    from kubeez_nb.emulator import Emulator
    from kubeez_nb.errors import KubeezError, ValidationError
    from kubeez_nb.job import Job, JobGroup, Output
    from kubeez_nb.recovery import jobs, resume
    from kubeez_nb.report import cost_report
    from kubeez_nb.widgets import panel, studio


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kubeez_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext kubeez_nb``: register ``%kubeez`` / ``%%kubeez`` (nothing heavy is imported)."""
    importlib.import_module("kubeez_nb.magics").register(ipython)  # lazy, like __getattr__
