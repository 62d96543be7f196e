"""The emulator's records: knobs, accounts (keys), jobs, assets and their outputs.

Plain dataclasses with no behaviour beyond their own fields, so the verbs (``backend``,
``outputs``, ``seeding``, ``fetch``) all import them from here and none imports another for a
record type.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any

from kubeez_nb.contract.kinds import KINDS
from kubeez_nb.contract.limits import ASSET_QUOTA_BYTES, MAX_UPLOAD_BYTES
from kubeez_nb.emulator.files import StoredFile
from kubeez_nb.emulator.guard import MAX_JSON_BYTES, MAX_JSON_DEPTH

#: Every scope a key can hold: the generate scopes of the kinds table, then the read scopes.
ALL_SCOPES: tuple[str, ...] = (
    *dict.fromkeys(k.scope for k in KINDS.values()),
    "read:balance",
    "read:generations",
)
TERMINAL = frozenset({"completed", "failed", "cancelled"})


@dataclass
class Knobs:
    """Fault and behaviour switches. Defaults behave like the guide says the service does."""

    error_rate: float = 0.0  #: share of /v1 requests answered 500 before any work
    error_after_accept_rate: float = (
        0.0  #: share of generate POSTs that create + bill, then answer 500
    )
    burst_429: int = 0  #: the next N /v1 requests answer 429
    latency: float = 0.0  #: seconds added to every request
    drop_rate: float = 0.0  #: share of /v1 requests whose connection is closed without an answer
    job_failure_rate: float = 0.0  #: share of jobs that end ``failed``
    not_found_window: float = 0.0  #: seconds after create during which a status poll answers 404
    mime_media_type: bool = False  #: outputs say ``image/png`` instead of ``image``
    detail_errors: bool = False  #: FastAPI-style ``{"detail": ...}`` error bodies
    credits_error_status: int = 402  #: 402 (guide) or 400 (seen live) when credits are short
    pending_status: bool = False  #: first status ``pending`` instead of ``queued``
    cdn_delay: float = 0.0  #: seconds a completed job's outputs have ``url: null``
    rate_limit_scale: float = 1.0  #: divides the 60 s rate-limit window
    max_upload_bytes: int = MAX_UPLOAD_BYTES  #: upload cap (413 file_too_large above)
    asset_quota_bytes: int = ASSET_QUOTA_BYTES  #: per-key asset library quota
    max_json_bytes: int = MAX_JSON_BYTES  #: JSON body cap (413 payload_too_large above)
    max_json_depth: int = MAX_JSON_DEPTH  #: JSON nesting cap (400 above)
    allow_private_fetch: bool = False  #: let server-side fetches reach loopback / private addresses
    seed: int | None = None  #: seeds the fault dice (reproducible runs)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def update(self, **changes: Any) -> None:
        """Set knobs by name; unknown names raise ``ValueError`` listing the known ones."""
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise ValueError(f"unknown knob(s) {unknown}; known knobs: {self.names()}")
        for name, value in changes.items():
            default = getattr(type(self), name, None)
            if isinstance(default, bool):
                value = (
                    value
                    if isinstance(value, bool)
                    else str(value).lower() in {"1", "true", "yes", "on"}
                )
            elif isinstance(default, int) and name != "seed":
                value = int(value)
            elif isinstance(default, float):
                value = float(value)
            if name == "credits_error_status" and value not in (400, 402):
                raise ValueError("credits_error_status must be 402 or 400")
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self.names()}


@dataclass
class Account:
    """An API key with its scopes, balance and rate-limit overrides (one key = one account)."""

    key: str
    scopes: frozenset[str]
    credits: float
    rate_limits: dict[str, int] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {
            "key_prefix": self.key[:8] + "…",
            "scopes": sorted(self.scopes),
            "credits": self.credits,
            "rate_limits": dict(self.rate_limits),
        }


@dataclass
class Output:
    """One produced file of a job."""

    file: StoredFile
    media_type: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    thumbnail: StoredFile | None = None
    label: str | None = None  #: song title, "vocals", "instrumental"
    cover: StoredFile | None = None


@dataclass
class Job:
    """One generation. Status is derived from the clock; see ``Backend.status_of``."""

    id: str
    owner: str
    kind: str  #: media | extend | music | dialogue | separation | ad-copy
    model: str
    model_type: str
    prompt: str | None
    generation_type: str
    params: dict[str, Any]
    created: float
    start_at: float
    done_at: float
    credits: float
    fail_message: str | None = None
    first_status: str = "queued"
    outputs: list[Output] | None = None
    source_task_id: str | None = None  #: set on completed Veo 3.1 jobs
    extends: str | None = None  #: the source job id of an extend
    project_id: str | None = None
    request_id: str | None = None
    input_file: StoredFile | None = None  #: separation input
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass
class Asset:
    id: str
    owner: str
    name: str
    file: StoredFile
    created: float


__all__ = ["ALL_SCOPES", "TERMINAL", "Account", "Asset", "Job", "Knobs", "Output"]
