"""Reading HTTP error answers: the body's code / message / details, the inferred code of a
FastAPI-style ``{"detail": ...}`` body, and ``Retry-After`` / ``Retry-After-Ms`` headers.

Pure text and number handling (no exception classes): :func:`kubeez_nb.errors.error_from_response`
builds the typed exception from what these return.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

#: characters of an unexpected body shown in a message
_SHOWN_BODY_CHARS = 200

# FastAPI-style bodies ({"detail": "prose"}) carry no code: the status plus a few phrases
# recover the code the guide would have sent. Only codes that fit the status are inferred.
_INSUFFICIENT_RE = re.compile(r"insufficient credit|not enough credit|top up|balance is", re.I)
_MISSING_RE = re.compile(r"^\s*([a-z][a-z0-9_]*):? (?:is )?(?:required|missing)", re.I)
_ASPECT_RE = re.compile(r"unsupported aspect|aspect_ratio\b.*not (?:offered|supported)", re.I)
_CODE_TOKEN = re.compile(r"^[a-z][a-z0-9_]*$")


def _parse_body(body: Any) -> tuple[str | None, str, dict[str, Any]]:
    """(code, message, the dict the fields came from) from any error body shape."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        stripped = body.strip()
        if stripped.startswith(("{", "[")):
            try:
                return _parse_body(json.loads(stripped))
            except ValueError:
                pass
        return None, _text_message(stripped), {}
    if isinstance(body, list):  # a bare FastAPI validation list
        return "invalid_request", _detail_list(body), {}
    if not isinstance(body, Mapping):
        return None, "", {}
    extra = dict(body)
    code: str | None = None
    message = ""
    err = body.get("error")
    if isinstance(err, Mapping):  # {"error": {"code": ..., "message": ...}}
        c2, m2, e2 = _parse_body(err)
        code, message = c2 or _str(err.get("type")), m2
        extra = {**extra, **e2}
    elif isinstance(err, str):
        if _CODE_TOKEN.match(err):
            code = err
        else:
            message = err
    code = code or _str(body.get("code")) or _str(body.get("error_code"))
    message = _str(body.get("message")) or _str(body.get("error_description")) or message
    detail = body.get("detail")
    if detail is not None and not message:
        if isinstance(detail, Mapping):
            c2, m2, e2 = _parse_body(detail)
            code, message = code or c2, m2
            extra = {**extra, **e2}
        elif isinstance(detail, list):
            message = _detail_list(detail)
            code = code or "invalid_request"
        elif isinstance(detail, str):
            if _CODE_TOKEN.match(detail) and "_" in detail:
                code = code or detail
                message = detail.replace("_", " ").capitalize()
            else:
                message = detail
    if not message and code:
        message = code.replace("_", " ").capitalize()
    return code, message, extra


def _detail_list(items: list[Any]) -> str:
    parts = []
    for item in items:
        if isinstance(item, Mapping):
            loc = item.get("loc")
            where = (
                ".".join(str(p) for p in loc if p != "body")
                if isinstance(loc, (list, tuple))
                else ""
            )
            msg = str(item.get("msg") or item.get("message") or item)
            parts.append(f"{where}: {msg}" if where else msg)
        else:
            parts.append(str(item))
    return "; ".join(parts) or "Invalid request"


def _text_message(text: str) -> str:
    """A short readable message from a non-JSON body (HTML error pages become their <title>)."""
    if not text:
        return ""
    if "<" in text and ">" in text:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        if title:
            return re.sub(r"\s+", " ", title.group(1)).strip()
        text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:_SHOWN_BODY_CHARS] + ("…" if len(text) > _SHOWN_BODY_CHARS else "")


def _code_from_text(message: str, status: int) -> str | None:
    low = message.lower()
    if status in (400, 402, 422) and _INSUFFICIENT_RE.search(message):
        return "insufficient_credits"
    if status in (400, 422):
        if _ASPECT_RE.search(message):
            return "unsupported_aspect"
        missing = _MISSING_RE.match(message)
        if missing:
            return f"missing_{missing.group(1).lower()}"
        return None
    if status == 403:
        return "missing_scope" if "scope" in low else None
    if status == 404:
        return "model_not_found" if "model" in low else "not_found"
    if status == 409:
        return "name_taken" if ("name" in low or "already exists" in low) else None
    if status == 413:
        return "quota_exceeded" if "quota" in low else "file_too_large"
    if status == 429:
        return "rate_limit_exceeded"
    if status == 502 and "fetch" in low:
        return "fetch_failed"
    return None


def _default_message(status: int, body: Any) -> str:
    reason = {
        400: "Bad request",
        401: "The API key was refused",
        402: "Not enough credits",
        403: "This key is not allowed to do that",
        404: "Not found",
        409: "Conflict",
        413: "Payload too large",
        422: "Invalid request",
        429: "Rate limit exceeded",
    }.get(status, "Server error" if status >= 500 else f"HTTP {status}")
    return reason if body in (None, "", b"") else f"{reason} (unreadable body)"


def _retry_after(extra: Mapping[str, Any], headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait: a precise ``Retry-After-Ms`` header first, then the body's
    ``retry_after``, then the ``Retry-After`` header (decimal seconds or an HTTP-date)."""
    precise = _header_ms(headers)
    if precise is not None:
        return precise
    seconds = _seconds(extra.get("retry_after"))
    return seconds if seconds is not None else retry_after_seconds(headers)


def _header(headers: Mapping[str, str] | None, name: str) -> Any:
    if not headers:
        return None
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _header_ms(headers: Mapping[str, str] | None) -> float | None:
    ms = _seconds(_header(headers, "retry-after-ms"))
    return ms / 1000.0 if ms is not None else None


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a response's headers ask for, in seconds: ``Retry-After-Ms`` when present,
    else ``Retry-After`` as decimal seconds (``59.58``) or an HTTP-date; None when absent or
    unreadable. Never raises (urllib3's own parser rejects decimals)."""
    precise = _header_ms(headers)
    if precise is not None:
        return precise
    header = _header(headers, "retry-after")
    seconds = _seconds(header)
    if seconds is None and isinstance(header, str) and header.strip():
        try:  # HTTP-date form
            seconds = max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
        except (TypeError, ValueError, IndexError, OverflowError):
            seconds = None
    return seconds


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if seconds >= 0 and math.isfinite(seconds) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
