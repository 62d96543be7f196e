"""Widget panels: fields from capabilities, live price/validation, non-blocking generate, login."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ipywidgets = pytest.importorskip("ipywidgets")

from kubeez_nb.contract.catalog import Catalog, Model  # noqa: E402
from kubeez_nb.contract.rules import validate  # noqa: E402
from kubeez_nb.widgets.fields import (  # noqa: E402
    BoolField,
    ChoiceField,
    InfoField,
    NumberField,
    RangeField,
    TextField,
)
from kubeez_nb.widgets.form import ModelForm  # noqa: E402
from kubeez_nb.widgets.media_field import MediaField  # noqa: E402

CATALOG_PATH = Path(__file__).resolve().parent.parent / "kubeez_nb/emulator/data/models.json"
SHARED = Catalog.from_json(json.loads(CATALOG_PATH.read_text()))
_EXT = {"image": "png", "video": "mp4", "audio": "mp3"}


def _expected_fields(m: Model) -> set[str]:
    """The body fields a model's catalog row allows, worked out from the raw row."""
    caps = m.raw.get("capabilities") or {}
    kind = m.endpoint
    if kind == "media":
        out = {"prompt"}
        out |= {k[: -len("_options")] for k, v in caps.items() if k.endswith("_options") and v}
        if caps.get("supports_negative_prompt") is True:
            out.add("negative_prompt")
        takes = [
            k
            for k in _EXT
            if (caps.get(f"max_input_{k}s") or 0) > 0
            or (caps.get(f"max_input_{k}s") is None and k in m.input_media_types)
        ]
        if takes or m.requires_input_media:
            out.add("source_media_urls")
        if len(m.generation_types) > 1:
            out.add("generation_type")
        if caps.get("video_audio") or caps.get("supports_sound"):
            out.add("sound")
        return out
    route = {
        "music": {
            "prompt",
            "instrumental",
            "title",
            "style",
            "lyrics",
            "song_description",
            "vocal_gender",
            "negative_tags",
            "style_weight",
            "weirdness_constraint",
            "audio_weight",
            "mode",
            "words",
        },
        "dialogue": {
            "text",
            "voice",
            "stability",
            "similarity_boost",
            "style",
            "speed",
            "language_code",
        },
        "captions": {"media_url", "quality", "language", "code_switching"},
        "separation": {"media_url"},
        "ad-copy": {
            "reference_ad_url",
            "product_image_url",
            "product_text",
            "variant_count",
            "aspect_ratio",
            "language",
        },
    }[kind]
    if kind == "music" and m.accepts_sources:
        route = route | {"source_media_urls"}
    return route


def _fill_required(form: ModelForm) -> None:
    """What a user must type before the default submission can go: words and required media."""
    m = form.model
    assert m is not None
    values: dict[str, Any] = {"prompt": "a red fox in snow", "text": "Hello from the studio."}
    limits = {k: v for k, v in m.media_limits.items() if v > 0}
    kind = next(iter(limits), "image")
    if m.needs_input_media:
        values["source_media_urls"] = [f"https://example.com/ref.{_EXT[kind]}"]
    if m.endpoint == "separation":
        values["media_url"] = "https://example.com/song.mp3"
    if m.endpoint == "captions":
        values["media_url"] = "https://example.com/talk.mp4"
    if m.endpoint == "ad-copy":
        values["reference_ad_url"] = "https://example.com/ad.png"
    form.apply(values)


def test_every_model_of_the_shared_catalog_gets_exactly_its_fields(client: Any) -> None:
    import kubeez_nb as kz

    catalog = client.catalog()
    assert len(catalog) == len(SHARED) >= 120
    for m in catalog.values():
        p = kz.panel(m.id, client=client)
        form = p.form
        shown = set(form.fields)
        assert shown == _expected_fields(m), m.id
        caps = m.raw.get("capabilities") or {}
        if not caps.get("supports_negative_prompt"):
            assert "negative_prompt" not in shown, m.id
        if m.endpoint == "media" and not caps.get("duration_options"):
            assert "duration" not in shown, m.id
        if caps.get("video_audio") in ("included", "silent"):
            assert isinstance(form.fields["sound"], InfoField), m.id  # shown, never sent
        if caps.get("video_audio") == "toggle_via_sound_param":
            assert isinstance(form.fields["sound"], BoolField), m.id
        if m.endpoint == "media" and m.duration_range:
            assert isinstance(form.fields["duration"], RangeField), m.id
        # the default submission, once the user typed the words, passes the catalog's checks
        _fill_required(form)
        params = form.params()
        assert validate(m, m.endpoint, params, voices=catalog.voices) == [], (m.id, params)
        assert not p.generate_button.disabled, m.id
        assert "credits" in p.price_html.value, m.id


