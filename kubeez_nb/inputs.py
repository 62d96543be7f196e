"""Input hygiene shared by every front end: text the wire cannot carry, and numeric arguments.

``text_problems(params)`` finds strings (at any depth of a request body) that hold a NUL byte or
invalid Unicode (a lone surrogate, typically from a broken copy-paste or a ``surrogateescape``
decode). Such text cannot be sent as JSON honestly: the server would see it mangled or refuse
it after the job was billed, so ``catalog.validate`` reports it before any HTTP.

``check_seconds`` / ``check_credits`` refuse ``nan``, negatives, strings and booleans for the
``timeout`` / ``budget`` style arguments with a ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kubeez_nb.errors import Problem


def _bad_char(text: str) -> tuple[str, int] | None:
    """``("nul" | "surrogate", position)`` of the first character the wire cannot carry."""
    for i, ch in enumerate(text):
        if ch == "\x00":
            return "nul", i
        if "\ud800" <= ch <= "\udfff":  # a str that is valid Unicode holds no surrogate code points
            return "surrogate", i
    return None


def printable(value: Any, limit: int = 60) -> str:
    """``value`` as text that can be printed anywhere (surrogates and NULs escaped), capped."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_problems(params: Mapping[str, Any], prefix: str = "") -> list[Problem]:
    """A :class:`Problem` for every string in ``params`` holding a NUL or a lone surrogate."""
    problems: list[Problem] = []

    def visit(name: str, value: Any) -> None:
        if isinstance(value, str):
            bad = _bad_char(value)
            if bad is None:
                return
            what, pos = bad
            if what == "nul":
                message = (
                    f"contains a NUL character (\\x00) at position {pos}; remove it "
                    "(text.replace('\\x00', ''))"
                )
                code = "invalid_text"
            else:
                message = (
                    f"contains invalid Unicode (a lone surrogate {printable(value[pos])} at "
                    f"position {pos}, usually a broken copy-paste or decode); fix the text, e.g. "
                    "text.encode('utf-8', 'replace').decode('utf-8')"
                )
                code = "invalid_unicode"
            problems.append(Problem(name, printable(value), "text without NUL or lone surrogates",
                                    message, code))  # fmt: skip
        elif isinstance(value, Mapping):
            for key, item in value.items():
                key_text = str(key)
                if _bad_char(key_text) is not None:
                    problems.append(Problem(f"{name}{printable(key_text)}", printable(key_text),
                                            "a plain field name",
                                            "is not a usable field name (NUL or invalid Unicode)"))  # fmt: skip
                    continue
                visit(f"{name}.{key_text}" if name else key_text, item)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                visit(f"{name}[{i}]", item)

    visit(prefix, dict(params))
    return problems


def _number(name: str, value: Any, *, allow_none: bool, allow_inf: bool, unit: str) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(
            f"{name} must be a number of {unit} (got {printable(value)} of type "
            f"{type(value).__name__}); e.g. {name}=30"
        )
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name} is NaN; give a finite number of {unit}, e.g. {name}=30")
    if number < 0:
        raise ValueError(f"{name} is negative ({number:g}); give 0 or more {unit}")
    if math.isinf(number) and not allow_inf:
        raise ValueError(f"{name} is infinite; give a finite number of {unit} or None")
    return number


def check_seconds(name: str, value: Any) -> float | None:
    """A ``timeout``: None (no limit), ``inf`` (the same as None), or a number of seconds >= 0.

    ``nan``, negatives, strings and booleans raise ``ValueError`` naming ``name``.
    """
    number = _number(name, value, allow_none=True, allow_inf=True, unit="seconds")
    return None if number is None or math.isinf(number) else number


def check_credits(name: str, value: Any) -> float | None:
    """A ``budget``-like amount: None (no cap) or a finite number of credits >= 0."""
    return _number(name, value, allow_none=True, allow_inf=False, unit="credits")


__all__ = ["check_credits", "check_seconds", "printable", "text_problems"]
