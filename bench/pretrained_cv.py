"""Artist-grouped cross-validation of the musicnn-embedding mood models (issue 6).

    .venv/bin/python bench/pretrained_cv.py [--manifest ../shared/data/4q/labels.csv] [--quick] [--with-pool]

Embeddings are cached under .cache/embeddings. For each embedding recipe and scheme (see
emotionet.models.pretrained.PretrainedMood) it runs nested CV: outer 5-fold StratifiedGroupKFold by
artist (seed 0); inside each outer training fold a 4-fold grouped CV picks the regulariser from
the fixed grid and gives out-of-fold predictions on which the median Calibration is fitted (as
train.py fits it on held-out predictions); the outer fold is then scored after calibration.
Reported: quadrant accuracy, macro-F1, R² valence/arousal (mean ± sd over folds), accuracy at the
raw 0.5 thresholds, and for the quadrant scheme how often the point's quadrant equals the argmax.
Then the shipped recipe (pretrained.PARTS, SCHEME): nested CV repeated over 3 fold seeds, its
result on train.py's split (dataset.artist_split(tracks, 0.2, 0), calibrated on the validation
part as train.py does), and the end-to-end time of a 45 s clip (decode + embed + predict with the
timeline, median of several runs).
Writes bench/results/pretrained_cv.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from emotionet.io import audio  # noqa: E402
from emotionet.metrics import evaluate_predictions  # noqa: E402
from emotionet.models import pretrained as pt  # noqa: E402
from emotionet.mood import Calibration, mood_index  # noqa: E402
from emotionet.training import dataset  # noqa: E402

OUT = os.path.join(ROOT, "bench", "results", "pretrained_cv.json")
SEED = 0
OUTER, INNER = 5, 4
RECIPES = {  # name -> embedding parts per backbone
    "penultimate": ("penultimate",),
    "penultimate+tags": ("penultimate", "tags"),
    "pool": ("pool",),
}
SCHEMES = ("axes", "quadrant", "ridge")


def grid(scheme):
    return [("alpha", a) for a in pt.ALPHA_GRID] if scheme == "ridge" else [("C", c) for c in pt.C_GRID]


def make(scheme, param, parts):
    name, value = param
    return pt.PretrainedMood(scheme, part_names=parts, **{name: value})


def splits(classes, groups, n, seed=SEED):
    from sklearn.model_selection import StratifiedGroupKFold

    return list(StratifiedGroupKFold(n, shuffle=True, random_state=seed).split(np.zeros(len(classes)), classes, groups))


def oof_raw(x, y, c, g, scheme, param, parts):
    """Out-of-fold raw predictions over an inner grouped CV."""
    raw = np.zeros((len(x), 2))
    for tr, te in splits(c, g, INNER):
        raw[te] = make(scheme, param, parts).fit(x[tr], y[tr], c[tr]).predict_raw(x[te])
    return raw


def select_and_fit(x, y, c, g, scheme, parts):
    """Pick the grid value with the best inner-CV calibrated accuracy; fit on all; calibrate on OOF."""
    best = None
    for param in grid(scheme):
        raw = oof_raw(x, y, c, g, scheme, param, parts)
        cal = Calibration.fit(raw, y)
        acc = float((mood_index(*cal.apply(raw).T) == c).mean())
        if best is None or acc > best[0]:
            best = (acc, param, cal)
    _, param, cal = best
    return make(scheme, param, parts).fit(x, y, c), cal, param


def score(model, cal, x, y, c):
    raw = model.predict_raw(x)
    s = evaluate_predictions(cal.apply(raw), y, c)
    out = {k: s[k] for k in ("accuracy", "macro_f1", "r2_valence", "r2_arousal")}
    out["accuracy_raw_0.5"] = float((mood_index(*raw.T) == c).mean())
    if model.scheme != "ridge":
        argmax = model.predict_proba(x).argmax(1)
        out["point_quadrant_equals_argmax"] = float((mood_index(*raw.T) == argmax).mean())
        out["accuracy_argmax"] = float((argmax == c).mean())
    return out, s["confusion"]


def summarise(folds):
    keys = folds[0].keys()
    return {
        k: {"mean": float(np.mean([f[k] for f in folds])), "sd": float(np.std([f[k] for f in folds]))} for k in keys
    }


def nested_cv(parts_list, y, c, g, scheme, parts):
    x = np.stack([pt.select(p, parts).mean(0) for p in parts_list])
    folds, params = [], []
    for tr, te in splits(c, g, OUTER):
        model, cal, param = select_and_fit(x[tr], y[tr], c[tr], g[tr], scheme, parts)
        folds.append(score(model, cal, x[te], y[te], c[te])[0])
        params.append(param[1])
    return {"folds": folds, "summary": summarise(folds), "chosen_params": params}


def time_end_to_end(model, repeats=5):
    """decode + embed + predict (analyze, with its timeline) of a 45 s clip written as WAV."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(int(45 * 44100)) / 44100
    y = 0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.1 * np.sin(t))) + 0.05 * rng.standard_normal(t.size)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip.wav")
        sf.write(path, np.stack([y, y], 1).astype(np.float32), 44100)
        backbones = pt.load_backbones()
        times = []
        for i in range(repeats + 1):
            start = time.perf_counter()
            clip = audio.load_clip(path)
            bounds = [
                (0.0, 10.0),
                (5.0, 15.0),
                (10.0, 20.0),
                (15.0, 25.0),
                (20.0, 30.0),
                (25.0, 35.0),
                (30.0, 40.0),
                (35.0, 45.0),
            ]  # the predictor's 10 s windows over 45 s
            pt.analyze(model, backbones, clip.samples, bounds)
            if i:  # first run is a warm-up
                times.append(time.perf_counter() - start)
    return {
        "median_s": float(np.median(times)),
        "min_s": float(np.min(times)),
        "runs": repeats,
        "loadavg": list(os.getloadavg()),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", default=os.path.join(ROOT, "..", "shared", "data", "4q", "labels.csv"))
    ap.add_argument("--cache", default=os.path.join(ROOT, ".cache", "embeddings"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="the shipped recipe only")
    ap.add_argument("--with-pool", action="store_true", help="also the 1506-d pooled features (slow: ~6 min)")
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args(argv)

    tracks = dataset.read_manifest(args.manifest)
    kept, parts_list, problems = dataset.extract_parts(tracks, args.cache, args.workers)
    if problems:
        print(f"skipped {len(problems)} unreadable: {list(problems)[:3]}")
    y = np.array([[t.valence, t.arousal] for t in kept])
    c = np.array([t.quadrant for t in kept])
    g = np.array([t.artist for t in kept])

    results = {
        "n_tracks": len(kept),
        "n_artists": len(set(g)),
        "outer_folds": OUTER,
        "inner_folds": INNER,
        "seed": SEED,
        "c_grid": list(pt.C_GRID),
        "alpha_grid": list(pt.ALPHA_GRID),
        "cv": {},
    }
    recipes = dict(RECIPES) if args.with_pool else {k: v for k, v in RECIPES.items() if k != "pool"}
    if args.quick:
        recipes = {k: v for k, v in RECIPES.items() if v == tuple(pt.PARTS)}
    for rname, parts in recipes.items():
        for scheme in SCHEMES:
            t0 = time.time()
            res = nested_cv(parts_list, y, c, g, scheme, parts)
            results["cv"][f"{rname}/{scheme}"] = res
            s = res["summary"]
            print(
                f"{rname:18s} {scheme:8s} acc {s['accuracy']['mean']:.3f}±{s['accuracy']['sd']:.3f} "
                f"F1 {s['macro_f1']['mean']:.3f}±{s['macro_f1']['sd']:.3f} "
                f"R2v {s['r2_valence']['mean']:.3f} R2a {s['r2_arousal']['mean']:.3f} "
                f"raw@.5 {s['accuracy_raw_0.5']['mean']:.3f} params {res['chosen_params']} "
                f"({time.time() - t0:.0f}s)",
                flush=True,
            )

    # the shipped recipe (pretrained.PARTS / SCHEME), nested CV repeated with other fold seeds
    parts, scheme = pt.PARTS, pt.SCHEME
    repeats = []
    for seed in (0, 1, 2):
        folds = []
        x = np.stack([pt.select(p, parts).mean(0) for p in parts_list])
        for tr, te in splits(c, g, OUTER, seed):
            model, cal, _ = select_and_fit(x[tr], y[tr], c[tr], g[tr], scheme, parts)
            folds.append(score(model, cal, x[te], y[te], c[te])[0])
        repeats.extend(folds)
    results["shipped_nested_cv_3x5"] = {"recipe": list(parts), "scheme": scheme, "summary": summarise(repeats)}
    s = results["shipped_nested_cv_3x5"]["summary"]
    print(
        f"shipped, 3 x 5-fold nested: acc {s['accuracy']['mean']:.3f}±{s['accuracy']['sd']:.3f} "
        f"F1 {s['macro_f1']['mean']:.3f}±{s['macro_f1']['sd']:.3f} "
        f"R2v {s['r2_valence']['mean']:.3f}±{s['r2_valence']['sd']:.3f} "
        f"R2a {s['r2_arousal']['mean']:.3f}±{s['r2_arousal']['sd']:.3f}"
    )

    # ... and on train.py's split: regulariser picked by grouped CV on the training part
    tr, va = (np.array(i) for i in dataset.artist_split(kept, 0.2, 0))
    x = np.stack([pt.select(p, parts).mean(0) for p in parts_list])
    model, _, param = select_and_fit(x[tr], y[tr], c[tr], g[tr], scheme, parts)
    cal = Calibration.fit(model.predict_raw(x[va]), y[va])  # as train.py: calibrated on validation
    split_scores, confusion = score(model, cal, x[va], y[va], c[va])
    results["artist_split_0.2_seed0"] = {
        "recipe": list(parts),
        "scheme": scheme,
        "param": param,
        "n_train": len(tr),
        "n_validation": len(va),
        **split_scores,
        "confusion": confusion,
    }
    print("artist_split(0.2, 0):", json.dumps(results["artist_split_0.2_seed0"]))
    if not args.no_timing:
        results["end_to_end_45s"] = time_end_to_end(model)
        print("45 s clip end to end:", results["end_to_end_45s"])
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(results, f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
