"""Every demo notebook runs top to bottom in demo mode with no key (nbclient, a real kernel), in
the notebooks folder itself, and leaves that folder clean (``git status``)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
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


@pytest.fixture
def in_place_home() -> Iterator[Path]:
    """A private KUBEEZ_HOME inside the notebooks' own (git-ignored) data folder, removed after."""
    home = NOTEBOOKS[0].parent / "kubeez-data" / f"test-{uuid.uuid4().hex[:8]}"
    yield home
    shutil.rmtree(home, ignore_errors=True)


def git_status(folder: Path) -> list[str] | None:
    """``git status --porcelain`` lines for ``folder`` (untracked files listed one by one), None
    when this is not a git checkout."""
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", "."],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.stdout.splitlines() if proc.returncode == 0 else None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_demo_mode(
    path: Path, in_place_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run where users run it (the notebooks folder is the kernel's working directory) and leave
    that folder as git has it: exports and scratch files go under the data folder."""
    import nbformat
    from nbclient import NotebookClient

    before = git_status(path.parent)
    monkeypatch.setenv("KUBEEZ_DEMO", "1")
    monkeypatch.setenv("KUBEEZ_DEMO_SPEED", "100")  # same schedule logic, shorter jobs
    monkeypatch.setenv("KUBEEZ_HOME", str(in_place_home))
    monkeypatch.delenv("KUBEEZ_API_KEY", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    text = "\n".join(str(o) for c in nb.cells for o in c.get("outputs", []))
    assert "Traceback" not in text
    # media reached the notebook through files the Jupyter server can serve, never a loopback URL
    assert "127.0.0.1" not in _html_src_attributes(nb), (
        "an output points the browser at the kernel's loopback"
    )
    after = git_status(path.parent)
    if before is not None:
        assert after == before, (
            f"running {path.name} changed the notebooks folder: {sorted(set(after or []) - set(before))}"
        )


def _html_src_attributes(nb: object) -> str:
    import re

    srcs: list[str] = []
    for cell in nb.cells:  # type: ignore[attr-defined]
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            srcs += re.findall(r'src="([^"]*)"', html if isinstance(html, str) else "".join(html))
    return "\n".join(srcs)
