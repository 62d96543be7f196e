"""Configuration: environment variables, defaults and the documented constants.

Everything the guide fixes (poll schedule, rate-limit groups, caps) lives here, once.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the package version (``kubeez_nb.__version__``; pyproject ``version`` says the same)
__version__ = "0.1.0"

ENV_API_KEY = "KUBEEZ_API_KEY"
ENV_BASE_URL = "KUBEEZ_BASE_URL"
ENV_DEMO = "KUBEEZ_DEMO"
ENV_HOME = "KUBEEZ_HOME"
#: Demo emulator pace (default 20: an image in about 2 s, a video in about 5 s).
ENV_DEMO_SPEED = "KUBEEZ_DEMO_SPEED"

DEFAULT_BASE_URL = "https://api.kubeez.com"
DEFAULT_TIMEOUT = (5.0, 60.0)  # (connect, read) seconds

#: Documented polling backoff (seconds); the last step repeats forever.
POLL_SCHEDULE: tuple[float, ...] = (5, 5, 5, 10, 10, 15, 15, 30)
#: Shortest wait between two polls, whatever the server hints.
MIN_POLL_INTERVAL = 0.05
#: Polls in a row that may fail with a retryable error (5xx, 429, connection) before wait() gives up;
#: each is already retried by the transport, so this only matters on a long outage.
MAX_TRANSIENT_POLL_ERRORS = 8
#: A 404 on a status poll this soon after our own submit means "not visible yet".
NOT_VISIBLE_GRACE_S = 30.0

#: Documented per-key limits, requests per RATE_WINDOW_S, by group.
RATE_LIMITS: dict[str, int] = {
    "media": 30,
    "music": 10,
    "dialogue": 10,
    "ad-copy": 5,
    "upload": 30,
    "read": 120,
}
RATE_WINDOW_S = 60.0

MAX_UPLOAD_BYTES = 500 * 1024 * 1024
ASSET_QUOTA_BYTES = 50 * 1024 * 1024
EXTEND_PRICES: dict[str, float] = {"lite": 45.0, "fast": 75.0, "quality": 300.0}

#: Seconds a ledger write waits for another process's lock before failing with LedgerError.
LEDGER_LOCK_TIMEOUT_S = 10.0

# ---- no double billing (the policy is written down in _http's module docstring) ----------------
#: Server and client clocks may disagree this much when matching a history row to a request.
DUPLICATE_SKEW_S = 30.0
#: After a duplicate check finds nothing, wait this long and read the history again before
#: concluding "not created" (the live API shows a new job only after a few seconds).
RECHECK_GRACE_S = 5.0
#: A row still unsettled this long after its first send, whose job the history does not show,
#: is provably absent ("not submitted"): the POST can no longer be running anywhere.
ABSENT_AFTER_S = 180.0

TERMINAL_OK = frozenset({"completed"})
TERMINAL_FAILED = frozenset({"failed", "error", "cancelled"})


def env_flag(name: str) -> bool:
    """True when the environment variable is set to a truthy value ("1", "true", "yes", "on")."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def kubeez_home() -> Path:
    """The folder for the ledger and the media cache.

    ``KUBEEZ_HOME`` if set, else ``./kubeez-data`` under the current working directory (the
    notebook's folder in Jupyter), so the notebook server can serve cached media through
    ``/files/``. Jupyter does not serve hidden folders, hence no leading dot.
    """
    raw = os.environ.get(ENV_HOME)
    home = Path(raw).expanduser() if raw else Path.cwd() / "kubeez-data"
    return home.resolve()
