"""Audio augmentation for the headline model's 4Q head: does training on altered copies help? (issue 9)

    .venv/bin/python bench/augment_4q.py [--variants shift up1 down1] [--seeds 0 1 2] [--workers 2]

Each 4Q clip (../shared/data/4q, 748) is embedded again, as the shipped model embeds it (both musicnn
backbones, float32, per 3 s patch), in altered versions that should keep its mood:
  shift   the clip from 1.5 s on: every patch boundary moves by half a patch (musicnn's patches do
          not overlap), so each patch sees other audio; nothing else changes
  up1     played 2^(1/12) faster: one semitone higher and 5.9% quicker (a resampled "speed" change)
  down1   played 2^(1/12) slower: a semitone lower, 5.6% slower
The altered embeddings are cached under .cache/augment/<variant>/ (the originals come from
.cache/embeddings, which train.py fills).

Artist-grouped 5-fold CV, the folds of bench/listener_cv.py (`folds(tracks, seed)`) for each seed,
scored as bench/levers_4q.py scores (4Q accuracy and macro-F1 of the out-of-fold quadrants):
  shipped       PretrainedMood as shipped, on the original clips
  train_<v>     the same head trained on the training clips' originals and their <v> copies (each
                copy a row with its clip's labels), tested on the originals
  train_all     trained on the originals and every variant's copies
  tta_all       train_all, each test clip scored as the mean of its raw points over the original
                and every variant (test-time augmentation: costs the app one analysis per variant)
Writes bench/results/augment_4q.json.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_result  # noqa: E402
from bench.levers_4q import load, reported, score  # noqa: E402
from bench.listener_cv import folds  # noqa: E402
from emotionet.io import audio  # noqa: E402
from emotionet.models import pretrained  # noqa: E402
from emotionet.training import dataset  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "results" / "augment_4q.json"
SPEED = {"shift": 1.0, "up1": 2 ** (1 / 12), "down1": 2 ** (-1 / 12)}
SHIFT_SECONDS = 1.5  # half of musicnn's 3 s patch


def altered(y: np.ndarray, variant: str) -> np.ndarray:
    """The clip (mono, 22.05 kHz) in its `variant` version."""
    if variant == "shift":
        return y[round(SHIFT_SECONDS * audio.SAMPLE_RATE) :]
    import soxr

    # read as if sampled at SAMPLE_RATE x speed, resampled to SAMPLE_RATE: fewer samples, higher pitch
    return soxr.resample(y, audio.SAMPLE_RATE * SPEED[variant], audio.SAMPLE_RATE, quality="HQ").astype(np.float32)


def _variant_parts(variant: str, path: Path) -> dict[str, np.ndarray]:
    backbones = pretrained.load_backbones(pretrained.TRAINING_PRECISION)
    y = audio.load_clip(path, seconds=None).samples
    parts, starts = pretrained.embed_parts(backbones, altered(y, variant))
    return {**parts, "patch_starts_s": starts}


def variant_embeddings(tracks, variant: str, workers: int) -> np.ndarray:
    """(n, 500) clip embeddings (the shipped parts, mean over patches) of every track's `variant`."""
    kept, parts, problems = dataset.map_tracks(
        tracks,
        functools.partial(_variant_parts, variant),
        ROOT / ".cache" / "augment" / variant,
        pretrained.EMBEDDING_VERSION + variant,
        workers,
        variant,
        dataset._embedding_worker,
    )
    assert not problems and len(kept) == len(tracks), list(problems.items())[:3]
    return np.stack([pretrained.select(p).mean(0) for p in parts])


def cv(x, copies, y, q, tracks, seed, test_copies=()):
    """Out-of-fold axis scores (raw point - 0.5) of the shipped head trained on the originals x and
    `copies` (arrays like x, rows paired with x's), tested on x (and, averaged in, `test_copies`)."""
    oof = np.zeros((len(q), 2))
    for tr, te in folds(tracks, seed):
        rows = np.vstack([x[tr], *(c[tr] for c in copies)])
        n = 1 + len(copies)
        model = pretrained.PretrainedMood().fit(rows, np.tile(y[tr], (n, 1)), np.tile(q[tr], n))
        oof[te] = np.mean([model.predict_raw(v[te]) for v in (x, *test_copies)], 0) - 0.5
    return oof


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(SPEED), choices=list(SPEED))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.time()
    tracks, parts, y, q = load(DATA / "4q" / "labels.csv", args.workers)
    x = np.stack([pretrained.select(p).mean(0) for p in parts])
    variants = {v: variant_embeddings(tracks, v, args.workers) for v in args.variants}
    embedded = time.time() - started
    plans = {
        "shipped": ([], []),
        **{f"train_{v}": ([variants[v]], []) for v in variants},
        "train_all": (list(variants.values()), []),
        "tta_all": (list(variants.values()), list(variants.values())),
    }
    results = {}
    for name, (copies, test_copies) in plans.items():
        results[name] = reported(
            name, [score(cv(x, copies, y, q, tracks, seed, test_copies), q) for seed in args.seeds]
        )
    return write_result(
        args.out,
        {
            "n_4q": len(q),
            "folds": 5,
            "fold_maker": "bench.listener_cv.folds",
            "seeds": args.seeds,
            "variants": args.variants,
            "results": results,
            "embedding_minutes": round(embedded / 60, 1),
        },
    )


if __name__ == "__main__":
    main()
