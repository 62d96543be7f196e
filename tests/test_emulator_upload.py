"""The emulator as its own process (the CLI), taking a 500 MB upload with bounded memory."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests

MB = 1024 * 1024
CAP = 500 * MB


class ZeroMultipart:
    """A multipart body carrying ``size`` zero bytes, produced on the fly (never held in memory)."""

    boundary = "kubeez-test-boundary"

    def __init__(self, size: int) -> None:
        self.head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.size, self.pos = size, 0
        self.total = len(self.head) + size + len(self.tail)
        self.zeros = bytes(MB)

    def __len__(self) -> int:  # requests sends Content-Length from this
        return self.total - self.pos

    def read(self, n: int = -1) -> bytes:
        n = MB if n is None or n < 0 else n
        h, body_end = len(self.head), len(self.head) + self.size
        if self.pos < h:
            out = self.head[self.pos : self.pos + n]
        elif self.pos < body_end:
            out = self.zeros[: min(n, body_end - self.pos, MB)]
        else:
            off = self.pos - body_end
            out = self.tail[off : off + n]
        self.pos += len(out)
        return out


@pytest.fixture
def served() -> Iterator[tuple[str, str, int]]:
    """``python -m kubeez_nb.emulator --port 0 --api-key ...`` in its own process: (url, key, pid)."""
    key = "sk_test_cli_upload"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubeez_nb.emulator",
            "--port",
            "0",
            "--api-key",
            key,
            "--speed",
            "100",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Kubeez emulator serving at http://127.0.0.1:"), first
        assert key in proc.stdout.readline()
        yield first.split()[-1], key, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_serves_the_api(served: tuple[str, str, int]) -> None:
    url, key, _ = served
    assert requests.get(url + "/health").json() == {"status": "healthy"}
    assert requests.get(url + "/v1/balance", headers={"X-API-Key": key}).json()["credits"] == 10_000


def test_500_mb_upload_streams_with_bounded_rss_and_one_byte_more_is_413(
    served: tuple[str, str, int],
) -> None:
    import psutil

    url, key, pid = served
    proc = psutil.Process(pid)
    peak = [proc.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    headers = {
        "X-API-Key": key,
        "Content-Type": f"multipart/form-data; boundary={ZeroMultipart.boundary}",
    }
    try:
        ok = requests.post(
            url + "/v1/upload/media", headers=headers, data=ZeroMultipart(CAP), timeout=120
        )
        over = requests.post(
            url + "/v1/upload/media", headers=headers, data=ZeroMultipart(CAP + 1), timeout=120
        )
    finally:
        done.set()
        sampler.join()
    assert ok.status_code == 200, ok.text
    stored = requests.head(ok.json()["urls"][0])
    assert int(stored.headers["Content-Length"]) == CAP
    assert over.status_code == 413 and over.json()["error"] == "file_too_large"
    assert peak[0] < 100 * MB, f"emulator RSS peaked at {peak[0] / MB:.0f} MB"
    # far over the cap: refused from Content-Length before the body is read
    t0 = time.perf_counter()
    r = requests.post(
        url + "/v1/upload/media",
        headers={**headers, "Content-Length": str(2 * CAP)},
        data=b"",
        timeout=30,
    )
    assert r.status_code == 413 and time.perf_counter() - t0 < 5
