"""The exception tree: one class per error code of the Kubeez guide, plus client-side refusals.

Every error says what to do next (``.hint``, included in ``str(err)``), keeps the raw response
body (``.body``) and never carries request headers, so the API key cannot leak through a traceback.

``error_from_response(status, body, headers)`` is the single place that turns an HTTP error into a
typed exception; it understands the guide's ``{"error": code, "message": ...}`` bodies and the
FastAPI ``{"detail": ...}`` variants seen live.

Connection problems subclass the builtin :class:`ConnectionError` / :class:`TimeoutError` (and so
:class:`OSError`, which ``requests.RequestException`` also derives from): code that already catches
``OSError`` or ``ConnectionError`` around network calls keeps working, without importing requests
here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeez_nb._error_reading import (  # noqa: F401 (retry_after_seconds is public here)
    _SHOWN_BODY_CHARS,
    _code_from_text,
    _default_message,
    _parse_body,
    _retry_after,
    _str,
    _text_message,
    retry_after_seconds,
)

BILLING_URL = "https://kubeez.com/billing"
KEYS_URL = "https://kubeez.com/settings/api-keys"

#: How much of an unreadable body is kept on ``.body`` (``_SHOWN_BODY_CHARS`` of it are shown).
_KEPT_BODY_CHARS = 10_000

# Anything that looks like a Kubeez key (sk_live_..., sk_demo_..., Bearer tokens) is masked
# wherever a server message is repeated, in case a body ever echoes it back.
_KEY_RE = re.compile(r"\b(sk_[A-Za-z0-9]+_)[A-Za-z0-9_\-]{4,}|(Bearer\s+)[A-Za-z0-9_\-.]{8,}")
_SCOPE_RE = re.compile(r"\b((?:generate|read|write|manage):[a-z_\-]+)")


def redact(text: str) -> str:
    """Mask API-key-like tokens in ``text`` (keeps the ``sk_live_`` prefix, hides the secret)."""
    return _KEY_RE.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


def _format_allowed(allowed: Any, limit: int = 30) -> str:
    """Human list of allowed values: ``1:1, 16:9, 9:16`` (long lists are cut with a count)."""
    if allowed is None:
        return ""
    if isinstance(allowed, (list, tuple, set, frozenset)):
        items = [str(a) for a in allowed]
        if len(items) > limit:
            return ", ".join(items[:limit]) + f", … ({len(items) - limit} more)"
        return ", ".join(items)
    return str(allowed)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the field, the value given, the values allowed.

    ``code`` mirrors the wire code the server would answer with (``unsupported_aspect``,
    ``missing_<field>``, ``invalid_request``), so client-side and server-side refusals read alike.
    """

    field: str
    value: Any
    allowed: Any
    message: str
    code: str = "invalid_request"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (used by the emulator's 400 bodies and by widgets)."""
        return {
            "field": self.field,
            "value": self.value,
            "allowed": self.allowed,
            "message": self.message,
            "code": self.code,
        }


class KubeezError(Exception):
    """Base of every kubeez-nb error.

    Attributes: ``message`` (what happened), ``status`` (HTTP status or None), ``code`` (wire code
    such as ``insufficient_credits``), ``body`` (raw response body, capped), ``retry_after``
    (seconds, where the server said), ``hint`` (what to do next).
    """

    #: What to do next when the server gives no better advice; subclasses override.
    default_hint: str = ""
    #: Whether repeating the same request later can succeed (the transport's retry policy reads it).
    retryable: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = redact(str(message or self.__class__.__name__))
        self.status = status
        self.code = code
        self.body = _cap_body(body)
        self.retry_after = retry_after
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(self.message)

    def __str__(self) -> str:
        prefix = ""
        # Only server answers get the "[402 insufficient_credits]" prefix; client-side errors read plain.
        if self.status is not None:
            prefix = "[" + " ".join(str(p) for p in (self.status, self.code) if p) + "] "
        text = prefix + self.message
        if self.hint:
            text += f"\n→ {self.hint}"
        return text

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"

    # OSError subclasses (connection errors) would otherwise reduce with OSError's args protocol.
    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.__class__, self.__dict__.copy()))


def _rebuild(cls: type[KubeezError], state: dict[str, Any]) -> KubeezError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


