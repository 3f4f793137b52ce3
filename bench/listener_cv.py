"""Artist-grouped cross-validation of the headline model on listener ratings (issue 9).

    .venv/bin/python bench/listener_cv.py [--seeds 0 1 2]

Both sources: ../shared/data/4q (748 clips, tag-derived labels) and ../shared/data/musifeast
(176 clips, listener means). Per seed, 5 artist-grouped folds of each source run side by side:
fold k trains on the other folds of both sources and predicts fold k of both. Compared:
  4q_only        the 4Q model (two logistic regressions on musicnn embeddings), as shipped before
  listener_only  ridge on the listener clips alone (the brief's r = 0.6 baseline)
  two_source     the shipped listener head (emotionet.listener.head): 4Q and listener heads on a shared
                 map, with the valence cues (emotionet.listener.cues)
  two_source_no_cues  the same without the cues
Reported per source: valence and arousal Pearson r and CCC, MAE (listener set: after the affine
calibration fitted on the training folds' predictions), and for 4Q the quadrant accuracy of the
4Q model (the headline's 4Q head). Embeddings and features are read from .cache (train.py fills it).
Writes bench/results/listener_cv.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotionet.listener import ListenerHead  # noqa: E402
from emotionet.listener.cues import clip_cues  # noqa: E402
from emotionet.metrics import agreement_metrics  # noqa: E402
from emotionet.models import pretrained  # noqa: E402
from emotionet.mood import Calibration, mood_index  # noqa: E402
from emotionet.training import dataset  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "results" / "listener_cv.json"


def load(manifest, cache):
    tracks = dataset.read_manifest(manifest)
    tracks, feats, _ = dataset.load_features(tracks, cache / "features", 2)
    kept, x, _ = dataset.extract_embeddings(tracks, cache / "embeddings", 2)
    assert len(kept) == len(tracks)
    y = np.array([[t.valence, t.arousal] for t in tracks])
    return tracks, x, np.stack([clip_cues(f) for f in feats]), y


def folds(tracks, seed):
    from sklearn.model_selection import StratifiedGroupKFold

    split = StratifiedGroupKFold(5, shuffle=True, random_state=seed)
    return list(split.split(np.zeros(len(tracks)), [t.quadrant for t in tracks], [t.artist for t in tracks]))


def listener_only(x, y, alpha=1000.0):
    """Ridge on the listener clips alone (standardised embeddings, no cues)."""
    from sklearn.linear_model import Ridge

    mean, std = x.mean(0), np.maximum(x.std(0), 1e-6)
    fit = Ridge(alpha=alpha).fit((x - mean) / std, y)
    return lambda xs, _cues: fit.predict((xs - mean) / std)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache")
    args = parser.parse_args()
    started = time.time()
    a_tracks, xa, ca, ya = load(DATA / "4q" / "labels.csv", args.cache)
    l_tracks, xl, cl, yl = load(DATA / "musifeast" / "labels.csv", args.cache)
    qa = np.array([t.quadrant for t in a_tracks])
    methods = ("4q_only", "listener_only", "two_source_no_cues", "two_source")
    runs = {m: [] for m in methods}
    for seed in args.seeds:
        oof_l = {m: np.zeros_like(yl) for m in methods}
        oof_cal = {m: np.zeros_like(yl) for m in methods}
        quadrant_4q = np.zeros(len(ya), int)
        for (tra, tea), (trl, tel) in zip(folds(a_tracks, seed), folds(l_tracks, seed)):
            four = pretrained.PretrainedMood().fit(xa[tra], ya[tra], qa[tra])
            raw_4q = four.predict_raw(xa[tea])
            quadrant_4q[tea] = mood_index(raw_4q[:, 0], raw_4q[:, 1])
            fits = {
                "4q_only": lambda x, c: four.predict_raw(x),
                "listener_only": listener_only(xl[trl], yl[trl]),
                "two_source_no_cues": ListenerHead(cue_weight=0)
                .fit(xa[tra], ca[tra], ya[tra], xl[trl], cl[trl], yl[trl])
                .predict_raw,
                "two_source": ListenerHead().fit(xa[tra], ca[tra], ya[tra], xl[trl], cl[trl], yl[trl]).predict_raw,
            }
            for m, predict in fits.items():
                oof_l[m][tel] = predict(xl[tel], cl[tel])
                cal = Calibration.fit_affine(predict(xl[trl], cl[trl]), yl[trl])
                oof_cal[m][tel] = cal.apply(oof_l[m][tel])
        for m in methods:
            scores = agreement_metrics(oof_l[m], yl)
            scores["ccc_valence_calibrated"], scores["ccc_arousal_calibrated"] = (
                agreement_metrics(oof_cal[m], yl)[k] for k in ("ccc_valence", "ccc_arousal")
            )
            scores["mae_valence"], scores["mae_arousal"] = np.abs(oof_cal[m] - yl).mean(0).tolist()
            scores["accuracy_4q"] = float((quadrant_4q == qa).mean())  # the headline's 4Q head
            runs[m].append(scores)
    summary = {
        m: {k: {"mean": float(np.mean([r[k] for r in rs])), "sd": float(np.std([r[k] for r in rs]))} for k in rs[0]}
        for m, rs in runs.items()
    }
    for m, s in summary.items():
        print(f"{m:20s} " + "  ".join(f"{k} {v['mean']:.3f}±{v['sd']:.3f}" for k, v in s.items()))
    result = {
        "seeds": args.seeds,
        "folds": 5,
        "n_4q": len(ya),
        "n_listener": len(yl),
        "summary": summary,
        "runs": runs,
        "seconds": round(time.time() - started, 1),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