def test_option_lists_become_toggles_or_dropdowns_and_prompt_counts_live(client: Any) -> None:
    m = next(m for m in SHARED.values() if len(m.capabilities.aspect_ratio_options) > 5)
    form = ModelForm(m, "media")
    ratio = form.fields["aspect_ratio"]
    assert isinstance(ratio, ChoiceField)
    assert isinstance(ratio.widget, ipywidgets.Dropdown)
    short = next(m for m in SHARED.values() if 1 < len(m.capabilities.resolution_options) <= 3)
    assert isinstance(
        ModelForm(short, "media").fields["resolution"].widget, ipywidgets.ToggleButtons
    )
    prompt = form.fields["prompt"]
    assert isinstance(prompt, TextField) and prompt.cap == m.capabilities.prompt_max_chars
    prompt.set("x" * (prompt.cap + 3))
    assert f"{prompt.cap + 3:,} / {prompt.cap:,}" in prompt.counter.value
    assert "over by 3" in prompt.counter.value
    request = client.prepare("media", m, **form.params())  # what the panel does on every edit
    assert any(p.field == "prompt" for p in form.problems(request.problems))


def test_route_forms_follow_the_table_of_request_kinds() -> None:
    """Every field a route form sends is a body field of its request kind in contract.kinds,
    with that field's label, range, fixed choices and required flag."""
    from kubeez_nb.contract.kinds import KINDS
    from kubeez_nb.widgets.route_forms import route_fields

    checked = 0
    for kind in ("music", "dialogue", "captions", "separation", "ad-copy", "extend"):
        model = SHARED.endpoint_model(kind) if kind != "music" else SHARED.get("V5")
        for f in route_fields(model, kind, voices=("Rachel",)):
            if not f.send:
                continue
            spec = KINDS[kind].field(f.name)
            assert spec is not None, (kind, f.name)
            widget = getattr(f, "_value_widget", f.widget)
            if isinstance(f, NumberField):
                assert (widget.min, widget.max) == spec.range and widget.description == spec.title
                checked += 1
            elif isinstance(f, MediaField):
                assert f.required == spec.required and f.name == spec.name
                checked += 1
            elif isinstance(f, ChoiceField) and spec.choices:
                assert set(spec.choices) <= set(f.values), (kind, f.name)
                checked += 1
    assert checked >= 12


def test_unknown_capability_keys_become_generic_fields_not_a_crash() -> None:
    row = {
        "model_id": "future-model",
        "model_type": "video",
        "generation_types": ["text-to-video"],
        "capabilities": {
            "prompt_max_chars": 100,
            "camera_motion_options": ["static", "pan", "orbit"],
            "supports_seed": True,
            "supports_loop": False,
            "style_preset": {"kind": "mystery"},
        },
    }
    m = Model.from_dict(row)
    form = ModelForm(m, "media")
    assert set(form.fields) == {"prompt", "camera_motion", "seed", "style_preset"}
    assert isinstance(form.fields["camera_motion"], ChoiceField)
    assert isinstance(form.fields["seed"], BoolField)
    assert isinstance(form.fields["style_preset"], TextField)
    form.apply({"prompt": "waves"})
    assert form.params() == {"prompt": "waves", "camera_motion": "static"}
    assert validate(m, "media", form.params()) == []


def test_switching_model_keeps_the_values_that_still_fit(client: Any) -> None:
    from kubeez_nb.widgets import Studio

    s = Studio(client)
    p = s.panel("media")
    assert p is not None
    wide = [m for m in p.models if "21:9" in m.capabilities.aspect_ratio_options]
    narrow = [
        m
        for m in p.models
        if m.capabilities.aspect_ratio_options
        and "21:9" not in m.capabilities.aspect_ratio_options
        and "16:9" in m.capabilities.aspect_ratio_options
    ]
    assert wide and narrow
    p.picker.value = wide[0].id
    p.form.apply({"prompt": "a lighthouse at dusk", "aspect_ratio": "21:9"})
    p.picker.value = narrow[0].id
    assert p.form.model.id == narrow[0].id
    assert p.form.params()["prompt"] == "a lighthouse at dusk"
    assert p.form.params()["aspect_ratio"] != "21:9"  # did not fit: the new model's default
    p.form.apply({"aspect_ratio": "16:9"})
    p.picker.value = wide[0].id
    assert p.form.params()["aspect_ratio"] == "16:9"  # fits both: carried over

    # references beyond the new model's limit are dropped, those that fit are kept
    many = next(m for m in p.models if (m.capabilities.max_input_images or 0) >= 3)
    one = next(
        m
        for m in p.models
        if m.capabilities.max_input_images == 1 and not m.capabilities.max_input_videos
    )
    p.picker.value = many.id
    refs = [f"https://example.com/{i}.png" for i in range(3)]
    p.form.apply({"source_media_urls": refs})
    p.picker.value = one.id
    field = p.form.fields["source_media_urls"]
    assert isinstance(field, MediaField) and field.url_list() == refs[:1]


