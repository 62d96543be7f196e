"""A full (or read-only) disk under KUBEEZ_HOME: LedgerError naming the file, and no POST at all."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import kubeez_nb as kz
from kubeez_nb.errors import LedgerError

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="mounting a tiny tmpfs needs root (run the suite as root to prove it)"
)


@pytest.fixture
def tiny_home(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _posts(emu: kz.Emulator) -> int:
    return sum(n for r, n in emu.stats()["requests"].items() if r.startswith("POST /v1/generate"))


def _fill(folder: Path) -> None:
    fd = os.open(folder / "filler.bin", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:  # ENOSPC: the disk is full
        pass
    finally:
        os.close(fd)
    for _ in range(64):  # the last partial blocks too
        try:
            (folder / f"crumb-{_}").write_bytes(b"\0" * 512)
        except OSError:
            break


@needs_root
def test_disk_full_sends_nothing_and_names_the_ledger(
    tiny_home: Path, fresh_emulator: kz.Emulator
) -> None:
    home = tiny_home / f"home-{uuid.uuid4().hex[:6]}"
    client = kz.Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=home)
    first = client.generate_media("nano-banana-2", "before the disk filled", aspect_ratio="1:1")
    assert first.id and _posts(fresh_emulator) == 1
    _fill(tiny_home)
    refused = 0
    for i in range(8):  # a batch's worth: not one of them may be sent without its row
        with pytest.raises(LedgerError) as info:
            client.generate_media("nano-banana-2", f"on a full disk {i}", aspect_ratio="1:1")
        refused += 1
        assert str(home / "ledger.sqlite3") in str(info.value)
        assert "ledger=False" in str(info.value) and "full" in str(info.value)
    assert refused == 8 and _posts(fresh_emulator) == 1
    assert fresh_emulator.stats()["generations_created"] == 1


@needs_root
def test_read_only_home_sends_nothing(tiny_home: Path, fresh_emulator: kz.Emulator) -> None:
    from kubeez_nb.ledger import Ledger

    home = tiny_home / "home"
    Ledger(home / "ledger.sqlite3").close()  # an existing ledger, then the disk turns read-only
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_home)], check=True)
    client = kz.Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=home)
    with pytest.raises(LedgerError, match=r"ledger\.sqlite3"):
        client.generate_media("nano-banana-2", "read-only", aspect_ratio="1:1")
    assert _posts(fresh_emulator) == 0