def _cap_body(body: Any) -> Any:
    """The body as kept on the error: text capped, key-like tokens masked at any depth."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        return redact(body[:_KEPT_BODY_CHARS])
    if isinstance(body, Mapping):
        return {k: _cap_body(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_cap_body(v) for v in body]
    return body


# ---------------------------------------------------------------------------------------------
# HTTP errors
# ---------------------------------------------------------------------------------------------


class APIError(KubeezError):
    """The server answered with an error status."""

    default_hint = "Read the message above; 4xx errors are not retried, fix the request first."


class BadRequestError(APIError):
    """400 ``invalid_request`` (or 422): the body does not match what the model accepts."""

    default_hint = "Fix the request body (see the message); client.validate(model, **params) shows every problem."


class UnsupportedAspectError(BadRequestError):
    """400 ``unsupported_aspect``: the aspect_ratio is not in the model's ``aspect_ratio_options``."""

    default_hint = "Pick an aspect_ratio from client.model(<id>).capabilities.aspect_ratio_options."


class MissingFieldError(BadRequestError):
    """400 ``missing_<field>``: a required field was not sent (``.field`` names it)."""

    def __init__(self, message: str = "", *, field: str | None = None, **kw: Any) -> None:
        code = kw.get("code") or ""
        self.field = field or (code[len("missing_") :] if code.startswith("missing_") else None)
        if kw.get("hint") is None and self.field:
            kw["hint"] = f"Add the required field {self.field!r} to the request."
        super().__init__(message, **kw)


class AuthenticationError(APIError):
    """401: the API key is missing, mistyped or revoked."""

    default_hint = (
        f"Check the key (Client(api_key=...) or the KUBEEZ_API_KEY variable); create one at {KEYS_URL}, "
        "or try kz.connect(demo=True) for the local emulator."
    )


class InsufficientCreditsError(APIError):
    """402 (or 400) ``insufficient_credits``: the balance does not cover the job. Never retried."""

    default_hint = f"Top up at {BILLING_URL}, or pick a cheaper model / shorter duration (client.estimate(...))."


class PermissionDeniedError(APIError):
    """403: the key may not do this."""

    default_hint = f"Use a key with the needed scope; keys are managed at {KEYS_URL}."


class MissingScopeError(PermissionDeniedError):
    """403 ``missing_scope``: the key lacks a scope (``.scope`` names it when the server says)."""

    def __init__(self, message: str = "", *, scope: str | None = None, **kw: Any) -> None:
        self.scope = scope
        if kw.get("hint") is None:
            need = f"the scope {scope!r}" if scope else "the scope named above"
            kw["hint"] = (
                f"This key needs {need}: create a key with it at {KEYS_URL} and use that one."
            )
        super().__init__(message, **kw)


class NotFoundError(APIError):
    """404 ``not_found``: the generation or asset id is wrong (or not yours)."""

    default_hint = "Check the id (kz.jobs() lists the jobs this machine submitted; client.assets() the assets)."


class ModelNotFoundError(NotFoundError):
    """404 ``model_not_found``: the model id is unknown or disabled."""

    default_hint = (
        "Pick a model id from client.catalog() (ids are case-sensitive and change over time)."
    )


class ConflictError(APIError):
    """409: the request conflicts with existing state."""

    default_hint = "Change the request so it no longer conflicts (see the message)."


class NameTakenError(ConflictError):
    """409 ``name_taken``: an asset with this name exists already."""

    default_hint = "Pick another asset name, or rename/delete the existing one (client.assets())."


class PayloadTooLargeError(APIError):
    """413: the upload is too big."""

    default_hint = "Send a smaller file."


class FileTooLargeError(PayloadTooLargeError):
    """413 ``file_too_large``: over the 500 MB per-file limit."""

    default_hint = (
        "Files are limited to 500 MB: compress or trim the file, or pass a public URL instead."
    )


class QuotaExceededError(PayloadTooLargeError):
    """413 ``quota_exceeded``: the asset library is over its quota (50 MB by default)."""

    default_hint = "Free library space with client.delete_asset(id) (client.assets() lists sizes)."


class RateLimitError(APIError):
    """429 ``rate_limit_exceeded``; ``.retry_after`` says how long to wait (seconds) when known."""

    retryable = True

    def __init__(self, message: str = "", **kw: Any) -> None:
        if kw.get("hint") is None:
            ra = kw.get("retry_after")
            wait = f"wait {ra:g} s" if isinstance(ra, (int, float)) else "wait a little"
            kw["hint"] = (
                f"Too many requests: {wait} and retry (the client paces itself per documented group)."
            )
        super().__init__(message, **kw)


