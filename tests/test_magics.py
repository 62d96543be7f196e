"""``%kubeez`` / ``%%kubeez`` in a bare IPython shell, against the emulator over real HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from html import escape as html_escape
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def ip(shell: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A shell with the extension loaded, its key and base URL pointing at the session emulator."""
    monkeypatch.setenv("KUBEEZ_API_KEY", emulator.api_key)
    monkeypatch.setenv("KUBEEZ_BASE_URL", emulator.url)
    shell.run_line_magic("load_ext", "kubeez_nb")
    return shell


def kz(ip: Any, line: str, cell: str | None = None) -> Any:
    """Run ``%kubeez line`` (or ``%%kubeez line`` + cell) and return its result; errors propagate."""
    if cell is None:
        return ip.run_line_magic("kubeez", line)
    return ip.run_cell_magic("kubeez", line, cell)


def generate_count(emulator: Any) -> int:
    """Generate POSTs the emulator has received (every /v1/generate/* route)."""
    stats = emulator.stats()
    requests = stats.get("requests", stats)
    return sum(n for route, n in requests.items() if "generate" in route and "POST" in route)


def magics_of(ip: Any) -> Any:
    return ip.magics_manager.registry["KubeezMagics"]


# ---------------------------------------------------------------------------------------------
# loading, configuration, help
# ---------------------------------------------------------------------------------------------


def test_load_ext_registers_both_magics_and_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "sh = InteractiveShell.instance()\n"
        "before = set(sys.modules)\n"
        "sh.run_line_magic('load_ext', 'kubeez_nb')\n"
        "assert 'kubeez' in sh.magics_manager.magics['line']\n"
        "assert 'kubeez' in sh.magics_manager.magics['cell']\n"
        "new = set(sys.modules) - before\n"
        "heavy = sorted(m for m in new if m.split('.')[0] in ('pandas', 'PIL', 'matplotlib', 'ipywidgets', 'requests', 'werkzeug', 'av')\n"
        "               or m in ('kubeez_nb.client', 'kubeez_nb.job', 'kubeez_nb.contract.catalog'))\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_fits_one_screen_and_points_to_every_option(
    ip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_cell("%kubeez?")
    shown = capsys.readouterr().out
    assert len(shown.splitlines()) <= 60
    assert "::" not in shown and shown.count("-o NAME") == 1
    assert "%kubeez help SUBCOMMAND" in shown
    doc = ip.find_magic("kubeez").__doc__
    for sub in (
        "models",
        "balance",
        "history",
        "cost",
        "estimate",
        "music",
        "say",
        "captions",
        "separate",
        "extend",
        "assets",
        "jobs",
        "resume",
        "demo",
    ):
        assert f"  {sub} " in doc, sub
    every = ""
    for sub in ("", "music", "say", "captions"):
        kz(ip, f"help {sub}")
        every += capsys.readouterr().out
    for flag in (
        "-m",
        "--ar",
        "--duration",
        "--resolution",
        "--quality",
        "--sound",
        "--no-sound",
        "--negative",
        "--ref",
        "-n",
        "--voice",
        "--no-wait",
        "--dry-run",
        "--yes",
        "-o",
        "--srt",
        "--lyrics",
    ):
        assert flag in every, flag
    with pytest.raises(UsageError, match="No subcommand"):
        kz(ip, "help nosuch")


@pytest.mark.parametrize(
    ("line", "meant", "fixed"),
    [
        ("hisotry 20", "history", "%kubeez history 20"),
        ("modles video", "models", "%kubeez models video"),
        ("balanse", "balance", "%kubeez balance"),
        ("sya hello there", "say", "%kubeez say hello there"),
    ],
)
def test_a_misspelt_subcommand_is_refused_not_sent(
    ip: Any, emulator: Any, line: str, meant: str, fixed: str
) -> None:
    before = emulator.stats()["generations_created"]
    with pytest.raises(UsageError, match=f"did you mean `{meant}`") as err:
        kz(ip, line)
    assert fixed in str(err.value) and f"%kubeez -- {line}" in str(err.value)
    assert emulator.stats()["generations_created"] == before


