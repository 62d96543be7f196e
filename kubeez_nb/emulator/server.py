"""The WSGI app (dispatch, auth, rate limits, faults, CORS) and ``Emulator``, which serves it in a thread."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from typing import Any

from kubeez_nb.emulator import guard, responses, schemacheck
from kubeez_nb.emulator.backend import Backend
from kubeez_nb.emulator.errors import (
    ApiError,
    Forbidden,
    InvalidRequest,
    MethodNotAllowed,
    MissingScope,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from kubeez_nb.emulator.openapi import QUERY, SCHEMAS, document
from kubeez_nb.emulator.routes import CREATES_JOB, Route, url_map

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, X-API-Key, Content-Type, Idempotency-Key, X-Request-Id, Range",
    "Access-Control-Expose-Headers": "Retry-After, Retry-After-Ms, X-RateLimit-Limit, X-RateLimit-Remaining, "
    "X-RateLimit-Reset, X-RateLimit-Window, Content-Length, Content-Range",
    "Access-Control-Max-Age": "600",
}
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1", None})
GENERATE_ENDPOINTS = CREATES_JOB


def api_key_of(request: Any) -> str | None:
    """The key from ``X-API-Key`` or ``Authorization: Bearer``."""
    key = request.headers.get("X-API-Key")
    if key:
        return key.strip()
    auth = request.headers.get("Authorization") or ""
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


class App:
    """The emulator as a WSGI application over one ``Backend``."""

    def __init__(self, backend: Backend, control_token: str | None = None) -> None:
        self.backend = backend
        self.map = url_map()
        self.control_token = control_token or secrets.token_urlsafe(24)
        self.bound_host, self.port = "127.0.0.1", 0  #: set by ``Emulator.start`` once bound

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.wrappers import Request

        request = Request(environ)
        response = self.handle(request)
        body = response(environ, start_response)
        if environ.get(guard.BODY_UNREAD):
            return _then_stop_reading(body, environ)
        return body

    # ---- dispatch ------------------------------------------------------------------------------
    def handle(self, request: Any) -> Any:
        from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed
        from werkzeug.exceptions import NotFound as WzNotFound

        b = self.backend
        control = request.path.startswith("/_emulator/")
        if (
            request.method == "OPTIONS"
        ):  # CORS preflight; control routes grant no cross-origin access
            return self._response(204, None, {}, cors=not control)
        adapter = self.map.bind_to_environ(request.environ)
        extra: dict[str, str] = {}
        try:
            route, args = adapter.match(
                method=request.method if request.method != "HEAD" else "GET"
            )
        except WzMethodNotAllowed as exc:
            allowed = ", ".join(sorted({*(exc.valid_methods or []), "OPTIONS"}))
            extra["Allow"] = allowed
            return self._error(
                MethodNotAllowed(
                    f"{request.method} is not allowed on {request.path}; use {allowed}."
                ),
                extra,
                cors=not control,
            )
        except WzNotFound:
            return self._error(
                NotFound(f"No route {request.method} {request.path}. See /openapi.json."),
                extra,
                cors=not control,
            )
        assert isinstance(route, Route)
        with b.lock:
            b.route_counts[f"{route.method} {route.path}"] += 1
        is_api = route.path.startswith("/v1/")
        try:
            if is_api:
                self._faults(request)
            if control:
                if request.remote_addr not in LOOPBACK:
                    raise Forbidden("Emulator control routes answer loopback callers only.")
                guard.check_control(request, self.control_token, self.bound_host, self.port)
                status, body, headers = self.control(route.endpoint, request)
                return self._response(status, body, headers, cors=False)
            ctx = responses.Ctx(request, b, dict(args), schema=route.request)
            if route.auth:
                ctx.account = self._authorise(request, route, extra)
            if (
                route.endpoint in QUERY and route.endpoint != "media_file"
            ):  # signed links answer 403 themselves
                schemacheck.check_query(QUERY[route.endpoint], request.args, SCHEMAS)
            if route.endpoint == "openapi":
                return self._response(200, document(request.host_url.rstrip("/")), extra)
            handler = getattr(responses, route.endpoint)
            status, body, headers = handler(ctx)
            extra.update(headers)
            if route.endpoint in GENERATE_ENDPOINTS and b.chance(b.knobs.error_after_accept_rate):
                # the job exists and is billed, but the answer is lost: clients must not resubmit blindly
                raise ServerError(
                    "Internal error after the request was accepted (emulator fault knob)."
                )
            return self._response(status, body, extra)
        except ApiError as exc:
            extra.update(exc.headers)
            return self._error(exc, extra, cors=not control)
        except _Dropped:
            raise
        except Exception as exc:  # a bug: answer 500 JSON rather than an HTML traceback
            import logging

            logging.getLogger(__name__).exception(
                "emulator error on %s %s", request.method, request.path
            )
            return self._error(
                ServerError(f"Internal error: {type(exc).__name__}."), extra, cors=not control
            )

    def _faults(self, request: Any) -> None:
        """Knob-driven failures that hit /v1 requests before any work is done."""
        b = self.backend
        k = b.knobs
        if k.latency > 0:
            time.sleep(k.latency)
        if b.chance(k.drop_rate):
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            raise _Dropped("connection dropped by the drop_rate knob")
        with b.lock:
            burst = k.burst_429 > 0
            if burst:
                k.burst_429 -= 1
        if burst:
            raise RateLimited(
                "Too many requests (burst injected by the emulator). Retry after the given delay.",
                extra={"retry_after": 1.0},
                headers=guard.wait_headers(1.0),
            )
        if b.chance(k.error_rate):
            raise ServerError(
                "Internal error (emulator fault knob error_rate). Safe to retry after a delay."
            )

    def _authorise(self, request: Any, route: Route, extra: dict[str, str]) -> Any:
        b = self.backend
        key = api_key_of(request)
        acc = b.account(key)
        if acc is None:
            raise Unauthorized(
                "Missing API key: send X-API-Key: sk_... or Authorization: Bearer sk_..."
                if not key
                else "Invalid API key. Create one at https://kubeez.com/settings/api-keys."
            )
        if route.group:
            decision = b.limiter.check(acc.key, route.group, b.clock.now(), acc.rate_limits)
            extra.update(decision.headers())
            if not decision.allowed:
                wait = max(decision.reset, 0.01)
                raise RateLimited(
                    f"Rate limit of {decision.limit} requests per {decision.window:g} s for the {route.group} "
                    f"group reached; retry in {wait:.2f} s.",
                    extra={"retry_after": round(wait, 3), "group": route.group},
                    headers=guard.wait_headers(wait),
                )
        if route.scope and route.scope not in acc.scopes:
            raise MissingScope(
                f"This key lacks the scope {route.scope!r}; rotate a key that has it.",
                extra={"scope": route.scope, "required_scope": route.scope},
            )
        return acc

    # ---- control routes (token-guarded; the test and demo harness steers the emulator here) --
    def control(self, name: str, request: Any) -> tuple[int, Any, dict[str, str]]:
        b = self.backend
        body: Any = {}
        if request.method == "POST":
            body = guard.read_json(request, b.knobs.max_json_bytes, b.knobs.max_json_depth)
            if body is None:
                body = {}
            if not isinstance(body, dict):
                raise InvalidRequest("Control routes take a JSON object body.")
        try:
            if name == "keys":
                acc = b.add_key(
                    body.get("key"),
                    body.get("scopes"),
                    body.get("credits", 10_000),
                    body.get("rate_limits"),
                )
                return 201, {"key": acc.key, **acc.public()}, {}
            if name == "list_keys":
                return 200, {"keys": [a.public() for a in b.accounts.values()]}, {}
            if name == "knobs":
                return 200, {"knobs": b.set_knobs(**body)}, {}
            if name == "get_knobs":
                return 200, {"knobs": b.knobs.as_dict()}, {}
            if name == "clock":
                now = b.clock.advance(float(body.get("advance", body.get("seconds", 0))))
                return 200, {"now": now, "offset": b.clock.offset}, {}
            if name == "seed_history":
                total = b.seed_history(
                    int(body.get("n", body.get("count", 0))), body.get("key"), body.get("seed")
                )
                return 200, {"seeded": int(body.get("n", body.get("count", 0))), "total": total}, {}
            if name == "stats":
                return 200, b.stats(), {}
            if name == "reset":
                b.reset()
                return 200, {"reset": True}, {}
        except (ValueError, TypeError) as exc:
            raise InvalidRequest(str(exc)) from None
        raise NotFound(f"No control route {name!r}.")

    # ---- rendering -----------------------------------------------------------------------------
    def _error(self, exc: ApiError, headers: dict[str, str], cors: bool = True) -> Any:
        b = self.backend
        with b.lock:
            b.status_counts[exc.status] += 1
        if b.knobs.detail_errors:
            body: Any = {"detail": exc.message}
        else:
            body = exc.body()
        return self._response(exc.status, body, headers, count=False, cors=cors)

    def _response(
        self, status: int, body: Any, headers: dict[str, str], count: bool = True, cors: bool = True
    ) -> Any:
        from werkzeug.wrappers import Response

        if count:
            with self.backend.lock:
                self.backend.status_counts[status] += 1
        if isinstance(body, Response):
            resp = body
        elif body is None:
            resp = Response(status=status)
        elif isinstance(body, str):
            resp = Response(
                body,
                status=status,
                content_type=headers.pop("Content-Type", "text/plain; charset=utf-8"),
            )
        else:
            resp = Response(json.dumps(body), status=status, content_type="application/json")
        for k, v in {**(CORS_HEADERS if cors else {}), **headers}.items():
            resp.headers[k] = v
        return resp


def _then_stop_reading(body: Any, environ: dict[str, Any]) -> Any:
    """Send the answer, then stop reading the request: the dev server would otherwise drain an
    oversized body it refused (hundreds of MB) before closing the connection."""
    try:
        yield from body
    finally:
        if hasattr(body, "close"):
            body.close()
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass


class _Dropped(ConnectionResetError):
    """Raised to make the dev server drop the connection without an answer."""


class Emulator:
    """A local Kubeez on a real port, served from a background thread.

    >>> with Emulator() as emu:                     # port 0: a free port
    ...     client = Client(api_key=emu.api_key, base_url=emu.url)

    ``speed`` scales job durations (model ``estimated_time_seconds / speed``: at 20 an image takes
    about 2 s, a video about 5 s). Knobs (``error_rate``, ``job_failure_rate``, ...; see
    ``Knobs``) can be passed here or set later with ``set_knobs``.

    The ``/_emulator/*`` control routes need ``control_token`` (random unless given) in the
    ``X-Emulator-Token`` header; the methods here (``set_knobs``, ``stats``, ...) need nothing.
    A connection that sends nothing for ``idle_timeout`` seconds is closed.
    """

    def __init__(
        self,
        *,
        speed: float = 20.0,
        api_key: str | None = None,
        credits: float = 10_000,
        port: int = 0,
        host: str = "127.0.0.1",
        url_ttl: float = 3600.0,
        seed_history: int = 0,
        catalog: Any = None,
        quiet: bool = True,
        control_token: str | None = None,
        idle_timeout: float = 30.0,
        **knobs: Any,
    ) -> None:
        self.backend = Backend(catalog, speed=speed, url_ttl=url_ttl, knobs=knobs)
        self.api_key = api_key or "sk_demo_" + secrets.token_hex(12)
        self.backend.add_key(self.api_key, None, credits)
        self.host, self.port = host, int(port)
        self.quiet = quiet
        self.idle_timeout = float(idle_timeout)
        self._app = App(self.backend, control_token)
        self._seed_history = int(seed_history)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def __repr__(self) -> str:
        state = self.url if self._server else "stopped"
        return f"<kubeez_nb.Emulator {state} speed={self.backend.speed:g}>"

    @property
    def control_token(self) -> str:
        """The token the ``/_emulator/*`` routes want in ``X-Emulator-Token`` (scripts, other processes)."""
        return self._app.control_token

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError(
                "the emulator is not running; call start() or use it as a context manager"
            )
        host = self.host if self.host not in {"0.0.0.0", "::", ""} else "127.0.0.1"
        return f"http://{host}:{self.port}"

    def start(self) -> Emulator:
        """Bind the port and serve in a daemon thread; returns once requests can be answered."""
        if self._server is not None:
            return self
        from werkzeug.serving import WSGIRequestHandler, make_server

        quiet = self.quiet

        class Handler(WSGIRequestHandler):
            timeout = self.idle_timeout  # socket timeout: idle or half-open connections are closed

            def log_request(self, *args: Any, **kwargs: Any) -> None:
                if not quiet:
                    super().log_request(*args, **kwargs)

            def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
                # a dropped connection is over: never parse the unread body as a next request
                self.close_connection = True

        if self._seed_history:
            self.backend.seed_history(self._seed_history, self.api_key)
        self._server = make_server(
            self.host, self.port, self._app, threaded=True, request_handler=Handler
        )
        self._server.daemon_threads = True
        self.port = self._server.socket.getsockname()[1]
        self._app.bound_host, self._app.port = self.host, self.port
        self._thread = threading.Thread(
            target=self._serve, name=f"kubeez-emulator:{self.port}", daemon=True
        )
        self._thread.start()
        self._ready.wait(10)
        return self

    def _serve(self) -> None:
        self._ready.set()
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop serving and delete the emulator's files."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.backend.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- steering (the same operations as the /_emulator/* control routes) ----------------------
    def add_key(
        self,
        key: str | None = None,
        scopes: Any = None,
        credits: float = 10_000,
        rate_limits: dict[str, int] | None = None,
    ) -> str:
        """Add a key (``scopes=None``: every scope); returns the key."""
        return self.backend.add_key(key, scopes, credits, rate_limits).key

    def set_knobs(self, **knobs: Any) -> dict[str, Any]:
        """Change fault knobs; returns them all."""
        return self.backend.set_knobs(**knobs)

    def advance(self, seconds: float) -> float:
        """Move the emulator clock forward: jobs progress, signed links expire, rate windows refill."""
        return self.backend.clock.advance(seconds)

    def stats(self) -> dict[str, Any]:
        """Requests per route, generations created, charges per logical request id, credits charged."""
        return self.backend.stats()

    def seed_history(self, n: int, key: str | None = None) -> int:
        """Add ``n`` past generations (up to 100 000) for ``key`` (default: the demo key)."""
        return self.backend.seed_history(n, key or self.api_key)

    def reset(self) -> None:
        """Forget jobs, assets, history, stats, knob changes and clock offset (keys stay, balances refill)."""
        self.backend.reset()
