"""The team server's analyses as one queue (issue 31).

Every browser session's analyses go through one `AnalysisQueue` per server process: at most as
many run at once as the machine has cores free of other processes' work (`FreeCores`, re-read as
they start), each on its share of those cores, so no two analyses fight for a core; the rest wait
in the order they came, and each session can ask for its place and its progress (`Status`). The
same clip asked for by two sessions is analysed once. A queued song whose every session has gone
(another clip chosen, the tab closed) is dropped before it starts.

`Queued` puts the models' other callers (Label, Test set) in the same queue. `Loading` runs
something slow (the models) in a background thread from the moment it is made: a cold server shows
its pages at once, and an upload made meanwhile waits in the queue for the models.

Nothing here draws anything: `webapp` makes the server's one queue and loading, and the pages show
`Status.text()`.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from ..io import threads

MAX_WAITING = 32  # songs waiting at once (all sessions); one more is refused with QueueFull
ABANDONED_S = 10.0  # a queued song nobody has watched for this long is dropped before it starts
READ_EVERY_S = 1.0  # how often FreeCores reads what other processes use


class QueueFull(RuntimeError):
    """The queue already holds MAX_WAITING songs."""


class Loading:
    """`load()` running in a background thread from construction; `result()` waits for it."""

    def __init__(self, load: Callable[[], Any], name: str = "emotionet-loading"):
        self.started = time.monotonic()
        self._load, self._done = load, threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            self._value = self._load()
        except BaseException as error:  # kept for whoever waits: they show it
            self._error = error
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    @property
    def failed(self) -> bool:
        return self._done.is_set() and self._error is not None

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None):
        """What `load()` returned (waiting for it up to `timeout`); raises what it raised, or
        TimeoutError."""
        if not self._done.wait(timeout):
            raise TimeoutError("still loading")
        if self._error is not None:
            raise self._error
        return self._value


class Queued:
    """`target` (the models) whose `methods` run in `queue`, their caller waiting its turn; every other
    attribute is the target's own. The pages that analyse team tracks (Label, Test set) get the
    models this way, so their analyses queue with the uploads'."""

    def __init__(self, target, queue: "AnalysisQueue", methods=("analyze", "head_inputs")):
        self._target, self._queue, self._methods = target, queue, frozenset(methods)

    def __getattr__(self, name: str):
        value = getattr(self._target, name)
        if name not in self._methods:
            return value

        def queued(*args, **kwargs):
            job = self._queue.submit(object(), lambda _progress: value(*args, **kwargs))  # its own key
            return self._queue.wait(job)

        return queued


class FreeCores:
    """How many analyses may run now: the cores no other process keeps busy (threads.cores() less
    the others' use, averaged over the last few readings a READ_EVERY_S apart), at least 1."""

    def __init__(self, readings: int = 3):
        self._load = threads.Load()
        self._readings: deque[float] = deque(maxlen=readings)
        self._at = -math.inf  # the first call reads (over threads.MIN_WINDOW_S)
        self._value = threads.cores()
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            if time.monotonic() - self._at >= READ_EVERY_S:
                self._readings.append(self._load.others())
                self._at = time.monotonic()
                others = sum(self._readings) / len(self._readings)
                self._value = max(1, threads.cores() - math.floor(others + 0.5))
            return self._value