class FetchFailedError(APIError):
    """502 ``fetch_failed``: the server could not download the URL you gave it."""

    default_hint = "Make sure the URL is public and reachable (open it in a browser), or upload the file instead."


class ServerError(APIError):
    """5xx: a server-side failure. Safe to retry idempotent requests after a delay."""

    retryable = True
    default_hint = "A server-side problem: retry in a moment. If a POST failed, check kz.jobs() before resubmitting."


class ResponseFormatError(APIError):
    """The answer could not be read: not JSON, an HTML error page, or required fields missing."""

    default_hint = "The server sent something unexpected; check base_url (it should be the API root) and retry."


class APIConnectionError(KubeezError, ConnectionError):
    """The server could not be reached (DNS, refused, reset, dropped connection)."""

    retryable = True
    default_hint = (
        "Check the network and base_url; the request may be retried safely only if it was a read."
    )


class APITimeoutError(APIConnectionError, TimeoutError):
    """No answer within the timeout."""

    default_hint = (
        "The server did not answer in time: retry, or raise the timeout (Client(timeout=(5, 120)))."
    )


# ---------------------------------------------------------------------------------------------
# Client-side refusals and outcomes
# ---------------------------------------------------------------------------------------------


class ValidationError(KubeezError, ValueError):
    """The request breaks the model's capabilities; raised before any HTTP request.

    ``.problems`` lists every problem at once (field, value given, values allowed).
    """

    default_hint = (
        "Fix the fields listed above; client.model(<id>).capabilities shows what the model accepts."
    )

    def __init__(
        self, problems: list[Problem] | Problem | str, *, model: str | None = None, **kw: Any
    ) -> None:
        if isinstance(problems, Problem):
            problems = [problems]
        if isinstance(problems, str):
            problems = [Problem("request", None, None, problems)]
        self.problems: list[Problem] = list(problems)
        self.model = model
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} with the request" + (
            f" for {model}" if model else ""
        )
        lines = [f"{head}:"] + [f"  - {p}" for p in self.problems]
        kw.setdefault("code", self.problems[0].code if n == 1 else "invalid_request")
        super().__init__("\n".join(lines), **kw)

    @property
    def fields(self) -> list[str]:
        """The fields named by the problems, in order."""
        return [p.field for p in self.problems]


class JobFailedError(KubeezError):
    """A job ended ``failed`` / ``cancelled`` (moderation, provider error). Kubeez does not refund."""

    default_hint = (
        "Change the prompt or inputs and submit again (moderation failures look like this)."
    )

    def __init__(
        self,
        message: str = "",
        *,
        job_id: str | None = None,
        job_status: str | None = None,
        **kw: Any,
    ) -> None:
        self.job_id = job_id
        self.job_status = job_status
        if not message:
            message = f"Job {job_id or '?'} ended {job_status or 'failed'}"
        super().__init__(message, **kw)


class BudgetExceededError(KubeezError):
    """Submitting would go over the budget set on the client or batch; nothing was sent."""

    default_hint = "Raise the budget (Client(budget=...)), or lower the cost: fewer jobs, a cheaper model, shorter clips."

    def __init__(
        self,
        message: str = "",
        *,
        estimate: float | None = None,
        budget: float | None = None,
        spent: float | None = None,
        **kw: Any,
    ) -> None:
        self.estimate, self.budget, self.spent = estimate, budget, spent
        if not message:
            message = (
                f"This job (≈ {_num(estimate)} credits) would exceed the budget of {_num(budget)} credits"
                f" ({_num(spent or 0)} already spent)"
            )
        super().__init__(message, **kw)


class LedgerError(KubeezError):
    """The local job ledger could not be opened or written, so nothing was sent.

    ``.path`` is the ledger file. The way out is in the hint: free space or fix permissions,
    move the file aside (a new ledger is then started), or run with ``Client(ledger=False)``.
    """

    def __init__(self, message: str = "", *, path: Any = None, reason: str = "", **kw: Any) -> None:
        self.path = str(path) if path is not None else None
        where = self.path or "the ledger"
        if not message:
            message = f"Could not use the job ledger {where}: {reason or 'unknown error'}"
        kw.setdefault(
            "hint",
            "Nothing was sent, so nothing was charged. Free disk space or fix the folder's "
            f"permissions and retry; if the file is damaged, move it aside (mv {where} "
            f"{where}.bad) and a new ledger is started; or pass Client(ledger=False) to run "
            "without a local record (kz.jobs() and kz.resume() then know nothing of new jobs).",
        )
        super().__init__(message, **kw)


