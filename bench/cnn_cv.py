"""Artist-grouped 5-fold cross-validation of the report's CNN and SVR recipes (no pass/fail).

    .venv/bin/python bench/cnn_cv.py [--manifest ../shared/data/4q/labels.csv] [--folds 5]

train.py scores the models on one artist-disjoint split of 150 clips (a standard error of about
four points); this repeats the same recipe (same TrainConfig, same calibration on the held-out
fold) over five artist-disjoint folds, so the figures say what to expect on artists never seen.
Prints the per-fold and mean figures and writes bench/results/cnn_cv.json.
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

from bench.common import artist_folds, fold_summary  # noqa: E402
from emotionet import features  # noqa: E402
from emotionet.metrics import evaluate_predictions  # noqa: E402
from emotionet.models import CNNConfig, SVRBaseline  # noqa: E402
from emotionet.mood import Calibration  # noqa: E402
from emotionet.training import SVR_VARIANTS, TrainConfig, dataset, train_cnn, window_predictions  # noqa: E402

OUT = ROOT / "bench" / "results" / "cnn_cv.json"


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=ROOT.parent / "shared" / "data" / "4q" / "labels.csv")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "features")
    args = parser.parse_args()
    started = time.time()
    cfg = TrainConfig()
    tracks, feats, _ = dataset.load_features(dataset.read_manifest(args.manifest), args.cache, cfg.workers)
    targets = np.array([[t.valence, t.arousal] for t in tracks])
    classes = np.array([t.quadrant for t in tracks])
    folds = []
    for fold, (tr, va) in enumerate(artist_folds(classes, [t.artist for t in tracks], args.folds, cfg.seed)):
        normalizer = features.Normalizer.fit([feats[i] for i in tr])
        stacks = [normalizer.stack(f) for f in feats]
        part = lambda idx: ([stacks[i] for i in idx], targets[idx], classes[idx])  # noqa: E731
        raw = {}
        for name, config in {"cnn": CNNConfig(), "crnn": CNNConfig(recurrent=True)}.items():
            model, _ = train_cnn(config, part(tr), part(va), cfg, f"fold {fold} {name}")
            raw[name] = window_predictions(model, part(va)[0], cfg)
        for name, (names, rows) in SVR_VARIANTS.items():
            svr = SVRBaseline(names, rows)
            x = np.stack([svr.inputs(f) for f in feats])
            raw[name] = svr.fit(x[tr], targets[tr]).predict(x[va])
        scores = {}
        for name, values in raw.items():
            m = evaluate_predictions(Calibration.fit(values, targets[va]).apply(values), targets[va], classes[va])
            scores[name] = {k: m[k] for k in ("accuracy", "macro_f1", "mse", "mae", "r2_valence", "r2_arousal")}
        folds.append(scores)
        print(json.dumps({"fold": fold, **{n: round(s["accuracy"], 3) for n, s in scores.items()}}), flush=True)
    summary = fold_summary(folds)
    report = {
        "n_tracks": len(tracks),
        "folds": args.folds,
        "per_fold": folds,
        "summary": summary,
        "minutes": round((time.time() - started) / 60, 1),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1))
    for name, s in summary.items():
        print(
            f"{name:8s} accuracy {s['accuracy']['mean']:.3f} ± {s['accuracy']['sd']:.3f}  "
            f"macro-F1 {s['macro_f1']['mean']:.3f}  R² v {s['r2_valence']['mean']:.2f} a {s['r2_arousal']['mean']:.2f}"
        )
    return report


if __name__ == "__main__":
    main()
