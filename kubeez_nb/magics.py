"""``%kubeez`` / ``%%kubeez``: quick prompts and every job kind from one line.

``%load_ext kubeez_nb`` registers the magics and the ``Kubeez`` configurable; nothing heavy is
imported until the first ``%kubeez`` runs (the client, pandas and the renderers load lazily).

The line is ``[SUBCOMMAND] [OPTIONS] PROMPT``. Options come from IPython ``magic_arguments``
parsers (``%kubeez?`` prints every one); the prompt is the rest of the line, kept verbatim. A
first word naming a subcommand selects it; to start a prompt with such a word, put the prompt
after ``--`` (``%kubeez -- models on a runway``) or quote it. ``{name}`` in the line or the cell
body is filled from the notebook's variables (``{{`` and ``}}`` stay literal braces); ``$name`` is
not expanded, because prompts often mention prices.

Every user mistake becomes a ``UsageError`` that says what to type instead; no tracebacks.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import re
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser, argument
from traitlets import Bool, Float, Unicode
from traitlets.config import Configurable

# ---------------------------------------------------------------------------------------------
# Configuration (%config Kubeez.<trait> = ...)
# ---------------------------------------------------------------------------------------------


class Kubeez(Configurable):
    """Defaults of the ``%kubeez`` magic; set with ``%config Kubeez.default_model = "flux-2-1K"``."""

    default_model = Unicode(
        "nano-banana-2",
        help="Image model for %kubeez PROMPT. If the live catalog lacks it, the catalog's first "
        "text-to-image model is used (and named).",
    ).tag(config=True)
    default_video_model = Unicode(
        "kling-3-0-std",
        help="Video model for --video, or when --duration / --sound is given without -m.",
    ).tag(config=True)
    default_music_model = Unicode("V5", help="Model for %kubeez music.").tag(config=True)
    default_voice = Unicode("", help="Voice for %kubeez say when --voice is not given (empty: the API's default).").tag(
        config=True
    )
    confirm_above = Float(
        100.0,
        allow_none=True,
        help="A request estimated above this many credits needs --yes (None: never ask).",
    ).tag(config=True)
    wait = Bool(True, help="Wait for results (with progress) unless --no-wait is given.").tag(config=True)
    progress = Bool(True, help="Show a progress bar while waiting.").tag(config=True)
    history_rows = Unicode("10", help="Rows shown by %kubeez history without N.").tag(config=True)


# ---------------------------------------------------------------------------------------------
# Options, as IPython magic_arguments declarations shared by the subcommand parsers
# ---------------------------------------------------------------------------------------------

_OUT = argument("-o", "--out", metavar="NAME", help="also store the result in the notebook variable NAME")
_MODEL = argument("-m", "--model", metavar="MODEL", help="model id (%%kubeez models lists them)")
_MEDIA = (
    _MODEL,
    argument("--ar", dest="aspect_ratio", metavar="RATIO", help="aspect ratio, e.g. 16:9"),
    argument("--duration", metavar="SECONDS", help="video length, e.g. 5s"),
    argument("--resolution", metavar="RES", help="resolution tier, e.g. 2K or 720p"),
    argument("--quality", metavar="QUALITY", help="quality tier, e.g. high, ultra or 1080p"),
    argument(
        "--sound",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="video sound on / off (--no-sound avoids the audio surcharge)",
    ),
    argument("--negative", dest="negative_prompt", metavar="TEXT", help="what to avoid (models that support it)"),
    argument(
        "--ref",
        action="append",
        default=[],
        metavar="REF",
        help="reference media: a URL, an asset name or a local file (uploaded for you); repeatable",
    ),
    argument("-n", dest="variants", type=int, default=1, metavar="N", help="number of variants (N jobs)"),
    argument(
        "--video",
        action="store_true",
        help="use the default video model (%%config Kubeez.default_video_model)",
    ),
)
_RUN = (
    argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="wait with progress (default); --no-wait returns the job at once, it updates itself",
    ),
    argument("--dry-run", action="store_true", help="show the request body and the estimate; send nothing"),
    argument(
        "-y",
        "--yes",
        action="store_true",
        help="submit even above %%config Kubeez.confirm_above credits",
    ),
    _OUT,
)


@dataclass(frozen=True)
class _Command:
    """One subcommand: its parser and the method that runs it."""

    name: str
    usage: str
    summary: str
    options: tuple[argument, ...]
    #: what the free text after the options means ("" = none allowed)
    text: str = ""

    def parser(self) -> MagicArgumentParser:
        parser = MagicArgumentParser(
            # argparse %-formats prog and usage; the magic's own % signs must survive
            # (IPython's help formatter adds the leading "%" of the usage line itself)
            prog=f"kubeez {self.name}".strip(),
            usage=self.usage.removeprefix("%").replace("%", "%%"),
            description=self.summary,
        )
        parser.allow_abbrev = False  # an abbreviation would silently eat prompt words
        for opt in self.options:
            opt.add_to_parser(parser, None)
        return parser


_COMMANDS: tuple[_Command, ...] = (
    _Command(
        "",
        "%kubeez [options] PROMPT   /   %%kubeez [options] + the prompt in the cell",
        "Generate an image (or a video with -m / --video): shows the estimate, waits with progress, "
        "shows the result and returns the Job (so _ holds it).",
        (*_MEDIA, *_RUN),
        "prompt",
    ),
    _Command(
        "estimate",
        "%kubeez estimate [options] PROMPT",
        "Price a request (same options as a generation); nothing is sent.",
        (*_MEDIA, _OUT),
        "prompt",
    ),
    _Command(
        "music",
        "%kubeez music [options] PROMPT   /   %%kubeez music --title T --style S + lyrics in the cell",
        "A song: simple mode from a prompt, or advanced mode with --title and --style.",
        (
            _MODEL,
            argument("--title", metavar="TITLE", help="song title (advanced mode, with --style)"),
            argument("--style", metavar="STYLE", help="style tags, e.g. 'lo-fi, warm' (with --title)"),
            argument("--lyrics", metavar="TEXT", help="the lyrics (advanced mode)"),
            argument("--description", dest="song_description", metavar="TEXT", help="describe the song instead of lyrics"),
            argument("--vocal-gender", choices=("m", "f", "random"), help="singer: m, f or random"),
            argument("--instrumental", action="store_true", default=None, help="no vocals"),
            *_RUN,
        ),
        "prompt",
    ),
    _Command(
        "say",
        "%kubeez say [--voice VOICE] TEXT",
        "Speech from text (text-to-dialogue).",
        (
            argument("--voice", metavar="VOICE", help="one of the model's voices, e.g. Rachel"),
            argument("--language", dest="language_code", metavar="CODE", help="language code, e.g. en"),
            argument("--speed", type=float, metavar="X", help="speaking speed"),
            argument("--stability", type=float, metavar="X", help="voice stability 0-1"),
            *_RUN,
        ),
        "text",
    ),
    _Command(
        "captions",
        "%kubeez captions URL|ASSET|FILE [--srt]",
        "Word-level captions of a video or audio file (synchronous).",
        (
            argument("--srt", action="store_true", help="print SubRip (.srt) text too"),
            argument("--quality", choices=("auto", "best"), default="auto", help="auto detects the language; best needs --language"),
            argument("--language", metavar="CODE", help="language code, e.g. en"),
            _OUT,
        ),
        "media",
    ),
    _Command(
        "separate",
        "%kubeez separate URL|ASSET|FILE",
        "Split a song into vocals and instrumental stems.",
        _RUN,
        "media",
    ),
    _Command(
        "extend",
        "%kubeez extend JOB [--extend-model lite|fast|quality] PROMPT",
        "Continue a finished Veo 3.1 clip. JOB is a variable holding the Job, _ , or a job id.",
        (
            argument("--extend-model", choices=("lite", "fast", "quality"), default="fast", help="extend tier (default fast)"),
            *_RUN,
        ),
        "job+prompt",
    ),
    _Command("models", "%kubeez models [TYPE|SEARCH]", "The model catalog: id, type, price, pricing note.", (_OUT,), "query"),
    _Command("balance", "%kubeez balance", "Your credit balance.", (_OUT,)),
    _Command(
        "history",
        "%kubeez history [N] [-m MODEL] [--status STATUS]",
        "Your latest generations (newest first) as a DataFrame.",
        (_MODEL, argument("--status", metavar="STATUS", help="e.g. completed or failed"), _OUT),
        "count",
    ),
    _Command("cost", "%kubeez cost", "Cost report of your history: tables and charts.", (_OUT,)),
    _Command("assets", "%kubeez assets", "Your asset library (names usable with --ref).", (_OUT,)),
    _Command(
        "jobs",
        "%kubeez jobs [--unfinished]",
        "Jobs this machine submitted (the local ledger).",
        (argument("--unfinished", action="store_true", help="only jobs still running"), _OUT),
    ),
    _Command("resume", "%kubeez resume", "Re-attach to unfinished jobs from earlier sessions.", (_OUT,)),
    _Command("demo", "%kubeez demo", "Start the local emulator and switch the magic to it (no credits spent).", ()),
    _Command("use", "%kubeez use VAR", "Make the magic use the kz.Client stored in the variable VAR.", (), "name"),
    _Command("help", "%kubeez help", "This help.", ()),
)
_BY_NAME: dict[str, _Command] = {c.name: c for c in _COMMANDS}
_SUBCOMMANDS = tuple(c.name for c in _COMMANDS if c.name)

# CLI flag of each request field, to point at the option to change in error messages.
_FLAG_OF = {
    "model": "-m",
    "aspect_ratio": "--ar",
    "duration": "--duration",
    "resolution": "--resolution",
    "quality": "--quality",
    "sound": "--sound",
    "negative_prompt": "--negative",
    "source_media_urls": "--ref",
    "voice": "--voice",
    "extend_model": "--extend-model",
    "vocal_gender": "--vocal-gender",
}
_MEDIA_FIELDS = ("aspect_ratio", "duration", "resolution", "quality", "sound", "negative_prompt")

_NO_CLIENT = (
    "No Kubeez API key. Set it for this kernel with\n"
    "    %env KUBEEZ_API_KEY=sk_live_...\n"
    "(or export it before starting Jupyter), or try everything locally with\n"
    "    %kubeez demo"
)


def _help_text() -> str:
    """The ``%kubeez?`` text: every subcommand with its options."""
    parts = [
        "%kubeez / %%kubeez: Kubeez generations from one line.\n",
        "Examples:\n"
        "  %kubeez a red fox in snow\n"
        "  %kubeez -m kling-3-0-std --duration 5s --no-sound --ar 16:9 a fox running at dawn\n"
        "  %kubeez --dry-run --ar 16:9 a red fox        (body + estimate, nothing sent)\n"
        "  %kubeez --ref logo.png --ref my-asset a poster\n"
        "  %kubeez -n 4 --no-wait -o foxes four foxes\n"
        "  %%kubeez --ar 9:16      (cell body = prompt; {name} is filled from your variables)\n"
        "  %config Kubeez.default_model = \"flux-2-1K\"\n\n"
        "Options go before the prompt; put a prompt that starts with a subcommand word or a dash\n"
        "after -- (%kubeez -- models on a runway). {{ and }} give literal braces.\n",
    ]
    for cmd in _COMMANDS:
        parts.append("-" * 72 + "\n" + cmd.parser().format_help())
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Parsing: tokens, options, free text
# ---------------------------------------------------------------------------------------------

# A quoted token counts only when the quote closes before whitespace, so apostrophes inside
# prompt words ("a fox's den") never swallow the rest of the line.
_TOKEN_RE = re.compile(
    r"""(?P<q>"[^"]*"|'[^']*')(?=\s|$)|(?P<kv>--?[\w-]+=(?:"[^"]*"|'[^']*'))(?=\s|$)|\S+"""
)
_NUMBER_RE = re.compile(r"^-\d+(\.\d+)?$")
_IDENT_RE = re.compile(r"^[A-Za-z_]\w*$")
# {name}, {name.attr}, {name[0]}, with optional !conversion and :format; other braces stay as typed
_FIELD_RE = re.compile(r"\{\{|\}\}|\{([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\]{}]*\])*)(![rsa])?(:[^{}]*)?\}")


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
    option_spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # dest -> span of its value
    cell: str | None = None  # the %%kubeez cell body, interpolated
    problems: list[Any] = field(default_factory=list)  # the client's Problem records, for "Try:"

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
    parser = command.parser()
    actions = parser._option_string_actions  # flag -> argparse.Action (argparse's own table)
    argv: list[str] = []
    words: list[_Token] = []
    unknown: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    i = 0
    while i < len(toks):
        tok = toks[i]
        i += 1
        if tok.text == "--" and not tok.quoted:
            words.extend(toks[i:])
            break
        if tok.quoted or not tok.text.startswith("-") or tok.text == "-" or _NUMBER_RE.match(tok.text):
            words.append(tok)
            continue
        flag, eq, value = tok.text.partition("=")
        if flag not in actions and not flag.startswith("--") and flag[:2] in actions and len(flag) > 2:
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
            spans[action.dest] = (tok.start, tok.end)
        elif i < len(toks):
            argv += [flag, toks[i].text]
            spans[action.dest] = (toks[i].start, toks[i].end)
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
            missing.append(name if isinstance(err, KeyError) else f"{name} ({type(err).__name__}: {err})")
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
            "(e.g. subject = \"a lighthouse\"), or double the braces ({{like this}}) to keep them literally."
        )
    return result


