"""Jobs figures: batch pacing, batch vs the guide's sequential loop, polls per job, notebook size.

Every figure is a ratio against a baseline measured in the same run. The emulator runs in its
own process (so its PNG / MP4 work does not share this process's GIL), time-scaled: jobs last
``estimated_time_seconds / speed`` and rate-limit windows ``60 s / speed`` (``rate_limit_scale``),
so limits and durations shrink together.

- ``batch_floor_ratio``: wall time of a 60-image batch ÷ the floor the limits and durations
  allow: ``(ceil(60 / limit) - 1) × window + D``, where ``limit`` / ``window`` are the media
  group's as the server announced them and ``D`` is the wall time of a one-job batch (submit,
  the server-paced polls, download) measured just before. Goal ≤ 1.05, and zero 429 answers.
- ``batch_vs_naive``: the same 60 jobs the way the guide's workflow A runs them, one after another
  (POST, sleep the documented schedule, GET until completed, download), ÷ the batch's time.
  The naive loop sleeps the schedule scaled by the same factor. Goal ≥ 10.
- ``polls_per_job_ratio``: status polls per job in the 60-job batch (server-side count) ÷ the
  number of polls the documented schedule (5, 5, 5, 10, 10, 15, 15, 30 …) needs to see a job of
  the model's duration (``estimated_time_seconds``) finished. Goal ≤ 1.0.
- ``ipynb_bytes_per_video``: growth of a saved, executed notebook per displayed video job
  (nbclient, kernel with its own emulator), against the same notebook displaying none, with the
  action rows off (``render.OPTIONS.actions = False``): the card and the media by reference,
  never embedded. Goal < 2048.
- ``ipynb_bytes_per_video_with_actions``: the same with each result's action row (the default):
  its script once per result and the code of six cells. Goal < 8192.
"""

from __future__ import annotations

