"""Tolerant readers of what the service sends: status, outputs, cost, times, numbers, media kind.

One rule per fact, used by the job, history, the ledger, the cache and rendering (api-facts lists
the variants seen live: ``pending`` as a first status, ``error`` / ``errored`` meaning failed,
MIME-like ``media_type`` values, root-relative URLs, millisecond epochs, ``"5s"`` durations).
Every reader returns None (or a neutral value) for what it cannot read; none raises.
"""

from __future__ import annotations

import html
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from kubeez_nb.contract.kinds import MEDIA_KINDS

# ---------------------------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------------------------

#: Status spellings seen on the wire -> the one the client uses.
STATUS_ALIASES: Mapping[str, str] = {
    "error": "failed",
    "errored": "failed",
    "failure": "failed",
    "canceled": "cancelled",
    "succeeded": "completed",
    "success": "completed",
    "done": "completed",
    "complete": "completed",
}
TERMINAL_OK = frozenset({"completed"})
TERMINAL_FAILED = frozenset({"failed", "cancelled"})


def status(value: Any) -> str:
    """Lower-case status with the aliases resolved (``errored`` -> ``failed``, ``done`` ->
    ``completed``, ``canceled`` -> ``cancelled``); ``unknown`` when empty."""
    text = str(value or "").strip().lower()
    return STATUS_ALIASES.get(text, text) or "unknown"


# ---------------------------------------------------------------------------------------------
# Numbers and text
# ---------------------------------------------------------------------------------------------

_LEADING_NUMBER = re.compile(r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-z ]*)\s*")


def number(value: Any) -> float | None:
    """A finite number from a number or numeric text (``"5"``, ``"5s"``, ``"12 credits"``);
    None for anything else (booleans, NaN and infinities included)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        out = float(value)
    elif isinstance(value, str):
        m = _LEADING_NUMBER.fullmatch(value.lower())
        if not m:
            return None
        out = float(m.group(1))
    else:
        try:
            out = float(value)  # Decimal, numpy scalars
        except (TypeError, ValueError):
            return None
    return out if math.isfinite(out) else None


def integer(value: Any) -> int | None:
    """:func:`number`, truncated to an int."""
    out = number(value)
    return int(out) if out is not None else None


def text(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def seconds(value: Any) -> float | None:
    """A duration from ``5``, ``5.0``, ``"5"``, ``"5s"``, ``"5 sec"``; None when not one (or
    negative)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        f = float(value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|second|seconds)?\s*", value.lower())
        if not m:
            return None
        f = float(m.group(1))
    else:
        return None
    return f if math.isfinite(f) and f >= 0 else None


#: Keys of a status or history row holding what a job cost, most specific first.
COST_KEYS: tuple[str, ...] = (
    "credits_deducted",
    "cost",
    "actual_cost",
    "credits",
    "estimated_cost_credits",
)
#: The keys that hold a charge (not an estimate).
CHARGE_KEYS: tuple[str, ...] = ("credits_deducted", "cost", "actual_cost")


def cost(record: Mapping[str, Any], keys: tuple[str, ...] = COST_KEYS) -> float | None:
    """The first readable number among ``keys`` of ``record``."""
    for key in keys:
        value = number(record.get(key))
        if value is not None:
            return value
    return None