def test_filters_and_search_narrow_the_model_picker(client: Any) -> None:
    from kubeez_nb.widgets import Studio

    p = Studio(client).panel("media")
    assert p is not None and p.type_filter is not None and p.search is not None
    p.type_filter.value = "image"
    ids = [v for _, v in p.picker.options]
    assert ids and all(SHARED[i].model_type == "image" for i in ids)
    assert p.form.model.model_type == "image"
    p.type_filter.value = "all"
    p.search.value = "kling 3"
    ids = [v for _, v in p.picker.options]
    assert ids and all("kling" in i for i in ids)
    assert p.form.model.id in ids


def test_generate_is_disabled_while_the_form_is_invalid(client: Any) -> None:
    import kubeez_nb as kz

    m = next(m for m in SHARED.values() if m.endpoint == "media" and m.needs_input_media)
    p = kz.panel(m.id, client=client)
    assert p.generate_button.disabled  # no prompt, no reference yet
    # what is left to fill in, in the form's words, grey (nothing is red before the user acted)
    todo = p.problems_html.value
    assert "Prompt" in todo and "References" in todo and "source_media_urls" not in todo
    assert "kubeez-todo" in todo and "#b00020" not in todo
    p.form.apply({"prompt": "make it move"})
    assert "kubeez-todo" not in p.problems_html.value  # after an edit: red
    assert p.generate_button.disabled
    assert p.generate() is False  # a click does nothing while invalid
    kind = next(k for k, v in m.media_limits.items() if v > 0)
    p.form.apply({"source_media_urls": [f"https://example.com/a.{_EXT[kind]}"]})
    assert not p.generate_button.disabled and p.problems_html.value == ""


def _image_model() -> str:
    return next(
        m.id
        for m in SHARED.values()
        if m.model_type == "image" and "text-to-image" in m.generation_types and not m.retired
    )


def test_generate_an_image_end_to_end_without_blocking(client: Any) -> None:
    from kubeez_nb.widgets import Studio

    s = Studio(client)
    assert s.balance.updated.wait(10)
    before = s.balance.text.value
    p = s.panel("media")
    assert p is not None
    p.picker.value = _image_model()
    ratio = p.form.fields["aspect_ratio"]
    wide = next(o for o in ratio.values if o not in ("1:1", "auto"))
    p.form.apply({"prompt": "a red fox in snow", "aspect_ratio": wide})
    s.balance.updated.clear()
    p.generate_button.click()  # returns at once: the job runs in a worker thread
    assert p.busy and p.generate_button.disabled
    assert p.finished.wait(60), p.status_html.value
    assert p.error is None, p.status_html.value
    assert p.job.ok and "kubeez-done" in p.status_html.value
    tiles = p.result.children[0].children
    image = tiles[0].children[0]
    assert isinstance(image, ipywidgets.Image) and bytes(image.value).startswith(b"\x89PNG")
    w, h = p.job.outputs[0].width, p.job.outputs[0].height
    a, b = (float(x) for x in wide.split(":"))
    assert abs(w / h - a / b) < 0.05  # the aspect ratio the user picked
    assert not p.generate_button.disabled
    assert s.balance.updated.wait(10) and s.balance.text.value != before  # refreshed after the job


