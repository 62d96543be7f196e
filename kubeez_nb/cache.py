"""The media cache: completed outputs streamed to ``KUBEEZ_HOME/media/<job id>/<index>.<ext>``.

Signed output URLs last an hour; the files here last as long as the user keeps them. Rendering
prefers them (``media.py``), so a saved notebook references a small relative path instead of an
expiring URL or a base64 blob. Downloads are streamed to a temporary file and renamed into place,
so a killed process never leaves a half file under the final name.

The API key is never sent with a download: signed URLs carry their own authorisation, and a
media host is not the API.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:  # pragma: no cover
    from kubeez_nb.ledger import Ledger

MEDIA_DIR = "media"
Download = Callable[[str, Path], None]

_CHUNK = 256 * 1024
_DEFAULT_EXT = {"image": "png", "video": "mp4", "audio": "mp3"}
_KNOWN_EXT = {
    "png", "jpg", "jpeg", "webp", "gif", "mp4", "webm", "mov", "mp3", "wav", "m4a", "ogg",
    "flac", "aac", "srt", "vtt", "json", "txt",
}  # fmt: skip
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def extension(url: str | None = None, fmt: str | None = None, media_type: str | None = None) -> str:
    """The file extension for an output: its ``format``, else the URL's, else by media type."""
    if fmt:
        f = str(fmt).lower().lstrip(".").split("/")[-1]
        if f in _KNOWN_EXT:
            return "jpg" if f == "jpeg" else f
    if url:
        suffix = Path(urlparse(url).path).suffix.lower().lstrip(".")
        if suffix in _KNOWN_EXT:
            return "jpg" if suffix == "jpeg" else suffix
    kind = str(media_type or "").lower()
    if "/" in kind:  # MIME-like "video/mp4" seen live
        sub = kind.split("/", 1)[1].replace("mpeg", "mp3").replace("x-wav", "wav")
        if sub in _KNOWN_EXT:
            return sub
        kind = kind.split("/", 1)[0]
    return _DEFAULT_EXT.get(kind, "bin")


def stream_download(url: str, dest: Path, *, timeout: tuple[float, float] = (5.0, 60.0)) -> None:
    """GET ``url`` in chunks into ``dest`` (no API key; raises on HTTP errors or short bodies)."""
    import requests

    with requests.get(url, stream=True, timeout=timeout) as resp:
        if resp.status_code >= 400:
            from kubeez_nb.errors import error_from_response

            raise error_from_response(resp.status_code, resp.text[:2000], resp.headers)
        expected = resp.headers.get("Content-Length")
        written = 0
        with open(dest, "wb") as fh:
            for chunk in resp.iter_content(_CHUNK):
                fh.write(chunk)
                written += len(chunk)
        if expected is not None and expected.isdigit() and int(expected) != written:
            raise OSError(f"download of output cut short: {written} of {expected} bytes")