def epoch(value: Any) -> float | None:
    """Epoch seconds from a datetime, an ISO 8601 string (``Z``, a space separator, no zone =
    UTC) or a number (seconds, or milliseconds above 1e11); None when unreadable."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        f = float(value)
        if not math.isfinite(f):
            return None
        return f / 1000.0 if f > 1e11 else f
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip().replace("Z", "+00:00").replace("z", "+00:00").replace(" ", "T", 1)
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return epoch(dt)


# ---------------------------------------------------------------------------------------------
# Media kind: THE extension table
# ---------------------------------------------------------------------------------------------

# fmt: off
EXTENSIONS: Mapping[str, frozenset[str]] = {
    "image": frozenset(["png", "jpg", "jpeg", "jfif", "webp", "gif", "bmp", "tif", "tiff",
                        "heic", "heif", "avif", "svg", "ico"]),
    "video": frozenset(["mp4", "m4v", "mov", "webm", "mkv", "avi", "mpeg", "mpg", "3gp", "ogv",
                        "flv", "wmv", "ts"]),
    "audio": frozenset(["mp3", "wav", "m4a", "aac", "ogg", "oga", "opus", "flac", "weba", "aif",
                        "aiff", "wma", "amr"]),
}
# fmt: on
#: extension -> media kind
EXTENSION_KINDS: Mapping[str, str] = {e: k for k, exts in EXTENSIONS.items() for e in exts}
#: MIME type per extension (what a file server or an upload says)
# fmt: off
MIME_TYPES: Mapping[str, str] = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
    "gif": "image/gif", "bmp": "image/bmp", "svg": "image/svg+xml", "avif": "image/avif",
    "mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime", "m4v": "video/mp4",
    "mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4", "ogg": "audio/ogg",
    "flac": "audio/flac", "aac": "audio/aac", "opus": "audio/opus",
    "srt": "application/x-subrip", "vtt": "text/vtt", "json": "application/json",
    "txt": "text/plain",
}
# fmt: on


def extension_of(url_or_name: Any) -> str:
    """The lower-case extension of a URL's path or a file name (query and fragment ignored;
    ``"mp4"`` and ``".mp4"`` are their own extension); ``""`` when there is none."""
    if not isinstance(url_or_name, str) or not url_or_name:
        return ""
    word = url_or_name.strip().lower().lstrip(".")
    if word in EXTENSION_KINDS or word in MIME_TYPES:
        return word
    try:
        path = urlsplit(url_or_name).path
    except ValueError:
        return ""
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def media_kind(url_or_ext: Any, declared: str | None = None) -> str | None:
    """``"image"`` / ``"video"`` / ``"audio"`` from a declared type (``"image"``,
    ``"video/mp4"``), a ``data:`` URL, or the extension of a URL, file name or bare extension;
    None when it cannot tell."""
    if isinstance(declared, str) and declared:
        head = declared.strip().lower().split("/", 1)[0]
        if head in MEDIA_KINDS:
            return head
    if not isinstance(url_or_ext, str) or not url_or_ext:
        return None
    if url_or_ext.startswith("data:"):
        return media_kind("", url_or_ext[5:].split(";", 1)[0].split(",", 1)[0])
    return EXTENSION_KINDS.get(extension_of(url_or_ext))


# ---------------------------------------------------------------------------------------------
# Source media (``source_media_urls`` entries)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One entry of ``source_media_urls``: its URL and the kind it was declared or guessed as."""

    url: str
    kind: str | None
    declared: bool = False


def split_sources(value: Any) -> tuple[list[Source], list[Any]]:
    """Split ``source_media_urls`` into readable sources and entries that are not URLs.

    Entries may be URL strings, ``{"url": ..., "type": "image"}`` dicts, or objects with a
    ``url`` (and ``media_type``) attribute such as a job ``Output``; one bare string is a list of one.
    """
    if value is None:
        return [], []
    if isinstance(value, (str, Mapping)) or hasattr(value, "url"):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return [], [value]
    good: list[Source] = []
    bad: list[Any] = []
    for item in value:
        url: Any
        declared: Any = None
        if isinstance(item, str):
            url = item
        elif isinstance(item, Mapping):
            url = item.get("url")
            declared = item.get("type") or item.get("media_type") or item.get("kind")
        elif hasattr(item, "url"):  # an Output or Asset
            url = item.url
            declared = getattr(item, "media_type", None) or getattr(item, "kind", None)
        else:
            url = None
        if not isinstance(url, str) or not url.strip():
            bad.append(item)
            continue
        kind = media_kind(url, declared if isinstance(declared, str) else None)
        good.append(Source(url.strip(), kind, declared=isinstance(declared, str)))
    return good, bad


# ---------------------------------------------------------------------------------------------
# Value helpers
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------


@dataclass
class Output:
    """One produced file: an image, a video, an audio track, a song or a stem."""

    url: str | None
    media_type: str | None = None  #: "image" | "video" | "audio" (None if it cannot tell)
    width: int | None = None
    height: int | None = None
    duration: float | None = None  #: seconds
    format: str | None = None
    title: str | None = None  #: song title
    label: str | None = None  #: "vocals" / "instrumental" / song title / variant
    thumbnail_url: str | None = None
    local_path: str | None = None  #: set once the media cache holds the file
    id: str | None = None
    url_expires_at: str | None = None
    stream_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        bits = [self.media_type or "?"]
        if self.width and self.height:
            bits.append(f"{self.width}x{self.height}")
        if self.duration:
            bits.append(f"{self.duration:g}s")
        if self.label:
            bits.append(repr(self.label))
        where = self.local_path or self.url
        return f"Output({' '.join(bits)}, {where!r})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        # The renderer sits far above this module: use it when it is loaded (any front end,
        # job or group display loads it), else a plain player that needs nothing.
        render = sys.modules.get("kubeez_nb.render")
        try:
            if render is not None:
                return render.output_bundle(self, include, exclude)
        except Exception:
            pass
        return _plain_bundle(self)


