"""Job handles: status normalisation, typed outputs, ``refresh()`` and ``wait()``.

Every async generate returns a :class:`Job` at once. ``wait()`` polls on the documented schedule
(5, 5, 5, 10, 10, 15, 15, 30 … s), or sooner when a status answer carries ``Retry-After`` (the
time-scaled emulator paces clients that way; the live API does not send it).

Tolerated variants (api-facts): ``pending`` as a first status, ``error`` meaning failed, MIME
``media_type`` values, root-relative output URLs, a ``completed`` job whose URLs are still null
(kept polling), a 404 just after our own submit (not visible yet), music ``songs`` and separation
``vocals_url`` / ``instrumental_url`` (both become :class:`Output`s; parsing in ``contract/wire.py``).

``wait(timeout=...)`` is a deadline: one ``time.monotonic()`` instant is passed to every poll
(the transport caps read timeouts and its 429 / rate-limiter waits at it) and every poll and
backoff sleep is capped at the time left, so it returns or raises within about a second of it.
Job ids are data: URL-encoded as one path segment. Server messages are shown and stored scrubbed
of key-shaped strings.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kubeez_nb._config import (
    MAX_TRANSIENT_POLL_ERRORS,
    MIN_POLL_INTERVAL,
    NOT_VISIBLE_GRACE_S,
    POLL_SCHEDULE,
    TERMINAL_FAILED,
    TERMINAL_OK,
)
from kubeez_nb._http import scrub
from kubeez_nb.contract import wire
from kubeez_nb.contract.kinds import STATUS_ROUTES
from kubeez_nb.contract.wire import Output, fallback_bundle
from kubeez_nb.errors import JobFailedError, KubeezError, NotFoundError, response_format_error

if TYPE_CHECKING:
    from kubeez_nb.client import Client
    from kubeez_nb.contract.pricing import Estimate

log = logging.getLogger("kubeez_nb.job")

#: ``observer(job, event)``: called after a job changed (``"status"``) and once completed
Observer = Callable[["Job", str], None]

#: seconds past a wait's deadline the poll that ends it may take (so a job finishing right at
#: the deadline is still seen); well inside the "about a second" promise
FINAL_POLL_GRACE_S = 0.5

#: the status a job has on the client while the server has not said anything yet
SUBMITTED = "queued"


def path_segment(value: Any) -> str:
    """``value`` as one URL path segment: every reserved character percent-encoded, and the dot
    segments ``.`` / ``..`` too (they would otherwise be resolved away by the URL layer)."""
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text


#: lower-case status, aliases resolved (``errored`` -> ``failed``): the one wire reader
normalize_status = wire.status


class Job:
    """A generation on the server. Cheap to create; ``refresh()`` asks the server once.

    Attributes: ``id``, ``kind``, ``model``, ``status``, ``outputs``, ``error``, ``estimate``
    (what the client predicted), ``cost`` (what the server reports), ``created_at``,
    ``completed_at``, ``source_task_id`` (Veo 3.1: feed it to ``client.extend``), ``raw`` (the
    last status body), ``request`` (the body sent).
    """

    def __init__(
        self,
        client: Client,
        id: str,
        kind: str = "media",
        *,
        model: str | None = None,
        status: str = SUBMITTED,
        request: dict[str, Any] | None = None,
        estimate: Estimate | None = None,
        submitted_at: float | None = None,
        raw: Mapping[str, Any] | None = None,
        poll_hint: float | None = None,
        transport: Any = None,
        observers: Sequence[Observer] | None = None,
    ) -> None:
        if kind not in STATUS_ROUTES:
            raise ValueError(f"unknown job kind {kind!r}; one of {', '.join(STATUS_ROUTES)}")
        #: the client that made or re-attached the job (for the user: ``job.client.extend(job)``)
        self.client = client
        #: what the job polls through (``get`` of a status path, ``resolve`` of output URLs)
        self.transport = transport if transport is not None else client.transport
        #: ``observer(job, event)`` after every change: ``"status"``, then ``"completed"`` once
        #: (the client registers its ledger and media-cache bookkeeping here)
        self.observers: list[Observer] = list(
            observers if observers is not None else getattr(client, "observers", ())
        )
        self.id = str(id)
        self.kind = kind
        self.model = model
        self.status = normalize_status(status) if status else SUBMITTED
        self.outputs: list[Output] = []
        self.error: str | None = None
        self.estimate = estimate
        self.cost: float | None = None
        self.created_at: str | None = None
        self.completed_at: str | None = None
        self.source_task_id: str | None = None
        self.project_id: str | None = None
        #: the ledger row of this job (set by the client at submit)
        self.local_id: int | None = None
        self.request: dict[str, Any] = dict(request or {})
        self.raw: dict[str, Any] = {}
        #: epoch seconds of our own submit (None for re-attached jobs)
        self.submitted_at = submitted_at
        self.polls = 0
        #: failed polls in a row (see :meth:`poll_failed`)
        self.poll_errors = 0
        self._hint = poll_hint  # seconds the server suggested until the next poll
        self._contact = time.monotonic()  # last answer from the server (submit or poll)
        self._lock = threading.RLock()
        self._callbacks: list[Callable[[Job], None]] = []
        self._cached = False
        self._watcher: threading.Thread | None = None
        if raw:
            self._apply(raw)

    # ---- state ----------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once the job reached a terminal state the client accepts."""
        return self.status in TERMINAL_OK or self.status in TERMINAL_FAILED

    @property
    def ok(self) -> bool:
        """True when the job completed with its outputs available."""
        return self.status in TERMINAL_OK

    @property
    def failed(self) -> bool:
        return self.status in TERMINAL_FAILED

    @property
    def output(self) -> Output | None:
        """The first output (most jobs have exactly one)."""
        return self.outputs[0] if self.outputs else None

    @property
    def url(self) -> str | None:
        """The first output's URL."""
        out = self.output
        return out.url if out else None

    def __repr__(self) -> str:
        extra = f", outputs={len(self.outputs)}" if self.outputs else ""
        if self.error:
            extra += f", error={self.error[:80]!r}"
        return f"Job({self.id!r}, kind={self.kind!r}, model={self.model!r}, status={self.status!r}{extra})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        try:
            from kubeez_nb import render as media

            return media.job_bundle(self, include, exclude)
        except Exception:
            return fallback_bundle(self)

    def raise_for_status(self) -> Job:
        """Raise :class:`~kubeez_nb.errors.JobFailedError` if the job failed; else return it."""
        if self.failed:
            raise JobFailedError(
                f"Job {self.id} ({self.model or self.kind}) ended {self.status}"
                + (f": {self.error}" if self.error else ""),
                job_id=self.id,
                job_status=self.status,
            )
        return self

    def on_change(self, callback: Callable[[Job], None]) -> None:
        """Call ``callback(job)`` after every refresh that changed the status or outputs."""
        with self._lock:
            self._callbacks.append(callback)

    # ---- polling --------------------------------------------------------------------------
    @property
    def status_path(self) -> str:
        """The job's status route, its id URL-encoded as one path segment (an id is data: a
        ``"../../v1/balance"`` never reaches another route)."""
        return STATUS_ROUTES[self.kind].format(id=path_segment(self.id))

    def refresh(self, *, deadline: float | None = None) -> Job:
        """Ask the server for the job's state once (thread-safe). Returns the job.

        ``deadline`` (a ``time.monotonic()`` instant) caps the request's timeouts and waits.
        """
        from kubeez_nb.errors import KubeezError

        with self._lock:
            try:
                reply = self.transport.request("GET", self.status_path, deadline=deadline)
            except NotFoundError as err:
                if self._fresh():
                    self.polls += 1
                    self._contact = time.monotonic()
                    self._hint = err.retry_after  # the server may say when to look again
                    return self  # not visible yet (seen live for a few seconds after create)
                raise
            self.polls += 1
            self._contact = time.monotonic()
            if not isinstance(reply.data, Mapping):
                raise response_format_error(reply.status, reply.data, "a generation status object")
            before = (self.status, len(self.outputs))
            self._apply(reply.data)
            self._hint = reply.retry_after() if not self.done else None
            changed = (self.status, len(self.outputs)) != before
            callbacks = list(self._callbacks) if changed else []
        if changed:
            self._after_change()
        for cb in callbacks:
            try:
                cb(self)
            except KubeezError:
                raise
            except Exception:  # a display callback must not break polling
                log.exception("job callback failed")
        return self

    def _fresh(self) -> bool:
        return (
            self.submitted_at is not None and time.time() - self.submitted_at < NOT_VISIBLE_GRACE_S
        )

    def _apply(self, data: Mapping[str, Any]) -> None:
        """Update from a status body (or the submit answer)."""
        self.raw = dict(data)
        status = normalize_status(data.get("status") or self.status)
        outputs = wire.outputs(data, self.transport.resolve)
        if status in TERMINAL_OK and (not outputs or any(o.url is None for o in outputs)):
            # completed but the CDN copy is not there yet: keep polling (api-facts)
            status = "processing"
        if outputs or status in TERMINAL_OK:
            old = {o.url: o.local_path for o in self.outputs}
            for out in outputs:
                out.local_path = out.local_path or old.get(out.url)
            self.outputs = outputs
        self.status = status
        self.model = wire.text(data.get("model")) or self.model
        err = (
            data.get("error_message")
            or data.get("error")
            or (data.get("message") if status in TERMINAL_FAILED else None)
        )
        # a server may echo the request (and its key) in a message: shown and stored scrubbed
        self.error = scrub(str(err)) if err and status in TERMINAL_FAILED else None
        for key in ("error_message", "error", "message"):
            if isinstance(self.raw.get(key), str):
                self.raw[key] = scrub(self.raw[key])
        cost = wire.cost(data)
        self.cost = cost if cost is not None else self.cost
        self.created_at = wire.text(data.get("created_at")) or self.created_at
        self.completed_at = wire.text(data.get("completed_at")) or self.completed_at
        self.source_task_id = wire.text(data.get("source_task_id")) or self.source_task_id
        self.project_id = wire.text(data.get("project_id")) or self.project_id

    def _after_change(self) -> None:
        """Tell the observers: ``status`` (ledger update), then ``completed`` once (media
        download while the signed URLs are valid)."""
        self._notify("status")
        if self.ok and not self._cached:
            self._cached = True
            self._notify("completed")

    def _notify(self, event: str = "status") -> None:
        """Run every observer; bookkeeping (ledger, cache) must never fail the job."""
        for observer in list(self.observers):
            try:
                observer(self, event)
            except Exception:
                log.warning("observer could not handle %s of job %s", event, self.id, exc_info=True)

    def next_delay(self, schedule: Sequence[float] | None = None) -> float:
        """Seconds from now until the next poll: the schedule step (shortened by a server hint)
        counted from the last answer, so a job waited on late is not made to wait again."""
        steps = tuple(schedule or POLL_SCHEDULE)
        step = float(steps[min(self.polls, len(steps) - 1)])
        if self._hint is not None:
            step = min(step, self._hint)
        step = max(step, MIN_POLL_INTERVAL)
        return max(step - (time.monotonic() - self._contact), 0.0)

    def wait(
        self,
        timeout: float | None = None,
        schedule: Sequence[float] | None = None,
        progress: bool = True,
    ) -> Job:
        """Poll until the job is done; returns the job (check ``job.ok`` or ``raise_for_status()``).

        ``schedule`` replaces the documented backoff (its last step repeats). ``timeout`` is a
        deadline in seconds (None or ``inf``: no limit; ``nan``, negatives and text are a
        ``ValueError``): every poll's read timeout and every sleep (poll, backoff, 429, rate
        limiter) is capped at the time left, and ``TimeoutError`` is raised within about a second
        of it whatever the server does (the job keeps running on the server; ``wait()`` again or
        ``kz.resume()`` later).
        """
        from kubeez_nb.contract.checks import check_seconds

        timeout = check_seconds("timeout", timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._wait_until(deadline, schedule, progress, timeout)

    def _wait_until(
        self,
        deadline: float | None,
        schedule: Sequence[float] | None,
        progress: bool,
        timeout: float | None = None,
    ) -> Job:
        """``wait()`` against a ``time.monotonic()`` deadline (shared by groups and batches)."""
        bar = _progress(self) if progress and not self.done else None
        ok = False
        try:
            if self.polls == 0 and self.submitted_at is None and not self.done:
                self._poll(deadline, timeout)  # re-attached job: learn where it stands first
            while not self.done:
                delay = self.next_delay(schedule)
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise self._timeout(timeout)
                    delay = min(delay, left)
                time.sleep(delay)
                try:
                    self._poll(deadline, timeout)
                    self.poll_errors = 0
                except KubeezError as exc:
                    pause = self.poll_failed(exc)
                    if deadline is not None:
                        pause = min(pause, max(deadline - time.monotonic(), 0.0))
                    time.sleep(pause)
                if bar is not None:
                    _progress_update(bar, self)
            ok = self.ok
        finally:
            if bar is not None:
                try:
                    bar.close(ok)
                except Exception:
                    log.debug("progress close failed", exc_info=True)
        return self

    def poll_failed(self, exc: KubeezError) -> float:
        """The one poll-error policy (``wait()`` and ``batch`` both use it): the job runs on
        regardless, so a retryable error is absorbed up to ``MAX_TRANSIENT_POLL_ERRORS`` in a
        row and the seconds to pause before the next poll are returned; any other error, or one
        too many, is raised. A successful poll resets the count (``poll_errors = 0``)."""
        self.poll_errors += 1
        if not exc.retryable or self.poll_errors > MAX_TRANSIENT_POLL_ERRORS:
            raise exc
        log.warning("poll of job %s failed (%s); retrying", self.id, exc.code or exc.status)
        return min(0.25 * 2**self.poll_errors, 30.0) * random.uniform(0.5, 1.0)

    def _poll(self, deadline: float | None, timeout: float | None) -> None:
        """One refresh within the deadline (plus a short grace for the poll that ends the wait);
        a request the deadline cut short becomes the wait's ``TimeoutError``."""
        if deadline is None:
            self.refresh()
            return
        try:
            self.refresh(deadline=deadline + FINAL_POLL_GRACE_S)
        except KubeezError as exc:
            if isinstance(exc, TimeoutError) and time.monotonic() >= deadline:
                raise self._timeout(timeout) from exc
            raise

    def _timeout(self, timeout: float | None) -> TimeoutError:
        took = f" after {timeout:g} s" if timeout is not None else ""
        return TimeoutError(
            f"Job {self.id} is still {self.status}{took}; call job.wait() again later "
            "(it keeps running on the server) or kz.resume()."
        )

    def _ipython_display_(self) -> None:
        """Shown in a notebook: the card, kept current in the background (the kernel stays free)."""
        from kubeez_nb import render as media

        media.watch(self)

    def watch(self, schedule: Sequence[float] | None = None) -> threading.Thread:
        """Poll in a background thread until done (callbacks fire on changes); returns it."""
        with self._lock:
            if self._watcher is not None and self._watcher.is_alive():
                return self._watcher

            def run() -> None:
                try:
                    self.wait(schedule=schedule, progress=False)
                except Exception:
                    log.warning("background polling of job %s stopped", self.id, exc_info=True)

            self._watcher = threading.Thread(
                target=run, name=f"kubeez-job-{self.id[:8]}", daemon=True
            )
            self._watcher.start()
            return self._watcher


def _progress(job: Job) -> Any:
    try:
        from kubeez_nb.progress import track
    except ImportError:
        return None
    try:
        from kubeez_nb.render import eta_seconds

        return track(f"{job.model or job.kind} {job.id[:8]}", eta=eta_seconds(job))
    except Exception:
        log.debug("progress display unavailable", exc_info=True)
        return None


def _progress_update(bar: Any, job: Job) -> None:
    try:
        bar.update(job.status, None)
    except Exception:
        log.debug("progress update failed", exc_info=True)


class JobGroup(Sequence[Job]):
    """Several jobs submitted together (ad-copy variants, a batch). Iterable and indexable."""

    def __init__(
        self, jobs: Sequence[Job], *, project_id: str | None = None, estimate: Any = None
    ) -> None:
        self.jobs: list[Job] = list(jobs)
        self.project_id = project_id
        self.estimate = estimate

    def __getitem__(self, index: Any) -> Any:
        return self.jobs[index]

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for job in self.jobs:
            counts[job.status] = counts.get(job.status, 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in counts.items())
        proj = f"{self.project_id!r}, " if self.project_id else ""
        return f"JobGroup({proj}{len(self.jobs)} jobs: {states})"

    @property
    def done(self) -> bool:
        return all(j.done for j in self.jobs)

    @property
    def ok(self) -> bool:
        return all(j.ok for j in self.jobs)

    @property
    def outputs(self) -> list[Output]:
        return [o for j in self.jobs for o in j.outputs]

    @property
    def cost(self) -> float | None:
        costs = [j.cost for j in self.jobs if j.cost is not None]
        return sum(costs) if costs else None

    def refresh(self) -> JobGroup:
        for job in self.jobs:
            if not job.done:
                job.refresh()
        return self

    def wait(
        self,
        timeout: float | None = None,
        schedule: Sequence[float] | None = None,
        progress: bool = True,
    ) -> JobGroup:
        """Wait for every job (polled in turn, each on its own schedule); returns the group.

        ``timeout`` is one deadline for the whole group (see :meth:`Job.wait`).
        """
        from kubeez_nb.contract.checks import check_seconds

        timeout = check_seconds("timeout", timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in self.jobs:
            try:
                job._wait_until(deadline, schedule, progress, timeout)
            except TimeoutError:
                running = sum(not j.done for j in self.jobs)
                raise TimeoutError(
                    f"{running} of {len(self.jobs)} job(s) still running after {timeout:g} s; "
                    "call wait() again later (they keep running on the server)."
                ) from None
        return self

    def raise_for_status(self) -> JobGroup:
        for job in self.jobs:
            job.raise_for_status()
        return self

    def _ipython_display_(self) -> None:
        """Shown in a notebook: the card, kept current in the background (the kernel stays free)."""
        from kubeez_nb import render as media

        media.watch(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        try:
            from kubeez_nb import render as media

            return media.group_bundle(self, include, exclude)
        except Exception:
            return fallback_bundle(self)
