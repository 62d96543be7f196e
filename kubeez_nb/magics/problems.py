"""Turning problems and client errors into ``UsageError`` text that names the option to change
and prints the corrected command."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import re
from collections.abc import Iterator, Sequence
from typing import Any

from IPython.core.error import UsageError

from kubeez_nb.magics.options import _FLAG_OF
from kubeez_nb.magics.parse import _IDENT_RE, _Parsed


@contextlib.contextmanager
def _user_errors(p: _Parsed) -> Iterator[None]:
    """Turn client errors into ``UsageError`` with their own "what to do" text (no traceback)."""
    from kubeez_nb.errors import ConfirmationRequired, KubeezError, ValidationError

    try:
        yield
    except ValidationError as err:
        raise UsageError(_problem_text(err.problems, p)) from None
    except ConfirmationRequired as err:
        raise UsageError(_confirm_text(err, p)) from None
    except KubeezError as err:
        notes = "".join("\n" + n for n in getattr(err, "__notes__", ()))
        raise UsageError(str(err) + notes) from None


def _confirm_text(err: Any, p: _Parsed) -> str:
    """Above ``%config Kubeez.confirm_above``: what it costs, and the same line with ``--yes``."""
    cost, threshold = getattr(err, "estimate", None), getattr(err, "threshold", None)
    if cost is None or threshold is None:
        return f"{err.message}. Nothing was sent; add --yes to go ahead."
    rest = p.line.strip()[len(p.command.name) :].strip()
    return (
        f"This costs ≈ {cost:g} credits, above your confirm threshold of {threshold:g} "
        f"(%config Kubeez.confirm_above). Nothing was sent. To go ahead, add --yes:\n"
        f"  %kubeez {(p.command.name + ' ') if p.command.name else ''}--yes {rest}"
    )


def _add_note(err: BaseException, note: str) -> None:
    add = getattr(err, "add_note", None)  # Python >= 3.11
    if callable(add):
        add(note)
    else:
        err.__notes__ = [*getattr(err, "__notes__", []), note]  # type: ignore[attr-defined]


def _problem(field_: str, value: Any, allowed: Any, message: str) -> Any:
    from kubeez_nb.errors import Problem

    return Problem(field_, value, allowed, message)


def _common_problems(a: argparse.Namespace) -> list[Any]:
    out = getattr(a, "out", None)
    if out and (not _IDENT_RE.match(out) or out.startswith("__")):
        return [
            _problem(
                "-o",
                out,
                None,
                f"{out!r} is not a valid variable name; use letters, digits and _ (e.g. -o foxes)",
            )
        ]
    return []


def _problem_text(problems: Sequence[Any], p: _Parsed) -> str:
    """Every problem, one per line, named by the option to change; then the corrected command."""
    n = len(problems)
    lines = [f"{n} problem{'s' if n != 1 else ''} with this request; nothing was sent:"]
    for prob in problems:
        name = getattr(prob, "field", "")
        lines.append(f"  {_FLAG_OF.get(name, name)}: {getattr(prob, 'message', prob)}")
    fixed = _corrected_command(p, problems)
    if fixed:
        lines.append(f"Try:\n  {fixed}")
    return "\n".join(lines)


def _corrected_command(p: _Parsed, problems: Sequence[Any]) -> str | None:
    """The user's line with each wrong option fixed: a value replaced by the nearest allowed one,
    an option the model does not take at all removed. None when a problem has no obvious fix."""
    edits: list[tuple[int, int, str]] = []
    for prob in problems:
        dest = getattr(prob, "field", "")
        allowed = getattr(prob, "allowed", None)
        span = p.option_spans.get(dest)
        if span is None:
            return None
        start, end, vstart, vend = span
        if allowed in (None, [], ()):  # nothing is allowed: the fix is to leave the option out
            edits.append((start, end, ""))
            continue
        if not isinstance(allowed, (list, tuple)):
            return None
        best = _nearest(str(getattr(prob, "value", "")), [str(x) for x in allowed])
        if best is None:
            return None
        if vstart == start:  # --ar=7:3
            edits.append((start, end, f"{p.line[start:end].partition('=')[0]}={best}"))
        else:
            edits.append((vstart, vend, best))
    if not edits:
        return None
    line = p.line
    for start, end, new in sorted(edits, reverse=True):
        line = line[:start] + new + line[end:]
    return "%kubeez " + " ".join(line.split())


def _nearest(value: str, allowed: list[str]) -> str | None:
    """Closest allowed value: by number for ratios and durations, by spelling otherwise."""

    def number(s: str) -> float | None:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*", s)
        if m and float(m.group(2)):
            return float(m.group(1)) / float(m.group(2))
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[a-zA-Z]*\s*", s)
        return float(m.group(1)) if m else None

    v = number(value)
    numeric = [(n, a) for a in allowed if (n := number(a)) is not None]
    if v is not None and numeric:
        return min(numeric, key=lambda na: abs(na[0] - v))[1]
    near = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    return near[0] if near else None


def _group(jobs: list[Any]) -> Any:
    if len(jobs) == 1:
        return jobs[0]
    from kubeez_nb.job import JobGroup

    return JobGroup(jobs)