# ---------------------------------------------------------------------------------------------
# Small display records returned by subcommands
# ---------------------------------------------------------------------------------------------


@dataclass
class DryRun:
    """What ``--dry-run`` / ``estimate`` would send: the body, the estimate and the job count."""

    body: dict[str, Any]
    estimate: Any
    count: int = 1
    endpoint: str = "/v1/generate/media"

    @property
    def credits(self) -> float | None:
        """Estimated credits for all ``count`` jobs (None when the price depends on the server)."""
        one = _credits(self.estimate)
        return None if one is None else one * self.count

    def _text(self) -> str:
        times = f"{self.count} × " if self.count > 1 else ""
        return (
            f"Dry run: nothing sent. Would POST {times}{self.endpoint}\n"
            f"{json.dumps(self.body, indent=2, ensure_ascii=False)}\n{_estimate_line(self.estimate, self.count)}"
        )

    def __repr__(self) -> str:
        return self._text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        import html

        return {"text/plain": self._text(), "text/html": f"<pre>{html.escape(self._text())}</pre>"}


def _credits(estimate: Any) -> float | None:
    if estimate is None:
        return None
    try:
        return float(estimate)
    except (TypeError, ValueError):
        return None


def _estimate_line(estimate: Any, count: int = 1) -> str:
    """``≈ 56 credits (4 × 14; flat price per generation)`` from an Estimate."""
    one = _credits(estimate)
    if one is None:
        return "≈ price known after the job (billed by the server on the actual media)"
    how = ""
    for attr in ("formula", "explanation", "note", "breakdown"):
        value = getattr(estimate, attr, None)
        if isinstance(value, str) and value:
            how = value
            break
    detail = "; ".join(p for p in (f"{count} × {one:g}" if count > 1 else "", how) if p)
    return f"≈ {one * count:g} credits" + (f" ({detail})" if detail else "")


