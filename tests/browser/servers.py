"""Jupyter servers for the browser tests: JupyterLab or Notebook 7 (optionally under a base URL
prefix, as on Binder and JupyterHub) and Voila, each a subprocess with its own settings and log.

Re-exported by ``browser`` (import from there).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

START_TIMEOUT_S = 90.0
#: Voila loads every installed JupyterLab extension; Notebook 7's (``@jupyter-notebook/lab-extension``,
#: the "open in Notebook" buttons) needs Lab's shared modules, which Voila's page does not have, and
#: logs "The getter for the shared module is not a function". ``make studio`` passes the same.
VOILA_ARGS = ("--VoilaConfiguration.extension_denylist=@jupyter-notebook/lab-extension",)
# Lab user settings written before start: every cell in the DOM, no network toasts.
_LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


# ---- processes ----------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(root: Path, private: Path) -> dict[str, str]:
    """Environment for Lab/Voila and their kernels: demo mode, media under the served root."""
    env = dict(os.environ)
    for key in ("KUBEEZ_API_KEY", "KUBEEZ_BASE_URL", "JUPYTER_TOKEN", "JPY_SESSION_NAME"):
        env.pop(key, None)
    env.update(
        {
            "KUBEEZ_DEMO": "1",
            "KUBEEZ_HOME": str(root / "kubeez-data"),
            "JUPYTER_CONFIG_DIR": str(private / "config"),
            "JUPYTER_RUNTIME_DIR": str(private / "runtime"),
            "IPYTHONDIR": str(private / "ipython"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class _Proc:
    """A server subprocess with its log file; ``stop()`` ends it and the kernels it started."""

    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self) -> None:
        import psutil

        try:
            children = psutil.Process(self.popen.pid).children(recursive=True)
        except psutil.Error:
            children = []
        if self.popen.poll() is None:
            self.popen.terminate()  # Jupyter shuts its kernels down on SIGTERM
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        # Kernels that outlived the server (only the ones this server started, by pid).
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.terminate()
        _gone, alive = psutil.wait_procs(children, timeout=5)
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()


def _spawn(cmd: Sequence[str], env: dict[str, str], cwd: Path, log_path: Path) -> _Proc:
    log = log_path.open("wb")
    try:
        popen = subprocess.Popen(
            list(cmd),
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    finally:
        log.close()  # the child keeps its own handle
    return _Proc(popen, log_path)


def _wait_http(proc: _Proc, url: str, what: str, timeout: float = START_TIMEOUT_S) -> None:
    """Poll ``url`` until it answers 200; fail with the server log if it dies or never answers."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {proc.popen.returncode} before answering:\n{proc.log()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.25)
    proc.stop()
    raise RuntimeError(
        f"{what} did not answer {url.split('?')[0]} within {timeout:.0f} s ({last}):\n{proc.log()}"
    )


