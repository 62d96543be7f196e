"""The studio as a workspace: result cards and their actions, live progress, the visual History."""

from __future__ import annotations

import time
from typing import Any

import pytest

ipywidgets = pytest.importorskip("ipywidgets")

IMAGE = "z-image"
VIDEO = "veo3-1-lite-text-to-video"  # extendable
SONG = "V5"
VOICE = "text-to-dialogue-v3"


def _walk(widget: Any) -> list[Any]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _walk(child)
    return found


def _run(studio: Any, kind: str, model: str | None, values: dict[str, Any]) -> Any:
    p = studio.panel(kind)
    if model is not None:
        p.picker.value = model
    p.form.apply(values)
    assert p.generate(), p.problems_html.value
    assert p.finished.wait(60) and p.error is None, p.status_html.value
    return p


def _cards(p: Any) -> list[Any]:
    from kubeez_nb.widgets.cards import ResultCard

    return [w for w in p.result.children if isinstance(w, ResultCard)]


@pytest.fixture(scope="module")
def made_client(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from kubeez_nb import Client

    home = tmp_path_factory.mktemp("studio")
    return Client(api_key=emulator.api_key, base_url=emulator.url, home=home)


@pytest.fixture(scope="module")
def made(made_client: Any) -> Any:
    """A studio after an image, a video, a song and a voice line (the cache below the working
    directory, as in Jupyter: the notebook's folder holds ``kubeez-data``)."""
    import os

    from kubeez_nb.widgets import Studio

    client = made_client
    before = os.getcwd()
    os.chdir(client.home)
    s = Studio(client)
    out: dict[str, Any] = {"studio": s}
    out["image"] = _cards(_run(s, "media", IMAGE, {"prompt": "a red fox"}))[0]
    out["video"] = _cards(_run(s, "media", VIDEO, {"prompt": "a fox runs"}))[0]
    out["song"] = _cards(_run(s, "music", SONG, {"prompt": "calm piano", "instrumental": True}))[0]
    out["voice"] = _cards(_run(s, "dialogue", None, {"text": "Hello there, fox."}))[0]
    yield out
    os.chdir(before)


def test_each_card_shows_the_actions_that_fit_its_kind(made: dict[str, Any]) -> None:
    common = {"download", "copy", "asset", "reference", "rerun", "vary", "code"}
    assert set(made["image"].actions) == common
    assert set(made["video"].actions) == common | {"caption", "extend"}
    assert set(made["song"].actions) == common | {"caption", "separate"}
    assert set(made["voice"].actions) == common | {"caption", "separate"}
    html_row = next(
        w.value
        for w in _walk(made["image"])
        if isinstance(w, ipywidgets.HTML) and "Download" in w.value
    )
    # Download goes through the Jupyter server's /files/ route to the cached file, never a URL
    # of the (loopback) API; Copy URL carries the output URL; Insert code carries the call
    assert (
        "data-rel='media/" in html_row
        and "files/" in html_row
        and "127.0.0.1" not in html_row.split("data-url")[0]
    )
    assert "kubeez-act-copy" in html_row and "kubeez-act-code" in html_row


def test_insert_code_reproduces_the_same_request(made: dict[str, Any], made_client: Any) -> None:
    """The inserted cell's call, run against this client, makes the same body and estimate."""
    s = made["studio"]
    p = s.panel("media")
    card = made["video"]
    sent = p.job.request
    code = card.code
    assert code is not None and code.startswith("client.generate_media(")
    seen: list[Any] = []
    real = made_client.submit

    def spy(request: Any, **kw: Any) -> Any:
        seen.append(request)
        return real(request, **kw)

    made_client.submit = spy
    try:
        job = eval(code, {"client": made_client})  # the code the card inserts
    finally:
        del made_client.submit
    job.wait(progress=False)
    (request,) = seen
    assert dict(request.body) == dict(sent)
    assert float(request.estimate) == float(p.request.estimate)


def test_save_as_asset_and_session_outputs_in_pickers(
    made: dict[str, Any], made_client: Any
) -> None:
    s = made["studio"]
    card = made["song"]
    assert "saving" in card.act("asset")
    deadline = time.monotonic() + 20
    while "saved as asset" not in card.status.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "saved as asset" in card.status.value, card.status.value
    name = card.status.value.split("saved as asset ")[1].split("<")[0]
    assert any(a.name == name for a in made_client.assets())
    # the song made this session is offered by name in the Captions / Separation pickers
    for kind in ("captions", "separation"):
        field = s.panel(kind).form.fields["media_url"]
        labels = [str(lbl) for lbl, v in field.assets.options if v and v[0] == card.url]
        assert labels and labels[0].startswith("★ V5"), field.assets.options


def test_use_as_reference_keeps_the_model(made: dict[str, Any]) -> None:
    s = made["studio"]
    p = s.panel("media")
    p.picker.value = "nano-banana-2"  # takes reference images
    said = made["image"].act("reference")
    assert p.form.model.id == "nano-banana-2", said
    assert made["image"].url in p.form.fields["source_media_urls"].url_list()
    p.picker.value = IMAGE  # takes none: said so, the model stays
    said = made["image"].act("reference")
    assert p.form.model.id == IMAGE and "takes no image" in said


@pytest.mark.parametrize(
    ("card", "action", "tab", "field"),
    [
        ("voice", "caption", "captions", "media_url"),
        ("song", "separate", "separation", "media_url"),
        ("video", "caption", "captions", "media_url"),
    ],
)
def test_caption_and_separate_open_the_tab_prefilled(
    made: dict[str, Any], card: str, action: str, tab: str, field: str
) -> None:
    s = made["studio"]
    c = made[card]
    c.act(action)
    assert s.tabs.selected_index == [
        k for _, k in __import__("kubeez_nb.widgets.studio_app", fromlist=["TABS"]).TABS
    ].index(tab)
    p = s.panel(tab)
    assert p.form.fields[field].get() == c.url
    assert not p.problems_html.value or "media" not in p.problems_html.value.lower()


def test_extend_this_selects_the_clip(made: dict[str, Any]) -> None:
    s = made["studio"]
    c = made["video"]
    c.act("extend")
    p = s.panel("extend")
    assert p.form.fields["source_task_id"].get() == c.job.id
    assert "No completed" not in p.status_html.value


def test_rerun_and_vary_restore_the_form(made: dict[str, Any]) -> None:
    s = made["studio"]
    p = s.panel("media")
    c = made["image"]
    p.picker.value = "nano-banana"
    p.form.apply({"prompt": "something else"})
    c.act("vary")
    assert p.form.model.id == IMAGE and p.form.params()["prompt"] == "a red fox"
    assert not p.busy  # vary waits for the new prompt
    c.act("rerun")
    assert p.finished.wait(60) and p.error is None
    assert p.job is not c.job and p.job.request == c.job.request


def test_a_model_switch_clears_the_previous_result(made: dict[str, Any]) -> None:
    p = made["studio"].panel("media")
    assert p.result.children
    p.picker.value = "nano-banana"
    assert p.result.children == ()


@pytest.mark.kubeez(speed=10.0)
def test_progress_ticks_with_the_catalog_eta(kubeez_client: Any) -> None:
    """A 6 s (emulator) video: the elapsed time and the bar change at least every second; the
    ETA is the catalog's; the end state is a full green bar."""
    from kubeez_nb.widgets import Studio

    s = Studio(kubeez_client)
    p = s.panel("media")
    p.picker.value = "p-video"  # catalog: 30 s → 3 s at speed 10
    seen: list[tuple[float, float, str]] = []
    to_queue = p.on_progress

    def spy(prog: Any) -> None:
        seen.append((time.monotonic(), prog.bar.value, prog.text.value))
        to_queue(prog)

    p.on_progress = spy
    p.form.apply({"prompt": "waves"})
    assert p.generate()
    assert p.finished.wait(60) and p.error is None, p.status_html.value
    running = [x for x in seen if "left" in x[2] or "longer" in x[2]]
    assert len(running) >= 4, seen
    assert "catalog estimate 30 s" in running[0][2]
    gaps = [running[i][0] - running[i - 1][0] for i in range(1, len(running))]
    assert max(gaps) < 1.0, gaps
    changes = [i for i in range(1, len(running)) if running[i][1:] != running[i - 1][1:]]
    assert len(changes) >= len(running) - 2  # every redraw moved the bar or the clock
    assert p.progress.bar.value == 1.0 and p.progress.bar.bar_style == "success"
    assert "done in" in p.progress.text.value
    assert s.queue.states() == ["p-video · completed"]


@pytest.mark.kubeez(seed_history=5000)
def test_history_shows_fifty_tiles_fast_and_opens_in_form(kubeez_client: Any) -> None:
    from kubeez_nb.widgets import Studio

    job = kubeez_client.generate_media(IMAGE, "remix me", aspect_ratio="16:9").wait(progress=False)
    s = Studio(kubeez_client)
    s.select("history")
    tab = s.history_tab
    # the first load imports pandas and has the emulator render every seeded file once
    assert tab.loaded.wait(10) and tab.thumbs_done.wait(20)
    took = []  # the best of 3 warm refreshes: the other test worker may load both cores
    for _ in range(3):
        started = time.monotonic()
        tab.refresh()
        assert tab.loaded.wait(5) and tab.thumbs_done.wait(5)
        took.append(time.monotonic() - started)
    assert len(tab.tiles) == 50 and min(took) < 1.0, took
    images = [t for t in tab.tiles if any(isinstance(w, ipywidgets.Image) for w in _walk(t))]
    expected = [r for r in tab.rows if r.get("media_type") == "image" and r.get("first_url")]
    assert len(images) == len(expected) > 0
    # filters: type and model
    tab.type_filter.value = "video"
    assert tab.loaded.wait(5)
    tab.loaded.clear()
    assert tab.loaded.wait(5) or True
    assert tab.rows and all(r["model_type"] == "video" for r in tab.rows)
    tab.type_filter.value = "any"
    tab.model_filter.value = IMAGE
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (
        tab.rows and all(r["model"] == IMAGE for r in tab.rows)
    ):
        time.sleep(0.05)
    row = next(r for r in tab.rows if r["id"] == job.id)
    assert tab.open_in_form(row)
    p = s.panel("media")
    assert p.form.model.id == IMAGE
    params = p.form.params()
    assert params["prompt"] == "remix me" and params["aspect_ratio"] == "16:9"


def test_an_untouched_optional_number_says_default_and_is_not_sent(client: Any) -> None:
    """No hidden "send" switch: untouched shows "default" and is left out (price and body
    agree with the form); moving the slider sends it; reset leaves it out again."""
    from kubeez_nb.widgets import Studio
    from kubeez_nb.widgets.fields import NumberField

    p = Studio(client).panel("dialogue")
    p.form.apply({"text": "Hello."})
    f = p.form.fields["stability"]
    assert isinstance(f, NumberField)
    assert "default" in f.state.value and "stability" not in p.request.body
    f._value_widget.value = 0.9  # the user moves the slider
    assert p.request.body["stability"] == 0.9 and f.state.value == ""
    f.reset.click()
    assert "stability" not in p.request.body and "default" in f.state.value


def test_the_model_list_price_is_the_default_forms_price(client: Any) -> None:
    """Every media / music model: the picker's price (the catalog's) is what its untouched form
    costs (imagen-4 defaults to the quoted "standard", wan-2-5 to the quoted 1080p)."""
    from kubeez_nb.widgets.form import ModelForm
    from kubeez_nb.widgets.generate_panel import model_label

    wrong = []
    for m in client.catalog().values():
        if m.endpoint not in ("media", "music"):
            continue
        params = {"prompt": "x", **ModelForm(m, m.endpoint).params()}
        est = client.prepare(m.endpoint, m, **params).estimate
        if est is None or float(est) != m.cost_per_generation:
            wrong.append((m.id, model_label(m), est and float(est)))
    assert wrong == []


def test_the_queue_strip_shows_every_job_in_flight(client: Any) -> None:
    """Two tabs generating at once: two chips in flight, each with its model and state, then a
    clear end state for both."""
    from kubeez_nb.widgets import Studio

    s = Studio(client)
    media, voice = s.panel("media"), s.panel("dialogue")
    media.picker.value = IMAGE
    media.form.apply({"prompt": "a fox"})
    voice.form.apply({"text": "Hello."})
    assert media.generate() and voice.generate()
    assert s.queue.in_flight == 2 and len(s.queue.children) == 2
    assert media.finished.wait(60) and voice.finished.wait(60)
    assert s.queue.in_flight == 0
    assert sorted(s.queue.states()) == sorted([f"{IMAGE} · completed", f"{VOICE} · completed"])
    assert all("completed" in chip.value for chip in s.queue.children)