# ---------------------------------------------------------------------------------------------
# The magics
# ---------------------------------------------------------------------------------------------


@magics_class
class KubeezMagics(Magics):
    """``%kubeez`` and ``%%kubeez``; one client per shell, created on first use."""

    def __init__(self, shell: Any, config: Kubeez) -> None:
        super().__init__(shell)
        self.settings = config
        self._client: Any = None

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The client the magic uses: ``kz.connect()`` on first use (key or KUBEEZ_DEMO from the env)."""
        if self._client is None:
            from kubeez_nb import _config

            if not os.environ.get(_config.ENV_API_KEY) and not _config.env_flag(_config.ENV_DEMO):
                raise UsageError(_NO_CLIENT)
            from kubeez_nb.client import connect

            self._client = connect()
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self._client = value

    @no_var_expand
    @line_cell_magic
    def kubeez(self, line: str, cell: str | None = None) -> Any:
        # replaced by _help_text() below, so %kubeez? prints every subcommand and option
        ns = self.shell.user_ns if self.shell is not None else {}
        parsed = _parse(interpolate(line, ns))
        if cell is not None and cell.strip():
            if parsed.command.text in ("", "media", "query", "count", "name"):
                raise UsageError(
                    f"%%kubeez {parsed.command.name} takes no cell body; "
                    f"write it on one line: {parsed.command.usage}"
                )
            body = interpolate(cell.strip(), ns)
            if parsed.command.text == "job+prompt":
                if len(parsed.words) > 1:
                    raise UsageError("Give the prompt either after JOB on the line or in the cell, not both.")
            elif parsed.text:
                raise UsageError(
                    "Give the prompt either on the line or in the cell, not both "
                    "(the %%kubeez line holds only options)."
                )
            parsed.cell = body
        else:
            parsed.cell = None
        handler: Callable[[_Parsed], Any] = getattr(self, "_cmd_" + (parsed.command.name or "generate"))
        with _user_errors(parsed):
            result = handler(parsed)
        out = getattr(parsed.args, "out", None)
        if out and result is not None:
            self.shell.user_ns[out] = result
        return result

    kubeez.__doc__ = _help_text()

    # -- generation -------------------------------------------------------------------------

    def _cmd_generate(self, p: _Parsed, *, estimate_only: bool = False) -> Any:
        a = p.args
        prompt = p.cell if p.cell is not None else p.text
        problems = _common_problems(a)
        if not prompt and not a.ref:
            self._no_prompt(p)
        if a.variants < 1 or a.variants > 100:
            problems.append(f"-n: {a.variants} variants; give a number from 1 to 100")
        client = self.client
        video = bool(a.video or a.duration or a.sound is not None)
        model_id = a.model or self._default_model("video" if video else "image")
        params: dict[str, Any] = {k: getattr(a, k) for k in _MEDIA_FIELDS if getattr(a, k) is not None}
        model = _model_or_none(client, model_id)
        if model is not None and "duration" in params:
            params["duration"] = _catalog_duration(model, params["duration"])
        refs, local = self._resolve_refs(a.ref, problems, upload=False)
        if refs:
            params["source_media_urls"] = refs
        problems += _validation_problems(client, model_id, "media", p, prompt=prompt or None, **params)
        if problems:
            raise UsageError(_problem_text(problems, p))
        estimate = client.estimate(model=model_id, kind="media", **params)
        body = {"model": model_id, **({"prompt": prompt} if prompt else {}), **params}
        if estimate_only or getattr(a, "dry_run", False):
            return DryRun(body, estimate, a.variants)
        print(f"{model_id}: {_estimate_line(estimate, a.variants)}")
        self._confirm(_credits(estimate), a.variants, a.yes, p)
        if local:
            params["source_media_urls"] = self._upload_refs(refs, local)
        jobs: list[Any] = []
        try:
            for _ in range(a.variants):
                jobs.append(client.generate_media(model_id, prompt=prompt or None, **params))
        except Exception as err:
            if jobs:  # some credits are already committed: say so and keep the handles
                self.shell.user_ns["_kubeez_partial"] = _group(jobs)
                _add_note(err, f"{len(jobs)} of {a.variants} jobs were submitted before this error; "
                          "they are in _kubeez_partial (and kz.jobs()).")
            raise
        return self._finish(_group(jobs), a)

    def _cmd_estimate(self, p: _Parsed) -> Any:
        return self._cmd_generate(p, estimate_only=True)

    def _cmd_music(self, p: _Parsed) -> Any:
        a = p.args
        problems = _common_problems(a)
        text = p.text
        params: dict[str, Any] = {
            k: getattr(a, k)
            for k in ("title", "style", "lyrics", "song_description", "vocal_gender", "instrumental")
            if getattr(a, k) is not None
        }
        if p.cell is not None:
            if "lyrics" in params:
                problems.append("--lyrics: the cell body already holds the lyrics; give them once")
            params["lyrics"] = p.cell
            if not (a.title and a.style):
                problems.append(
                    "lyrics need advanced mode: add --title and --style on the %%kubeez music line "
                    "(e.g. %%kubeez music --title Dawn --style 'lo-fi, warm')"
                )
        elif text and ("title" in params or "style" in params):
            if "lyrics" in params or "song_description" in params:
                problems.append("give the song as --lyrics/--description or as free text, not both")
            else:
                params["song_description"] = text
            text = ""
        if not text and not params.get("lyrics") and not params.get("song_description"):
            self._no_prompt(p)
        model_id = a.model or self._default_model("music")
        client = self.client
        prompt = text or None
        problems += _validation_problems(client, model_id, "music", p, prompt=prompt, **params)
        if problems:
            raise UsageError(_problem_text(problems, p))
        estimate = client.estimate(model=model_id, kind="music", **params)
        if a.dry_run:
            body = {"model": model_id, **({"prompt": prompt} if prompt else {}), **params}
            return DryRun(body, estimate, endpoint="/v1/generate/music")
        print(f"{model_id}: {_estimate_line(estimate)}")
        self._confirm(_credits(estimate), 1, a.yes, p)
        return self._finish(client.generate_music(model_id, prompt=prompt, **params), a)

    def _cmd_say(self, p: _Parsed) -> Any:
        a = p.args
        text = p.cell if p.cell is not None else p.text
        problems = _common_problems(a)
        if not text:
            self._no_prompt(p)
        client = self.client
        voice = a.voice or self.settings.default_voice or None
        params = {k: getattr(a, k) for k in ("language_code", "speed", "stability") if getattr(a, k) is not None}
        model_id = _dialogue_model(client)
        problems += _validation_problems(client, model_id, "dialogue", p, text=text, voice=voice, **params)
        if problems:
            raise UsageError(_problem_text(problems, p))
        estimate = client.estimate(model=model_id, kind="dialogue", text=text, **params)
        if a.dry_run:
            body = {"text": text, **({"voice": voice} if voice else {}), **params}
            return DryRun(body, estimate, endpoint="/v1/generate/dialogue")
        print(f"{model_id}: {_estimate_line(estimate)}")
        self._confirm(_credits(estimate), 1, a.yes, p)
        return self._finish(client.generate_dialogue(text, voice=voice, **params), a)

    def _cmd_captions(self, p: _Parsed) -> Any:
        a = p.args
        url = self._one_media(p)
        if a.quality == "best" and not a.language:
            raise UsageError("--quality best needs the language: add --language en (or the right code)")
        extra = {"language": a.language} if a.language else {}
        captions = self.client.captions(url, quality=a.quality, **extra)
        if a.srt:
            to_srt = getattr(captions, "to_srt", None) or getattr(captions, "srt", None)
            print(to_srt() if callable(to_srt) else to_srt)
        return captions

    def _cmd_separate(self, p: _Parsed) -> Any:
        a = p.args
        url = self._one_media(p, upload=not a.dry_run)
        client = self.client
        if a.dry_run:
            return DryRun({"media_url": url}, None, endpoint="/v1/generate/separation")
        return self._finish(client.separate(url), a)

    def _cmd_extend(self, p: _Parsed) -> Any:
        a = p.args
        if not p.words:
            raise UsageError(f"Name the clip to extend: {p.command.usage}\n(e.g. %kubeez extend _ the fox turns around)")
        prompt = p.cell if p.cell is not None else p.text_after(1)
        if not prompt:
            raise UsageError(f"Say how the clip continues: {p.command.usage}")
        source = self._job_ref(p.words[0].text)
        from kubeez_nb import _config

        price = _config.EXTEND_PRICES.get(a.extend_model)
        source_id = getattr(source, "source_task_id", None) or getattr(source, "id", source)
        if a.dry_run:
            body = {"source_task_id": source_id, "prompt": prompt, "extend_model": a.extend_model}
            return DryRun(body, price, endpoint="/v1/generate/media/extend")
        print(f"extend ({a.extend_model}): {_estimate_line(price)}")
        self._confirm(price, 1, a.yes, p)
        return self._finish(self.client.extend(source, prompt, extend_model=a.extend_model), a)

    # -- account and catalog ----------------------------------------------------------------

    def _cmd_models(self, p: _Parsed) -> Any:
        catalog = self.client.catalog()
        models = list(catalog)
        query = p.text.strip()
        types = sorted({_model_type(m) for m in models})
        if query:
            if query.lower() in types:
                models = [m for m in models if _model_type(m) == query.lower()]
            else:
                q = query.lower()
                models = [m for m in models if q in _model_haystack(m)]
            if not models:
                raise UsageError(
                    f"No model matches {query!r}. Types: {', '.join(types)}; or search a word of a "
                    "model id, name or provider (%kubeez models kling). A prompt that starts with "
                    f"'models' goes after --: %kubeez -- models {query}"
                )
        return _models_frame(models)

    def _cmd_balance(self, p: _Parsed) -> Any:
        return self.client.balance()

    def _cmd_history(self, p: _Parsed) -> Any:
        a = p.args
        raw = p.text.strip() or self.settings.history_rows
        if not raw.isdigit() or int(raw) < 1:
            raise UsageError(f"history takes a row count: %kubeez history 20 (got {raw!r})")
        filters = {k: v for k, v in (("model", a.model), ("status", a.status)) if v}
        return self.client.history(**filters).head(int(raw))

    def _cmd_cost(self, p: _Parsed) -> Any:
        from kubeez_nb.report import cost_report

        return cost_report(self.client.history())

    def _cmd_assets(self, p: _Parsed) -> Any:
        return _assets_frame(self.client.assets())

    def _cmd_jobs(self, p: _Parsed) -> Any:
        from kubeez_nb.ledger import jobs

        return jobs(unfinished=True) if p.args.unfinished else jobs()

    def _cmd_resume(self, p: _Parsed) -> Any:
        from kubeez_nb.ledger import resume

        return resume(client=self.client)

    def _cmd_demo(self, p: _Parsed) -> None:
        from kubeez_nb.client import connect

        self._client = connect(demo=True)
        url = getattr(self._client, "base_url", "")
        print(f"%kubeez now uses the local Kubeez emulator at {url}: demo mode, no credits spent.")

    def _cmd_use(self, p: _Parsed) -> None:
        name = p.text.strip()
        value = self.shell.user_ns.get(name) if _IDENT_RE.match(name) else None
        if value is None or not hasattr(value, "generate_media"):
            raise UsageError(f"%kubeez use VAR needs a variable holding a kz.Client (got {name!r}), e.g. client = kz.connect()")
        self._client = value
        print(f"%kubeez now uses {value!r}")

    def _cmd_help(self, p: _Parsed) -> None:
        print(self.kubeez.__doc__)

    # -- helpers ----------------------------------------------------------------------------

    def _no_prompt(self, p: _Parsed) -> None:
        name = p.command.name
        raise UsageError(
            f"Nothing to {name or 'generate'}: give the text, e.g.\n  {p.command.usage}\n"
            "%kubeez? lists every option and subcommand."
        )

    def _default_model(self, kind: str) -> str:
        """The configured default for ``kind``, or the catalog's first model of that kind."""
        configured = {
            "image": self.settings.default_model,
            "video": self.settings.default_video_model,
            "music": self.settings.default_music_model,
        }[kind]
        catalog = self.client.catalog()
        if _model_or_none(self.client, configured) is not None:
            return configured
        wanted = f"text-to-{kind}"
        for m in catalog:
            if _model_type(m) == kind and wanted in (_attr(m, "generation_types") or ()):
                print(f"({configured!r} is not in the catalog; using {_model_id(m)}. "
                      f"%config Kubeez.default_{'' if kind == 'image' else kind + '_'}model = ... picks another.)")
                return _model_id(m)
        raise UsageError(f"The catalog has no {kind} model; choose one with -m (%kubeez models).")

    def _confirm(self, one: float | None, count: int, yes: bool, p: _Parsed) -> None:
        threshold = self.settings.confirm_above
        if yes or threshold is None or one is None or one * count <= threshold:
            return
        raise UsageError(
            f"This costs ≈ {one * count:g} credits, above your confirm threshold of {threshold:g} "
            f"(%config Kubeez.confirm_above). Nothing was sent. To go ahead, add --yes:\n"
            f"  %kubeez {(p.command.name + ' ') if p.command.name else ''}--yes {p.line[len(p.command.name):].strip()}"
        )

    def _finish(self, result: Any, a: argparse.Namespace) -> Any:
        """Wait (unless --no-wait) and hand the job back so ``_`` holds it."""
        out = getattr(a, "out", None)
        if out:  # store before waiting: an interrupted wait still leaves the handle
            self.shell.user_ns[out] = result
        wait = a.wait if a.wait is not None else self.settings.wait
        if not wait:
            watch = getattr(result, "watch", None)
            if callable(watch):
                watch()
            return result
        try:
            result.wait(progress=self.settings.progress)
        except KeyboardInterrupt:
            print("Stopped waiting; the job keeps running on Kubeez. _ holds it: _.wait(), or %kubeez resume later.")
        return result

    def _resolve_refs(self, refs: Sequence[str], problems: list[str], *, upload: bool) -> tuple[list[str], dict[int, str]]:
        """URLs for ``--ref`` values; local files are uploaded (or left as placeholders)."""
        urls: list[str] = []
        local: dict[int, str] = {}
        assets: dict[str, Any] | None = None
        for ref in refs:
            path = os.path.expanduser(ref)
            if re.match(r"^https?://", ref):
                urls.append(ref)
            elif os.path.isfile(path):
                local[len(urls)] = path
                urls.append(f"upload://{os.path.basename(path)}")
            else:
                if assets is None:
                    assets = {str(_attr(x, "name")): x for x in self.client.assets()}
                if ref in assets:
                    urls.append(str(_attr(assets[ref], "url")))
                else:
                    near = difflib.get_close_matches(ref, list(assets), n=1)
                    hint = f" (did you mean the asset {near[0]!r}?)" if near else ""
                    problems.append(
                        f"--ref {ref}: not a URL, an existing file or an asset name{hint}; "
                        "%kubeez assets lists your assets"
                    )
        if upload and local:
            urls = self._upload_refs(urls, local)
        return urls, local

    def _upload_refs(self, urls: list[str], local: dict[int, str]) -> list[str]:
        urls = list(urls)
        for index, path in local.items():
            print(f"uploading {path} …")
            urls[index] = self.client.upload(path)[0]
        return urls

    def _one_media(self, p: _Parsed, *, upload: bool = True) -> str:
        if len(p.words) != 1:
            raise UsageError(f"Give exactly one media URL, asset name or file: {p.command.usage}")
        problems: list[str] = []
        urls, _ = self._resolve_refs([p.words[0].text], problems, upload=upload)
        if problems:
            raise UsageError(problems[0].replace("--ref ", ""))
        return urls[0]

    def _job_ref(self, ref: str) -> Any:
        """A Job from a variable name (``_``, ``clip``) or a job id."""
        ns = self.shell.user_ns
        if _IDENT_RE.match(ref) and ref in ns:
            value = ns[ref]
            if hasattr(value, "id") and hasattr(value, "status"):
                return value
            raise UsageError(f"{ref} holds {type(value).__name__}, not a Job; give the clip's Job or its id")
        if ref in ("_", "__") or (_IDENT_RE.match(ref) and "-" not in ref and len(ref) < 16):
            raise UsageError(f"No variable {ref!r} holds a job; give the clip's Job variable or its id")
        return self.client.job(ref)


