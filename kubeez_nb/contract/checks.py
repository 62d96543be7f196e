"""The value checks every rule is made of: a :class:`_Checker` that collects problems, option and
duration matching, source media (:func:`split_sources`, from ``wire``), and input hygiene shared by every front
end (text the wire cannot carry; ``timeout`` / ``budget`` style numbers).

``text_problems(params)`` finds strings (at any depth of a request body) that hold a NUL byte or
invalid Unicode (a lone surrogate, typically from a broken copy-paste or a ``surrogateescape``
decode). Such text cannot be sent as JSON honestly: the server would see it mangled or refuse
it after the job was billed, so ``rules.validate`` reports it before any HTTP.

``check_seconds`` / ``check_credits`` refuse ``nan``, negatives, strings and booleans for the
``timeout`` / ``budget`` style arguments with a ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from kubeez_nb.contract.catalog import Model, suggest
from kubeez_nb.contract.wire import Source as Source
from kubeez_nb.contract.wire import media_kind
from kubeez_nb.contract.wire import seconds as parse_seconds
from kubeez_nb.contract.wire import split_sources as split_sources
from kubeez_nb.errors import Problem

# ---------------------------------------------------------------------------------------------
# Source media
# ---------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…'"


def _fmt_options(options: list[str], rng: tuple[int, int] | None = None) -> str:
    if rng:
        return (
            f"any whole number of seconds from {rng[0]} to {rng[1]} ({options[0]} … {options[-1]})"
        )
    return ", ".join(options)


def _match_option(value: Any, options: list[str]) -> str | None:
    """The catalog's spelling of ``value`` among ``options`` (exact, then case-insensitive)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value)
    if text in options:
        return text
    low = text.strip().lower()
    for opt in options:
        if opt.lower() == low:
            return opt
    return None


def _match_duration(value: Any, options: list[str]) -> str | None:
    sec = parse_seconds(value)
    if sec is None:
        return None
    for opt in options:
        if parse_seconds(opt) == sec:
            return opt
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def link_problem(value: Any) -> str | None:
    """Why ``value`` is not a link the service can take, or None when it is one: ``"space"``
    (whitespace inside), ``"scheme"`` (not http(s), a root-relative path or a ``data:`` URL) or
    ``"host"`` (``https://`` with no host). Local syntax only: nothing is fetched."""
    if not isinstance(value, str):
        return "scheme"
    text = value.strip()
    if any(ch.isspace() for ch in text):
        return "space"
    if re.match(r"^data:\S", text, re.IGNORECASE):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:  # a malformed port or IPv6 literal
        return "scheme"
    if parts.scheme.lower() not in ("http", "https"):
        return "scheme"
    return None if host else "host"


def _looks_like_url(value: Any) -> bool:
    return link_problem(value) is None


def _documented_in(name: str, notes: str) -> bool:
    """A field the model's usage notes describe is accepted (grok: "mode can be 'fun', ...").

    Identifier-like names (``code_switching``) count when named at all; plain words only as the
    subject of a sentence that quotes values, so an ordinary word such as "image" in prose does not.
    """
    if not notes or not name:
        return False
    word = re.escape(name)
    if "_" in name:
        return bool(re.search(rf"\b{word}\b", notes))
    # the subject of a sentence that quotes its values: "mode sets ...: 'fun', 'normal' ..."
    return bool(re.search(rf"(?:^|[.;]\s+){word}\b[^.]*'[^']+'", notes))


