"""Many files at once: analysis spread over worker processes, results in input order.

Each worker loads the models once and uses one torch thread, so two workers keep two cores
busy; by default there are as many workers as free cores (at most 2), and one process alone uses
the free cores' threads (`io.threads`: no thread spins for a core another process keeps busy). A
file that cannot be analysed yields its error message (a `FileError`, a str that says
whether the audio itself is at fault); the batch goes on. A worker that dies (killed, out of
memory, a crashing decoder) costs only the files it and its sibling had in hand: they get an
error, a fresh pool takes the rest.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable, Iterator


from .io.audio import AudioError
from .predict import PRESETS, Analysis, Predictor

_worker: Predictor | None = None


class FileError(str):
    """Why a file was not analysed. `bad_audio` is True when the audio itself is unusable (the
    same file will fail again), False for anything else (a crash, a lost worker)."""

    bad_audio: bool = False

    def __new__(cls, message: str, bad_audio: bool = False):
        error = super().__new__(cls, message)
        error.bad_audio = bad_audio
        return error

    def __reduce__(self):
        return FileError, (str(self), self.bad_audio)


def lost_worker_error(path) -> FileError:
    return FileError(
        f"Could not analyse {os.path.basename(str(path))}: the worker process analysing it stopped "
        "(killed, out of memory, or a crash); the other files went on. Try it again."
    )


def _init(checkpoints, thresholds, threads: int | None = 1) -> None:
    """Load the models in this process, on at most `threads` torch threads (None: the free cores);
    numpy's BLAS on one: two workers must not put four threads on two cores."""
    global _worker
    from .io import threads as runtime

    runtime.configure(at_most=threads)
    _worker = Predictor.load(checkpoints, thresholds)


def _analyze(job) -> Analysis | FileError:
    path, seconds, preset = job
    try:
        analysis = _worker.analyze(path, name=str(path), seconds=seconds, **PRESETS[preset or "whole"])
    except AudioError as error:
        return FileError(str(error), bad_audio=True)
    except Exception as error:  # an unexpected failure on one file must not end the batch
        return FileError(f"Could not analyse {os.path.basename(str(path))}: {type(error).__name__}: {error}")
    analysis.features = {}  # not needed by batch users; keeps inter-process traffic small
    return analysis


def default_workers() -> int:
    """As many worker processes as cores are free of other processes' work, at most 2."""
    from .io import threads

    return max(1, min(2, threads.free_cores()))


def analyze_files(
    paths: Iterable,
    checkpoints=None,
    thresholds=None,
    workers: int | None = None,
    seconds: float | None = None,
    preset: str | None = None,
) -> Iterator[tuple[str, Analysis | FileError]]:
    """Yield (path, Analysis or error message) for each path, in order: the whole song of each
    (the middle `seconds` when given), analysed as the `preset` of predict.PRESETS says (None: "whole")."""
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    paths = [str(p) for p in paths]
    jobs = [(p, seconds, preset) for p in paths]
    workers = default_workers() if workers is None else workers
    if workers > 1 and len(paths) > 1:  # damaged checkpoints: one clear error here, not a pool that keeps dying
        from .models.checkpoints import checkpoint_dir, read_config, verify_files

        directory = checkpoints or checkpoint_dir()
        verify_files(directory, read_config(directory))
    if workers <= 1 or len(paths) <= 1:
        _init(checkpoints, thresholds, threads=None)
        yield from zip(paths, map(_analyze, jobs))
        return
    yield from _pooled(jobs, workers, (checkpoints, thresholds))


def _pooled(jobs: list, workers: int, initargs) -> Iterator[tuple[str, Analysis | FileError]]:
    """Results in order from a process pool that keeps 2 x workers files in flight; when a worker
    dies, the files in flight get an error and a new pool carries on with the rest."""
    pool, in_flight, submitted = None, deque(), 0
    try:
        while submitted < len(jobs) or in_flight:
            if pool is None:
                pool = ProcessPoolExecutor(workers, initializer=_init, initargs=initargs)
            try:
                while submitted < len(jobs) and len(in_flight) < 2 * workers:
                    in_flight.append((jobs[submitted][0], pool.submit(_analyze, jobs[submitted])))
                    submitted += 1
                path, future = in_flight[0]
                result = future.result()
            except BrokenProcessPool:
                for path, future in in_flight:  # finished before the break: keep; the rest: lost
                    ok = future.done() and not future.cancelled() and future.exception() is None
                    yield path, future.result() if ok else lost_worker_error(path)
                in_flight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
                continue
            in_flight.popleft()
            yield path, result
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
