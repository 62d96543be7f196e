"""Job handles: the live variants of api-facts, the poll schedule, failures, callbacks, ledger."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from kubeez_nb import Client, Job, errors
from kubeez_nb.contract.wire import outputs as parse_outputs
from kubeez_nb.job import normalize_status

BASE = "https://api.example.test"


def _resolve(url: str | None) -> str | None:
    if not url:
        return None
    return url if url.startswith("http") else BASE + url


@pytest.fixture
def fresh_client(fresh_emulator: Any, tmp_path: Path) -> Client:
    return Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)


# ---- parsing (pure) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", "queued"),
        ("pending", "pending"),
        ("PROCESSING", "processing"),
        ("streaming", "streaming"),
        ("error", "failed"),
        ("failed", "failed"),
        ("canceled", "cancelled"),
        ("", "unknown"),
        ("brand-new", "brand-new"),
    ],
)
def test_status_normalisation(raw: str, status: str) -> None:
    assert normalize_status(raw) == status


def test_outputs_mime_types_relative_urls_and_extensions() -> None:
    outs = parse_outputs(
        {
            "outputs": [
                {"url": "/images/a.png", "media_type": "image/png", "width": "640", "height": 480},
                {
                    "url": "https://cdn.test/v.mp4?sig=1",
                    "media_type": "video/mp4",
                    "duration": "5s",
                },
                {"url": "https://cdn.test/x.mp3", "media_type": None},
                {"url": "https://cdn.test/blob", "media_type": "weird"},
            ]
        },
        _resolve,
    )
    assert [o.media_type for o in outs] == ["image", "video", "audio", "weird"]
    assert outs[0].url == BASE + "/images/a.png" and (outs[0].width, outs[0].height) == (640, 480)
    assert outs[1].duration == 5.0


def test_music_songs_and_separation_stems_become_outputs() -> None:
    songs = parse_outputs(
        {
            "songs": [
                {
                    "title": "A",
                    "audio_url": None,
                    "stream_url": "/s/a.mp3",
                    "cover_image_url": "/c.png",
                },
                {"title": "B", "audio_url": "https://cdn.test/b.mp3"},
            ]
        },
        _resolve,
    )
    assert [(o.title, o.url, o.media_type) for o in songs] == [
        ("A", BASE + "/s/a.mp3", "audio"),
        ("B", "https://cdn.test/b.mp3", "audio"),
    ]
    assert songs[0].thumbnail_url == BASE + "/c.png"
    stems = parse_outputs(
        {"vocals_url": "https://cdn.test/v.wav", "instrumental_url": "/i.wav"}, _resolve
    )
    assert [(o.label, o.url) for o in stems] == [
        ("vocals", "https://cdn.test/v.wav"),
        ("instrumental", BASE + "/i.wav"),
    ]


def test_completed_without_urls_is_not_done_and_error_means_failed(client: Client) -> None:
    job = Job(
        client, "j1", raw={"status": "completed", "outputs": [{"url": None, "media_type": "image"}]}
    )
    assert not job.done and job.status == "processing"
    job = Job(client, "j2", raw={"status": "completed", "outputs": []})
    assert not job.done
    job = Job(client, "j3", raw={"status": "error", "error_message": "flagged"})
    assert job.done and job.failed and not job.ok and job.error == "flagged"
    with pytest.raises(errors.JobFailedError, match="flagged"):
        job.raise_for_status()
    job = Job(
        client,
        "j4",
        raw={"status": "completed", "outputs": [{"url": "/x.png"}], "credits_deducted": 14},
    )
    assert job.ok and job.cost == 14 and job.outputs[0].url == client.base_url + "/x.png"
    with pytest.raises(ValueError, match="kind"):
        Job(client, "j5", kind="bogus")


def test_cost_falls_back_through_documented_names(client: Client) -> None:
    assert Job(client, "a", raw={"status": "queued", "estimated_cost_credits": 75}).cost == 75
    assert Job(client, "b", raw={"status": "queued", "credits": "12.5"}).cost == 12.5


# ---- against the emulator ----------------------------------------------------------------


def test_pending_mime_types_and_late_visibility_are_tolerated(
    fresh_emulator: Any, fresh_client: Client
) -> None:
    fresh_emulator.set_knobs(pending_status=True, mime_media_type=True, not_found_window=1.0)
    job = fresh_client.generate_media("nano-banana-2", "variants", aspect_ratio="1:1")
    assert job.status == "pending" and not job.done
    job.refresh()  # a 404 right after our own submit: not visible yet, not an error
    assert not job.done
    job.wait(progress=False)
    assert job.ok and job.outputs[0].media_type == "image"
    assert fresh_emulator.stats()["statuses"].get("404", 0) >= 1


def test_completed_with_null_urls_keeps_polling(fresh_emulator: Any, fresh_client: Client) -> None:
    fresh_emulator.set_knobs(cdn_delay=60)
    job = fresh_client.generate_media("nano-banana-2", "cdn", aspect_ratio="1:1")
    seen: list[str] = []
    job.on_change(lambda j: seen.append(j.status))
    fresh_emulator.advance(5)  # the job is done on the server, its CDN copy is not
    job.refresh()
    assert job.raw["status"] == "completed" and job.raw["outputs"][0]["url"] is None
    assert not job.done and job.status == "processing"
    assert 0 < job.next_delay() <= 5
    fresh_emulator.advance(60)
    job.refresh()
    assert job.ok and job.outputs[0].url
    assert seen == ["processing", "completed"]


def test_a_failed_job_returns_from_wait_and_raises_on_request(
    fresh_emulator: Any, fresh_client: Client
) -> None:
    fresh_emulator.set_knobs(job_failure_rate=1.0)
    job = fresh_client.generate_media("nano-banana-2", "flagged", aspect_ratio="1:1").wait(
        progress=False
    )
    assert job.done and job.failed and job.error and not job.outputs
    with pytest.raises(errors.JobFailedError) as info:
        job.raise_for_status()
    assert job.id in str(info.value)
    row = next(r for r in fresh_client.ledger.jobs() if r["job_id"] == job.id)
    assert row["status"] == "failed"


def test_wait_timeout_and_custom_schedule(fresh_client: Client) -> None:
    job = fresh_client.generate_media("veo3-1-fast-text-to-video", "slow one", aspect_ratio="16:9")
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="still"):
        job.wait(timeout=0.2, progress=False)
    assert time.monotonic() - t0 < 1.0
    t0 = time.monotonic()
    job.wait(schedule=(0.1,), progress=False)  # a caller may pass its own schedule
    assert job.ok and time.monotonic() - t0 < 5.0


def test_polling_follows_the_servers_retry_after(fresh_emulator: Any, fresh_client: Client) -> None:
    job = fresh_client.generate_media("veo3-1-fast-text-to-video", "paced", aspect_ratio="16:9")
    job.wait(progress=False)
    polls = fresh_emulator.stats()["requests"]["GET /v1/generate/media/<gen_id>"]
    assert job.ok and 1 <= polls <= 4  # paced by Retry-After: no busy loop, no 5 s steps after it


def test_watch_updates_in_the_background(fresh_client: Client) -> None:
    job = fresh_client.generate_media("nano-banana-2", "watched", aspect_ratio="1:1")
    changes: list[str] = []
    job.on_change(lambda j: changes.append(j.status))
    thread = job.watch()
    assert job.watch() is thread  # one watcher per job
    thread.join(30)
    assert job.ok and changes[-1] == "completed"


def test_wait_with_progress_outside_a_kernel(
    fresh_client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    job = fresh_client.generate_dialogue("Progress please.")
    assert job.wait().ok


def test_ledger_and_cache_follow_the_job(fresh_client: Client) -> None:
    job = fresh_client.generate_media("nano-banana-2", "cached", aspect_ratio="1:1")
    row = next(r for r in fresh_client.ledger.jobs() if r["job_id"] == job.id)
    assert row["status"] in ("queued", "pending")  # written before the user got the job
    job.wait(progress=False)
    local = Path(job.outputs[0].local_path or "")
    assert local.is_file() and local.read_bytes()[:4] == b"\x89PNG"
    assert str(local).startswith(str(fresh_client.home))


# ---- ids are data, keys never shown ------------------------------------------------------------


@pytest.mark.parametrize(
    "job_id", ["../../v1/balance", "../../../v1/balance", "..", "a/b?x=1#frag", "id with spaces"]
)
def test_a_job_id_cannot_reach_another_route(
    fresh_client: Client, fresh_emulator: Any, job_id: str
) -> None:
    with pytest.raises(errors.NotFoundError):
        fresh_client.job(job_id)
    routes = fresh_emulator.stats()["requests"]
    assert "GET /v1/balance" not in routes, routes
    assert all(r.startswith("GET /v1/generate/media") or "balance" not in r for r in routes), routes
    assert Job(fresh_client, job_id).status_path.count("/") == 4  # one segment for the id


def test_a_key_echoed_in_an_error_message_is_scrubbed(
    fresh_client: Client, fresh_emulator: Any
) -> None:
    from kubeez_nb import render as media

    key = fresh_emulator.api_key
    live_shaped = "sk_live_" + "Z9" * 12
    job = Job(
        fresh_client,
        "gen-1",
        raw={"status": "failed", "error_message": f"bad request from {key} (also {live_shaped})"},
    )
    assert job.failed and "bad request from" in job.error
    shown = [repr(job), job.error, str(job.raw), *media.job_bundle(job).values()]
    for text in shown:
        assert key not in text and live_shaped not in text, text
    with pytest.raises(errors.JobFailedError) as info:
        job.raise_for_status()
    assert key not in str(info.value)
