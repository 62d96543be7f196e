"""Server-side rate limits: a sliding window per (API key, route group)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from kubeez_nb.contract.limits import RATE_LIMITS, RATE_WINDOW_S


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one rate-limit check, ready to become ``X-RateLimit-*`` headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: float  #: seconds until a slot frees (0 when one is free now)
    window: float  #: window length in seconds

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": f"{self.reset:.3f}",
            "X-RateLimit-Window": f"{self.window:g}",
        }


class RateLimiter:
    """Sliding-window limiter: at most ``limit`` accepted requests in any ``window`` seconds.

    Limits default to the guide's table (``_config.RATE_LIMITS`` per 60 s); ``scale`` divides
    the window (a scale of 10 makes it 6 s) so tests can exercise refills quickly.
    """

    def __init__(self, defaults: dict[str, int] | None = None) -> None:
        self.defaults = dict(defaults or RATE_LIMITS)
        self.scale = 1.0
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def window(self) -> float:
        return RATE_WINDOW_S / max(self.scale, 1e-9)

    def check(
        self, key: str, group: str, now: float, overrides: dict[str, int] | None = None
    ) -> RateDecision:
        """Record one request for ``(key, group)`` if a slot is free; report the state either way."""
        limit = int((overrides or {}).get(group, self.defaults.get(group, self.defaults["read"])))
        window = self.window
        with self._lock:
            hits = self._hits.setdefault((key, group), deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            allowed = len(hits) < limit
            if allowed:
                hits.append(now)
            remaining = max(limit - len(hits), 0)
            reset = max(hits[0] + window - now, 0.0) if (hits and remaining == 0) else 0.0
        return RateDecision(allowed, limit, remaining, reset, window)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
