"""The emulator over real HTTP: every route's success and documented errors, auth, billing, limits."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests


def hdr(emu: Any, bearer: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_key}"} if bearer else {"X-API-Key": emu.api_key}


def wait_done(emu: Any, path: str, timeout: float = 20.0) -> dict[str, Any]:
    """Poll a status route, pacing by the emulator's precise hint (Retry-After-Ms), until a terminal status."""
    deadline = time.monotonic() + timeout
    while True:
        r = requests.get(emu.url + path, headers=hdr(emu), timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        if body["status"] in {"completed", "failed"} and body.get("cdn_ready", True):
            return body
        assert r.headers["Retry-After"].isdigit() and int(r.headers["Retry-After"]) >= 1
        assert time.monotonic() < deadline, body
        time.sleep(min(int(r.headers["Retry-After-Ms"]) / 1000, 1.0))


def test_health_and_public_discovery(emulator: Any) -> None:
    assert requests.get(emulator.url + "/health").json() == {"status": "healthy"}
    cat = requests.get(emulator.url + "/docs/models.json").json()
    assert cat["total_count"] == len(cat["models"]) > 100
    assert requests.get(emulator.url + "/llms.txt").text.startswith("# Kubeez REST API")


def test_image_generation_end_to_end(emulator: Any) -> None:
    r = requests.post(
        emulator.url + "/v1/generate/media",
        headers=hdr(emulator),
        json={"model": "nano-banana-2", "prompt": "a red fox in snow", "aspect_ratio": "16:9"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "queued"
    body = wait_done(emulator, "/v1/generate/media/" + r.json()["generation_id"])
    assert body["status"] == "completed"
    out = body["outputs"][0]
    assert out["media_type"] == "image" and (out["width"], out["height"]) == (1024, 576)
    png = requests.get(out["url"])
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("body", "size"),
    [
        ({"model": "gpt-image-2", "aspect_ratio": "16:9", "resolution": "2K"}, (2048, 1152)),
        ({"model": "nano-banana-2-2K", "aspect_ratio": "9:16"}, (1152, 2048)),  # the id fixes 2K
        ({"model": "z-image", "aspect_ratio": "4:3"}, (1024, 768)),
        ({"model": "z-image"}, (1024, 1024)),
    ],
)
def test_png_size_follows_aspect_ratio_and_resolution(
    fresh_emulator: Any, body: dict[str, Any], size: tuple[int, int]
) -> None:
    import io

    from PIL import Image

    emu = fresh_emulator
    gid = post(emu, "/v1/generate/media", {**body, "prompt": "a lighthouse"}).json()[
        "generation_id"
    ]
    emu.advance(120)
    out = get(emu, "/v1/generate/media/" + gid).json()["outputs"][0]
    img = Image.open(io.BytesIO(requests.get(out["url"]).content))
    assert img.format == "PNG" and img.size == size == (out["width"], out["height"])


def test_missing_key_is_401_and_both_headers_work(emulator: Any) -> None:
    assert requests.get(emulator.url + "/v1/balance").status_code == 401
    assert (
        requests.get(
            emulator.url + "/v1/balance", headers={"X-API-Key": "sk_live_wrong"}
        ).status_code
        == 401
    )
    for bearer in (False, True):
        r = requests.get(emulator.url + "/v1/balance", headers=hdr(emulator, bearer))
        assert r.status_code == 200 and "credits" in r.json()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"model": "nano-banana-2", "prompt": "x", "aspect_ratio": "7:3"},
            400,
            "unsupported_aspect",
        ),
        ({"prompt": "x"}, 400, "missing_model"),
        ({"model": "no-such-model", "prompt": "x"}, 404, "model_not_found"),
    ],
)
def test_media_validation_errors(
    emulator: Any, body: dict[str, Any], status: int, code: str
) -> None:
    r = requests.post(emulator.url + "/v1/generate/media", headers=hdr(emulator), json=body)
    assert r.status_code == status
    assert r.json()["error"] == code


def post(emu: Any, path: str, body: dict[str, Any], key: str | None = None) -> requests.Response:
    return requests.post(
        emu.url + path, headers={"X-API-Key": key or emu.api_key}, json=body, timeout=30
    )


def get(emu: Any, path: str, key: str | None = None, **params: Any) -> requests.Response:
    return requests.get(
        emu.url + path, headers={"X-API-Key": key or emu.api_key}, params=params, timeout=30
    )


def balance(emu: Any, key: str | None = None) -> float:
    return float(get(emu, "/v1/balance", key).json()["credits"])


