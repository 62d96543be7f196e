"""Reference URLs are checked while the user types: after a pause, locally, in the form's words,
next to the box, with Generate in step; nothing is red before the user typed."""

from __future__ import annotations

from typing import Any

import pytest

ipywidgets = pytest.importorskip("ipywidgets")

from kubeez_nb.widgets.media_field import MediaField, link_problem  # noqa: E402

#: an image model that takes reference images (and needs none)
MODEL = "gpt-1.5-image-high"


def _type(box: Any, text: str) -> None:
    """What the browser sends for a text box with continuous updates: one value per keystroke."""
    for i in range(1, len(text) + 1):
        box.value = text[:i]


def _panel(client: Any) -> tuple[Any, MediaField, list[int]]:
    import kubeez_nb as kz

    p = kz.panel(MODEL, client=client)
    p.form.apply({"prompt": "a fox in the snow"})
    calls = [0]
    prepare = client.prepare

    def counting(*a: Any, **kw: Any) -> Any:
        calls[0] += 1
        return prepare(*a, **kw)

    client.prepare = counting
    return p, p.form.media_fields()[0], calls


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("foo", "'foo' is not a link"),
        ("ftp://example.com/a.png", "is not a link"),
        ("/home/me/fox.png", "is not a link"),
        ("https://", "has no host after https://"),
        ("https:///a.png", "has no host"),
        ("https://example.com/a fox.png", "has a space in it"),
        ("https://example.com/a.png", None),
        ("http://127.0.0.1:8000/a.png", None),
        ("data:image/png;base64,iVBOR", None),
    ],
)
def test_link_problems_are_local_syntax_in_the_uis_words(url: str, says: str | None) -> None:
    got = link_problem(url)
    if says is None:
        assert got is None
    else:
        assert got is not None and says in got
        assert got.endswith("paste an https:// link or use the Upload file button")


def test_a_bad_reference_url_is_shown_while_typing_and_blocks_generate(client: Any) -> None:
    p, field, calls = _panel(client)
    assert not p.generate_button.disabled
    assert field.note.value == ""  # nothing red before the user typed
    _type(field.urls, "htp:/fox.png")
    # keystrokes cost nothing: no prepare (catalog / HTTP) per key, no message mid-word
    assert calls[0] == 0 and field.note.value == ""
    assert field.typing.idle.wait(5)
    note = field.note.value
    assert "<b>References</b>: &#x27;htp:/fox.png&#x27; is not a link" in note, note
    assert "paste an https:// link or use the Upload file button" in note
    assert calls[0] == 1  # one prepare once the typing paused
    assert p.generate_button.disabled
    assert p.generate_button.tooltip.startswith("References: 'htp:/fox.png' is not a link")
    assert "is not a link" in p.problems_html.value
    assert p.generate() is False  # a click does nothing while a link is bad

    calls[0] = 0
    field.urls.value = ""  # the user clears the box and types a good link
    _type(field.urls, "https://example.com/fox.png")
    assert field.typing.idle.wait(5)
    assert field.note.value == "" and p.problems_html.value == ""
    assert not p.generate_button.disabled and p.generate_button.tooltip == ""
    assert calls[0] == 1


def test_a_link_set_by_code_is_checked_at_once(client: Any) -> None:
    p, field, _ = _panel(client)
    p.form.apply({"source_media_urls": ["not a link"]})  # a remix of a bad body, an asset …
    assert field.typing.idle.is_set()  # no timer: the change is not typing
    assert "has a space in it" in field.note.value and p.generate_button.disabled
    field.add("https://example.com/b.png", "image")
    assert p.generate_button.disabled  # the bad line is still there
    field.set(["https://example.com/b.png"])
    assert field.note.value == "" and not p.generate_button.disabled


def test_a_single_media_url_box_is_checked_the_same_way(client: Any) -> None:
    from kubeez_nb.widgets import Studio

    s = Studio(client)
    p = s.panel("captions")
    assert p is not None
    field = p.form.media_fields()[0]
    assert field.single and field.note.value == ""
    assert "kubeez-todo" in p.problems_html.value  # required, but grey until the user acts
    _type(field.urls, "www.example.com/talk.mp4")
    assert field.typing.idle.wait(5)
    label = field.label
    assert f"<b>{label}</b>: &#x27;www.example.com/talk.mp4&#x27; is not a link" in field.note.value
    assert p.generate_button.disabled
    s.close_all()
