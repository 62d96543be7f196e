"""The public surface is small and pinned, and importing it stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys

import kubeez_nb

HEAVY = ("pandas", "PIL", "matplotlib", "ipywidgets", "werkzeug", "av")


def test_all_is_pinned() -> None:
    assert sorted(kubeez_nb.__all__) == sorted(
        [
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
    )


def test_client_names_resolve() -> None:
    from kubeez_nb.client import Client, connect
    from kubeez_nb.job import Job, JobGroup, Output

    assert kubeez_nb.Client is Client and kubeez_nb.connect is connect
    assert (kubeez_nb.Job, kubeez_nb.JobGroup, kubeez_nb.Output) == (Job, JobGroup, Output)


def _modules_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def _heavy(mods: set[str]) -> list[str]:
    return sorted(m for m in mods if m.split(".")[0] in HEAVY)


def test_import_loads_no_heavy_library() -> None:
    assert _heavy(_modules_after("import kubeez_nb")) == []


def test_client_and_jobs_load_no_heavy_library() -> None:
    code = (
        "import kubeez_nb as kz\n"
        "kz.Client, kz.Job, kz.JobGroup, kz.Output, kz.ValidationError\n"
        "c = kz.Client(api_key='k', base_url='http://127.0.0.1:9')\n"
        "import kubeez_nb.records, kubeez_nb._http, kubeez_nb._ratelimit"
    )
    assert _heavy(_modules_after(code)) == []


def test_kz_jobs_stays_callable_after_the_job_module_is_imported(tmp_path, monkeypatch) -> None:
    """``kz.jobs()`` lists the ledger; importing the Job module must not shadow it."""
    import kubeez_nb as kz
    import kubeez_nb.job  # what any client use does

    monkeypatch.setenv("KUBEEZ_HOME", str(tmp_path))
    listing = kz.jobs()
    assert len(listing) == 0
