"""The media cache: completed outputs streamed to ``KUBEEZ_HOME/media/<job id>/<index>.<ext>``.

Signed output URLs last an hour; the files here last as long as the user keeps them. Rendering
prefers them (``render.py``), so a saved notebook references a small relative path instead of an
expiring URL or a base64 blob. Downloads are streamed to a temporary file and renamed into place,
so a killed process never leaves a half file under the final name.

Nothing is kept that is not the output (``check_download``): an empty body, a body shorter than
its ``Content-Length`` or than the output's ``file_size``, and a body whose type contradicts the
output's media kind (an HTML error page, JSON, a picture where a video was due, or a
``Content-Type`` saying so) are refused and deleted. A cached file whose size no longer matches
the output's ``file_size`` is fetched again. Partial files are named
``.<name>.<pid>-<random>.part``; a cache sweeps the partials its dead processes left behind
(owner no longer running, or idle for an hour) when it starts.

The API key is never sent with a download: signed URLs carry their own authorisation, and a
media host is not the API.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from kubeez_nb.contract import wire
from kubeez_nb.contract.wire import integer as _int

if TYPE_CHECKING:  # pragma: no cover
    from kubeez_nb.ledger import Ledger

MEDIA_DIR = "media"
#: ``download(url, dest)``; it may return the response headers (then they are checked too)
Download = Callable[[str, Path], Any]

_CHUNK = 256 * 1024
_DEFAULT_EXT = {"image": "png", "video": "mp4", "audio": "mp3"}
_KNOWN_EXT = {
    "png", "jpg", "jpeg", "webp", "gif", "mp4", "webm", "mov", "mp3", "wav", "m4a", "ogg",
    "flac", "aac", "srt", "vtt", "json", "txt",
}  # fmt: skip
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: a partial file idle this long is abandoned whoever owns it (a live download writes every chunk)
STALE_PART_S = 3600.0
_PART_OWNER = re.compile(r"\.(\d+)-[0-9a-f]{8}\.part")


class DownloadRejected(OSError):
    """A downloaded body is not the output (empty, cut short, or of the wrong type)."""


def _sniff(head: bytes) -> str | None:
    """What the first bytes of a body are: image / video / audio / av (an ISO-BMFF or Matroska
    container: video, audio or AVIF) / text (markup or JSON); None when unknown."""
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    ):
        return "image"
    if (head[:4] == b"RIFF" and head[8:12] == b"WAVE") or head.startswith(
        (b"ID3", b"OggS", b"fLaC", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")
    ):
        return "audio"
    if head[4:8] == b"ftyp" or head.startswith(b"\x1aE\xdf\xa3"):
        return "av"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"<", b"{", b"["):
        return "text"
    return None


def output_kind(output: Any) -> str | None:
    """image / video / audio: the output's ``media_type`` (MIME-like too), else its extension."""
    kind = str(_get(output, "media_type") or "").lower().split("/")[0]
    if kind in ("image", "video", "audio"):
        return kind
    where = _get(output, "url") or _get(output, "local_path")
    return wire.media_kind(extension(where, _get(output, "format")))


def _declared_size(output: Any) -> int | None:
    raw = _get(output, "raw")
    value = _get(output, "file_size")
    if value is None and isinstance(raw, Mapping):
        value = raw.get("file_size")
    size = _int(value)
    return size if size is not None and size > 0 else None


