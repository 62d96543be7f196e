"""Core figures: import cost and upload memory, each against a baseline measured in the same run.

- ``import_ratio``: ``import kubeez_nb`` ÷ ``import requests``, each in fresh processes, minus the
  bare interpreter start-up (median of several runs). Goal ≤ 1.25.
- ``upload_rss_ratio``: peak RSS growth of a process uploading a 500 MB file with
  ``client.upload`` ÷ the same upload with ``requests.post(files=...)``. The emulator runs in its
  own process so only the uploader is measured. Goal ≤ 0.1.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
RUNS = 7
UPLOAD_BYTES = 500 * 1024 * 1024


def _fresh(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([PY, "-c", code], check=True)
    return time.perf_counter() - started


def _median(code: str) -> float:
    _fresh(code)  # warm the OS file cache
    return statistics.median(_fresh(code) for _ in range(RUNS))


def import_ratio() -> tuple[float, str]:
    bare = _median("pass")
    requests_s = _median("import requests") - bare
    ours = _median("import kubeez_nb") - bare
    return (
        ours / requests_s,
        f"kubeez_nb {ours * 1000:.1f} ms vs requests {requests_s * 1000:.1f} ms (start-up {bare * 1000:.0f} ms removed)",
    )


_UPLOADER = r"""
import os, resource, sys
path, url, key, mode = sys.argv[1:5]
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if mode == "requests":
    import requests
    before = peak_mb()
    with open(path, "rb") as fh:
        r = requests.post(url + "/v1/upload/media", files={"file": fh}, headers={"X-API-Key": key}, timeout=600)
    r.raise_for_status()
else:
    import kubeez_nb as kz
    client = kz.Client(api_key=key, base_url=url, ledger=False)
    client.health()
    before = peak_mb()
    client.upload(path)
print(peak_mb() - before)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def upload_rss_ratio() -> tuple[float, str]:
    port, key = _free_port(), "sk_test_bench_upload"
    server = subprocess.Popen(
        [PY, "-m", "kubeez_nb.emulator", "--port", str(port), "--api-key", key],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        import requests

        for _ in range(100):
            try:
                requests.get(url + "/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "big.bin"
            with open(path, "wb") as fh:  # sparse: reads as zeros, costs no disk
                fh.truncate(UPLOAD_BYTES)
            growth = {}
            for mode in ("requests", "kubeez"):
                out = subprocess.run(
                    [PY, "-c", _UPLOADER, str(path), url, key, mode],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                growth[mode] = max(float(out.stdout.strip().splitlines()[-1]), 1.0)
        ratio = growth["kubeez"] / growth["requests"]
        return (
            ratio,
            f"peak RSS growth {growth['kubeez']:.0f} MB vs requests files= {growth['requests']:.0f} MB for 500 MB",
        )
    finally:
        server.terminate()
        server.wait(10)


def run(record) -> None:  # type: ignore[no-untyped-def]
    value, note = import_ratio()
    record("import_ratio", value, 1.25, "<=", note)
    value, note = upload_rss_ratio()
    record("upload_rss_ratio", value, 0.1, "<=", note)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    run(lambda *a, **k: print(a, k))
