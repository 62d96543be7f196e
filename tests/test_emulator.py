"""The emulator over real HTTP: every route's success and documented errors, auth, billing, limits."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests


def hdr(emu: Any, bearer: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_key}"} if bearer else {"X-API-Key": emu.api_key}


def wait_done(emu: Any, path: str, timeout: float = 20.0) -> dict[str, Any]:
    """Poll a status route, pacing by the emulator's own Retry-After, until a terminal status."""
    deadline = time.monotonic() + timeout
    while True:
        r = requests.get(emu.url + path, headers=hdr(emu), timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        if body["status"] in {"completed", "failed"} and body.get("cdn_ready", True):
            return body
        assert "Retry-After" in r.headers
        assert time.monotonic() < deadline, body
        time.sleep(min(float(r.headers["Retry-After"]), 1.0))


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


def test_missing_key_is_401_and_both_headers_work(emulator: Any) -> None:
    assert requests.get(emulator.url + "/v1/balance").status_code == 401
    assert requests.get(emulator.url + "/v1/balance", headers={"X-API-Key": "sk_live_wrong"}).status_code == 401
    for bearer in (False, True):
        r = requests.get(emulator.url + "/v1/balance", headers=hdr(emulator, bearer))
        assert r.status_code == 200 and "credits" in r.json()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "nano-banana-2", "prompt": "x", "aspect_ratio": "7:3"}, 400, "unsupported_aspect"),
        ({"prompt": "x"}, 400, "missing_model"),
        ({"model": "no-such-model", "prompt": "x"}, 404, "model_not_found"),
    ],
)
def test_media_validation_errors(emulator: Any, body: dict[str, Any], status: int, code: str) -> None:
    r = requests.post(emulator.url + "/v1/generate/media", headers=hdr(emulator), json=body)
    assert r.status_code == status
    assert r.json()["error"] == code
