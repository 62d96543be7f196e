"""The ledger: a row before the POST returns, status changes, outputs, cost, kz.jobs()."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from kubeez_nb import Client
from kubeez_nb.errors import InsufficientCreditsError
from kubeez_nb.ledger import Ledger, jobs


def test_row_exists_before_the_post_returns(fresh_emulator: object, tmp_path: Path) -> None:
    emu = fresh_emulator
    emu.set_knobs(latency=0.8)  # every request answers slowly: the POST is still in flight below
    client = Client(api_key=emu.api_key, base_url=emu.url, home=tmp_path)
    client.catalog()
    result: dict[str, object] = {}
    t = threading.Thread(
        target=lambda: result.update(job=client.generate_media("nano-banana-2", "a fox"))
    )
    t.start()
    seen = []
    deadline = time.monotonic() + 5
    while t.is_alive() and time.monotonic() < deadline and not seen:
        seen = client.ledger.jobs()
        time.sleep(0.02)
    assert seen, "no ledger row while the POST was in flight"
    assert t.is_alive(), "the POST answered before the ledger was checked"
    assert seen[0]["status"] == "submitting"
    assert seen[0]["request"]["prompt"] == "a fox"
    assert seen[0]["estimate"] == pytest.approx(
        float(client.estimate(model="nano-banana-2", prompt="a fox"))
    )
    t.join()
    job = result["job"]
    row = client.ledger.get(job.id)
    assert (
        row is not None and row["local_id"] == seen[0]["local_id"]
    )  # the same row, now with its id


def test_status_outputs_cost_and_files_are_recorded(client: Client) -> None:
    job = client.generate_media("nano-banana-2", "a red fox in snow").wait(progress=False)
    row = client.ledger.get(job.id)
    assert row["status"] == "completed"
    assert row["cost"] == pytest.approx(job.cost)
    assert row["completed_at"] is not None
    assert [o["url"] for o in row["outputs"]] == [o.url for o in job.outputs]
    assert Path(row["local_paths"][0]).is_file()
    statuses = [s for _, s in client.ledger.events(job.id)]
    assert statuses[0] == "submitting" and statuses[-1] == "completed"


def test_refused_post_is_marked_rejected(fresh_emulator: object, tmp_path: Path) -> None:
    key = fresh_emulator.add_key(credits=1)
    client = Client(api_key=key, base_url=fresh_emulator.url, home=tmp_path)
    with pytest.raises(InsufficientCreditsError):
        client.generate_media("nano-banana-2", "a fox")
    (row,) = client.ledger.jobs()
    assert row["status"] == "rejected" and "credits" in row["error"]
    assert client.ledger.jobs(unfinished=True) == []


def test_kz_jobs_lists_newest_first(client: Client) -> None:
    first = client.generate_media("nano-banana-2", "first")
    second = client.generate_media("nano-banana-2", "second")
    table = jobs(client.home)
    assert list(table["job_id"][:2]) == [second.id, first.id]
    assert list(table["prompt"][:2]) == ["second", "first"]
    assert {"status", "model", "estimate", "cost", "cached", "error"} <= set(table.columns)


def test_threads_write_concurrently(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")

    def work(n: int) -> None:
        for i in range(25):
            job = SimpleNamespace(id=f"job-{n}-{i}", kind="media", model="m", status="queued")
            ledger.record_submit(job, {"model": "m", "prompt": str(i)}, 1.0)
            job.status = "completed"
            ledger.record_status(job)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = Ledger(tmp_path / "ledger.sqlite3").jobs()  # a second connection sees every commit
    assert len(rows) == 200 and {r["status"] for r in rows} == {"completed"}
