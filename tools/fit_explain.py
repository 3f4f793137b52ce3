"""Fit the "what the model hears" defaults: measurement -> valence/arousal contributions and tag priors.

    .venv/bin/python tools/fit_explain.py                       # 4Q (200, balanced) + MUSIFEAST (all)
    .venv/bin/python tools/fit_explain.py --per-quadrant 187 --out emotionet/analysis/explain_defaults.json

Measures every clip whole (seconds=None), one process (the machine is shared); measurements and
musicnn parts are cached in .cache/. Prints the fitted coefficients and their artist-grouped
5-fold R², and writes the JSON that `emotionet.analysis.explain` ships.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotionet.analysis import explain  # noqa: E402
from emotionet.io import audio  # noqa: E402
from emotionet.training import dataset  # noqa: E402

VERSION = json.dumps([explain.MEASURES, explain.N_FFT, explain.HOP, audio.SAMPLE_RATE, "measure-v1"])


def _measure(path: Path) -> dict[str, np.ndarray]:
    m = explain.measure(audio.load_clip(path, seconds=None).samples)
    return {"x": m.vector(), "key": np.array(m.key)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--per-quadrant", type=int, default=50, help="4Q clips per quadrant")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--cache", default=str(ROOT / ".cache"))
    parser.add_argument("--out", default=str(explain.DEFAULTS_FILE))
    parser.add_argument(
        "--tag-priors-from",
        metavar="DIR",
        help="a folder of cached musicnn parts (.npz, e.g. .cache/embeddings after train.py) "
        "to take the tag priors from, instead of embedding the chosen clips (slow)",
    )
    args = parser.parse_args(argv)

    data = Path(args.data)
    fourq = dataset.read_manifest(data / "4q" / "labels.csv")
    random.Random(0).shuffle(fourq)
    chosen = [t for q in range(4) for t in [t for t in fourq if t.quadrant == q][: args.per_quadrant]]
    feast = data / "musifeast" / "labels.csv"
    if feast.is_file():
        chosen += dataset.read_manifest(feast)
    kept, values, problems = dataset.map_tracks(chosen, _measure, Path(args.cache) / "explain", VERSION, 1, "measure")
    x = np.stack([v["x"] for v in values])
    targets = np.array([[t.valence, t.arousal] for t in kept])
    source = f"{len(kept)} clips: 4Q ({args.per_quadrant} per quadrant) + MUSIFEAST-17 (all shipped), whole clips"
    model = explain.fit(x, targets, args.alpha, groups=[t.artist for t in kept], source=source)
    if args.tag_priors_from:
        parts = []
        for path in sorted(Path(args.tag_priors_from).glob("*.npz")):
            with np.load(path, allow_pickle=False) as data:
                if "MSD_musicnn/tags" in data.files:
                    parts.append({k: data[k] for k in ("MSD_musicnn/tags", "MTT_musicnn/tags")})
        print(f"tag priors from {len(parts)} cached songs in {args.tag_priors_from}")
    else:
        _, parts, _ = dataset.extract_parts(kept, Path(args.cache) / "embeddings", workers=1)
    priors = explain.tag_priors(parts)
    explain.save_defaults(model, priors, args.out)
    print(json.dumps(model.to_dict(), indent=1))
    print(f"{len(problems)} unreadable; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
