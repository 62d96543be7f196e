"""Client-side pacing: per-group sliding windows measured from answers, learnt from headers."""

from __future__ import annotations

import threading
import time

import pytest

from kubeez_nb._config import RATE_LIMITS, RATE_WINDOW_S
from kubeez_nb._ratelimit import RateLimiter, group_for


@pytest.mark.parametrize(
    ("method", "path", "group"),
    [
        ("POST", "/v1/generate/media", "media"),
        ("POST", "/v1/generate/media/extend", "media"),
        ("POST", "/v1/generate/captions", "media"),
        ("POST", "/v1/generate/separation", "media"),
        ("POST", "/v1/generate/music", "music"),
        ("POST", "/v1/generate/dialogue", "dialogue"),
        ("POST", "/v1/generate/ad-copy", "ad-copy"),
        ("POST", "/v1/upload/media", "upload"),
        ("POST", "/v1/assets", "upload"),
        ("PATCH", "/v1/assets/a1", "read"),
        ("DELETE", "/v1/assets/a1", "read"),
        ("GET", "/v1/generate/media/abc", "read"),
        ("GET", "/v1/balance?x=1", "read"),
        ("GET", "/docs/models.json", None),
        ("GET", "/health", None),
    ],
)
def test_routes_map_to_documented_groups(method: str, path: str, group: str | None) -> None:
    assert group_for(method, path) == group


def test_defaults_are_the_documented_table() -> None:
    limits = RateLimiter().limits()
    assert {g: n for g, (n, _) in limits.items()} == RATE_LIMITS
    assert {w for _, w in limits.values()} == {RATE_WINDOW_S}


def test_a_burst_never_puts_more_than_limit_answers_in_one_window() -> None:
    limiter = RateLimiter({"media": 3}, window=0.3)
    sends: list[float] = []
    answers: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        slot = limiter.acquire("media")
        t0 = time.monotonic()
        time.sleep(0.02)  # the "request"
        with lock:
            sends.append(t0)
            answers.append(time.monotonic())
        slot.release()

    threads = [threading.Thread(target=one) for _ in range(9)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sends.sort()
    answers.sort()
    # request i+3 goes out only after request i's answer is a full window old
    for i in range(len(sends) - 3):
        assert sends[i + 3] >= answers[i] + 0.3
    assert time.monotonic() - start >= 0.6  # 9 requests at 3 per window need two refills


def test_groups_are_independent() -> None:
    limiter = RateLimiter({"music": 1}, window=30)
    limiter.acquire("music").release()
    t0 = time.monotonic()
    for _ in range(5):
        limiter.acquire("read").release()
    assert time.monotonic() - t0 < 0.5
    with pytest.raises(TimeoutError):
        limiter.acquire("music", timeout=0.1)


def test_learns_limit_and_window_from_headers() -> None:
    limiter = RateLimiter()
    limiter.learn(
        "media", {"X-RateLimit-Limit": "5", "X-RateLimit-Window": "3", "X-RateLimit-Remaining": "4"}
    )
    assert limiter.limits()["media"] == (5, 3.0)
    limiter.learn("media", {"X-RateLimit-Limit": "junk"})  # unreadable values are ignored
    assert limiter.limits()["media"] == (5, 3.0)


def test_remaining_zero_and_pause_hold_the_group() -> None:
    limiter = RateLimiter()
    limiter.learn("read", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0.2"})
    t0 = time.monotonic()
    limiter.acquire("read").release()
    assert time.monotonic() - t0 >= 0.19
    limiter.pause("read", 0.15)
    t0 = time.monotonic()
    limiter.acquire("read").release()
    assert time.monotonic() - t0 >= 0.14


def test_public_routes_are_not_paced() -> None:
    limiter = RateLimiter({"read": 1}, window=60)
    for _ in range(10):
        limiter.acquire(None).release()
