"""Small records the client returns: :class:`Balance`, :class:`Asset`, :class:`Captions`.

Each keeps the raw answer (``.raw``) so fields the guide does not name are never lost.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeez_nb.contract import wire
from kubeez_nb.contract.htmltable import amount, bundle, esc, fix_numbers, short_url, size, table

# the tolerant wire readers (one definition, in contract/wire.py)
_float = wire.number
_int = wire.integer
_str = wire.text


@dataclass
class Balance:
    """``GET /v1/balance``: the credits left (``float(balance)`` works too)."""

    credits: float
    message: str = ""
    purchase_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Balance:
        from kubeez_nb.errors import response_format_error

        if not isinstance(data, Mapping) or _float(data.get("credits")) is None:
            raise response_format_error(200, data, "a balance with a numeric 'credits'")
        return cls(
            credits=float(data["credits"]),
            message=str(data.get("message") or ""),
            purchase_url=_str(data.get("purchase_url")),
            raw=dict(data),
        )

    def __float__(self) -> float:
        return self.credits

    def __str__(self) -> str:
        return f"{amount(self.credits)} credits"

    def __repr__(self) -> str:
        return f"Balance({amount(self.credits)} credits)"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        message = fix_numbers(self.message)
        buy = ""
        if self.purchase_url and str(self.purchase_url).startswith(("https://", "http://")):
            buy = f" · <a href='{esc(self.purchase_url)}' target='_blank'>buy credits</a>"
        note = f"<br><small style='color:#666'>{esc(message)}</small>" if message else ""
        return bundle(
            repr(self),
            f"<div><b>{amount(self.credits)}</b> credits{buy}{note}</div>",
        )


@dataclass
class Asset:
    """One Asset Library entry; ``url`` is signed for about an hour (``url_expires_at``)."""

    id: str
    name: str
    kind: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    url: str | None = None
    url_expires_at: str | None = None
    created_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        kind = f", {self.kind}" if self.kind else ""
        sized = f", {size(self.size_bytes)}" if self.size_bytes is not None else ""
        return f"Asset({self.name!r}{kind}{sized}, id={self.id[:8]!r})"

    def _row(self) -> list[str]:
        # no <img> / link to the signed URL: on a remote hub the browser cannot reach the host the
        # kernel talks to (a local emulator), and a saved notebook would keep a dead one
        url = str(self.url or "")
        where = short_url(url).rsplit("/", 1)[-1]
        link = (
            f"<span title='signed for about an hour: asset.url'>{esc(where)}</span>" if url else ""
        )
        return [
            f"<b>{esc(self.name)}</b>",
            esc(self.kind or self.mime_type or ""),
            esc(size(self.size_bytes)),
            f"<code title='{esc(self.id)}'>{esc(self.id[:8])}</code>",
            link,
        ]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return bundle(repr(self), table(_ASSET_COLUMNS, [self._row()]))

    @classmethod
    def from_json(cls, data: Any, resolve: Any = None) -> Asset:
        """From an asset row or a ``{"asset": {...}}`` wrapper; ``resolve`` makes URLs absolute."""
        from kubeez_nb.errors import response_format_error

        if isinstance(data, Mapping) and isinstance(data.get("asset"), Mapping):
            data = data["asset"]
        if not isinstance(data, Mapping) or not data.get("id"):
            raise response_format_error(200, data, "an asset with an 'id'")
        url = _str(data.get("url"))
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or ""),
            kind=_str(data.get("kind")),
            mime_type=_str(data.get("mime_type")),
            size_bytes=_int(data.get("size_bytes")),
            url=resolve(url) if (resolve and url) else url,
            url_expires_at=_str(data.get("url_expires_at")),
            created_at=_str(data.get("created_at")),
            raw=dict(data),
        )


_ASSET_COLUMNS = ("name", "kind", "size", "id", "url")


class AssetList(list[Asset]):
    """A list of :class:`Asset` that shows as a compact table (no signed URLs in its text)."""

    def __repr__(self) -> str:
        names = ", ".join(repr(a.name) for a in self[:5]) + (", …" if len(self) > 5 else "")
        return f"[{len(self)} asset{'s' if len(self) != 1 else ''}{': ' + names if names else ''}]"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return bundle(
            repr(self),
            table(
                _ASSET_COLUMNS,
                [a._row() for a in self],
                empty="No assets yet: client.add_asset(name, url) or client.upload(path) adds one.",
            ),
        )


class Uploaded(list[str]):
    """The URLs ``client.upload`` returned; shows the file names, never the signatures."""

    def __repr__(self) -> str:
        names = ", ".join(short_url(u).rsplit("/", 1)[-1] for u in self)
        return f"[uploaded {len(self)} URL{'s' if len(self) != 1 else ''}: {names}]"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        rows = [[f"<code>{esc(short_url(u).rsplit('/', 1)[-1])}</code>"] for u in self]
        return bundle(repr(self), table(("uploaded (signed for about an hour)",), rows))


def _ms(value: Any, scale: float) -> int | None:
    number = _float(value)
    return None if number is None else round(number * scale)


def _timestamp(ms: int, sep: str) -> str:
    hours, rest = divmod(max(ms, 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{millis:03d}"


@dataclass
class Captions:
    """Word-level captions from ``POST /v1/generate/captions`` (synchronous).

    ``words`` is a list of ``{"text", "start", "end"}`` with times in **milliseconds**, whatever
    unit the server used. ``to_srt()`` / ``to_vtt()`` group words into readable cues.
    """

    words: list[dict[str, Any]]
    text: str = ""
    language: str | None = None
    duration: float | None = None  #: seconds of media
    id: str | None = None
    model: str | None = None
    cost: float | None = None
    media_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    #: a cue ends after this many words, this many ms, or at sentence punctuation
    CUE_MAX_WORDS = 8
    CUE_MAX_MS = 4000

    @classmethod
    def from_json(cls, data: Any, media_url: str | None = None) -> Captions:
        from kubeez_nb.errors import response_format_error

        if not isinstance(data, Mapping):
            raise response_format_error(200, data, "a captions object")
        raw_words = data.get("words")
        if raw_words is None and isinstance(data.get("segments"), list):
            raw_words = [
                w for s in data["segments"] if isinstance(s, Mapping) for w in s.get("words") or []
            ]
        if not isinstance(raw_words, list):
            raise response_format_error(200, data, "captions with a 'words' list")
        duration = _float(data.get("duration"))
        scale = _time_scale(raw_words, duration)
        words: list[dict[str, Any]] = []
        for w in raw_words:
            if not isinstance(w, Mapping):
                continue
            text = w.get("text", w.get("word"))
            start = _ms(w.get("start_ms"), 1) if "start_ms" in w else _ms(w.get("start"), scale)
            end = _ms(w.get("end_ms"), 1) if "end_ms" in w else _ms(w.get("end"), scale)
            if not isinstance(text, str) or start is None:
                continue
            words.append(
                {"text": text.strip(), "start": start, "end": end if end is not None else start}
            )
        text = data.get("text")
        return cls(
            words=words,
            text=text if isinstance(text, str) else " ".join(w["text"] for w in words),
            language=_str(data.get("language")),
            duration=duration,
            id=_str(data.get("id")),
            model=_str(data.get("model")),
            cost=_float(data.get("credits_deducted", data.get("cost"))),
            media_url=media_url,
            raw=dict(data),
        )

    def __repr__(self) -> str:
        head = self.text[:60] + ("…" if len(self.text) > 60 else "")
        return f"Captions({len(self.words)} words, language={self.language!r}, text={head!r})"

    def __len__(self) -> int:
        return len(self.words)

    def cues(self) -> list[dict[str, Any]]:
        """Words grouped into cues: ``{"start", "end", "text"}`` (ms)."""
        cues: list[dict[str, Any]] = []
        current: list[dict[str, Any]] = []
        for word in self.words:
            current.append(word)
            long = word["end"] - current[0]["start"] >= self.CUE_MAX_MS
            if len(current) >= self.CUE_MAX_WORDS or long or word["text"][-1:] in ".?!":
                cues.append(_cue(current))
                current = []
        if current:
            cues.append(_cue(current))
        return cues

    def to_srt(self) -> str:
        """SubRip text (``HH:MM:SS,mmm`` times)."""
        blocks = [
            f"{i}\n{_timestamp(c['start'], ',')} --> {_timestamp(c['end'], ',')}\n{c['text']}\n"
            for i, c in enumerate(self.cues(), 1)
        ]
        return "\n".join(blocks)

    def to_vtt(self) -> str:
        """WebVTT text (``HH:MM:SS.mmm`` times)."""
        blocks = [
            f"{_timestamp(c['start'], '.')} --> {_timestamp(c['end'], '.')}\n{c['text']}\n"
            for c in self.cues()
        ]
        return "WEBVTT\n\n" + "\n".join(blocks)

    def to_dataframe(self) -> Any:
        """One row per word: text, start_ms, end_ms, start_s, end_s (pandas loads here)."""
        import pandas as pd

        frame = pd.DataFrame(self.words, columns=["text", "start", "end"]).rename(
            columns={"start": "start_ms", "end": "end_ms"}
        )
        frame["start_s"] = frame["start_ms"] / 1000.0
        frame["end_s"] = frame["end_ms"] / 1000.0
        return frame

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        try:
            from kubeez_nb import render as media

            return media.captions_bundle(self, include, exclude)
        except Exception:  # rendering must never break a notebook cell
            return {
                "text/plain": repr(self),
                "text/html": f"<pre>{html.escape(self.to_srt())}</pre>",
            }


def _cue(words: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "start": words[0]["start"],
        "end": words[-1]["end"],
        "text": " ".join(w["text"] for w in words),
    }


def _time_scale(words: list[Any], duration: float | None) -> float:
    """1 when word times are already milliseconds, 1000 when they are seconds.

    Seconds show up as fractional values, or as values that fit inside the media's duration in
    seconds while the words span more than a few hundred "ms".
    """
    values = [
        v
        for w in words
        if isinstance(w, Mapping)
        for v in (_float(w.get("start")), _float(w.get("end")))
        if v is not None
    ]
    if not values:
        return 1.0
    if any(v != int(v) for v in values):
        return 1000.0
    if duration is not None and duration > 0 and max(values) <= duration + 1 and len(words) > 1:
        return 1000.0
    return 1.0