def _plain_bundle(out: Output) -> dict[str, str]:
    text_ = repr(out)
    src = html.escape(out.url or "", quote=True)
    tag = {
        "image": f"<img src='{src}' style='max-width:320px'>",
        "video": f"<video src='{src}' controls style='max-width:320px'></video>",
        "audio": f"<audio src='{src}' controls></audio>",
    }.get(out.media_type or "")
    body = tag if tag and out.url else f"<code>{html.escape(text_)}</code>"
    return {"text/plain": text_, "text/html": body}


def fallback_bundle(obj: Any) -> dict[str, str]:
    """The display of anything when rendering failed: its repr, escaped."""
    text_ = repr(obj)
    return {"text/plain": text_, "text/html": f"<code>{html.escape(text_)}</code>"}


def _media_type(url: str | None, declared: Any) -> str | None:
    kind = media_kind(url, declared if isinstance(declared, str) else None)
    if kind:
        return kind
    return declared if isinstance(declared, str) and declared else None


def _same(url: str | None) -> str | None:
    return url


def outputs(
    record: Mapping[str, Any], resolve: Callable[[str | None], str | None] = _same
) -> list[Output]:
    """Every output a status or history row offers: ``outputs[]``, music ``songs[]``, separation
    stems (``vocals_url`` / ``instrumental_url``), else a single ``output_url``. ``resolve``
    turns a root-relative URL into an absolute one."""
    found: list[Output] = []
    for item in record.get("outputs") or []:
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, Mapping):
            continue
        url = resolve(text(item.get("url")))
        found.append(
            Output(
                url=url,
                media_type=_media_type(
                    url, item.get("media_type") or item.get("type") or item.get("mime_type")
                ),
                width=integer(item.get("width")),
                height=integer(item.get("height")),
                duration=number(item.get("duration")),
                format=text(item.get("format")),
                title=text(item.get("title")),
                label=text(item.get("label")),
                thumbnail_url=resolve(text(item.get("thumbnail_url"))),
                id=text(item.get("id")),
                url_expires_at=text(item.get("url_expires_at")),
                raw=dict(item),
            )
        )
    songs = record.get("songs")
    if isinstance(songs, list) and songs:
        found = []  # songs describe the same files better (titles, covers, stream links)
        for song in songs:
            if not isinstance(song, Mapping):
                continue
            stream = resolve(text(song.get("stream_url")))
            url = resolve(text(song.get("audio_url"))) or stream
            title = text(song.get("title"))
            found.append(
                Output(
                    url=url,
                    media_type=_media_type(url, "audio"),
                    duration=number(song.get("duration")),
                    title=title,
                    label=title,
                    thumbnail_url=resolve(
                        text(song.get("cover_image_url") or song.get("image_url"))
                    ),
                    id=text(song.get("id")),
                    url_expires_at=text(song.get("url_expires_at")),
                    stream_url=stream,
                    raw=dict(song),
                )
            )
    stems = [(k, record.get(f"{k}_url")) for k in ("vocals", "instrumental")]
    if any(url for _, url in stems):
        by_label = {o.label: o for o in found if o.label}
        for label, raw_url in stems:
            url = resolve(text(raw_url))
            if label in by_label:
                by_label[label].url = by_label[label].url or url
            elif url:
                found.append(Output(url=url, media_type="audio", label=label))
    if not found:
        single = resolve(
            text(record.get("output_url") or record.get("result_url") or record.get("url"))
        )
        if single:
            found.append(
                Output(url=single, media_type=_media_type(single, record.get("media_type")))
            )
    return found


__all__ = [
    "CHARGE_KEYS",
    "COST_KEYS",
    "EXTENSIONS",
    "EXTENSION_KINDS",
    "MIME_TYPES",
    "STATUS_ALIASES",
    "TERMINAL_FAILED",
    "TERMINAL_OK",
    "Output",
    "Source",
    "cost",
    "epoch",
    "extension_of",
    "fallback_bundle",
    "integer",
    "media_kind",
    "number",
    "outputs",
    "seconds",
    "split_sources",
    "status",
    "text",
]
