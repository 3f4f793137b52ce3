"""Train the CNNs and SVR baselines on labelled music and write the shipped checkpoints.

    python train.py                                   # 4Q (../shared/data/4q) + listener ratings (../shared/data/musifeast)
    python train.py --manifest my_labels.csv --out my_checkpoints
    python train.py --deam-annotations static_annotations.csv --deam-audio DEAM_audio/

A manifest CSV has `path` (relative to the CSV), `valence`, `arousal` (0-1) and optionally
`quadrant` (Q1..Q4) and `artist` (used for the artist-disjoint validation split).
`--listener-manifest` names the listener-rated clips (same columns; valence/arousal the mean
rating mapped to 0-1): the headline model learns listener valence from them and every model is
calibrated onto, and judged on, the listener scale. `--listener-manifest ''` trains on 4Q alone.
"""

import argparse
import json
from dataclasses import fields
from pathlib import Path

from emotionet.models.checkpoints import DEFAULT_DIR
from emotionet.training import TrainConfig, dataset, run_training

HERE = Path(__file__).resolve().parent
DEFAULT_MANIFEST = HERE.parent / "shared" / "data" / "4q" / "labels.csv"
DEFAULT_LISTENER_MANIFEST = HERE.parent / "shared" / "data" / "musifeast" / "labels.csv"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument(
        "--listener-manifest",
        type=str,
        default=str(DEFAULT_LISTENER_MANIFEST),
        help="listener-rated clips (CSV); '' for none",
    )
    parser.add_argument("--deam-annotations", type=Path, help="DEAM static annotations CSV (1-9 scale)")
    parser.add_argument("--deam-audio", type=Path, help="DEAM audio folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="checkpoint folder to write")
    parser.add_argument("--cache", type=Path, default=HERE / ".cache", help="feature and embedding cache folder")
    for f in fields(TrainConfig):
        flag = f"--{f.name.replace('_', '-')}"
        if isinstance(f.default, bool):  # --x / --no-x (type=bool would take "False" as true)
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            parser.add_argument(flag, type=type(f.default), default=f.default)
    args = parser.parse_args(argv)

    if args.deam_annotations:
        tracks, source = dataset.read_deam(args.deam_annotations, args.deam_audio), "DEAM"
    else:
        tracks, source = dataset.read_manifest(args.manifest), args.manifest.parent.name
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    listener = dataset.read_manifest(args.listener_manifest) if args.listener_manifest else None
    metrics = run_training(tracks, args.out, args.cache, cfg, source, listener)
    summary = {
        name: {k: round(v, 4) for k, v in m.items() if isinstance(v, float)}
        for name, m in metrics["validation"].items()
    }
    listener = {
        name: {k: round(m[k], 4) for k in ("r_valence", "r_arousal", "ccc_valence", "ccc_arousal", "accuracy", "ece")}
        for name, m in metrics.get("listener", {}).get("models", {}).items()
    }
    print(
        json.dumps(
            {
                "default_cnn": metrics["default_cnn"],
                "headline": metrics["headline"],
                "validation": summary,
                "listener": listener,
                "train_seconds": metrics["train_seconds"],
            },
            indent=1,
        )
    )
    return metrics


if __name__ == "__main__":
    main()
