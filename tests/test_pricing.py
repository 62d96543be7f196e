"""Cost estimates: every cost_note shape of the shared catalog, with the numbers a user would pay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kubeez_nb
from kubeez_nb.contract.catalog import Catalog, Model
from kubeez_nb.contract.pricing import Estimate, default_seconds, estimate, extend_prices

DATA = Path(kubeez_nb.__file__).parent / "emulator" / "data" / "models.json"
CAT = Catalog.from_json(json.loads(DATA.read_text(encoding="utf-8")))
VID = "https://cdn.example.com/ref.mp4"
AUD = "https://cdn.example.com/voice.mp3"
IMG = "https://cdn.example.com/still.png"


def credits(model_id: str, kind: str = "media", **params: object) -> float:
    return float(estimate(CAT[model_id], kind, params))


def test_every_model_has_an_exact_or_labelled_estimate() -> None:
    for m in CAT.values():
        est = estimate(m, m.endpoint)
        assert est.credits > 0 and est.model_id == m.id
        assert est.billing in {"flat", "per_second", "per_minute", "per_variant"}
        # nothing falls back to "could not read the note" in today's catalog
        assert "could not be read" not in est.breakdown, m.cost_note
        # with nothing specified, each estimate reproduces the catalog's quoted price
        assert est.credits == pytest.approx(
            m.cost_per_generation * (60 if "input media" in m.cost_note else 1)
        ), m.id


def test_flat_models() -> None:
    est = estimate(CAT["nano-banana-2"], "media", {"prompt": "p", "aspect_ratio": "1:1"})
    assert (est.credits, est.billing, est.approximate) == (14.0, "flat", False)
    assert str(est) == "14 credits (flat price per generation: 14)"
    assert credits("V5", "music", prompt="p") == 19
    assert credits("text-to-dialogue-v3", "dialogue", text="hi") == 21
    assert credits("veo3-1-fast-text-to-video", prompt="p") == 99
    assert credits("kling-2-6-text-to-video-5s", prompt="p", duration="10s") == 90  # fixed by id
    assert credits("grok-image-to-video", prompt="p", duration="10s", resolution="720p") == 65


@pytest.mark.parametrize(
    ("resolution", "price"), [(None, 22), ("1K", 22), ("2K", 34), ("4K", 50), ("4k", 50)]
)
def test_flat_by_resolution_tier(resolution: str | None, price: float) -> None:
    est = estimate(CAT["gpt-image-2"], "media", {"resolution": resolution})
    assert est.credits == price and not est.approximate


@pytest.mark.parametrize(
    ("quality", "price"), [(None, 13), ("fast", 7), ("standard", 13), ("ultra", 19)]
)
def test_flat_by_quality_tier(quality: str | None, price: float) -> None:
    assert credits("imagen-4", quality=quality) == price


@pytest.mark.parametrize(
    ("duration", "resolution", "price"),
    [
        ("5s", "720p", 93),
        ("5s", "1080p", 155),
        (10, "720p", 186),
        ("10", "1080p", 310),
        ("10s", None, 310),
        (None, "720p", 93),
    ],
)
def test_flat_by_duration_and_resolution(
    duration: object, resolution: str | None, price: float
) -> None:
    assert credits("wan-2-5", duration=duration, resolution=resolution) == price


def test_per_second_with_sound_surcharge() -> None:
    est = estimate(CAT["kling-3-0-pro"], "media", {"duration": 8, "sound": False})
    assert (est.credits, est.billing, est.approximate) == (168, "per_second", False)
    assert est.breakdown == "21 credits/s × 8 s output = 168"
    assert credits("kling-3-0-pro", duration="8s", sound=True) == (21 + 4) * 8
    assert credits("kling-3-0-std", duration=3, sound=True) == (17 + 4) * 3
    # nothing said: the configuration the catalog price is quoted for, and the estimate says so
    est = estimate(CAT["kling-3-0-std"], "media", {})
    assert (
        est.credits == 105
        and est.approximate
        and "duration 5 s" in str(est)
        and "sound on" in str(est)
    )


def test_per_second_measured_output_wins() -> None:
    # the emulator bills with the measured output length
    est = estimate(CAT["seedance-2-720p"], "media", {"duration": 8}, output_seconds=8)
    assert est.credits == 27 * 8 and not est.approximate
    assert str(est) == "216 credits (27 credits/s × 8 s output = 216)"
    assert credits("seedance-2-fast-480p", duration="12s") == 9 * 12
    assert default_seconds(CAT["seedance-2-720p"]) == 5


def test_per_second_by_quality_tier_and_audio_rule() -> None:
    assert credits("p-video", duration=10) == 4 * 10
    assert credits("p-video", duration=10, quality="1080p") == 8 * 10
    assert credits("p-video", duration="3s", quality="720p-draft") == 1 * 3
    assert credits("p-video", duration=6, quality="1080p-draft") == 2 * 6
    # with an audio input the clip follows the audio
    est = estimate(
        CAT["p-video"], "media", {"quality": "1080p", "source_media_urls": [AUD]}, audio_seconds=7
    )
    assert est.credits == 56 and not est.approximate and "7 s of audio" in est.breakdown
    est = estimate(
        CAT["p-video"], "media", {"quality": "1080p", "source_media_urls": [AUD], "duration": 4}
    )
    assert est.credits == 32 and est.approximate and "audio" in str(est)


def test_reference_video_surcharge() -> None:
    m = CAT["seedance-2-720p-video-ref"]
    est = estimate(m, "media", {"duration": 6, "source_media_urls": [VID]}, ref_seconds=3)
    assert est.credits == (3 + 6) * 16 and not est.approximate
    assert est.breakdown == "(3 s reference + 6 s output) × 16 credits/s = 144"
    # reference length unknown before the job: the quoted 5 s is assumed, and labelled
    est = estimate(m, "media", {"duration": 6, "source_media_urls": [VID]})
    assert est.credits == (5 + 6) * 16 and est.approximate and "reference" in str(est)
    assert str(est).startswith("≈ 176 credits")
    # image references only: no reference video seconds
    assert credits("seedance-2-fast-480p-video-ref", duration=4, source_media_urls=[IMG]) == 4 * 6


def test_separation_per_started_minute() -> None:
    m = CAT.endpoint_model("separation")
    assert estimate(m, "separation", {"media_url": AUD}, media_seconds=60).credits == 6
    assert estimate(m, "separation", {"media_url": AUD}, media_seconds=61).credits == 12
    est = estimate(m, "separation", {"media_url": AUD}, media_seconds=150)
    assert est.credits == 18 and est.billing == "per_minute" and "3 min" in est.breakdown
    est = estimate(m, "separation", {"media_url": AUD})
    assert est.credits == 6 and est.approximate and "one minute" in str(est)


def test_captions_per_second_of_media() -> None:
    m = CAT.endpoint_model("captions")
    est = estimate(m, "captions", {"media_url": VID}, media_seconds=90)
    assert est.credits == pytest.approx(63) and not est.approximate
    assert est.breakdown == "0.7 credits/s × 90 s of media = 63"
    est = estimate(m, "captions", {"media_url": VID})
    assert est.credits == pytest.approx(42) and est.approximate


def test_ad_copy_per_variant() -> None:
    ad = CAT.endpoint_model("ad-copy")
    est = estimate(ad, "ad-copy", {"reference_ad_url": IMG, "variant_count": 4})
    assert (est.credits, est.billing, est.approximate) == (200, "per_variant", False)
    assert est.breakdown == "50 credits × 4 variants = 200"
    assert estimate(ad, "ad-copy", {"reference_ad_url": IMG}).approximate


@pytest.mark.parametrize(
    ("extend_model", "price"), [("lite", 45), ("fast", 75), ("quality", 300), (None, 75)]
)
def test_extend_flat_prices(extend_model: str | None, price: float) -> None:
    veo = CAT["veo3-1-fast-text-to-video"]
    est = estimate(
        veo, "extend", {"source_task_id": "t", "prompt": "p", "extend_model": extend_model}
    )
    assert (est.credits, est.billing, est.approximate) == (price, "extend", False)
    # without the source model, the guide's documented prices
    assert estimate(None, "extend", {"extend_model": extend_model}).credits == price
    assert extend_prices(veo) == {"lite": 45, "fast": 75, "quality": 300}


def test_unknown_note_falls_back_to_catalog_price_marked_approximate() -> None:
    odd = Model.from_dict(
        {"model_id": "holo-1", "cost_per_generation": 33, "cost_note": "Priced by the photon."}
    )
    est = estimate(odd, "media", {"prompt": "p"})
    assert est.credits == 33 and est.approximate and "could not be read" in est.breakdown
    assert (
        estimate(Model.from_dict({"model_id": "x", "cost_per_generation": 4}), "media", {}).credits
        == 4
    )
    # a tier the note does not price (validation reports it): catalog price, labelled
    est = estimate(CAT["wan-2-5"], "media", {"resolution": "4K"})
    assert est.credits == 155 and est.approximate


def test_estimate_behaves_like_a_number() -> None:
    a = estimate(CAT["nano-banana-2"], "media", {})
    b = estimate(CAT["kling-3-0-pro"], "media", {"duration": 4, "sound": False})
    assert float(a) == 14 and int(b) == 84
    assert sum([a, b]) == 98
    assert isinstance(a, Estimate) and "14 credits" in a._repr_html_()
    assert a.to_dict()["billing"] == "flat"


# ---- estimate == charge, against the emulator over HTTP ------------------------------------------


def _wait(emu: object, path: str, headers: dict[str, str]) -> dict:
    import time

    import requests

    deadline = time.monotonic() + 30
    while True:
        r = requests.get(emu.url + path, headers=headers, timeout=10)  # type: ignore[attr-defined]
        row = r.json() if r.status_code == 200 else {}
        if row.get("status") in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
            return row
        time.sleep(float(r.headers.get("Retry-After", "0.1")))


CHARGED = [
    ("media", {"model": "nano-banana-2", "prompt": "a fox", "aspect_ratio": "1:1"}),
    (
        "media",
        {"model": "gpt-image-2", "prompt": "a fox", "resolution": "4K", "aspect_ratio": "16:9"},
    ),
    ("media", {"model": "imagen-4", "prompt": "a fox", "quality": "fast"}),
    ("media", {"model": "kling-3-0-pro", "prompt": "a fox", "duration": "8s", "sound": True}),
    ("media", {"model": "kling-3-0-std", "prompt": "a fox", "duration": "4s", "sound": False}),
    ("media", {"model": "seedance-2-720p", "prompt": "a fox", "duration": "6s"}),
    ("media", {"model": "p-video", "prompt": "a fox", "duration": "3s", "quality": "1080p"}),
    ("media", {"model": "wan-2-5", "prompt": "a fox", "duration": "10s", "resolution": "720p"}),
    ("music", {"model": "V5", "prompt": "lofi beat"}),
    ("extend", {"extend_model": "lite"}),
]


@pytest.mark.parametrize(("kind", "body"), CHARGED, ids=[b.get("model", k) for k, b in CHARGED])
def test_estimate_equals_emulator_charge(emulator: object, kind: str, body: dict) -> None:
    import requests

    url, headers = emulator.url, {"X-API-Key": emulator.api_key}  # type: ignore[attr-defined]

    def balance() -> float:
        return float(
            requests.get(url + "/v1/balance", headers=headers, timeout=10).json()["credits"]
        )

    if kind == "extend":
        src = requests.post(
            url + "/v1/generate/media",
            json={"model": "veo3-1-fast-text-to-video", "prompt": "a fox"},
            headers=headers,
            timeout=10,
        ).json()
        row = _wait(emulator, f"/v1/generate/media/{src['generation_id']}", headers)
        body = {**body, "source_task_id": row["source_task_id"], "prompt": "the fox turns around"}
        model = CAT["veo3-1-fast-text-to-video"]
        path, poll = "/v1/generate/media/extend", "/v1/generate/media/{}"
    else:
        model = CAT[body["model"]]
        path, poll = f"/v1/generate/{kind}", f"/v1/generate/{kind}/{{}}"
    expected = estimate(model, kind, body)
    before = balance()
    r = requests.post(url + path, json=body, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    row = _wait(emulator, poll.format(r.json()["generation_id"]), headers)
    assert row.get("status") == "completed", row
    assert before - balance() == pytest.approx(expected.credits), str(expected)
