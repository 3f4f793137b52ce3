"""What the bench scripts share: a median timing and writing their JSON result."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path


def median_time(fn, repeats: int) -> float:
    """Median wall time of `repeats` calls of fn(), after one warm-up call (first calls compile and allocate)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_result(path: Path, result: dict) -> dict:
    """Write `result` as JSON to `path` (bench/results/…) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return result
