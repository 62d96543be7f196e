"""Transport: retries, 429 pacing, malformed answers, no double billing, and key hygiene."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kubeez_nb import Client, errors
from kubeez_nb._http import USER_AGENT, Transport

CANARY = "sk_live_CANARYcanary0123456789abcdefXYZ"


class _Stub:
    """A tiny local HTTP server answering from a table path -> (status, content type, body, headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                stub.seen.append((self.command, self.path, dict(self.headers)))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, ctype, body, headers = stub.routes.get(
                    self.path,
                    stub.routes.get(self.path.split("?")[0], (404, "text/plain", b"nope", {})),
                )
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def route(
        self, path: str, status: int, body: Any, ctype: str = "application/json", **headers: str
    ) -> None:
        raw = (
            body
            if isinstance(body, bytes)
            else (json.dumps(body) if not isinstance(body, str) else body).encode()
        )
        self.routes[path] = (status, ctype, raw, headers)


@pytest.fixture
def stub() -> Iterator[_Stub]:
    s = _Stub()
    yield s
    s.server.shutdown()
    s.server.server_close()


# ---- malformed answers -------------------------------------------------------------------------


def test_html_page_with_200_is_a_response_format_error(stub: _Stub) -> None:
    stub.route("/v1/balance", 200, "<html><title>Welcome to nginx</title></html>", "text/html")
    client = Client(api_key="k", base_url=stub.url, ledger=False)
    with pytest.raises(errors.ResponseFormatError) as info:
        client.balance()
    assert "Welcome to nginx" in str(info.value)


def test_bad_json_and_missing_fields_are_response_format_errors(stub: _Stub) -> None:
    stub.route("/v1/balance", 200, b'{"credits": 1', "application/json")
    stub.route("/v1/assets", 200, {"assets": "nope"})
    stub.route("/v1/generations", 200, {"rows": 3})
    client = Client(api_key="k", base_url=stub.url, ledger=False)
    with pytest.raises(errors.ResponseFormatError):
        client.balance()
    with pytest.raises(errors.ResponseFormatError):
        client.assets()
    with pytest.raises(errors.ResponseFormatError):
        client.generations()
    stub.route("/v1/balance", 200, {"message": "no credits field"})
    with pytest.raises(errors.ResponseFormatError, match="credits"):
        client.balance()


def test_html_error_page_becomes_a_server_error_with_its_title(stub: _Stub) -> None:
    stub.route(
        "/v1/balance", 502, "<html><title>502 Bad Gateway</title><body>x</body></html>", "text/html"
    )
    client = Client(api_key="k", base_url=stub.url, ledger=False)
    transport = client._transport
    transport.read_retries = 0  # no waiting in this test
    with pytest.raises(errors.ServerError, match="502 Bad Gateway"):
        client.balance()


def test_live_upload_variant_single_url(stub: _Stub, tmp_path: Path) -> None:
    stub.route("/v1/upload/media", 200, {"url": "/uploads/a.png"})
    f = tmp_path / "a.png"
    f.write_bytes(b"\x89PNG....")
    client = Client(api_key="k", base_url=stub.url, ledger=False)
    assert client.upload(f) == [stub.url + "/uploads/a.png"]
    method, _, headers = stub.seen[-1]
    assert method == "POST" and headers["Content-Type"].startswith("multipart/form-data")


# ---- headers and key hygiene ------------------------------------------------------------------


def test_key_only_in_header_and_user_agent(stub: _Stub) -> None:
    stub.route("/v1/balance", 200, {"credits": 5})
    Client(api_key=CANARY, base_url=stub.url, ledger=False).balance()
    _, path, headers = stub.seen[-1]
    assert headers["X-API-Key"] == CANARY
    assert CANARY not in path
    assert headers["User-Agent"] == USER_AGENT


def test_key_never_sent_to_media_hosts_or_across_redirects(stub: _Stub, tmp_path: Path) -> None:
    media = _Stub()
    try:
        media.route("/f.png", 200, b"PNGDATA", "image/png")
        stub.route("/v1/balance", 302, b"", "text/plain", Location=media.url + "/f.png")
        stub.route("/own.png", 200, b"OWN", "image/png")
        client = Client(api_key=CANARY, base_url=stub.url, ledger=False)
        with pytest.raises(errors.ResponseFormatError):
            client.balance()  # followed to the other host, which answered a PNG
        assert "X-API-Key" not in media.seen[-1][2]
        client.download(media.url + "/f.png", tmp_path / "f.png")
        assert (tmp_path / "f.png").read_bytes() == b"PNGDATA"
        assert "X-API-Key" not in media.seen[-1][2]
        client.download("/own.png", tmp_path / "own.png")  # root-relative: resolved, still no key
        assert (tmp_path / "own.png").read_bytes() == b"OWN"
        assert "X-API-Key" not in stub.seen[-1][2]
    finally:
        media.server.shutdown()
        media.server.server_close()


def test_missing_key_says_how_to_fix_it_and_public_routes_still_work(emulator: Any) -> None:
    client = Client(base_url=emulator.url, ledger=False)
    assert "key=missing" in repr(client)
    assert client.health() == {"status": "healthy"}
    assert len(client.catalog()) > 10
    with pytest.raises(errors.AuthenticationError) as info:
        client.balance()
    text = str(info.value)
    assert "KUBEEZ_API_KEY" in text and "demo=True" in text and "KUBEEZ_DEMO=1" in text


def test_env_configuration(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> None:
    monkeypatch.setenv("KUBEEZ_API_KEY", emulator.api_key)
    monkeypatch.setenv("KUBEEZ_BASE_URL", emulator.url)
    client = Client(ledger=False)
    assert client.base_url == emulator.url and client.balance().credits > 0
    monkeypatch.delenv("KUBEEZ_BASE_URL")
    assert Client(ledger=False).base_url == "https://api.kubeez.com"
    with pytest.raises(ValueError, match="http"):
        Client(base_url="api.kubeez.com")


def test_canary_key_appears_nowhere(
    fresh_emulator: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_emulator.add_key(CANARY, credits=1000)
    caplog.set_level(logging.DEBUG)
    client = Client(api_key=CANARY, base_url=fresh_emulator.url, home=tmp_path)
    seen: list[str] = [
        repr(client),
        str(client),
        repr(client._transport),
        repr(vars(client)),
        repr(vars(client._transport)),
    ]
    job = client.generate_media("nano-banana-2", "a canary", aspect_ratio="1:1")
    seen += [repr(job), repr(vars(job)), repr(job.request)]
    failures: list[BaseException] = []
    for call in (
        lambda: client.generate_media("nano-banana-2", "x" * 100_000),  # validation
        lambda: client.rename_asset("missing", "x"),  # 404
        lambda: Client(
            api_key=CANARY + "x", base_url=fresh_emulator.url, ledger=False
        ).balance(),  # 401
        lambda: Client(
            api_key=CANARY, base_url="http://127.0.0.1:9", ledger=False, timeout=0.5
        ).balance(),
    ):
        try:
            call()
        except Exception as exc:
            failures.append(exc)
    assert len(failures) == 4
    for exc in failures:
        seen += [str(exc), repr(exc), repr(vars(exc)), repr(exc.__cause__), repr(exc.__context__)]
    logging.getLogger("kubeez_nb.http").debug("key is %s", CANARY)  # even a careless log line
    seen += [r.getMessage() for r in caplog.records]
    blob = "\n".join(seen)
    assert CANARY not in blob
    assert CANARY[8:20] not in blob
    assert len(caplog.records) > 0


# ---- retries -----------------------------------------------------------------------------------


def test_reads_are_retried_through_server_errors(fresh_emulator: Any) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, ledger=False)
    fresh_emulator.set_knobs(error_rate=0.3, seed=7)  # seeded: the same faults every run
    for _ in range(6):
        assert client.balance().credits > 0
    stats = fresh_emulator.stats()
    assert stats["statuses"].get("500", 0) >= 1  # errors happened and were absorbed


def test_429_is_waited_out_for_reads_and_generate_posts(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    fresh_emulator.set_knobs(burst_429=1)
    assert client.balance().credits > 0
    fresh_emulator.set_knobs(burst_429=1)
    job = client.generate_media("nano-banana-2", "after a 429", aspect_ratio="1:1")
    assert job.id
    stats = fresh_emulator.stats()
    assert stats["statuses"]["429"] == 2
    assert stats["generations_created"] == 1


def test_4xx_are_not_retried(fresh_emulator: Any) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, ledger=False)
    with pytest.raises(errors.NotFoundError):
        client.rename_asset("ast_missing", "new-name")
    assert fresh_emulator.stats()["statuses"] == {"404": 1}


def test_no_double_billing_when_the_server_fails_after_accepting(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    client.recheck_grace = 0.1  # the emulator's history shows a job at once
    fresh_emulator.set_knobs(error_after_accept_rate=1.0)
    jobs = [
        client.generate_media("nano-banana-2", "same prompt", aspect_ratio="1:1") for _ in range(3)
    ]
    stats = fresh_emulator.stats()
    assert stats["statuses"]["500"] == 3  # every POST failed after the job was made
    assert stats["generations_created"] == 3  # ... and none was submitted twice
    assert len({j.id for j in jobs}) == 3
    assert all(len(c) == 1 for c in stats["charges"].values())
    fresh_emulator.set_knobs(error_after_accept_rate=0.0)
    for job in jobs:
        assert job.wait(progress=False).ok


def test_resubmits_when_nothing_was_accepted(fresh_emulator: Any, tmp_path: Path) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    client.recheck_grace = 0.1  # the emulator's history shows a job at once
    fresh_emulator.set_knobs(error_rate=1.0)
    with pytest.raises(errors.ServerError, match=r"kz\.jobs"):
        client.generate_media("nano-banana-2", "never accepted", aspect_ratio="1:1")
    assert fresh_emulator.stats()["generations_created"] == 0
    fresh_emulator.set_knobs(error_rate=0.4, seed=3)
    job = client.generate_media("nano-banana-2", "eventually accepted", aspect_ratio="1:1")
    assert fresh_emulator.stats()["generations_created"] == 1 and job.id


def test_connection_refused_is_a_clear_connection_error() -> None:
    t = Transport("http://127.0.0.1:9", "k", timeout=0.5, read_retries=0)
    with pytest.raises(
        errors.APIConnectionError, match=r"could not reach http://127\.0\.0\.1:9"
    ) as info:
        t.request("GET", "/v1/balance")
    # nothing chained: the underlying requests error (which holds the request headers) is gone
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert info.value.maybe_sent is False  # refused: a POST could be resent without a check


def test_dropped_connections_neither_lose_nor_double_a_job(
    fresh_emulator: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    client.recheck_grace = 0.1  # the emulator's history shows a job at once
    client.catalog()
    fresh_emulator.set_knobs(drop_rate=0.3, seed=4)  # seeded: the same drops every run
    jobs = [
        client.generate_media("nano-banana-2", f"dropped {i}", aspect_ratio="1:1") for i in range(4)
    ]
    assert client.balance().credits > 0  # reads ride through drops too
    stats = fresh_emulator.stats()
    assert stats["generations_created"] == 4 and len({j.id for j in jobs}) == 4
    assert all(len(c) == 1 for c in stats["charges"].values())
    assert any("checking before resubmitting" in r.getMessage() for r in caplog.records)


def test_duplicate_check_reads_past_a_busy_first_page(stub: _Stub) -> None:
    from datetime import datetime, timezone

    import kubeez_nb.emulator

    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    catalog = Path(kubeez_nb.emulator.__file__).with_name("data") / "models.json"
    stub.route("/docs/models.json", 200, catalog.read_bytes())
    stub.route("/v1/generate/media", 502, {"error": "bad_gateway", "message": "upstream hiccup"})
    others = [
        {
            "id": f"other-{i}",
            "status": "queued",
            "model": "nano-banana-2",
            "prompt": f"someone else {i}",
            "created_at": now,
        }
        for i in range(25)
    ]
    ours = {
        "id": "ours-1",
        "status": "queued",
        "model": "nano-banana-2",
        "prompt": "mine",
        "created_at": now,
    }
    stub.route(
        "/v1/generations?limit=100&model=nano-banana-2",
        200,
        {"generations": others, "next_cursor": "c2", "has_more": True},
    )
    stub.route(
        "/v1/generations?limit=100&model=nano-banana-2&cursor=c2",
        200,
        {"generations": [ours], "next_cursor": None},
    )
    client = Client(api_key="k", base_url=stub.url, ledger=False)
    job = client.generate_media("nano-banana-2", "mine", aspect_ratio="1:1")
    assert job.id == "ours-1"
    assert [m for m, p, _ in stub.seen if m == "POST"] == ["POST"]  # accepted once, never resent


def test_identical_requests_in_flight_are_not_mistaken_for_each_other(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = Client(api_key=fresh_emulator.api_key, base_url=fresh_emulator.url, home=tmp_path)
    client.recheck_grace = 0.1  # the emulator's history shows a job at once
    client.catalog()
    fresh_emulator.set_knobs(error_after_accept_rate=0.5, latency=0.05, seed=1)
    with ThreadPoolExecutor(6) as pool:
        jobs = list(
            pool.map(
                lambda _: client.generate_media(
                    "nano-banana-2", "four variations", aspect_ratio="1:1"
                ),
                range(6),
            )
        )
    stats = fresh_emulator.stats()
    assert stats["statuses"].get("500", 0) >= 1
    assert stats["generations_created"] == 6 and len({j.id for j in jobs}) == 6


# ---- key hygiene in traceback frames (issue 12, item 7) ----------------------------------------


def _formatted(exc: BaseException) -> str:
    """What %xmode Verbose / a saved notebook traceback would show: every frame's locals."""
    import traceback

    te = traceback.TracebackException.from_exception(exc, capture_locals=True)
    return "".join(te.format()) + repr(exc) + str(exc) + repr(vars(exc))


def test_canary_never_in_capture_locals_tracebacks_on_any_error_path(
    fresh_emulator: Any, stub: _Stub, tmp_path: Path
) -> None:
    emu = fresh_emulator
    emu.add_key(CANARY, credits=1000)
    # a server that echoes the key back in its messages (a 429 and a 401)
    stub.route(
        "/v1/balance",
        429,
        {"error": "rate_limit_exceeded", "message": f"slow down, {CANARY}", "retry_after": 0.01},
        **{"Retry-After": "0.01"},
    )
    stub.route("/v1/models", 401, {"error": "unauthorized", "message": f"bad key {CANARY}"})

    def fast(client: Client) -> Client:
        client._transport.read_retries = 0
        client.recheck_grace = 0.0
        return client

    def on_emulator(**kw: Any) -> Client:
        return fast(Client(api_key=CANARY, base_url=emu.url, home=tmp_path, **kw))

    def server_error() -> None:
        emu.set_knobs(error_rate=1.0)
        try:
            on_emulator().balance()
        finally:
            emu.set_knobs(error_rate=0.0)

    def post_after_accept() -> None:
        emu.set_knobs(error_after_accept_rate=1.0, error_rate=1.0)
        try:
            on_emulator().generate_media("nano-banana-2", "canary", aspect_ratio="1:1")
        finally:
            emu.set_knobs(error_after_accept_rate=0.0, error_rate=0.0)

    def read_timeout() -> None:
        emu.set_knobs(latency=1.0)
        try:
            on_emulator(timeout=(2.0, 0.2)).balance()
        finally:
            emu.set_knobs(latency=0.0)

    def deadline() -> None:
        import time

        emu.set_knobs(latency=1.0)
        try:
            on_emulator()._transport.request("GET", "/v1/balance", deadline=time.monotonic() + 0.2)
        finally:
            emu.set_knobs(latency=0.0)

    paths = {
        "401 (unknown key)": lambda: fast(
            Client(api_key=CANARY, base_url=Emulator_url(emu), ledger=False)
        ).request("GET", "/v1/assets", auth=True),
        "401 echoing the key": lambda: fast(
            Client(api_key=CANARY, base_url=stub.url, ledger=False)
        ).models(),
        "5xx": server_error,
        "5xx after accept (unknown outcome)": post_after_accept,
        "connection error": lambda: fast(
            Client(api_key=CANARY, base_url="http://127.0.0.1:9", ledger=False)
        ).balance(),
        "timeout": read_timeout,
        "deadline": deadline,
        "validation": lambda: on_emulator().generate_media(
            "nano-banana-2", "x", aspect_ratio="7:3"
        ),
        "429 echoing the key": lambda: fast(
            Client(api_key=CANARY, base_url=stub.url, ledger=False)
        ).balance(),
        "bad base_url": lambda: Client(api_key=CANARY, base_url="api.kubeez.com"),
    }
    caught: dict[str, type] = {}
    for name, call in paths.items():
        try:
            call()
        except Exception as exc:
            caught[name] = type(exc)
            text = _formatted(exc)
            assert CANARY not in text, f"{name}: the key shows in a traceback"
            assert CANARY[8:20] not in text, name
    assert set(caught) == set(paths), set(paths) - set(caught)  # every path really failed
    assert caught["429 echoing the key"] is errors.RateLimitError
    assert issubclass(caught["timeout"], errors.APITimeoutError)
    assert issubclass(caught["deadline"], errors.APITimeoutError)
    assert caught["validation"] is errors.ValidationError


def Emulator_url(emu: Any) -> str:  # a second emulator: CANARY is unknown there
    from kubeez_nb import Emulator

    other = Emulator(speed=200.0).start()
    _OTHERS.append(other)
    return other.url


_OTHERS: list[Any] = []


@pytest.fixture(autouse=True)
def _stop_others() -> Iterator[None]:
    yield
    while _OTHERS:
        _OTHERS.pop().stop()


# ---- Retry-After: decimal, HTTP-date, Retry-After-Ms; reads and writes (issue 12, item 8) -------


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "0.25"},
        {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},  # a date in the past: retry at once
        {"Retry-After": "59.58", "Retry-After-Ms": "120"},  # the precise header wins
        {},
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_429_retry_after_forms_on_reads_and_writes(headers: dict[str, str], method: str) -> None:
    import time

    answers: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            first = not answers
            answers.append(429 if first else 200)
            body = (
                b'{"error": "rate_limit_exceeded", "message": "slow down"}'
                if first
                else b'{"credits": 5, "generation_id": "g"}'
            )
            self.send_response(429 if first else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers if first else {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        t = Transport(f"http://127.0.0.1:{server.server_address[1]}", "k", read_retries=0)
        start = time.monotonic()
        reply = t.request(method, "/v1/balance", json={} if method == "POST" else None)
        took = time.monotonic() - start
    finally:
        server.shutdown()
        server.server_close()
    assert reply.status == 200 and answers == [429, 200]
    if "Retry-After-Ms" in headers:
        assert 0.1 <= took < 1.0, took  # 120 ms, not 59.58 s
    elif headers.get("Retry-After") == "0.25":
        assert 0.25 <= took < 1.5, took
    elif not headers:
        assert 1.0 <= took < 2.5, took  # no header: the exponential backoff's first step
    else:
        assert took < 1.0, took