import itertools
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PY = sys.executable
ROOT = Path(__file__).resolve().parents[1]
MODEL = "nano-banana-2"
N_JOBS = 60
#: speed of the floor measurement: a 12 s window and 8.4 s image jobs keep fixed costs small
FLOOR_SPEED = 5.0
#: speed of the naive comparison: the sequential loop takes N × ~50 s / speed
NAIVE_SPEED = 100.0
N_VIDEOS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """An emulator in its own process, steered through its control routes."""

    def __init__(self, speed: float) -> None:
        import requests

        self.port = _free_port()
        token = secrets.token_urlsafe(16)  # the control routes want it in X-Emulator-Token
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [PY, "-m", "kubeez_nb.emulator", "--port", str(self.port), "--speed", str(speed), "--credits", "10000000",
             "--control-token", token],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        self.http = requests.Session()
        self.http.headers["X-Emulator-Token"] = token
        for _ in range(200):
            try:
                self.http.get(self.url + "/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        self.http.post(self.url + "/_emulator/knobs", json={"rate_limit_scale": speed}, timeout=5)
        self.speed = speed

    def key(self) -> str:
        """A fresh key with the documented limits (each phase gets empty rate windows)."""
        r = self.http.post(self.url + "/_emulator/keys", json={"credits": 1_000_000}, timeout=5)
        return str(r.json()["key"])

    def stats(self) -> dict[str, Any]:
        return dict(self.http.get(self.url + "/_emulator/stats", timeout=5).json())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _requests() -> list[dict[str, Any]]:
    return [
        {"model": MODEL, "prompt": f"product shot {i}", "aspect_ratio": "1:1"}
        for i in range(N_JOBS)
    ]


def _client(server: _Server, home: Path) -> Any:
    import kubeez_nb as kz

    client = kz.Client(api_key=server.key(), base_url=server.url, home=home)
    client.catalog()
    return client


def _timed_batch(client: Any, reqs: list[dict[str, Any]]) -> tuple[float, Any]:
    from kubeez_nb.batching import batch

    started = time.perf_counter()
    res = batch(reqs, client=client, progress=False)
    return time.perf_counter() - started, res


def schedule_polls(duration: float) -> int:
    """Polls the documented schedule makes before it sees a job of ``duration`` s finished."""
    from kubeez_nb._config import POLL_SCHEDULE

    steps = itertools.chain(POLL_SCHEDULE, itertools.repeat(POLL_SCHEDULE[-1]))
    elapsed = 0.0
    for polls, step in enumerate(steps, 1):
        elapsed += step
        if elapsed >= duration:
            return polls
    raise AssertionError("unreachable")


def _status_polls(stats: dict[str, Any]) -> int:
    return sum(n for route, n in stats["requests"].items() if route.startswith("GET /v1/generate/"))


def floor_and_polls(tmp: Path) -> tuple[tuple[float, str], tuple[float, str], int]:
    server = _Server(FLOOR_SPEED)
    try:
        single, _ = _timed_batch(_client(server, tmp / "one"), _requests()[:1])
        polls_before = _status_polls(server.stats())
        client = _client(server, tmp / "floor")
        wall, res = _timed_batch(client, _requests())
        stats = server.stats()
        limit, window = client._transport.limiter.limits()["media"]
        floor = (math.ceil(N_JOBS / limit) - 1) * window + single
        n429 = int(stats["statuses"].get("429", 0))
        failed = len(res.failures)
        polls = (_status_polls(stats) - polls_before) / N_JOBS
        duration = float(client.catalog()[MODEL].estimated_time_seconds)
        expected = schedule_polls(duration)
        floor_fig = (
            wall / floor,
            f"{wall:.2f} s vs floor {floor:.2f} s = ({math.ceil(N_JOBS / limit)} - 1) × {window:g} s window"
            f" + {single:.2f} s one-job batch; {n429} × 429, {failed} failed (speed {FLOOR_SPEED:g})",
        )
        polls_fig = (
            polls / expected,
            f"{polls:.2f} polls/job vs {expected} for the documented schedule over {duration:g} s",
        )
        return floor_fig, polls_fig, n429 + failed
    finally:
        server.close()


def _naive(server: _Server, home: Path) -> float:
    """Workflow A of the guide, one job after another, schedule scaled like the emulator."""
    import requests

    from kubeez_nb._config import POLL_SCHEDULE

    key = server.key()
    headers = {"X-API-Key": key}
    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for i, body in enumerate(_requests()):
        gid = requests.post(
            server.url + "/v1/generate/media", json=body, headers=headers, timeout=30
        ).json()["generation_id"]
        for step in itertools.chain(POLL_SCHEDULE, itertools.repeat(POLL_SCHEDULE[-1])):
            time.sleep(step / server.speed)
            row = requests.get(
                f"{server.url}/v1/generate/media/{gid}", headers=headers, timeout=30
            ).json()
            if row["status"] in ("completed", "failed", "cancelled"):
                break
        for j, out in enumerate(row.get("outputs") or []):
            (home / f"{i}-{j}.png").write_bytes(requests.get(out["url"], timeout=30).content)
    return time.perf_counter() - started


def batch_vs_naive(tmp: Path) -> tuple[float, str]:
    server = _Server(NAIVE_SPEED)
    try:
        wall, _ = _timed_batch(_client(server, tmp / "fast"), _requests())
        naive = _naive(server, tmp / "naive")
        return (
            naive / wall,
            f"sequential {naive:.1f} s vs batch {wall:.2f} s (speed {NAIVE_SPEED:g})",
        )
    finally:
        server.close()


_NB_SETUP = """
import kubeez_nb as kz
import kubeez_nb.render
kubeez_nb.render.OPTIONS.actions = {actions}
from IPython.display import display
emu = kz.Emulator(speed=100.0, credits=1_000_000).start()
client = kz.Client(api_key=emu.api_key, base_url=emu.url, home="kubeez-data")
"""
_NB_VIDEOS = """
jobs = [client.generate_media("{model}", prompt=f"a drone shot of a coast, take {{i}}", duration="{duration}")
        for i in range({n})]
for job in jobs:
    job.wait(progress=False)
    display(job)
"""


def _notebook_bytes(folder: Path, n: int, model: str, duration: str, actions: bool) -> int:
    import nbformat
    from nbclient import NotebookClient

    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(_NB_SETUP.format(actions=actions)),
                nbformat.v4.new_code_cell(_NB_VIDEOS.format(model=model, duration=duration, n=n))]  # fmt: skip
    env_home = os.environ.pop("KUBEEZ_HOME", None)  # the notebook's own folder holds its cache
    try:
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        if env_home is not None:
            os.environ["KUBEEZ_HOME"] = env_home
    path = folder / "videos.ipynb"
    nbformat.write(nb, path)
    return path.stat().st_size


def ipynb_bytes_per_video(tmp: Path, actions: bool = False) -> tuple[float, str]:
    model, duration = "p-video", "2s"  # a short clip keeps the kernel's MP4 encoding quick
    empty = _notebook_bytes(tmp / "nb0", 0, model, duration, actions)
    full = _notebook_bytes(tmp / "nbN", N_VIDEOS, model, duration, actions)
    per = (full - empty) / N_VIDEOS
    rows = "with" if actions else "without"
    return per, (
        f"{full} B with {N_VIDEOS} videos vs {empty} B with none ({model}, {duration}; "
        f"{rows} action rows)"
    )


def run(record) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (floor_v, floor_note), (polls_v, polls_note), problems = floor_and_polls(root)
        record("batch_floor_ratio", floor_v if problems == 0 else math.inf, 1.05, "<=", floor_note)
        record("polls_per_job_ratio", polls_v, 1.0, "<=", polls_note)
        value, note = batch_vs_naive(root)
        record("batch_vs_naive", value, 10.0, ">=", note)
        value, note = ipynb_bytes_per_video(root / "bare")
        record("ipynb_bytes_per_video", value, 2048.0, "<", note)
        value, note = ipynb_bytes_per_video(root / "rows", actions=True)
        record("ipynb_bytes_per_video_with_actions", value, 8192.0, "<", note)


if __name__ == "__main__":
    run(lambda *a, **k: print(a, k))
