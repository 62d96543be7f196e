"""Real media files for the local Kubeez, made on the fly and small enough to serve instantly.

Every output the emulator hands out is a genuine file a browser can show:

- images: PNG at the size the aspect ratio and resolution / quality imply, showing the prompt on a
  seeded gradient (``image_size``, ``make_png``);
- video: H.264 (yuv420p, ``+faststart``, even dimensions) MP4 at a low frame rate whose container
  duration is exactly the requested one, with the prompt and a moving ball (``video_size``,
  ``make_mp4``);
- speech: a synthetic formant "voice" (pitch from the voice name), one syllable-like tone per
  word, plus the word timings, so captions of the emulator's own speech are the spoken text
  (``make_speech``);
- music: a seeded chord progression with bass and a lead line, exact duration (``make_music``);
- separation: the input split by frequency into a "vocals" and an "instrumental" file, both
  as long as the input (``split_stems``);
- ``media_duration`` for any served file and ``placeholder_words`` for captions of foreign media
  (the audio makers live in ``audiogen`` and are re-exported here).

Audio is mono 16-bit PCM WAV (16 kHz speech, 22.05 kHz music): Chromium plays it, durations are
exact, and a 30 s song stays ~1.3 MB. Pillow, numpy and av are imported inside the functions so
importing the emulator stays cheap.
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
import tempfile
import textwrap
from fractions import Fraction
from typing import TYPE_CHECKING, Any

# audio is made in ``audiogen``; re-exported here: ``mediagen`` is the one media maker
from kubeez_nb.emulator.audiogen import MUSIC_RATE as MUSIC_RATE
from kubeez_nb.emulator.audiogen import SPEECH_RATE as SPEECH_RATE
from kubeez_nb.emulator.audiogen import VOCAL_BAND_HZ as VOCAL_BAND_HZ
from kubeez_nb.emulator.audiogen import make_music as make_music
from kubeez_nb.emulator.audiogen import make_speech as make_speech
from kubeez_nb.emulator.audiogen import media_duration as media_duration
from kubeez_nb.emulator.audiogen import placeholder_words as placeholder_words
from kubeez_nb.emulator.audiogen import split_stems as split_stems

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image, ImageFont

#: Long side of an image per resolution tier.
IMAGE_TIERS = {"1K": 1024, "2K": 2048, "4K": 4096}
#: Image quality tiers that imply a size (anything else is 1K).
IMAGE_QUALITY_TIERS = {"high": 2048, "hd": 2048, "ultra": 2048, "max": 4096}
#: Short side of a video per resolution name.
VIDEO_TIERS = {
    "360p": 360,
    "480p": 480,
    "540p": 540,
    "720p": 720,
    "1080p": 1080,
    "1440p": 1440,
    "2160p": 2160,
    "2K": 1440,
    "4K": 2160,
}
DEFAULT_VIDEO_SHORT_SIDE = 720
_MAX_DRAW_SIDE = 1024  # draw at most this big, then upscale: a 4K PNG stays well under 0.3 s
_PALETTE_ABOVE_PIXELS = 8_000_000
_NAMED_RATIOS = {"square": (1, 1), "landscape": (16, 9), "portrait": (9, 16), "widescreen": (16, 9)}


# ---- sizes ------------------------------------------------------------------------------------
def _even(x: float) -> int:
    """Nearest even integer, at least 2 (yuv420p and most codecs need even sides)."""
    return max(2, 2 * round(x / 2))


def _ratio(aspect_ratio: str | None, default: tuple[float, float]) -> tuple[float, float]:
    """``"16:9"`` / ``"16x9"`` / ``"1.78"`` / ``"landscape"`` → (w, h); auto, None or garbage → default.

    The responses layer validates ratios against the catalog; here anything unreadable falls
    back to the default so a job never dies while making its file.
    """
    text = str(aspect_ratio or "").strip().lower()
    if text in _NAMED_RATIOS:
        return _NAMED_RATIOS[text]
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)", text)
    if m:
        w, h = float(m.group(1)), float(m.group(2))
    else:
        try:
            w, h = float(text), 1.0
        except ValueError:
            return default
    if not (w > 0 and h > 0 and math.isfinite(w / h)):
        return default
    # Keep absurd ratios (1:1000) drawable: clamp to 1:8 .. 8:1.
    r = min(max(w / h, 1 / 8), 8.0)
    return (r, 1.0)


def _fit_long(ratio: tuple[float, float], long_side: int) -> tuple[int, int]:
    w, h = ratio
    if w >= h:
        return _even(long_side), _even(long_side * h / w)
    return _even(long_side * w / h), _even(long_side)


def _fit_short(ratio: tuple[float, float], short_side: int) -> tuple[int, int]:
    w, h = ratio
    if w >= h:
        return _even(short_side * w / h), _even(short_side)
    return _even(short_side), _even(short_side * h / w)


def _tier(value: str | None, table: dict[str, int]) -> int | None:
    """Look a tier name up case-insensitively; ``"720p-draft"`` counts as ``"720p"``."""
    text = str(value or "").strip()
    if not text:
        return None
    lookup = {k.lower(): v for k, v in table.items()}
    if text.lower() in lookup:
        return lookup[text.lower()]
    m = re.match(r"^(\d{3,4})p\b", text, re.IGNORECASE)
    if m and f"{m.group(1)}p" in lookup:
        return lookup[f"{m.group(1)}p"]
    return None


def image_size(
    aspect_ratio: str | None, resolution: str | None = None, quality: str | None = None
) -> tuple[int, int]:
    """Pixel size of an image: ``("16:9", "1K")`` → ``(1024, 576)``; even ints, long side by tier.

    ``resolution`` 1K / 2K / 4K sets the long side (1024 / 2048 / 4096); a video-style ``"720p"``
    sets the short side. Without it, ``quality`` "high" / "ultra" mean 2K and other tiers 1K.
    ``None`` / ``"auto"`` / ``"adaptive"`` ratios give a square.
    """
    ratio = _ratio(aspect_ratio, (1.0, 1.0))
    long_side = _tier(resolution, IMAGE_TIERS)
    if long_side is None:
        short = _tier(resolution, VIDEO_TIERS)
        if short is not None:
            return _fit_short(ratio, short)
        m = re.fullmatch(r"\s*(\d{3,4})\s*(?:px)?\s*", str(resolution or ""))
        long_side = int(m.group(1)) if m else None
    if long_side is None:
        long_side = IMAGE_QUALITY_TIERS.get(str(quality or "").strip().lower(), IMAGE_TIERS["1K"])
    return _fit_long(ratio, long_side)


def video_size(aspect_ratio: str | None, resolution: str | None = None) -> tuple[int, int]:
    """Pixel size of a video: the resolution is the short side (``("9:16", "720p")`` → ``(720, 1280)``).

    Accepts quality tiers such as ``"1080p-draft"``; defaults to 720p and, for auto/None ratios, 16:9.
    """
    ratio = _ratio(aspect_ratio, (16.0, 9.0))
    short = _tier(resolution, VIDEO_TIERS) or DEFAULT_VIDEO_SHORT_SIDE
    return _fit_short(ratio, short)


# ---- pictures ---------------------------------------------------------------------------------
def _palette(seed: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Two pleasant, seed-dependent colours (HSV with fixed saturation/value)."""
    import colorsys

    hue = (seed * 0.618_033_988_75) % 1.0
    a = colorsys.hsv_to_rgb(hue, 0.55, 0.85)
    b = colorsys.hsv_to_rgb((hue + 0.33) % 1.0, 0.65, 0.45)
    return tuple(round(c * 255) for c in a), tuple(round(c * 255) for c in b)  # type: ignore[return-value]


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans when installed (wide Unicode coverage), else Pillow's bundled font."""
    from PIL import ImageFont

    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: bitmap font, fixed size
        return ImageFont.load_default()


