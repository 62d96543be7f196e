"""Rich, compact reprs: every record a newcomer prints shows an HTML view and ONE line of text,
numbers written for people, and never the key or a signed URL's query string."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from kubeez_nb import Client
from kubeez_nb.emulator import Emulator
from kubeez_nb.records import AssetList, Balance, Uploaded


@pytest.fixture(scope="module")
def rich() -> Any:
    with Emulator(quiet=True, credits=99_951_900) as emu:
        yield emu


@pytest.fixture
def rc(rich: Any, tmp_path: Path) -> Client:
    return Client(api_key=rich.api_key, base_url=rich.url, home=tmp_path)


def _shown(obj: Any) -> tuple[str, str]:
    bundle = obj._repr_mimebundle_()
    text, body = bundle["text/plain"], bundle["text/html"]
    assert "\n" not in text and text == repr(obj), text
    assert body.strip(), "no HTML view"
    return text, body


def test_every_record_has_an_html_view_and_one_line_of_text(rc: Client, rich: Any) -> None:
    catalog = rc.catalog()
    upload = Uploaded(rc.upload(io.BytesIO(b"\x89PNG fake"), filename="logo.png"))
    asset = rc.add_asset("poster", "https://example.com/poster.png")
    shown = {
        "client": _shown(rc),
        "balance": _shown(rc.balance()),
        "catalog": _shown(catalog),
        "model": _shown(catalog["nano-banana-2"]),
        "estimate": _shown(rc.estimate("nano-banana-2", prompt="a fox")),
        "asset": _shown(asset),
        "assets": _shown(AssetList(rc.assets())),
        "upload": _shown(upload),
    }
    for name, (text, body) in shown.items():
        assert rich.api_key not in text + body, name
        assert "sig=" not in text and "expires=" not in text, name
    assert shown["balance"][0] == "Balance(99,951,900 credits)"
    assert "e+07" not in shown["balance"][1] and "99,951,900" in shown["balance"][1]
    assert "logo.png" in shown["upload"][0] and upload[0].split("?")[0] in upload[0]
    assert shown["estimate"][0] == "Estimate(nano-banana-2: 14 credits)"
    text, body = shown["catalog"]
    assert "type='search'" in body and body.count("<tr>") == len(catalog) + 1
    assert "poster" in shown["assets"][1] and "href" not in shown["assets"][1]


def test_the_server_message_reads_with_separators() -> None:
    bal = Balance.from_json({"credits": 99951900, "message": "You have 9.99519e+07 credits."})
    assert "You have 99,951,900 credits." in bal._repr_mimebundle_()["text/html"]
    assert str(bal) == "99,951,900 credits"


def test_empty_lists_say_so_in_words() -> None:
    assert "No assets yet" in AssetList()._repr_mimebundle_()["text/html"]
    assert repr(AssetList()) == "[0 assets]"
