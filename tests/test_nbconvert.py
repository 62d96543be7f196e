"""Static export: an executed demo notebook converted with ``jupyter nbconvert --to html`` shows
its media. Media stay *beside* the HTML (the README says so): every ``src`` is a path relative to
the HTML file, into the data folder (``kubeez-data/media/...``), and that file exists and decodes.
Send the HTML together with that folder (or zip them), or set
``kubeez_nb.render.OPTIONS.embed_images = True`` before running to embed the images as ``data:``
URIs (the second test); video and audio are never embedded (too big for a notebook).
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
QUICKSTART = REPO / "notebooks" / "01-quickstart.ipynb"
pytestmark = pytest.mark.timeout(300)


class _Media(HTMLParser):
    """Every ``src`` of ``<img>``, ``<video>``, ``<audio>`` and their ``<source>`` children."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._parent: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        src = dict(attrs).get("src")
        if tag in ("video", "audio"):
            self._parent.append(tag)
        kind = (
            tag
            if tag in ("img", "video", "audio")
            else (self._parent[-1] if tag == "source" and self._parent else None)
        )
        if kind and src:
            self.found.append((kind, src))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("video", "audio") and self._parent:
            self._parent.pop()


def media_srcs(html: str) -> list[tuple[str, str]]:
    parser = _Media()
    parser.feed(html)
    return parser.found


def resolve(html_path: Path, src: str) -> bytes:
    """The bytes a browser opening ``html_path`` from disk would load for ``src``."""
    if src.startswith("data:"):
        header, _, payload = src.partition(",")
        assert header.endswith(";base64"), header[:60]
        return base64.b64decode(payload)
    parts = urlsplit(src)
    assert not parts.scheme and not parts.netloc, f"{src[:120]} is not relative to the HTML file"
    target = (html_path.parent / unquote(parts.path)).resolve()
    assert target.is_relative_to(html_path.parent.resolve()), (
        f"{src} points outside the export's folder"
    )
    assert target.is_file(), f"{src} does not exist beside {html_path.name}"
    return target.read_bytes()


def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, embed: bool) -> Path:
    """Execute the quickstart in ``tmp_path`` (demo mode), save it, convert it to HTML there."""
    import nbformat
    from nbclient import NotebookClient

    notebook = tmp_path / QUICKSTART.name
    shutil.copy(QUICKSTART, notebook)
    monkeypatch.setenv("KUBEEZ_DEMO", "1")
    monkeypatch.setenv("KUBEEZ_DEMO_SPEED", "100")
    monkeypatch.setenv("KUBEEZ_HOME", str(tmp_path / "kubeez-data"))
    monkeypatch.delenv("KUBEEZ_API_KEY", raising=False)
    nb = nbformat.read(notebook, as_version=4)
    if embed:
        nb.cells.insert(
            0,
            nbformat.v4.new_code_cell(
                "import kubeez_nb.render\nkubeez_nb.render.OPTIONS.embed_images = True"
            ),
        )
    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    nbformat.write(nb, notebook)
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", notebook.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return notebook.with_suffix(".html")


def check_image(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()  # decodes, not just a header
        return img.size


def check_av(data: bytes, kind: str) -> float:
    """Open the file with PyAV and return its duration in seconds (a real, decodable stream)."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        frame = next(container.decode(stream))
        assert frame is not None
        return float(container.duration or 0) / 1_000_000


def test_exported_html_shows_images_video_and_audio_from_files_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html_path = export(tmp_path, monkeypatch, embed=False)
    found = media_srcs(html_path.read_text(encoding="utf-8"))
    kinds = {kind for kind, _ in found}
    assert {"img", "video", "audio"} <= kinds, found
    print("\n".join(f"{kind}: {src}" for kind, src in found))

    for kind, src in found:
        assert not src.startswith("data:"), (
            "images are beside the file unless embedding is asked for"
        )
        assert src.startswith("kubeez-data/media/"), src
        data = resolve(html_path, src)
        if kind == "img":
            assert min(check_image(data)) > 0
        else:
            assert check_av(data, kind) > 0.5, src

    # The export really depends on that folder: without it, every medium is gone.
    shutil.rmtree(tmp_path / "kubeez-data")
    with pytest.raises(AssertionError, match="does not exist"):
        resolve(html_path, found[0][1])


def test_embedding_images_makes_them_travel_inside_the_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html_path = export(tmp_path, monkeypatch, embed=True)
    found = media_srcs(html_path.read_text(encoding="utf-8"))
    images = [src for kind, src in found if kind == "img"]
    assert images and all(src.startswith("data:image/") for src in images)
    assert all(min(check_image(resolve(html_path, src))) > 0 for src in images)
    # video and audio stay files beside the HTML
    assert all(resolve(html_path, src) for kind, src in found if kind != "img")