# ---- discovery ---------------------------------------------------------------------------------
def test_model_json_by_id_and_family_prefix(emulator: Any) -> None:
    one = requests.get(emulator.url + "/docs/models/nano-banana-2.json").json()
    assert one["model_id"] == "nano-banana-2"
    dotted = requests.get(emulator.url + "/docs/models/gpt-1.5-image-high.json").json()
    assert dotted["model_id"] == "gpt-1.5-image-high"
    fam = requests.get(emulator.url + "/docs/models/seedance-2.json").json()
    assert fam["total_count"] == len(fam["models"]) >= 4
    assert all(m["model_id"].startswith("seedance-2") for m in fam["models"])
    r = requests.get(emulator.url + "/docs/models/not-a-model.json")
    assert r.status_code == 404 and r.json()["error"] == "model_not_found"


def test_openapi_is_generated_from_the_route_table(emulator: Any) -> None:
    doc = requests.get(emulator.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    for path in (
        "/v1/generate/media",
        "/v1/generate/media/{gen_id}",
        "/v1/upload/media",
        "/v1/assets/{asset_id}",
        "/v1/generations",
        "/v1/balance",
        "/health",
    ):
        assert path in paths
    assert not any(p.startswith("/_emulator") for p in paths)
    op = paths["/v1/generate/media"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MediaRequest"
    )
    assert {"400", "401", "402", "403", "429"} <= set(op["responses"])
    assert op["x-required-scope"] == "generate:media"


def test_cors_is_permissive(emulator: Any) -> None:
    pre = requests.options(
        emulator.url + "/v1/generate/media",
        headers={"Origin": "https://x.example", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-API-Key" in pre.headers["Access-Control-Allow-Headers"]
    assert requests.get(emulator.url + "/health").headers["Access-Control-Allow-Origin"] == "*"


def test_v1_models_needs_a_key_and_filters_by_type(emulator: Any) -> None:
    assert requests.get(emulator.url + "/v1/models").status_code == 401
    body = get(emulator, "/v1/models", model_type="music").json()
    assert body["total_count"] == len(body["models"]) > 0
    assert {m["model_type"] for m in body["models"]} == {"music"}


# ---- auth, scopes, credits, rate limits --------------------------------------------------------
def test_missing_scope_is_403_naming_the_scope(emulator: Any) -> None:
    key = emulator.add_key(scopes=["read:balance"])
    r = post(emulator, "/v1/generate/media", {"model": "nano-banana-2", "prompt": "x"}, key)
    assert r.status_code == 403
    assert r.json()["error"] == "missing_scope" and r.json()["scope"] == "generate:media"
    assert "generate:media" in r.json()["message"]
    assert get(emulator, "/v1/balance", key).status_code == 200
    r = get(emulator, "/v1/generations", key)
    assert r.status_code == 403 and r.json()["scope"] == "read:generations"


def test_insufficient_credits_is_402_and_nothing_is_charged(emulator: Any) -> None:
    key = emulator.add_key(credits=5)
    r = post(emulator, "/v1/generate/media", {"model": "nano-banana-2", "prompt": "x"}, key)
    assert r.status_code == 402 and r.json()["error"] == "insufficient_credits"
    assert balance(emulator, key) == 5


def test_rate_limit_429_with_retry_after_and_headers(emulator: Any) -> None:
    key = emulator.add_key(rate_limits={"media": 2})
    codes = []
    for _ in range(3):
        r = post(emulator, "/v1/generate/media", {"model": "z-image", "prompt": "x"}, key)
        codes.append(r.status_code)
    assert codes == [200, 200, 429]
    assert r.json()["error"] == "rate_limit_exceeded"
    assert (
        int(r.headers["Retry-After"]) >= 1 and r.json()["retry_after"] > 0
    )  # RFC 9110: whole seconds
    assert int(r.headers["Retry-After"]) == -(
        -int(r.headers["Retry-After-Ms"]) // 1000
    )  # rounded up
    assert r.headers["X-RateLimit-Limit"] == "2" and r.headers["X-RateLimit-Remaining"] == "0"
    assert float(r.headers["X-RateLimit-Window"]) == 60
    ok = get(emulator, "/v1/balance", key)  # reads are another group
    assert ok.status_code == 200 and ok.headers["X-RateLimit-Limit"] == "120"


# ---- generation kinds --------------------------------------------------------------------------
def test_per_second_video_is_billed_on_output_seconds_and_decodes(emulator: Any) -> None:
    import av

    before = balance(emulator)
    r = post(
        emulator,
        "/v1/generate/media",
        {
            "model": "kling-3-0-pro",
            "prompt": "a kite over dunes",
            "aspect_ratio": "9:16",
            "duration": "4s",
            "sound": False,
        },
    )
    assert r.status_code == 200, r.text
    body = wait_done(emulator, "/v1/generate/media/" + r.json()["generation_id"])
    out = body["outputs"][0]
    assert out["media_type"] == "video" and out["width"] < out["height"]
    assert body["credits_deducted"] == 21 * 4  # 21 credits/s, no sound surcharge
    assert balance(emulator) == before - 84
    data = requests.get(out["url"]).content
    import io

    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert abs(float(c.duration) / 1e6 - 4.0) < 0.6
        assert (stream.codec_context.width, stream.codec_context.height) == (
            out["width"],
            out["height"],
        )
    assert requests.get(out["thumbnail_url"]).headers["Content-Type"] == "image/png"


def _veo(emu: Any, key: str | None = None, **extra: Any) -> dict[str, Any]:
    r = post(
        emu,
        "/v1/generate/media",
        {"model": "veo3-1-fast-text-to-video", "prompt": "waves", "aspect_ratio": "16:9", **extra},
        key,
    )
    assert r.status_code == 200, r.text
    return wait_done(emu, "/v1/generate/media/" + r.json()["generation_id"])


def test_extend_rules_and_prices(emulator: Any) -> None:
    src = _veo(emulator)
    assert src["source_task_id"]
    before = balance(emulator)
    r = post(
        emulator,
        "/v1/generate/media/extend",
        {"source_task_id": src["source_task_id"], "prompt": "keep going", "extend_model": "lite"},
    )
    assert r.status_code == 200, r.text
    acc = r.json()
    assert acc["source_task_id"] == src["source_task_id"] and acc["estimated_cost_credits"] == 45
    assert balance(emulator) == before - 45
    ext = wait_done(emulator, "/v1/generate/media/" + acc["generation_id"])
    assert ext["outputs"][0]["duration"] > src["outputs"][0]["duration"]
    # an extend cannot be extended
    r = post(
        emulator,
        "/v1/generate/media/extend",
        {"source_task_id": ext["source_task_id"], "prompt": "more"},
    )
    assert r.status_code == 400 and "itself an extend" in r.json()["message"]
    # only Veo 3.1 sources
    img = post(emulator, "/v1/generate/media", {"model": "z-image", "prompt": "x"}).json()[
        "generation_id"
    ]
    wait_done(emulator, "/v1/generate/media/" + img)
    r = post(emulator, "/v1/generate/media/extend", {"source_task_id": img, "prompt": "more"})
    assert r.status_code == 400 and r.json()["field"] == "source_task_id"
    # someone else's clip is not found
    other = emulator.add_key()
    r = post(
        emulator,
        "/v1/generate/media/extend",
        {"source_task_id": src["source_task_id"], "prompt": "x"},
        other,
    )
    assert r.status_code == 404
    # bad extend_model and missing fields
    r = post(
        emulator,
        "/v1/generate/media/extend",
        {"source_task_id": src["source_task_id"], "prompt": "x", "extend_model": "turbo"},
    )
    assert r.status_code == 400
    r = post(emulator, "/v1/generate/media/extend", {"prompt": "x"})
    assert r.status_code == 400 and r.json()["error"] == "missing_source_task_id"


def test_1080p_veo_clip_cannot_be_extended() -> None:
    """Today's catalog fixes Veo's resolution; a catalog offering 1080p gets the rule enforced."""
    import json
    from pathlib import Path

    from kubeez_nb import Emulator

    rows = json.loads(
        (Path(__file__).parents[1] / "kubeez_nb/emulator/data/models.json").read_text()
    )["models"]
    for row in rows:
        if row["model_id"] == "veo3-1-fast-text-to-video":
            row["capabilities"]["resolution_options"] = ["720p", "1080p"]
    with Emulator(speed=200, catalog={"models": rows}) as emu:
        src = _veo(emu, resolution="1080p")
        assert src["outputs"][0]["height"] == 1080
        r = post(
            emu,
            "/v1/generate/media/extend",
            {"source_task_id": src["source_task_id"], "prompt": "x"},
        )
        assert r.status_code == 400 and "1080p" in r.json()["message"]


def test_music_two_songs(emulator: Any) -> None:
    r = post(
        emulator,
        "/v1/generate/music",
        {"model": "V5", "prompt": "lo-fi beat with warm vinyl crackle"},
    )
    assert r.status_code == 200, r.text
    body = wait_done(emulator, "/v1/generate/music/" + r.json()["generation_id"])
    assert len(body["songs"]) == 2
    for song in body["songs"]:
        assert song["title"] and song["duration"] > 0
        assert requests.get(song["audio_url"]).status_code == 200
        assert requests.get(song["cover_image_url"]).headers["Content-Type"] == "image/png"
    # music is polled on its own route only
    assert get(emulator, "/v1/generate/media/" + body["id"]).status_code == 404


def test_dialogue_then_captions_give_the_spoken_words(emulator: Any) -> None:
    r = post(emulator, "/v1/generate/dialogue", {"text": "Bob is not a voice", "voice": "Bob"})
    assert r.status_code == 400 and r.json()["field"] == "voice"
    text = "Welcome to Kubeez. Let me show you around."
    r = post(
        emulator,
        "/v1/generate/dialogue",
        {"text": text, "voice": "Rachel", "stability": 0.5, "language_code": "en"},
    )
    assert r.status_code == 200, r.text
    body = wait_done(emulator, "/v1/generate/media/" + r.json()["generation_id"])
    audio = body["outputs"][0]
    assert audio["media_type"] == "audio" and audio["duration"] > 1
    before = balance(emulator)
    cap = post(emulator, "/v1/generate/captions", {"media_url": audio["url"], "quality": "auto"})
    assert cap.status_code == 200, cap.text
    words = cap.json()["words"]
    assert [w["text"].strip(".,") for w in words] == [w.strip(".,") for w in text.split()]
    assert all(0 <= w["start"] < w["end"] for w in words)
    assert words[-1]["end"] <= audio["duration"] * 1000 + 1
    assert balance(emulator) == pytest.approx(before - cap.json()["credits_deducted"])
    assert cap.json()["credits_deducted"] == pytest.approx(0.7 * audio["duration"], abs=0.01)


def test_captions_errors(emulator: Any) -> None:
    r = post(emulator, "/v1/generate/captions", {"quality": "auto"})
    assert r.status_code == 400 and r.json()["error"] == "missing_media_url"
    r = post(emulator, "/v1/generate/captions", {"media_url": "http://127.0.0.1:9/nothing.mp4"})
    assert (
        r.status_code == 400 and r.json()["error"] == "url_not_allowed"
    )  # no server-side fetch of loopback


def test_separation_two_stems_billed_per_started_minute(emulator: Any) -> None:
    music = wait_done(
        emulator,
        "/v1/generate/music/"
        + post(emulator, "/v1/generate/music", {"model": "V4", "prompt": "rock"}).json()[
            "generation_id"
        ],
    )
    before = balance(emulator)
    r = post(emulator, "/v1/generate/separation", {"media_url": music["songs"][0]["audio_url"]})
    assert r.status_code == 200, r.text
    assert r.json()["estimated_cost_credits"] == 6  # a 30 s song: one started minute
    assert balance(emulator) == before - 6
    body = wait_done(emulator, "/v1/generate/separation/" + r.json()["separation_id"])
    for key in ("vocals_url", "instrumental_url"):
        assert requests.get(body[key]).status_code == 200
    assert get(emulator, "/v1/generate/separation/nope").status_code == 404


def test_ad_copy_variants_poll_as_media(emulator: Any) -> None:
    before = balance(emulator)
    r = post(
        emulator,
        "/v1/generate/ad-copy",
        {
            "reference_ad_url": "https://cdn.example.com/ad.png",
            "product_text": "Acme headphones",
            "variant_count": 3,
            "aspect_ratio": "4:5",
        },
    )
    assert r.status_code == 200, r.text
    ids = r.json()["generation_ids"]
    assert r.json()["project_id"] and len(ids) == 3
    assert balance(emulator) == before - 150
    for gid in ids:
        out = wait_done(emulator, "/v1/generate/media/" + gid)["outputs"][0]
        assert out["media_type"] == "image" and out["width"] < out["height"]
    r = post(emulator, "/v1/generate/ad-copy", {"product_text": "x"})
    assert r.status_code == 400 and r.json()["error"] == "missing_reference_ad_url"


# ---- uploads, assets, signed links ------------------------------------------------------------
def _upload(emu: Any, data: bytes, name: str, key: str | None = None) -> requests.Response:
    return requests.post(
        emu.url + "/v1/upload/media",
        headers={"X-API-Key": key or emu.api_key},
        files={"file": (name, data)},
        timeout=30,
    )


def test_upload_returns_signed_urls_usable_as_sources(emulator: Any) -> None:
    r = _upload(emulator, b"\x89PNG\r\n\x1a\nnot-really", "photo.png")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["uploaded"] == 1 and len(body["urls"]) == 1
    assert requests.get(body["urls"][0]).content == b"\x89PNG\r\n\x1a\nnot-really"
    gen = post(
        emulator,
        "/v1/generate/media",
        {
            "model": "nano-banana-2",
            "prompt": "sunset",
            "aspect_ratio": "1:1",
            "source_media_urls": body["urls"],
            "generation_type": "image-to-image",
        },
    )
    assert gen.status_code == 200, gen.text
    r = requests.post(emulator.url + "/v1/upload/media", headers=hdr(emulator), data={"other": "x"})
    assert r.status_code == 400


def test_upload_cap_is_413(fresh_emulator: Any) -> None:
    fresh_emulator.set_knobs(max_upload_bytes=1000)
    assert _upload(fresh_emulator, b"x" * 1000, "ok.bin").status_code == 200
    r = _upload(fresh_emulator, b"x" * 1001, "big.bin")
    assert r.status_code == 413 and r.json()["error"] == "file_too_large"
    r = _upload(fresh_emulator, b"x" * 200_000, "huge.bin")  # refused on Content-Length alone
    assert r.status_code == 413


def test_signed_links_expire_and_fresh_polls_re_sign(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    gid = post(emu, "/v1/generate/media", {"model": "z-image", "prompt": "x"}).json()[
        "generation_id"
    ]
    emu.advance(60)
    body = get(emu, "/v1/generate/media/" + gid).json()
    url = body["outputs"][0]["url"]
    assert body["outputs"][0]["url_expires_at"]
    assert requests.get(url).status_code == 200
    emu.advance(3601)
    r = requests.get(url)
    assert r.status_code == 403 and r.json()["error"] == "url_expired"
    fresh = get(emu, "/v1/generate/media/" + gid).json()["outputs"][0]["url"]
    assert fresh != url and requests.get(fresh).status_code == 200
    assert requests.get(url.replace("sig=", "sig=0")).status_code == 403
    assert requests.get(url.split("?")[0]).status_code == 403


def test_assets_lifecycle_and_errors(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    up = _upload(emu, b"logo-bytes" * 100, "logo.png").json()["urls"][0]
    r = post(emu, "/v1/assets", {"name": "acme-logo", "url": up})
    assert r.status_code == 201, r.text
    asset = r.json()["asset"]
    assert asset["name"] == "acme-logo" and asset["kind"] == "image" and asset["size_bytes"] == 1000
    assert requests.get(asset["url"]).content == b"logo-bytes" * 100
    listing = get(emu, "/v1/assets").json()
    assert (
        listing["count"] == 1
        and listing["used_bytes"] == 1000
        and listing["quota_bytes"] == 50 * 1024 * 1024
    )
    assert post(emu, "/v1/assets", {"name": "acme-logo", "url": up}).json()["error"] == "name_taken"
    assert post(emu, "/v1/assets", {"name": "acme-logo", "url": up}).status_code == 409
    for bad in ("Acme", "a b", "x" * 65, "ünï"):
        r = post(emu, "/v1/assets", {"name": bad, "url": up})
        assert r.status_code == 400 and r.json()["field"] == "name", bad
    emu.set_knobs(allow_private_fetch=True)  # else a loopback URL is refused before any fetch
    r = post(emu, "/v1/assets", {"name": "gone", "url": "http://127.0.0.1:9/logo.png"})
    assert r.status_code == 502 and r.json()["error"] == "fetch_failed"
    emu.set_knobs(asset_quota_bytes=1500)
    r = post(emu, "/v1/assets", {"name": "second", "url": up})
    assert r.status_code == 413 and r.json()["error"] == "quota_exceeded"
    h = hdr(emu)
    r = requests.patch(
        emu.url + f"/v1/assets/{asset['id']}", headers=h, json={"name": "acme-logo-v2"}
    )
    assert r.status_code == 200 and r.json()["asset"]["name"] == "acme-logo-v2"
    r = requests.patch(emu.url + f"/v1/assets/{asset['id']}", headers=h, json={"name": "BAD NAME"})
    assert r.status_code == 400
    assert (
        requests.delete(emu.url + f"/v1/assets/{asset['id']}", headers=h).json()["deleted"] is True
    )
    assert requests.delete(emu.url + f"/v1/assets/{asset['id']}", headers=h).status_code == 404
    assert (
        requests.patch(emu.url + "/v1/assets/nope", headers=h, json={"name": "x"}).status_code
        == 404
    )
    assert get(emu, "/v1/assets").json()["count"] == 0


# ---- history -------------------------------------------------------------------------------------
def test_history_filters_and_cursor_pagination(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    emu.seed_history(500)
    ids = [
        post(emu, "/v1/generate/media", {"model": "z-image", "prompt": f"p{i}"}).json()[
            "generation_id"
        ]
        for i in range(3)
    ]
    first = get(emu, "/v1/generations", limit=2).json()
    assert [g["id"] for g in first["generations"]] == ids[::-1][:2]  # newest first
    seen, cursor, pages = [], None, 0
    while True:
        page = get(
            emu, "/v1/generations", limit=100, **({"cursor": cursor} if cursor else {})
        ).json()
        seen += [g["id"] for g in page["generations"]]
        pages += 1
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 503 and pages == 6
    created = [
        g["created_at"] for g in get(emu, "/v1/generations", limit=100).json()["generations"]
    ]
    assert created == sorted(created, reverse=True)
    failed = get(emu, "/v1/generations", status="failed", limit=100).json()["generations"]
    assert failed and all(g["status"] == "failed" and g["error_message"] for g in failed)
    vids = get(emu, "/v1/generations", generation_type="text-to-video", limit=100).json()[
        "generations"
    ]
    assert vids and all(g["generation_type"] == "text-to-video" for g in vids)
    z = get(emu, "/v1/generations", model="z-image", limit=100).json()["generations"]
    assert {g["model"] for g in z} == {"z-image"} and set(ids) <= {g["id"] for g in z}
    assert get(emu, "/v1/generations", limit=0).status_code == 400
    assert get(emu, "/v1/generations", limit=101).status_code == 400
    assert get(emu, "/v1/generations", cursor="garbage!").status_code == 400


def test_seeded_rows_are_realistic(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    emu.seed_history(2000)
    catalog = {
        m["model_id"]: m for m in requests.get(emu.url + "/docs/models.json").json()["models"]
    }
    rows = []
    cursor = None
    for _ in range(5):
        page = get(
            emu, "/v1/generations", limit=100, **({"cursor": cursor} if cursor else {})
        ).json()
        rows += page["generations"]
        cursor = page["next_cursor"]
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    ages = [
        (now - datetime.fromisoformat(r["created_at"].replace("Z", "+00:00"))).days for r in rows
    ]
    assert max(ages) <= 90
    assert len({r["model"] for r in rows}) > 30
    assert {"completed", "failed"} == {r["status"] for r in rows}
    for r in rows:
        m = catalog[r["model"]]
        if m["cost_note"] == "Flat price per generation.":
            assert r["credits_deducted"] == m["cost_per_generation"]
    done = next(
        r for r in rows if r["status"] == "completed" and r["outputs"][0]["media_type"] == "image"
    )
    assert requests.get(done["outputs"][0]["url"]).headers["Content-Type"] == "image/png"
    assert get(emu, "/v1/generate/media/" + done["id"]).json()["id"] == done["id"]


def test_100k_history_first_page_under_200ms(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    t0 = time.perf_counter()
    emu.seed_history(100_000)
    build = time.perf_counter() - t0
    assert build < 10
    get(emu, "/v1/generations")  # warm the connection path
    timings = []
    for params in ({}, {"status": "failed"}, {"model": "nano-banana-2"}):
        t0 = time.perf_counter()
        r = get(emu, "/v1/generations", **params)
        timings.append(time.perf_counter() - t0)
        assert r.status_code == 200 and len(r.json()["generations"]) == 50
    assert max(timings) < 0.2, timings


# ---- fault knobs -----------------------------------------------------------------------------------
def _job(emu: Any, model: str = "z-image", **headers: str) -> requests.Response:
    return requests.post(
        emu.url + "/v1/generate/media",
        headers={"X-API-Key": emu.api_key, **headers},
        json={"model": model, "prompt": "x"},
        timeout=30,
    )


def test_knobs_live_variants() -> None:
    from kubeez_nb import Emulator

    with Emulator(speed=1, pending_status=True, mime_media_type=True) as emu:  # real-time jobs
        _check_live_variants(emu)


def _check_live_variants(emu: Any) -> None:
    r = _job(emu)
    assert r.json()["status"] == "pending"
    gid = r.json()["generation_id"]
    assert get(emu, "/v1/generate/media/" + gid).json()["status"] == "pending"
    emu.advance(60)
    assert get(emu, "/v1/generate/media/" + gid).json()["outputs"][0]["media_type"] == "image/png"
    emu.set_knobs(detail_errors=True, credits_error_status=400)
    r = requests.get(emu.url + "/v1/balance")
    assert r.status_code == 401 and set(r.json()) == {"detail"}
    poor = emu.add_key(credits=1)
    r = post(emu, "/v1/generate/media", {"model": "z-image", "prompt": "x"}, poor)
    assert r.status_code == 400 and "credits" in r.json()["detail"]


def test_knobs_errors_bursts_latency_drops(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    emu.set_knobs(error_rate=1.0)
    assert get(emu, "/v1/balance").status_code == 500
    assert requests.get(emu.url + "/health").status_code == 200  # only /v1 is affected
    emu.set_knobs(error_rate=0.0, burst_429=2)
    codes = [get(emu, "/v1/balance").status_code for _ in range(3)]
    assert codes == [429, 429, 200]
    emu.set_knobs(burst_429=0, latency=0.3)
    t0 = time.perf_counter()
    get(emu, "/v1/balance")
    assert time.perf_counter() - t0 >= 0.3
    emu.set_knobs(latency=0.0, drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        get(emu, "/v1/balance")
    emu.set_knobs(drop_rate=0.0)
    assert get(emu, "/v1/balance").status_code == 200


def test_knobs_job_failure_404_window_and_cdn_delay(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    emu.set_knobs(job_failure_rate=1.0)
    gid = _job(emu).json()["generation_id"]
    emu.advance(60)
    body = get(emu, "/v1/generate/media/" + gid).json()
    assert body["status"] == "failed" and body["error_message"] and body["outputs"] == []
    emu.set_knobs(job_failure_rate=0.0, not_found_window=5.0)
    gid = _job(emu).json()["generation_id"]
    assert get(emu, "/v1/generate/media/" + gid).status_code == 404
    emu.advance(5)
    assert get(emu, "/v1/generate/media/" + gid).status_code == 200
    emu.set_knobs(not_found_window=0.0, cdn_delay=30.0)
    gid = _job(emu).json()["generation_id"]
    emu.advance(5)
    r = get(emu, "/v1/generate/media/" + gid)
    body = r.json()
    assert body["status"] == "completed" and body["cdn_ready"] is False
    assert body["outputs"][0]["url"] is None and float(r.headers["Retry-After"]) > 0
    emu.advance(30)
    assert get(emu, "/v1/generate/media/" + gid).json()["outputs"][0]["url"].startswith("http")


def test_error_after_accept_bills_once_and_stats_show_it(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    emu.set_knobs(error_after_accept_rate=1.0)
    before = balance(emu)
    r = _job(emu, **{"Idempotency-Key": "req-1"})
    assert r.status_code == 500
    stats = emu.stats()
    assert stats["generations_created"] == 1 and stats["charges"] == {"req-1": [4.0]}
    assert balance(emu) == before - 4
    assert get(emu, "/v1/generations").json()["generations"][0]["model"] == "z-image"
    assert stats["requests"]["POST /v1/generate/media"] == 1


def test_rate_limit_scale_shortens_the_window(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    key = emu.add_key(rate_limits={"music": 1})
    emu.set_knobs(rate_limit_scale=20)  # a 3 s window
    body = {"model": "V5", "prompt": "x"}
    assert post(emu, "/v1/generate/music", body, key).status_code == 200
    r = post(emu, "/v1/generate/music", body, key)
    assert r.status_code == 429 and float(r.headers["X-RateLimit-Window"]) == 3
    assert 0 < float(r.headers["Retry-After"]) <= 3
    emu.advance(3.01)
    assert post(emu, "/v1/generate/music", body, key).status_code == 200


def test_poll_retry_after_paces_to_the_next_state_change(fresh_emulator: Any) -> None:
    emu = fresh_emulator  # speed 200: a 25 s Sora storyboard (600 s estimated) lasts 3 s
    gid = post(
        emu, "/v1/generate/media", {"model": "sora-2-pro-storyboard-25s", "prompt": "x"}
    ).json()["generation_id"]
    r = get(emu, "/v1/generate/media/" + gid)
    assert r.json()["status"] in {"queued", "processing"}
    assert 0 < int(r.headers["Retry-After-Ms"]) <= 3000  # the precise hint
    assert r.headers["Retry-After"] == str(
        -(-int(r.headers["Retry-After-Ms"]) // 1000)
    )  # integer, rounded up
    emu.advance(3)
    r = get(emu, "/v1/generate/media/" + gid)
    assert (
        r.json()["status"] == "completed"
        and "Retry-After" not in r.headers
        and "Retry-After-Ms" not in r.headers
    )


# ---- control routes ------------------------------------------------------------------------------
class _ControlSession(requests.Session):
    """A session that sends the emulator's control token, as a script steering it would."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.headers["X-Emulator-Token"] = token


def test_control_routes_over_http(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    u = emu.url + "/_emulator"
    ctl = _ControlSession(emu.control_token)
    r = ctl.post(
        u + "/keys", json={"key": "sk_test_ctl", "scopes": ["read:balance"], "credits": 42}
    )
    assert r.status_code == 201
    assert balance(emu, "sk_test_ctl") == 42
    assert (
        post(
            emu, "/v1/generate/media", {"model": "z-image", "prompt": "x"}, "sk_test_ctl"
        ).status_code
        == 403
    )
    assert ctl.post(u + "/keys", json={"scopes": ["fly:away"]}).status_code == 400
    assert (
        ctl.post(u + "/knobs", json={"pending_status": True}).json()["knobs"]["pending_status"]
        is True
    )
    assert ctl.post(u + "/knobs", json={"no_such_knob": 1}).status_code == 400
    gid = _job(emu).json()["generation_id"]
    assert ctl.post(u + "/clock", json={"advance": 60}).json()["offset"] == 60
    assert get(emu, "/v1/generate/media/" + gid).json()["status"] == "completed"
    assert ctl.post(u + "/seed-history", json={"n": 250}).json()["total"] == 250
    stats = ctl.get(u + "/stats").json()
    assert stats["generations_created"] == 1 and stats["credits_charged"] == 4
    assert ctl.post(u + "/reset").json() == {"reset": True}
    assert get(emu, "/v1/generations").json()["generations"] == []
    assert balance(emu) == 10_000


# ---- the guide's curl workflows, run verbatim (host and key changed) ------------------------------
def _guide_commands(section: str) -> list[str]:
    """The shell commands of one "### X." workflow of the shipped guide, continuation lines joined."""
    from pathlib import Path

    import kubeez_nb.emulator as pkg

    text = (Path(pkg.__file__).with_name("data") / "llms.txt").read_text()
    block = text.split(f"### {section}.", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands, current = [], ""
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        current += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.append(current)
            current = ""
    return commands


def _run(emu: Any, command: str, cwd: Any = None, **placeholders: str) -> str:
    import subprocess

    command = command.replace("https://api.kubeez.com", emu.url).replace("sk_live_...", emu.api_key)
    for old, new in placeholders.items():
        command = command.replace(old, new)
    out = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=60, cwd=cwd, check=True
    )
    return out.stdout


def test_curl_workflow_a_pick_generate_poll(fresh_emulator: Any) -> None:
    import json

    emu = fresh_emulator
    find, start, poll = _guide_commands("A")
    ids = [json.loads(line) for line in _run(emu, find).split()]
    assert "nano-banana-2" in ids or len(ids) == 10
    accepted = json.loads(_run(emu, start))
    assert accepted["status"] == "queued" and accepted["generation_id"]
    emu.advance(60)
    done = json.loads(_run(emu, poll, **{"abc-123-uuid": accepted["generation_id"]}))
    assert done["status"] == "completed" and done["id"] == accepted["generation_id"]
    assert (
        done["outputs"][0]["url"].startswith("http") and done["outputs"][0]["media_type"] == "image"
    )


def test_curl_workflow_b_upload_then_reference(fresh_emulator: Any, tmp_path: Any) -> None:
    import json

    from PIL import Image

    emu = fresh_emulator
    Image.new("RGB", (64, 48), "teal").save(tmp_path / "photo.jpg")
    upload, generate = _guide_commands("B")
    up = json.loads(_run(emu, upload, cwd=tmp_path))
    assert up["success"] is True and up["uploaded"] == 1 and "/photo.jpg?" in up["urls"][0]
    accepted = json.loads(_run(emu, generate, **{"https://storage.../photo.jpg": up["urls"][0]}))
    assert accepted["status"] == "queued"
    emu.advance(60)
    row = get(emu, "/v1/generate/media/" + accepted["generation_id"]).json()
    assert row["generation_type"] == "image-to-image" and row["status"] == "completed"


def test_curl_workflow_c_save_and_reuse_an_asset(fresh_emulator: Any) -> None:
    import json

    emu = fresh_emulator
    save, reuse = _guide_commands("C")
    saved = json.loads(_run(emu, save))
    assert saved["asset"]["name"] == "acme-logo" and saved["asset"]["url"].startswith(emu.url)
    url = json.loads(_run(emu, reuse))
    assert requests.get(url).headers["Content-Type"].startswith("image/")


def test_curl_workflow_d_dialogue(fresh_emulator: Any) -> None:
    import json

    emu = fresh_emulator
    (speak,) = _guide_commands("D")
    accepted = json.loads(_run(emu, speak))
    emu.advance(60)
    row = get(emu, "/v1/generate/media/" + accepted["generation_id"]).json()
    assert row["status"] == "completed" and row["outputs"][0]["media_type"] == "audio"


def test_reset_restores_constructor_knobs_and_balances() -> None:
    from kubeez_nb import Emulator

    with Emulator(speed=200, credits=100, pending_status=True) as emu:
        post(emu, "/v1/generate/media", {"model": "z-image", "prompt": "x"})
        emu.set_knobs(pending_status=False, mime_media_type=True)
        emu.reset()
        assert balance(emu) == 100
        r = post(emu, "/v1/generate/media", {"model": "z-image", "prompt": "x"})
        assert r.json()["status"] == "pending"
        assert emu.stats()["knobs"]["mime_media_type"] is False
