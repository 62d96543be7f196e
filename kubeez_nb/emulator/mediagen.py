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
- ``media_duration`` for any served file and ``placeholder_words`` for captions of foreign media.

Audio is mono 16-bit PCM WAV (16 kHz speech, 22.05 kHz music): Chromium plays it, durations are
exact, and a 30 s song stays ~1.3 MB. Pillow, numpy and av are imported inside the functions so
importing the emulator stays cheap.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import os
import re
import tempfile
import textwrap
import wave
from fractions import Fraction
from typing import TYPE_CHECKING, Any

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
SPEECH_RATE = 16_000
MUSIC_RATE = 22_050
#: Vocals/instrumental split point of the crude "separation" (the speech band).
VOCAL_BAND_HZ = (300.0, 3400.0)
IMAGE_EXTS = frozenset({"png", "jpg", "jpeg", "webp", "gif", "bmp", "svg", "avif"})
_MAX_DRAW_SIDE = 1024  # draw at most this big, then upscale: a 4K PNG stays well under 0.3 s
_PALETTE_ABOVE_PIXELS = 8_000_000
_NAMED_RATIOS = {"square": (1, 1), "landscape": (16, 9), "portrait": (9, 16), "widescreen": (16, 9)}
_WORDS = (
    "the",
    "light",
    "moves",
    "across",
    "a",
    "quiet",
    "city",
    "while",
    "music",
    "plays",
    "softly",
    "in",
    "the",
    "distance",
    "and",
    "people",
    "walk",
    "home",
    "through",
    "warm",
    "streets",
    "under",
    "a",
    "bright",
    "sky",
    "we",
    "follow",
    "the",
    "story",
    "of",
    "a",
    "small",
    "robot",
    "who",
    "learns",
    "to",
    "paint",
    "colors",
    "of",
    "the",
    "morning",
    "on",
    "old",
    "walls",
    "near",
    "the",
    "sea",
    "every",
    "frame",
    "feels",
    "calm",
    "and",
    "alive",
)


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
        img = img.resize((width, height), Image.BILINEAR)
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
    img = Image.fromarray(_gradient(gw, gh, seed), "RGB").resize((dw, dh), Image.BILINEAR)
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
        img = img.quantize(256, method=Image.Quantize.FASTOCTREE).resize((w, h), Image.NEAREST)
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


# ---- audio ------------------------------------------------------------------------------------
def _wav(samples: np.ndarray, rate: int) -> bytes:
    """Mono float samples in [-1, 1] → 16-bit PCM WAV bytes."""
    import numpy as np

    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(pcm.tobytes())
    return buf.getvalue()


