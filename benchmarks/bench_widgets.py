"""Widget figures on the full shared catalog (~126 models), against an in-thread emulator.

- ``panel_build_s``: build ``Studio(client)`` (only the Image & video tab eagerly; the picker,
  filters and the first model's form). The catalog is fetched once before timing (the client
  caches it), so this is widget work, not HTTP. Goal < 0.2 s.
- ``model_switch_s``: switch the Image & video tab between two models (a text-to-image model
  and a video model with a duration slider, references and sound) on a fresh studio each run:
  the figure is the first visit, which builds the video model's form; later switches reuse
  it (given in the note). Goal < 0.03 s.

Medians of several runs. Each note gives a baseline measured in the same run: one
``ipywidgets.Dropdown`` with as many options as the catalog has models.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

RUNS = 7


def _baseline(n: int) -> float:
    import ipywidgets as W

    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        W.Dropdown(options=[(f"model {i}", f"m{i}") for i in range(n)]).close()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _pair(catalog: Any) -> tuple[str, str]:
    media = catalog.for_endpoint("media")
    image = next(m for m in media if m.model_type == "image" and not m.needs_input_media)
    video = next(
        (
            m
            for m in media
            if m.duration_range and m.accepts_sources and m.capabilities.supports_sound
        ),
        next(m for m in media if m.model_type == "video"),
    )
    return image.id, video.id


def measure() -> dict[str, Any]:
    from kubeez_nb import Client, Emulator
    from kubeez_nb.widgets import Studio

    with Emulator(speed=200.0) as emu, tempfile.TemporaryDirectory() as home:
        client = Client(api_key=emu.api_key, base_url=emu.url, home=home)
        catalog = client.catalog()
        a, b = _pair(catalog)
        Studio(client)  # warm imports
        builds, first, again = [], [], []
        for _ in range(RUNS):
            t = time.perf_counter()
            s = Studio(client)
            builds.append(time.perf_counter() - t)
            p = s.panel("media")
            assert p is not None
            p.picker.value = a
            p.form.apply({"prompt": "a red fox in snow"})
            for target, bucket in ((b, first), (a, again), (b, again)):
                built = target in p._forms
                t = time.perf_counter()
                p.picker.value = target
                bucket.append(time.perf_counter() - t)
                assert p.form.model is not None and p.form.model.id == target
                assert built == (bucket is again)  # the first visit really builds the form
            assert p.form.params().get("prompt") == "a red fox in snow"
            s.close_all()
        return {
            "models": len(catalog),
            "build": statistics.median(builds),
            "switch": statistics.median(first),
            "switch_again": statistics.median(again),
            "pair": (a, b),
            "baseline": _baseline(len(catalog)),
        }


def run(record) -> None:  # type: ignore[no-untyped-def]
    m = measure()
    base = f"one ipywidgets.Dropdown of {m['models']} options takes {m['baseline'] * 1000:.2f} ms"
    record(
        "panel_build_s",
        m["build"],
        0.2,
        "<",
        f"studio on {m['models']} models, median of {RUNS}; {base}",
    )
    record(
        "model_switch_s",
        m["switch"],
        0.03,
        "<",
        f"{m['pair'][0]} → {m['pair'][1]}, first visit (builds the form, carries the prompt), "
        f"median of {RUNS}; switching back and forth again: {m['switch_again'] * 1000:.2f} ms; {base}",
    )


if __name__ == "__main__":
    run(lambda *a, **k: print(a, k))
