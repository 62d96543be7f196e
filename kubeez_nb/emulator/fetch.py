"""Getting media the caller points at by URL: outside downloads, and synthetic media for the
documentation domains (RFC 2606 ``example.com``) so the guide's examples run offline."""

from __future__ import annotations

import ipaddress
import re
import uuid
from pathlib import Path
from typing import Any

from kubeez_nb.emulator.errors import FetchFailed, FileTooLarge, InvalidRequest
from kubeez_nb.emulator.files import _EXT_MIME, FileStore, StoredFile, mime_for
from kubeez_nb.emulator.outputs import mediagen

#: Redirects followed by a server-side fetch (each hop is checked like the first URL).
MAX_REDIRECTS = 5


def check_target(url: str, allow_private: bool = False) -> None:
    """Refuse a server-side fetch of our control routes (always) and of loopback, private,
    link-local or reserved addresses (unless ``allow_private``): 400 invalid_request.

    Our own signed media links never get here (the backend serves them from its store).
    """
    import socket
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise InvalidRequest(
            f"url must be an absolute http(s) URL, got {url!r}.", extra={"field": "url"}
        )
    if unquote(parts.path).lstrip("/").startswith("_emulator"):
        raise InvalidRequest(
            "url points at the emulator's control routes; the emulator does not fetch those.",
            code="url_not_allowed",
            extra={"field": "url"},
        )
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme.lower() == "https" else 80)
        )
    except (OSError, UnicodeError):
        raise FetchFailed(f"Could not fetch {url}: the host does not resolve.") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if (
            ip.is_loopback
            or ip.is_private
            or ip.is_link_local
            or ip.is_reserved
            or ip.is_multicast
            or ip.is_unspecified
        ):
            raise InvalidRequest(
                f"url resolves to a local or private address ({ip}); the emulator only fetches public URLs "
                "(knob allow_private_fetch=True lifts this).",
                code="url_not_allowed",
                extra={"field": "url"},
            )


def download(
    files: FileStore, url: str, owner: str | None, limit: int, allow_private: bool = False
) -> StoredFile:
    """Fetch an outside ``url`` to disk (short timeouts, at most ``limit`` bytes); 502 fetch_failed."""
    import requests

    if not url.lower().startswith(("http://", "https://")):
        raise InvalidRequest(f"url must be an http(s) URL, got {url!r}.", extra={"field": "url"})
    name = name_from_url(url)
    if is_documentation_host(url):
        return synthetic(files, url, name, owner)
    fid = files.new_id()
    path = files.path_for(fid)
    size = 0
    try:
        with requests.Session() as http, _get_checked(http, url, allow_private) as resp:
            if resp.status_code >= 400:
                raise FetchFailed(f"Could not fetch {url}: HTTP {resp.status_code}.")
            ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
            with open(path, "wb") as fh:
                for chunk in resp.iter_content(1 << 16):
                    size += len(chunk)
                    if size > limit:
                        raise FileTooLarge(f"The file at {url} is over {limit} bytes.")
                    fh.write(chunk)
    except requests.RequestException as exc:
        path.unlink(missing_ok=True)
        raise FetchFailed(f"Could not fetch {url}: {type(exc).__name__}.") from None
    except Exception:
        path.unlink(missing_ok=True)
        raise
    if "." not in name and ctype:
        ext = {v: k for k, v in reversed(list(_EXT_MIME.items()))}.get(ctype)
        if ext:
            name = f"{name}.{ext}"
    rec = StoredFile(
        fid,
        name,
        mime_for(name.rsplit(".", 1)[-1]) if "." in name else (ctype or "application/octet-stream"),
        owner,
        path,
        size,
    )
    files.add(rec)
    return rec


def _get_checked(http: Any, url: str, allow_private: bool) -> Any:
    """GET ``url``, following redirects by hand so every hop passes ``check_target``."""
    from urllib.parse import urljoin

    for _ in range(MAX_REDIRECTS + 1):
        check_target(url, allow_private)
        resp = http.get(url, stream=True, timeout=(3.0, 10.0), allow_redirects=False)
        if not resp.is_redirect:
            return resp
        resp.close()
        url = urljoin(url, resp.headers.get("Location", ""))
    raise FetchFailed(f"Could not fetch the URL: more than {MAX_REDIRECTS} redirects.")


def synthetic(files: FileStore, url: str, name: str, owner: str | None) -> StoredFile:
    """Media for a URL on a documentation domain (RFC 2606 ``example.com``), made to match its
    extension, so the guide's examples (``https://cdn.example.com/logo.png``) run offline."""
    mg = mediagen()
    ext = ext_of(url)
    seed = int(uuid.uuid5(uuid.NAMESPACE_URL, url).int % (2**31))
    kind = mime_for(ext).split("/")[0] if ext else "image"
    if kind == "video":
        data, name = mg.make_mp4(name, 640, 360, 3.0, seed=seed), _with_ext(name, "mp4")
    elif kind == "audio":
        audio, aext = mg.make_music(name, 10.0, seed=seed)
        data, name = audio, _with_ext(name, aext)
    else:
        data, name = mg.make_png(name, 512, 512, seed=seed), _with_ext(name, "png")
    return files.put_bytes(data, name, owner=owner)


def ext_of(url: str) -> str:
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    last = path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[-1].lower() if "." in last else ""


def name_from_url(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "download"
    return safe_name(last)


def is_documentation_host(url: str) -> bool:
    """``example.com`` / ``.org`` / ``.net`` and their subdomains (reserved for documentation)."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return any(
        host == d or host.endswith("." + d) for d in ("example.com", "example.org", "example.net")
    )


def _with_ext(name: str, ext: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem}.{ext}"


def safe_name(name: str) -> str:
    name = Path(name or "upload").name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "upload"
    return name[:120]
