"""The ``%kubeez`` subcommands and their options (IPython ``magic_arguments``), the ``Kubeez``
configurable (``%config Kubeez.<trait>``) and the ``%kubeez?`` help text built from them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from IPython.core.magic_arguments import MagicArgumentParser, argument
from traitlets import Bool, Float, Int, Unicode
from traitlets.config import Configurable

from kubeez_nb.contract.kinds import CAPTION_QUALITIES, EXTEND_MODELS, VOCAL_GENDERS


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
    default_voice = Unicode(
        "", help="Voice for %kubeez say when --voice is not given (empty: the API's default)."
    ).tag(config=True)
    confirm_above = Float(
        200.0,
        allow_none=True,
        help="A request estimated above this many credits needs --yes (None: never ask).",
    ).tag(config=True)
    wait = Bool(True, help="Wait for results (with progress) unless --no-wait is given.").tag(
        config=True
    )
    progress = Bool(True, help="Show a progress bar while waiting.").tag(config=True)
    history_rows = Int(10, help="Rows shown by %kubeez history without N.").tag(config=True)


# ---------------------------------------------------------------------------------------------
# Options, as IPython magic_arguments declarations shared by the subcommand parsers
# ---------------------------------------------------------------------------------------------

_OUT = argument(
    "-o", "--out", metavar="NAME", help="also store the result in the notebook variable NAME"
)
_YES = argument(
    "-y",
    "--yes",
    action="store_true",
    help="go ahead even above %%config Kubeez.confirm_above credits",
)
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
    argument(
        "--negative",
        dest="negative_prompt",
        metavar="TEXT",
        help="what to avoid (models that support it)",
    ),
    argument(
        "--ref",
        action="append",
        default=[],
        metavar="REF",
        help="reference media: a URL, an asset name or a local file (uploaded for you); repeatable",
    ),
    argument(
        "-n", dest="variants", type=int, default=1, metavar="N", help="number of variants (N jobs)"
    ),
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
    argument(
        "--dry-run",
        action="store_true",
        help="show the request body and the estimate; send nothing",
    ),
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
            argument(
                "--style", metavar="STYLE", help="style tags, e.g. 'lo-fi, warm' (with --title)"
            ),
            argument("--lyrics", metavar="TEXT", help="the lyrics (advanced mode)"),
            argument(
                "--description",
                dest="song_description",
                metavar="TEXT",
                help="describe the song instead of lyrics",
            ),
            argument("--vocal-gender", choices=VOCAL_GENDERS, help="singer: m, f or random"),
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
            argument(
                "--language", dest="language_code", metavar="CODE", help="language code, e.g. en"
            ),
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
            argument(
                "--quality",
                choices=CAPTION_QUALITIES,
                default="auto",
                help="auto detects the language; best needs --language",
            ),
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
            argument(
                "--extend-model",
                choices=EXTEND_MODELS,
                default="fast",
                help="extend tier (default fast)",
            ),
            *_RUN,
        ),
        "job+prompt",
    ),
    _Command(
        "models",
        "%kubeez models [TYPE|SEARCH]",
        "The model catalog: id, type, price, pricing note.",
        (_OUT,),
        "query",
    ),
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
        "%kubeez jobs [--unfinished] [--all]",
        "Jobs this kernel submitted (--all: every job in the local ledger).",
        (
            argument("--unfinished", action="store_true", help="only jobs still running"),
            argument("--all", action="store_true", help="also jobs of earlier sessions"),
            _OUT,
        ),
    ),
    _Command(
        "resume", "%kubeez resume", "Re-attach to unfinished jobs from earlier sessions.", (_OUT,)
    ),
    _Command(
        "demo",
        "%kubeez demo",
        "Start the local emulator and switch the magic to it (no credits spent).",
        (),
    ),
    _Command(
        "use",
        "%kubeez use VAR",
        "Make the magic use the kz.Client stored in the variable VAR.",
        (),
        "name",
    ),
    _Command(
        "help",
        "%kubeez help [SUBCOMMAND]",
        "This help, or every option of one subcommand.",
        (),
        "name",
    ),
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
    """The ``%kubeez?`` text: one screen (usage, the subcommands, the common options)."""
    rows = "\n".join(
        f"  {c.name:<10}{c.summary.split('. ')[0].rstrip('.')}" for c in _COMMANDS if c.name
    )
    return (
        "%kubeez / %%kubeez: Kubeez generations from one line.\n\n"
        "Usage:\n"
        "  %kubeez [options] PROMPT          an image (a video with --video or -m)\n"
        "  %%kubeez [options]                the cell body is the prompt\n"
        "  %kubeez SUBCOMMAND [options] ...  one of the subcommands below\n\n"
        f"Subcommands:\n{rows}\n\n"
        "Common options (before the prompt):\n"
        "  -m MODEL        model id (%kubeez models lists them); --video: the default video model\n"
        "  --ar RATIO      aspect ratio, e.g. 16:9; --duration 5s; --resolution 2K; --quality high\n"
        "  --sound / --no-sound, --negative TEXT, --ref URL|ASSET|FILE (repeatable), -n N variants\n"
        "  --dry-run       show the request and its estimate; send nothing\n"
        "  --no-wait       return the job at once (it updates itself); -y / --yes: skip the confirm\n"
        "  -o NAME         also store the result in the notebook variable NAME\n\n"
        "Examples:\n"
        "  %kubeez a red fox in snow\n"
        "  %kubeez -m kling-3-0-std --duration 5s --no-sound --ar 16:9 a fox running at dawn\n"
        "  %kubeez history 20        %kubeez models video        %kubeez balance\n\n"
        "A prompt that starts with a subcommand word or a dash goes after -- (%kubeez -- models on\n"
        "a runway); {name} is filled from your variables ({{ }} for literal braces).\n"
        "Every option of a subcommand: %kubeez help SUBCOMMAND (e.g. %kubeez help music)."
    )


def _command_help(name: str) -> str:
    """Every option of one subcommand (``%kubeez help NAME``)."""
    return _BY_NAME[name].parser().format_help().replace("::\n\n", "", 1).strip()
