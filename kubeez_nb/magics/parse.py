"""Parsing a ``%kubeez`` line: tokens, the subcommand, its options and the verbatim free text;
``{name}`` interpolation from the notebook's variables."""

from __future__ import annotations

import argparse
import difflib
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from kubeez_nb.magics.options import _BY_NAME, _SUBCOMMANDS, _Command

# A quoted token counts only when the quote closes before whitespace, so apostrophes inside
# prompt words ("a fox's den") never swallow the rest of the line.
_TOKEN_RE = re.compile(
    r"""(?P<q>"[^"]*"|'[^']*')(?=\s|$)|(?P<kv>--?[\w-]+=(?:"[^"]*"|'[^']*'))(?=\s|$)|\S+"""
)
_NUMBER_RE = re.compile(r"^-\d+(\.\d+)?$")
_IDENT_RE = re.compile(r"^[A-Za-z_]\w*$")
# {name}, {name.attr}, {name[0]}, with optional !conversion and :format; other braces stay as typed
_FIELD_RE = re.compile(
    r"\{\{|\}\}|\{([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\]{}]*\])*)(![rsa])?(:[^{}]*)?\}"
)


@dataclass(frozen=True)
class _Token:
    text: str  # unquoted value
    start: int
    end: int
    quoted: bool


def _tokens(line: str) -> list[_Token]:
    out = []
    for m in _TOKEN_RE.finditer(line):
        raw = m.group(0)
        if m.group("q"):
            out.append(_Token(raw[1:-1], m.start(), m.end(), True))
        elif m.group("kv"):
            flag, _, value = raw.partition("=")
            out.append(_Token(f"{flag}={value[1:-1]}", m.start(), m.end(), False))
        else:
            out.append(_Token(raw, m.start(), m.end(), False))
    return out


@dataclass
class _Parsed:
    """A parsed ``%kubeez`` line."""

    command: _Command
    args: argparse.Namespace
    words: list[_Token]  # free-text tokens, in order
    text: str  # the free text, verbatim from the line
    line: str  # the (interpolated) line, to rebuild a corrected command
    #: dest -> (start, end) of the whole option in ``line``, then (start, end) of its value
    option_spans: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    cell: str | None = None  # the %%kubeez cell body, interpolated

    @property
    def prompt(self) -> str:
        """The cell body in ``%%kubeez``, else the free text of the line."""
        return self.cell if self.cell is not None else self.text

    def text_after(self, n_words: int) -> str:
        """The free text without its first ``n_words`` words (e.g. after ``extend JOB``)."""
        rest = self.words[n_words:]
        return _join(self.line, rest)


def _join(line: str, words: Sequence[_Token]) -> str:
    """The verbatim text of ``words``: contiguous runs are copied from the line, runs joined by a space."""
    if not words:
        return ""
    if len(words) == 1 and words[0].quoted:
        return words[0].text
    first = words[0]
    head = ""
    if first.quoted and first.text in _BY_NAME:  # "models" quoted only to escape the subcommand
        head, words = first.text, words[1:]
        if not words:
            return head
    runs: list[str] = [head] if head else []
    start, prev_end = words[0].start, words[0].end
    for w in words[1:]:
        if line[prev_end : w.start].strip():  # an option sat between: close the run
            runs.append(line[start:prev_end])
            start = w.start
        prev_end = w.end
    runs.append(line[start:prev_end])
    return " ".join(r.strip() for r in runs)


def _parse(line: str) -> _Parsed:
    """Split ``line`` into subcommand, options (parsed by its magic_arguments parser) and free text."""
    toks = _tokens(line)
    command = _BY_NAME[""]
    if toks and not toks[0].quoted and toks[0].text in _BY_NAME and toks[0].text:
        command = _BY_NAME[toks[0].text]
        toks = toks[1:]
    elif toks and not toks[0].quoted:
        _refuse_typo(line, toks)
    parser = command.parser()
    actions = parser._option_string_actions  # flag -> argparse.Action (argparse's own table)
    argv: list[str] = []
    words: list[_Token] = []
    unknown: list[str] = []
    spans: dict[str, tuple[int, int, int, int]] = {}
    i = 0
    while i < len(toks):
        tok = toks[i]
        i += 1
        if tok.text == "--" and not tok.quoted:
            words.extend(toks[i:])
            break
        if (
            tok.quoted
            or not tok.text.startswith("-")
            or tok.text == "-"
            or _NUMBER_RE.match(tok.text)
        ):
            words.append(tok)
            continue
        flag, eq, value = tok.text.partition("=")
        if (
            flag not in actions
            and not flag.startswith("--")
            and flag[:2] in actions
            and len(flag) > 2
        ):
            flag, eq, value = flag[:2], "=", flag[2:]  # -n4
        action = actions.get(flag)
        if action is None:
            unknown.append(flag)
            continue
        if action.nargs == 0:
            argv.append(flag)
            continue
        if eq:
            argv += [flag, value]
            spans[action.dest] = (tok.start, tok.end, tok.start, tok.end)
        elif i < len(toks):
            argv += [flag, toks[i].text]
            spans[action.dest] = (tok.start, toks[i].end, toks[i].start, toks[i].end)
            i += 1
        else:
            argv.append(flag)  # argparse reports "expected one argument"
    if unknown:
        raise UsageError(_unknown_options(unknown, parser, command))
    try:
        # "--opt=value" keeps values that start with a dash (e.g. a negative number) as values
        args = parser.parse_args(_glue(argv, actions))
    except UsageError as err:
        raise UsageError(f"{err}\nusage: {command.usage}\n(%kubeez? lists every option)") from None
    return _Parsed(command, args, words, _join(line, words), line, spans)


