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
from kubeez_nb.ledger import Ledger
from kubeez_nb.recovery import resume

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


IN_FLIGHT = textwrap.dedent(
    """
    import os, threading, kubeez_nb as kz
    client = kz.Client(base_url=os.environ["EMU_URL"], home=os.environ["HOME_DIR"])
    client.catalog()
    print("READY", flush=True)
    threads = [
        threading.Thread(target=client.generate_media, args=("nano-banana-2", f"in flight {i}"))
        for i in range(30)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("FINISHED", flush=True)
    """
)


def _until(check: Any, timeout: float, what: str) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_with_posts_in_flight_then_resume_accounts_for_every_job(tmp_path: Path) -> None:
    """30 POSTs sent (the server saw them) but none answered when the process is killed: the
    ledger holds 30 rows without a job id. A new process's kz.resume() finds every job the
    server created, exactly once, and pays for nothing again."""
    with Emulator(speed=50.0, credits=100_000, latency=3.0, rate_limit_scale=10.0) as emu:
        env = _env(emu, tmp_path)
        proc = subprocess.Popen(
            [sys.executable, "-c", IN_FLIGHT], env=env, stdout=subprocess.PIPE, cwd=tmp_path
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"READY"
        posts = "POST /v1/generate/media"
        _until(lambda: emu.stats()["requests"].get(posts, 0) >= 30, 30, "30 POSTs at the server")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert b"FINISHED" not in proc.stdout.read()
        rows = Ledger(tmp_path / "ledger.sqlite3").jobs()
        assert len(rows) == 30 and all(r["job_id"] is None for r in rows), "POSTs were answered"
        assert {r["status"] for r in rows} == {"submitting"}
        # the server finishes what it received (its latency passes), then a new process resumes
        _until(lambda: emu.stats()["generations_created"] == 30, 30, "the server's 30 jobs")
        emu.set_knobs(latency=0.0)
        out = subprocess.run(
            [sys.executable, "-c", RESUME], env=env, capture_output=True, cwd=tmp_path, timeout=120
        )
        assert out.returncode == 0, out.stderr.decode()[-2000:]
        recovered = json.loads(out.stdout.decode().strip().splitlines()[-1])
        server = {j.id: j for j in emu.backend.jobs.values()}
        stats = emu.stats()
    final = Ledger(tmp_path / "ledger.sqlite3").jobs()
    assert len(server) == 30 and set(server) == set(recovered)
    assert {r["job_id"] for r in final} == set(server)  # each in the ledger with its id
    by_row = {r["job_id"]: r for r in final}
    for job_id, job in server.items():  # ... and on the row of the request that made it
        assert by_row[job_id]["request_key"] == job.request_id
        assert by_row[job_id]["request"]["prompt"] == job.prompt
    assert {r["status"] for r in final} == {"completed"}
    assert stats["generations_created"] == 30
    assert all(len(c) == 1 for c in stats["charges"].values())
