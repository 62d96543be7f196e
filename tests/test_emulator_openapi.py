"""The emulator's ``/openapi.json`` says what it does: declared statuses, headers, constraints and
examples match the answers, and pacing headers are standard HTTP a stock client can follow."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from kubeez_nb._config import RATE_LIMITS
from kubeez_nb.emulator.routes import ROUTES


def _key(emu: Any) -> dict[str, str]:
    """Headers with a key of its own, unlimited: the session emulator's demo key is shared."""
    return {"X-API-Key": emu.add_key(rate_limits={g: 1_000_000 for g in RATE_LIMITS})}


def _doc(emu: Any) -> dict[str, Any]:
    return dict(requests.get(emu.url + "/openapi.json", timeout=10).json())


def _ops(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
    ]


def test_every_operation_that_can_succeed_has_a_working_example(emulator: Any) -> None:
    doc = _doc(emulator)
    h = _key(emulator)
    for path, method, op in _ops(doc):
        media = op.get("requestBody", {}).get("content", {}).get("application/json")
        if media is None:
            continue
        assert "example" in media, op["operationId"]
        if op["operationId"] in {
            "extend",
            "rename_asset",
        }:  # need an existing clip / asset: covered below
            continue
        r = requests.request(
            method, emulator.url + path, json=media["example"], headers=h, timeout=30
        )
        assert str(r.status_code) in op["responses"] and r.status_code < 300, (
            op["operationId"],
            r.text,
        )
    made = requests.post(emulator.url + "/v1/assets", json={"name": "ex-asset", "url": "https://cdn.example.com/x.png"},
                         headers=h).json()["asset"]  # fmt: skip
    rename = doc["paths"]["/v1/assets/{asset_id}"]["patch"]["requestBody"]["content"][
        "application/json"
    ]["example"]
    assert (
        requests.patch(
            emulator.url + f"/v1/assets/{made['id']}", json=rename, headers=h
        ).status_code
        == 200
    )


def test_request_constraints_are_declared_and_enforced(emulator: Any) -> None:
    doc = _doc(emulator)
    gens = {p["name"]: p["schema"] for p in doc["paths"]["/v1/generations"]["get"]["parameters"]}
    assert gens["limit"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}
    media = doc["components"]["schemas"]["MediaRequest"]["properties"]
    assert media["model"]["minLength"] == 1
    h = _key(emulator)
    for params in (
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"status": "bogus"},
        {"model": ""},
    ):
        r = requests.get(emulator.url + "/v1/generations", params=params, headers=h)
        assert r.status_code == 400, params
    for limit in (1, 100):
        assert (
            requests.get(
                emulator.url + "/v1/generations", params={"limit": limit}, headers=h
            ).status_code
            == 200
        )
    # body types the schema refuses are refused, naming the field
    r = requests.post(
        emulator.url + "/v1/generate/media", json={"model": "z-image", "prompt": 7}, headers=h
    )
    assert r.status_code == 400 and r.json()["field"] == "prompt"
    r = requests.post(emulator.url + "/v1/generate/media", json={"model": ""}, headers=h)
    assert r.status_code == 400 and r.json()["error"] == "missing_model"
    r = requests.post(emulator.url + "/v1/generate/ad-copy", json={"reference_ad_url": "https://cdn.example.com/a.png",
                                                                  "variant_count": True}, headers=h)  # fmt: skip
    assert r.status_code == 400 and r.json()["field"] == "variant_count"


def test_405_carries_allow_and_is_what_the_table_says(emulator: Any) -> None:
    r = requests.get(emulator.url + "/v1/generate/media", headers=_key(emulator))
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"POST", "OPTIONS"}
    r = requests.put(emulator.url + "/v1/assets/abc")
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"PATCH", "DELETE", "OPTIONS"}


