"""Transport deadlines: every read timeout and every wait is capped at the time left."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kubeez_nb import errors
from kubeez_nb._http import Transport


def _transport(emu: Any, **kw: Any) -> Transport:
    return Transport(emu.url, emu.api_key, timeout=(5.0, 60.0), **kw)


def test_deadline_caps_the_read_timeout_under_latency(fresh_emulator: Any) -> None:
    fresh_emulator.set_knobs(latency=8.0)
    t = _transport(fresh_emulator)
    start = time.monotonic()
    with pytest.raises(errors.APITimeoutError, match="deadline passed") as info:
        t.request("GET", "/v1/balance", deadline=start + 1.0)
    took = time.monotonic() - start
    assert 0.9 <= took < 2.0, took
    assert isinstance(info.value, TimeoutError)
    assert fresh_emulator.stats()["requests"]  # the server really got the request


def test_deadline_caps_the_429_wait(fresh_emulator: Any) -> None:
    fresh_emulator.set_knobs(burst_429=50)
    t = _transport(fresh_emulator)
    start = time.monotonic()
    with pytest.raises(errors.APITimeoutError, match="deadline passed"):
        t.request("GET", "/v1/balance", deadline=start + 1.0)
    took = time.monotonic() - start
    assert 0.9 <= took < 2.0, took
    assert fresh_emulator.stats()["statuses"]["429"] >= 1  # the storm really happened


def test_deadline_caps_the_rate_limiter_wait(fresh_emulator: Any) -> None:
    t = _transport(fresh_emulator)
    t.limiter.pause("read", 30.0)  # as after a 429 from another process sharing the key
    start = time.monotonic()
    with pytest.raises(errors.APITimeoutError, match="rate-limit slot"):
        t.request("GET", "/v1/balance", deadline=start + 0.5)
    assert 0.4 <= time.monotonic() - start < 1.5
    assert not fresh_emulator.stats()["requests"]  # held back by the limiter, never sent


def test_deadline_caps_read_retries_and_submit(fresh_emulator: Any) -> None:
    fresh_emulator.set_knobs(error_rate=1.0)
    t = _transport(fresh_emulator)
    start = time.monotonic()
    with pytest.raises(errors.APITimeoutError, match="deadline passed"):
        t.request("GET", "/v1/balance", deadline=start + 0.6)
    assert time.monotonic() - start < 1.5
    assert fresh_emulator.stats()["statuses"]["500"] >= 2  # retried until the deadline
    start = time.monotonic()
    with pytest.raises(errors.KubeezError):
        t.submit(
            "/v1/generate/media",
            {"model": "nano-banana-2", "prompt": "x"},
            deadline=start + 0.3,
        )
    assert time.monotonic() - start < 1.3


def test_a_passed_deadline_sends_nothing(fresh_emulator: Any) -> None:
    t = _transport(fresh_emulator)
    with pytest.raises(errors.APITimeoutError, match="deadline passed"):
        t.request("GET", "/v1/balance", deadline=time.monotonic() - 1)
    assert not fresh_emulator.stats()["requests"]
