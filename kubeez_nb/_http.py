"""HTTP transport: the one ``requests.Session``, timeouts, retries, pacing, key handling.

Retry policy (all of it lives here):

* **Reads** (GET, HEAD, and the idempotent PATCH / DELETE of assets) are retried on connection
  errors and on 500/502/503/504 by a mounted ``HTTPAdapter(max_retries=urllib3 Retry(...))``
  with exponential backoff and jitter, honouring a ``Retry-After`` header.
* **429** is handled by our own loop for every method, because urllib3 cannot read the body's
  ``retry_after`` and the pacing limiter must hear about it: wait ``Retry-After`` /
  ``retry_after`` (or an exponential backoff) plus jitter, pause the group, then retry. A 429
  means the request was *not* accepted, so this is safe even for a generate POST.
* **Generate POSTs** are never blindly retried: the server may already have accepted (and
  billed) the job. The policy, attempt by attempt (at most ``SUBMIT_ATTEMPTS`` sends, all with
  the same ``Idempotency-Key`` so a deduplicating server can do its part):

  1. A failure that provably never reached the server (connection refused, DNS, connect
     timeout) is resent after a backoff without a check.
  2. A failure that may have come after acceptance (a 5xx, a read timeout, a dropped
     connection) is *always* checked, the last attempt included: after a backoff the
     caller's ``recover`` looks in ``/v1/generations`` for the job with exact matching and a
     claim in the ledger (:mod:`kubeez_nb.matching`). Found: that job is the answer.
  3. Not found: the history may lag (the live API answers 404 for a few seconds after a
     create), so it is read again after ``RECHECK_GRACE_S``. Only when that re-read also
     finds nothing is the body sent again (if attempts remain).
  4. When the last attempt's job cannot be found, or the check itself fails, or a deadline
     passes mid-way, the outcome is **unknown**: the error raised carries ``outcome="unknown"``
     and says the job "may have been accepted and billed; see kz.jobs()". The client records
     the ledger row as ``unknown`` (never ``rejected``); ``kz.jobs()`` / ``kz.resume()``
     settle it later with the same matching. A refusal (4xx) after an ambiguous attempt is
     also ``unknown``: the earlier attempt may be the one that was billed.
  5. Only a refusal with no ambiguous attempt before it (validation, credits, scope, 429
     storms) is ``rejected``: nothing was charged.
* **Other 4xx** are never retried.

Key hygiene: the key lives in a :class:`Secret` (its repr is masked), is attached to a request
by :class:`_KeyAuth` (a ``requests`` auth hook) so no frame of this package holds it in a local,
is sent only in the ``X-API-Key`` header and only to the API's own origin (never to signed media links, and it is
stripped when a redirect leaves the origin). A logging filter redacts it; errors are built from
the response only (their messages scrubbed of this key and of key-shaped tokens), and the
underlying requests exception is not chained, so no traceback holds request headers.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from kubeez_nb._config import DEFAULT_TIMEOUT, RECHECK_GRACE_S, __version__
from kubeez_nb._deadline import _cap_timeout, _deadline_error, _expired, _sleep
from kubeez_nb._ratelimit import RateLimiter, group_for
from kubeez_nb._secrets import KEY_HEADER, Secret, _KeyAuth, register, scrub
from kubeez_nb.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    KubeezError,
    RateLimitError,
    ServerError,
    error_from_response,
    response_format_error,
    retry_after_seconds,
)

log = logging.getLogger("kubeez_nb.http")

USER_AGENT = f"kubeez-nb/{__version__}"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: urllib3 retries for reads (connection errors and 5xx)
READ_RETRIES = 4
READ_BACKOFF = 0.25
READ_BACKOFF_MAX = 8.0
RETRY_STATUSES = (500, 502, 503, 504)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
#: how many times a 429 is waited out before the RateLimitError reaches the caller
RATE_LIMIT_RETRIES = 6
#: longest single wait after a 429 (a server asking for more is reported to the caller)
MAX_RETRY_AFTER = 120.0
#: total sends of one generate POST (first + resubmits after a negative duplicate check)
SUBMIT_ATTEMPTS = 3
SUBMIT_BACKOFF = 0.5
CHUNK = 1 << 16

MISSING_KEY_MESSAGE = (
    "No Kubeez API key: pass Client(api_key=...) or set the KUBEEZ_API_KEY environment variable "
    "(create a key at https://kubeez.com/settings/api-keys). To try things without a key, use "
    "kz.connect(demo=True) or set KUBEEZ_DEMO=1: a local emulator, no credits spent."
)


# ---- replies ------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One decoded answer: status, JSON (or None), response headers, seconds it took."""

    status: int
    data: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    elapsed: float = 0.0

    def retry_after(self) -> float | None:
        """The pacing hint of this answer in seconds (``Retry-After-Ms`` first, then
        ``Retry-After`` as delta-seconds or an HTTP date), else None."""
        return retry_after_seconds(self.headers)


