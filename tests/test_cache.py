"""Media cache: streamed, atomic, idempotent downloads into KUBEEZ_HOME/media."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from kubeez_nb import Client
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
