"""The one request pipeline: ``prepare`` (no HTTP, problems not raised) and ``submit`` (the guard)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubeez_nb import Client, Job
from kubeez_nb.errors import BudgetExceededError, ConfirmationRequired, ValidationError
from kubeez_nb.pipeline import Request


class _Recorder:
    """A client whose ``generate_*`` calls are captured as prepared requests (nothing sent)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.requests: list[Request] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(type(self.client), name)

        def call(*args: Any, **kw: Any) -> Any:
            captured: list[Request] = []
            real = self.client.submit
            self.client.submit = lambda req, **_: captured.append(req)  # type: ignore[method-assign,assignment,return-value]
            try:
                method(self.client, *args, **kw)
            finally:
                self.client.submit = real  # type: ignore[method-assign]
            self.requests.extend(captured)
            return captured[0]

        return call


def _requests_made(client: Client, emulator: Any) -> int:
    return sum(emulator.stats()["requests"].values())


@pytest.mark.parametrize(
    ("kind", "model", "params"),
    [
        ("media", "nano-banana-2", {"prompt": 'a "fox"\nin snow ✓', "aspect_ratio": "16:9"}),
        ("music", "V5", {"prompt": "a calm piano tune", "instrumental": True}),
        ("dialogue", None, {"text": "Hello there", "speed": 1.1}),
        (
            "extend",
            "veo3-1-fast-text-to-video",
            {"source": "task-1", "prompt": "and then", "extend_model": "quality"},
        ),
    ],
)
def test_code_runs_to_the_same_body_and_estimate(
    client: Client, kind: str, model: str | None, params: dict[str, Any]
) -> None:
    req = client.prepare(kind, model, **params)
    assert req.ok, req.problems
    code = req.code("rec")
    assert code.startswith(
        f"rec.{ {'media': 'generate_media', 'music': 'generate_music', 'dialogue': 'generate_dialogue', 'extend': 'extend'}[kind] }("
    )
    rec = _Recorder(client)
    again = eval(code, {"rec": rec})  # the code we generated
    assert dict(again.body) == dict(req.body)
    assert again.estimate is not None and req.estimate is not None
    assert float(again.estimate) == float(req.estimate)
    assert str(again.estimate) == str(req.estimate)


def test_code_of_the_guide_example_reads_like_the_guide(client: Client) -> None:
    req = client.prepare("media", "nano-banana-2", prompt="a fox", aspect_ratio="16:9")
    assert req.code().startswith(
        'client.generate_media("nano-banana-2", prompt="a fox", aspect_ratio="16:9"'
    )


def test_prepare_sends_nothing_and_returns_every_problem(client: Client, emulator: Any) -> None:
    client.catalog()
    before = _requests_made(client, emulator)
    unknown = client.prepare("media", "nano-banana-9", prompt="x")
    bad = client.prepare("media", "nano-banana-2", prompt="", aspect_ratio="7:3", bogus=1)
    wrong_kind = client.prepare("holograms", None, prompt="x")
    assert _requests_made(client, emulator) == before  # no HTTP at all
    assert not unknown.ok and unknown.problems[0].field == "model"
    assert "nano-banana-2" in unknown.problems[0].message  # suggestions
    assert len(bad.problems) >= 3 and {"prompt", "aspect_ratio"} <= {p.field for p in bad.problems}
    assert not wrong_kind.ok and wrong_kind.problems[0].field == "kind"
    with pytest.raises(ValidationError) as info:
        client.submit(bad)
    assert len(info.value.problems) == len(bad.problems)
    assert _requests_made(client, emulator) == before  # the guard refused before any HTTP


def test_submit_is_the_one_guard_with_a_per_call_threshold(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    req = client.prepare("media", "nano-banana-2", prompt="a fox", aspect_ratio="1:1")
    assert req.estimate is not None and float(req.estimate) > 0
    created = fresh_emulator.stats()["generations_created"]
    with pytest.raises(ConfirmationRequired):  # the magic's %config threshold, for this call
        client.submit(req, confirm_above=float(req.estimate) / 2)
    assert client.confirm_above is None  # the override did not stick
    with pytest.raises(ValueError, match="confirm_above"):
        client.submit(req, confirm_above=float("nan"))
    job = client.submit(req, confirm_above=float(req.estimate) / 2, confirm=True)
    assert isinstance(job, Job) and job.request == dict(req.body)
    assert client.estimated_spend == pytest.approx(float(req.estimate))
    client.budget = float(req.estimate) * 1.5
    with pytest.raises(BudgetExceededError):
        client.submit(req)
    assert fresh_emulator.stats()["generations_created"] == created + 1
    with pytest.warns(DeprecationWarning):
        assert client.spent == client.estimated_spend
