"""The ledger: a row before the POST returns, status changes, outputs, cost, kz.jobs()."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from kubeez_nb import Client
from kubeez_nb.errors import InsufficientCreditsError
from kubeez_nb.ledger import Ledger
from kubeez_nb.recovery import jobs


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


# ---- the ledger is written or nothing is sent --------------------------------------------------


def _posts(emu: object) -> int:
    return sum(
        n for route, n in emu.stats()["requests"].items() if route.startswith("POST /v1/generate")
    )  # type: ignore[attr-defined]


def test_corrupt_ledger_is_a_ledger_error_naming_the_file_and_never_recreated(
    fresh_emulator: object, tmp_path: Path
) -> None:
    from kubeez_nb.errors import LedgerError

    bad = tmp_path / "ledger.sqlite3"
    garbage = b"this is not a database, it is a shopping list\n" * 200
    bad.write_bytes(garbage)
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)  # type: ignore[attr-defined]
    with pytest.raises(LedgerError) as info:
        client.generate_media("nano-banana-2", "a fox", aspect_ratio="1:1")
    text = str(info.value)
    assert str(bad) in text and "ledger=False" in text and f"mv {bad} {bad}.bad" in text
    assert info.value.path == str(bad)
    assert _posts(fresh_emulator) == 0
    assert bad.read_bytes() == garbage  # untouched: the user decides what happens to it
    # the way out works: without a ledger the job is sent
    job = Client(
        api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, ledger=False
    ).generate_media(  # type: ignore[attr-defined]
        "nano-banana-2", "a fox", aspect_ratio="1:1"
    )
    assert job.id and _posts(fresh_emulator) == 1


def test_ledger_locked_past_the_timeout_sends_nothing(
    fresh_emulator: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    import kubeez_nb.ledger as ledger_mod
    from kubeez_nb.errors import LedgerError

    monkeypatch.setattr(ledger_mod, "LEDGER_LOCK_TIMEOUT_S", 0.3)
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)  # type: ignore[attr-defined]
    client.catalog()
    assert client.ledger is not None
    other = sqlite3.connect(str(tmp_path / "ledger.sqlite3"), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        start = time.monotonic()
        with pytest.raises(LedgerError, match="locked") as info:
            client.generate_media("nano-banana-2", "a fox", aspect_ratio="1:1")
        assert time.monotonic() - start < 3
        assert str(tmp_path / "ledger.sqlite3") in str(info.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _posts(fresh_emulator) == 0
    assert client.estimated_spend == 0


def test_a_row_sqlite_cannot_store_raises_instead_of_vanishing(tmp_path: Path) -> None:
    from kubeez_nb.errors import LedgerError

    ledger = Ledger(tmp_path / "ledger.sqlite3")
    with pytest.raises(LedgerError, match=str(tmp_path)):
        ledger.record_submit(None, {"prompt": "lone \udc80 surrogate"}, None)
    assert ledger.jobs() == []


def test_lone_surrogate_prompt_is_never_posted_without_a_row(
    fresh_emulator: object, tmp_path: Path
) -> None:
    from kubeez_nb.errors import KubeezError

    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)  # type: ignore[attr-defined]
    with pytest.raises(KubeezError):  # refused up front (ValidationError) or by the ledger
        client.generate_media("nano-banana-2", "bad \ud800 text", aspect_ratio="1:1")
    assert _posts(fresh_emulator) == 0


def test_key_echoed_in_an_error_message_is_not_stored(tmp_path: Path) -> None:
    from kubeez_nb._http import Transport

    key = "sk_live_ECHOEDecho0123456789abcdef"
    plain = "plainkey-not-key-shaped-123"
    transport = Transport("http://127.0.0.1:9", plain)  # a live key of this process
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    job = SimpleNamespace(
        id="g1", kind="media", model="m", status="failed", outputs=None, cost=None,
        completed_at=None, created_at=None, request={}, estimate=None, local_id=None,
        error=f"upstream refused key {key} (and {plain})",
    )  # fmt: skip
    ledger.record_status(job)
    key_row = ledger.record_submit(None, {"prompt": "p"})
    ledger.record_rejected(key_row, f"401: bad key {key}")
    stored = " ".join(str(r["error"]) for r in ledger.jobs())
    assert key not in stored and plain not in stored and key[8:20] not in stored
    assert "***" in stored
    transport.close()