def _gradient(w: int, h: int, seed: int) -> np.ndarray:
    """A diagonal two-colour gradient with a soft seeded glow, ``(h, w, 3)`` uint8."""
    import numpy as np

    c1, c2 = (np.array(c, np.float32) for c in _palette(seed))
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    t = (xs * 0.6 + ys * 0.4)[..., None]
    rng = np.random.default_rng(seed)
    cx, cy = rng.uniform(0.2, 0.8, 2)
    glow = np.exp(-(((xs - cx) ** 2) + ((ys - cy) ** 2)) * 6.0)[..., None] * 60.0
    img = c1 * (1 - t) + c2 * t + glow
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_text(img: Image.Image, prompt: str, footer: str) -> None:
    """The prompt, wrapped and centred with a shadow, plus a small footer line."""
    from PIL import ImageDraw

    w, h = img.size
    draw = ImageDraw.Draw(img)
    size = max(10, min(w, h) // 14)
    font = _font(size)
    char_w = max(1.0, float(draw.textlength("abcdefghij", font=font)) / 10)
    per_line = max(8, int(w * 0.86 / char_w))
    lines = textwrap.wrap(" ".join(prompt.split()) or "(no prompt)", per_line)
    max_lines = max(1, int(h * 0.7 / (size * 1.25)))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(0, per_line - 1)].rstrip() + "…"
    line_h = int(size * 1.25)
    y = (h - line_h * len(lines)) // 2
    shadow = max(1, size // 16)
    for line in lines:
        lw = draw.textlength(line, font=font)
        x = int((w - lw) / 2)
        draw.text((x + shadow, y + shadow), line, font=font, fill=(0, 0, 0))
        draw.text((x, y), line, font=font, fill=(255, 255, 255))
        y += line_h
    small = _font(max(8, size // 2))
    margin = max(2, size // 3)
    if draw.textlength(footer, font=small) <= w - 2 * margin:  # thumbnails: no half-cut footer
        draw.text((margin, h - int(size * 0.9)), footer, font=small, fill=(255, 255, 255))


def _picture(prompt: str, width: int, height: int, seed: int, footer: str) -> Image.Image:
    """The RGB picture at (width, height): drawn at most 1024 px long, then upscaled."""
    from PIL import Image

    img = _drawn(prompt, width, height, seed, footer, _MAX_DRAW_SIDE)
    if img.size != (width, height):
        img = img.resize((width, height), Image.Resampling.BILINEAR)
    return img


def _drawn(
    prompt: str, width: int, height: int, seed: int, footer: str, max_side: int
) -> Image.Image:
    """The picture at the aspect of (width, height), at most ``max_side`` long."""
    from PIL import Image

    scale = min(1.0, max_side / max(width, height))
    dw, dh = max(1, round(width * scale)), max(1, round(height * scale))
    # The gradient is smooth: compute it tiny and let the resampler interpolate.
    gscale = min(1.0, 128 / max(dw, dh))
    gw, gh = max(2, round(dw * gscale)), max(2, round(dh * gscale))
    img = Image.fromarray(_gradient(gw, gh, seed), "RGB").resize(
        (dw, dh), Image.Resampling.BILINEAR
    )
    _draw_text(img, prompt, footer)
    return img


def _check_size(width: int, height: int) -> tuple[int, int]:
    w, h = int(width), int(height)
    if w < 1 or h < 1 or w > 8192 or h > 8192:
        raise ValueError(
            f"Image size {width}x{height} is out of range: use 1..8192 pixels per side."
        )
    return w, h


def make_png(prompt: str, width: int, height: int, seed: int = 0) -> bytes:
    """A ``width`` x ``height`` PNG showing ``prompt`` on a seeded gradient."""
    w, h = _check_size(width, height)
    footer = f"Kubeez emulator · {w}×{h}"
    if w * h > _PALETTE_ABOVE_PIXELS:
        from PIL import Image

        # A 4K square as RGB takes ~0.4 s to resize and deflate; a 256-colour palette image
        # drawn at 2K and doubled takes ~0.05 s and is a third of the size.
        img = _drawn(prompt, w, h, seed, footer, 2 * _MAX_DRAW_SIDE)
        img = img.quantize(256, method=Image.Quantize.FASTOCTREE).resize(
            (w, h), Image.Resampling.NEAREST
        )
    else:
        img = _picture(prompt, w, h, seed, footer)
    buf = io.BytesIO()
    # Level 1: big images compress almost as well and several times faster.
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


# ---- video ------------------------------------------------------------------------------------
def _disk(radius: int) -> np.ndarray:
    import numpy as np

    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (xx * xx + yy * yy) <= radius * radius


def _mux(container: Any, packets: list[Any], lengths: dict[int, int]) -> None:
    """Mux packets with their exact lengths: the mp4 muxer takes the last sample's length (and so
    the stream duration) from the packet, and would otherwise assume one nominal frame."""
    for packet in packets:
        if packet.pts is not None and packet.time_base == Fraction(1, 1000):
            packet.duration = lengths.get(int(packet.pts), packet.duration)
        container.mux(packet)


def make_mp4(
    prompt: str, width: int, height: int, seconds: float, fps: int = 4, seed: int = 0
) -> bytes:
    """An H.264 MP4 (yuv420p, moov first) of exactly ``seconds`` showing the prompt and a moving ball.

    The container's stream duration is ``seconds`` to the millisecond: frames are spaced
    evenly over the duration. Odd sides are rounded down to even (yuv420p needs even ones).
    """
    import av
    import numpy as np

    w, h = _check_size(width, height)
    w, h = max(2, w - w % 2), max(2, h - h % 2)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"Video duration must be a positive number of seconds, got {seconds!r}.")
    fps = max(1, int(fps))
    total_ms = max(1, round(seconds * 1000))
    n = max(1, round(total_ms * fps / 1000))
    base = np.asarray(
        _picture(prompt, w, h, seed, f"Kubeez emulator · {w}×{h} · {total_ms / 1000:g} s")
    )
    radius = max(4, min(w, h) // 14)
    disk = _disk(radius)
    ball = np.array(_palette(seed + 1)[0], np.uint8)
    bar_h = max(2, h // 90)
    lengths: dict[int, int] = {}  # frame pts (ms) -> its length (ms)

    fd, path = tempfile.mkstemp(suffix=".mp4", prefix="kubeez-")
    os.close(fd)
    try:
        # +faststart rewrites the file with moov first, which needs a real (seekable, re-openable) file.
        with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.options = {"preset": "ultrafast", "crf": "30", "tune": "stillimage"}
            stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
            for i in range(n):
                start, end = i * total_ms // n, (i + 1) * total_ms // n
                frame_rgb = base.copy()
                t = i / max(1, n - 1)
                # The ball bounces along a sine path; a progress bar fills along the bottom.
                cx = int(radius + t * (w - 2 * radius - 1))
                cy = int(h * 0.78 - math.sin(t * math.pi * 2) * h * 0.12)
                cy = min(max(cy, radius), h - radius - 1)
                region = frame_rgb[cy - radius : cy + radius + 1, cx - radius : cx + radius + 1]
                region[disk[: region.shape[0], : region.shape[1]]] = ball
                frame_rgb[h - bar_h :, : max(1, int(w * end / total_ms))] = 255
                frame = av.VideoFrame.from_ndarray(frame_rgb, format="rgb24")
                frame.pts, frame.time_base = start, Fraction(1, 1000)
                lengths[start] = end - start
                _mux(container, stream.encode(frame), lengths)
            _mux(container, stream.encode(), lengths)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)