def _distance(a: str, b: str) -> int:
    """Edit distance counting a swap of two neighbours as one edit (optimal string alignment)."""
    d = [[i + j if not i * j else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def _near_subcommand(word: str, n_words: int) -> str | None:
    """The subcommand ``word`` is probably a typo of, else None.

    Short words need one insertion, deletion or swap ("sya", "jobz" is a prompt); longer ones one
    edit, or two when the whole prompt is at most two words ("balanse", "hisotry 20").
    """
    word = word.lower()
    if not word.isalpha() or word in _BY_NAME:
        return None
    best = min(_SUBCOMMANDS, key=lambda name: _distance(word, name))
    dist = _distance(word, best)
    if len(word) <= 4:
        substitution = len(word) == len(best) and sorted(word) != sorted(best)
        return best if dist == 1 and not substitution else None
    limit = 2 if n_words <= 2 and len(word) >= 7 else 1
    return best if dist <= limit else None


def _refuse_typo(line: str, toks: Sequence[_Token]) -> None:
    """A prompt whose first word misspells a subcommand is a ``UsageError``, never a paid image."""
    n_words = sum(1 for t in toks if t.quoted or not t.text.startswith("-"))
    first = toks[0]
    near = _near_subcommand(first.text, n_words)
    if near is None:
        return
    rest = line[first.end :].strip()
    fixed = f"%kubeez {near} {rest}".strip()
    raise UsageError(
        f"{first.text!r} is not a subcommand; did you mean `{near}`? Nothing was sent.\n"
        f"  {fixed}\n"
        f"To generate it as a prompt, put it after --:  %kubeez -- {line.strip()}"
    )


def _glue(argv: list[str], actions: dict[str, argparse.Action]) -> list[str]:
    out: list[str] = []
    it = iter(argv)
    for flag in it:
        action = actions.get(flag)
        if action is not None and action.nargs != 0 and flag.startswith("--"):
            value = next(it, None)
            out.append(flag if value is None else f"{flag}={value}")
        else:
            out.append(flag)
    return out


def _unknown_options(unknown: list[str], parser: MagicArgumentParser, command: _Command) -> str:
    known = sorted(parser._option_string_actions)
    lines = []
    for flag in unknown:
        near = difflib.get_close_matches(flag, known, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]}?" if near else ""
        lines.append(f"unknown option {flag} for %kubeez {command.name}".rstrip() + hint)
    lines.append(
        f"usage: {command.usage}\n(%kubeez? lists every option; text that starts with a dash goes after --)"
    )
    return "\n".join(lines)


def interpolate(text: str, namespace: dict[str, Any]) -> str:
    """Fill ``{name}`` fields (``{name.attr}``, ``{name[0]}``, ``{x:.2f}``) from ``namespace``.

    ``{{`` / ``}}`` give literal braces; braces around anything that is not a field (``:{``, JSON)
    stay as typed. Names that are not defined raise ``UsageError`` listing all of them, so a prompt
    is never sent with an unfilled placeholder.
    """
    formatter = string.Formatter()
    missing: list[str] = []

    def fill(m: re.Match[str]) -> str:
        whole, name = m.group(0), m.group(1)
        if whole in ("{{", "}}"):
            return whole[0]
        try:
            value, _ = formatter.get_field(name, (), namespace)
        except (KeyError, AttributeError, IndexError, TypeError) as err:
            missing.append(
                name if isinstance(err, KeyError) else f"{name} ({type(err).__name__}: {err})"
            )
            return whole
        conv, spec = m.group(2), m.group(3)
        value = formatter.convert_field(value, conv[1] if conv else None)
        try:
            return formatter.format_field(value, spec[1:] if spec else "")
        except (TypeError, ValueError) as err:
            missing.append(f"{name} (format {spec!r}: {err})")
            return whole

    result = _FIELD_RE.sub(fill, text)
    if missing:
        names = ", ".join("{" + n + "}" for n in missing)
        raise UsageError(
            f"Cannot fill {names} from the notebook's variables. Define them first "
            '(e.g. subject = "a lighthouse"), or double the braces ({{like this}}) to keep them literally.'
        )
    return result
