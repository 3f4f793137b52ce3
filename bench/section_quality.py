"""How sections behave on real music (needs ../shared/data/4q; figures, no pass/fail).

    .venv/bin/python bench/section_quality.py [--clips 40] [--threshold 0.3]

Two checks with the shipped segmentation (librosa features + musicnn penultimate embeddings):
  joins    two clips of different quadrants end to end: is there a boundary within 3 s of the
           join, and how strong is the novelty there (percentiles)?
  singles  one ~30 s clip: how often is it split, and its strongest novelty (percentiles)?
Embeddings are cached in .cache/embeddings. Prints and writes bench/results/section_quality.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_result  # noqa: E402
from emotionet import features  # noqa: E402
from emotionet.analysis import sections as sec  # noqa: E402
from emotionet.io import audio  # noqa: E402
from emotionet.models import pretrained  # noqa: E402
from emotionet.training import dataset  # noqa: E402

OUT = ROOT / "bench" / "results" / "section_quality.json"


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "4q" / "labels.csv"))
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--threshold", type=float, default=sec.THRESHOLD)
    args = parser.parse_args()
    tracks = dataset.read_manifest(args.data)
    random.Random(0).shuffle(tracks)
    kept, parts, _ = dataset.extract_parts(tracks[: args.clips], ROOT / ".cache" / "embeddings", workers=1)
    clips = []
    for track, p in zip(kept, parts):
        y = audio.load_clip(track.path, seconds=None).samples
        emb = pretrained.select(p, ("penultimate",))
        clips.append((y, emb, p["patch_starts_s"], track.quadrant))

    def run(y, emb, starts):
        series = [sec.feature_series(features.compute_features(y)), sec.patch_series(emb, starts)]
        return sec.segment(series, len(y) / audio.SAMPLE_RATE, threshold=args.threshold)

    single_max, splits = [], 0
    for y, emb, starts, _ in clips:
        spans, curve = run(y, emb, starts)
        single_max.append(float(curve.max()))
        splits += len(spans) > 1
    join_scores, found, pairs = [], 0, 0
    for (y1, e1, s1, q1), (y2, e2, s2, q2) in zip(clips[::2], clips[1::2]):
        if q1 == q2:
            continue
        join = len(y1) / audio.SAMPLE_RATE
        spans, curve = run(np.concatenate([y1, y2]), np.vstack([e1, e2]), np.concatenate([s1, s2 + join]))
        pairs += 1
        found += any(abs(end - join) <= 3.0 for _, end in spans[:-1])
        step = sec.grid_step(len(y1) / audio.SAMPLE_RATE + len(y2) / audio.SAMPLE_RATE)
        join_scores.append(float(curve[max(0, int(join / step) - 2) : int(join / step) + 3].max()))
    pct = lambda xs: [round(float(v), 3) for v in np.percentile(xs, [10, 50, 90])]  # noqa: E731
    result = {
        "threshold": args.threshold,
        "clips": len(clips),
        "joins": {"pairs": pairs, "boundary_within_3s": found, "novelty_p10_p50_p90": pct(join_scores)},
        "singles": {"split": splits, "of": len(clips), "max_novelty_p10_p50_p90": pct(single_max)},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return write_result(OUT, result)


if __name__ == "__main__":
    main()
