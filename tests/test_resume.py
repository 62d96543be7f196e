"""kz.resume(): a process killed mid-batch loses nothing; a new process recovers every output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeez_nb import Client, Emulator
from kubeez_nb.ledger import Ledger, resume

ROOT = Path(__file__).resolve().parents[1]

BATCH = textwrap.dedent(
    """
    import os, kubeez_nb as kz
    client = kz.Client(base_url=os.environ["EMU_URL"], home=os.environ["HOME_DIR"])
    kz.batch([{"model": "nano-banana-2", "prompt": f"fox {i}"} for i in range(6)], client=client, progress=False)
    print("FINISHED", flush=True)
    """
)
RESUME = textwrap.dedent(
    """
    import json, os, kubeez_nb as kz
    client = kz.Client(base_url=os.environ["EMU_URL"], home=os.environ["HOME_DIR"])
    jobs = kz.resume(client, progress=False)
    print(json.dumps({j.id: [o.local_path for o in j.outputs] for j in jobs}))
    """
)


@pytest.fixture
def slow_emulator() -> Iterator[Any]:
    """Jobs last about 4 s: long enough to kill a process while they run."""
    with Emulator(speed=10.0, credits=100_000) as emu:
        yield emu


def _env(emu: Any, home: Path) -> dict[str, str]:
    return {**os.environ, "KUBEEZ_API_KEY": emu.api_key, "EMU_URL": emu.url, "HOME_DIR": str(home),
            "PYTHONPATH": str(ROOT)}  # fmt: skip


def test_killed_batch_is_recovered_by_a_new_process(slow_emulator: Any, tmp_path: Path) -> None:
    env = _env(slow_emulator, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", BATCH], env=env, stdout=subprocess.PIPE, cwd=tmp_path
    )
    ledger_path = tmp_path / "ledger.sqlite3"
    deadline = time.monotonic() + 30
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if ledger_path.exists():
            rows = [r for r in Ledger(ledger_path).jobs() if r["job_id"]]
            if len(rows) == 6:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert len(rows) == 6, "the batch did not submit its jobs in time"
    assert b"FINISHED" not in proc.stdout.read()
    unfinished = Ledger(ledger_path).jobs(unfinished=True)
    assert unfinished, "every job finished before the kill; the test proves nothing"

    out = subprocess.run(
        [sys.executable, "-c", RESUME], env=env, capture_output=True, cwd=tmp_path, timeout=120
    )
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    recovered = json.loads(out.stdout.decode().strip().splitlines()[-1])
    assert {r["job_id"] for r in unfinished} <= set(recovered)
    final = Ledger(ledger_path).jobs()
    assert len(final) == 6 and {r["status"] for r in final} == {"completed"}
    for row in final:
        assert row["local_paths"] and all(Path(p).is_file() for p in row["local_paths"].values())
    assert slow_emulator.stats()["generations_created"] == 6  # nothing was paid for twice


def test_resume_refetches_missing_files_of_completed_jobs(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    job = client.generate_media("nano-banana-2", "a fox").wait(progress=False)
    path = Path(job.outputs[0].local_path)
    path.unlink()
    new = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    (again,) = resume(new, progress=False)
    assert again.id == job.id and path.is_file()
    assert resume(new, progress=False) == []  # nothing left to do


def test_jobs_of_another_server_are_left_alone(fresh_emulator: Any, tmp_path: Path) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    client.generate_media("nano-banana-2", "a fox")
    other = Client(api_key="sk_live_x", base_url="http://127.0.0.1:9", home=tmp_path)
    assert resume(other, progress=False) == []  # no request was attempted against port 9
