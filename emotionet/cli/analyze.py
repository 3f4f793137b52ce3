"""`analyze` and `evaluate`: the models on audio files, and scored on a manifest.

    python -m emotionet analyze song.mp3 other.wav --json
    python -m emotionet evaluate labels.csv --json

`analyze` listens to the whole song (`--seconds 45`: the report's middle 45 s snippet); `--json`
prints one JSON object per file -- every model's prediction, the timeline, the sections with their
moods, the mood arc, the tags and measurements the model hears -- (an `error` object for a file
that cannot be read) and exits 1 if any file failed. `evaluate` scores every model on a manifest
CSV. Neither imports the database layer: a one-file `analyze` starts without SQLAlchemy.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from .errors import Failure
from .options import JSON, MODEL, SECONDS, add_command, machine_workers


def register(subparsers) -> None:
    analyze = add_command(
        subparsers, "analyze", cmd_analyze, "predict the mood of audio files", parents=[MODEL, SECONDS, JSON]
    )
    analyze.add_argument("files", nargs="+", type=Path)
    evaluate = add_command(subparsers, "evaluate", cmd_evaluate, "score the models on a manifest CSV", [MODEL, JSON])
    evaluate.add_argument("manifest", type=Path)


def to_json(value) -> str:
    """Strict JSON: NaN or infinity become null (never the bare NaN other tools cannot parse)."""

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    return json.dumps(clean(value), allow_nan=False)


def plain_answer(path: str, result) -> str:
    """What `analyze` prints without --json: the song's mood in words first (the headline model's),
    how it moves and what the model hears, then the other models under the names the pages use."""
    from ..analysis.sections import clock
    from ..models import label

    head = result.predictions[result.headline]
    lines = [
        f"{path} ({clock(result.duration_s)}): {head.said} · valence {head.valence:.2f}, arousal "
        f"{head.arousal:.2f} (the middle: {result.thresholds[0]:.2f}, {result.thresholds[1]:.2f}) · "
        f"confidence {head.confidence:.0%}"
    ]
    if result.song is not None:
        hears = result.explanation.hears if result.explanation else ""
        lines.append(f"  {result.song.arc}" + (f" Hears: {hears}." if hears else ""))
    others = [
        f"{label(name)}: {p.said}, confidence {p.confidence:.0%}"
        for name, p in result.predictions.items()
        if name != result.headline
    ]
    if others:
        lines.append("  Other models: " + "; ".join(others))
    return "\n".join(lines)


def cmd_analyze(args) -> int:
    from ..batch import analyze_files

    seconds = args.seconds or None
    failed = 0
    workers = machine_workers(args.workers)
    for path, result in analyze_files(args.files, args.checkpoints, args.thresholds, workers, seconds):
        if isinstance(result, str):
            failed += 1
            if args.json:
                print(to_json({"file": path, "error": str(result)}), flush=True)
            else:
                print(f"{path}: error: {result}", file=sys.stderr, flush=True)
            continue
        if args.json:
            print(to_json(result.to_dict()), flush=True)
        else:
            print(plain_answer(path, result), flush=True)
            for warning in result.warnings:
                print(f"{path}: warning: {warning}", file=sys.stderr, flush=True)
    return 1 if failed else 0


def evaluate_manifest(manifest: Path, checkpoints=None, thresholds=None, workers=None) -> dict:
    """Metrics of every model on the tracks of a manifest, scoring the mood `analyze` shows;
    unreadable tracks are listed and skipped. The true mood is the manifest's `quadrant` (e.g. 4Q's
    editors' quadrants) or, without one, the mood of the true point named as the app names moods:
    around the mood centre (``accuracy``; ``accuracy_midpoint`` around the scale's midpoint)."""
    import csv

    import numpy as np

    from ..batch import analyze_files
    from ..metrics import classification_metrics, regression_metrics
    from ..models.checkpoints import mood_centre
    from ..mood import MOODS, mood_index
    from ..training import dataset

    tracks = dataset.read_manifest(manifest)
    with open(manifest, newline="", encoding="utf-8") as f:
        has_quadrant = "quadrant" in (next(csv.reader(f), None) or [])
    predicted: dict[str, list] = {}
    said: dict[str, list] = {}  # the mood each model showed: scored as analyze shows it
    kept, errors = [], {}
    for track, (path, result) in zip(tracks, analyze_files([t.path for t in tracks], checkpoints, thresholds, workers)):
        if isinstance(result, str):
            errors[path] = result
            continue
        kept.append(track)
        for name, p in result.predictions.items():
            predicted.setdefault(name, []).append((p.valence, p.arousal))
            said.setdefault(name, []).append(MOODS.index(p.mood))
    out: dict = {"n": len(kept)}
    if errors:
        out["errors"] = errors
    if not kept:
        return out
    truth = np.array([[t.valence, t.arousal] for t in kept])
    centre = thresholds or mood_centre(checkpoints)
    classes = [t.quadrant for t in kept] if has_quadrant else mood_index(truth[:, 0], truth[:, 1], centre)
    out["truth"] = (
        "the manifest's quadrant"
        if has_quadrant
        else f"the true point's mood around {tuple(round(c, 3) for c in centre)}"
    )
    for name, values in predicted.items():
        metrics = {**regression_metrics(np.array(values), truth), **classification_metrics(said[name], classes)}
        out[name] = {
            k: metrics[k] for k in ("accuracy", "macro_f1", "mse", "mae", "r2_valence", "r2_arousal", "confusion")
        }
        out[name]["said"] = np.bincount(said[name], minlength=4).tolist()  # how often each mood was said
        if not has_quadrant:
            midpoint = mood_index(truth[:, 0], truth[:, 1])
            out[name]["accuracy_midpoint"] = float(np.mean(np.array(said[name]) == midpoint))
    return out


def cmd_evaluate(args) -> int:
    """Exit 1 when no track could be scored (or the manifest cannot be read)."""
    try:
        result = evaluate_manifest(args.manifest, args.checkpoints, args.thresholds, machine_workers(args.workers))
    except ValueError as error:  # a manifest without its columns, or with a bad row (named)
        raise Failure(str(error)) from error
    if args.json:
        print(to_json(result))
    else:
        print(f"{result['n']} tracks")
        for name, m in result.items():
            if isinstance(m, dict) and "accuracy" in m:
                print(
                    f"{name:10s} accuracy {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  "
                    f"MSE {m['mse']:.4f}  MAE {m['mae']:.4f}  R² v {m['r2_valence']:.2f} a {m['r2_arousal']:.2f}"
                )
    return 0 if result["n"] else 1
