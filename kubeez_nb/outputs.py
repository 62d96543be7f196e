"""Typed outputs of a generation: :class:`Output` and ``parse_outputs`` (every shape seen live).

``outputs[]`` rows (MIME-like ``media_type`` values, root-relative URLs), music ``songs[]`` and
separation ``vocals_url`` / ``instrumental_url`` all become :class:`Output` records.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeez_nb.resources import _float, _int, _str


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
        try:
            from kubeez_nb import media

            return media.output_bundle(self, include, exclude)
        except Exception:
            return _fallback_bundle(self)


def _fallback_bundle(obj: Any) -> dict[str, str]:
    text = repr(obj)
    return {"text/plain": text, "text/html": f"<code>{html.escape(text)}</code>"}


def _media_type(url: str | None, declared: Any) -> str | None:
    from kubeez_nb.contract.catalog import media_kind

    kind = media_kind(url, declared if isinstance(declared, str) else None)
    if kind:
        return kind
    return declared if isinstance(declared, str) and declared else None


def parse_outputs(
    data: Mapping[str, Any], resolve: Callable[[str | None], str | None]
) -> list[Output]:
    """Every output a status row offers: ``outputs[]``, music ``songs[]``, separation stems."""
    outputs: list[Output] = []
    for item in data.get("outputs") or []:
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, Mapping):
            continue
        url = resolve(_str(item.get("url")))
        outputs.append(
            Output(
                url=url,
                media_type=_media_type(
                    url, item.get("media_type") or item.get("type") or item.get("mime_type")
                ),
                width=_int(item.get("width")),
                height=_int(item.get("height")),
                duration=_float(item.get("duration")),
                format=_str(item.get("format")),
                title=_str(item.get("title")),
                label=_str(item.get("label")),
                thumbnail_url=resolve(_str(item.get("thumbnail_url"))),
                id=_str(item.get("id")),
                url_expires_at=_str(item.get("url_expires_at")),
                raw=dict(item),
            )
        )
    songs = data.get("songs")
    if isinstance(songs, list) and songs:
        outputs = []  # songs describe the same files better (titles, covers, stream links)
        for song in songs:
            if not isinstance(song, Mapping):
                continue
            stream = resolve(_str(song.get("stream_url")))
            url = resolve(_str(song.get("audio_url"))) or stream
            title = _str(song.get("title"))
            outputs.append(
                Output(
                    url=url,
                    media_type=_media_type(url, "audio"),
                    duration=_float(song.get("duration")),
                    title=title,
                    label=title,
                    thumbnail_url=resolve(
                        _str(song.get("cover_image_url") or song.get("image_url"))
                    ),
                    id=_str(song.get("id")),
                    url_expires_at=_str(song.get("url_expires_at")),
                    stream_url=stream,
                    raw=dict(song),
                )
            )
    stems = [(k, data.get(f"{k}_url")) for k in ("vocals", "instrumental")]
    if any(url for _, url in stems):
        by_label = {o.label: o for o in outputs if o.label}
        for label, raw_url in stems:
            url = resolve(_str(raw_url))
            if label in by_label:
                by_label[label].url = by_label[label].url or url
            elif url:
                outputs.append(Output(url=url, media_type="audio", label=label))
    if not outputs:
        single = resolve(_str(data.get("output_url") or data.get("result_url") or data.get("url")))
        if single:
            outputs.append(
                Output(url=single, media_type=_media_type(single, data.get("media_type")))
            )
    return outputs


def _parse_time(value: Any) -> float | None:
    """Epoch seconds from an ISO 8601 string or a number (seconds or milliseconds)."""
    from datetime import datetime, timezone

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 1000.0 if value > 1e11 else float(value)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace(" ", "T", 1)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()