def test_prompts_that_only_resemble_a_subcommand_are_sent(ip: Any) -> None:
    for line in ("--dry-run sky", "--dry-run cats on a roof", "--dry-run a modern history"):
        assert kz(ip, line).body["prompt"] == line.removeprefix("--dry-run ")


def test_captions_of_a_dollar_variable_says_to_use_braces(ip: Any) -> None:
    ip.user_ns["url"] = "https://example.com/clip.mp4"
    with pytest.raises(UsageError) as err:
        kz(ip, "captions $url")
    assert "{url}" in str(err.value) and "--ref" not in str(err.value)
    with pytest.raises(UsageError) as err:
        kz(ip, "captions no-such-asset")
    assert "--ref" not in str(err.value) and "URL" in str(err.value)


def test_config_sets_the_default_model(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("config", 'Kubeez.default_model = "flux-2-1K"')
    dry = kz(ip, "--dry-run a red fox")
    assert dry.body["model"] == "flux-2-1K"
    # an id the live catalog lacks falls back to its first text-to-image model, and says so
    ip.run_line_magic("config", 'Kubeez.default_model = "no-such-model"')
    dry = kz(ip, "--dry-run a red fox")
    assert dry.body["model"] != "no-such-model"
    assert "not in the catalog" in capsys.readouterr().out


def test_reload_ext_keeps_one_configurable(ip: Any) -> None:
    ip.run_line_magic("reload_ext", "kubeez_nb")
    names = [type(c).__name__ for c in ip.configurables]
    assert names.count("Kubeez") == 1
    ip.run_line_magic("config", "Kubeez.confirm_above = 5.0")
    with pytest.raises(UsageError, match="--yes"):
        kz(ip, "a red fox")


# ---------------------------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------------------------


def test_prompt_generates_shows_the_estimate_and_underscore_holds_the_job(
    ip: Any, emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    before = generate_count(emulator)
    result = ip.run_cell("%kubeez a red fox in snow")
    assert result.error_in_exec is None
    job = ip.user_ns["_"]
    assert job.model == "nano-banana-2"
    assert job.status == "completed"
    assert job.outputs and job.outputs[0].media_type == "image"
    assert "14 credits" in capsys.readouterr().out  # the estimate came before the result
    assert generate_count(emulator) == before + 1


def test_dry_run_shows_body_and_estimate_and_sends_nothing(ip: Any, emulator: Any) -> None:
    before = generate_count(emulator)
    dry = kz(ip, "--dry-run --ar 16:9 -n 3 a red fox")
    assert {
        "model": "nano-banana-2",
        "aspect_ratio": "16:9",
        "prompt": "a red fox",
    }.items() <= dry.body.items()
    assert dry.credits == 42
    text = repr(dry)
    assert "nothing sent" in text.lower() and "42 credits" in text
    assert generate_count(emulator) == before


def test_estimate_subcommand_prices_without_sending(ip: Any, emulator: Any) -> None:
    before = generate_count(emulator)
    est = kz(ip, "estimate -m kling-3-0-std --duration 8 --no-sound --ar 16:9 a fox at dawn")
    assert est.credits == 17 * 8
    assert est.body["duration"] == "8s"  # the catalog's own spelling
    assert generate_count(emulator) == before


def test_video_options_reach_the_request_and_o_stores_the_job(ip: Any) -> None:
    job = kz(ip, "-m kling-3-0-std --duration 3 --no-sound --ar 9:16 -o clip a fox running at dawn")
    assert ip.user_ns["clip"] is job
    assert job.ok
    assert job.request["duration"] == "3s"
    assert job.request["sound"] is False
    assert job.request["aspect_ratio"] == "9:16"
    assert job.outputs[0].media_type == "video"


def test_sound_resolution_negative_and_quality_options(ip: Any) -> None:
    body = kz(
        ip, "--dry-run -m wan-2-5 --duration 5s --resolution 720p --negative blurry --ar 16:9 a fox"
    ).body
    assert body["resolution"] == "720p" and body["negative_prompt"] == "blurry"
    assert kz(ip, "--dry-run -m imagen-4 --quality ultra a fox").body["quality"] == "ultra"
    assert kz(ip, "--dry-run -m kling-3-0-std --sound --duration 5 a fox").credits == 105
    assert kz(ip, "--dry-run --video a fox").body["model"] == "kling-3-0-std"


def test_variants_no_wait_returns_a_group_at_once(ip: Any) -> None:
    group = kz(ip, "-n 2 --no-wait -o foxes two foxes")
    assert ip.user_ns["foxes"] is group
    jobs = list(group)
    assert len(jobs) == 2 and len({j.id for j in jobs}) == 2
    group.wait()
    assert all(j.status == "completed" for j in jobs)


def test_ref_accepts_url_asset_name_and_local_file(ip: Any, emulator: Any, tmp_path: Path) -> None:
    client = magics_of(ip).client
    first = kz(ip, "a source image")
    url = first.outputs[0].url
    client.add_asset("magic-ref-asset", url)
    image = tmp_path / "photo.png"
    from PIL import Image

    Image.new("RGB", (8, 8), "red").save(image)
    job = kz(ip, f"--ref {url} --ref magic-ref-asset --ref {image} --no-wait restyle these")
    sources = job.request["source_media_urls"]
    assert len(sources) == 3 and sources[0] == url
    assert all(
        s.startswith("http") and "invalid" not in s for s in sources
    )  # the file was uploaded
    with pytest.raises(UsageError, match="magic-ref-asset"):  # a typo suggests the right asset
        kz(ip, "--ref magic-ref-asst a poster")


def test_confirm_threshold_needs_yes(ip: Any, emulator: Any) -> None:
    before = generate_count(emulator)
    with pytest.raises(UsageError, match=r"--yes") as err:
        kz(ip, "-m kling-3-0-pro --duration 15 --ar 16:9 a long fox")
    assert "%kubeez --yes -m kling-3-0-pro" in str(err.value)
    assert generate_count(emulator) == before
    job = kz(ip, "--yes --no-wait -m kling-3-0-pro --duration 15 --ar 16:9 a long fox")
    assert job.id and generate_count(emulator) == before + 1


def test_a_line_is_one_prepared_request_and_the_magic_threshold_goes_to_submit(
    ip: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The magic builds one Request (validated and priced once) and submits it N times through
    client.submit with its own threshold: %config Kubeez.confirm_above = None never asks, even
    where the client's own threshold would refuse."""
    magics = magics_of(ip)
    client = magics.client
    real_prepare, real_submit = client.prepare, client.submit
    prepared: list[Any] = []
    submitted: list[dict[str, Any]] = []

    def prepare(*args: Any, **kw: Any) -> Any:
        prepared.append(real_prepare(*args, **kw))
        return prepared[-1]

    def submit(request: Any, **kw: Any) -> Any:
        submitted.append(kw)
        return real_submit(request, **kw)

    monkeypatch.setattr(client, "prepare", prepare)
    monkeypatch.setattr(client, "submit", submit)
    monkeypatch.setattr(client, "confirm_above", 0.0)
    monkeypatch.setattr(magics.settings, "confirm_above", None)
    dry = kz(ip, "--dry-run --ar 16:9 a fox")
    assert dry.body == dict(prepared[-1].body) and dry.estimate is prepared[-1].estimate
    assert not submitted
    group = kz(ip, "-n 2 --no-wait --ar 16:9 a fox")
    assert len(prepared) == 2 and len(submitted) == 2  # one prepare for both jobs
    assert all(kw["confirm"] for kw in submitted)  # never asks; the budget is still checked
    assert len(group.jobs) == 2


def test_cell_body_is_the_prompt_with_names_filled_in(ip: Any) -> None:
    ip.user_ns["subject"] = "a lighthouse in a storm"
    ip.user_ns["year"] = 1960
    job = kz(
        ip,
        "--ar 9:16 --no-wait",
        "A travel poster of {subject}, {year}s print style. {{not a field}}",
    )
    assert (
        job.request["prompt"]
        == "A travel poster of a lighthouse in a storm, 1960s print style. {not a field}"
    )
    line = kz(ip, "--dry-run a poster of {subject}")
    assert line.body["prompt"] == "a poster of a lighthouse in a storm"


def test_cell_magic_runs_through_run_cell_and_sets_underscore(ip: Any) -> None:
    ip.user_ns["animal"] = "otter"
    result = ip.run_cell("%%kubeez --dry-run\na sleepy {animal}")
    assert result.error_in_exec is None
    assert ip.user_ns["_"].body["prompt"] == "a sleepy otter"


# ---------------------------------------------------------------------------------------------
# other job kinds
# ---------------------------------------------------------------------------------------------


def test_music_simple_and_advanced_with_lyrics_in_the_cell(ip: Any) -> None:
    song = kz(ip, "music a calm lo-fi loop")
    assert song.ok and song.outputs[0].media_type == "audio"
    dry = kz(
        ip,
        "music --dry-run --title Dawn --style 'lo-fi, warm' --vocal-gender f",
        "la la la\nsecond verse",
    )
    assert dry.body["lyrics"] == "la la la\nsecond verse"
    assert (
        dry.body["title"] == "Dawn"
        and dry.body["style"] == "lo-fi, warm"
        and dry.body["vocal_gender"] == "f"
    )
    assert kz(ip, "music --dry-run --instrumental a drone").body["instrumental"] is True
    assert (
        kz(ip, "music --dry-run --title T --style S a song about rain").body["song_description"]
        == "a song about rain"
    )
    assert (
        kz(ip, "music --dry-run --title T --style S --description 'rain, slowly'").body[
            "song_description"
        ]
        == "rain, slowly"
    )
    with pytest.raises(UsageError, match="--title and --style"):
        kz(ip, "music", "lyrics without a title")


def test_say_with_a_voice_and_a_wrong_voice(ip: Any) -> None:
    speech = kz(ip, "say --voice Aria Hello from the kubeez magic.")
    assert speech.ok and speech.outputs[0].media_type == "audio"
    assert speech.request["voice"] == "Aria"
    with pytest.raises(UsageError, match="Rachel"):  # lists the voices there are
        kz(ip, "say --voice Bobby Hello")
    ip.user_ns["guest"] = "Ada"
    assert kz(ip, "say --dry-run --voice Aria", "Welcome, {guest}.").body["text"] == "Welcome, Ada."


def test_separate_and_captions(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    speech = kz(ip, "say --voice Rachel One two three.")
    stems = kz(ip, f"separate -o stems {speech.outputs[0].url}")
    assert ip.user_ns["stems"] is stems
    assert stems.ok and {o.label for o in stems.outputs} >= {"vocals", "instrumental"}
    captions = kz(ip, f"captions --srt -o subs {speech.outputs[0].url}")
    assert ip.user_ns["subs"] is captions
    assert captions is not None
    assert "-->" in capsys.readouterr().out  # SubRip timing lines


def test_extend_a_veo_clip_by_variable_name(ip: Any) -> None:
    clip = kz(ip, "-m veo3-1-lite-text-to-video --ar 16:9 -o clip a fox in the snow")
    assert clip.ok
    more = kz(ip, "extend clip --extend-model lite --dry-run the fox turns around")
    assert more.body["extend_model"] == "lite" and more.credits == 45
    ip.user_ns["verb"] = "sits down"
    assert kz(ip, "extend clip --dry-run", "the fox {verb}").body["prompt"] == "the fox sits down"
    extended = kz(ip, "extend clip --extend-model lite the fox turns around")
    assert extended.ok and extended.outputs[0].media_type == "video"
    with pytest.raises(UsageError, match="not a Job"):
        ip.user_ns["notajob"] = 3
        kz(ip, "extend notajob and then")


# ---------------------------------------------------------------------------------------------
# account, catalog and ledger subcommands
# ---------------------------------------------------------------------------------------------


def test_models_table_by_type_and_search(ip: Any) -> None:
    every = kz(ip, "models")
    assert {"model_id", "type", "credits", "pricing"} <= set(every.columns)
    videos = kz(ip, "models video")
    assert set(videos["type"]) == {"video"} and len(videos) < len(every)
    kling = kz(ip, "models kling")
    assert all("kling" in m for m in kling["model_id"])
    with pytest.raises(UsageError, match=r"%kubeez -- models on a runway"):
        kz(ip, "models on a runway")
    with pytest.raises(UsageError, match="takes no cell body"):
        kz(ip, "models", "video")


def test_balance_history_cost_assets_jobs_resume(ip: Any) -> None:
    kz(ip, "a fox for the history")
    balance = kz(ip, "balance")
    assert float(getattr(balance, "credits", 0)) > 0
    history = kz(ip, "history 3")
    assert 1 <= len(history) <= 3
    assert kz(ip, "history -o h") is ip.user_ns["h"]
    assert kz(ip, "cost") is not None
    assets = kz(ip, "assets")
    assert isinstance(assets, list) and ">name<" in assets._repr_mimebundle_()["text/html"]
    assert kz(ip, "jobs") is not None
    # submitted and left alone (no waiting, no watcher), as if the kernel had restarted
    pending = magics_of(ip).client.generate_media("nano-banana-2", prompt="a fox to pick up later")
    resumed = kz(ip, "resume")
    assert pending.id in {j.id for j in getattr(resumed, "jobs", [resumed])}
    assert all(j.status == "completed" for j in getattr(resumed, "jobs", [resumed]))
    with pytest.raises(UsageError, match="row count"):
        kz(ip, "history many")


def test_demo_switches_to_a_local_emulator(
    ip: Any, emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    kz(ip, "demo")
    client = magics_of(ip).client
    try:
        assert capsys.readouterr().out.count("emulator") == 1  # one banner
        assert client.base_url.rstrip("/") != emulator.url.rstrip("/")
        assert float(kz(ip, "balance").credits) > 0
    finally:
        emu = getattr(client, "emulator", None)
        if emu is not None:
            emu.stop()


def test_use_switches_to_a_client_variable(ip: Any, client: Any) -> None:
    ip.user_ns["mine"] = client
    kz(ip, "use mine")
    assert magics_of(ip).client is client
    with pytest.raises(UsageError, match=r"kz\.Client"):
        kz(ip, "use nothing_here")


# ---------------------------------------------------------------------------------------------
# user mistakes are UsageErrors that say what to type
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--bogus a fox", r"unknown option --bogus"),
        ("--neg blurry a fox", r"did you mean --negative"),
        ("-n lots a fox", r"invalid int value"),
        ("-n 0 a fox", r"from 1 to 100"),
        ("-o 2x a fox", r"not a valid variable name"),
        ("--ar", r"expected one argument"),
        ("", r"give the text"),
        ("-m nano-banan-2 a fox", r"did you mean nano-banana-2"),
        ("a {undefined_name} fox", r"\{undefined_name\}"),
        ("extend --extend-model huge _ go on", r"invalid choice"),
        ("captions", r"exactly one media URL"),
        ("say", r"give the text"),
        ("--ref no-such-thing a fox", r"not a URL, an existing file or an asset name"),
    ],
)
def test_bad_input_is_a_usage_error(ip: Any, emulator: Any, line: str, expected: str) -> None:
    before = generate_count(emulator)
    with pytest.raises(UsageError, match=expected):
        kz(ip, line)
    assert generate_count(emulator) == before


def test_impossible_values_are_listed_at_once_with_a_corrected_command(ip: Any) -> None:
    with pytest.raises(UsageError) as err:
        kz(ip, "--ar 7:3 --resolution 9K a red fox")
    text = str(err.value)
    assert "2 problems" in text and "--ar" in text and "--resolution" in text
    assert (
        "%kubeez --ar 21:9 a red fox" in text
    )  # nearest ratio; the option the model lacks removed


def test_run_cell_shows_usage_error_without_traceback(
    ip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_cell("%kubeez --ar 7:3 a fox")
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "UsageError" in text and "Traceback" not in text


def test_missing_key_says_how_to_set_it(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBEEZ_API_KEY", raising=False)
    monkeypatch.delenv("KUBEEZ_DEMO", raising=False)
    shell.run_line_magic("load_ext", "kubeez_nb")
    with pytest.raises(UsageError, match=r"(?s)%env KUBEEZ_API_KEY=.*%kubeez demo"):
        shell.run_line_magic("kubeez", "a fox")


def test_api_errors_become_usage_errors_with_what_to_do(
    fresh_emulator: Any, shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_emulator.add_key("sk_test_poor_magic", credits=1)
    monkeypatch.setenv("KUBEEZ_API_KEY", "sk_test_poor_magic")
    monkeypatch.setenv("KUBEEZ_BASE_URL", fresh_emulator.url)
    shell.run_line_magic("load_ext", "kubeez_nb")
    with pytest.raises(UsageError, match=r"(?i)top up|credits") as err:
        shell.run_line_magic("kubeez", "a fox")
    assert "sk_test_poor_magic" not in str(err.value)


# ---------------------------------------------------------------------------------------------
# parsing details
# ---------------------------------------------------------------------------------------------


def test_prompt_is_kept_verbatim_and_subcommand_words_can_be_escaped(ip: Any) -> None:
    assert (
        kz(ip, '--dry-run a fox\'s den, "quoted"  twice').body["prompt"]
        == 'a fox\'s den, "quoted"  twice'
    )
    assert kz(ip, "--dry-run -- models on a runway").body["prompt"] == "models on a runway"
    assert kz(ip, '--dry-run "music" box on a table').body["prompt"] == "music box on a table"
    assert (
        kz(ip, "--dry-run -- -n is not an option here").body["prompt"] == "-n is not an option here"
    )
    assert (
        kz(ip, "--dry-run --negative='blurry, dark' -m wan-2-5 --duration 5s a fox").body[
            "negative_prompt"
        ]
        == "blurry, dark"
    )


def test_tab_completion_offers_subcommands_options_and_catalog_values(ip: Any) -> None:
    from IPython.core.completer import provisionalcompleter

    def complete(line: str) -> list[str]:
        with provisionalcompleter():
            return [c.text for c in ip.Completer.completions(line, len(line))]

    assert "models" in complete("%kubeez mo")
    assert "--dry-run" in complete("%kubeez --dr")
    assert "nano-banana-2" in complete("%kubeez -m nano-ban")
    ratios = complete("%kubeez -m kling-3-0-std --ar ")
    assert {"16:9", "9:16", "1:1"} <= set(
        ratios
    ) and "21:9" not in ratios  # that model's own ratios
    assert "Aria" in complete("%kubeez say --voice Ari")
    assert "quality" in complete("%kubeez extend _ --extend-model q")


# ---------------------------------------------------------------------------------------------
# tables: a handful of columns, short ids, hover text, thumbnails, words when empty
# ---------------------------------------------------------------------------------------------


def test_history_is_a_compact_table_with_short_ids_hover_and_thumbnails(ip: Any) -> None:
    long_prompt = "a fox" + " in deep snow" * 8
    job = kz(ip, long_prompt)
    shown = kz(ip, "history 5")
    html = shown._repr_mimebundle_()["text/html"]
    assert html.count("<th") <= 8 and "params" not in html and "output_urls" not in html
    assert f">{job.id[:8]}</code>" in html and f"title='{job.id}'" in html
    assert "…" in html and f"title='{long_prompt}'" in html  # cut, full text on hover
    assert f"kubeez-data/media/{job.id}/0.png" in html or "<img" in html
    assert job.id not in repr(shown) and job.id[:8] in repr(shown)
    assert shown.frame is not None and len(shown.frame.columns) > 10  # everything one step away
    none = kz(ip, "history 3 --status cancelled")
    assert "No generations yet with status=cancelled." in none._repr_mimebundle_()["text/html"]
    assert repr(none) == "No generations yet with status=cancelled."


def test_jobs_shows_this_kernels_jobs_unless_all(ip: Any) -> None:
    magics = magics_of(ip)
    kz(ip, "a fox for the ledger")
    mine = kz(ip, "jobs")
    assert len(mine) >= 1 and "from this kernel" in mine._repr_mimebundle_()["text/html"]
    magics._started = time.time() + 60  # as if this kernel had started after those jobs
    fresh = kz(ip, "jobs")
    assert len(fresh) == 0
    assert "No jobs from this kernel yet" in repr(fresh) and "--all" in repr(fresh)
    assert len(kz(ip, "jobs --all")) >= len(mine)


def test_models_shows_every_match_with_the_full_price_note_on_hover(ip: Any) -> None:
    videos = kz(ip, "models video")
    html = videos._repr_mimebundle_()["text/html"]
    assert html.count("<tr>") == len(videos) + 1 and "more" not in html.split("</table>")[-1]
    note = str(videos["pricing"].iloc[0])
    assert f"title='{html_escape(note)}'" in html
