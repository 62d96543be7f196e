"""Real audio for the local Kubeez: speech (a synthetic formant voice with word timings), music
(a seeded chord progression of an exact length), the crude frequency-split "separation", the
duration of any served file and placeholder captions. Mono 16-bit PCM WAV (16 kHz speech,
22.05 kHz music). numpy and av are imported inside the functions so importing stays cheap.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import wave
from typing import TYPE_CHECKING, Any

from kubeez_nb.contract.wire import EXTENSIONS

if TYPE_CHECKING:
    import numpy as np

SPEECH_RATE = 16_000
MUSIC_RATE = 22_050
#: Vocals/instrumental split point of the crude "separation" (the speech band).
VOCAL_BAND_HZ = (300.0, 3400.0)
#: extensions that have no duration
IMAGE_EXTS = EXTENSIONS["image"]
# fmt: off
_WORDS = (
    "the", "light", "moves", "across", "a", "quiet", "city", "while", "music", "plays", "softly",
    "in", "the", "distance", "and", "people", "walk", "home", "through", "warm", "streets",
    "under", "a", "bright", "sky", "we", "follow", "the", "story", "of", "a", "small", "robot",
    "who", "learns", "to", "paint", "colors", "of", "the", "morning", "on", "old", "walls",
    "near", "the", "sea", "every", "frame", "feels", "calm", "and", "alive",
)
# fmt: on


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
            melody_pos = min(max(melody_pos + int(rng.integers(-2, 3)), 0), len(scale) - 1)
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
                dtypes: dict[int, np.dtype[Any]] = {
                    1: np.dtype(np.uint8),
                    2: np.dtype("<i2"),
                    4: np.dtype("<i4"),
                }
                dtype = dtypes[width]
                arr = np.frombuffer(raw, dtype=dtype).astype(np.float64)
                arr = (arr - 128) / 128 if width == 1 else arr / float(2 ** (8 * width - 1))
                arr = arr.reshape(-1, ch).mean(axis=1) if ch > 1 else arr
                return arr, rate, len(arr) / rate
        except (wave.Error, EOFError, ValueError):
            pass  # e.g. float WAV: let av try
    import av

    seconds = media_duration(data, ext)
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
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

        with av.open(io.BytesIO(data), mode="r") as container:
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
