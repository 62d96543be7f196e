"""Client-side pacing per documented rate-limit group, so bursts never meet a 429.

The guide limits each key per group (media 30/min, music 10, dialogue 10, ad-copy 5,
upload + add asset 30, reads 120). :class:`RateLimiter` keeps a sliding window per group and
makes a caller wait until sending cannot push the server's count over the limit.

Why the window is measured from *answers*: the server counts a request when it receives it, some
time between our send and its answer. A slot is therefore held from the moment we send until the
answer arrives, and only then does its ``window`` start ticking. Request ``i + limit`` is sent
no earlier than ``window`` after request ``i`` was answered, so whatever the network did, the
server never sees ``limit + 1`` requests inside one window. A small margin covers clock jitter.

The limiter learns the real policy from ``X-RateLimit-Limit`` / ``X-RateLimit-Window`` response
headers (a key limited to 5/min, a time-scaled emulator), and a 429 or ``Remaining: 0`` pauses
the group for the time the server names (another process may share the key).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from kubeez_nb._config import RATE_LIMITS, RATE_WINDOW_S
from kubeez_nb.contract.kinds import kind_for_path
from kubeez_nb.contract.wire import number

#: Seconds added to every window edge (timer resolution, scheduler jitter).
EDGE_MARGIN_S = 0.02
#: Share of the window added as well (a 60 s window gets 0.3 s more).
EDGE_MARGIN_SHARE = 0.005


def group_for(method: str, path: str) -> str | None:
    """The documented rate-limit group of a route, or None for unmetered public routes.

    Only ``/v1/*`` is metered per key. A generate route's group is its row of the kinds table
    (extend, captions and separation count as ``media``: not listed in the guide, media work).
    """
    path = "/" + path.split("?", 1)[0].strip("/")
    if not path.startswith("/v1/"):
        return None
    method = method.upper()
    if method == "POST":
        kind = kind_for_path(method, path)
        if kind is not None:
            return kind.rate_group
        if path.startswith("/v1/generate/"):
            return "media"  # a generate route this version does not know: media work
        if path.startswith("/v1/upload") or path == "/v1/assets":
            return "upload"
    return "read"


@dataclass
class _Group:
    limit: int
    window: float
    #: ends of finished requests (monotonic seconds), oldest first
    done: list[float] = field(default_factory=list)
    in_flight: int = 0
    #: no request of this group before this monotonic time (429, Remaining: 0)
    paused_until: float = 0.0


class Slot:
    """One granted request; ``release()`` it when the answer (or an error) came back."""

    __slots__ = ("_group", "_limiter", "_released")

    def __init__(self, limiter: RateLimiter | None, group: str | None) -> None:
        self._limiter = limiter
        self._group = group
        self._released = False

    def release(self) -> None:
        if not self._released and self._limiter is not None and self._group is not None:
            self._released = True
            self._limiter._release(self._group)

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class RateLimiter:
    """Sliding-window limiter per group, thread-safe. ``acquire(group)`` blocks as needed."""

    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        window: float = RATE_WINDOW_S,
        *,
        clock: object = time.monotonic,
    ) -> None:
        merged = {**RATE_LIMITS, **(limits or {})}
        self._groups = {g: _Group(int(n), float(window)) for g, n in merged.items()}
        self._clock = clock
        self._cond = threading.Condition()
        #: seconds spent waiting for slots, per group (for benchmarks and curiosity)
        self.waited: dict[str, float] = {}

    def __repr__(self) -> str:
        parts = ", ".join(f"{g}={s.limit}/{s.window:g}s" for g, s in self._groups.items())
        return f"RateLimiter({parts})"

    def _now(self) -> float:
        return self._clock()  # type: ignore[operator]

    def _group(self, name: str) -> _Group:
        grp = self._groups.get(name)
        if grp is None:
            base = self._groups.get("read")
            grp = self._groups[name] = _Group(
                base.limit if base else 120, base.window if base else RATE_WINDOW_S
            )
        return grp

    def limits(self) -> dict[str, tuple[int, float]]:
        """Current ``group -> (limit, window seconds)``."""
        with self._cond:
            return {g: (s.limit, s.window) for g, s in self._groups.items()}

    def _delay(self, grp: _Group, now: float) -> float:
        """Seconds until one more request of ``grp`` may be sent (0 = now)."""
        margin = EDGE_MARGIN_S + EDGE_MARGIN_SHARE * grp.window
        grp.done = [t for t in grp.done if t + grp.window + margin > now]
        wait = max(grp.paused_until - now, 0.0)
        used = len(grp.done) + grp.in_flight
        if used >= grp.limit:
            excess = used - grp.limit  # this many more finished requests must expire first
            if excess >= len(grp.done):
                return math.inf  # every slot is in flight: wait for an answer (_release wakes us)
            wait = max(wait, grp.done[excess] + grp.window + margin - now)
        return wait

    def acquire(
        self, group: str | None, timeout: float | None = None, *, deadline: float | None = None
    ) -> Slot:
        """Block until a request of ``group`` may be sent; the returned slot must be released.

        ``None`` (public routes) returns at once. Raises ``TimeoutError`` when no slot frees
        within ``timeout`` seconds, or by ``deadline`` (a ``time.monotonic()`` instant; the
        wait is capped at it).
        """
        if group is None:
            return Slot(None, None)
        start = self._now()
        mono_start = time.monotonic()
        with self._cond:
            grp = self._group(group)
            while True:
                now = self._now()
                delay = self._delay(grp, now)
                if delay <= 0:
                    grp.in_flight += 1
                    break
                if timeout is not None and now - start + min(delay, 1e9) > timeout:
                    raise TimeoutError(f"no {group!r} rate-limit slot within {timeout:g} s")
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        waited = time.monotonic() - mono_start
                        raise TimeoutError(
                            f"no {group!r} rate-limit slot before the deadline "
                            f"(waited {waited:.2f} s)"
                        )
                    delay = min(delay, left)
                self._cond.wait(None if math.isinf(delay) else delay)
            waited = self._now() - start
        if waited > 0:
            self.waited[group] = self.waited.get(group, 0.0) + waited
        return Slot(self, group)

    def _release(self, group: str) -> None:
        with self._cond:
            grp = self._group(group)
            grp.in_flight = max(grp.in_flight - 1, 0)
            grp.done.append(self._now())
            self._cond.notify_all()

    def learn(self, group: str | None, headers: Mapping[str, str]) -> None:
        """Adopt the server's ``X-RateLimit-Limit`` / ``X-RateLimit-Window`` for ``group``;
        ``X-RateLimit-Remaining: 0`` with ``X-RateLimit-Reset`` pauses the group that long."""
        if group is None:
            return
        limit = _number(headers.get("X-RateLimit-Limit"))
        window = _number(headers.get("X-RateLimit-Window"))
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        reset = _number(headers.get("X-RateLimit-Reset"))
        if limit is None and window is None and remaining is None:
            return
        with self._cond:
            grp = self._group(group)
            if limit is not None and limit >= 1:
                grp.limit = int(limit)
            if window is not None and window > 0:
                grp.window = float(window)
            if remaining == 0 and reset is not None and reset > 0:
                grp.paused_until = max(grp.paused_until, self._now() + reset)
            self._cond.notify_all()

    def pause(self, group: str | None, seconds: float) -> None:
        """Hold every request of ``group`` for ``seconds`` (after a 429)."""
        if group is None or seconds <= 0:
            return
        with self._cond:
            grp = self._group(group)
            grp.paused_until = max(grp.paused_until, self._now() + seconds)


def _number(value: str | None) -> float | None:
    """A header's non-negative number (``wire.number``: finite, tolerant of a unit)."""
    out = number(value)
    return out if out is not None and out >= 0 else None