class _Session(requests.Session):
    """A session that drops the key when a redirect leaves the API origin.

    ``requests`` strips ``Authorization`` on such redirects but keeps custom headers.
    """

    api_origin: str = ""

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        super().rebuild_auth(prepared_request, response)
        if _origin(prepared_request.url or "") != self.api_origin:
            prepared_request.headers.pop(KEY_HEADER, None)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _ambiguous(err: Exception) -> bool:
    """Whether a failed send may have reached the server (so it may have been accepted)."""
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(err, requests.exceptions.ConnectionError):
        text = repr(err)
        # refused / DNS: the request never left this machine
        return not any(
            s in text for s in ("NewConnectionError", "NameResolutionError", "Connection refused")
        )
    return True


class Transport:
    """Sends requests to one Kubeez origin. Thread-safe (the session pool and limiter are)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | Secret | None,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        rate_limits: Mapping[str, int] | None = None,
        read_retries: int = READ_RETRIES,
        pool_size: int = 32,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key) if api_key else None
        api_key = None  # no frame keeps the raw key
        self.timeout = timeout
        self.limiter = RateLimiter(rate_limits)
        self.session = _Session()
        self.session.api_origin = _origin(self.base_url)
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        self.read_retries = read_retries
        # urllib3 retries nothing and never reads Retry-After (it rejects a decimal one): every
        # retry, backoff and wait is ours (request()), so each can be capped by a deadline
        retry = Retry(
            total=0,
            read=False,
            redirect=False,
            status=0,
            raise_on_status=False,
            raise_on_redirect=False,
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if self._key is not None:
            register(self._key)

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, key={'set' if self._key else 'missing'})"

    @property
    def has_key(self) -> bool:
        return self._key is not None

    def close(self) -> None:
        self.session.close()

    # ---- URLs --------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        """Absolute URL: ``/v1/balance`` → ``<base>/v1/balance``; absolute URLs pass through."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + "/" + path.lstrip("/")

    def resolve(self, url: str | None) -> str | None:
        """A root-relative media URL (``/images/x.png``) made absolute against the API origin."""
        if not url or not isinstance(url, str):
            return None
        if url.startswith(("http://", "https://", "data:")):
            return url
        return urljoin(self.base_url + "/", url)

    def is_api_url(self, url: str) -> bool:
        return _origin(url) == self.session.api_origin

    # ---- requests ----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        group: str | bool | None = True,
        auth: bool | None = None,
        timeout: float | tuple[float, float] | None = None,
        body_factory: Callable[[], tuple[Any, Mapping[str, str]]] | None = None,
        deadline: float | None = None,
    ) -> Reply:
        """Send one request (429s waited out, reads retried) and decode the JSON answer.

        ``group`` True means the documented group of the route, None/False none. ``auth`` None
        sends the key for ``/v1/*`` paths. ``body_factory`` rebuilds a streamed body (uploads)
        for each attempt. ``deadline`` is a ``time.monotonic()`` instant: every read timeout and
        every wait (429, backoff, rate limiter) is capped at the time left, and
        :class:`~kubeez_nb.errors.APITimeoutError` is raised once it has passed.
        Raises a typed :class:`~kubeez_nb.errors.KubeezError`.
        """
        method = method.upper()
        url = self.url(path)
        route = urlsplit(url).path
        grp = group_for(method, route) if group is True else (group or None)
        if auth is None:
            auth = route.startswith("/v1/")
        key_auth: _KeyAuth | None = None
        if auth:
            if self._key is None:
                raise AuthenticationError(MISSING_KEY_MESSAGE, hint="")
            if not self.is_api_url(url):  # never hand the key to another host
                raise ValueError("the API key is only sent to the API's own origin")
            key_auth = _KeyAuth(self._key)
        hdrs = dict(headers or {})
        idempotent = method in IDEMPOTENT_METHODS
        limited = failed = 0
        while True:
            if body_factory is not None:
                data, extra = body_factory()
                hdrs.update(extra)
            try:
                resp = self._send(
                    method,
                    url,
                    grp,
                    params=params,
                    json=json,
                    data=data,
                    headers=hdrs,
                    auth=key_auth,
                    timeout=timeout,
                    deadline=deadline,
                )
            except APIConnectionError as err:
                if not (idempotent and failed < self.read_retries) or _expired(deadline):
                    raise
                failed += 1
                self._backoff(failed, None, deadline, f"{method} {route}", err.message)
                continue
            if resp.status_code == 429 and limited < RATE_LIMIT_RETRIES:
                wait = _rate_limit_wait(self._error(resp), limited)
                if wait <= MAX_RETRY_AFTER:
                    limited += 1
                    log.info(
                        "429 on %s %s; waiting %.2f s (attempt %d)", method, route, wait, limited
                    )
                    self.limiter.pause(grp, wait)
                    _sleep(wait, deadline, f"{method} {route} (rate limited)")
                    continue
            elif resp.status_code in RETRY_STATUSES and idempotent and failed < self.read_retries:
                failed += 1
                hint = _header_wait(resp.headers)
                self._backoff(
                    failed, hint, deadline, f"{method} {route}", f"HTTP {resp.status_code}"
                )
                resp.close()
                continue
            return self._decode(resp)

    def _backoff(
        self, attempt: int, hint: float | None, deadline: float | None, what: str, why: str
    ) -> None:
        """Wait before retry ``attempt`` of a read: the server's hint, else exponential + jitter."""
        if hint is not None:
            wait = min(hint, READ_BACKOFF_MAX)
        else:
            wait = min(READ_BACKOFF * (2 ** (attempt - 1)), READ_BACKOFF_MAX)
        wait += random.uniform(0, READ_BACKOFF)
        log.info("%s failed (%s); retry %d in %.2f s", what, why, attempt, wait)
        _sleep(wait, deadline, what)

    def _send(
        self,
        method: str,
        url: str,
        group: str | None,
        *,
        timeout: Any = None,
        deadline: float | None = None,
        **kw: Any,
    ) -> requests.Response:
        what = f"{method} {urlsplit(url).path}"
        timeout = _cap_timeout(timeout or self.timeout, deadline, what)
        try:
            slot = self.limiter.acquire(group, deadline=deadline)
        except TimeoutError:
            slot = None
        if slot is None:
            raise _deadline_error(what, "waiting for a rate-limit slot")
        timeout = _cap_timeout(timeout, deadline, what)
        started = time.monotonic()
        failure: KubeezError | None = None
        try:
            resp = self.session.request(method, url, timeout=timeout, **kw)
        except requests.exceptions.RequestException as exc:
            failure = self._failure(exc, method, url, timeout)
            if deadline is not None and isinstance(failure, APITimeoutError) and _expired(deadline):
                failure = _deadline_error(what, "waiting for the answer", maybe_sent=True)
        finally:
            slot.release()
        if failure is not None:
            # raised outside the except block: no __context__ holding the request
            raise failure
        self.limiter.learn(group, resp.headers)
        log.debug("%s -> %s in %.3f s", what, resp.status_code, time.monotonic() - started)
        return resp

    def _failure(self, exc: Exception, method: str, url: str, timeout: Any) -> KubeezError:
        """The typed error for a request that got no answer; ``maybe_sent`` says whether the
        server may have received it (decides the duplicate check of a generate POST)."""
        path = urlsplit(url).path
        err: KubeezError
        if isinstance(exc, requests.exceptions.Timeout):
            err = APITimeoutError(
                f"{method} {path} got no answer within the timeout ({_fmt_timeout(timeout)})"
            )
        elif isinstance(
            exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
        ):
            err = APIConnectionError(
                f"{method} {path}: could not reach {self.base_url} ({_reason(exc)})"
            )
        else:
            err = APIConnectionError(f"{method} {path} failed: {_reason(exc)}")
        err.maybe_sent = _ambiguous(exc)  # type: ignore[attr-defined]
        return err

    def _error(self, resp: requests.Response) -> APIError:
        body: Any
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        err = error_from_response(resp.status_code, body, resp.headers)
        # a server that echoes the key (or any key-shaped token) back must not show it
        if self._key is not None:
            err.message = self._key.mask(err.message)
            err.args = (err.message,)
            if isinstance(err.body, str):
                err.body = self._key.mask(err.body)
            elif err.body is not None and self._key.mask(repr(err.body)) != repr(err.body):
                err.body = scrub(repr(err.body))
        return err

    def _decode(self, resp: requests.Response) -> Reply:
        if resp.status_code >= 400:
            raise self._error(resp)
        elapsed = resp.elapsed.total_seconds() if resp.elapsed else 0.0
        if resp.status_code == 204 or not resp.content:
            return Reply(resp.status_code, None, resp.headers, elapsed)
        try:
            data = resp.json()
        except ValueError:
            raise response_format_error(resp.status_code, resp.text, "JSON") from None
        return Reply(resp.status_code, data, resp.headers, elapsed)

    # ---- generate POSTs ------------------------------------------------------------------------
    def submit(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        recover: Callable[[float], Reply | None] | None = None,
        attempts: int = SUBMIT_ATTEMPTS,
        deadline: float | None = None,
        grace: float = RECHECK_GRACE_S,
        request_id: str | None = None,
    ) -> Reply:
        """POST a billable request with the no-double-billing policy (see the module docstring).

        ``recover(sent_at)`` gets the epoch time of the first send and returns a Reply standing
        for the accepted job when it finds (and claims) one, else None; it may raise if it
        cannot tell. ``grace``: seconds before the confirming re-read. ``deadline`` (a
        ``time.monotonic()`` instant) caps every timeout and wait. ``request_id``: the
        ``Idempotency-Key`` of this logical request (the caller stores it; default: a new one).
        """
        key = request_id or uuid.uuid4().hex
        first_sent = time.time()
        ambiguous = False  # an earlier attempt may have been accepted
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                return self.request(
                    "POST",
                    path,
                    json=dict(body),
                    headers={IDEMPOTENCY_HEADER: key},
                    deadline=deadline,
                )
            except (ServerError, APIConnectionError) as err:
                failure: KubeezError = err
            except KubeezError as err:
                if ambiguous:
                    _mark_unknown(err)
                raise
            if not getattr(failure, "maybe_sent", True):
                if last:
                    if ambiguous:
                        _mark_unknown(failure)
                    raise failure
                _sleep(_submit_backoff(attempt), deadline, f"POST {path}")
                continue
            ambiguous = True
            log.warning("POST %s failed (%s); checking before resubmitting", path, failure.message)
            try:
                found = self._check(recover, first_sent, path, attempt, deadline, grace)
            except KubeezError as check_err:
                _mark_unknown(failure, f"the duplicate check failed: {check_err.message}")
                raise failure from None
            if found is not None:
                log.info("POST %s was accepted before the failure; using that job", path)
                return found
            if last:
                _mark_unknown(failure)
                raise failure
        raise AssertionError("unreachable")  # pragma: no cover

    def _check(
        self,
        recover: Callable[[float], Reply | None] | None,
        first_sent: float,
        path: str,
        attempt: int,
        deadline: float | None,
        grace: float,
    ) -> Reply | None:
        """The job of an ambiguous POST, else None once a grace re-read confirms its absence."""
        if recover is None:
            raise KubeezError("this request cannot be looked up afterwards")
        _sleep(_submit_backoff(attempt), deadline, f"POST {path}")
        found = recover(first_sent)
        if found is None and grace > 0:
            _sleep(grace, deadline, f"POST {path} (re-reading the history)")
            found = recover(first_sent)
        return found

    # ---- downloads -------------------------------------------------------------------------
    def stream(self, url: str, *, chunk: int = CHUNK) -> Iterator[bytes]:
        """Stream a media URL's bytes without the key (signed links need none)."""
        full = self.resolve(url)
        if not full:
            raise ValueError(f"not a URL: {url!r}")
        try:
            resp = self.session.get(
                full, stream=True, timeout=self.timeout, headers={"Accept": "*/*"}
            )
        except requests.exceptions.Timeout:
            raise APITimeoutError(f"download of {_safe_url(full)} timed out") from None
        except requests.exceptions.RequestException as exc:
            raise APIConnectionError(
                f"download of {_safe_url(full)} failed: {_reason(exc)}"
            ) from None
        with resp:
            if resp.status_code >= 400:
                raise self._error(resp)
            try:
                yield from resp.iter_content(chunk)
            except requests.exceptions.RequestException as exc:
                raise APIConnectionError(
                    f"download of {_safe_url(full)} broke off: {_reason(exc)}"
                ) from None

    def download(self, url: str, dest: str | Path) -> Path:
        """Stream ``url`` into ``dest`` (written to a temp name, then renamed). Returns the path."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + f".part-{uuid.uuid4().hex[:8]}")
        try:
            with open(tmp, "wb") as fh:
                for block in self.stream(url):
                    fh.write(block)
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest


def _header_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds a response asks us to wait: ``Retry-After-Ms`` first, then ``Retry-After``
    (decimal seconds or an HTTP-date); None when absent or unreadable."""
    return retry_after_seconds(headers)