# ---------------------------------------------------------------------------------------------
# Error translation and module helpers
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _user_errors(p: _Parsed) -> Iterator[None]:
    """Turn client errors into ``UsageError`` with their own "what to do" text (no traceback)."""
    from kubeez_nb.errors import ConfirmationRequired, KubeezError, ValidationError

    try:
        yield
    except ValidationError as err:
        raise UsageError(_problem_text([_problem_line(x) for x in err.problems], p, err.problems)) from None
    except ConfirmationRequired as err:
        raise UsageError(f"{err.message}. Nothing was sent; add --yes to go ahead.") from None
    except KubeezError as err:
        notes = "".join("\n" + n for n in getattr(err, "__notes__", ()))
        raise UsageError(str(err) + notes) from None


def _add_note(err: BaseException, note: str) -> None:
    add = getattr(err, "add_note", None)  # Python >= 3.11
    if callable(add):
        add(note)
    else:
        err.__notes__ = [*getattr(err, "__notes__", []), note]


def _common_problems(a: argparse.Namespace) -> list[str]:
    out = getattr(a, "out", None)
    if out and (not _IDENT_RE.match(out) or out.startswith("__")):
        return [f"-o {out}: not a valid variable name; use letters, digits and _ (e.g. -o foxes)"]
    return []