def test_declared_statuses_cover_what_routes_answer(emulator: Any) -> None:
    doc = _doc(emulator)
    for r in ROUTES:
        path = "/docs/models/{model_id}.json" if r.endpoint == "docs_model" else r.openapi_path
        responses = doc["paths"][path][r.method.lower()]["responses"]
        assert str(r.status) in responses
        if r.auth:
            assert {"401", "403", "429"} <= set(responses), r.endpoint
            assert {"Retry-After", "Retry-After-Ms"} <= set(responses["429"]["headers"])
        if r.path.startswith("/v1/"):
            assert "5XX" in responses
        if r.group:
            assert "X-RateLimit-Remaining" in responses[str(r.status)]["headers"]
    media = doc["paths"]["/media/{file_id}/{name}"]["get"]
    assert {p["name"] for p in media["parameters"] if p["in"] == "query"} == {"expires", "sig"}
    assert {"206", "403", "404", "416"} <= set(media["responses"])


def test_family_prefix_answers_the_declared_shape(emulator: Any) -> None:
    op = _doc(emulator)["paths"]["/docs/models/{model_id}.json"]["get"]
    one_of = op["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
    assert [s["$ref"].rsplit("/", 1)[-1] for s in one_of] == ["Model", "ModelList"]
    exact = requests.get(emulator.url + "/docs/models/seedance-2-720p.json").json()
    assert exact["model_id"] == "seedance-2-720p" and "models" not in exact
    family = requests.get(emulator.url + "/docs/models/seedance-2.json").json()
    assert "model_id" not in family and family["total_count"] == len(family["models"]) > 1


def test_docs_openapi_is_a_readable_offline_page(emulator: Any) -> None:
    r = requests.get(emulator.url + "/docs/openapi")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    html = r.text
    assert "<script" not in html and not re.search(
        r"(src|href)=['\"]https?://", html
    )  # nothing to fetch
    for needle in (
        "/v1/generate/media",
        "MediaRequest",
        "Retry-After-Ms",
        "nano-banana-2",
        "generate:media",
    ):
        assert needle in html, needle
    assert "/docs/openapi" in requests.get(emulator.url + "/docs").text


def test_retry_after_is_whole_seconds_on_every_answer(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    h = {"X-API-Key": emu.api_key}
    seen = []
    gid = requests.post(emu.url + "/v1/generate/media", json={"model": "sora-2-pro-storyboard-25s", "prompt": "x"},
                        headers=h)  # fmt: skip
    seen.append(gid)
    seen.append(
        requests.get(emu.url + "/v1/generate/media/" + gid.json()["generation_id"], headers=h)
    )
    key = emu.add_key(rate_limits={"read": 1})
    seen += [requests.get(emu.url + "/v1/balance", headers={"X-API-Key": key}) for _ in range(2)]
    emu.set_knobs(burst_429=1)
    seen.append(requests.get(emu.url + "/v1/balance", headers=h))
    assert [r.status_code for r in seen] == [200, 200, 200, 429, 429]
    paced = [
        r for r in seen if r.status_code == 429 or r.request.method == "POST" or "/media/" in r.url
    ]
    assert len(paced) == 4 and "Retry-After" not in seen[2].headers  # a plain read is not paced
    for r in paced:
        assert re.fullmatch(r"[1-9]\d*", r.headers["Retry-After"]), r.headers["Retry-After"]
        ms = int(r.headers["Retry-After-Ms"])
        assert int(r.headers["Retry-After"]) == max(1, -(-ms // 1000))


def test_a_stock_urllib3_retry_session_survives_a_429_burst(fresh_emulator: Any) -> None:
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    emu = fresh_emulator
    session = requests.Session()
    retry = Retry(
        total=5, backoff_factor=0, status_forcelist=[429], respect_retry_after_header=True
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    emu.set_knobs(burst_429=2)
    r = session.get(emu.url + "/v1/balance", headers={"X-API-Key": emu.api_key}, timeout=10)
    assert r.status_code == 200 and "credits" in r.json()
    assert (
        emu.stats()["statuses"].get("429") == 2
    )  # the burst really happened and was retried through


@pytest.mark.parametrize("route", ["/v1/generate/media", "/v1/assets"])
def test_json_bodies_must_be_objects(emulator: Any, route: str) -> None:
    r = requests.post(emulator.url + route, json=[1, 2], headers=_key(emulator))
    assert r.status_code == 400
