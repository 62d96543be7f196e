"""The batch runner: submissions through a pool, polls from one schedule heap, one progress bar.

Each job is polled at the time the server's ``Retry-After`` names, else on the documented
backoff, by a small pool of workers (the client's limiter keeps them within the read budget).

A ``deadline`` (a ``time.monotonic()`` instant, from ``batch(timeout=...)``) caps every poll's
timeouts and every wait; past it no new submission starts (those requests are reported as not
submitted, nothing charged) and polling stops, so ``batch()`` returns within about a second.
A POST already in flight is let finish: cutting it would leave a job that may be billed but
unknown. ``BatchResult.wait()`` follows the jobs still running later.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from kubeez_nb._config import MIN_POLL_INTERVAL, TERMINAL_FAILED, TERMINAL_OK
from kubeez_nb.errors import KubeezError

if TYPE_CHECKING:
    from kubeez_nb.batching import BatchItem, BatchResult

#: Poll workers: enough to overlap slow answers (a video's first completed poll renders it).
_POLL_WORKERS = 8
#: seconds past the deadline a poll already under way may take
_POLL_GRACE_S = 0.5


class _Runner:
    """Submits through a pool, polls from one schedule heap, updates one progress bar."""

    def __init__(
        self,
        client: Any,
        result: BatchResult,
        *,
        progress: bool,
        max_workers: int | None,
        deadline: float | None = None,
    ) -> None:
        self.client = client
        self.deadline = deadline
        self.result = result
        self.max_workers = max_workers
        self.progress = progress
        self._heap: list[tuple[float, int, Any, BatchItem]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._outstanding = 0  # jobs submitted and not yet terminal
        self._submitting = True
        #: the server sends Retry-After on status answers (a paced server): poll new jobs at once
        self._server_paces = False
        self._probed = False
        self._bar: Any = None

    def run(self) -> None:
        todo = [it for it in self.result.items if it.error is None]
        if self.progress:
            from kubeez_nb.progress import track

            self._bar = track(f"Batch of {len(self.result.items)}")
            self._tick()
        workers = self.max_workers or max(1, min(32, len(todo)))
        pollers = self._start_pollers(len(todo))
        try:
            with ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="kubeez-batch-submit"
            ) as pool:
                list(pool.map(self._submit_one, todo))
        finally:
            self._end(pollers)

    def follow(self, deadline: float | None) -> None:
        """Poll the jobs still running (after a batch stopped at its deadline) until done or
        until the new ``deadline``."""
        self.deadline = deadline
        with self._cond:
            self._heap, self._outstanding, self._submitting = [], 0, True
        running = [(j, it) for it in self.result.items for j in it.jobs if not _terminal(j)]
        pollers = self._start_pollers(len(running))
        try:
            for job, item in running:
                self._schedule(job, item, 0.0)
        finally:
            self._end(pollers)

    def _start_pollers(self, n: int) -> list[threading.Thread]:
        pollers = [threading.Thread(target=self._poll_loop, daemon=True, name=f"kubeez-batch-poll-{i}")
                   for i in range(min(_POLL_WORKERS, max(1, n)))]  # fmt: skip
        for t in pollers:
            t.start()
        return pollers

    def _end(self, pollers: list[threading.Thread]) -> None:
        with self._cond:
            self._submitting = False
            self._cond.notify_all()
        for t in pollers:
            t.join()
        self.result.timed_out = self._expired() and not self.result.done
        self.result.finished_at = time.time()
        if self._bar is not None:
            self._tick()
            self._bar.close(ok=not self.result.failures and not self.result.timed_out)

    def _expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _submit_one(self, item: BatchItem) -> None:
        if self._expired():  # past the deadline nothing new is sent (and nothing charged)
            item.error = f"not submitted: the batch's timeout passed first ({self._timeout_text()})"
            item.finished_at = time.time()
            self._tick()
            return
        item.submitted_at = time.time()
        try:
            job = self.client.submit(item.prepared, confirm=True)  # confirmed at batch level
        except Exception as exc:  # collected, not raised: one bad request must not sink the batch
            item.error = _message(exc)
            item.finished_at = time.time()
            self._tick()
            return
        item.job = job
        for j in item.jobs:
            self._schedule(j, item, self._first_delay(j))

    def _first_delay(self, job: Any) -> float:
        delay = float(job.next_delay())
        if _hinted(job):  # the submit answer carried a Retry-After: trust it
            return delay
        with self._cond:
            probe = not self._probed
            self._probed = True
        # A server that paces its status answers knows when each job will be ready: ask it at
        # once and follow its hint rather than sleeping the documented 5 s blind. One early
        # read per batch finds out whether the server does (the live API does not).
        return MIN_POLL_INTERVAL if probe or self._server_paces else delay

    def _schedule(self, job: Any, item: BatchItem, delay: float) -> None:
        with self._cond:
            self._outstanding += 1
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job, item))
            self._cond.notify()

    def _learned_pacing(self) -> None:
        """The server paces: jobs still waiting for their blind first poll are asked now."""
        with self._cond:
            if self._server_paces:
                return
            self._server_paces = True
            now = time.monotonic()
            self._heap = [(now if j.polls == 0 else due, n, j, it) for due, n, j, it in self._heap]
            heapq.heapify(self._heap)
            self._cond.notify_all()

    def _poll_loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._expired():  # the deadline: stop polling, leave the rest running
                        self._cond.notify_all()
                        return
                    if not self._heap:
                        if not self._submitting and self._outstanding <= 0:
                            self._cond.notify_all()
                            return
                        self._cond.wait(self._left())
                        continue
                    due = self._heap[0][0] - time.monotonic()
                    if due <= 0:
                        _, _, job, item = heapq.heappop(self._heap)
                        break
                    left = self._left()
                    self._cond.wait(due if left is None else min(due, left))
            try:
                self._poll(job, item)
            finally:
                with self._cond:
                    self._outstanding -= 1
                    self._cond.notify_all()

    def _poll(self, job: Any, item: BatchItem) -> None:
        """Refresh one job; reschedule it on its own schedule unless it is finished."""
        if not _terminal(job):
            try:
                if self.deadline is None:
                    job.refresh()
                else:
                    job.refresh(deadline=self.deadline + _POLL_GRACE_S)
            except Exception as exc:
                # the job's own policy (the one wait() follows): a few transient errors in a
                # row are retried; anything else (a 404 long after submit, a broken answer,
                # one error too many) ends this job for the batch
                try:
                    if not isinstance(exc, KubeezError):
                        raise
                    pause = job.poll_failed(exc)
                except Exception as final:
                    item.error = _message(final)
                    self._finish(item)
                    return
                self._schedule(job, item, pause)
                return
            else:
                job.poll_errors = 0
                if _hinted(job):
                    self._learned_pacing()
        if _terminal(job):
            if str(job.status) in TERMINAL_FAILED and not item.error:
                item.error = f"job {job.status}: {job.error or 'no reason given'}"
            self._finish(item)
            return
        self._schedule(job, item, float(job.next_delay()))

    def _left(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)

    def _timeout_text(self) -> str:
        t = self.result.timeout
        return f"{t:g} s" if t is not None else "deadline"

    def _finish(self, item: BatchItem) -> None:
        if item.done or item.error:
            item.finished_at = item.finished_at or time.time()
        self._tick()

    def _tick(self) -> None:
        if self._bar is None:
            return
        items = self.result.items
        done = sum(1 for it in items if it.done)
        failed = sum(1 for it in items if it.done and not it.ok)
        text = f"{done}/{len(items)} done" + (f", {failed} failed" if failed else "")
        try:
            self._bar.update(text, done / len(items) if items else 1.0)
        except Exception:  # the display is a courtesy; the batch goes on
            pass


def _hinted(job: Any) -> bool:
    """Whether the server's last answer about ``job`` said when to ask again (Retry-After).

    With an endless schedule, only a server hint can make the next delay finite.
    """
    try:
        return math.isfinite(job.next_delay(schedule=(math.inf,)))
    except Exception:
        return False


def _terminal(job: Any) -> bool:
    return str(getattr(job, "status", "")) in TERMINAL_OK | TERMINAL_FAILED


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