class ConfirmationRequired(KubeezError):
    """The job costs more than the confirm threshold and was not confirmed; nothing was sent."""

    default_hint = "Pass confirm=True to submit it anyway, or raise Client(confirm_above=...)."

    def __init__(
        self,
        message: str = "",
        *,
        estimate: float | None = None,
        threshold: float | None = None,
        **kw: Any,
    ) -> None:
        self.estimate, self.threshold = estimate, threshold
        if not message:
            message = f"This job costs ≈ {_num(estimate)} credits, above the confirm threshold of {_num(threshold)}"
        super().__init__(message, **kw)


def _num(x: Any) -> str:
    if isinstance(x, (int, float)):
        return f"{x:g}"
    return "?" if x is None else str(x)


# ---------------------------------------------------------------------------------------------
# Response -> exception
# ---------------------------------------------------------------------------------------------

_BY_CODE: dict[str, type[APIError]] = {
    "invalid_request": BadRequestError,
    "unsupported_aspect": UnsupportedAspectError,
    "insufficient_credits": InsufficientCreditsError,
    "missing_scope": MissingScopeError,
    "model_not_found": ModelNotFoundError,
    "not_found": NotFoundError,
    "name_taken": NameTakenError,
    "file_too_large": FileTooLargeError,
    "quota_exceeded": QuotaExceededError,
    "rate_limit_exceeded": RateLimitError,
    "fetch_failed": FetchFailedError,
    "unauthorized": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "forbidden": PermissionDeniedError,
}

_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_from_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> APIError:
    """Build the typed exception for an HTTP error answer.

    ``body`` is the decoded JSON when there was some, else the text (``str`` / ``bytes``) or None.
    ``headers`` are the *response* headers (only ``Retry-After`` is read). Request headers never
    reach this function, so the key cannot end up on the exception.
    """
    code, message, extra = _parse_body(body)
    if not code and message:
        code = _code_from_text(message, status)
    cls = _pick_class(status, code)
    if not message:
        message = _default_message(status, body)
    kw: dict[str, Any] = {"status": status, "code": code, "body": body}
    retry_after = _retry_after(extra, headers)
    if retry_after is not None:
        kw["retry_after"] = retry_after
    if issubclass(cls, MissingScopeError):
        scope = extra.get("scope") or extra.get("required_scope") or extra.get("missing_scope")
        if not isinstance(scope, str):
            found = _SCOPE_RE.search(message)
            scope = found.group(1) if found else None
        return cls(message, scope=scope, **kw)
    if issubclass(cls, MissingFieldError):
        fld = extra.get("field")
        return cls(message, field=fld if isinstance(fld, str) else None, **kw)
    return cls(message, **kw)


def _pick_class(status: int, code: str | None) -> type[APIError]:
    if code == "insufficient_credits" or status == 402:
        return InsufficientCreditsError
    if code and code.startswith("missing_") and code != "missing_scope":
        return MissingFieldError
    if code in _BY_CODE:
        cls = _BY_CODE[code]
        # A code only refines the class its status implies (a 5xx stays a ServerError).
        by_status = _BY_STATUS.get(status)
        if by_status is None or issubclass(cls, by_status) or status in (400, 422):
            return cls
        if status >= 500 and cls is not FetchFailedError:
            return ServerError
        return by_status
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return APIError


def response_format_error(status: int | None, body: Any, what: str = "JSON") -> ResponseFormatError:
    """A ``ResponseFormatError`` for an answer that is not the expected ``what`` (body kept, capped)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    shown = _text_message(text) if isinstance(text, str) else repr(text)[:_SHOWN_BODY_CHARS]
    return ResponseFormatError(
        f"Expected {what} from the server but got: {shown or '(empty body)'}",
        status=status,
        body=body,
    )


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ConfirmationRequired",
    "ConflictError",
    "FetchFailedError",
    "FileTooLargeError",
    "InsufficientCreditsError",
    "JobFailedError",
    "KubeezError",
    "LedgerError",
    "MissingFieldError",
    "MissingScopeError",
    "ModelNotFoundError",
    "NameTakenError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Problem",
    "QuotaExceededError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "UnsupportedAspectError",
    "ValidationError",
    "error_from_response",
    "redact",
    "response_format_error",
    "retry_after_seconds",
]