# ---- JupyterLab -----------------------------------------------------------------------------------
def notebook_json(cells: Sequence[str | tuple[str, str]]) -> dict[str, Any]:
    """A v4 notebook with a Python 3 kernelspec (no kernel dialog); ``("markdown", text)`` for prose."""
    out = []
    for cell in cells:
        kind, source = ("code", cell) if isinstance(cell, str) else cell
        entry: dict[str, Any] = {
            "cell_type": kind,
            "id": uuid.uuid4().hex[:8],
            "metadata": {},
            "source": source,
        }
        if kind == "code":
            entry.update(execution_count=None, outputs=[])
        out.append(entry)
    return {
        "cells": out,
        "metadata": {
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": "python3",
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@dataclass
class LabServer:
    """A running JupyterLab or Notebook 7: ``base`` URL (with the ``base_url`` prefix, no trailing
    slash), ``token``, served ``root`` folder, ``env`` of its kernels, ``app`` ("lab"/"notebook")."""

    base: str
    token: str
    root: Path
    env: dict[str, str]
    proc: _Proc = field(repr=False)
    app: str = "lab"

    @property
    def port(self) -> int:
        return int(urlsplit(self.base).port or 0)

    @property
    def prefix(self) -> str:
        """The server's base URL path (``/`` or ``/user/demo/``)."""
        return urlsplit(self.base).path.rstrip("/") + "/"

    def url(self, path: str = "lab") -> str:
        """``http://127.0.0.1:<port>/<prefix>/<path>?token=...`` (``path`` like ``lab/tree/x.ipynb``)."""
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def notebook_url(self, name: str, workspace: str | None = None) -> str:
        """The notebook's page: in Lab in its own (by default fresh) workspace so no earlier tabs
        reopen; in Notebook 7 its ``/notebooks/<name>`` page (one notebook per browser tab)."""
        if self.app == "notebook":
            return self.url(f"notebooks/{quote(name)}")
        ws = workspace or f"kz-{uuid.uuid4().hex[:10]}"
        return self.url(f"lab/workspaces/{ws}/tree/{quote(name)}")

    def tree_url(self) -> str:
        """The file browser: ``/tree`` in Notebook 7, ``/lab/tree`` in Lab."""
        return self.url("tree" if self.app == "notebook" else "lab/tree")

    def write_notebook(self, name: str, cells: Sequence[str | tuple[str, str]]) -> Path:
        """Write a notebook under ``root`` (sub-folders allowed) and return its path."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(notebook_json(cells), indent=1))
        return path

    def api(self, path: str) -> Any:
        """GET a Jupyter REST path (``api/sessions``) and decode its JSON."""
        with urllib.request.urlopen(self.url(path), timeout=10) as resp:
            return json.loads(resp.read())

    def stop_kernels(self) -> int:
        """Shut down every session's kernel (each test's notebooks), returning how many."""
        sessions = self.api("api/sessions")
        for session in sessions:
            req = urllib.request.Request(self.url(f"api/sessions/{session['id']}"), method="DELETE")
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(req, timeout=20),
            ):
                pass
        return len(sessions)

    def log(self) -> str:
        return self.proc.log()


def start_lab(
    root: Path,
    private: Path,
    *,
    app: str = "lab",
    base_url: str = "/",
    settings: bool = True,
    extra_args: Sequence[str] = (),
) -> LabServer:
    """Start JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``) serving ``root``, under
    ``base_url`` (``/user/demo/`` as on Binder or JupyterHub); ``private`` holds its settings,
    logs and runtime files. ``settings=False`` starts with no user settings (a first visit: Lab's
    own defaults, news pop-up included); ``extra_args`` go on the command line last."""
    assert app in ("lab", "notebook"), app
    private.mkdir(parents=True, exist_ok=True)
    for rel, value in _LAB_SETTINGS.items() if settings else ():
        target = private / "settings" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    (root / "kubeez-data").mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    port = free_port()
    prefix = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        app,
        "--no-browser",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.base_url={prefix}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if app == "lab":
        cmd += [
            f"--LabApp.user_settings_dir={private / 'settings'}",
            f"--LabApp.workspaces_dir={private / 'workspaces'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
    # an extra argument replaces the harness's own for the same trait: traitlets does not take
    # the last of two (with --LabApp.x=... twice, a --LabApp.y=... between them was seen lost)
    given = {a.split("=", 1)[0] for a in extra_args}
    cmd = [a for a in cmd if a.split("=", 1)[0] not in given] + list(extra_args)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root; Jupyter refuses that by default
    env = _server_env(root, private)
    # Notebook 7 is a JupyterLab-based app too: the same user settings (through the environment)
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(private / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(private / "workspaces"),
    )
    proc = _spawn(cmd, env, root, private / f"{app}.log")
    base = f"http://127.0.0.1:{port}{prefix.rstrip('/')}"
    what = "JupyterLab" if app == "lab" else "Jupyter Notebook"
    _wait_http(proc, f"{base}/api/status?token={token}", what)
    return LabServer(base, token, root, env, proc, app)


# ---- Voila --------------------------------------------------------------------------------------
@dataclass
class VoilaServer:
    """A running Voila app for one notebook: open ``url`` in the page."""

    url: str
    notebook: Path
    proc: _Proc = field(repr=False)

    def log(self) -> str:
        return self.proc.log()


def start_voila(notebook: Path, private: Path, *, root: Path | None = None) -> VoilaServer:
    """Start ``voila <notebook>`` on a free port; ``root`` (default: its folder) is KUBEEZ_HOME's parent."""
    notebook = notebook.resolve()
    root = (root or notebook.parent).resolve()
    private.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        "--show_tracebacks=True",
        *VOILA_ARGS,
    ]
    proc = _spawn(cmd, _server_env(root, private), notebook.parent, private / f"voila-{port}.log")
    url = f"http://127.0.0.1:{port}/"
    # Any static path proves the server is up without executing the notebook.
    _wait_http(proc, f"{url}voila/static/favicon.ico", "Voila")
    return VoilaServer(url, notebook, proc)


def wait_for_voila(page: Any, timeout: float = 90.0) -> None:
    """Wait until Voila finished executing and rendering (its spinner gone, cells in the page)."""
    page.wait_for_function(
        """() => {
            const spinner = document.querySelector('#loading, .voila-spinner, #voila-spinner');
            const busy = spinner && spinner.offsetParent !== null && getComputedStyle(spinner).display !== 'none';
            return !busy && document.querySelector('.jp-OutputArea, .jp-Cell, main') !== null
                   && document.readyState === 'complete';
        }""",
        timeout=timeout * 1000,
    )
