"""TEMPORARY stand-in for ``mediagen`` (being written concurrently); deleted once it lands."""

from __future__ import annotations

import io
import math
import struct
import wave

RATIOS = {"1:1": (1, 1), "16:9": (16, 9), "9:16": (9, 16), "4:3": (4, 3), "3:4": (3, 4), "3:2": (3, 2), "2:3": (2, 3),
          "21:9": (21, 9), "4:5": (4, 5), "5:4": (5, 4)}


def _ratio(aspect: str | None) -> tuple[int, int]:
    return RATIOS.get(aspect or "1:1", (1, 1))


def image_size(aspect_ratio: str | None, resolution: str | None = None, quality: str | None = None) -> tuple[int, int]:
    long = {"2K": 2048, "4K": 4096}.get(resolution or "", 1024)
    a, b = _ratio(aspect_ratio)
    return (long, round(long * b / a) // 8 * 8) if a >= b else (round(long * a / b) // 8 * 8, long)


def video_size(aspect_ratio: str | None, resolution: str | None = None) -> tuple[int, int]:
    short = {"480p": 480, "1080p": 1080}.get(resolution or "", 720)
    a, b = _ratio(aspect_ratio)
    return (round(short * a / b) // 2 * 2, short) if a >= b else (short, round(short * b / a) // 2 * 2)


def make_png(prompt: str, width: int, height: int, seed: int = 0) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), ((seed * 37) % 200 + 30, (seed * 91) % 200 + 30, 120))
    ImageDraw.Draw(img).text((10, 10), prompt[:80], fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def make_mp4(prompt: str, width: int, height: int, seconds: float, fps: int = 4, seed: int = 0) -> bytes:
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = width, height, "yuv420p"
        for i in range(max(round(seconds * fps), 1)):
            arr = np.full((height, width, 3), (i * 20) % 255, dtype=np.uint8)
            for pkt in st.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return buf.getvalue()


def _wav(seconds: float, freq: float = 220.0, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        n = int(seconds * rate)
        w.writeframes(b"".join(struct.pack("<h", int(3000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(n)))
    return buf.getvalue()


def placeholder_words(seconds: float) -> list[dict]:
    return [{"text": f"word{i}", "start": i * 500, "end": i * 500 + 400} for i in range(int(seconds * 2))]


def make_speech(text: str, voice: str, speed: float = 1.0) -> tuple[bytes, str, list[dict]]:
    words = text.split()
    out = [{"text": w, "start": i * 400, "end": i * 400 + 350} for i, w in enumerate(words)]
    return _wav(max(len(words) * 0.4, 0.5)), "wav", out


def make_music(prompt: str, seconds: float, seed: int = 0) -> tuple[bytes, str]:
    return _wav(seconds, 220 + seed % 200), "wav"


def split_stems(data: bytes, ext: str) -> tuple[tuple[bytes, str], tuple[bytes, str]]:
    secs = media_duration(data, ext)
    return (_wav(secs, 330), "wav"), (_wav(secs, 110), "wav")


def media_duration(data: bytes, ext: str) -> float:
    if ext == "wav":
        with wave.open(io.BytesIO(data)) as w:
            return w.getnframes() / w.getframerate()
    import av

    with av.open(io.BytesIO(data)) as c:
        return float(c.duration or 0) / 1_000_000