class _Checker:
    """Collects problems for one request (one instance per validate() call)."""

    def __init__(self, model: Model | None, kind: str, params: Mapping[str, Any]) -> None:
        self.model = model
        self.kind = kind
        self.params = {k: v for k, v in params.items() if v is not None}
        self.problems: list[Problem] = []
        self.name = model.id if model else kind

    def add(
        self, fld: str, value: Any, allowed: Any, message: str, code: str = "invalid_request"
    ) -> None:
        self.problems.append(Problem(fld, value, allowed, message, code))

    # generic checks ------------------------------------------------------------------------
    def required(self, fld: str, what: str) -> Any:
        value = self.params.get(fld)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add(fld, value, what, f"is required: give {what}", code=f"missing_{fld}")
            return None
        return value

    def text(
        self, fld: str, cap: int | None, *, required: bool = False, what: str = "text"
    ) -> None:
        value = self.params.get(fld)
        if value is None:
            if required:
                self.required(fld, what)
            return
        if not isinstance(value, str):
            self.add(fld, value, what, f"{_fmt(value)} is not text; give {what}")
            return
        if not value.strip():
            if required:
                self.required(fld, what)
            else:  # sent blank, a field is billed like a real one: say so rather than send it
                self.add(fld, value, what, f"is empty; give {what} or leave {fld} out",
                         code=f"empty_{fld}")  # fmt: skip
            return
        if cap is not None and len(value) > cap:
            self.add(
                fld,
                f"{len(value)} characters",
                f"at most {cap} characters",
                f"is {len(value)} characters long; {self.name} takes at most {cap}. Shorten it by {len(value) - cap}.",
            )

    def choice(
        self, fld: str, options: list[str] | tuple[str, ...], code: str = "invalid_request"
    ) -> None:
        value = self.params.get(fld)
        if value is None:
            return
        if _match_option(value, list(options)) is None:
            self.add(
                fld,
                value,
                list(options),
                f"{_fmt(value)} is not offered by {self.name}; choose one of {', '.join(options)}",
                code=code,
            )

    def number(self, fld: str, lo: float, hi: float, *, integer: bool = False) -> None:
        value = self.params.get(fld)
        if value is None:
            return
        ok = _is_number(value) and lo <= value <= hi
        if ok and integer and not float(value).is_integer():
            ok = False
        if not ok:
            kind = "a whole number" if integer else "a number"
            self.add(
                fld,
                value,
                (lo, hi),
                f"{_fmt(value)} is out of range; give {kind} from {lo:g} to {hi:g}",
            )

    def boolean(self, fld: str) -> None:
        value = self.params.get(fld)
        if value is not None and not isinstance(value, bool):
            self.add(
                fld, value, [True, False], f"{_fmt(value)} is not a boolean; give True or False"
            )

    def url(self, fld: str, *, required: bool = False, what: str = "a public http(s) URL") -> None:
        value = self.params.get(fld)
        if value is None:
            if required:
                self.required(fld, what)
            return
        if not _looks_like_url(value):
            extra = (
                " (upload a local file first with client.upload(path))"
                if isinstance(value, str)
                else ""
            )
            self.add(fld, value, what, f"{_fmt(value)} is not a URL; give {what}{extra}")
            return
        # The model's input_media_types say what the route reads (captions: video/audio).
        takes = self.model.input_media_types if self.model else []
        kind = media_kind(value)
        if takes and kind is not None and kind not in takes:
            self.add(
                fld,
                value,
                list(takes),
                f"{_fmt(value)} looks like {kind}; {self.name} reads {' or '.join(takes)}",
            )

    def unknown_fields(
        self, known: list[str] | tuple[str, ...], shown: list[str] | None = None
    ) -> None:
        """Flag fields the route does not take; ``shown`` lists what this model accepts."""
        notes = self.model.usage_notes if self.model else ""
        shown = list(known) if shown is None else shown
        for fld in self.params:
            if fld in known:
                continue
            if _documented_in(str(fld), notes):
                continue
            close = suggest(str(fld), list(known))
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.add(
                str(fld),
                self.params[fld],
                shown,
                f"is not a field of the {self.kind} request{hint} (accepted: {', '.join(shown)})",
            )


# ---------------------------------------------------------------------------------------------
# Input hygiene
# ---------------------------------------------------------------------------------------------


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