def _validation_problems(client: Any, model_id: str, kind: str, p: _Parsed, **params: Any) -> list[str]:
    """Problems the client's catalog check finds, as lines naming the option to change."""
    from kubeez_nb.errors import ValidationError

    try:
        client.validate(model_id, kind, **{k: v for k, v in params.items() if v is not None})
    except ValidationError as err:
        p.problems = list(err.problems)
        return [_problem_line(x) for x in err.problems]
    return []


def _problem_line(problem: Any) -> str:
    flag = _FLAG_OF.get(getattr(problem, "field", ""), "")
    text = str(problem)
    return f"{flag} ({text})" if flag else text


def _problem_text(lines: list[str], p: _Parsed, problems: Sequence[Any] | None = None) -> str:
    problems = problems if problems is not None else getattr(p, "problems", [])
    n = len(lines)
    head = f"{n} problem{'s' if n != 1 else ''} with this request; nothing was sent:"
    text = "\n".join([head, *[f"  - {line}" for line in lines]])
    fixed = _corrected_command(p, problems)
    if fixed:
        text += f"\nTry:\n  {fixed}"
    return text


def _corrected_command(p: _Parsed, problems: Sequence[Any]) -> str | None:
    """The user's line with each wrong option value replaced by the nearest allowed one."""
    if not problems:
        return None
    edits: list[tuple[int, int, str]] = []
    for prob in problems:
        dest = getattr(prob, "field", "")
        allowed = getattr(prob, "allowed", None)
        span = p.option_spans.get(dest)
        if span is None or not isinstance(allowed, (list, tuple)) or not allowed:
            return None
        best = _nearest(str(getattr(prob, "value", "")), [str(x) for x in allowed])
        if best is None:
            return None
        flag = _FLAG_OF.get(dest, "")
        tok = p.line[span[0] : span[1]]
        edits.append((span[0], span[1], f"{flag}={best}" if tok.startswith("-") else best))
    line = p.line
    for start, end, new in sorted(edits, reverse=True):
        line = line[:start] + new + line[end:]
    return f"%kubeez {line.strip()}"


