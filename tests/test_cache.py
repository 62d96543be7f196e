"""Media cache: streamed, atomic, idempotent downloads into KUBEEZ_HOME/media."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from kubeez_nb import Client, Job
from kubeez_nb.cache import MediaCache, extension
from kubeez_nb.ledger import Ledger


def test_completed_outputs_land_in_the_cache(client: Client, emulator: object) -> None:
    job = client.generate_media("nano-banana-2", "a fox").wait(progress=False)
    path = Path(job.outputs[0].local_path)
    assert path == client.home / "media" / job.id / "0.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = emulator.stats()["requests"].get("GET /media/<file_id>/<path:name>", 0)
    client.cache.fetch(job)  # already cached: nothing downloaded again
    assert emulator.stats()["requests"].get("GET /media/<file_id>/<path:name>", 0) == before


def test_interrupted_download_leaves_no_file(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    cache = MediaCache(tmp_path / "media", ledger=ledger)
    out = SimpleNamespace(
        url="https://cdn.example/x.mp4?sig=1", media_type="video", format=None, local_path=None
    )
    job = SimpleNamespace(id="job-1", outputs=[out])

    def broken(url: str, dest: Path) -> None:
        dest.write_bytes(b"half a video")
        raise OSError("connection reset")

    with pytest.raises(OSError):
        cache.fetch(job, broken, raise_errors=True)
    assert cache.files() == [] and out.local_path is None
    assert list((tmp_path / "media" / "job-1").iterdir()) == []

    cache.fetch(job, lambda url, dest: dest.write_bytes(b"whole video"))
    assert (
        Path(out.local_path).name == "0.mp4" and Path(out.local_path).read_bytes() == b"whole video"
    )
    assert ledger.get("job-1") is None  # record_local does not invent job rows ...
    assert (
        ledger._conn.execute("SELECT path FROM local_files").fetchone()[0] == out.local_path
    )  # ... but keeps the path


@pytest.mark.parametrize(
    ("url", "fmt", "media_type", "ext"),
    [
        ("https://x/a.png?sig=1", None, "image", "png"),
        ("https://x/a", "jpeg", "image", "jpg"),
        ("https://x/a", None, "video/mp4", "mp4"),
        ("https://x/a", None, "audio/mpeg", "mp3"),
        ("/images/abc.webp", None, None, "webp"),
        ("https://x/a", None, "video", "mp4"),
    ],
)
def test_extension_from_format_url_or_type(
    url: str, fmt: str | None, media_type: str | None, ext: str
) -> None:
    assert extension(url, fmt, media_type) == ext


# ---- nothing is kept that is not the output ----------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 992  # 1000 bytes that look like a PNG


class _Host(http.server.BaseHTTPRequestHandler):
    """A media host that misbehaves on purpose, one way per path."""

    protocol_version = "HTTP/1.0"  # no keep-alive: a closed socket ends a body without length
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        _Host.hits[path] = _Host.hits.get(path, 0) + 1
        body, ctype, length = PNG, "image/png", str(len(PNG))
        if path == "/cut.png":  # promises 1000 bytes, sends 500, hangs up
            body = PNG[:500]
        elif path == "/short.png":  # no Content-Length at all, 500 bytes
            body, length = PNG[:500], ""
        elif path == "/empty.png":
            body, length = b"", "0"
        elif path == "/page.png":  # an HTML error page served with 200
            body = b"<!DOCTYPE html><html><body>Access denied</body></html>"
            ctype, length = "text/html; charset=utf-8", str(len(body))
        elif path == "/labelled-html.png":  # PNG bytes, but the host says text/html
            ctype = "text/html"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", length)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _job(client: Client, url: str, file_size: int | None = None) -> Job:
    out: dict[str, Any] = {"url": url, "media_type": "image"}
    if file_size is not None:
        out["file_size"] = file_size
    return Job(
        client, f"gen-{abs(hash(url)) % 10**8}", raw={"status": "completed", "outputs": [out]}
    )


def _leftovers(cache: MediaCache) -> list[Path]:
    return [p for p in cache.root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("path", "file_size", "words"),
    [
        ("/cut.png", None, "broke off"),  # the Content-Length check of the HTTP layer
        ("/short.png", 1000, "file_size"),  # no length header: the output's file_size catches it
        ("/empty.png", None, "empty body"),
        ("/page.png", None, "text body for an image output"),
    ],
)
def test_a_bad_body_is_refused_and_leaves_no_file(
    client: Client, host: str, path: str, file_size: int | None, words: str
) -> None:
    job = _job(client, host + path, file_size)
    before = _Host.hits.get(path, 0)
    with pytest.raises(OSError) as info:
        client.cache.fetch(job, raise_errors=True)
    assert _Host.hits[path] == before + 1  # the bad body really was served
    assert words in str(info.value).replace("HTML/JSON/XML ", "")
    assert job.outputs[0].local_path is None
    assert _leftovers(client.cache) == []  # neither a final file nor a .part


def test_the_same_host_serving_the_whole_file_is_cached(client: Client, host: str) -> None:
    job = _job(client, host + "/ok.png", file_size=len(PNG))
    (path,) = client.cache.fetch(job, raise_errors=True)
    assert path.read_bytes() == PNG and job.outputs[0].local_path == str(path)


def test_a_content_type_contradicting_the_output_is_refused(host: str, tmp_path: Path) -> None:
    """A downloader that returns the headers (the cache's own streamer) has them checked."""
    from kubeez_nb.cache import stream_download

    cache = MediaCache(tmp_path / "media", download=stream_download)
    job = SimpleNamespace(
        id="j", outputs=[{"url": host + "/labelled-html.png", "media_type": "image"}]
    )
    with pytest.raises(OSError, match="text/html for an image output"):
        cache.fetch(job, raise_errors=True)
    assert _leftovers(cache) == []
    job.outputs[0]["url"] = host + "/ok.png"
    assert len(cache.fetch(job, raise_errors=True)) == 1


def test_a_truncated_cached_file_is_fetched_again(client: Client, host: str) -> None:
    job = _job(client, host + "/ok.png", file_size=len(PNG))
    dest = client.cache.path_for(job.id, 0, job.outputs[0])
    dest.parent.mkdir(parents=True)
    dest.write_bytes(PNG[:300])  # what an older version kept after a cut download
    (path,) = client.cache.fetch(job, raise_errors=True)
    assert path.read_bytes() == PNG


def test_stale_partials_are_swept_at_start(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "media" / "job-1"
    folder.mkdir(parents=True)
    orphan = folder / f".0.mp4.{dead.pid}-0123abcd.part"  # its process was killed mid-download
    old = folder / ".0.png.deadbeef.part"  # an older naming, idle for two hours
    live = folder / f".1.mp4.{os.getpid()}-89abcdef.part"  # a download under way right now
    nested = folder / f".0.mp4.{dead.pid}-0123abcd.part.part-1234abcd"  # the HTTP layer's own
    for p in (orphan, old, live, nested):
        p.write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    cache = MediaCache(tmp_path / "media")
    assert cache.swept == 3
    assert sorted(p.name for p in folder.iterdir()) == [live.name]
    assert cache.files() == [] and cache.lookup("job-1", 1) is None
