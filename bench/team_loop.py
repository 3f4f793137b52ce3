"""What to rate next, measured: ratings a team spends until its set holds 4 tracks of every mood
with 3 ratings each, in the suggested order against a random order (the simulation of
tests/test_suggest.py: 80 tracks, mostly happy as most music is, four raters taking turns, models
that guess a track's mood right 70% of the time). Prints the figures and writes
bench/results/team_loop.json.

    .venv/bin/python bench/team_loop.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from tests.test_suggest import simulate  # noqa: E402  (the tested simulation, not a copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    started = time.time()
    runs = {order: [simulate(order, seed) for seed in range(args.seeds)] for order in ("suggested", "random")}
    out = {
        "seeds": args.seeds,
        "target": "4 tracks per mood, 3 ratings each (at least 48 ratings)",
        "runs": runs,
        "median": {k: float(np.median(v)) for k, v in runs.items()},
        "ratio_of_medians": float(np.median(runs["suggested"]) / np.median(runs["random"])),
        "seconds": round(time.time() - started, 1),
    }
    for order, values in runs.items():
        print(f"{order:10s} median {np.median(values):5.0f} ratings (min {min(values)}, max {max(values)})")
    print(f"suggested / random: {out['ratio_of_medians']:.2f}")
    (ROOT / "bench" / "results" / "team_loop.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
