"""The history mirror's storage: file per origin + key fingerprint (never the key), damaged files
moved aside and rebuilt, two processes syncing one home at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import kubeez_nb as kz
from kubeez_nb._secrets import Secret
from kubeez_nb.history import sync
from kubeez_nb.mirror import MIRROR_DIR, Mirror, mirror_path

FAST = {"read": 1_000_000}


def test_one_file_per_origin_and_key_and_the_key_is_nowhere(tmp_path: Path) -> None:
    key = "sk_live_mirror_secret_0123456789abcdef"
    a = mirror_path(tmp_path, "https://api.kubeez.com", Secret(key))
    assert a == mirror_path(tmp_path, "https://api.kubeez.com/", Secret(key))  # stable
    assert a != mirror_path(tmp_path, "https://api.kubeez.com", Secret(key + "x"))
    assert a != mirror_path(tmp_path, "http://127.0.0.1:8000", Secret(key))
    assert a.parent == tmp_path / MIRROR_DIR and len(a.stem.split("-")[1]) == 16
    # another home has another salt: the name does not identify the key across machines
    assert a.name != mirror_path(tmp_path / "other", "https://api.kubeez.com", Secret(key)).name
    m = Mirror(a)
    m.write([(1.0, {"id": "g1", "status": "completed", "outputs": []})], complete=True)
    m.close()
    for f in (tmp_path / MIRROR_DIR).rglob("*"):
        assert key not in f.name and key.encode() not in f.read_bytes()
    assert "sk_live" not in repr(m) and "sk_live" not in str(a)


def test_history_never_writes_the_key(emulator: Any, tmp_path: Path) -> None:
    client = kz.Client(api_key=emulator.api_key, base_url=emulator.url, home=tmp_path)
    client.history(progress=False)
    files = list((tmp_path / MIRROR_DIR).iterdir())
    assert any(f.suffix == ".sqlite3" for f in files)
    for f in files:
        assert emulator.api_key.encode() not in f.read_bytes()


def test_a_damaged_mirror_is_moved_aside_with_a_warning_and_rebuilt(
    emulator: Any, tmp_path: Path
) -> None:
    client = kz.Client(api_key=emulator.api_key, base_url=emulator.url, home=tmp_path)
    job = client.generate_media("nano-banana-2", "damaged mirror", aspect_ratio="1:1")
    job.wait(progress=False)
    path = sync.mirror_for(client).path
    first = client.history(progress=False)
    sync.mirror_for(client).close()
    sync._MIRRORS.clear()
    for side in ("-wal", "-shm"):
        Path(str(path) + side).unlink(missing_ok=True)
    path.write_bytes(b"this is not an sqlite database" * 100)

    fresh = kz.Client(api_key=emulator.api_key, base_url=emulator.url, home=tmp_path)
    with pytest.warns(RuntimeWarning, match="damaged") as caught:
        df = fresh.history(progress=False)
    message = str(caught[0].message)
    assert str(path) in message and ".corrupt-" in message
    aside = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert aside and aside[0].read_bytes().startswith(b"this is not")
    assert set(df["id"]) == set(first["id"]) and job.id in set(df["id"])
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


_KERNEL = textwrap.dedent(
    """
    import pathlib, sys, time, kubeez_nb as kz
    c = kz.Client(api_key=sys.argv[1], base_url=sys.argv[2], home=sys.argv[3],
                  rate_limits={"read": 1_000_000}, ledger=False)
    ready = pathlib.Path(sys.argv[3], "ready-" + sys.argv[4])
    ready.touch()
    while len(list(pathlib.Path(sys.argv[3]).glob("ready-*"))) < 2:  # a barrier, both start at once
        time.sleep(0.005)
    started = time.monotonic()
    for _ in range(3):
        df = c.history(limit=25, progress=False)
    print(len(df), started, time.monotonic())
    """
)


def test_two_kernels_sharing_a_home_do_not_corrupt_the_mirror(tmp_path: Path) -> None:
    with kz.Emulator(speed=200.0) as emu:
        key = emu.add_key("sk_test_mirror_two_kernels", rate_limits=FAST)
        emu.seed_history(3_000, key)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _KERNEL, key, emu.url, str(tmp_path), str(i)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for i in range(2)
        ]
        outs = [p.communicate(timeout=300) for p in procs]
    spans = []
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        rows, started, ended = out.split()
        assert rows == "3000"
        spans.append((float(started), float(ended)))
    assert max(s for s, _ in spans) < min(e for _, e in spans)  # the two syncs overlapped
    files = list((tmp_path / MIRROR_DIR).glob("*.sqlite3"))
    assert len(files) == 1  # one salt, one fingerprint, one file
    with sqlite3.connect(files[0]) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM rows").fetchone() == (
            3000,
            3000,
        )


def test_a_kernel_sees_what_another_kernel_wrote(tmp_path: Path) -> None:
    """Rows decoded once are kept between reads; another connection's writes still show."""
    path = tmp_path / MIRROR_DIR / "generations-test.sqlite3"
    a, b = Mirror(path), Mirror(path)
    a.write([(2.0, {"id": "g2", "status": "processing"}), (1.0, {"id": "g1", "status": "failed"})])
    assert [r["id"] for r in a.rows()] == ["g2", "g1"]
    b.write(
        [(3.0, {"id": "g3", "status": "completed"}), (2.0, {"id": "g2", "status": "completed"})]
    )
    assert [(r["id"], r["status"]) for r in a.rows()] == [
        ("g3", "completed"),
        ("g2", "completed"),
        ("g1", "failed"),
    ]
    assert [r["id"] for r in a.rows(status="completed")] == ["g3", "g2"]
    assert a.open_rows() == []
    b.clear()
    assert a.rows() == [] and a.count() == 0
    a.write([(1.0, {"id": "g9", "status": "completed"})])
    assert [r["id"] for r in b.rows()] == ["g9"]


def test_the_mirror_is_storage_it_knows_nothing_of_the_client() -> None:
    """Layering (docs/ARCHITECTURE.md): storage sits below the client; history sits above."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_layering", Path(__file__).with_name("test_layering.py")
    )
    assert spec is not None and spec.loader is not None
    layering = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layering)
    graph = layering._graph()
    upper = {"kubeez_nb.client", "kubeez_nb.pipeline", "kubeez_nb.job", "kubeez_nb.recovery"}
    assert graph["kubeez_nb.mirror"] and not {
        d for d in graph["kubeez_nb.mirror"] if d in upper or d.startswith("kubeez_nb.history")
    }
    assert "kubeez_nb.mirror" in graph["kubeez_nb.history.sync"]