def check_download(
    path: Path, output: Any = None, headers: Mapping[str, str] | None = None
) -> None:
    """Raise :class:`DownloadRejected` unless ``path`` holds what ``output`` promised."""
    size = path.stat().st_size
    if size == 0:
        raise DownloadRejected("the media host sent an empty body (0 bytes); nothing was cached")
    headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) != size:
        raise DownloadRejected(f"download cut short: {size} of {length} bytes (Content-Length)")
    declared = _declared_size(output)
    if declared is not None and declared != size:
        raise DownloadRejected(
            f"download does not match the output: {size} bytes, the job said {declared} (file_size)"
        )
    want = output_kind(output)
    if want is None:
        return
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    top = ctype.split("/")[0]
    if ctype and (top in ("text",) or ctype in ("application/json", "application/xml")
                  or (top in ("image", "video", "audio") and top != want
                      and {top, want} != {"video", "audio"})):  # fmt: skip
        raise DownloadRejected(
            f"the media host sent {ctype} for {_article(want)} output; nothing was cached"
        )
    with open(path, "rb") as fh:
        got = _sniff(fh.read(64))
    if got == "text" or (got in ("image", "audio") and got != want):
        what = "an HTML/JSON/XML text body" if got == "text" else f"{got} data"
        raise DownloadRejected(
            f"the media host sent {what} for {_article(want)} output; nothing was cached"
        )


def _article(kind: str) -> str:
    return ("an " if kind[:1] in "aeiou" else "a ") + kind


def _part_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")


def _is_part(name: str) -> bool:
    return ".part" in name


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process (or no way to tell): leave its file alone
    return True


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


def stream_download(
    url: str, dest: Path, *, timeout: tuple[float, float] = (5.0, 60.0)
) -> Mapping[str, str]:
    """GET ``url`` in chunks into ``dest`` (no API key; raises on HTTP errors or short bodies).

    Returns the response headers (a downloader may; the cache then checks them too)."""
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
            raise DownloadRejected(f"download of output cut short: {written} of {expected} bytes")
        return dict(resp.headers)


class MediaCache:
    """Cached output files under ``root`` (``KUBEEZ_HOME/media``)."""

    def __init__(self, root: str | Path, *, ledger: Ledger | None = None,
                 download: Download | None = None) -> None:  # fmt: skip
        self.root = Path(root)
        self.ledger = ledger
        self._download = download or stream_download
        self._locks: dict[Path, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.swept = self.sweep()  #: partial files of dead downloads removed at start

    def sweep(self) -> int:
        """Delete partial files whose download is over (owner process gone, or idle an hour).
        Returns how many were removed; never raises."""
        removed = 0
        try:
            parts = [p for p in self.root.glob("*/.*") if _is_part(p.name)]
        except OSError:
            return 0
        now = time.time()
        for part in parts:
            owner = _PART_OWNER.search(part.name)
            try:
                idle = now - part.stat().st_mtime
                if idle > STALE_PART_S or (owner is not None and not _alive(int(owner.group(1)))):
                    part.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

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
                if not _is_part(p.name) and p.stat().st_size > 0:
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
        if local and self._intact(Path(local), out):
            return Path(local)
        found = self._cached(job_id, index, out)
        url = _get(out, "url")
        if found is None and url:
            dest = self.path_for(job_id, index, out)
            with self._lock_for(dest):
                found = self._cached(job_id, index, out)  # another thread may have just done it
                if found is None:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    tmp = _part_name(dest)
                    try:
                        headers = get(str(url), tmp)
                        check_download(tmp, out, headers if isinstance(headers, Mapping) else None)
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

    def _cached(self, job_id: str, index: int, out: Any) -> Path | None:
        """The cached file of an output if it is whole; a truncated one is deleted."""
        found = self.lookup(job_id, index)
        if found is not None and not self._intact(found, out):
            found.unlink(missing_ok=True)
            return None
        return found

    @staticmethod
    def _intact(path: Path, out: Any) -> bool:
        try:
            size = path.stat().st_size
        except OSError:
            return False
        declared = _declared_size(out)
        return size > 0 and (declared is None or declared == size)

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
            tmp = _part_name(dest)
            try:
                headers = get(str(cover), tmp)
                check_download(tmp, {"media_type": "image", "url": cover},
                               headers if isinstance(headers, Mapping) else None)  # fmt: skip
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
                found = self._cached(str(job_id), index, out)
                if found is not None:
                    _set(out, "local_path", str(found))

    def files(self) -> Iterable[Path]:
        """Every cached file."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*/*") if p.is_file() and not _is_part(p.name))


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
