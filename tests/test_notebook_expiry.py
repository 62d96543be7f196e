"""Signed output URLs expire after an hour; notebooks must keep showing their media (issue 4)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import requests


def _execute(cells: list[str], folder: Path, env: dict[str, str]) -> Any:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    setup = "import os\n" + "".join(f"os.environ[{k!r}] = {v!r}\n" for k, v in env.items())
    nb.cells = [nbformat.v4.new_code_cell(setup), *(nbformat.v4.new_code_cell(c) for c in cells)]
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    return nb


def _media_srcs(nb: Any) -> list[str]:
    srcs: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            html = html if isinstance(html, str) else "".join(html)
            srcs += re.findall(r'<(?:img|video|audio|source)[^>]*\ssrc="([^"]+)"', html)
    return srcs


def test_media_still_shows_after_the_signed_urls_expire(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    env = {
        "KUBEEZ_API_KEY": fresh_emulator.api_key,
        "KUBEEZ_BASE_URL": fresh_emulator.url,
        "KUBEEZ_HOME": str(tmp_path / "kubeez-data"),
    }
    first = _execute(
        [
            "import kubeez_nb as kz\nclient = kz.Client()",
            "job = client.generate_media(model='z-image', prompt='expiry proof', aspect_ratio='16:9').wait()\njob",
            "print(job.id, job.outputs[0].url)",
        ],
        tmp_path,
        env,
    )
    job_id, remote_url = first.cells[-1].outputs[0]["text"].split()

    fresh_emulator.advance(2 * 3600)  # past the one-hour signed-URL lifetime
    assert requests.get(remote_url, timeout=10).status_code == 403

    # the saved notebook: its media point at cached files beside it, not at the dead link
    saved = _media_srcs(first)
    assert saved, "the job card showed no media"
    for src in saved:
        assert src != remote_url and not src.startswith("http"), src
        assert (tmp_path / src).is_file(), src

    # re-executed in a new kernel: re-attached from its id, shown from the cache
    again = _execute(
        ["import kubeez_nb as kz\nclient = kz.Client()", f"client.job({job_id!r}).wait()"],
        tmp_path,
        env,
    )
    shown = _media_srcs(again)
    assert shown and all((tmp_path / s).is_file() for s in shown), shown