def _stable_hash(text: str) -> int:
    """A process-independent hash (``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


# Formant pairs (F1, F2) of a few vowels: cycling through them makes words sound different.
_VOWELS = ((730, 1090), (270, 2290), (530, 1840), (570, 840), (300, 870), (660, 1720))


def _syllable(n: int, rate: int, f0: float, vowel: tuple[int, int], rng: Any) -> np.ndarray:
    """One voiced "word": a gliding pitch whose harmonics are shaped by two formants."""
    import numpy as np

    t = np.arange(n) / rate
    glide = f0 * (1.0 + 0.08 * np.sin(np.pi * t / max(t[-1], 1e-3)) - 0.05 * t / max(t[-1], 1e-3))
    phase = 2 * np.pi * np.cumsum(glide) / rate
    f1, f2 = vowel
    out = np.zeros(n, np.float64)
    for k in range(1, 16):
        fk = f0 * k
        if fk > rate / 2 - 200:
            break
        amp = (
            math.exp(-(((fk - f1) / 180) ** 2))
            + 0.6 * math.exp(-(((fk - f2) / 250) ** 2))
            + 0.03 / k
        )
        out += amp * np.sin(k * phase)
    out += rng.normal(0.0, 0.02, n)  # a little breath
    attack, release = min(n // 4, int(0.02 * rate)), min(n // 3, int(0.06 * rate))
    env = np.ones(n)
    env[:attack] = np.linspace(0, 1, attack)
    if release:
        env[-release:] = np.linspace(1, 0, release)
    out *= env
    peak = np.abs(out).max()
    return out / peak * 0.6 if peak > 0 else out


def make_speech(text: str, voice: str, speed: float = 1.0) -> tuple[bytes, str, list[dict]]:
    """Synthetic speech for ``text``: (WAV bytes, ``"wav"``, word timings in ms).

    Each word becomes a voiced syllable (~350 ms per word at speed 1, longer words take longer,
    sentence ends pause); the pitch follows the voice name. The audio ends at the last word's
    end, so the captions of this file are exactly the spoken words.
    """
    import numpy as np

    speed = min(max(float(speed or 1.0), 0.25), 4.0)
    rate = SPEECH_RATE
    f0 = 95.0 + _stable_hash(str(voice or "")) % 160  # 95-255 Hz: low to high voices
    rng = np.random.default_rng(_stable_hash(f"{voice}|{text}"))
    tokens = str(text or "").split()
    words: list[dict] = []
    pieces: list[np.ndarray] = []
    cursor = 0  # samples
    pause_ms = 0.0  # silence owed after the previous word
    for i, token in enumerate(tokens):
        letters = len(re.sub(r"\W", "", token)) or 1
        sound_ms = (170 + 18 * min(letters, 12)) / speed
        n = max(1, int(sound_ms * rate / 1000))
        if pause_ms:
            gap = int(pause_ms * rate / 1000)
            pieces.append(np.zeros(gap))
            cursor += gap
        pieces.append(_syllable(n, rate, f0, _VOWELS[(i + letters) % len(_VOWELS)], rng))
        words.append(
            {
                "text": token,
                "start": round(cursor * 1000 / rate),
                "end": round((cursor + n) * 1000 / rate),
                "confidence": 1.0,
            }
        )
        cursor += n
        pause_ms = (90 + (220 if token[-1] in ".!?;:" else 60 if token[-1] == "," else 0)) / speed
    samples = np.concatenate(pieces) if pieces else np.zeros(rate // 2)
    return _wav(samples, rate), "wav", words


def _note_hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def make_music(prompt: str, seconds: float, seed: int = 0) -> tuple[bytes, str]:
    """A seeded loop of chords, bass and a lead melody lasting exactly ``seconds``: (WAV, ``"wav"``).

    The prompt picks the key and tempo (with the seed), so two songs of one request differ.
    """
    import numpy as np

    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"Music duration must be a positive number of seconds, got {seconds!r}.")
    rate = MUSIC_RATE
    total = max(1, round(seconds * rate))
    rng = np.random.default_rng(_stable_hash(prompt or "") + seed)
    root = 57 + int(rng.integers(0, 7))  # A3..D#4
    bpm = float(rng.choice([84, 96, 104, 112, 120]))
    beat = 60.0 / bpm
    progressions = ((0, 7, 9, 5), (0, 5, 7, 5), (9, 5, 0, 7), (0, 9, 5, 7))
    prog = progressions[int(rng.integers(0, len(progressions)))]
    scale = (0, 2, 4, 7, 9, 12, 14, 16)  # major pentatonic across two octaves
    out = np.zeros(total + rate, np.float64)  # headroom for notes ringing past the end

    def add(
        start_s: float,
        dur_s: float,
        midi: float,
        amp: float,
        harmonics: tuple[float, ...],
        decay: float,
    ) -> None:
        s = int(start_s * rate)
        if s >= total:
            return
        n = min(int(dur_s * rate), len(out) - s)
        t = np.arange(n) / rate
        f = _note_hz(midi)
        wave_ = sum(h * np.sin(2 * np.pi * f * (k + 1) * t) for k, h in enumerate(harmonics))
        env = np.exp(-t * decay) * np.minimum(1.0, t / 0.01)
        out[s : s + n] += amp * wave_ * env

    bar = 4 * beat
    n_bars = math.ceil(seconds / bar)
    melody_pos = int(rng.integers(0, 4))
    for b in range(n_bars):
        chord_root = root + prog[b % len(prog)]
        third = 4 if prog[b % len(prog)] in (0, 5, 7) else 3
        for note in (0, third, 7):  # pad chord
            add(b * bar, bar * 1.05, chord_root + note, 0.10, (1.0, 0.3, 0.1), 0.9)
        for k in range(4):  # bass on every beat
            add(b * bar + k * beat, beat * 0.9, chord_root - 24, 0.22, (1.0, 0.5), 3.0)
        for k in range(8):  # lead: a random walk over the pentatonic scale, eighth notes
            if rng.random() < 0.2:
                continue
            melody_pos = int(min(max(melody_pos + rng.integers(-2, 3), 0), len(scale) - 1))
            add(
                b * bar + k * beat / 2,
                beat * 0.6,
                root + 12 + scale[melody_pos],
                0.16,
                (1.0, 0.4, 0.2),
                4.0,
            )
    samples = out[:total]
    fade = min(total, int(0.8 * rate))
    samples[-fade:] *= np.linspace(1.0, 0.0, fade)
    samples[: min(total, 200)] *= np.linspace(0.0, 1.0, min(total, 200))
    peak = np.abs(samples).max()
    if peak > 0:
        samples = samples / peak * 0.8
    return _wav(samples, rate), "wav"


def _decode_audio(data: bytes, ext: str) -> tuple[np.ndarray, int, float]:
    """Mono float samples, sample rate and duration of any audio/video file (silence if none)."""
    import numpy as np

    if ext.lower().lstrip(".") == "wav" or data[:4] == b"RIFF":
        try:
            with wave.open(io.BytesIO(data)) as wf:
                rate, width, ch = wf.getframerate(), wf.getsampwidth(), wf.getnchannels()
                raw = wf.readframes(wf.getnframes())
            if width in (1, 2, 4):
                dtype = {1: np.uint8, 2: "<i2", 4: "<i4"}[width]
                arr = np.frombuffer(raw, dtype).astype(np.float64)
                arr = (arr - 128) / 128 if width == 1 else arr / float(2 ** (8 * width - 1))
                arr = arr.reshape(-1, ch).mean(axis=1) if ch > 1 else arr
                return arr, rate, len(arr) / rate
        except (wave.Error, EOFError, ValueError):
            pass  # e.g. float WAV: let av try
    import av

    seconds = media_duration(data, ext)
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                raise ValueError("no audio stream")
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=MUSIC_RATE)
            chunks = []
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray()[0])
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray()[0])
        arr = np.concatenate(chunks).astype(np.float64) if chunks else np.zeros(0)
    except (av.error.FFmpegError, ValueError, IndexError):
        arr = np.zeros(0)
    # Pad or trim to the container's duration so stems are exactly as long as the input.
    want = round(seconds * MUSIC_RATE) if seconds > 0 else len(arr)
    arr = np.pad(arr, (0, max(0, want - len(arr))))[:want] if want else arr
    return arr, MUSIC_RATE, len(arr) / MUSIC_RATE


def split_stems(data: bytes, ext: str) -> tuple[tuple[bytes, str], tuple[bytes, str]]:
    """Crude "separation": (vocals, instrumental) WAVs, the speech band vs the rest, input-long."""
    import numpy as np

    samples, rate, _ = _decode_audio(data, ext)
    if len(samples) == 0:
        samples = np.zeros(rate)  # unreadable input: a second of silence, never an exception
    spectrum = np.fft.rfft(samples)
    freqs = np.fft.rfftfreq(len(samples), 1.0 / rate)
    lo, hi = VOCAL_BAND_HZ
    # Soft edges (a ~100 Hz ramp) avoid ringing at the band limits.
    mask = np.clip((freqs - lo) / 100 + 0.5, 0, 1) * np.clip((hi - freqs) / 100 + 0.5, 0, 1)
    vocals = np.fft.irfft(spectrum * mask, len(samples))
    instrumental = samples - vocals
    return (_wav(vocals, rate), "wav"), (_wav(instrumental, rate), "wav")


def media_duration(data: bytes, ext: str) -> float:
    """Seconds of a wav / m4a / mp3 / mp4 / webm file; 0.0 for images and anything unreadable."""
    kind = str(ext or "").lower().lstrip(".")
    if kind in IMAGE_EXTS or not data:
        return 0.0
    if data[:4] == b"RIFF":
        try:
            with wave.open(io.BytesIO(data)) as wf:
                return wf.getnframes() / float(wf.getframerate())
        except (wave.Error, EOFError, ValueError, ZeroDivisionError):
            pass  # not plain PCM: let av read it
    try:
        import av

        with av.open(io.BytesIO(data)) as container:
            for stream in (*container.streams.video, *container.streams.audio):
                if stream.duration is not None and stream.time_base is not None:
                    return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / 1_000_000
    except Exception:  # garbage in any of a hundred ways: the contract is "never raises"
        return 0.0
    return 0.0


def placeholder_words(seconds: float, seed: int = 0) -> list[dict]:
    """Plausible word timings spread over ``seconds`` (captions for media the emulator did not speak)."""
    import random

    rng = random.Random(seed)
    limit = int(max(0.0, float(seconds or 0.0)) * 1000)
    words: list[dict] = []
    t = rng.randint(80, 300)
    i = rng.randrange(len(_WORDS))
    while True:
        token = _WORDS[i % len(_WORDS)]
        end = t + 140 + 25 * len(token) + rng.randint(0, 80)
        if end > limit:
            break
        words.append(
            {"text": token, "start": t, "end": end, "confidence": round(rng.uniform(0.86, 0.99), 2)}
        )
        t = end + rng.randint(40, 160) + (300 if rng.random() < 0.08 else 0)
        i += 1
    return words
