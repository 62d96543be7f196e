"""``wait(timeout=...)`` is a deadline: it returns or raises within about a second of it,
whatever the server does (8 s latency, a 429 storm), and refuses nonsense timeouts."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kubeez_nb as kz
from kubeez_nb import Client, Job, JobGroup

STATUS = "GET /v1/generate/media/<job_id>"


@pytest.fixture
def slow_emulator() -> Iterator[Any]:
    """Jobs that take a while (speed 1: an image runs for many seconds)."""
    with kz.Emulator(speed=1.0, quiet=True) as emu:
        yield emu


@pytest.fixture
def slow_client(slow_emulator: Any, tmp_path: Path) -> Client:
    return Client(api_key=slow_emulator.api_key, base_url=slow_emulator.url, home=tmp_path)


@pytest.fixture(scope="module")
def own_emulator() -> Iterator[Any]:
    """A fast emulator of this module's own (the session one's rate budget is for others)."""
    with kz.Emulator(speed=200.0, quiet=True) as emu:
        yield emu


@pytest.fixture
def client(own_emulator: Any, tmp_path: Path) -> Client:
    return Client(api_key=own_emulator.api_key, base_url=own_emulator.url, home=tmp_path)


def _polls(emu: Any) -> int:
    return sum(n for route, n in emu.stats()["requests"].items() if "<" in route and "GET" in route)


def _timed(fn: Any) -> tuple[float, BaseException | None]:
    start = time.monotonic()
    try:
        fn()
    except BaseException as exc:
        return time.monotonic() - start, exc
    return time.monotonic() - start, None


def test_wait_timeout_holds_under_8s_latency(slow_emulator: Any, slow_client: Client) -> None:
    job = slow_client.generate_media("nano-banana-2", "a lighthouse at dusk")
    slow_emulator.set_knobs(latency=8.0)
    took, exc = _timed(lambda: job.wait(timeout=2, progress=False))
    assert isinstance(exc, TimeoutError), exc
    assert "still" in str(exc) and job.id in str(exc) and "wait() again" in str(exc)
    assert 1.9 <= took < 3.5, took
    assert _polls(slow_emulator) >= 1  # a poll really was sent into the latency


def test_wait_timeout_holds_in_a_429_storm(slow_emulator: Any, slow_client: Client) -> None:
    job = slow_client.generate_media("nano-banana-2", "a lighthouse at dusk")
    slow_emulator.set_knobs(burst_429=10_000)
    took, exc = _timed(lambda: job.wait(timeout=2, progress=False))
    assert isinstance(exc, TimeoutError), exc
    assert took < 3.5, took
    assert slow_emulator.stats()["statuses"].get("429", 0) >= 1  # the storm really hit the polls


def test_group_wait_is_one_deadline_for_all_jobs(slow_emulator: Any, slow_client: Client) -> None:
    group = JobGroup([slow_client.generate_media("nano-banana-2", f"tile {i}") for i in range(3)])
    slow_emulator.set_knobs(latency=8.0)
    took, exc = _timed(lambda: group.wait(timeout=2, progress=False))
    assert isinstance(exc, TimeoutError), exc
    assert "3 of 3 job(s) still running" in str(exc)
    assert took < 3.5, took  # not 3 × 2 s, not 8 s


def test_a_job_that_finishes_before_the_deadline_is_returned(client: Client) -> None:
    job = client.generate_media("nano-banana-2", "a quick one")
    assert job.wait(timeout=60, progress=False).ok


def test_batch_timeout_returns_near_the_deadline(slow_emulator: Any, slow_client: Client) -> None:
    box: list[Any] = []
    batch_call = lambda: box.append(  # noqa: E731
        kz.batch(
            prompts=["a fox", "an owl"],
            models=["nano-banana-2"],
            client=slow_client,
            timeout=1.5,
            progress=False,
        )
    )
    took, exc = _timed(batch_call)
    assert exc is None, exc
    (res,) = box
    assert took < 3.0, took
    assert not res.done and len(res.jobs) == 2  # submitted, still running on the server
    assert "timeout" in res.summary()
    slow_emulator.advance(3600)  # the jobs finish on the server meanwhile
    assert res.wait(timeout=30).done  # and a later wait() follows them to the end
    assert all(it.ok for it in res.items)


def test_batch_timeout_holds_under_latency(slow_emulator: Any, slow_client: Client) -> None:
    """POSTs in flight at the deadline finish in the background; the result comes back now."""
    slow_client.catalog()
    slow_emulator.set_knobs(latency=5.0)
    start = time.monotonic()
    res = kz.batch(prompts=["a fox"], models=["nano-banana-2"], client=slow_client, timeout=2,
                   progress=False)  # fmt: skip
    took = time.monotonic() - start
    assert took < 3.5, took
    assert res.timed_out and res.items[0].status == "submitting" and "timeout" in res.summary()
    slow_emulator.set_knobs(latency=0.0)
    with pytest.raises(TimeoutError):  # the POST lands (5 s), then the job is followed a while
        res.wait(timeout=4)
    assert len(res.jobs) == 1 and not res.done
    slow_emulator.advance(3600)
    assert res.wait(timeout=30).done and res.items[0].ok
    assert slow_emulator.stats()["generations_created"] == 1  # sent once, never resent


@pytest.mark.parametrize("bad", [math.nan, -1, "2", True])
def test_nonsense_timeouts_are_refused_by_name(client: Client, bad: Any) -> None:
    job = Job(client, "gen-1")  # refused before any poll
    with pytest.raises(ValueError, match="timeout"):
        job.wait(timeout=bad, progress=False)
    with pytest.raises(ValueError, match="timeout"):
        JobGroup([job]).wait(timeout=bad, progress=False)
    with pytest.raises(ValueError, match="timeout"):
        kz.batch(prompts=["x"], models=["nano-banana-2"], client=client, timeout=bad)


def test_inf_timeout_means_no_limit(client: Client) -> None:
    assert client.generate_media("nano-banana-2", "a fox").wait(timeout=math.inf, progress=False).ok


@pytest.mark.parametrize("bad", [math.nan, -5, "100", math.inf])
def test_batch_budget_refuses_nan_negative_text_inf(client: Client, bad: Any) -> None:
    with pytest.raises(ValueError, match="budget"):
        kz.batch(prompts=["x"], models=["nano-banana-2"], client=client, budget=bad)
