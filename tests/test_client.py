"""The client against the emulator over real HTTP: every route, every job kind, money and pacing."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from kubeez_nb import Client, JobGroup, errors
from kubeez_nb._config import MAX_UPLOAD_BYTES
from kubeez_nb.records import Captions


def test_public_and_account_routes_round_trip(client: Client, tmp_path: Path) -> None:
    assert client.health() == {"status": "healthy"}
    catalog = client.catalog()
    assert "nano-banana-2" in catalog and client.catalog() is catalog  # cached per client
    assert client.model("nano-banana-2").id == "nano-banana-2"
    family = client.family("seedance-2")
    assert len(family) > 2 and all(m.id.startswith("seedance-2") for m in family)
    videos = client.models("video")
    assert len(videos) > 10 and set(videos.types) == {"video"}
    balance = client.balance()
    assert balance.credits > 0 and float(balance) == balance.credits
    assert isinstance(client.generations(), list)
    with pytest.raises(errors.ModelNotFoundError):
        client.model("no-such-model-xyz")


def test_uploads_and_assets_round_trip(client: Client, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2048))
    urls = client.upload(photo)
    assert len(urls) == 1 and urls[0].startswith(client.base_url)
    with open(photo, "rb") as fh:  # an open file works too
        assert len(client.upload(fh, filename="again.png")) == 1
    asset = client.add_asset("brand-logo", urls[0])
    assert asset.name == "brand-logo" and asset.size_bytes == photo.stat().st_size
    with pytest.raises(errors.NameTakenError):
        client.add_asset("brand-logo", urls[0])
    renamed = client.rename_asset(asset.id, "brand-logo-2")
    assert renamed.id == asset.id and renamed.name == "brand-logo-2"
    assert "brand-logo-2" in [a.name for a in client.assets()]
    client.delete_asset(asset.id)
    assert asset.id not in [a.id for a in client.assets()]


def test_upload_cap_is_checked_before_sending(fresh_emulator: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    with open(big, "wb") as fh:  # sparse: no disk space used
        fh.truncate(MAX_UPLOAD_BYTES + 1)
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    with pytest.raises(errors.FileTooLargeError) as info:
        client.upload(big)
    assert "524,288,001" in str(info.value) and "500 MB" in str(info.value)
    assert fresh_emulator.stats()["requests"] == {}


def test_every_job_kind_generates_waits_and_has_outputs(client: Client) -> None:
    image = client.generate_media("nano-banana-2", "a red fox in snow", aspect_ratio="16:9")
    video = client.generate_media("veo3-1-fast-text-to-video", "a waterfall", aspect_ratio="16:9")
    music = client.generate_music("V5", "lofi beat for studying")
    dialogue = client.generate_dialogue(
        "Welcome to Kubeez. Let me show you around.", voice="Rachel"
    )
    ads = client.ad_copy(
        "https://example.com/reference-ad.png", variant_count=2, product_text="Headphones"
    )
    assert isinstance(ads, JobGroup) and len(ads) == 2
    for job in (image, video, music, dialogue):
        assert job.status in ("queued", "pending") and not job.done  # returned at once
    for job in (image, video, music, dialogue):
        job.wait(progress=False)
    ads.wait(progress=False)

    assert image.ok and image.outputs[0].media_type == "image"
    assert (image.outputs[0].width, image.outputs[0].height) == (1024, 576) or image.outputs[
        0
    ].width > image.outputs[0].height
    assert video.ok and video.outputs[0].media_type == "video" and video.outputs[0].duration
    assert video.source_task_id  # Veo 3.1: extendable
    assert music.ok and len(music.outputs) == 2
    assert all(o.media_type == "audio" and o.title for o in music.outputs)
    assert dialogue.ok and dialogue.outputs[0].media_type == "audio"
    assert ads.ok and len(ads.outputs) == 2 and all(o.media_type == "image" for o in ads.outputs)
    assert ads.project_id and all(j.kind == "ad-copy" for j in ads)

    extended = client.extend(video, "the camera pulls back", extend_model="lite")
    stems = client.separate(dialogue.outputs[0].url)
    extended.wait(progress=False)
    stems.wait(progress=False)
    assert extended.ok and extended.kind == "extend" and extended.outputs[0].media_type == "video"
    assert extended.outputs[0].duration > video.outputs[0].duration
    assert stems.ok and [o.label for o in stems.outputs] == ["vocals", "instrumental"]

    captions = client.captions(dialogue.outputs[0].url)
    assert isinstance(captions, Captions)
    assert [w["text"] for w in captions.words][:2] == ["Welcome", "to"]
    assert all(w["end"] >= w["start"] >= 0 for w in captions.words)
    assert captions.words[-1]["end"] > 1000  # milliseconds
    assert "-->" in captions.to_srt() and captions.to_vtt().startswith("WEBVTT")
    frame = captions.to_dataframe()
    assert list(frame.columns[:3]) == ["text", "start_ms", "end_ms"] and len(frame) == len(
        captions.words
    )

    # every job was written to the ledger and its outputs cached while the links were valid
    for job in (image, music, stems):
        assert all(o.local_path and Path(o.local_path).is_file() for o in job.outputs)
    rows = {r["job_id"]: r for r in client.ledger.jobs()}
    assert rows[image.id]["status"] == "completed"


def test_extend_refuses_sources_that_cannot_be_extended(client: Client) -> None:
    image = client.generate_media("nano-banana-2", "not a video", aspect_ratio="1:1")
    before = client.balance().credits
    with pytest.raises(errors.ValidationError) as info:
        client.extend(image, "more", extend_model="turbo")
    fields = info.value.fields
    assert "extend_model" in fields and "source_task_id" in fields
    assert client.balance().credits == before


def test_three_problems_one_validation_error_and_nothing_sent(
    client: Client, emulator: Any
) -> None:
    client.catalog()
    created = emulator.stats()["generations_created"]
    requests = sum(emulator.stats()["requests"].values())
    with pytest.raises(errors.ValidationError) as info:
        client.generate_media(
            "kling-3-0-pro",
            "x" * 2501,
            aspect_ratio="4:3",
            duration="5s",
            source_media_urls=[f"https://example.com/{i}.png" for i in range(3)],
        )
    assert sorted(info.value.fields) == ["aspect_ratio", "prompt", "source_media_urls"]
    text = str(info.value)
    assert "4:3" in text and "2500" in text and "16:9" in text
    assert emulator.stats()["generations_created"] == created
    assert sum(emulator.stats()["requests"].values()) == requests  # not one HTTP request


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("nano-banana-2", {"prompt": "flat", "aspect_ratio": "1:1"}),
        (
            "kling-3-0-pro",
            {"prompt": "per second", "aspect_ratio": "16:9", "duration": "7s", "sound": False},
        ),
        ("seedance-2-480p", {"prompt": "per second", "aspect_ratio": "16:9", "duration": "6s"}),
    ],
)
def test_estimate_equals_the_charge(
    fresh_emulator: Any, tmp_path: Path, model: str, params: dict[str, Any]
) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    est = client.estimate(model, **params)
    before = client.balance().credits
    job = client.generate_media(model, **params).wait(progress=False)
    assert job.ok
    assert before - client.balance().credits == pytest.approx(float(est))
    assert job.cost == pytest.approx(float(est)) and job.estimate == est


def test_extend_estimate_equals_the_charge(fresh_emulator: Any, tmp_path: Path) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    video = client.generate_media("veo3-1-fast-text-to-video", "a clip", aspect_ratio="9:16").wait(
        progress=False
    )
    est = client.estimate("veo3-1-fast-text-to-video", kind="extend", extend_model="quality")
    before = client.balance().credits
    job = client.extend(video.source_task_id, "and then", extend_model="quality").wait(
        progress=False
    )
    assert job.ok and float(est) == 300
    assert before - client.balance().credits == pytest.approx(300)


def test_a_burst_of_40_on_a_30_per_window_key_gets_no_429(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    fresh_emulator.set_knobs(rate_limit_scale=20)  # a 3 s window instead of 60 s
    key = fresh_emulator.add_key(
        "sk_test_burst_key_000000000000", credits=100_000, rate_limits={"media": 30}
    )
    client = Client(api_key=key, base_url=fresh_emulator.url, home=tmp_path)
    client.catalog()
    with ThreadPoolExecutor(8) as pool:
        jobs = list(
            pool.map(
                lambda i: client.generate_media("nano-banana-2", f"burst {i}", aspect_ratio="1:1"),
                range(40),
            )
        )
    stats = fresh_emulator.stats()
    assert len({j.id for j in jobs}) == 40
    assert stats["generations_created"] == 40
    assert "429" not in stats["statuses"]
    assert client._transport.limiter.limits()["media"] == (30, 3.0)  # learnt from the headers


def test_budget_and_confirmation_guard_before_sending(fresh_emulator: Any, tmp_path: Path) -> None:
    client = Client(
        api_key=fresh_emulator.api_key,
        base_url=fresh_emulator.url,
        home=tmp_path,
        budget=30,
        confirm_above=20,
    )
    client.generate_media("nano-banana-2", "one", aspect_ratio="1:1")
    client.generate_media("nano-banana-2", "two", aspect_ratio="1:1")
    with pytest.raises(errors.BudgetExceededError, match="budget"):
        client.generate_media("nano-banana-2", "three", aspect_ratio="1:1")
    with pytest.raises(errors.ConfirmationRequired, match="confirm"):
        client.generate_media("veo3-1-fast-text-to-video", "pricey", aspect_ratio="16:9")
    assert fresh_emulator.stats()["generations_created"] == 2
    client.budget = None
    assert client.generate_media(
        "veo3-1-fast-text-to-video", "pricey", aspect_ratio="16:9", confirm=True
    ).id
    assert client.estimated_spend == pytest.approx(
        14 + 14 + float(client.estimate("veo3-1-fast-text-to-video", aspect_ratio="16:9"))
    )


def test_generations_follow_pagination_and_filters(fresh_emulator: Any, tmp_path: Path) -> None:
    fresh_emulator.seed_history(250)
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    rows = client.generations()
    assert len(rows) == 250 and len({r["id"] for r in rows}) == 250
    assert fresh_emulator.stats()["requests"]["GET /v1/generations"] == 3  # 100 per page
    done = client.generations(status="completed")
    assert done and all(r["status"] == "completed" for r in done)
    assert len(client.generations(max_pages=1)) == 100
    assert len(client.generations(max_pages=1, limit=25)) == 25


def test_generations_fall_back_to_small_pages_when_the_server_refuses_100(tmp_path: Path) -> None:
    """The MCP twin documents limit 1-25: a 400 on limit=100 is retried once at 25."""
    import http.server
    import json
    import threading
    from urllib.parse import parse_qs, urlparse

    seen: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            limit = int(parse_qs(urlparse(self.path).query)["limit"][0])
            seen.append(limit)
            if limit > 25:
                code, body = (
                    400,
                    {"error": "invalid_request", "message": "limit must be between 1 and 25"},
                )
            else:
                code, body = (
                    200,
                    {"generations": [{"id": str(i), "status": "completed"} for i in range(3)]},
                )
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = Client(
            api_key="sk_test_pages",
            base_url=f"http://127.0.0.1:{server.server_port}",
            home=tmp_path,
        )
        assert [r["id"] for r in client.generations()] == ["0", "1", "2"]
        assert seen == [100, 25]
    finally:
        server.shutdown()


def test_reattach_to_a_job_by_id(client: Client) -> None:
    job = client.generate_music("V5", "re-attach me")
    again = client.job(job.id, kind="music")
    assert again.id == job.id and again.model == "V5"
    assert again.wait(progress=False).ok and len(again.outputs) == 2
    with pytest.raises(errors.NotFoundError):
        client.job("00000000-0000-0000-0000-000000000000")


def test_connect_demo_mode_is_announced(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubeez_nb import client as client_module
    from kubeez_nb import connect

    # The demo emulator is process-wide and announced once: another test in this worker may
    # have started it already, so this test starts its own (the old one is back after it).
    monkeypatch.setattr(client_module, "_DEMO", None)
    client = connect(demo=True, home=tmp_path)
    try:
        first = capsys.readouterr().out
        again = connect(demo=True, home=tmp_path)
        assert again.base_url == client.base_url and capsys.readouterr().out == ""
        assert "Kubeez demo mode: local emulator at 127.0.0.1:" in first
        assert "no credits spent" in first
        assert client.balance().credits > 0
    finally:
        client_module._DEMO.stop()


def test_connect_from_env_without_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeez_nb import connect

    monkeypatch.setenv("KUBEEZ_API_KEY", "sk_live_from_env_123456")
    client = connect()
    assert client.base_url == "https://api.kubeez.com" and "key=set" in repr(client)
