"""Hardening against hostile callers: what a web page in the user's browser (cross-origin or via
DNS rebinding) or a careless script could otherwise do to a local emulator.

- Control routes (``/_emulator/*``) need the per-process token in ``X-Emulator-Token``, a
  ``Host`` naming the bound address (an IP literal or ``localhost`` with our port), and
  ``application/json`` bodies; they never send CORS headers. The in-thread ``Emulator`` calls
  the backend directly, so it needs none of this.
- JSON bodies are read with a byte cap (413 on ``Content-Length`` alone, else after cap + 1
  bytes) and a nesting cap (400), so neither memory nor the parser's recursion can be exhausted.
- Pacing headers: ``Retry-After`` is whole seconds (RFC 9110 delta-seconds, rounded up),
  ``Retry-After-Ms`` the precise wait in milliseconds.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
from typing import Any

from kubeez_nb.emulator.errors import (
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)

#: WSGI environ flag: the body was refused unread (the server stops reading after answering).
BODY_UNREAD = "kubeez.body_unread"
#: The header control callers send the token in.
TOKEN_HEADER = "X-Emulator-Token"
#: Default caps of a JSON request body (knobs ``max_json_bytes`` / ``max_json_depth``).
MAX_JSON_BYTES = 1 << 20
MAX_JSON_DEPTH = 32


def wait_headers(seconds: float) -> dict[str, str]:
    """``Retry-After`` (integer seconds, at least 1) and ``Retry-After-Ms`` for a wait."""
    ms = max(1, math.ceil(seconds * 1000 - 1e-6))
    return {"Retry-After": str(max(1, math.ceil(ms / 1000))), "Retry-After-Ms": str(ms)}


def host_allowed(host_header: str | None, bound_host: str, port: int) -> bool:
    """Whether ``Host`` names us: our port, and an IP literal, ``localhost`` or the bound name.

    A rebinding page reaches our socket under its own domain name; its ``Host`` is that name.
    """
    if not host_header:
        return False
    host, _, port_text = (
        host_header.rpartition(":") if not host_header.endswith("]") else (host_header, "", "")
    )
    if not host:  # no port given
        host, port_text = host_header, "80"
    if port_text != str(port):
        return False
    host = host.strip("[]").lower()
    if host in {"localhost", bound_host.lower()}:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_control(request: Any, token: str, bound_host: str, port: int) -> None:
    """Refuse a control call that is not from a local script holding the token (403 / 415)."""
    if not host_allowed(request.headers.get("Host"), bound_host, port):
        raise Forbidden(
            "Control routes answer requests addressed to the emulator's own host and port only."
        )
    sent = request.headers.get(TOKEN_HEADER) or ""
    if not hmac.compare_digest(sent.encode(), token.encode()):
        raise Forbidden(
            f"Control routes need the emulator's control token in {TOKEN_HEADER} "
            "(printed by python -m kubeez_nb.emulator; Emulator.control_token in Python).",
            code="control_token_required",
        )
    has_body = bool(request.content_length or request.headers.get("Transfer-Encoding"))
    if request.method == "POST" and has_body and request.mimetype != "application/json":
        raise UnsupportedMediaType(
            "Control routes take Content-Type: application/json bodies only."
        )


def read_json(request: Any, max_bytes: int, max_depth: int) -> Any:
    """The parsed JSON body (``None`` when empty), read with a byte cap and a nesting cap."""
    length = request.content_length
    if length is not None and length > max_bytes:
        request.environ[BODY_UNREAD] = True
        raise PayloadTooLarge(f"The JSON body is {length} bytes; the limit is {max_bytes} bytes.")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        request.environ[BODY_UNREAD] = True
        raise PayloadTooLarge(f"The JSON body is over the {max_bytes}-byte limit.")
    if not raw.strip():
        return None
    if raw.count(b"[") + raw.count(b"{") > max_depth and nesting(raw) > max_depth:
        raise InvalidRequest(f"The JSON body nests deeper than {max_depth} levels.")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from None


def nesting(raw: bytes) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    in_str = escaped = False
    for ch in raw:
        if in_str:
            if escaped:
                escaped = False
            elif ch == 0x5C:  # backslash
                escaped = True
            elif ch == 0x22:
                in_str = False
        elif ch == 0x22:
            in_str = True
        elif ch in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif ch in (0x5D, 0x7D):
            depth -= 1
    return deepest
