"""Rendering: every kind has text/plain and escaped HTML, prefers the cache, never raises."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from kubeez_nb import Client, Job, JobGroup
from kubeez_nb import render as media
from kubeez_nb.records import Captions

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def nb_client(emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Client:
    """A client whose cache sits in the 'notebook folder' (the working directory)."""
    monkeypatch.chdir(tmp_path)
    return Client(api_key=emulator.api_key, base_url=emulator.url, home=tmp_path / "kubeez-data")


def _check(bundle: dict[str, str]) -> str:
    assert bundle["text/plain"]
    html = bundle["text/html"]
    assert "<script" not in html.lower()
    # the browser is never pointed at the kernel's loopback (an action's data-url / data-code
    # may name the output's URL: copying it or calling the API with it is not loading it)
    links = re.findall(r"""(?:src|href)=["']([^"']*)""", html)
    assert not any("127.0.0.1" in u for u in links) or "could not" in html, links
    return html


def test_image_job_renders_from_a_relative_cached_path(nb_client: Client) -> None:
    job = nb_client.generate_media("nano-banana-2", f"a fox {SCRIPT}").wait(progress=False)
    bundle = job._repr_mimebundle_()
    html = _check(bundle)
    src = f"kubeez-data/media/{job.id}/0.png"
    assert f'src="{src}"' in html and Path(src).is_file()
    assert "nano-banana-2" in html and "completed" in html and "credits" in html
    assert "completed" in bundle["text/plain"] and "nano-banana-2" in bundle["text/plain"]


def test_music_shows_songs_with_cover_and_title(nb_client: Client) -> None:
    job = nb_client.generate_music("V5", "a calm song").wait(progress=False)
    html = _check(job._repr_mimebundle_())
    assert html.count("<audio controls") == len(job.outputs) == 2
    for out in job.outputs:
        assert media._esc(out.title) in html
        assert os.path.relpath(out.local_path) in html
    assert html.count('alt="cover"') == 2  # covers come from the cache too, not the loopback URL


def test_separation_shows_two_labelled_players(nb_client: Client) -> None:
    job = Job(nb_client, "sep-1", "separation", raw={"status": "completed",
              "vocals_url": "https://cdn.example/v.mp3", "instrumental_url": "https://cdn.example/i.mp3"})  # fmt: skip
    html = _check(media.job_bundle(job))
    assert html.count("<audio controls") == 2
    assert "vocals" in html and "instrumental" in html


def test_video_output_is_a_player_not_an_embed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clip = tmp_path / "kubeez-data" / "media" / "v1" / "0.mp4"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"\0" * 200_000)
    from kubeez_nb.job import Output

    out = Output(url="http://127.0.0.1:9/media/x.mp4", media_type="video", local_path=str(clip))
    html = _check(out._repr_mimebundle_())
    assert "<video controls" in html and 'src="kubeez-data/media/v1/0.mp4"' in html
    assert len(html) < 600 and "base64" not in html


def test_failed_job_shows_escaped_error_and_what_to_do(nb_client: Client) -> None:
    job = Job(
        nb_client,
        "bad-1",
        raw={"status": "failed", "model": "m", "error_message": f"blocked {SCRIPT}"},
    )
    bundle = media.job_bundle(job)
    html = _check(bundle)
    assert "&lt;script&gt;" in html and "does not refund" in html
    assert "failed" in bundle["text/plain"] and "→" in bundle["text/plain"]


def test_ad_copy_group_is_a_gallery(nb_client: Client) -> None:
    jobs = [Job(nb_client, f"ad-{i}", "ad-copy", raw={"status": "completed",
            "outputs": [{"url": f"https://cdn.example/{i}.png", "media_type": "image"}]}) for i in range(3)]  # fmt: skip
    bundle = JobGroup(jobs)._repr_mimebundle_()
    html = _check(bundle)
    assert html.count("<img") == 3 and "3 completed" in html


def test_captions_table_and_subtitles() -> None:
    caps = Captions.from_json({"words": [{"text": "Hello", "start": 0, "end": 400},
                                         {"text": SCRIPT, "start": 400, "end": 900}]})  # fmt: skip
    html = _check(caps._repr_mimebundle_())
    assert "<table>" in html and "&lt;script&gt;" in html and "00:00.90" in html
    assert caps.to_srt().startswith("1\n00:00:00,000 --> ") and caps.to_vtt().startswith("WEBVTT")


def test_broken_objects_never_raise() -> None:
    class Broken:
        @property
        def outputs(self) -> Any:
            raise RuntimeError("boom")

        def __repr__(self) -> str:
            return "Broken()"

    for build in (media.job_bundle, media.output_bundle, media.group_bundle, media.captions_bundle):
        bundle = build(Broken())
        assert bundle["text/plain"] and "text/html" in bundle
    assert "could not render" in media.group_bundle(42)["text/html"]


