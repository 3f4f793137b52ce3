"""What the bench scripts share: a median timing, the machine's description, artist-grouped folds
with their mean ± sd, and writing their JSON result."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np


def timings(fn, repeats: int) -> list[float]:
    """Wall times of `repeats` calls of fn(), after one warm-up call (first calls compile and allocate)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_time(fn, repeats: int) -> float:
    """Median wall time of `repeats` calls of fn(), after one warm-up call."""
    return statistics.median(timings(fn, repeats))


def spread(values) -> dict:
    """{"median", "min", "max"} of a figure's values, rounded to the millisecond."""
    values = list(values)
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def timed_analyses(predictor, song, repeats: int) -> list[dict]:
    """`repeats` analyses of `song`: wall and CPU seconds of each, and the cores other processes used
    meanwhile (io.threads.Load), as bench/thread_choice.py and bench/under_load.py time a song."""
    from emotionet.io import threads

    runs = []
    for _ in range(repeats):
        meter = threads.Load()
        wall, cpu = time.perf_counter(), time.process_time()
        predictor.analyze(song)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        runs.append({"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "others_cores": round(meter.others(), 2)})
    return runs


def median_times(fns: dict, repeats: int) -> dict:
    """{name: median wall time} of the callables in `fns`, one call of each in turn per repeat
    (after a warm-up call of each), so that the machine's drifts hit every variant alike."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def write_result(path: Path, result: dict) -> dict:
    """Write `result` as JSON to `path` (bench/results/…) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return result


def machine(**extra) -> dict:
    """What a figure was measured on (plus `extra`, e.g. the load average)."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "processor": platform.machine(), **extra}


def artist_folds(classes, artists, n_folds: int = 5, seed: int = 0) -> list:
    """[(train, test)] index arrays: folds stratified by quadrant with no artist on both sides
    (the folds of bench/cnn_cv.py and of the CNN recipes in docs/research.md)."""
    from sklearn.model_selection import StratifiedGroupKFold

    split = StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed)
    return list(split.split(np.zeros(len(classes)), classes, artists))


def fold_summary(folds: list[dict]) -> dict:
    """{model: {metric: {"mean", "sd"}}} over per-fold {model: {metric: value}} dicts."""
    return {
        name: {
            k: {"mean": float(np.mean([f[name][k] for f in folds])), "sd": float(np.std([f[name][k] for f in folds]))}
            for k in folds[0][name]
        }
        for name in folds[0]
    }