def _nearest(value: str, allowed: list[str]) -> str | None:
    """Closest allowed value: by number for ratios and durations, by spelling otherwise."""

    def number(s: str) -> float | None:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*", s)
        if m and float(m.group(2)):
            return float(m.group(1)) / float(m.group(2))
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[a-zA-Z]*\s*", s)
        return float(m.group(1)) if m else None

    v = number(value)
    numeric = [(number(a), a) for a in allowed]
    if v is not None and all(n is not None for n, _ in numeric):
        return min(numeric, key=lambda na: abs(na[0] - v))[1]  # type: ignore[operator]
    near = difflib.get_close_matches(value, allowed, n=1, cutoff=0.3)
    return near[0] if near else None


def _group(jobs: list[Any]) -> Any:
    if len(jobs) == 1:
        return jobs[0]
    from kubeez_nb.jobs import JobGroup

    return JobGroup(jobs)


def _attr(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _model_id(m: Any) -> str:
    return str(_attr(m, "model_id") or _attr(m, "id"))


def _model_type(m: Any) -> str:
    return str(_attr(m, "model_type") or "").lower()


def _model_haystack(m: Any) -> str:
    return " ".join(str(_attr(m, k) or "") for k in ("model_id", "display_name", "provider", "model_type")).lower()


def _model_or_none(client: Any, model_id: str) -> Any:
    catalog = client.catalog()
    try:
        return catalog[model_id]
    except (KeyError, LookupError):
        return None


def _catalog_duration(model: Any, duration: str) -> str:
    """``5`` → ``5s`` when the catalog spells durations with a unit (the form the API expects)."""
    caps = _attr(model, "capabilities")
    options = _attr(caps, "duration_options") if caps is not None else None
    if options and duration not in options and f"{duration}s" in options:
        return f"{duration}s"
    return duration


def _dialogue_model(client: Any) -> str:
    for m in client.catalog():
        if _attr(m, "voice_allowlist"):
            return _model_id(m)
    raise UsageError("The catalog has no speech model with voices; %kubeez models speech lists what there is.")


def _models_frame(models: list[Any]) -> Any:
    import pandas as pd

    rows = [
        {
            "model_id": _model_id(m),
            "type": _model_type(m),
            "credits": _attr(m, "cost_per_generation"),
            "pricing": _attr(m, "cost_note") or "",
            "generation_types": ", ".join(_attr(m, "generation_types") or ()),
        }
        for m in models
    ]
    return pd.DataFrame(rows, columns=["model_id", "type", "credits", "pricing", "generation_types"])


def _assets_frame(assets: list[Any]) -> Any:
    import pandas as pd

    cols = ["name", "kind", "size_bytes", "mime_type", "id", "url"]
    return pd.DataFrame([{c: _attr(x, c) for c in cols} for x in assets], columns=cols)


def register(ipython: Any) -> None:
    """Register ``%kubeez`` / ``%%kubeez`` and the ``Kubeez`` configurable on ``ipython``."""
    # %reload_ext must not leave a stale configurable behind (%config would update the old one)
    ipython.configurables = [c for c in ipython.configurables if not isinstance(c, Kubeez)]
    settings = Kubeez(parent=ipython)
    ipython.configurables.append(settings)
    ipython.register_magics(KubeezMagics(ipython, settings))
