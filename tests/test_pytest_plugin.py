"""The pytest plugin kubeez-nb ships for its users: ``kubeez_emulator`` and ``kubeez_client``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def test_kubeez_client_makes_an_image_inside_tmp_path(
    kubeez_client: object, tmp_path: Path
) -> None:
    job = kubeez_client.generate_media(
        model="nano-banana-2", prompt="a fox", aspect_ratio="1:1"
    ).wait()  # type: ignore[attr-defined]

    assert job.ok and job.outputs[0].media_type == "image"
    home = tmp_path / "kubeez-home"
    assert os.environ["KUBEEZ_HOME"] == str(home)
    assert (home / "ledger.sqlite3").is_file()
    cached = job.outputs[0].local_path
    assert cached and Path(cached).is_relative_to(home)


@pytest.mark.kubeez(credits=3, speed=50)
def test_the_marker_sets_the_emulators_arguments(
    kubeez_emulator: object, kubeez_client: object
) -> None:
    from kubeez_nb.errors import InsufficientCreditsError

    assert kubeez_client.balance().credits == 3  # type: ignore[attr-defined]
    assert kubeez_emulator.backend.speed == 50  # type: ignore[attr-defined]
    with pytest.raises(InsufficientCreditsError):
        kubeez_client.generate_media(model="kling-3-0-std", prompt="a fox", duration="5s")  # type: ignore[attr-defined]


def test_each_test_gets_a_fresh_emulator_and_misuse_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
        import pytest

        def test_first(kubeez_client):
            kubeez_client.generate_media(model="nano-banana-2", prompt="one").wait()
            assert len(kubeez_client.generations()) == 1

        def test_second_starts_empty(kubeez_client, kubeez_emulator):
            assert kubeez_client.generations() == []
            kubeez_emulator.set_knobs(burst_429=1)  # knobs settable at run time too

        @pytest.mark.kubeez(2)
        def test_positional_marker(kubeez_emulator):
            pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "kubeez_nb.pytest_plugin", "--strict-markers", "-q")

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*kubeez takes keyword arguments only*"])
