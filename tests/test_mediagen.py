"""The emulator's media files are real: right sizes, decodable, exact durations, browser-friendly."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
import wave

import av
import numpy as np
import pytest
from PIL import Image

from kubeez_nb.emulator import mediagen as mg


def _wav_samples(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as wf:
        assert wf.getnchannels() == 1 and wf.getsampwidth() == 2
        return np.frombuffer(wf.readframes(wf.getnframes()), "<i2").astype(
            float
        ) / 32768, wf.getframerate()


@pytest.mark.parametrize(
    ("ratio", "resolution", "quality", "size"),
    [
        ("16:9", "1K", None, (1024, 576)),
        ("9:16", "1K", None, (576, 1024)),
        ("9:16", "2K", None, (1152, 2048)),
        ("1:1", "4K", None, (4096, 4096)),
        ("21:9", "1K", None, (1024, 438)),
        ("3:2", None, None, (1024, 682)),
        ("4:3", None, "high", (2048, 1536)),
        ("16:9", "2k", "basic", (2048, 1152)),  # resolution wins over quality, any case
        (None, None, None, (1024, 1024)),
        ("auto", None, None, (1024, 1024)),
        ("adaptive", "2K", None, (2048, 2048)),
    ],
)
def test_image_size_follows_aspect_ratio_and_resolution(
    ratio: str | None, resolution: str | None, quality: str | None, size: tuple[int, int]
) -> None:
    w, h = mg.image_size(ratio, resolution, quality)
    assert (w, h) == size
    assert isinstance(w, int) and isinstance(h, int) and w % 2 == 0 and h % 2 == 0


@pytest.mark.parametrize(
    ("ratio", "resolution", "size"),
    [
        ("16:9", "720p", (1280, 720)),
        ("9:16", "720p", (720, 1280)),
        ("16:9", "480p", (854, 480)),
        ("16:9", "1080p", (1920, 1080)),
        ("1:1", "1080p-draft", (1080, 1080)),
        ("16:9", "720p-draft", (1280, 720)),
        ("16:9", None, (1280, 720)),
        (None, None, (1280, 720)),
        ("2:3", "480p", (480, 720)),
    ],
)
def test_video_size_uses_resolution_as_short_side(
    ratio: str | None, resolution: str | None, size: tuple[int, int]
) -> None:
    assert mg.video_size(ratio, resolution) == size


@pytest.mark.parametrize(
    ("ratio", "resolution"), [("16:9", "1K"), ("9:16", "2K"), ("21:9", "4K"), ("1:1", "4K")]
)
def test_png_decodes_at_the_implied_size(ratio: str, resolution: str) -> None:
    w, h = mg.image_size(ratio, resolution)
    data = mg.make_png("a red fox in fresh snow at dawn", w, h, seed=7)
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    assert img.size == (w, h)
    img.load()  # the whole stream decodes, not just the header


def test_png_shows_the_prompt_and_depends_on_seed() -> None:
    def pixels(prompt: str, seed: int) -> np.ndarray:
        return np.asarray(
            Image.open(io.BytesIO(mg.make_png(prompt, 512, 288, seed=seed))).convert("RGB")
        )

    a, b, c = pixels("hello world", 1), pixels("hello world", 2), pixels("goodbye moon", 1)
    assert not np.array_equal(a, b)  # another seed, another background
    # The text band in the middle differs between prompts on the same background.
    band = slice(288 // 2 - 20, 288 // 2 + 20)
    assert np.abs(a[band].astype(int) - c[band].astype(int)).sum() > 0
    assert (a[band] == 255).all(axis=2).any()  # white text pixels are there


def _mp4_facts(data: bytes) -> dict:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "size": (stream.codec_context.width, stream.codec_context.height),
            "duration": float(stream.duration * stream.time_base),
            "frames": frames,
        }


@pytest.mark.parametrize(
    ("w", "h", "seconds"), [(1280, 720, 5.0), (720, 1280, 6.3), (854, 480, 2.0)]
)
def test_mp4_is_h264_with_requested_size_and_duration(w: int, h: int, seconds: float) -> None:
    data = mg.make_mp4("slow pan across a rainy Tokyo street", w, h, seconds, fps=4, seed=3)
    facts = _mp4_facts(data)
    assert facts["codec"] == "h264"
    assert facts["pix_fmt"] == "yuv420p"  # what browsers decode
    assert facts["size"] == (w, h)
    assert abs(facts["duration"] - seconds) <= 1 / 4
    assert abs(facts["duration"] - seconds) < 0.002  # in fact to the millisecond
    assert mg.media_duration(data, "mp4") == pytest.approx(facts["duration"])
    assert len(facts["frames"]) == round(seconds * 4)
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: playable while downloading
    assert not np.array_equal(facts["frames"][0], facts["frames"][-1])  # something moves


def test_mp4_of_five_seconds_at_720p_is_quick() -> None:
    import time

    t0 = time.perf_counter()
    mg.make_mp4("speed check", 1280, 720, 5.0)
    # ~0.15 s on one free core; generous for a shared CI box.
    assert time.perf_counter() - t0 < 3.0


def test_speech_lasts_until_the_last_word_and_speaks_the_text() -> None:
    text = "Hello there, this is the emulator speaking. Enjoy the demo!"
    data, ext, words = mg.make_speech(text, "Rachel")
    assert ext == "wav"
    assert [w["text"] for w in words] == text.split()
    assert all(set(w) == {"text", "start", "end", "confidence"} for w in words)
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(words))
    assert mg.media_duration(data, ext) == pytest.approx(words[-1]["end"] / 1000, abs=0.002)
    assert 250 <= words[-1]["end"] / len(words) <= 500  # about 350 ms per word
    samples, rate = _wav_samples(data)
    first, second = words[0], words[1]
    loud = samples[int(first["start"] * rate / 1000) : int(first["end"] * rate / 1000)]
    gap = samples[int(first["end"] * rate / 1000) + 5 : int(second["start"] * rate / 1000) - 5]
    assert (
        np.sqrt((loud**2).mean()) > 0.1 and np.abs(gap).max() == 0
    )  # sound on words, silence between


def test_speech_speed_and_voice_change_the_audio() -> None:
    text = "one two three four five six"
    normal, _, w1 = mg.make_speech(text, "Rachel")
    _, _, w2 = mg.make_speech(text, "Rachel", speed=2.0)
    other, _, _ = mg.make_speech(text, "Adam")
    assert w2[-1]["end"] == pytest.approx(w1[-1]["end"] / 2, rel=0.05)
    assert other != normal


def test_music_has_exact_duration_and_sound() -> None:
    data, ext = mg.make_music("lo-fi beat with warm vinyl crackle", 12.5, seed=1)
    assert ext == "wav"
    assert mg.media_duration(data, ext) == pytest.approx(12.5, abs=1e-4)
    samples, _ = _wav_samples(data)
    assert np.sqrt((samples**2).mean()) > 0.05
    assert data != mg.make_music("lo-fi beat with warm vinyl crackle", 12.5, seed=2)[0]


def test_stems_have_the_input_duration_and_add_back_up() -> None:
    song, ext = mg.make_music("synthwave chorus", 7.0, seed=4)
    (vocals, vext), (inst, iext) = mg.split_stems(song, ext)
    assert mg.media_duration(vocals, vext) == pytest.approx(7.0, abs=1e-3)
    assert mg.media_duration(inst, iext) == pytest.approx(7.0, abs=1e-3)
    v, _ = _wav_samples(vocals)
    i, _ = _wav_samples(inst)
    s, _ = _wav_samples(song)
    assert v.std() > 0.01 and i.std() > 0.01  # both stems carry sound
    assert np.abs((v + i) - s).max() < 0.01  # and together they are the input


def test_stems_of_a_silent_video_match_its_duration() -> None:
    video = mg.make_mp4("no soundtrack", 320, 180, 3.0)
    (vocals, vext), (inst, iext) = mg.split_stems(video, "mp4")
    assert mg.media_duration(vocals, vext) == pytest.approx(3.0, abs=0.01)
    assert mg.media_duration(inst, iext) == pytest.approx(3.0, abs=0.01)


@pytest.mark.parametrize(
    ("data", "ext"),
    [
        (b"", "mp3"),
        (b"garbage" * 50, "mp4"),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "wav"),
        (b"\x00" * 64, "webm"),
    ],
)
def test_media_duration_never_raises_on_garbage(data: bytes, ext: str) -> None:
    assert mg.media_duration(data, ext) == 0.0


def test_media_duration_is_zero_for_images() -> None:
    assert mg.media_duration(mg.make_png("x", 64, 64), "png") == 0.0


def test_placeholder_words_fit_the_duration() -> None:
    words = mg.placeholder_words(6.0, seed=3)
    assert len(words) >= 8
    assert all(0 <= w["start"] < w["end"] <= 6000 for w in words)
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(words))
    assert all(w["text"].isalpha() and 0 < w["confidence"] <= 1 for w in words)
    assert mg.placeholder_words(6.0, seed=3) == words
    assert mg.placeholder_words(0) == []


def test_importing_mediagen_loads_no_heavy_library() -> None:
    code = (
        "import sys, kubeez_nb.emulator; before = set(sys.modules);"
        "import kubeez_nb.emulator.mediagen;"
        "print(sorted({'PIL', 'av', 'numpy'} & (set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def _m4a(seconds: float) -> bytes:
    """An AAC .m4a like a user upload, encoded with av from one of our songs."""
    samples, rate = _wav_samples(mg.make_music("upload", seconds)[0])
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            samples.astype(np.float32)[None, :], format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts = rate, 0
        for packet in (*stream.encode(frame), *stream.encode()):
            container.mux(packet)
    return buf.getvalue()


def test_stems_of_a_compressed_upload_match_its_duration() -> None:
    upload = _m4a(4.0)
    seconds = mg.media_duration(upload, "m4a")
    assert seconds == pytest.approx(4.0, abs=0.05)
    (vocals, vext), (inst, iext) = mg.split_stems(upload, "m4a")
    assert mg.media_duration(vocals, vext) == pytest.approx(seconds, abs=0.01)
    assert mg.media_duration(inst, iext) == pytest.approx(seconds, abs=0.01)
    assert _wav_samples(inst)[0].std() > 0.01