def test_a_click_prepares_the_request_once_and_submits_that_request(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One Generate click: the form is validated and priced once (client.prepare) and that same
    Request goes to client.submit; the panel neither re-validates nor re-prices."""
    import kubeez_nb as kz
    from kubeez_nb.contract import pricing

    p = kz.panel(_image_model(), client=client)
    p.form.apply({"prompt": "a fox priced once"})
    prices: list[int] = []
    real_estimate = pricing.estimate

    def counting(*args: Any, **kw: Any) -> Any:
        prices.append(1)
        return real_estimate(*args, **kw)

    monkeypatch.setattr(pricing, "estimate", counting)
    submitted: list[tuple[Any, int]] = []
    real_submit = client.submit

    def submit(request: Any, **kw: Any) -> Any:
        submitted.append((request, len(prices)))
        return real_submit(request, **kw)

    prepared: list[Any] = []
    real_prepare = client.prepare

    def prepare(*args: Any, **kw: Any) -> Any:
        prepared.append(real_prepare(*args, **kw))
        return prepared[-1]

    monkeypatch.setattr(client, "submit", submit)
    monkeypatch.setattr(client, "prepare", prepare)
    assert p.generate() is True
    assert p.finished.wait(60) and p.error is None, p.status_html.value
    assert p.job is not None and p.job.ok
    ((request, priced),) = submitted
    assert priced == 1 and request is prepared[0]  # the click's one prepare, sent as it was
    assert dict(request.body)["prompt"] == "a fox priced once"


def test_confirm_step_above_the_threshold(emulator: Any, tmp_path: Path) -> None:
    import kubeez_nb as kz

    client = kz.Client(
        api_key=emulator.api_key, base_url=emulator.url, home=tmp_path, confirm_above=1
    )
    p = kz.panel(_image_model(), client=client)
    p.form.apply({"prompt": "a teapot"})
    sent = emulator.stats()
    p.generate_button.click()
    assert p.job is None and not p.busy
    assert p.confirm_button.layout.display != "none"
    assert (
        p.confirm_button.description.startswith("Confirm ")
        and "credits?" in p.confirm_button.description
    )
    assert p.generate_button.layout.display == "none"
    p.cancel_button.click()
    assert p.generate_button.layout.display != "none" and "nothing was sent" in p.status_html.value
    assert emulator.stats().get("generations_created") == sent.get("generations_created")
    p.generate_button.click()
    p.confirm_button.click()
    assert p.finished.wait(60) and p.job is not None and p.job.ok


def test_errors_appear_in_the_panel_with_what_to_do(fresh_emulator: Any, tmp_path: Path) -> None:
    import kubeez_nb as kz

    key = "sk_test_" + "poor" * 6
    fresh_emulator.add_key(key, credits=1)
    client = kz.Client(api_key=key, base_url=fresh_emulator.url, home=tmp_path)
    p = kz.panel(_image_model(), client=client)
    p.form.apply({"prompt": "a castle"})
    p.generate_button.click()
    assert p.finished.wait(30)
    assert p.error is not None
    assert "kubeez-error" in p.status_html.value and "→" in p.status_html.value  # what to do
    assert not p.generate_button.disabled  # the panel stays usable


def test_assets_tab_adds_and_uses_a_reference(client: Any) -> None:
    from kubeez_nb.widgets import Studio

    s = Studio(client)
    s.select("assets")
    tab = s.assets_tab
    assert tab is not None and tab.loaded.wait(10)
    png = Path(__file__).resolve().parent / "_tiny.png"
    from PIL import Image

    Image.new("RGB", (8, 8), "red").save(png)
    try:
        name = f"fox-{os.getpid()}"
        tab.upload(png.read_bytes(), "fox.png", name, wait=True)
    finally:
        png.unlink()
    assert tab.loaded.wait(10), tab.status.value
    asset = next(a for a in tab.assets if a.name == name)
    media = s.panel("media")
    assert media is not None
    media.picker.value = "z-image"  # takes no reference: Use keeps the model and says so
    tab.use(asset)
    assert s.tabs.selected_index == 0 and media.form.model.id == "z-image"
    assert "takes no image references" in media.status_html.value
    media.picker.value = "nano-banana-2"  # takes reference images
    tab.use(asset)
    assert media.form.model.id == "nano-banana-2"
    field = media.form.media_fields()
    assert field and asset.url in field[0].url_list()
    assert media.form.params()["source_media_urls"] == [{"url": asset.url, "type": "image"}]
    tab.delete(asset, wait=True)
    assert all(a.name != name for a in tab.assets)


def _all_widget_state() -> str:
    states = []
    for w in list(ipywidgets.Widget.widgets.values()):
        try:
            states.append(json.dumps(w.get_state(), default=lambda v: repr(v)))
        except Exception:
            continue
    return "\n".join(states)


def test_login_step_keeps_no_trace_of_the_key_in_widget_state(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kubeez_nb as kz
    from kubeez_nb.widgets.login import LoginBox

    canary = "sk_live_CANARY" + os.urandom(8).hex()
    emulator.add_key(canary, credits=100)
    monkeypatch.setenv("KUBEEZ_BASE_URL", emulator.url)
    box = kz.studio()
    assert isinstance(box, LoginBox)
    pw = box.password
    # what the browser does when the user types the key and presses Enter
    pw.set_state({"value": canary})
    assert pw.value == "" and pw.comm is None  # emptied and closed at once
    assert box.ready.wait(30), box.status.value
    assert canary not in _all_widget_state()
    assert "Connected (key set)" in box.children[0].value
    assert canary not in repr(box.client)


def test_a_wrong_key_asks_again_without_echoing_it(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubeez_nb.widgets.login import LoginBox

    monkeypatch.setenv("KUBEEZ_BASE_URL", emulator.url)
    box = LoginBox(lambda c: ipywidgets.HTML("app"))
    wrong = "sk_live_WRONG" + os.urandom(8).hex()
    first = box.password
    first.set_state({"value": wrong})
    for _ in range(300):
        if box.password is not first:
            break
        box.ready.wait(0.05)
    assert box.password is not first and "Could not connect" in box.status.value
    assert wrong not in _all_widget_state()


@pytest.mark.timeout(240)
def test_saved_notebook_holds_no_trace_of_the_key(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    canary = "sk_live_NBCANARY" + os.urandom(8).hex()
    emulator.add_key(canary, credits=100)
    monkeypatch.setenv("KUBEEZ_BASE_URL", emulator.url)
    monkeypatch.setenv("KUBEEZ_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KZ_TEST_CANARY", canary)  # the cell reads it: not in the source
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import os\nimport kubeez_nb as kz\nbox = kz.studio()\nbox"),
        nbformat.v4.new_code_cell(
            "box.password.set_state({'value': os.environ.pop('KZ_TEST_CANARY')})\n"
            "app = box.wait(60)\nassert app is not None, box.status.value\n"
            "app.balance.updated.wait(30)\nprint(type(app).__name__)"
        ),
    ]
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    text = path.read_text()
    assert "Studio" in text and "application/vnd.jupyter.widget-state+json" in text
    assert "kubeez-balance" in text  # the app was built after the login step
    assert canary not in text and canary[8:] not in text


def test_extend_tab_lists_finished_veo_clips_and_extends_one(client: Any) -> None:
    """The Extend tab offers this user's completed Veo 3.1 clips and extends the one picked."""
    from kubeez_nb.widgets import Studio

    veo = next(
        m
        for m in client.catalog().extendable
        if "text-to-video" in m.generation_types and not m.needs_input_media
    )
    clip = client.generate_media(veo.id, "a lighthouse at dusk, waves").wait(progress=False)
    assert clip.ok

    s = Studio(client)
    p = s.panel("extend")
    assert p is not None
    s.load_extend_sources(wait=True)
    source = p.form.fields["source_task_id"]
    assert clip.id in source.values
    p.form.apply({"source_task_id": clip.id, "prompt": "the camera rises above the lighthouse"})
    p.generate_button.click()
    assert p.finished.wait(60), p.status_html.value
    assert p.error is None, p.status_html.value
    assert p.job.kind == "extend" and p.job.ok
    assert p.job.outputs[0].media_type == "video"


def test_history_tab_shows_a_picked_job(client: Any) -> None:
    """History lists recent jobs; picking one re-attaches to it and shows its outputs."""
    from kubeez_nb.widgets import Studio

    job = client.generate_media(_image_model(), "<b>history</b> pick me", aspect_ratio="1:1").wait(
        progress=False
    )
    s = Studio(client)
    s.select("history")
    tab = s.history_tab
    assert tab is not None
    tab.refresh(wait=True)
    index = next(i for i, r in enumerate(tab.rows) if r.get("id") == job.id)
    tile = tab.tiles[index]
    info = next(w for w in _walk(tile) if isinstance(w, ipywidgets.HTML))
    assert "&lt;b&gt;history&lt;/b&gt; pick me" in info.value  # escaped, shown as typed
    tab.viewed.clear()
    view = next(w for w in _walk(tile) if getattr(w, "description", "") == "View")
    view.click()  # the user's click
    assert tab.viewed.wait(30)
    images = [w for w in _walk(tab.view) if isinstance(w, ipywidgets.Image)]
    assert images and bytes(images[0].value).startswith(b"\x89PNG")


def _walk(widget: Any) -> list[Any]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _walk(child)
    return found


def test_send_nothing_choices_show_their_label_not_a_blank(client: Any) -> None:
    """ "auto" / "(default)" choices send nothing, yet the dropdown shows their label."""
    from kubeez_nb.widgets import Studio

    s = Studio(client)
    p = s.panel("media")
    assert p is not None
    for model in ("nano-banana-2", "kling-3-0-pro"):  # toggle buttons, a dropdown
        p.picker.value = model
        choices = [
            w
            for w in _walk(p)
            if isinstance(w, (ipywidgets.Dropdown, ipywidgets.ToggleButtons))
            and w.description == "Generation"
        ]
        assert choices and choices[0].label == "auto", (model, choices)
    assert "generation_type" not in p.form.params()
