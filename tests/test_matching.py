"""The duplicate check: exact matching, ledger claims, the last attempt checked, 'unknown' outcomes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import kubeez_nb as kz
from kubeez_nb import errors, matching
from kubeez_nb.ledger import Ledger

CATALOG = Path(kz.__file__).with_name("emulator") / "data" / "models.json"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _Stub:
    """A local HTTP server whose routes are functions: (method, path) -> (status, body)."""

    def __init__(self, handler: Callable[[str, str, dict[str, Any]], tuple[int, Any]]) -> None:
        self.seen: list[tuple[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                stub.seen.append((self.command, self.path))
                if self.path == "/docs/models.json":
                    status, raw = 200, CATALOG.read_bytes()
                else:
                    status, data = handler(self.command, self.path, body)
                    raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def posts(self) -> int:
        return sum(1 for m, p in self.seen if m == "POST")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def make_stub() -> Iterator[Callable[..., _Stub]]:
    made: list[_Stub] = []

    def make(handler: Callable[[str, str, dict[str, Any]], tuple[int, Any]]) -> _Stub:
        made.append(_Stub(handler))
        return made[-1]

    yield make
    for s in made:
        s.close()


# ---- exact matching ------------------------------------------------------------------------------


def _row(**kw: Any) -> dict[str, Any]:
    base = {
        "id": "g1",
        "model": "nano-banana-2",
        "prompt": "sunset",
        "created_at": _iso(time.time()),
    }
    return {**base, **kw}


def test_row_matching_is_exact_never_a_prefix() -> None:
    since = time.time() - 1
    body = {"prompt": "sunset over a stormy sea", "aspect_ratio": "16:9"}

    def ok(row: dict[str, Any], b: dict[str, Any] = body) -> bool:
        return matching.row_matches("media", "nano-banana-2", b, row, since - 30)

    assert not ok(_row(prompt="sunset"))  # a prefix of ours
    assert not ok(_row(prompt="sunset over a stormy sea, 4k"))  # ours is a prefix of it
    assert ok(_row(prompt="sunset over a stormy sea"))
    assert not ok(_row(prompt="sunset over a stormy sea", model="flux-2"))
    assert not ok(_row(prompt="sunset over a stormy sea", aspect_ratio="1:1"))  # echoed, differs
    assert ok(_row(prompt="sunset over a stormy sea", aspect_ratio="16:9"))
    assert not ok(_row(prompt="sunset over a stormy sea", created_at=_iso(since - 60)))
    typed = {**body, "generation_type": "text-to-image"}
    assert not ok(_row(prompt=body["prompt"], generation_type="image-to-image"), typed)
    assert ok(_row(prompt=body["prompt"], generation_type="text-to-image"), typed)
    assert ok(_row(prompt="x", duration="5s"), {"prompt": "x", "duration": "5"})
    assert not ok(_row(prompt="x", duration="8s"), {"prompt": "x", "duration": "5s"})


def test_wrong_job_sunset_is_never_handed_to_sunset_over_a_stormy_sea(tmp_path: Path) -> None:
    """Another notebook's "sunset" job (a prefix of our prompt) is in the history when our POST
    fails after acceptance: we get our own job, billed once, and theirs stays theirs."""
    with kz.Emulator(speed=200.0, seed=5) as emu:
        other = kz.Client(api_key=emu.api_key, base_url=emu.url, home=tmp_path / "other")
        theirs = other.generate_media("nano-banana-2", "sunset", aspect_ratio="1:1")
        ours_client = kz.Client(api_key=emu.api_key, base_url=emu.url, home=tmp_path / "ours")
        ours_client.recheck_grace = 0.2
        emu.set_knobs(error_after_accept_rate=1.0)
        ours = ours_client.generate_media(
            "nano-banana-2", "sunset over a stormy sea", aspect_ratio="16:9"
        )
        stats = emu.stats()
        rows = {r["id"]: r for r in ours_client.generations()}
    assert stats["statuses"]["500"] == 1  # the fault fired on our POST
    assert ours.id != theirs.id
    assert rows[ours.id]["prompt"] == "sunset over a stormy sea"
    assert stats["generations_created"] == 2
    assert all(len(c) == 1 for c in stats["charges"].values())
    assert Ledger(tmp_path / "ours" / "ledger.sqlite3").get(theirs.id) is None


def test_an_identical_older_job_of_another_process_is_taken_last(tmp_path: Path) -> None:
    """Same prompt, same params, made just before our send by someone else: our own (newer)
    job is preferred, and the other one is not claimed."""
    with kz.Emulator(speed=200.0) as emu:
        other = kz.Client(api_key=emu.api_key, base_url=emu.url, home=tmp_path / "other")
        theirs = other.generate_media("nano-banana-2", "twin", aspect_ratio="1:1")
        time.sleep(0.05)  # their job is strictly older than our first send
        client = kz.Client(api_key=emu.api_key, base_url=emu.url, home=tmp_path / "ours")
        client.recheck_grace = 0.0
        emu.set_knobs(error_after_accept_rate=1.0)
        ours = client.generate_media("nano-banana-2", "twin", aspect_ratio="1:1")
        assert emu.stats()["statuses"]["500"] == 1
    assert ours.id != theirs.id


def test_claims_live_in_the_ledger_so_two_clients_cannot_take_one_job(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    a = ledger.record_submit(None, {"prompt": "p"})
    b = Ledger(tmp_path / "ledger.sqlite3").record_submit(None, {"prompt": "p"})  # 2nd connection
    assert ledger.claim(a, ["job-1"])
    assert not Ledger(tmp_path / "ledger.sqlite3").claim(b, ["job-1"])
    assert ledger.claimed(["job-1", "job-2"]) == {"job-1"}
    assert Ledger(tmp_path / "ledger.sqlite3").claim(b, ["job-2"])
    assert {r["job_id"] for r in ledger.jobs()} == {"job-1", "job-2"}


# ---- the last attempt is checked; unknown, never rejected -------------------------------------


def test_last_attempt_unfound_is_unknown_not_rejected(
    make_stub: Callable[..., _Stub], tmp_path: Path
) -> None:
    stub = make_stub(
        lambda m, p, b: (
            (502, {"error": "bad_gateway", "message": "edge hiccup"})
            if m == "POST"
            else (200, {"generations": [], "has_more": False})
        )
    )
    client = kz.Client(api_key="k", base_url=stub.url, home=tmp_path)
    client.recheck_grace = 0.05
    with pytest.raises(errors.ServerError) as info:
        client.generate_media("nano-banana-2", "lost in the edge", aspect_ratio="1:1")
    assert info.value.outcome == "unknown"
    assert "may have been accepted and billed; see kz.jobs()" in str(info.value)
    history_reads = [p for m, p in stub.seen if p.startswith("/v1/generations")]
    assert stub.posts() == 3 and len(history_reads) == 6  # every attempt checked, twice
    (row,) = client.ledger.jobs()
    assert row["status"] == "unknown" and "may have been accepted" in row["error"]
    assert client.estimated_spend > 0  # an unknown job still counts against the budget


def test_resend_waits_for_the_grace_re_read(
    make_stub: Callable[..., _Stub], tmp_path: Path
) -> None:
    """The history shows the job only on the re-read (the "404 for a few seconds" window):
    the job is attached and the body is never sent twice."""
    made = time.time()
    reads = {"n": 0}

    def handler(method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if method == "POST":
            return 500, {"error": "internal", "message": "after accept"}
        reads["n"] += 1
        rows = [] if reads["n"] == 1 else [_row(id="late", prompt="slow history")]
        return 200, {"generations": rows, "has_more": False}

    stub = make_stub(handler)
    client = kz.Client(api_key="k", base_url=stub.url, home=tmp_path)
    client.recheck_grace = 0.1
    job = client.generate_media("nano-banana-2", "slow history", aspect_ratio="1:1")
    assert job.id == "late" and stub.posts() == 1 and reads["n"] == 2
    assert time.time() - made >= 0.1
    assert client.ledger.get("late")["status"] != "unknown"


def test_refusal_after_an_ambiguous_attempt_is_unknown(
    make_stub: Callable[..., _Stub], tmp_path: Path
) -> None:
    """Attempt 1 fails after (maybe) being billed, attempt 2 is refused for credits: the
    refusal may be *because* of attempt 1, so the row must not say 'nothing charged'."""
    posts = {"n": 0}

    def handler(method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if method == "POST":
            posts["n"] += 1
            if posts["n"] == 1:
                return 503, {"error": "unavailable", "message": "try later"}
            return 402, {"error": "insufficient_credits", "message": "no credits"}
        return 200, {"generations": []}

    client = kz.Client(api_key="k", base_url=make_stub(handler).url, home=tmp_path)
    client.recheck_grace = 0.0
    with pytest.raises(errors.InsufficientCreditsError) as info:
        client.generate_media("nano-banana-2", "second try refused", aspect_ratio="1:1")
    assert info.value.outcome == "unknown" and posts["n"] == 2
    assert client.ledger.jobs()[0]["status"] == "unknown"


def test_plain_refusal_is_rejected(make_stub: Callable[..., _Stub], tmp_path: Path) -> None:
    stub = make_stub(lambda m, p, b: (402, {"error": "insufficient_credits", "message": "none"}))
    client = kz.Client(api_key="k", base_url=stub.url, home=tmp_path)
    with pytest.raises(errors.InsufficientCreditsError):
        client.generate_media("nano-banana-2", "refused", aspect_ratio="1:1")
    assert client.ledger.jobs()[0]["status"] == "rejected" and client.estimated_spend == 0


# ---- reconciliation ---------------------------------------------------------------------------


def test_jobs_and_resume_settle_unknown_rows_without_resubmitting(tmp_path: Path) -> None:
    with kz.Emulator(speed=200.0) as emu:
        client = kz.Client(api_key=emu.api_key, base_url=emu.url, home=tmp_path)
        client.recheck_grace = 0.0
        ledger = client.ledger
        body = {"model": "nano-banana-2", "prompt": "made behind our back", "aspect_ratio": "1:1"}
        found = ledger.record_submit(_Pending(client), body)
        ledger.record_unknown(found, "500 after accept")
        gone = ledger.record_submit(_Pending(client), {**body, "prompt": "never arrived"})
        # the job of the first row exists on the server (created outside this client)
        emu_job = kz.Client(api_key=emu.api_key, base_url=emu.url, ledger=False).generate_media(
            "nano-banana-2", "made behind our back", aspect_ratio="1:1"
        )
        created = emu.stats()["generations_created"]
        table = kz.jobs(tmp_path, client=client)
        by_status = dict(zip(table["prompt"], table["status"], strict=True))
        assert by_status["made behind our back"] != "unknown"
        assert ledger.get(emu_job.id)["local_id"] == found
        assert by_status["never arrived"] == "submitting"  # too young to call absent
        kz.resume(client, home=tmp_path, progress=False, absent_after=0.0)
        assert {r["local_id"]: r["status"] for r in ledger.jobs()}[gone] == "not submitted"
        assert emu.stats()["generations_created"] == created  # nothing resubmitted


class _Pending:
    def __init__(self, client: kz.Client) -> None:
        self.client, self.id, self.kind, self.model = client, None, "media", "nano-banana-2"
        self.status, self.created_at = "submitting", None


def test_every_route_recovers_its_own_job_after_a_failure_after_accept(tmp_path: Path) -> None:
    """Music, dialogue, ad-copy (a project of variants) and extend-free media: each POST is
    billed, then answered 500; each request gets exactly its own job(s), paid once."""
    with kz.Emulator(speed=200.0, credits=1_000_000) as emu:
        client = kz.Client(api_key=emu.api_key, base_url=emu.url, home=tmp_path)
        client.recheck_grace = 0.0
        client.catalog()
        emu.set_knobs(error_after_accept_rate=1.0)
        music = client.generate_music("V5", "lofi beat")
        music_twin_prompt = client.generate_music("V5", "lofi beat, rainy")  # prompt extends it
        speech = client.generate_dialogue("Welcome to Kubeez.", voice="Rachel")
        ads = client.ad_copy(
            "https://example.com/reference-ad.png", variant_count=2, product_text="Headphones"
        )
        stats = emu.stats()
        server = {j.id: j for j in emu.backend.jobs.values()}
    assert stats["statuses"]["500"] == 4  # every POST lost its answer
    assert stats["generations_created"] == 5 and all(len(c) == 1 for c in stats["charges"].values())
    assert server[music.id].prompt == "lofi beat"
    assert server[music_twin_prompt.id].prompt == "lofi beat, rainy"
    assert server[speech.id].prompt == "Welcome to Kubeez."
    assert len(ads) == 2 and len({server[j.id].project_id for j in ads}) == 1
    assert {j.id for j in ads} == {i for i, j in server.items() if j.kind == "ad-copy"}
