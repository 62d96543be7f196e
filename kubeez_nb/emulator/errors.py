"""Emulator-side error classes: one small class per documented wire code.

The backend raises these; the HTTP layer turns them into ``{"error", "message"}`` bodies
(or ``{"detail"}`` with the ``detail_errors`` knob). Nothing here imports HTTP code.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A documented error answer: HTTP status, wire code, message, optional extra body fields."""

    status = 400
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


class InvalidRequest(ApiError):
    status, code = 400, "invalid_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class InsufficientCredits(ApiError):
    status, code = 402, "insufficient_credits"


class MissingScope(ApiError):
    status, code = 403, "missing_scope"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class ModelNotFound(ApiError):
    status, code = 404, "model_not_found"


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"


class NameTaken(ApiError):
    status, code = 409, "name_taken"


class FileTooLarge(ApiError):
    status, code = 413, "file_too_large"


class QuotaExceeded(ApiError):
    status, code = 413, "quota_exceeded"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class RangeNotSatisfiable(ApiError):
    status, code = 416, "range_not_satisfiable"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class RateLimited(ApiError):
    status, code = 429, "rate_limit_exceeded"


class ServerError(ApiError):
    status, code = 500, "internal_error"


class FetchFailed(ApiError):
    status, code = 502, "fetch_failed"
