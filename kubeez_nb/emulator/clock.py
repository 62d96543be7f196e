"""The emulator clock: real time plus an offset that tests move forward with ``advance``."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class Clock:
    """Emulator time in epoch seconds: ``time.time() + offset``.

    Jobs, signed URLs and rate-limit windows all read this clock, so ``advance(60)``
    finishes jobs, expires links and frees rate-limit slots without sleeping.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Current emulator time (epoch seconds)."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (never backwards); returns the new time."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += float(seconds)
        return self.now()

    @property
    def offset(self) -> float:
        """Seconds the clock has been advanced in total."""
        return self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


def iso(ts: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC timestamp with milliseconds (``2026-05-01T12:00:00.123Z``)."""
    if ts is None:
        return None
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
