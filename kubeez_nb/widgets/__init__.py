"""Widget apps: ``studio()`` (a tab per job kind) and ``panel(model_id)`` (one model's form).

Built from the live catalog (``chain.py`` turns capabilities into fields, ``route_forms.py`` makes
the other routes' forms, from the classes in ``fields.py``), priced and checked
as the user edits, and never blocking the kernel on Generate (``generate_panel.py``; the tabs in
``studio_app.py``). ipywidgets is imported here,
never by ``import kubeez_nb``.
"""

from __future__ import annotations

from kubeez_nb.widgets.studio_app import Studio, panel, studio

__all__ = ["Studio", "panel", "studio"]
