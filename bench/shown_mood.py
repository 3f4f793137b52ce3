"""What the app shows, judged on both kinds of truth at once (issue 20).

    .venv/bin/python bench/shown_mood.py [--seeds 0 1 2]

Per seed, 5 artist-grouped folds of each source run side by side (fold k of 4Q and fold k of the
listener set are predicted by heads trained on the other folds of both). For every blend of the
headline's two heads (``emotionet.models.joint``: per axis, w = 0 the listener head, w = 1 the 4Q
head) the training folds fix everything the app would: the calibration onto the listener scale
(listener clips) and the mood centre (the shown point of the median 4Q training clip). The test
folds are then judged exactly as a user sees them:
  4Q         quadrant accuracy and macro-F1 of the shown mood; how often each mood is said
  listener   valence/arousal r and CCC, MAE; mood accuracy of the shown mood against the listeners'
             quadrant around the same mood centre (what the word means in the app: "sadder than
             typical") and, for comparison, around the scale's midpoint; how often each mood is said
"midpoint" rows name the mood at (0.5, 0.5) instead of the mood centre: what v1 showed.
The shipped blend is chosen by a rule: among blends whose listener r stays at or above the issue's
floor (valence 0.65, arousal 0.88), the highest 4Q accuracy (mean over seeds); blends within TIE
(about one seed-sd) of it are ties, won by the higher listener r.
Embeddings and features come from .cache (train.py or bench/listener_cv.py fills it).
Writes bench/results/shown_mood.json.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import artist_folds, write_result  # noqa: E402
from bench.listener_cv import DATA, load  # noqa: E402
from emotionet.listener import judge  # noqa: E402
from emotionet.models.joint import cross_validate  # noqa: E402
from emotionet.mood import mood_index  # noqa: E402

OUT = ROOT / "bench" / "results" / "shown_mood.json"
GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
FLOOR = {"r_valence": 0.65, "r_arousal": 0.88}
TIE = 0.005  # 4Q accuracy: about one seed-sd


def scores(shown_4q, q4q, centres_4q, shown_l, y_l, centres_l, confidence=None) -> dict:
    """Everything a user would see, scored (emotionet.listener.judge): 4Q keys end in _4q."""
    four = judge.score_4q(shown_4q, q4q, centres_4q)
    listener = judge.score_listeners(shown_l, y_l, centres_l, confidence)
    out = {
        "accuracy_4q": four["accuracy"],
        "macro_f1_4q": four["macro_f1"],
        "said_4q": four["said"],
        "confusion_4q": four["confusion"],
    }
    keys = (
        "r_valence",
        "r_arousal",
        "ccc_valence",
        "ccc_arousal",
        "mae_valence",
        "mae_arousal",
        "accuracy",
        "accuracy_midpoint",
        "macro_f1",
        "said",
        "ece",
    )
    return {
        **out,
        **{
            f"{k}_listener" if not k.startswith(("r_", "ccc_", "mae_")) else k: listener[k]
            for k in keys
            if k in listener
        },
    }


def load_sources(cache: Path) -> tuple:
    """4Q as (embeddings, cues, valence/arousal, quadrants, artists) and the listener set as
    (embeddings, cues, valence/arousal, artists), from the training caches."""
    a_tracks, xa, ca, ya = load(DATA / "4q" / "labels.csv", cache)
    l_tracks, xl, cl, yl = load(DATA / "musifeast" / "labels.csv", cache)
    a = (xa, ca, ya, np.array([t.quadrant for t in a_tracks]), [t.artist for t in a_tracks])
    return a, (xl, cl, yl, [t.artist for t in l_tracks])


def run_seed(seed, a, listener) -> dict:
    (xa, ca, ya, qa, a_artists), (xl, cl, yl, l_artists) = a, listener
    blends = list(itertools.product(GRID, GRID))
    folds_4q = artist_folds(qa, a_artists, seed=seed)
    folds_l = artist_folds(mood_index(yl[:, 0], yl[:, 1]), l_artists, seed=seed)
    cv = cross_validate(xa, ca, ya, qa, xl, cl, yl, folds_4q, folds_l, blends)
    out = {}
    for b in blends:
        name = f"v{b[0]:g}_a{b[1]:g}"
        (shown_a, centres_a), (shown_l, centres_l, confidence) = cv[b]["4q"], cv[b]["listener"]
        out[name] = scores(shown_a, qa, centres_a, shown_l, yl, centres_l, confidence)
        if b in ((0.0, 0.0), (1.0, 1.0)):  # v1's naming: the mood at the scale's midpoint
            out[f"{name}_midpoint"] = scores(shown_a, qa, (0.5, 0.5), shown_l, yl, (0.5, 0.5))
    return out


def summarise(runs: list[dict]) -> dict:
    summary = {}
    for name in runs[0]:
        rows = [r[name] for r in runs]
        summary[name] = {
            k: (
                {"mean": float(np.mean([r[k] for r in rows])), "sd": float(np.std([r[k] for r in rows]))}
                if isinstance(rows[0][k], float)
                else np.mean([r[k] for r in rows], axis=0).tolist()
            )
            for k in rows[0]
        }
    return summary


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache")
    args = parser.parse_args()
    started = time.time()
    a, listener = load_sources(args.cache)
    runs = [run_seed(seed, a, listener) for seed in args.seeds]
    summary = summarise(runs)
    allowed = [
        n
        for n, s in summary.items()
        if not n.endswith("_midpoint") and all(s[k]["mean"] >= floor for k, floor in FLOOR.items())
    ]
    chosen = None
    if allowed:  # the best 4Q accuracy; blends within TIE of it are ties, won by the higher listener r (sum)
        best = max(summary[n]["accuracy_4q"]["mean"] for n in allowed)
        tied = [n for n in allowed if summary[n]["accuracy_4q"]["mean"] >= best - TIE]
        chosen = max(tied, key=lambda n: summary[n]["r_valence"]["mean"] + summary[n]["r_arousal"]["mean"])
    for name, s in summary.items():
        print(
            f"{name:22s} 4Q acc {s['accuracy_4q']['mean']:.3f}±{s['accuracy_4q']['sd']:.3f} "
            f"F1 {s['macro_f1_4q']['mean']:.3f} said {np.round(s['said_4q']).astype(int).tolist()} | "
            f"listener r v {s['r_valence']['mean']:.3f} a {s['r_arousal']['mean']:.3f} "
            f"ccc v {s['ccc_valence']['mean']:.3f} a {s['ccc_arousal']['mean']:.3f} "
            f"mood acc {s['accuracy_listener']['mean']:.3f} (midpoint {s['accuracy_midpoint_listener']['mean']:.3f}) said {np.round(s['said_listener']).astype(int).tolist()}"
        )
    print("chosen:", chosen)
    return write_result(
        OUT,
        {
            "seeds": args.seeds,
            "folds": 5,
            "n_4q": len(a[2]),
            "n_listener": len(listener[2]),
            "grid": GRID,
            "floor": FLOOR,
            "chosen": chosen,
            "summary": summary,
            "seconds": round(time.time() - started, 1),
        },
    )


if __name__ == "__main__":
    main()