@dataclass
class Job:
    """One analysis in the queue: `run(progress)` computes it; the rest is its state."""

    key: Hashable
    run: Callable[[Callable[[float, str], None]], Any]
    state: str = "queued"  # queued -> running -> done | failed | dropped
    fraction: float = 0.0
    message: str = ""
    result: Any = None
    error: BaseException | None = None
    watchers: int = 0
    unwatched_since: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Status:
    """Where a job stands, as its session shows it."""

    state: str
    place: int  # 1: the next to start; 0 once it runs or has finished
    waiting: int  # songs waiting in all
    running: int  # analyses running now
    fraction: float
    message: str

    def text(self) -> str:
        if self.state == "queued":
            before = self.place - 1
            ahead = f"{self.running} running" + (f", {before} waiting before yours" if before else "")
            return f"Waiting in the queue: your song is {ordinal(self.place)} in line ({ahead})…"
        return self.message or "Listening to the song…"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class AnalysisQueue:
    """Jobs run first come, first served, at most `workers` at once and no more than `capacity()`
    says (FreeCores by default), each on capacity() // running threads (EMOTIONET_THREADS fixes it)."""

    def __init__(
        self,
        workers: int | None = None,
        capacity: Callable[[], int] | None = None,
        max_waiting: int = MAX_WAITING,
        abandoned_s: float = ABANDONED_S,
    ):
        self.workers = max(1, workers or threads.cores())
        self.capacity = capacity or FreeCores()
        self.max_waiting, self.abandoned_s = max_waiting, abandoned_s
        self._cond = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._running: list[Job] = []
        self._jobs: dict[Hashable, Job] = {}  # queued or running, by key
        self._threads: list[threading.Thread] = []

    # --- sessions ------------------------------------------------------------------------------

    def submit(self, key: Hashable, run: Callable) -> Job:
        """The job for `key`: the one already queued or running (another session's), else a new one
        at the back of the queue. Raises QueueFull when max_waiting songs wait already."""
        with self._cond:
            job = self._jobs.get(key)
            if job is not None:
                job.unwatched_since = time.monotonic()  # its new session is about to watch it
                return job
            self._drop_abandoned()
            if len(self._waiting) >= self.max_waiting:
                raise QueueFull(
                    f"{len(self._waiting)} songs are waiting to be analysed on this server: try again in a minute."
                )
            job = self._jobs[key] = Job(key, run)
            self._waiting.append(job)
            while len(self._threads) < self.workers:  # started on the first song, not at import
                thread = threading.Thread(
                    target=self._work, name=f"emotionet-analysis-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._cond.notify_all()
            return job

    @contextlib.contextmanager
    def watching(self, job: Job):
        """While a session waits for `job` (a queued job nobody watches is dropped in time)."""
        with self._cond:
            job.watchers += 1
        try:
            yield job
        finally:
            with self._cond:
                job.watchers -= 1
                if job.watchers == 0:
                    job.unwatched_since = time.monotonic()

    def status(self, job: Job) -> Status:
        with self._cond:
            place = next((i + 1 for i, j in enumerate(self._waiting) if j is job), 0)
            return Status(job.state, place, len(self._waiting), len(self._running), job.fraction, job.message)

    def wait(self, job: Job, show: Callable[[Status], None] | None = None, every_s: float = 0.25):
        """Wait for `job`, calling show(status) about every `every_s` seconds (a page redraws its place
        and progress, and Streamlit can stop the wait there); its result, or raise its error."""
        with self.watching(job):
            while not job.done.wait(every_s):
                if show is not None:
                    show(self.status(job))
        if job.error is not None:
            raise job.error
        return job.result

    # --- workers -------------------------------------------------------------------------------

    def share(self) -> int:
        """Threads for each running analysis: the free cores shared among them (at least 1)."""
        return threads.fixed_threads() or max(1, self.capacity() // max(1, len(self._running)))

    def _drop_abandoned(self) -> None:
        now = time.monotonic()
        for job in [j for j in self._waiting if j.watchers == 0 and now - j.unwatched_since > self.abandoned_s]:
            self._waiting.remove(job)
            self._jobs.pop(job.key, None)
            job.state, job.error = "dropped", RuntimeError("dropped from the queue: nobody was waiting for it")
            job.done.set()

    def _next(self) -> Job:
        with self._cond:
            while True:
                self._drop_abandoned()
                if self._waiting and len(self._running) < min(self.workers, self.capacity()):
                    job = self._waiting.popleft()
                    job.state = "running"
                    self._running.append(job)
                    return job
                self._cond.wait(READ_EVERY_S)

    def _work(self) -> None:
        while True:
            job = self._next()
            used = [0]

            def progress(fraction: float, message: str, job=job, used=used) -> None:
                job.fraction, job.message = fraction, message
                if (share := self.share()) != used[0]:  # another analysis started or finished
                    used[0] = threads.use(share)

            try:
                used[0] = threads.use(self.share())
                job.result = job.run(progress)
            except BaseException as error:  # the session that waits shows it
                job.error = error
            with self._cond:
                self._running.remove(job)
                self._jobs.pop(job.key, None)
                job.state = "failed" if job.error is not None else "done"
                job.done.set()
                self._cond.notify_all()
