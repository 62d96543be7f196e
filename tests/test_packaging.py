"""The package as users get it: ``python -m build`` (no deprecation warnings) makes a wheel and an
sdist; the wheel, installed into a fresh venv (not editable, no system site-packages, no
PYTHONPATH), runs the emulator CLI, a demo image job and a user's test that uses the shipped
``kubeez_client`` fixture.

Slow (about a minute, most of it pip installing the dependencies into the fresh venv), so those
tests are marked ``slow`` and share one build and venv. Also: the README's Binder badge is written
from the one place the repository path is set (``[project.urls] Repository``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Built:
    wheel: Path
    sdist: Path
    build_log: str
    python: Path  # the fresh venv's interpreter, the wheel installed in it
    env: dict[str, str]
    install_seconds: float


def _run(
    cmd: list[str | Path], env: dict[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"{cmd} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


def _clean_env(home: Path) -> dict[str, str]:
    """No PYTHONPATH (the checkout must not win over the wheel), no key, a private KUBEEZ_HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KUBEEZ_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(KUBEEZ_HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("packaging")
    # Build from a copy: a build in the checkout leaves kubeez_nb.egg-info there, whose stale
    # entry points a PYTHONPATH=checkout run would then pick up.
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(
        REPO / "kubeez_nb", src / "kubeez_nb", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    env = _clean_env(root / "home")
    dist = root / "dist"
    build = _run([sys.executable, "-m", "build", "--outdir", dist, src], env, root)
    wheel = next(dist.glob("kubeez_nb-*.whl"))
    sdist = next(dist.glob("kubeez_nb-*.tar.gz"))

    venv = root / "venv"
    _run([sys.executable, "-m", "venv", venv], env, root)
    python = venv / "bin" / "python"
    started = time.monotonic()
    _run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, "pytest"],
        env,
        root,
        timeout=500,
    )
    took = time.monotonic() - started
    sys.stderr.write(f"\nfresh venv: wheel + dependencies + pytest installed in {took:.1f} s\n")
    yield Built(wheel, sdist, build.stdout + build.stderr, python, env, took)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_build_prints_no_deprecation_warning_and_ships_the_data(built: Built) -> None:
    assert "Successfully built" in built.build_log
    warnings = [line for line in built.build_log.splitlines() if "deprecat" in line.lower()]
    assert warnings == []
    names = set(zipfile.ZipFile(built.wheel).namelist())
    for need in (
        "kubeez_nb/emulator/data/models.json",
        "kubeez_nb/py.typed",
        "kubeez_nb/pytest_plugin.py",
        "kubeez_nb-0.1.0.dist-info/licenses/LICENSE",
    ):
        assert need in names, f"{need} is not in the wheel"
    meta = zipfile.ZipFile(built.wheel).read("kubeez_nb-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in meta
    entry_points = (
        zipfile.ZipFile(built.wheel).read("kubeez_nb-0.1.0.dist-info/entry_points.txt").decode()
    )
    assert "[pytest11]" in entry_points and "kubeez_nb.pytest_plugin" in entry_points
    with tarfile.open(built.sdist) as tar:
        members = {m.name.split("/", 1)[-1] for m in tar.getmembers()}
    assert {"LICENSE", "pyproject.toml", "kubeez_nb/emulator/data/models.json"} <= members


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_installed_wheel_runs_the_emulator_cli_and_a_demo_job(
    built: Built, tmp_path: Path
) -> None:
    cli = _run([built.python, "-m", "kubeez_nb.emulator", "--help"], built.env, tmp_path)
    assert "--speed" in cli.stdout and "--api-key" in cli.stdout

    script = (
        "import kubeez_nb as kz\n"
        "client = kz.connect(demo=True)\n"
        "job = client.generate_media(model='nano-banana-2', prompt='a fox', aspect_ratio='1:1').wait(progress=False)\n"
        "print('module', kz.__file__)\n"
        "print('models', len(client.catalog()))\n"
        "print('job', job.status, job.outputs[0].media_type, job.outputs[0].local_path)\n"
    )
    out = _run([built.python, "-c", script], built.env, tmp_path).stdout
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    assert Path(lines["module"]).is_relative_to(built.python.parent.parent), (
        "kubeez_nb came from outside the venv"
    )
    assert int(lines["models"]) > 100  # the catalog snapshot shipped in the wheel
    status, kind, path = lines["job"].split(" ", 2)
    assert (status, kind) == ("completed", "image")
    assert Path(path).is_file() and Path(path).is_relative_to(Path(built.env["KUBEEZ_HOME"]))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_users_test_with_the_kubeez_client_fixture_passes(built: Built, tmp_path: Path) -> None:
    (tmp_path / "test_my_pipeline.py").write_text(
        "def test_makes_an_image(kubeez_client):\n"
        "    job = kubeez_client.generate_media(model='nano-banana-2', prompt='a fox').wait()\n"
        "    assert job.ok and job.outputs[0].media_type == 'image'\n"
    )
    proc = subprocess.run(
        [str(built.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_pipeline.py"],
        env=built.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout


def test_the_binder_badge_is_built_from_the_repository_url() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "binder" / "link.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    import importlib.util

    spec = importlib.util.spec_from_file_location("kubeez_binder_link", REPO / "binder" / "link.py")
    assert spec and spec.loader
    link = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(link)
    assert link.binder_url() in (REPO / "README.md").read_text()
    assert link.binder_url("someone/fork").startswith(
        "https://mybinder.org/v2/gh/someone/fork/main?urlpath=lab/tree/"
    )
