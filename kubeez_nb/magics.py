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
from urllib.parse import quote

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser, argument
from traitlets import Bool, Float, Int, Unicode
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
        200.0,
        allow_none=True,
        help="A request estimated above this many credits needs --yes (None: never ask).",
    ).tag(config=True)
    wait = Bool(True, help="Wait for results (with progress) unless --no-wait is given.").tag(config=True)
    progress = Bool(True, help="Show a progress bar while waiting.").tag(config=True)
    history_rows = Int(10, help="Rows shown by %kubeez history without N.").tag(config=True)


# ---------------------------------------------------------------------------------------------
# Options, as IPython magic_arguments declarations shared by the subcommand parsers
# ---------------------------------------------------------------------------------------------

_OUT = argument("-o", "--out", metavar="NAME", help="also store the result in the notebook variable NAME")
_YES = argument("-y", "--yes", action="store_true", help="go ahead even above %%config Kubeez.confirm_above credits")
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
    _YES,
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
            _YES,
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
    "source_task_id": "JOB",
    "media_url": "URL",
    "vocal_gender": "--vocal-gender",
}
_MEDIA_FIELDS = ("aspect_ratio", "duration", "resolution", "quality", "sound", "negative_prompt")

_NO_CLIENT = (
    "No Kubeez API key. Set it for this kernel with\n"
    "    %env KUBEEZ_API_KEY=sk_live_...\n"
    "(or export it before starting Jupyter), or try everything locally with\n"
    "    %kubeez demo\n"
    "or hand the magic a client you made (client = kz.Client(...)) with\n"
    "    %kubeez use client"
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
        "after -- (%kubeez -- models on a runway). {{ and }} give literal braces; $name is not\n"
        "expanded (prompts often mention prices). TAB completes model ids, options and values.\n",
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
    label: str = ""

    @property
    def credits(self) -> float | None:
        """Estimated credits for all ``count`` jobs (None when the price depends on the server)."""
        one = _credits(self.estimate)
        return None if one is None else one * self.count

    def _text(self) -> str:
        times = f"{self.count} × " if self.count > 1 else ""
        return (
            f"Nothing sent. This would POST {times}{self.endpoint}\n"
            f"{json.dumps(self.body, indent=2, ensure_ascii=False)}\n"
            f"{self.label + ': ' if self.label else ''}{_estimate_line(self.estimate, self.count)}"
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
    """``14 credits (flat price per generation)``, or ``56 credits for 4 jobs (14 … each)``."""
    one = _credits(estimate)
    if one is None:
        return "price known after the job (the server measures the media)"
    text = str(estimate) if hasattr(estimate, "breakdown") else f"{one:g} credits"
    if count == 1:
        return text
    return f"{one * count:g} credits for {count} jobs ({text} each)"


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
        problems = _common_problems(a)
        if not p.prompt and not a.ref:
            self._no_prompt(p)
        if not 1 <= a.variants <= 100:
            problems.append(_problem("-n", a.variants, "1-100", f"{a.variants} variants; give a number from 1 to 100"))
        video = bool(a.video or a.duration or a.sound is not None)
        model_id = a.model or self._default_model("video" if video else "image")
        params: dict[str, Any] = {k: getattr(a, k) for k in _MEDIA_FIELDS if getattr(a, k) is not None}
        if p.prompt:
            params["prompt"] = p.prompt
        refs, local = self._resolve_refs(a.ref, problems)
        if refs:
            params["source_media_urls"] = refs

        def submit(body: dict[str, Any]) -> Any:
            send = {k: v for k, v in body.items() if k not in ("model", "prompt")}
            if local:
                send["source_media_urls"] = self._upload_refs(send["source_media_urls"], local)
            jobs: list[Any] = []
            try:
                for _ in range(a.variants):
                    jobs.append(self.client.generate_media(model_id, prompt=p.prompt or None, confirm=a.yes, **send))
            except Exception as err:
                if jobs:  # credits are committed for these: keep the handles and say where they are
                    self.shell.user_ns["_kubeez_partial"] = _group(jobs)
                    _add_note(err, f"{len(jobs)} of {a.variants} jobs were submitted before this error; "
                              "they are in _kubeez_partial (and in %kubeez jobs).")
                raise
            return _group(jobs)

        return self._run(p, "media", model_id, params, problems, submit, count=a.variants, estimate_only=estimate_only)

    def _cmd_estimate(self, p: _Parsed) -> Any:
        return self._cmd_generate(p, estimate_only=True)

    def _cmd_music(self, p: _Parsed) -> Any:
        a = p.args
        problems = _common_problems(a)
        params: dict[str, Any] = {
            k: getattr(a, k)
            for k in ("title", "style", "lyrics", "song_description", "vocal_gender", "instrumental")
            if getattr(a, k) is not None
        }
        text = p.text
        if p.cell is not None:
            if "lyrics" in params:
                problems.append(_problem("--lyrics", a.lyrics, None, "the cell body already holds the lyrics; give them once"))
            params["lyrics"] = p.cell
            if not (a.title and a.style):
                problems.append(_problem(
                    "lyrics", None, None,
                    "lyrics need advanced mode: add --title and --style on the %%kubeez music line "
                    "(e.g. %%kubeez music --title Dawn --style 'lo-fi, warm')",
                ))
        elif text and ("title" in params or "style" in params):
            # advanced mode: the free text describes the song
            if "lyrics" in params or "song_description" in params:
                problems.append(_problem("prompt", text, None, "give the song as --lyrics / --description or as text, not both"))
            else:
                params["song_description"] = text
            text = ""
        if text:
            params["prompt"] = text
        if not any(params.get(k) for k in ("prompt", "lyrics", "song_description")):
            self._no_prompt(p)
        model_id = a.model or self._default_model("music")

        def submit(body: dict[str, Any]) -> Any:
            send = {k: v for k, v in body.items() if k not in ("model", "prompt")}
            return self.client.generate_music(model_id, prompt=body.get("prompt"), confirm=a.yes, **send)

        return self._run(p, "music", model_id, params, problems, submit)

    def _cmd_say(self, p: _Parsed) -> Any:
        a = p.args
        problems = _common_problems(a)
        if not p.prompt:
            self._no_prompt(p)
        model = self._catalog().endpoint_model("dialogue")
        if model is None:
            raise UsageError("The catalog has no speech model; %kubeez models speech lists what there is.")
        params: dict[str, Any] = {
            k: getattr(a, k) for k in ("language_code", "speed", "stability") if getattr(a, k) is not None
        }
        voice = a.voice or self.settings.default_voice or None
        params = {"text": p.prompt, **({"voice": voice} if voice else {}), **params}

        def submit(body: dict[str, Any]) -> Any:
            send = {k: v for k, v in body.items() if k not in ("text", "voice", "model")}
            return self.client.generate_dialogue(body["text"], voice=body.get("voice"), confirm=a.yes, **send)

        return self._run(p, "dialogue", model.id, params, problems, submit)

    def _cmd_separate(self, p: _Parsed) -> Any:
        a = p.args
        problems = _common_problems(a)
        url, local = self._one_media(p, problems)
        model = self._catalog().endpoint_model("separation")

        def submit(body: dict[str, Any]) -> Any:
            media_url = self._upload_refs([url], local)[0] if local else url
            return self.client.separate(media_url, confirm=a.yes)

        model_id = model.id if model is not None else ""
        return self._run(p, "separation", model_id, {"media_url": url}, problems, submit)

    def _cmd_extend(self, p: _Parsed) -> Any:
        a = p.args
        problems = _common_problems(a)
        if not p.words:
            raise UsageError(f"Name the clip to extend: {p.command.usage}\n(e.g. %kubeez extend _ the fox turns around)")
        prompt = p.cell if p.cell is not None else p.text_after(1)
        if not prompt:
            raise UsageError(f"Say how the clip continues: {p.command.usage}")
        source = self._job_ref(p.words[0].text)
        from kubeez_nb.contract.catalog import extend_problems

        raw = getattr(source, "raw", None) or {}
        if isinstance(raw, dict):
            row = {**raw, "id": getattr(source, "id", None), "model": getattr(source, "model", None),
                   "status": getattr(source, "status", None),
                   "source_task_id": getattr(source, "source_task_id", None) or raw.get("source_task_id")}
            problems += extend_problems(row, a.extend_model, catalog=self._catalog())
        params = {"source_task_id": getattr(source, "source_task_id", None) or getattr(source, "id", None),
                  "prompt": prompt, "extend_model": a.extend_model}

        def submit(body: dict[str, Any]) -> Any:
            return self.client.extend(source, prompt, extend_model=a.extend_model, confirm=a.yes)

        return self._run(p, "extend", "", params, problems, submit)

    def _run(
        self,
        p: _Parsed,
        kind: str,
        model_id: str,
        params: dict[str, Any],
        problems: list[Any],
        submit: Callable[[dict[str, Any]], Any],
        *,
        count: int = 1,
        estimate_only: bool = False,
    ) -> Any:
        """The shared pipeline: check everything → estimate → dry run / confirm → submit → wait."""
        from kubeez_nb.contract import catalog as cat

        catalog = self._catalog()
        model = catalog.get(model_id) if model_id else None
        if model_id and model is None:
            near = cat.suggest(model_id, list(catalog))
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            problems.append(_problem("model", model_id, near, f"no model {model_id!r} in the catalog{hint} (%kubeez models lists them)"))
        else:
            problems += cat.validate(model, kind, params)
        if problems:
            raise UsageError(_problem_text(problems, p))
        body = cat.normalize(model, kind, params)
        estimate = self.client.estimate(model=model_id or None, kind=kind, **{k: v for k, v in body.items() if k != "model"})
        label = model_id or kind
        if estimate_only or getattr(p.args, "dry_run", False):
            return DryRun(body, estimate, count, _ENDPOINTS[kind], label)
        print(f"{label}: {_estimate_line(estimate, count)}")
        self._confirm(_credits(estimate), count, p)
        return self._finish(submit(body), p.args)

    # -- captions (synchronous) -------------------------------------------------------------

    def _cmd_captions(self, p: _Parsed) -> Any:
        a = p.args
        problems = _common_problems(a)
        url, local = self._one_media(p, problems)
        if a.quality == "best" and not a.language:
            problems.append(_problem("--language", None, None, "--quality best needs the language: add --language en (or the right code)"))
        if problems:
            raise UsageError(_problem_text(problems, p))
        extra = {"language": a.language} if a.language else {}
        estimate = self.client.estimate(kind="captions", media_url=url, quality=a.quality, **extra)
        print(f"captions: {_estimate_line(estimate)}")
        self._confirm(_credits(estimate), 1, p)
        if local:
            url = self._upload_refs([url], local)[0]
        captions = self.client.captions(url, quality=a.quality, confirm=a.yes, **extra)
        if a.srt:
            srt = getattr(captions, "to_srt", None)
            print(srt() if callable(srt) else srt)
        return captions

    # -- account and catalog ----------------------------------------------------------------

    def _cmd_models(self, p: _Parsed) -> Any:
        catalog = self._catalog()
        query = p.text.strip()
        found = catalog
        if query:
            if query.lower() in catalog.types:
                found = catalog.filter(model_type=query.lower())
            else:
                found = catalog.filter(search=query)
            if not found:
                raise UsageError(
                    f"No model matches {query!r}. Types: {', '.join(catalog.types)}; or search words of a "
                    "model id, name or provider (%kubeez models kling). A prompt that starts with "
                    f"'models' goes after --: %kubeez -- models {query}"
                )
        frame = found.to_dataframe()
        return frame[list(_MODEL_COLUMNS)].rename(columns=_MODEL_COLUMNS)

    def _cmd_balance(self, p: _Parsed) -> Any:
        return self.client.balance()

    def _cmd_history(self, p: _Parsed) -> Any:
        a = p.args
        raw = p.text.strip() or str(self.settings.history_rows)
        if not raw.isdigit() or int(raw) < 1:
            raise UsageError(f"history takes a row count: %kubeez history 20 (got {raw!r})")
        filters = {k: v for k, v in (("model", a.model), ("status", a.status)) if v}
        n = int(raw)
        # enough pages for n rows even at the smallest page size; never the whole history
        return self.client.history(max_pages=max(1, -(-n // 25)), **filters).head(n)

    def _cmd_cost(self, p: _Parsed) -> Any:
        from kubeez_nb.report import cost_report

        return cost_report(self.client.history(), client=self.client)

    def _cmd_assets(self, p: _Parsed) -> Any:
        import pandas as pd

        cols = ["name", "kind", "size_bytes", "mime_type", "id", "url"]
        return pd.DataFrame([{c: getattr(x, c, None) for c in cols} for x in self.client.assets()], columns=cols)

    def _cmd_jobs(self, p: _Parsed) -> Any:
        from kubeez_nb.ledger import jobs

        return jobs(self.client.home, unfinished=p.args.unfinished)

    def _cmd_resume(self, p: _Parsed) -> Any:
        from kubeez_nb.ledger import resume

        found = resume(client=self.client, progress=self.settings.progress)
        if not found:
            print("Nothing to resume: every job this machine submitted has finished and its outputs are saved.")
            return None
        return _group(list(found))

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

    # -- tab completion ---------------------------------------------------------------------

    def complete(self, _shell: Any, event: Any) -> list[str]:
        """``%kubeez <TAB>``: subcommands, options, and option values from the live catalog
        (model ids, the chosen model's aspect ratios / durations / tiers, voices)."""
        try:
            words = event.text_until_cursor.split()[1:]
            symbol = event.symbol or ""
            done = words[:-1] if symbol else words
            command = _BY_NAME.get(done[0], _BY_NAME[""]) if done else _BY_NAME[""]
            if not done and not symbol.startswith("-"):
                return [n for n in _SUBCOMMANDS if n.startswith(symbol)]
            values = self._values_for(done[-1] if done else "", done, command)
            if values is not None:
                return [v for v in values if v.startswith(symbol)]
            if symbol.startswith("-"):
                return sorted(f for f in command.parser()._option_string_actions if f.startswith(symbol))
            if command.name == "models" and len(done) == 1:
                return [t for t in self._catalog().types if t.startswith(symbol)]
        except Exception:  # completion must never raise into the user's typing
            return []
        return []

    def _values_for(self, flag: str, done: list[str], command: _Command) -> list[str] | None:
        action = command.parser()._option_string_actions.get(flag)
        if action is None or action.nargs == 0:
            return None
        if action.choices:
            return [str(c) for c in action.choices]
        catalog = self._catalog()
        if action.dest == "model":
            kind = {"music": "music"}.get(command.name)
            return [m.id for m in catalog.models if kind is None or m.endpoint == kind]
        if action.dest == "voice":
            return list(catalog.voices)
        if action.dest in ("aspect_ratio", "duration", "resolution", "quality"):
            given = next((done[i + 1] for i, w in enumerate(done[:-1]) if w in ("-m", "--model")), None)
            model = catalog.get(given or self.settings.default_model)
            return list(model.option_fields.get(action.dest, [])) if model is not None else []
        return None

    # -- helpers ----------------------------------------------------------------------------

    def _catalog(self) -> Any:
        return self.client.catalog()

    def _no_prompt(self, p: _Parsed) -> None:
        raise UsageError(
            f"Nothing to {p.command.name or 'generate'}: give the text, e.g.\n  {p.command.usage}\n"
            "%kubeez? lists every option and subcommand."
        )

    def _default_model(self, kind: str) -> str:
        """The configured default for ``kind``, or the catalog's first text-to-``kind`` model."""
        trait = "default_model" if kind == "image" else f"default_{kind}_model"
        configured = getattr(self.settings, trait)
        catalog = self._catalog()
        if configured in catalog:
            return str(configured)
        found = catalog.filter(model_type=kind, generation_type=f"text-to-{kind}").models
        if not found:
            raise UsageError(f"The catalog has no text-to-{kind} model; choose one with -m (%kubeez models {kind}).")
        print(f"({configured!r} is not in the catalog; using {found[0].id}. %config Kubeez.{trait} = ... picks another.)")
        return str(found[0].id)

    def _confirm(self, one: float | None, count: int, p: _Parsed) -> None:
        threshold = self.settings.confirm_above
        if p.args.yes or threshold is None or one is None or one * count <= threshold:
            return
        rest = p.line.strip()[len(p.command.name):].strip()
        raise UsageError(
            f"This costs ≈ {one * count:g} credits, above your confirm threshold of {threshold:g} "
            f"(%config Kubeez.confirm_above). Nothing was sent. To go ahead, add --yes:\n"
            f"  %kubeez {(p.command.name + ' ') if p.command.name else ''}--yes {rest}"
        )

    def _finish(self, result: Any, a: argparse.Namespace) -> Any:
        """Wait (unless --no-wait) and hand the job back so ``_`` holds it."""
        out = getattr(a, "out", None)
        if out:  # store before waiting: an interrupted wait still leaves the handle
            self.shell.user_ns[out] = result
        wait = a.wait if a.wait is not None else self.settings.wait
        if not wait:
            # keep the handles current in the background; the job's own display shows its state
            for job in getattr(result, "jobs", None) or [result]:
                job.watch()
            return result
        try:
            result.wait(progress=self.settings.progress)
        except KeyboardInterrupt:
            print("Stopped waiting; the job keeps running on Kubeez. _ holds it: _.wait(), or %kubeez resume later.")
        return result

    def _resolve_refs(self, refs: Sequence[str], problems: list[Any]) -> tuple[list[str], dict[int, str]]:
        """URLs for ``--ref`` values. Local files get an ``upload://name`` placeholder (and their
        index in ``local``) so nothing is uploaded before the request is known to be valid."""
        urls: list[str] = []
        local: dict[int, str] = {}
        assets: dict[str, Any] | None = None
        for ref in refs:
            path = os.path.expanduser(ref)
            if re.match(r"^https?://", ref):
                urls.append(ref)
            elif os.path.isfile(path):
                local[len(urls)] = path
                urls.append(_PENDING_UPLOAD + quote(os.path.basename(path)))
            else:
                if assets is None:
                    assets = {str(getattr(x, "name", "")): x for x in self.client.assets()}
                if ref in assets:
                    urls.append(str(assets[ref].url))
                else:
                    near = difflib.get_close_matches(ref, list(assets), n=1)
                    hint = f" (did you mean the asset {near[0]!r}?)" if near else ""
                    problems.append(_problem(
                        "--ref", ref, list(assets),
                        f"{ref!r} is not a URL, an existing file or an asset name{hint}; %kubeez assets lists your assets",
                    ))
        return urls, local

    def _upload_refs(self, urls: list[str], local: dict[int, str]) -> list[str]:
        urls = list(urls)
        for index, path in local.items():
            print(f"uploading {path} …")
            urls[index] = self.client.upload(path)[0]
        return urls

    def _one_media(self, p: _Parsed, problems: list[Any]) -> tuple[str, dict[int, str]]:
        if len(p.words) != 1:
            raise UsageError(f"Give exactly one media URL, asset name or file: {p.command.usage}")
        urls, local = self._resolve_refs([p.words[0].text], problems)
        return (urls[0] if urls else p.words[0].text), local

    def _job_ref(self, ref: str) -> Any:
        """A Job from a variable name (``_``, ``clip``) or a job id."""
        ns = self.shell.user_ns
        if _IDENT_RE.match(ref) and ref in ns:
            value = ns[ref]
            if hasattr(value, "id") and hasattr(value, "status"):
                return value
            raise UsageError(f"{ref} holds {type(value).__name__}, not a Job; give the clip's Job variable or its id")
        if _IDENT_RE.match(ref) and "-" not in ref and len(ref) < 16:
            raise UsageError(f"No variable {ref!r} holds a job; give the clip's Job variable or its id")
        return self.client.job(ref).refresh()  # its status row says whether it can be extended


# ---------------------------------------------------------------------------------------------
# Error translation and module helpers
# ---------------------------------------------------------------------------------------------

_ENDPOINTS = {
    "media": "/v1/generate/media",
    "music": "/v1/generate/music",
    "dialogue": "/v1/generate/dialogue",
    "separation": "/v1/generate/separation",
    "extend": "/v1/generate/media/extend",
}
#: Stands in for a local file's URL until the request is known to be valid (shown by --dry-run).
_PENDING_UPLOAD = "https://uploaded-on-submit.invalid/"
_MODEL_COLUMNS = {
    "model_id": "model_id",
    "model_type": "type",
    "cost_per_generation": "credits",
    "cost_note": "pricing",
    "generation_types": "generation_types",
}


@contextlib.contextmanager
def _user_errors(p: _Parsed) -> Iterator[None]:
    """Turn client errors into ``UsageError`` with their own "what to do" text (no traceback)."""
    from kubeez_nb.errors import ConfirmationRequired, KubeezError, ValidationError

    try:
        yield
    except ValidationError as err:
        raise UsageError(_problem_text(err.problems, p)) from None
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
        err.__notes__ = [*getattr(err, "__notes__", []), note]  # type: ignore[attr-defined]


def _problem(field_: str, value: Any, allowed: Any, message: str) -> Any:
    from kubeez_nb.errors import Problem

    return Problem(field_, value, allowed, message)


def _common_problems(a: argparse.Namespace) -> list[Any]:
    out = getattr(a, "out", None)
    if out and (not _IDENT_RE.match(out) or out.startswith("__")):
        return [_problem("-o", out, None, f"{out!r} is not a valid variable name; use letters, digits and _ (e.g. -o foxes)")]
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


def register(ipython: Any) -> None:
    """Register ``%kubeez`` / ``%%kubeez`` and the ``Kubeez`` configurable on ``ipython``."""
    # %reload_ext must not leave a stale configurable behind (%config would update the old one)
    ipython.configurables = [c for c in ipython.configurables if not isinstance(c, Kubeez)]
    settings = Kubeez(parent=ipython)
    ipython.configurables.append(settings)
    magics = KubeezMagics(ipython, settings)
    ipython.register_magics(magics)
    for key in ("%kubeez", "%%kubeez"):
        ipython.set_hook("complete_command", magics.complete, str_key=key)
