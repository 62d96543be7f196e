"""The emulator's balance and insufficient-credits messages write amounts as the client does:
thousands separators, never ``1e+06``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubeez_nb import Client
from kubeez_nb.errors import InsufficientCreditsError


@pytest.mark.parametrize(
    ("credits", "said"),
    [(9986, "You have 9,986 credits."), (1_000_000, "You have 1,000,000 credits."),
     (12.5, "You have 12.5 credits.")],
)  # fmt: skip
def test_the_balance_message_uses_thousands_separators(
    emulator: Any, tmp_path: Path, credits: float, said: str
) -> None:
    key = emulator.add_key(credits=credits)
    client = Client(api_key=key, base_url=emulator.url, home=tmp_path)
    assert client.balance().raw["message"] == said


def test_the_insufficient_credits_message_uses_thousands_separators(emulator: Any) -> None:
    from kubeez_nb.emulator.errors import InsufficientCredits

    acc = emulator.backend.add_key(None, None, 1_234.0, None)
    with pytest.raises(InsufficientCredits) as err:
        emulator.backend.charge(acc, 25_000, "a-request")
    assert "This request costs 25,000 credits but the balance is 1,234." in str(err.value)


def test_a_402_over_http_reads_the_same(emulator: Any, tmp_path: Path) -> None:
    key = emulator.add_key(credits=3)
    client = Client(api_key=key, base_url=emulator.url, home=tmp_path)
    with pytest.raises(InsufficientCreditsError) as err:
        client.generate_media(model="z-image", prompt="a fox").wait(30)
    assert "but the balance is 3." in str(err.value), str(err.value)
