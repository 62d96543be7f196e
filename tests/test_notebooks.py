"""Every demo notebook runs top to bottom in demo mode with no key (nbclient, a real kernel)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_notebooks_are_committed_clean() -> None:
    import nbformat

    assert NOTEBOOKS, "no demo notebooks found"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        outputs = sum(len(c.get("outputs", [])) for c in nb.cells if c.cell_type == "code")
        assert outputs == 0, f"{path.name} is committed with outputs"
        assert "widgets" not in nb.metadata, f"{path.name} is committed with widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_demo_mode(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    work = tmp_path / "nb"
    work.mkdir()
    shutil.copy(path, work / path.name)
    monkeypatch.setenv("KUBEEZ_DEMO", "1")
    monkeypatch.setenv("KUBEEZ_DEMO_SPEED", "100")  # same schedule logic, shorter jobs
    monkeypatch.setenv("KUBEEZ_HOME", str(work / "kubeez-data"))
    monkeypatch.delenv("KUBEEZ_API_KEY", raising=False)
    nb = nbformat.read(work / path.name, as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    text = "\n".join(str(o) for c in nb.cells for o in c.get("outputs", []))
    assert "Traceback" not in text
    # media reached the notebook through files the Jupyter server can serve, never a loopback URL
    assert "127.0.0.1" not in _html_src_attributes(nb), "an output points the browser at the kernel's loopback"


def _html_src_attributes(nb: object) -> str:
    import re

    srcs: list[str] = []
    for cell in nb.cells:  # type: ignore[attr-defined]
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            srcs += re.findall(r'src="([^"]*)"', html if isinstance(html, str) else "".join(html))
    return "\n".join(srcs)
