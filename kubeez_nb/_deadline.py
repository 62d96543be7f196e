"""Deadlines of the transport: one ``time.monotonic()`` instant capping every timeout and wait.

A deadline that passes raises :class:`~kubeez_nb.errors.APITimeoutError` (with ``maybe_sent``
saying whether the request may have reached the server).
"""

from __future__ import annotations

import time
from typing import Any

from kubeez_nb.errors import APITimeoutError


def _expired(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _deadline_error(what: str, doing: str, *, maybe_sent: bool = False) -> APITimeoutError:
    err = APITimeoutError(f"{what}: the deadline passed while {doing}")
    err.maybe_sent = maybe_sent  # type: ignore[attr-defined]
    return err


def _sleep(seconds: float, deadline: float | None, what: str) -> None:
    """``time.sleep(seconds)`` capped at the deadline; raises APITimeoutError once it passed."""
    if deadline is not None:
        left = deadline - time.monotonic()
        if seconds >= left:
            time.sleep(max(left, 0.0))
            raise _deadline_error(what, f"waiting {seconds:.2f} s before retrying")
    if seconds > 0:
        time.sleep(seconds)


def _cap_timeout(timeout: Any, deadline: float | None, what: str) -> Any:
    """``timeout`` ((connect, read) or one number) capped at the time left before ``deadline``."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise _deadline_error(what, "preparing to send")
    if isinstance(timeout, tuple):
        return tuple(left if t is None else min(t, left) for t in timeout)
    return left if timeout is None else min(timeout, left)
