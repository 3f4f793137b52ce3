"""Distilling the headline model into the report's CNN: artist-grouped 5-fold CV (issue 9).

    .venv/bin/python bench/cnn_distill.py [--weights 0 0.5 1.0] [--folds 5]

The CNN keeps the report's architecture (two conv + pool blocks, three dense layers); only its
regression targets change (bench/distill.py says how the teacher, the headline's 4Q head,
is built: on the training fold only, out-of-fold for each training clip, per 10 s crop). Per fold
(the folds of bench/cnn_cv.py: same splitter and seed), train_cnn runs with target
(1 - w) x label + w x teacher for each --weights w (0 is the plain recipe, as bench/cnn_cv.py),
scored as bench/cnn_cv.py scores it.
`--masking` trains every CNN with `bench.train_recipes.Experimental` masking (per crop, one random time span of up to
15% and one feature row set to the mean: SpecAugment-style), `--weight-average D` with
Experimental.weight_average (an exponential moving average of the weights, decay D per step, is what
early stopping validates and keeps), `--transpose` with Experimental.transpose (each crop's chroma rows
rolled by a random number of semitones: a key change), `--mixup A` with Experimental.mixup, `--seeds`
trains one CNN per seed and also scores their ensemble, `--out` names the JSON.
Also reported, with no weight fitted on the folds: the teacher alone, and the equal-weight mean
of teacher and student (calibrated values), as a hint of what an ensemble would give.
Writes bench/results/cnn_distill.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import artist_folds, fold_summary, write_result  # noqa: E402
from emotionet import features  # noqa: E402
from emotionet.metrics import evaluate_predictions  # noqa: E402
from emotionet.models import CNNConfig, pretrained  # noqa: E402
from emotionet.mood import Calibration  # noqa: E402
from bench.distill import crop_teacher  # noqa: E402
from bench.train_recipes import Experimental  # noqa: E402
from emotionet.training import TrainConfig, dataset, train_cnn, window_predictions  # noqa: E402

OUT = ROOT / "bench" / "results" / "cnn_distill.json"


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=ROOT.parent / "shared" / "data" / "4q" / "labels.csv")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache")
    parser.add_argument("--masking", action="store_true", help="train with Experimental.masking (SpecAugment-style)")
    parser.add_argument(
        "--weight-average",
        type=float,
        default=0.0,
        help="train with Experimental.weight_average: an exponential moving average of the "
        "weights with this decay per step is validated and kept",
    )
    parser.add_argument("--transpose", action="store_true", help="train with Experimental.transpose (chroma rolled)")
    parser.add_argument("--mixup", type=float, default=0.0, help="train with Experimental.mixup (Beta alpha)")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="TrainConfig.seed of each CNN trained per weight and fold (initialisation and draws; the "
        "folds stay those of seed 0); with several, each is scored (cnn_w<w>_s<seed>) and so is "
        "their ensemble (cnn_w<w>: the mean of their raw outputs, then calibrated)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.time()
    cfg = TrainConfig()
    options = dict(masking=args.masking, weight_average=args.weight_average, transpose=args.transpose, mixup=args.mixup)
    tracks, feats, _ = dataset.load_features(dataset.read_manifest(args.manifest), args.cache / "features", cfg.workers)
    kept, parts, _ = dataset.extract_parts(tracks, args.cache / "embeddings", cfg.workers)
    assert len(kept) == len(tracks)
    per_patch = [pretrained.select(p) for p in parts]
    starts = [p["patch_starts_s"] for p in parts]
    x_clip = np.stack([p.mean(0) for p in per_patch])
    targets = np.array([[t.valence, t.arousal] for t in tracks])
    classes = np.array([t.quadrant for t in tracks])
    artists = np.array([t.artist for t in tracks])
    folds = []
    for fold, (tr, va) in enumerate(artist_folds(classes, artists, args.folds, 0)):
        normalizer = features.Normalizer.fit([feats[i] for i in tr])
        stacks = [normalizer.stack(f) for f in feats]
        part = lambda idx: ([stacks[i] for i in idx], targets[idx], classes[idx])  # noqa: E731
        teacher = (
            crop_teacher(per_patch, starts, targets, classes, artists, tr, cfg.crop_seconds, 0)
            if any(w > 0 for w in args.weights)
            else None
        )  # --weights 0: no teacher to build
        train_part = part(tr)
        calibrated = {}
        head = pretrained.PretrainedMood().fit(x_clip[tr], targets[tr], classes[tr])
        raw = head.predict_raw(x_clip[va])
        calibrated["teacher"] = Calibration.fit(raw, targets[va]).apply(raw)
        for w in args.weights:
            members = []
            for seed in args.seeds:
                model, history = train_cnn(
                    CNNConfig(),
                    train_part,
                    part(va),
                    replace(cfg, seed=seed),
                    f"fold {fold} w {w} seed {seed}",
                    Experimental(**options, teacher=teacher if w > 0 else None, teacher_weight=w),
                )
                members.append(window_predictions(model, part(va)[0], cfg))
                if len(args.seeds) > 1:
                    calibrated[f"cnn_w{w:g}_s{seed}"] = Calibration.fit(members[-1], targets[va]).apply(members[-1])
            raw = np.mean(members, 0)
            calibrated[f"cnn_w{w:g}"] = Calibration.fit(raw, targets[va]).apply(raw)
            calibrated[f"mean_teacher_cnn_w{w:g}"] = (calibrated[f"cnn_w{w:g}"] + calibrated["teacher"]) / 2
        scores = {}
        for name, values in calibrated.items():
            m = evaluate_predictions(values, targets[va], classes[va])
            scores[name] = {k: m[k] for k in ("accuracy", "macro_f1", "r2_valence", "r2_arousal")}
        folds.append(scores)
        print(json.dumps({"fold": fold, **{n: round(s["accuracy"], 3) for n, s in scores.items()}}), flush=True)
    return write_result(
        args.out,
        {
            "n_tracks": len(tracks),
            "folds": args.folds,
            "weights": args.weights,
            "masking": args.masking,
            "weight_average": args.weight_average,
            "transpose": args.transpose,
            "mixup": args.mixup,
            "seeds": args.seeds,
            "summary": fold_summary(folds),
            "per_fold": folds,
            "minutes": round((time.time() - started) / 60, 1),
        },
    )


if __name__ == "__main__":
    main()