class MediaCache:
    """Cached output files under ``root`` (``KUBEEZ_HOME/media``)."""

    def __init__(self, root: str | Path, *, ledger: Ledger | None = None,
                 download: Download | None = None) -> None:  # fmt: skip
        self.root = Path(root)
        self.ledger = ledger
        self._download = download or stream_download
        self._locks: dict[Path, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def __repr__(self) -> str:
        return f"MediaCache({str(self.root)!r})"

    def path_for(self, job_id: str, index: int, output: Any = None) -> Path:
        """Where output ``index`` of ``job_id`` is (or will be) cached."""
        ext = extension(_get(output, "url"), _get(output, "format"), _get(output, "media_type"))
        return self.root / _SAFE.sub("_", str(job_id)) / f"{int(index)}.{ext}"

    def lookup(self, job_id: str, index: int) -> Path | None:
        """The cached file of output ``index`` whatever its extension, or None."""
        folder = self.root / _SAFE.sub("_", str(job_id))
        try:
            for p in folder.glob(f"{int(index)}.*"):
                if not p.name.endswith(".part") and p.stat().st_size > 0:
                    return p
        except OSError:
            return None
        return None

    def fetch(self, job: Any, download: Download | None = None, *, ledger: Ledger | None = None,
              raise_errors: bool = False) -> list[Path]:  # fmt: skip
        """Download every output of ``job`` that has a URL and no local file yet.

        Sets ``output.local_path`` and records the path in the ledger. Outputs already cached
        are only re-linked. Returns the local paths of all cached outputs. A failed download
        (expired URL, network) is skipped, unless ``raise_errors``.
        """
        job_id = _get(job, "id")
        if not job_id:
            return []
        ledger = ledger or self.ledger
        get = download or self._download
        paths: list[Path] = []
        for index, out in enumerate(_get(job, "outputs") or ()):
            try:
                path = self._fetch_one(str(job_id), index, out, get, ledger)
            except Exception:
                if raise_errors:
                    raise
                continue
            if path is not None:
                paths.append(path)
        return paths

    def _fetch_one(self, job_id: str, index: int, out: Any, get: Download,
                   ledger: Ledger | None) -> Path | None:  # fmt: skip
        local = _get(out, "local_path")
        if local and Path(local).is_file():
            return Path(local)
        found = self.lookup(job_id, index)
        url = _get(out, "url")
        if found is None and url:
            dest = self.path_for(job_id, index, out)
            with self._lock_for(dest):
                found = self.lookup(job_id, index)  # another thread may have just finished it
                if found is None:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
                    try:
                        get(str(url), tmp)
                        os.replace(tmp, dest)
                    finally:
                        tmp.unlink(missing_ok=True)
                    found = dest
        if found is None:
            return None
        _set(out, "local_path", str(found))
        self._fetch_cover(job_id, index, out, get)
        if ledger is not None:
            ledger.record_local(job_id, index, found)
        return found

    def _fetch_cover(self, job_id: str, index: int, out: Any, get: Download) -> None:
        """Songs show a cover image: keep it too (its URL expires like the audio's)."""
        cover = _get(out, "thumbnail_url")
        kind = str(_get(out, "media_type") or "")
        if not cover or not kind.startswith("audio"):
            return
        dest = (
            self.root
            / _SAFE.sub("_", job_id)
            / f"{int(index)}-cover.{extension(cover, None, 'image')}"
        )
        if not dest.is_file():
            tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
            try:
                get(str(cover), tmp)
                os.replace(tmp, dest)
            except Exception:  # a missing cover is cosmetic; the audio is what was paid for
                return
            finally:
                tmp.unlink(missing_ok=True)
        _set(out, "thumbnail_path", str(dest))

    def _lock_for(self, path: Path) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(path, threading.Lock())

    def attach(self, job: Any) -> None:
        """Set ``local_path`` on outputs whose files are already cached (no download)."""
        job_id = _get(job, "id")
        if not job_id:
            return
        for index, out in enumerate(_get(job, "outputs") or ()):
            if not _get(out, "local_path"):
                found = self.lookup(str(job_id), index)
                if found is not None:
                    _set(out, "local_path", str(found))

    def files(self) -> Iterable[Path]:
        """Every cached file."""
        if not self.root.is_dir():
            return []
        return sorted(
            p for p in self.root.glob("*/*") if p.is_file() and not p.name.endswith(".part")
        )


def cache_for_client(client: Any = None, home: str | Path | None = None) -> MediaCache:
    """The cache a client uses (its ``.cache``), else the one of ``home`` / ``KUBEEZ_HOME``."""
    cache = getattr(client, "cache", None) if home is None else None
    if isinstance(cache, MediaCache):
        return cache
    from kubeez_nb._config import kubeez_home
    from kubeez_nb.ledger import ledger_for

    root = Path(home).expanduser().resolve() if home is not None else kubeez_home()
    return MediaCache(root / MEDIA_DIR, ledger=ledger_for(root))


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def _set(obj: Any, name: str, value: Any) -> None:
    try:
        if isinstance(obj, dict):
            obj[name] = value
        else:
            setattr(obj, name, value)
    except Exception:  # frozen output records: the ledger still knows the path
        pass