def test_expired_urls_still_render_from_the_cache(fresh_emulator: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    client = Client(
        api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path / "kubeez-data"
    )
    job = client.generate_media("nano-banana-2", "a fox").wait(progress=False)
    url = job.outputs[0].url
    fresh_emulator.advance(4000)  # past the one-hour signature
    assert requests.get(url, timeout=5).status_code == 403
    html = _check(media.job_bundle(job))
    assert f'src="kubeez-data/media/{job.id}/0.png"' in html
    assert f'src="{url.split("?")[0]}' not in html  # shown from the cache, not the dead URL


def test_watch_updates_the_display_in_the_background(
    nb_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    class Handle:
        def __init__(self) -> None:
            self.updates: list[dict[str, str]] = []
            self.finished = threading.Event()

        def update(self, bundle: dict[str, str], raw: bool = False) -> None:
            self.updates.append(bundle)
            if "completed" in bundle["text/plain"]:
                self.finished.set()

    handle = Handle()
    shown: list[dict[str, str]] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj) or handle)
    job = nb_client.generate_media("nano-banana-2", "a fox")
    assert media.watch(job) is handle  # returns at once: the kernel stays free
    assert "running" in shown[0]["text/html"] or "queued" in shown[0]["text/plain"]
    assert handle.finished.wait(30), "the display was never updated to the finished job"
    assert f"kubeez-data/media/{job.id}/0.png" in handle.updates[-1]["text/html"]
    time.sleep(1.5)  # the 1 s tick and late callbacks after the end
    pairs = zip(handle.updates, handle.updates[1:], strict=False)
    assert all(a != b for a, b in pairs), "a card was republished unchanged (its buttons reset)"


# ---- only safe URLs reach src / href -----------------------------------------------------------

UNSAFE = [
    "javascript:alert(document.cookie)",
    " JaVa\tScRiPt:alert(1)",
    "\x01javascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<b>hi</b>",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "file:///etc/passwd",
]
SAFE = ["https://cdn.example.com/a.png?sig=1", "/images/a.png", "kubeez-data/media/j/0.png",
        "data:image/png;base64,iVBORw0KGgo="]  # fmt: skip


def _completed(client: Client, url: str, kind: str = "image", cover: str | None = None) -> Job:
    out: dict[str, Any] = {"url": url, "media_type": kind}
    if cover is not None:
        out["thumbnail_url"] = cover
    return Job(client, "gen-x", raw={"status": "completed", "outputs": [out]})


@pytest.mark.parametrize("url", UNSAFE)
@pytest.mark.parametrize("kind", ["image", "video", "audio", "file"])
def test_a_server_supplied_unsafe_url_is_dropped_visibly(
    client: Client, url: str, kind: str
) -> None:
    job = _completed(client, url, kind)
    assert job.outputs[0].url is not None  # the server's URL really reached the output
    for bundle in (job._repr_mimebundle_(), JobGroup([job])._repr_mimebundle_()):
        html = bundle["text/html"]
        assert media.UNSAFE_NOTE in html
        lowered = html.lower()
        for bad in ("javascript", "vbscript", "data:text", "svg+xml", "file:///"):
            assert bad not in lowered, html
        assert "src=" not in html and "href=" not in html


@pytest.mark.parametrize("url", SAFE)
def test_safe_urls_are_kept(client: Client, url: str) -> None:
    html = _completed(client, url)._repr_mimebundle_()["text/html"]
    assert "<img src=" in html and media.UNSAFE_NOTE not in html


def test_an_unsafe_song_cover_is_dropped_and_the_song_kept(client: Client) -> None:
    job = _completed(client, "https://cdn.example.com/s.mp3", "audio", cover="javascript:alert(1)")
    html = job._repr_mimebundle_()["text/html"]
    assert "<audio controls" in html and "javascript" not in html.lower()
    assert f"cover: {media.UNSAFE_NOTE}" in html


def test_a_running_card_ticks_the_elapsed_time_against_the_usual_duration() -> None:
    import time
    from types import SimpleNamespace

    model = SimpleNamespace(estimated_time_seconds=40)
    client = SimpleNamespace(_catalog=SimpleNamespace(get=lambda mid: model))
    job = SimpleNamespace(
        id="j1", kind="media", model="kling", status="processing", outputs=[], error=None,
        estimate=14, cost=None, submitted_at=time.time() - 12, created_at=None,
        completed_at=None, client=client,
    )  # fmt: skip
    html = media.job_bundle(job)["text/html"]
    assert "running… 12 s of usually ~40 s" in html
    job.status, job.completed_at = "completed", job.submitted_at + 30
    html = media.job_bundle(job)["text/html"]
    assert "usually" not in html and "30.0 s" in html


def test_static_bundle_is_what_a_saved_studio_cell_can_keep(nb_client: Client) -> None:
    jobs = [
        nb_client.generate_media("nano-banana-2", f"fox {i}").wait(progress=False) for i in (1, 2)
    ]
    bundle = media.static_bundle(jobs, title="made in the studio")
    assert set(bundle) == {"text/plain", "text/html"}
    assert "widget" not in bundle["text/html"] and "made in the studio" in bundle["text/html"]
    assert all(f"kubeez-data/media/{j.id}/0.png" in bundle["text/html"] for j in jobs)
    one = media.static_bundle(jobs[0])
    assert f"kubeez-data/media/{jobs[0].id}/0.png" in one["text/html"]
