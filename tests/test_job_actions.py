"""Result actions on a displayed Job, a JobGroup and a batch gallery (``kubeez_nb.actions``).

Which actions each kind of output shows, and what each one's inserted cell does when it runs
against the emulator: Insert code / Re-run / Vary make the same request (same body, same
estimate); Caption / Separate / Extend / Use as reference / Save as asset make theirs."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path
from typing import Any

import pytest

import kubeez_nb
from kubeez_nb import Client, Job, JobGroup
from kubeez_nb import actions as act
from kubeez_nb.records import Asset, Captions


@pytest.fixture
def nb_client(emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Client:
    """A client whose cache sits in the 'notebook folder'; ``kz.connect()`` returns it, so an
    inserted cell runs against the same emulator."""
    monkeypatch.chdir(tmp_path)
    c = Client(api_key=emulator.api_key, base_url=emulator.url, home=tmp_path / "kubeez-data")
    monkeypatch.setattr(kubeez_nb, "connect", lambda demo=False, **kw: c)
    return c


def _shown(obj: Any) -> str:
    return obj._repr_mimebundle_()["text/html"]


def _actions(html: str) -> list[str]:
    return re.findall(r"class='kubeez-act-([a-z]+)'", html)


def _codes(html: str) -> dict[str, tuple[str, bool]]:
    """action -> (the inserted cell's code, runs at once) as the browser reads them."""
    out = {}
    for m in re.finditer(r"<button class='kubeez-act-([a-z]+)' data-code='([^']*)'([^>]*)>", html):
        out[m.group(1)] = (htmllib.unescape(m.group(2)), "data-run='1'" in m.group(3))
    return out


def _run(code: str) -> dict[str, Any]:
    """Execute an inserted cell (``kz.connect()`` is the test's client)."""
    assert code.startswith("import kubeez_nb as kz\n\nclient = kz.connect()\n"), code
    ns: dict[str, Any] = {}
    exec(compile(code, "<inserted cell>", "exec"), ns)
    return ns


def _same_request(again: Job, job: Job) -> None:
    assert again.id != job.id
    assert again.request == job.request
    assert job.estimate is not None and again.estimate is not None
    assert float(again.estimate) == float(job.estimate)
    assert str(again.estimate) == str(job.estimate)


@pytest.fixture
def image(nb_client: Client) -> Job:
    job = nb_client.generate_media("nano-banana-2", "a fox", aspect_ratio="16:9")
    return job.wait(progress=False)


@pytest.fixture
def clip(nb_client: Client) -> Job:
    job = nb_client.generate_media(
        "veo3-1-fast-text-to-video", "waves at dusk", aspect_ratio="16:9"
    )
    return job.wait(progress=False)


@pytest.fixture
def song(nb_client: Client) -> Job:
    return nb_client.generate_music("V5", "a calm song").wait(progress=False)


@pytest.fixture
def speech(nb_client: Client) -> Job:
    return nb_client.generate_dialogue("Hello there, this is a test.").wait(progress=False)


BASE = ["download", "copy", "asset"]
TAIL = ["rerun", "vary", "code"]


def test_each_kind_shows_the_actions_that_fit(
    image: Job, clip: Job, song: Job, speech: Job, nb_client: Client
) -> None:
    assert _actions(_shown(image)) == [*BASE, "reference", *TAIL]  # nano-banana-2 takes images
    assert _actions(_shown(clip)) == [*BASE, "caption", "extend", *TAIL]  # Veo 3.1: extendable
    for audio in song.outputs:
        row = act.output_actions_html(song, audio)
        assert _actions(row) == [*BASE, "caption", "separate", *TAIL]
    assert _actions(_shown(speech)) == [*BASE, "caption", "separate", *TAIL]
    plain = nb_client.generate_media("z-image", "a cat").wait(progress=False)
    assert "reference" not in _actions(_shown(plain))  # z-image takes no reference
    # the fact lives in one place: the studio's cards read the same table
    from kubeez_nb.widgets import cards

    assert cards.actions_for is act.actions_for


def test_the_action_rows_can_be_turned_off_for_lean_notebooks(
    image: Job, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubeez_nb import render

    with_rows = _shown(image)
    monkeypatch.setattr(render.OPTIONS, "actions", False)
    bare = _shown(image)
    assert _actions(bare) == [] and "kubeez-actions" not in bare
    assert f"kubeez-data/media/{image.id}/0.png" in bare  # the result itself is still shown
    assert len(with_rows) - len(bare) > 1500  # what the row costs a saved notebook


def test_download_goes_through_the_server_not_the_loopback(image: Job) -> None:
    html = _shown(image)
    rel = f"kubeez-data/media/{image.id}/0.png"
    link = re.search(
        r"<a class='kubeez-act-download' href='([^']*)' download='0.png' data-rel='([^']*)'", html
    )
    assert link and link.group(1) == link.group(2) == rel  # relative: Lab serves it via /files/
    assert "onmousedown=" not in html  # JupyterLab / Notebook 7 resolve it: no script needed
    from kubeez_nb.actions import download_html

    in_widget = download_html(image.outputs[0], widget=True)  # the studio's card: nothing
    assert "onmousedown=" in in_widget and "files/" in in_widget  # resolves it, the page does
    assert re.search(r"data-url='http://127\.0\.0\.1[^']*'", html)  # Copy URL: the output's URL


def test_insert_code_and_rerun_make_the_same_request(
    image: Job, clip: Job, song: Job, speech: Job, emulator: Any
) -> None:
    for job in (image, clip, song, speech):
        codes = _codes(_shown(job))
        code, runs = codes["code"]
        assert not runs and codes["rerun"] == (code, True)  # Re-run: the same cell, run at once
        assert emulator.api_key not in code
        again = _run(code)["job"]
        _same_request(again, job)
        assert again.wait(progress=False).ok


def test_vary_holds_the_prompt_on_its_own_line(image: Job, speech: Job) -> None:
    code, runs = _codes(_shown(image))["vary"]
    assert not runs and '\nprompt = "a fox"  # change the prompt' in code
    assert "prompt=prompt" in code and "data-select='a fox'" in _shown(image)
    _same_request(_run(code)["job"], image)  # unchanged it is the same request
    varied = _run(code.replace('prompt = "a fox"', 'prompt = "a wolf"'))["job"]
    assert varied.request == {**image.request, "prompt": "a wolf"}
    code, _ = _codes(_shown(speech))["vary"]
    assert "\ntext = " in code and "generate_dialogue(text" in code
    _same_request(_run(code)["job"], speech)


def test_caption_this_captions_the_output(clip: Job) -> None:
    code, runs = _codes(_shown(clip))["caption"]
    assert runs and f'client.captions("{clip.outputs[0].url}")' in code
    captions = _run(code)["captions"]
    assert isinstance(captions, Captions) and captions.cues()


def test_separate_this_makes_stems(speech: Job) -> None:
    code, runs = _codes(_shown(speech))["separate"]
    assert runs and f'client.separate("{speech.outputs[0].url}")' in code
    stems = _run(code)["stems"].wait(progress=False)
    assert stems.kind == "separation" and stems.ok and len(stems.outputs) >= 2


def test_extend_this_continues_the_clip(clip: Job) -> None:
    code, runs = _codes(_shown(clip))["extend"]
    assert runs and f'client.job("{clip.id}", "media")' in code
    ext = _run(code)["job"].wait(progress=False)
    assert ext.kind == "extend" and ext.ok and ext.request["source_task_id"] == clip.source_task_id


def test_use_as_reference_adds_the_output_to_the_request(image: Job, nb_client: Client) -> None:
    code, runs = _codes(_shown(image))["reference"]
    assert runs
    job = _run(code)["job"]
    url = image.outputs[0].url
    assert job.request == {**image.request, "source_media_urls": [url]}
    want = nb_client.prepare("media", **{**image.request, "source_media_urls": [url]})
    assert job.estimate is not None and float(job.estimate) == float(want.estimate)  # type: ignore[arg-type]


def test_save_as_asset(image: Job, nb_client: Client) -> None:
    code, runs = _codes(_shown(image))["asset"]
    assert runs
    asset = _run(code)["asset"]
    assert isinstance(asset, Asset) and asset.name.startswith("nano-banana-2-")
    assert asset.name in [a.name for a in nb_client.assets()]


def test_a_failed_job_offers_rerun_and_insert_code_only(fresh_emulator: Any, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    fresh_emulator.set_knobs(job_failure_rate=1.0)
    c = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    job = c.generate_media("z-image", "a cat").wait(progress=False)
    assert job.failed
    html = _shown(job)
    assert _actions(html) == ["rerun", "code"]
    assert 'client.generate_media("z-image"' in html


def test_running_shows_a_bar_and_no_actions(nb_client: Client) -> None:
    job = Job(nb_client, "gen-1", model="veo3-1-fast-text-to-video", status="processing",
              request={"model": "veo3-1-fast-text-to-video", "prompt": "x"}, submitted_at=0)  # fmt: skip
    nb_client.catalog()
    import time

    job.submitted_at = time.time() - 30  # a third of the catalog's 90 s
    html = _shown(job)
    bar = re.search(r"<progress class='kubeez-job-bar' max='1' value='([0-9.]+)'", html)
    assert bar and 0.3 < float(bar.group(1)) < 0.5, html
    assert "running… 30 s of usually ~1 min 30 s" in html
    assert _actions(html) == []
    job.submitted_at = time.time() - 600  # far past the estimate: never a full bar
    bar = re.search(r"value='([0-9.]+)'", _shown(job))
    assert bar and float(bar.group(1)) < 1.0
    assert "kubeez-job-bar" in _shown(JobGroup([job]))  # a gallery tile has the bar too
    job.model = "not-in-the-catalog"  # no ETA: an indeterminate bar
    html = _shown(job)
    assert "<progress class='kubeez-job-bar' max='1' style" in html and "value=" not in html


def test_a_reattached_job_has_no_request_actions(image: Job, nb_client: Client) -> None:
    again = nb_client.job(image.id)
    assert again.request == {}
    assert _actions(_shown(again)) == [*BASE]  # no request: nothing to re-run, vary or insert


def test_galleries_carry_the_action_rows(image: Job, speech: Job, nb_client: Client) -> None:
    group = JobGroup([image, speech])
    html = _shown(group)
    assert _actions(html).count("code") == 2 and "separate" in _actions(html)
    res = kubeez_nb.batch(
        prompts=["a fox", "a cat"], models=["z-image"], client=nb_client, progress=False
    ).wait()
    gallery = res.gallery().data
    assert _actions(gallery).count("rerun") == 2 and _actions(gallery).count("download") == 2


def test_the_studio_card_and_the_display_share_one_row(image: Job) -> None:
    from kubeez_nb.widgets.cards import ResultCard

    card = ResultCard(image, image.outputs[0], code="client.generate_media('x')")
    row = card.children[1].children[0].value
    assert row.startswith(act.row_html([])[: row.index(">")])  # the same handler and row
    assert _actions(row) == ["download", "copy", "code"]
