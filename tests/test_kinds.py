"""The table of request kinds is the one place the per-kind facts live, and its readers agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kubeez_nb
from kubeez_nb._ratelimit import group_for
from kubeez_nb.contract import kinds
from kubeez_nb.contract.catalog import Catalog
from kubeez_nb.contract.kinds import KINDS, kind_for_path, kind_for_status_path
from kubeez_nb.contract.rules import validate
from kubeez_nb.emulator.routes import ROUTES

CAT = Catalog.from_json(
    json.loads((Path(kubeez_nb.__file__).parent / "emulator/data/models.json").read_text("utf-8"))
)


def test_every_generate_route_of_the_emulator_is_a_row_of_the_table() -> None:
    posts = {r.path: r for r in ROUTES if r.method == "POST" and r.path.startswith("/v1/generate/")}
    assert set(posts) == {k.post_path for k in KINDS.values()}
    for k in KINDS.values():
        assert posts[k.post_path].scope == k.scope
        assert posts[k.post_path].group == k.rate_group
    statuses = {
        r.openapi_path.replace("{sep_id}", "{id}").replace("{gen_id}", "{id}")
        for r in ROUTES
        if r.method == "GET" and r.path.startswith("/v1/generate/")
    }
    assert statuses == set(kinds.STATUS_PATHS)


@pytest.mark.parametrize("name", list(KINDS))
def test_the_rate_limiter_and_path_lookup_read_the_table(name: str) -> None:
    k = KINDS[name]
    assert kind_for_path("POST", k.post_path + "?x=1") is k
    assert kind_for_path("GET", k.post_path) is None
    assert group_for("POST", k.post_path) == k.rate_group
    if k.status_path:
        assert kind_for_status_path(k.status_url("abc")).status_path == k.status_path
        assert group_for("GET", k.status_url("abc")) == "read"


def test_captions_and_separation_count_as_media_work() -> None:
    assert KINDS["captions"].rate_group == KINDS["separation"].rate_group == "media"
    assert KINDS["captions"].synchronous and not KINDS["separation"].synchronous
    with pytest.raises(ValueError, match="synchronous"):
        KINDS["captions"].status_url("x")


def test_job_ids_from_submit_answers() -> None:
    assert KINDS["separation"].job_ids({"separation_id": "s1", "id": "other"}) == ["s1"]
    assert KINDS["media"].job_ids({"id": "g1"}) == ["g1"]
    assert KINDS["ad-copy"].job_ids({"generation_ids": ["a", None, "b"]}) == ["a", "b"]
    assert KINDS["music"].job_ids({}) == []


@pytest.mark.parametrize("name", list(KINDS))
def test_a_required_field_of_the_table_is_required_by_the_rules(name: str) -> None:
    """An empty request names every required field of the table."""
    k = KINDS[name]
    model = next((m for m in CAT.values() if m.endpoint == name), None)
    if not k.model_chosen:
        model = CAT.endpoint_model(name)
    fields = {p.field for p in validate(model, name, {})}
    assert set(k.required) - {"model"} <= fields, (name, k.required, fields)
    assert k.required or name == "music"


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="media, extend, music"):
        kinds.get("video")


CHECKED = [
    (k.name, f) for k in KINDS.values() for f in k.fields if f.choices or f.range is not None
]


@pytest.mark.parametrize(("name", "field"), CHECKED, ids=[f"{n}.{f.name}" for n, f in CHECKED])
def test_the_rules_enforce_the_tables_choices_and_ranges(name: str, field: kinds.Field) -> None:
    k = KINDS[name]
    model = None if not k.model_chosen else next(m for m in CAT.values() if m.endpoint == name)
    model = model or CAT.endpoint_model(name)
    if field.choices:
        inside, outside = field.choices[0], "zzz-not-a-choice"
    else:
        assert field.range is not None
        inside, outside = field.range[0], field.range[1] + 1
    fields_in = {p.field for p in validate(model, name, {field.name: inside})}
    fields_out = {p.field for p in validate(model, name, {field.name: outside})}
    assert field.name not in fields_in
    assert field.name in fields_out