def _submit_backoff(attempt: int) -> float:
    return SUBMIT_BACKOFF * (2**attempt) * (1 + random.random())


#: what an unknown outcome tells the user (ledger row and error alike)
UNKNOWN_NOTE = "it may have been accepted and billed; see kz.jobs()"


def _mark_unknown(err: KubeezError, why: str | None = None) -> None:
    """Turn ``err`` into an honest "unknown outcome" report (the ledger row says so too)."""
    if getattr(err, "outcome", None) == "unknown":
        return
    err.outcome = "unknown"  # type: ignore[attr-defined]
    err.message = f"{err.message} ({why + '; ' if why else ''}{UNKNOWN_NOTE})"
    err.args = (err.message,)
    err.hint = (
        "Do not resend it yet: kz.jobs() lists it as 'unknown' and settles it against the "
        "server's history (kz.resume() too): the job id is attached when found, 'not "
        "submitted' when provably absent."
    )


def _rate_limit_wait(err: APIError, attempt: int) -> float:
    base = (
        err.retry_after if isinstance(err, RateLimitError) and err.retry_after is not None else None
    )
    if base is None:
        base = min(1.0 * (2**attempt), 30.0)
    return base + random.uniform(0, 0.1 + 0.1 * base)  # jitter: spread a crowd of clients


def _fmt_timeout(timeout: Any) -> str:
    if isinstance(timeout, tuple):
        return f"connect {timeout[0]:g} s, read {timeout[1]:g} s"
    return f"{timeout:g} s"


def _reason(exc: Exception) -> str:
    """A short cause without URLs' query strings (signed links) or anything secret."""
    text = str(exc)
    for marker in ("Caused by ", "(Caused by"):
        if marker in text:
            text = text.split(marker, 1)[1]
    return scrub(text.strip("() "))[:200]


def _safe_url(url: str) -> str:
    """A URL without its query string (signatures stay out of messages)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
