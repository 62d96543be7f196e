"""Input hygiene: text the wire cannot carry and blank prompts are refused before any HTTP;
numeric arguments (timeouts, batch budgets) refuse nan, negatives and strings by name."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from kubeez_nb import Client, errors
from kubeez_nb.contract.checks import check_credits, check_seconds

SURROGATE = "a fox \ud83e in snow"  # half of an emoji: what a broken decode leaves behind

BAD_REQUESTS = [
    ("media", {"model": "nano-banana-2", "prompt": ""}, "prompt", "is required"),
    ("media", {"model": "nano-banana-2", "prompt": " \t\n "}, "prompt", "is required"),
    ("media", {"model": "nano-banana-2", "prompt": "a fox\x00"}, "prompt", "NUL"),
    ("media", {"model": "nano-banana-2", "prompt": SURROGATE}, "prompt", "lone surrogate"),
    ("media", {"model": "nano-banana-2"}, "prompt", "is required"),
    (
        "media",
        {
            "model": "nano-banana-2",
            "prompt": "ok",
            "source_media_urls": ["https://example.com/a\x00.png"],
        },
        "source_media_urls[0]",
        "NUL",
    ),
    ("music", {"model": "V5", "prompt": "   "}, "prompt", "is required"),
    ("music", {"model": "V5", "prompt": "jazz\x00"}, "prompt", "NUL"),
    ("dialogue", {"text": ""}, "text", "is required"),
    ("dialogue", {"text": "\n\n"}, "text", "is required"),
    ("dialogue", {"text": "hello \udc80"}, "text", "lone surrogate"),
    ("dialogue", {"text": "hello\x00there"}, "text", "NUL"),
]


def _send(client: Client, kind: str, body: dict[str, Any]) -> Any:
    body = dict(body)
    if kind == "media":
        return client.generate_media(body.pop("model"), body.pop("prompt", None), **body)
    if kind == "music":
        return client.generate_music(body.pop("model"), body.pop("prompt", None), **body)
    return client.generate_dialogue(body.pop("text"), **body)


@pytest.mark.parametrize(("kind", "body", "field", "words"), BAD_REQUESTS)
def test_unusable_text_is_refused_before_any_http(
    fresh_emulator: Any, tmp_path: Path, kind: str, body: dict[str, Any], field: str, words: str
) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    client.catalog()
    before = sum(fresh_emulator.stats()["requests"].values())
    with pytest.raises(errors.ValidationError) as info:
        _send(client, kind, body)
    (problem,) = [p for p in info.value.problems if p.field == field]
    assert words in problem.message
    text = str(info.value)
    text.encode("utf-8")  # printable in any notebook: the surrogate itself is escaped
    assert field in text
    assert sum(fresh_emulator.stats()["requests"].values()) == before  # not one HTTP request
    assert fresh_emulator.stats()["generations_created"] == 0
    assert client.ledger.jobs() == []  # nothing recorded as sent


def test_the_same_requests_with_real_text_go_through(fresh_emulator: Any, tmp_path: Path) -> None:
    """The proof above is not vacuous: repaired text is accepted and billed as usual."""
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    job = client.generate_media("nano-banana-2", SURROGATE.encode("utf-8", "replace").decode())
    assert job.id and job.wait(progress=False).ok
    assert client.generate_dialogue("hello there").wait(progress=False).ok


def test_an_optional_text_sent_blank_is_named(client: Client) -> None:
    with pytest.raises(errors.ValidationError) as info:
        client.generate_music("V5", title=" ", style="jazz", lyrics="la")
    (p,) = info.value.problems
    assert p.field == "title" and "leave title out" in p.message


@pytest.mark.parametrize("value", [math.nan, -1, -0.5, "10", b"10", True, [1]])
def test_timeouts_refuse_nan_negative_and_text(value: Any) -> None:
    with pytest.raises(ValueError, match="timeout"):
        check_seconds("timeout", value)


def test_timeouts_accept_numbers_none_and_inf() -> None:
    assert check_seconds("timeout", 2) == 2.0
    assert check_seconds("timeout", 0) == 0.0
    assert check_seconds("timeout", None) is None
    assert check_seconds("timeout", math.inf) is None  # documented: inf means no limit


@pytest.mark.parametrize("value", [math.nan, math.inf, -3, "100", False])
def test_budgets_refuse_nan_inf_negative_and_text(value: Any) -> None:
    with pytest.raises(ValueError, match="budget"):
        check_credits("budget", value)
