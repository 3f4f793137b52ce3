"""Many files at once: analysis spread over worker processes, results in input order.

Each worker loads the models once and uses one torch thread, so two workers keep two cores
busy. A file that cannot be analysed yields its error message; the batch goes on.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Iterable, Iterator

import torch

from .audio import EXCERPT_SECONDS, AudioError
from .predict import Analysis, Predictor

_worker: Predictor | None = None


def _init(checkpoints, thresholds, threads: int | None = 1) -> None:
    global _worker
    if threads:  # torch and numpy's BLAS both: two workers must not put four threads on two cores
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(threads)
        threadpool_limits(threads)
    _worker = Predictor.load(checkpoints, thresholds)


def _analyze(job) -> Analysis | str:
    path, seconds = job
    try:
        analysis = _worker.analyze(path, name=str(path), seconds=seconds)
    except AudioError as error:
        return str(error)
    except Exception as error:  # an unexpected failure on one file must not end the batch
        return f"Could not analyse {os.path.basename(str(path))}: {type(error).__name__}: {error}"
    analysis.features = {}  # not needed by batch users; keeps inter-process traffic small
    return analysis


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def analyze_files(paths: Iterable, checkpoints=None, thresholds=(0.5, 0.5), workers: int | None = None,
                  seconds: float | None = EXCERPT_SECONDS) -> Iterator[tuple[str, Analysis | str]]:  # fmt: skip
    """Yield (path, Analysis or error message) for each path, in order."""
    paths = [str(p) for p in paths]
    jobs = [(p, seconds) for p in paths]
    workers = default_workers() if workers is None else workers
    if workers <= 1 or len(paths) <= 1:
        _init(checkpoints, thresholds, threads=None)
        yield from zip(paths, map(_analyze, jobs))
        return
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(checkpoints, thresholds)) as pool:
        yield from zip(paths, pool.map(_analyze, jobs))
