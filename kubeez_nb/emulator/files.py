"""Files the emulator serves (outputs, uploads, assets) and the signed links that reach them.

A link is ``{base}/media/{file_id}/{name}?expires={epoch}&sig={hmac}``. The signature covers the
file id and the expiry, so a link cannot be stretched; after ``expires`` (emulator clock) it
answers 403, like a lapsed CDN link. Files live in one temp folder owned by the emulator.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import os
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from kubeez_nb.contract.wire import MIME_TYPES
from kubeez_nb.emulator.clock import Clock
from kubeez_nb.emulator.errors import Forbidden, NotFound

MEDIA_PREFIX = "/media/"

#: MIME type per extension: the contract's one table (``wire.MIME_TYPES``)
_EXT_MIME = MIME_TYPES


def mime_for(ext: str) -> str:
    """MIME type for a file extension (``"png"`` → ``"image/png"``)."""
    ext = ext.lower().lstrip(".")
    return _EXT_MIME.get(ext) or mimetypes.types_map.get("." + ext, "application/octet-stream")


def kind_for(mime: str) -> str:
    """``image`` / ``video`` / ``audio`` / ``other`` from a MIME type."""
    head = mime.split("/", 1)[0]
    return head if head in {"image", "video", "audio"} else "other"


@dataclass
class StoredFile:
    """One servable file. ``path`` is None until a lazy ``maker`` has produced the bytes."""

    id: str
    name: str
    mime: str
    owner: str | None = None
    path: Path | None = None
    size: int = 0
    maker: Callable[[], bytes] | None = None
    words: list[dict] | None = None  #: spoken words with timings, for audio our TTS made
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ext(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""

    @property
    def kind(self) -> str:
        return kind_for(self.mime)


class FileStore:
    """Files on disk under ``root``, addressed by id, reachable through signed links."""

    def __init__(self, root: Path, clock: Clock, ttl: float = 3600.0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.ttl = float(ttl)
        self._secret = secrets.token_bytes(32)
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()
        #: fallback for ids this store never saw (lazily made placeholders of seeded history)
        self.resolver: Callable[[str], StoredFile | None] | None = None

    # ---- storing -------------------------------------------------------------------------
    def new_id(self) -> str:
        return uuid.uuid4().hex

    def path_for(self, file_id: str) -> Path:
        return self.root / file_id

    def put_bytes(
        self, data: bytes, name: str, *, owner: str | None = None, words: list[dict] | None = None
    ) -> StoredFile:
        """Store ``data`` under a new id; returns the record."""
        fid = self.new_id()
        path = self.path_for(fid)
        path.write_bytes(data)
        rec = StoredFile(
            fid, name, mime_for(name.rsplit(".", 1)[-1]), owner, path, len(data), words=words
        )
        self.add(rec)
        return rec

    def put_lazy(
        self,
        name: str,
        maker: Callable[[], bytes],
        *,
        file_id: str | None = None,
        owner: str | None = None,
    ) -> StoredFile:
        """Register a file whose bytes are made on first download."""
        rec = StoredFile(
            file_id or self.new_id(), name, mime_for(name.rsplit(".", 1)[-1]), owner, maker=maker
        )
        self.add(rec)
        return rec

    def add(self, rec: StoredFile) -> None:
        with self._lock:
            self._files[rec.id] = rec

    def get(self, file_id: str) -> StoredFile | None:
        with self._lock:
            rec = self._files.get(file_id)
        if rec is None and self.resolver is not None:
            rec = self.resolver(file_id)
            if rec is not None:
                self.add(rec)
        return rec

    def remove(self, file_id: str) -> None:
        with self._lock:
            rec = self._files.pop(file_id, None)
        if rec is not None and rec.path is not None:
            try:
                os.unlink(rec.path)
            except OSError:
                pass

    def materialise(self, rec: StoredFile) -> Path:
        """The file's path on disk, running its lazy maker once if needed."""
        with rec.lock:
            if rec.path is None:
                assert rec.maker is not None
                data = rec.maker()
                path = self.path_for(rec.id)
                path.write_bytes(data)
                rec.path, rec.size, rec.maker = path, len(data), None
        return rec.path

    def read_bytes(self, rec: StoredFile) -> bytes:
        return self.materialise(rec).read_bytes()

    def clear(self) -> None:
        with self._lock:
            ids = list(self._files)
        for fid in ids:
            self.remove(fid)

    # ---- signing -------------------------------------------------------------------------
    def _sig(self, file_id: str, expires: int) -> str:
        msg = f"{file_id}:{expires}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()[:32]

    def sign(self, rec: StoredFile, base: str) -> tuple[str, float]:
        """A signed absolute link to ``rec`` and its expiry (emulator epoch seconds)."""
        expires = int(self.clock.now() + self.ttl)
        url = f"{base.rstrip('/')}{MEDIA_PREFIX}{rec.id}/{quote(rec.name)}?expires={expires}&sig={self._sig(rec.id, expires)}"
        return url, float(expires)

    def verify(self, file_id: str, query: dict[str, list[str]] | dict[str, str]) -> StoredFile:
        """The file a signed link points at; Forbidden when the signature is wrong or expired."""

        def one(name: str) -> str:
            v = query.get(name)
            return (v[0] if isinstance(v, list) and v else v) or ""  # type: ignore[return-value]

        expires_raw, sig = one("expires"), one("sig")
        try:
            expires = int(expires_raw)
        except ValueError:
            raise Forbidden(
                "This link is not signed. Use the url from the API response.",
                code="invalid_signature",
            ) from None
        if not hmac.compare_digest(sig.encode(), self._sig(file_id, expires).encode()):
            raise Forbidden("The link's signature does not match.", code="invalid_signature")
        if self.clock.now() > expires:
            raise Forbidden(
                "This signed link has expired. Fetch the generation or asset again for a fresh url.",
                code="url_expired",
            )
        rec = self.get(file_id)
        if rec is None:
            raise NotFound("No such file (it was deleted).")
        return rec

    def resolve_url(self, url: str) -> StoredFile | None:
        """The stored file behind one of our own signed links (any host), else None.

        Raises Forbidden when it is ours but expired or tampered, like a real fetch would.
        """
        parts = urlsplit(url)
        if not parts.path.startswith(MEDIA_PREFIX):
            return None
        file_id = parts.path[len(MEDIA_PREFIX) :].split("/", 1)[0]
        query = parse_qs(parts.query)
        if "sig" not in query:
            return None
        return self.verify(file_id, query)
