"""Batch runs: pacing without 429s, results table, grid gallery, failures collected, budget guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kubeez_nb import Client, batch
from kubeez_nb.errors import BudgetExceededError, ConfirmationRequired


def _client(emu: Any, home: Path, **kw: Any) -> Client:
    return Client(api_key=emu.api_key, base_url=emu.url, home=home, **kw)


def test_sixty_jobs_on_a_30_per_minute_key_see_no_429(fresh_emulator: Any, tmp_path: Path) -> None:
    emu = fresh_emulator
    emu.set_knobs(rate_limit_scale=100)  # a 0.6 s window: the documented 30/min, time-scaled
    key = emu.add_key(credits=100_000, rate_limits={"media": 30, "read": 120})
    client = Client(api_key=key, base_url=emu.url, home=tmp_path)
    res = batch(
        [{"model": "nano-banana-2", "prompt": f"fox {i}"} for i in range(60)],
        client=client,
        progress=False,
    )
    stats = emu.stats()
    assert "429" not in stats["statuses"]
    assert stats["generations_created"] == 60
    df = res.df
    assert isinstance(df, pd.DataFrame) and len(df) == 60
    assert (df["status"] == "completed").all() and not res.failures
    assert {
        "prompt",
        "model",
        "job_id",
        "estimate",
        "cost",
        "output_urls",
        "local_paths",
        "error",
        "elapsed_s",
    } <= set(df.columns)
    assert all(Path(p[0]).is_file() for p in df["local_paths"])
    assert df["cost"].sum() == pytest.approx(res.estimate)


def test_grid_gives_a_comparison_gallery(client: Client) -> None:
    prompts = ["a fox <b>bold</b>", "an owl"]
    models = ["nano-banana-2", "z-image"]
    res = batch(prompts=prompts, models=models, client=client, progress=False, aspect_ratio="1:1")
    assert len(res) == 4 and not res.failures
    assert set(zip(res.df["prompt"], res.df["model"], strict=True)) == {
        (p, m) for p in prompts for m in models
    }
    html = res._repr_mimebundle_()["text/html"]
    assert html.count("<img") == 4 and "&lt;b&gt;bold" in html and "<b>bold" not in html
    assert all(m in html for m in models)
    assert res.gallery().data.count("<tr>") == 3  # header + one row per prompt


def test_failures_are_collected_not_raised(fresh_emulator: Any, tmp_path: Path) -> None:
    fresh_emulator.set_knobs(job_failure_rate=1.0)
    client = _client(fresh_emulator, tmp_path)
    frame = pd.DataFrame(
        [
            {"model": "nano-banana-2", "prompt": "fails on the server", "aspect_ratio": "1:1"},
            {"model": "nano-banana-2", "prompt": "bad ratio", "aspect_ratio": "7:3"},
            {"model": "no-such-model", "prompt": "x", "aspect_ratio": None},
        ]
    )
    res = batch(frame, client=client, progress=False)
    assert len(res.failures) == 3
    df = res.df
    assert df.loc[0, "status"] == "failed" and "failed" in df.loc[0, "error"]
    assert "7:3" in df.loc[1, "error"] and pd.isna(df.loc[1, "job_id"])
    assert "no-such-model" in df.loc[2, "error"]
    assert fresh_emulator.stats()["generations_created"] == 1  # only the valid one was sent
    assert "3 failure(s)" in res._repr_mimebundle_()["text/html"]


def test_budget_blocks_the_batch_before_any_submission(fresh_emulator: Any, tmp_path: Path) -> None:
    client = _client(fresh_emulator, tmp_path)
    reqs = [{"model": "nano-banana-2", "prompt": f"p{i}"} for i in range(10)]
    with pytest.raises(BudgetExceededError) as err:
        batch(reqs, client=client, budget=50, progress=False)
    assert "nothing was submitted" in str(err.value) and "budget" in str(err.value)
    with pytest.raises(BudgetExceededError):
        batch(reqs, client=_client(fresh_emulator, tmp_path, budget=20), progress=False)
    assert fresh_emulator.stats()["generations_created"] == 0
    assert client.ledger.jobs() == []


def test_expensive_jobs_need_a_batch_level_yes(fresh_emulator: Any, tmp_path: Path) -> None:
    client = _client(fresh_emulator, tmp_path, confirm_above=5)
    reqs = [{"model": "nano-banana-2", "prompt": "p"}]
    with pytest.raises(ConfirmationRequired):
        batch(reqs, client=client, progress=False)
    assert fresh_emulator.stats()["generations_created"] == 0
    assert batch(reqs, client=client, progress=False, confirm=True).items[0].ok


def test_wait_false_returns_at_once(client: Client) -> None:
    res = batch(
        [{"model": "nano-banana-2", "prompt": "later"}], client=client, progress=False, wait=False
    )
    assert res.wait(timeout=60).done and res.items[0].ok


def test_bad_input_says_what_to_do(client: Client) -> None:
    with pytest.raises(ValueError, match=r"prompts=\[\.\.\.\] and models"):
        batch(client=client)
    with pytest.raises(TypeError, match="dict"):
        batch(["a fox"], client=client)


def test_importing_the_batching_module_keeps_kz_batch_callable() -> None:
    """``from kubeez_nb.batching import *`` must not replace the function ``kz.batch``."""
    import subprocess
    import sys

    code = (
        "import kubeez_nb as kz\n"
        "from kubeez_nb.batching import *\n"
        "import kubeez_nb.batching, kubeez_nb._batch_runner\n"
        "assert callable(kz.batch), type(kz.batch)\n"
        "assert callable(batch)\n"
        "import pkgutil\n"
        "subs = {m.name for m in pkgutil.iter_modules(kz.__path__)}\n"
        "clash = subs & set(kz.__all__)\n"
        "assert not clash, clash\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_batch_polls_under_the_jobs_error_policy(
    fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One poller policy: a status route that keeps failing ends the job after the same few
    errors ``Job.wait`` tolerates, instead of being polled until the batch's deadline."""
    monkeypatch.setattr("kubeez_nb.job.MAX_TRANSIENT_POLL_ERRORS", 2)
    emu = fresh_emulator
    client = Client(api_key=emu.api_key, base_url=emu.url, home=tmp_path)
    client.transport.read_retries = 0
    real = client.submit

    def submit_then_break(req: Any, **kw: Any) -> Any:
        job = real(req, **kw)
        emu.set_knobs(error_rate=1.0)  # from now on every /v1 request answers 500
        return job

    client.submit = submit_then_break  # type: ignore[method-assign]
    res = batch(
        [{"model": "nano-banana-2", "prompt": "a fox"}], client=client, progress=False, timeout=60
    )
    item = res.items[0]
    assert item.job is not None  # it was submitted
    assert item.job.poll_errors == 3  # two absorbed, the third ends it (the fault fired)
    assert item.error and "ServerError" in item.error
    assert not res.timed_out  # it did not retry until the deadline
