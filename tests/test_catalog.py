"""Catalog parsing and request validation against the shared (reconstructed) catalog of ~120 models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kubeez_nb
from kubeez_nb.contract.catalog import Catalog, Model
from kubeez_nb.contract.rules import build_body, extend_problems, normalize, validate
from kubeez_nb.contract.wire import media_kind
from kubeez_nb.errors import Problem, ValidationError

DATA = Path(kubeez_nb.__file__).parent / "emulator" / "data" / "models.json"
PAYLOAD = json.loads(DATA.read_text(encoding="utf-8"))
CAT = Catalog.from_json(PAYLOAD)
MODELS = list(CAT.values())
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

URL_FOR = {
    "image": "https://cdn.example.com/in/photo.png",
    "video": "https://cdn.example.com/in/clip.mp4",
    "audio": "https://cdn.example.com/in/voice.mp3",
}


def default_request(m: Model) -> dict[str, Any]:
    """What a user sends first: a prompt where one is taken, plus the inputs the model requires."""
    kind = m.endpoint
    if kind == "dialogue":
        return {"text": "Welcome to Kubeez.", "voice": CAT.voices[0]}
    if kind == "captions":
        return {"media_url": URL_FOR["video"]}
    if kind == "separation":
        return {"media_url": URL_FOR["audio"]}
    if kind == "ad-copy":
        return {"reference_ad_url": URL_FOR["image"]}
    params: dict[str, Any] = {"prompt": "a red fox in fresh snow, golden hour"}
    if m.needs_input_media:
        kind_in = next(k for k, n in m.media_limits.items() if n > 0)
        params["source_media_urls"] = [URL_FOR[kind_in]]
    return params


# ---- parsing ----------------------------------------------------------------------------------


def test_every_row_parses_in_served_order() -> None:
    rows = PAYLOAD["models"]
    assert list(CAT) == [r["model_id"] for r in rows]
    assert len(CAT) == len(rows) > 100
    for row in rows:
        m = CAT[row["model_id"]]
        assert m.display_name and m.model_type and m.raw == row
        assert m.cost_per_generation == float(row["cost_per_generation"])
    assert Catalog.from_json(rows).keys() == CAT.keys()  # a bare list works too
    assert set(CAT.types) == {"image", "video", "music", "speech", "other", "separation"}


def test_endpoints_come_from_the_data() -> None:
    assert CAT["nano-banana-2"].endpoint == "media"
    assert CAT["kling-3-0-pro"].endpoint == "media"
    assert CAT["V5"].endpoint == "music"
    assert [m.id for m in CAT.for_endpoint("dialogue")] == ["text-to-dialogue-v3"]
    assert [m.id for m in CAT.for_endpoint("separation")] == ["mvsep-40"]
    assert [m.id for m in CAT.for_endpoint("ad-copy")] == ["ad-copy"]
    assert {m.id for m in CAT.for_endpoint("captions")} == {
        "auto-caption",
        "auto-caption-universal-3-pro",
    }
    # the replaced caption id is listed first but its successor is the one the route uses
    assert CAT.endpoint_model("captions").id == "auto-caption-universal-3-pro"
    assert len(CAT.voices) == 26 and "Rachel" in CAT.voices


def test_lookup_suggests_close_ids() -> None:
    with pytest.raises(KeyError, match="did you mean nano-banana-2"):
        CAT["nano-banana2"]
    assert CAT.get("Z-image") is None  # exact lookup: ids are case-sensitive
    assert [m.id for m in CAT.family("seedance-2")] == [
        m for m in CAT if m.startswith("seedance-2-")
    ]
    assert {m.id for m in CAT.family("veo3-1")} == {m.id for m in CAT.extendable}


def test_filter_and_search() -> None:
    videos = CAT.filter(model_type="video")
    assert len(videos) == 80 and all(m.is_video for m in videos.values())
    i2i = CAT.filter(generation_type="image-to-image", search="google")
    assert "nano-banana-2" in i2i and "imagen-4" not in i2i
    assert isinstance(i2i, Catalog)


def test_duration_range_and_presets() -> None:
    assert CAT["kling-3-0-pro"].duration_range == (3, 15)
    assert CAT["p-video"].duration_range == (1, 20)
    assert CAT["seedance-1-5-pro-720p-8s"].duration_range is None  # 4/8/12 presets
    assert CAT["seedance-1-5-pro-720p-8s"].duration_seconds == [4, 8, 12]
    assert CAT["veo3-1-text-to-video"].duration_range is None


def test_unknown_capability_keys_and_types_never_crash() -> None:
    payload = {
        "models": [
            {
                "model_id": "holo-1",
                "model_type": "hologram",
                "cost_per_generation": "12",
                "cost_note": "Priced by the photon.",
                "capabilities": {
                    "prompt_max_chars": "300",
                    "aspect_ratio_options": "1:1",
                    "style_options": ["noir", "pop"],
                    "max_input_meshes": 2,
                    "supports_sound": "sometimes",
                    "hologram_depth": {"min": 1, "max": 9},
                },
                "generation_types": None,
            },
            {"model_id": "bare"},
            "not a row",
        ]
    }
    cat = Catalog.from_json(payload)
    assert list(cat) == ["holo-1", "bare"]
    holo = cat["holo-1"]
    assert holo.capabilities.extra["hologram_depth"] == {"min": 1, "max": 9}
    assert holo.capabilities.prompt_max_chars == 300 and holo.capabilities.supports_sound is None
    assert holo.endpoint == "media" and holo.cost_per_generation == 12.0
    assert cat.types == ["hologram", ""]
    assert (
        validate(holo, "media", {"prompt": "a cube", "style": "noir", "aspect_ratio": "1:1"}) == []
    )
    (p,) = validate(holo, "media", {"prompt": "a cube", "style": "baroque"})
    assert p.field == "style" and p.allowed == ["noir", "pop"] and "noir, pop" in str(p)
    assert validate(cat["bare"], "media", {"prompt": "x"}) == []


def test_media_kind() -> None:
    assert media_kind("https://x.com/a/b.PNG?sig=abc.mp4#frag") == "image"
    assert media_kind("https://x.com/clip.webm") == "video"
    assert media_kind("/files/a.m4a") == "audio"
    assert media_kind("https://x.com/download?id=3") is None
    assert media_kind("https://x.com/download?id=3", "video/mp4") == "video"
    assert media_kind("data:image/png;base64,AAAA") == "image"
    assert media_kind(None) is None and media_kind(42) is None  # type: ignore[arg-type]


# ---- validation: the documented example and each rule -------------------------------------------


@pytest.mark.parametrize("model_id", list(CAT))
def test_every_models_default_request_validates(model_id: str) -> None:
    m = CAT[model_id]
    params = default_request(m)
    assert validate(m, m.endpoint, params) == []
    body = build_body(m, m.endpoint, params)
    assert ("model" in body) == (m.endpoint in ("media", "music"))


def test_three_problems_reported_at_once() -> None:
    m = CAT["nano-banana-2"]
    params = {
        "prompt": "x" * 20_001,
        "aspect_ratio": "7:3",
        "source_media_urls": [f"https://cdn.example.com/ref{i}.jpg" for i in range(9)],
    }
    with pytest.raises(ValidationError) as info:
        build_body(m, "media", params)
    err = info.value
    assert sorted(err.fields) == ["aspect_ratio", "prompt", "source_media_urls"]
    text = str(err)
    assert text.startswith("3 problems with the request for nano-banana-2:")
    assert "'7:3' is not offered by nano-banana-2; choose one of 1:1, 16:9, 9:16" in text
    assert "at most 20000" in text and "9 image URLs given" in text and "at most 8 images" in text
    aspect = next(p for p in err.problems if p.field == "aspect_ratio")
    assert aspect.code == "unsupported_aspect" and aspect.value == "7:3"
    assert aspect.allowed == m.capabilities.aspect_ratio_options


@pytest.mark.parametrize("given", [8, "8", "8s", 8.0, " 8 s"])
def test_duration_forms_normalise_to_the_catalog_form(given: Any) -> None:
    m = CAT["kling-3-0-pro"]
    assert validate(m, "media", {"prompt": "p", "duration": given}) == []
    assert normalize(m, "media", {"prompt": "p", "duration": given})["duration"] == "8s"


def test_duration_rules() -> None:
    (p,) = validate(CAT["kling-3-0-pro"], "media", {"prompt": "p", "duration": 16})
    assert p.field == "duration" and "from 3 to 15" in p.message
    (p,) = validate(CAT["seedance-1-5-pro-720p-8s"], "media", {"prompt": "p", "duration": "5s"})
    assert "4s, 8s, 12s" in p.message
    (p,) = validate(CAT["veo3-1-text-to-video"], "media", {"prompt": "p", "duration": 8})
    assert p.field == "duration" and "fixed by the model" in p.message
    (p,) = validate(CAT["kling-3-0-pro"], "media", {"prompt": "p", "duration": 7.5})
    assert p.field == "duration"


def test_option_values_are_matched_case_insensitively_and_sent_as_listed() -> None:
    m = CAT["gpt-image-2"]
    body = build_body(m, "media", {"prompt": "p", "resolution": "4k", "aspect_ratio": "AUTO"})
    assert body == {
        "model": "gpt-image-2",
        "prompt": "p",
        "resolution": "4K",
        "aspect_ratio": "auto",
        "generation_type": "text-to-image",
    }
    (p,) = validate(CAT["nano-banana-2"], "media", {"prompt": "p", "resolution": "2K"})
    assert p.field == "resolution" and "fixed by the model" in p.message


def test_generation_type_is_implied_like_the_guides_example() -> None:
    m = CAT["nano-banana-2"]
    body = build_body(m, "media", {"prompt": "sunset", "source_media_urls": ["https://c/p.jpg"]})
    assert body["generation_type"] == "image-to-image"
    assert build_body(m, "media", {"prompt": "sunset"})["generation_type"] == "text-to-image"
    # stated by the user: kept; a model with one type only: nothing added
    stated = build_body(m, "media", {"prompt": "s", "generation_type": "text-to-image"})
    assert stated["generation_type"] == "text-to-image"
    assert "generation_type" not in build_body(CAT["imagen-4"], "media", {"prompt": "s"})
    # first-and-last-frames without frames is refused although requires_input_media is false
    veo = CAT["veo3-1-first-and-last-frames"]
    assert not veo.requires_input_media and veo.needs_input_media
    (p,) = validate(veo, "media", {"prompt": "p"})
    assert p.code == "missing_source_media_urls"


def test_sound_policies() -> None:
    silent = next(m for m in MODELS if m.capabilities.video_audio == "silent")
    included = CAT["veo3-1-text-to-video"]
    toggle = CAT["kling-3-0-pro"]
    image = CAT["nano-banana-2"]
    assert [
        p.field for p in validate(silent, "media", {**default_request(silent), "sound": True})
    ] == ["sound"]
    assert validate(silent, "media", {**default_request(silent), "sound": False}) == []
    # a model that takes no sound parameter never receives one
    assert "sound" not in build_body(silent, "media", {**default_request(silent), "sound": False})
    assert "sound" not in build_body(included, "media", {"prompt": "p", "sound": True})
    assert build_body(toggle, "media", {"prompt": "p", "sound": False})["sound"] is False
    assert [p.field for p in validate(included, "media", {"prompt": "p", "sound": False})] == [
        "sound"
    ]
    assert validate(toggle, "media", {"prompt": "p", "sound": False}) == []
    (p,) = validate(toggle, "media", {"prompt": "p", "sound": "yes"})
    assert p.allowed == [True, False]
    assert [p.field for p in validate(image, "media", {"prompt": "p", "sound": True})] == ["sound"]


def test_negative_prompt_generation_type_and_required_media() -> None:
    assert validate(CAT["wan-2-5"], "media", {"prompt": "p", "negative_prompt": "blur"}) == []
    (p,) = validate(CAT["nano-banana-2"], "media", {"prompt": "p", "negative_prompt": "blur"})
    assert p.field == "negative_prompt"
    (p,) = validate(CAT["imagen-4"], "media", {"prompt": "p", "generation_type": "image-to-image"})
    assert p.field == "generation_type" and p.allowed == ["text-to-image"]
    (p,) = validate(CAT["flux-2-edit-1K"], "media", {"prompt": "make it blue"})
    assert p.field == "source_media_urls" and p.code == "missing_source_media_urls"
    (p,) = validate(
        CAT["nano-banana-2"], "media", {"prompt": "p", "generation_type": "image-to-image"}
    )
    assert p.code == "missing_source_media_urls"


def test_source_media_classification() -> None:
    sd = CAT["seedance-2-720p-video-ref"]  # 9 images, 3 videos, 3 audios
    ok = [
        "https://c/a.png",
        "https://c/b.mp4",
        "https://c/c.wav",
        {"url": "https://c/blob?id=1", "type": "video"},
    ]
    assert validate(sd, "media", {"prompt": "p", "source_media_urls": ok}) == []
    four_videos = [f"https://c/v{i}.mov" for i in range(4)]
    (p,) = validate(sd, "media", {"prompt": "p", "source_media_urls": four_videos})
    assert p.value == 4 and p.allowed == 3 and "video" in p.message
    (p,) = validate(sd, "media", {"prompt": "p", "source_media_urls": ["https://c/blob?id=1"]})
    assert "cannot tell the media type" in p.message and "'type'" in p.message
    # a model that takes images only reads an extension-less URL as an image
    assert (
        validate(
            CAT["nano-banana-2"],
            "media",
            {"prompt": "p", "source_media_urls": ["https://c/blob?id=1"]},
        )
        == []
    )
    (p,) = validate(
        CAT["kling-3-0-pro"], "media", {"prompt": "p", "source_media_urls": ["https://c/v.mp4"]}
    )
    assert "takes no video input" in p.message
    (p,) = validate(
        CAT["nano-banana-2"], "media", {"prompt": "p", "source_media_urls": ["./photo.png"]}
    )
    assert "client.upload" in p.message
    body = normalize(sd, "media", {"prompt": "p", "source_media_urls": ok})
    assert body["source_media_urls"] == [
        "https://c/a.png",
        "https://c/b.mp4",
        "https://c/c.wav",
        "https://c/blob?id=1",
    ]


def test_unknown_fields_get_a_suggestion_but_documented_extras_pass() -> None:
    (p,) = validate(CAT["nano-banana-2"], "media", {"prompt": "p", "aspect_ration": "1:1"})
    assert p.field == "aspect_ration" and "did you mean 'aspect_ratio'" in p.message
    assert "aspect_ratio" in p.allowed
    # grok's usage notes document a `mode` field: accepted
    assert validate(CAT["grok-text-to-video-6s"], "media", {"prompt": "p", "mode": "fun"}) == []
    # ...but an ordinary word of the notes is not a field ("one image is the start frame")
    (p,) = validate(CAT["p-video"], "media", {"prompt": "p", "image": "https://c/a.png"})
    assert p.field == "image"


def test_wrong_types_are_problems_not_crashes() -> None:
    m = CAT["kling-3-0-pro"]
    weird = {
        "prompt": 42,
        "aspect_ratio": ["16:9"],
        "duration": {"s": 5},
        "sound": 1,
        "source_media_urls": 7,
    }
    fields = sorted(p.field for p in validate(m, "media", weird))
    assert fields == ["aspect_ratio", "duration", "prompt", "sound", "source_media_urls"]


def test_model_route_mismatch() -> None:
    (p,) = validate(CAT["V5"], "media", {"prompt": "p"})
    assert p.field == "model" and "/v1/generate/music" in p.message
    (p,) = validate(CAT["nano-banana-2"], "media", {"model": "imagen-4", "prompt": "p"})
    assert p.field == "model"


def test_music_simple_and_advanced_rules() -> None:
    m = CAT["V5"]
    assert validate(m, "music", {"prompt": "lofi beat for studying", "instrumental": True}) == []
    (p,) = validate(m, "music", {"prompt": "x" * 401})
    assert p.field == "prompt" and "at most 400" in p.message
    (p,) = validate(m, "music", {})
    assert p.code == "missing_prompt"
    adv = {"title": "Snow", "style": "synthpop", "lyrics": "la la", "vocal_gender": "f"}
    assert validate(m, "music", adv) == []
    assert (
        validate(m, "music", {**adv, "prompt": "x" * 1000}) == []
    )  # the cap is a simple-mode rule
    (p,) = validate(m, "music", {**adv, "style": None})
    assert p.field == "style" and p.code == "missing_style"
    (p,) = validate(m, "music", {**adv, "song_description": "a song about snow"})
    assert p.field == "lyrics" and "exactly one" in p.message
    (p,) = validate(m, "music", {"title": "T", "style": "S", "vocal_gender": "f"})
    assert "exactly one" in p.message
    (p,) = validate(m, "music", {**adv, "vocal_gender": "male"})
    assert p.field == "vocal_gender" and p.allowed == ["m", "f", "random"]
    (p,) = validate(m, "music", {**adv, "style_weight": 1.5})
    assert p.field == "style_weight" and p.allowed == (0.0, 1.0)
    add_vocals = CAT["suno-add-vocals"]
    (p,) = validate(add_vocals, "music", {"prompt": "sing"})
    assert p.code == "missing_source_media_urls"
    assert (
        validate(add_vocals, "music", {"prompt": "sing", "source_media_urls": ["https://c/i.wav"]})
        == []
    )


def test_dialogue_rules() -> None:
    m = CAT.endpoint_model("dialogue")
    assert (
        validate(m, "dialogue", {"text": "Hi", "voice": "Rachel", "stability": 0.5, "speed": 1.1})
        == []
    )
    # the catalog's spelling is sent whatever case the user typed
    assert build_body(m, "dialogue", {"text": "Hi", "voice": "rachel"}) == {
        "text": "Hi",
        "voice": "Rachel",
    }
    problems = validate(
        m,
        "dialogue",
        {"text": "x" * 5001, "voice": "Rachal", "stability": 2, "speed": 9, "style": -1},
    )
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {"text", "voice", "stability", "speed", "style"}
    assert "did you mean 'Rachel'" in by_field["voice"].message
    assert by_field["voice"].allowed == CAT.voices
    (p,) = validate(m, "dialogue", {"voice": "Rachel"})
    assert p.code == "missing_text"


def test_captions_separation_ad_copy_rules() -> None:
    cap = CAT.endpoint_model("captions")
    assert (
        validate(
            cap,
            "captions",
            {"media_url": "https://c/talk.mp4", "quality": "best", "language": "en"},
        )
        == []
    )
    (p,) = validate(cap, "captions", {"media_url": "https://c/talk.mp4", "quality": "best"})
    assert p.field == "language" and p.code == "missing_language"
    (p,) = validate(cap, "captions", {"media_url": "https://c/talk.mp4", "quality": "fast"})
    assert p.allowed == ["auto", "best"]
    (p,) = validate(cap, "captions", {})
    assert p.code == "missing_media_url"
    (p,) = validate(cap, "captions", {"media_url": "https://c/slide.png"})
    assert p.allowed == ["video", "audio"] and "looks like image" in p.message
    (p,) = validate(
        CAT.endpoint_model("separation"), "separation", {"media_url": "https://c/a.png"}
    )
    assert p.field == "media_url" and p.allowed == ["audio"]
    (p,) = validate(CAT.endpoint_model("separation"), "separation", {"media_url": "song.mp3"})
    assert p.field == "media_url" and "client.upload" in p.message
    ad = CAT.endpoint_model("ad-copy")
    assert (
        validate(
            ad,
            "ad-copy",
            {"reference_ad_url": "https://c/ad.png", "variant_count": 3, "aspect_ratio": "4:5"},
        )
        == []
    )
    problems = validate(ad, "ad-copy", {"variant_count": 11, "aspect_ratio": "21:9"})
    assert {p.field for p in problems} == {"reference_ad_url", "variant_count", "aspect_ratio"}
    (p,) = validate(ad, "ad-copy", {"reference_ad_url": "https://c/ad.png", "variant_count": 2.5})
    assert p.field == "variant_count" and "whole number" in p.message


def test_extend_rules() -> None:
    assert (
        validate(
            None,
            "extend",
            {"source_task_id": "t-1", "prompt": "the fox turns", "extend_model": "lite"},
        )
        == []
    )
    problems = validate(None, "extend", {"extend_model": "turbo"})
    assert {p.field for p in problems} == {"source_task_id", "prompt", "extend_model"}
    assert build_body(None, "extend", {"source_task_id": "t-1", "prompt": "go", "model": "x"}) == {
        "source_task_id": "t-1",
        "prompt": "go",
    }
    ok = {
        "id": "g1",
        "model": "veo3-1-fast-text-to-video",
        "status": "completed",
        "source_task_id": "t-1",
        "outputs": [{"width": 1280, "height": 720}],
    }
    assert extend_problems(ok, "fast", catalog=CAT) == []
    assert [p.field for p in extend_problems(ok, "turbo", catalog=CAT)] == ["extend_model"]
    kling = {**ok, "model": "kling-3-0-pro"}
    (p,) = extend_problems(kling, "fast", catalog=CAT)
    assert "cannot be extended" in p.message and "veo3-1-fast-text-to-video" in p.allowed
    (p,) = extend_problems({**ok, "status": "processing"}, "fast", catalog=CAT)
    assert "processing" in p.message
    (p,) = extend_problems(
        {**ok, "outputs": [{"width": 1920, "height": 1080}]}, "fast", catalog=CAT
    )
    assert "1080p" in p.message
    (p,) = extend_problems({**ok, "generation_type": "extend"}, "fast", catalog=CAT)
    assert "itself an extend" in p.message


def test_unknown_kind_is_a_problem() -> None:
    (p,) = validate(CAT["nano-banana-2"], "sculpture", {})
    assert p.field == "kind" and "media" in p.allowed


# ---- fuzzing: every invalid value is refused client-side, naming the field and what is allowed ----

OPTION_MODELS = [
    (m, fld, opts) for m in MODELS if m.endpoint == "media" for fld, opts in m.option_fields.items()
]


@FUZZ
@given(data=st.data())
def test_fuzz_invalid_option_values_are_named(data: st.DataObject) -> None:
    m, fld, opts = data.draw(st.sampled_from(OPTION_MODELS))
    value = data.draw(
        st.one_of(
            st.text(max_size=12).filter(lambda t: "\x00" not in t),
            st.integers(-100, 100),
            st.floats(allow_nan=True),
            st.booleans(),
        ).filter(lambda v: not _is_accepted(m, fld, v))
    )
    problems = validate(m, "media", {**default_request(m), fld: value})
    mine = [p for p in problems if p.field == fld]
    assert len(mine) == 1, problems
    assert mine[0].allowed == opts
    rng = m.duration_range if fld == "duration" else None
    if rng:  # a flexible range is shown as its bounds
        assert f"from {rng[0]} to {rng[1]}" in str(mine[0])
    else:
        for opt in opts:
            assert opt in str(mine[0])
    assert mine[0].code == ("unsupported_aspect" if fld == "aspect_ratio" else "invalid_request")


def _is_accepted(m: Model, fld: str, v: Any) -> bool:
    return validate(m, "media", {**default_request(m), fld: v}) == []


@FUZZ
@given(data=st.data())
def test_fuzz_valid_combinations_pass(data: st.DataObject) -> None:
    m = data.draw(st.sampled_from([m for m in MODELS if m.endpoint == "media"]))
    params = default_request(m)
    for fld, opts in m.option_fields.items():
        if data.draw(st.booleans()):
            params[fld] = data.draw(st.sampled_from(opts))
    if m.capabilities.video_audio == "toggle_via_sound_param":
        params["sound"] = data.draw(st.booleans())
    cap = m.capabilities.prompt_max_chars or 50
    params["prompt"] = data.draw(  # a real prompt: some words, no NUL (those are refused)
        st.text(min_size=1, max_size=min(cap, 60)).filter(lambda t: t.strip() and "\x00" not in t)
    )
    assert validate(m, "media", params) == []
    body = build_body(m, "media", params)
    assert body["model"] == m.id and None not in body.values()


@FUZZ
@given(data=st.data())
def test_fuzz_too_long_prompts_and_too_many_inputs(data: st.DataObject) -> None:
    m = data.draw(
        st.sampled_from(
            [m for m in MODELS if m.endpoint == "media" and m.capabilities.prompt_max_chars]
        )
    )
    cap = m.capabilities.prompt_max_chars
    extra = data.draw(st.integers(1, 50))
    kind = data.draw(st.sampled_from(["image", "video", "audio"]))
    limit = m.media_limits[kind]
    n = limit + data.draw(st.integers(1, 3))
    params = {
        "prompt": "a" * (cap + extra),
        "source_media_urls": [f"https://c/x{i}{URL_FOR[kind][-4:]}" for i in range(n)],
    }
    problems = validate(m, "media", params)
    prompt = [p for p in problems if p.field == "prompt"]
    assert len(prompt) == 1 and f"at most {cap}" in str(prompt[0])
    sources = [p for p in problems if p.field == "source_media_urls" and p.value == n]
    assert len(sources) == 1 and sources[0].allowed == limit


ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@FUZZ
@given(
    kind=st.sampled_from(
        ["media", "music", "dialogue", "captions", "separation", "ad-copy", "extend"]
    ),
    model=st.sampled_from(MODELS),
    params=st.dictionaries(
        st.sampled_from(
            [
                "prompt",
                "aspect_ratio",
                "duration",
                "sound",
                "source_media_urls",
                "voice",
                "text",
                "stability",
                "variant_count",
                "media_url",
                "quality",
                "lyrics",
                "title",
                "seed",
            ]
        ),
        ANY_VALUE,
        max_size=6,
    ),
)
def test_fuzz_anything_yields_problems_never_exceptions(
    kind: str, model: Model, params: dict[str, Any]
) -> None:
    problems = validate(model, kind, params)
    assert all(isinstance(p, Problem) and p.field and p.message for p in problems)
    for p in problems:
        str(p)  # always printable
    if not problems:
        normalize(model, kind, params)


@FUZZ
@given(
    voice=st.text(min_size=1, max_size=12).filter(lambda t: "\x00" not in t),
    stability=st.floats(allow_nan=True, allow_infinity=True),
)
def test_fuzz_dialogue_values(voice: str, stability: float) -> None:
    m = CAT.endpoint_model("dialogue")
    problems = validate(m, "dialogue", {"text": "hi", "voice": voice, "stability": stability})
    fields = {p.field for p in problems}
    assert ("voice" in fields) == (voice.strip().lower() not in {v.lower() for v in CAT.voices})
    assert ("stability" in fields) == (not 0 <= stability <= 1)
    for p in problems:
        if p.field == "voice":
            assert p.allowed == CAT.voices and "Rachel" in p.message
        if p.field == "stability":
            assert p.allowed == (0.0, 1.0) and "from 0 to 1" in p.message


RANGES = [
    ("dialogue", "stability", (0.0, 1.0), False),
    ("dialogue", "similarity_boost", (0.0, 1.0), False),
    ("dialogue", "speed", (0.7, 1.2), False),
    ("music", "style_weight", (0.0, 1.0), False),
    ("music", "weirdness_constraint", (0.0, 1.0), False),
    ("ad-copy", "variant_count", (1, 10), True),
]
BASE = {
    "dialogue": {"text": "hi"},
    "music": {"title": "T", "style": "S", "lyrics": "la"},
    "ad-copy": {"reference_ad_url": "https://c/ad.png"},
}


@FUZZ
@given(
    spec=st.sampled_from(RANGES),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-50, 50),
        st.text(max_size=4).filter(lambda t: "\x00" not in t),
        st.booleans(),
    ),
)
def test_fuzz_numeric_ranges(spec: tuple[str, str, tuple[float, float], bool], value: Any) -> None:
    kind, fld, (lo, hi), integer = spec
    model = CAT.endpoint_model(kind) if kind != "music" else CAT["V5"]
    problems = validate(model, kind, {**BASE[kind], fld: value})
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and lo <= value <= hi
        and (not integer or float(value).is_integer())
    )
    mine = [p for p in problems if p.field == fld]
    assert bool(mine) != ok, (value, problems)
    if mine:
        assert mine[0].allowed == (lo, hi) and f"from {lo:g} to {hi:g}" in str(mine[0])
    assert [p for p in problems if p.field != fld] == []
