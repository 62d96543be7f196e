"""The tolerant wire readers: one rule per fact, for every shape seen live (api-facts)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pytest

from kubeez_nb.contract import wire


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("errored", "failed"),
        ("ERROR", "failed"),
        ("failure", "failed"),
        ("done", "completed"),
        (" Succeeded ", "completed"),
        ("canceled", "cancelled"),
        ("pending", "pending"),
        ("processing", "processing"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_status_aliases(raw: object, want: str) -> None:
    assert wire.status(raw) == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (5, 5.0),
        ("5", 5.0),
        ("5s", 5.0),
        ("12 credits", 12.0),
        ("2.5", 2.5),
        (True, None),
        (None, None),
        ("abc", None),
        (float("nan"), None),
        (float("inf"), None),
        ("nan", None),
        ([], None),
    ],
)
def test_numbers(raw: object, want: float | None) -> None:
    assert wire.number(raw) == want


def test_cost_prefers_the_charge_and_skips_unreadable_keys() -> None:
    assert wire.cost({"credits_deducted": "bad", "cost": "7", "credits": 9}) == 7.0
    assert wire.cost({"estimated_cost_credits": 3}) == 3.0
    assert wire.cost({"estimated_cost_credits": 3}, wire.CHARGE_KEYS) is None


def test_epoch_reads_every_time_form_alike() -> None:
    t = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc).timestamp()
    forms = [
        "2026-01-02T03:04:05Z",
        "2026-01-02 03:04:05",
        "2026-01-02T03:04:05+00:00",
        "2026-01-02T04:04:05+01:00",
        t,
        int(t * 1000),
        datetime(2026, 1, 2, 3, 4, 5),
    ]
    assert [wire.epoch(f) for f in forms] == [t] * len(forms)
    assert wire.epoch("yesterday") is None and wire.epoch(True) is None and wire.epoch("") is None


@pytest.mark.parametrize(
    ("where", "declared", "want"),
    [
        ("https://x.com/a/clip.MP4?sig=1#t", None, "video"),
        ("mp3", None, "audio"),
        (".webp", None, "image"),
        ("song.flac", None, "audio"),
        ("https://x.com/download?id=3", None, None),
        ("https://x.com/download?id=3", "video/mp4", "video"),
        ("data:image/png;base64,AAAA", None, "image"),
        ("https://x.com/a.png", "audio", "audio"),
        (None, None, None),
    ],
)
def test_media_kind_is_one_table(where: object, declared: str | None, want: str | None) -> None:
    assert wire.media_kind(where, declared) == want


def test_outputs_of_songs_stems_and_rows() -> None:
    resolve = lambda u: None if u is None else ("https://h" + u if u.startswith("/") else u)  # noqa: E731
    rows = wire.outputs(
        {"outputs": [{"url": "/m/a.png", "media_type": "image/png", "width": "640"}, "/m/b.mp4"]},
        resolve,
    )
    assert [(o.url, o.media_type, o.width) for o in rows] == [
        ("https://h/m/a.png", "image", 640),
        ("https://h/m/b.mp4", "video", None),
    ]
    songs = wire.outputs({"songs": [{"audio_url": "/s.mp3", "title": "One", "duration": "61"}]})
    assert [(o.url, o.label, o.duration) for o in songs] == [("/s.mp3", "One", 61.0)]
    stems = wire.outputs({"vocals_url": "/v.wav", "instrumental_url": "/i.wav"})
    assert [(o.label, o.media_type) for o in stems] == [
        ("vocals", "audio"),
        ("instrumental", "audio"),
    ]
    assert wire.outputs({"output_url": "x.jpg"})[0].media_type == "image"
    assert wire.outputs({"outputs": [None, 3]}) == []


def test_output_display_needs_no_renderer_import() -> None:
    """The contract layer never imports the renderer, and an Output still displays as media."""
    code = (
        "import sys; from kubeez_nb.contract import wire;"
        "b = wire.Output('https://h/a.mp4', 'video')._repr_mimebundle_();"
        "assert 'kubeez_nb.render' not in sys.modules, 'renderer imported';"
        "assert '<video' in b['text/html'], b; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "ok", out.stderr
