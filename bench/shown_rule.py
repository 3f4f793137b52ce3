"""Choose the shown answer's deciding rule robustly (issue 25), over many fold seeds, on both truths.

    .venv/bin/python bench/shown_rule.py [--seeds 0 1 2 3 4 5 6 7]

Candidates: the listener head's valence with its side of the mood centre decided by the 4Q head's
log-odds + d x the listener head (``JointHead(decide=d)``, d = 0.5 … 4, shipped d = 3), the plain
linear blend of issue 20 (w = 0.1 per axis) and the listener head alone (``decide None``, valence
weight 0). Each is judged by artist-grouped 5-fold CV on both sources for every fold seed
(`emotionet.models.joint.seed_scores`, what train.py reports for the shipped rule).

The rule (issue 25): a candidate must keep listener r (valence ≥ 0.65, arousal ≥ 0.88, means over
the seeds: the issue's floor); its score is the mean of its 4Q mood accuracy and its listener mood
accuracy (both truths together), per seed. A candidate replaces the shipped rule only when its
score beats the shipped one's by more than the spread of their paired per-seed differences (the
same folds for both, so the spread that matters is that of the difference); differences inside it
are ties, and a tie keeps what ships. Among several that do beat it, the highest mean score wins.
(A first version broke ties by the weaker truth's accuracy: that picked the listener head alone,
whose 4Q accuracy is 4 of its seed sds lower for a listener gain inside its spread, so ties now keep
the shipped rule. `--rechoose` applies the rule to the stored results without recomputing.)
Writes bench/results/shown_rule.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import artist_folds, write_result  # noqa: E402
from bench.shown_mood import load_sources  # noqa: E402
from emotionet.models.joint import SHIPPED_BLEND, SHIPPED_DECIDE, seed_scores, summarise_seeds  # noqa: E402
from emotionet.mood import mood_index  # noqa: E402

OUT = ROOT / "bench" / "results" / "shown_rule.json"
FLOOR = {"r_valence": 0.65, "r_arousal": 0.88}
CANDIDATES = {
    **{f"decide {d:g}": (SHIPPED_BLEND, d) for d in (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)},
    "linear 0.1": ((0.1, 0.1), None),
    "listener alone": (SHIPPED_BLEND, None),
}


RULE = (
    "keep listener r (means over seeds); score = mean(4Q mood accuracy, listener mood accuracy) per seed; "
    "replace the shipped rule only when the paired score difference's mean exceeds its spread over the seeds"
)


def report(summary: dict, verdict: dict, chosen: str, shipped: str) -> None:
    for name, s in summary.items():
        v = verdict[name]
        print(
            f"{name:15s} 4Q {s['accuracy_4q']['mean']:.3f}±{s['accuracy_4q']['sd']:.3f} "
            f"listener mood {s['accuracy_listener']['mean']:.3f}±{s['accuracy_listener']['sd']:.3f} "
            f"score {v['score']:.3f} ({v['over_shipped']:+.4f}±{v['over_shipped_sd']:.4f} over shipped) | "
            f"r v {s['r_valence']['mean']:.3f}±{s['r_valence']['sd']:.3f} a {s['r_arousal']['mean']:.3f} | close "
            f"{s['close_share_4q']['mean']:.2f}/{s['close_share_listener']['mean']:.2f}"
            f"{'' if v['keeps_listener_r'] else '  (below the r floor)'}{'  beats shipped' if v['beats_shipped'] else ''}"
        )
    print(f"chosen: {chosen} (shipped: {shipped})")


def scores_per_seed(s: dict) -> np.ndarray:
    """Both truths together: the mean of 4Q and listener mood accuracy, per fold seed."""
    return (np.array(s["accuracy_4q"]["per_seed"]) + np.array(s["accuracy_listener"]["per_seed"])) / 2


def choose(summary: dict, shipped: str) -> tuple[str, dict]:
    """The rule of the module's docstring: (the chosen candidate, each candidate's verdict)."""
    base = scores_per_seed(summary[shipped])
    verdict = {}
    for name, s in summary.items():
        score, diff = scores_per_seed(s), scores_per_seed(s) - base
        verdict[name] = {
            "score": round(float(score.mean()), 4),
            "score_sd": round(float(score.std()), 4),
            "over_shipped": round(float(diff.mean()), 4),
            "over_shipped_sd": round(float(diff.std()), 4),
            "keeps_listener_r": all(s[k]["mean"] >= floor for k, floor in FLOOR.items()),
        }
        verdict[name]["beats_shipped"] = bool(
            verdict[name]["keeps_listener_r"] and diff.mean() > diff.std() and name != shipped
        )
    better = [n for n, v in verdict.items() if v["beats_shipped"]]
    return (max(better, key=lambda n: verdict[n]["score"]) if better else shipped), verdict


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache")
    parser.add_argument("--rechoose", action="store_true", help="apply the rule to the stored results only")
    args = parser.parse_args()
    if args.rechoose:
        import json

        result = json.loads(OUT.read_text())
        result["chosen"], result["verdict"] = choose(result["summary"], result["shipped"])
        result["rule"] = RULE
        report(result["summary"], result["verdict"], result["chosen"], result["shipped"])
        return write_result(OUT, result)
    started = time.time()
    (xa, ca, ya, qa, a_artists), (xl, cl, yl, l_artists) = load_sources(args.cache)
    runs = {name: [] for name in CANDIDATES}
    for seed in args.seeds:
        folds_4q = artist_folds(qa, a_artists, seed=seed)
        folds_l = artist_folds(mood_index(yl[:, 0], yl[:, 1]), l_artists, seed=seed)
        for name, (blend, decide) in CANDIDATES.items():
            runs[name].append(seed_scores(xa, ca, ya, qa, xl, cl, yl, folds_4q, folds_l, blend, decide))
        print(f"seed {seed} done ({time.time() - started:.0f} s)", flush=True)
    summary = {name: summarise_seeds(r) for name, r in runs.items()}
    shipped = f"decide {SHIPPED_DECIDE:g}"
    chosen, verdict = choose(summary, shipped)
    report(summary, verdict, chosen, shipped)
    result = {
        "seeds": args.seeds,
        "floor": FLOOR,
        "rule": RULE,
        "shipped": shipped,
        "chosen": chosen,
        "verdict": verdict,
        "summary": summary,
        "seconds": round(time.time() - started, 1),
    }
    return write_result(OUT, result)


if __name__ == "__main__":
    main()
