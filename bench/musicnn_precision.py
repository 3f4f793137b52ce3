"""musicnn's timbral convolutions as matrix products, in float32 and bfloat16: speed, and what
bfloat16 does to the embeddings and the moods (issue 12).

    .venv/bin/python bench/musicnn_precision.py [--seeds 0 1 2] [--repeats 7] [--shipped N] [--out FILE]

Speed, in one run: one forward pass of both backbones over a batch of 4 patches (3 s each),
median of `--repeats`, the variants called in turn within each repeat, for
  conv2d_float32   the first version: oneDNN's conv2d, then the max over frequency
  gemm_float32     the strided-window matrix products, float32 (exact; what runs without AMX)
  gemm_bfloat16    the same products in bfloat16 on the AMX units
  together_float32, together_bfloat16   musicnn.forward_together: both backbones' timbral products
                   in one product per kernel shape over windows of the raw patches built once (what
                   the app runs; bfloat16 is the default where AMX is present)

Accuracy: every clip of ../shared/data/4q and ../shared/data/musifeast embedded again with the
bfloat16 products, both backbones together as the app runs them (cached in .cache/embeddings-bfloat16). The shipped models learn from float32
embeddings (train.py's cache), so that is how they are judged here too: the folds of
bench/listener_cv.py (5 artist-grouped folds per seed), trained on float32 embeddings, each test
fold predicted from its float32 and from its bfloat16 embeddings. Reported: the listener set's
valence/arousal r (the shipped listener head), the 4Q quadrant accuracy (the headline's 4Q head),
how far the predictions move and how many moods flip. Writes bench/results/musicnn_precision.json.

`--shipped N` instead (any CPU with bfloat16 in hardware, e.g. AVX-512 BF16 without AMX): the shipped
models themselves on N clips of each source, analysed with float32 and with bfloat16 products in this
process; how far each model's answers move and how many moods change (no training, about 2 minutes
for N = 60). `--out` names the JSON (bench/results/musicnn_precision_zen4.json for the AMD Zen 4).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import median_times, write_result  # noqa: E402
from bench.listener_cv import DATA, folds  # noqa: E402
from emotionet.io import audio  # noqa: E402
from emotionet.listener import ListenerHead  # noqa: E402
from emotionet.listener.cues import clip_cues  # noqa: E402
from emotionet.metrics import agreement_metrics  # noqa: E402
from emotionet.models import musicnn as mn  # noqa: E402
from emotionet.models import pretrained  # noqa: E402
from emotionet.mood import mood_index  # noqa: E402
from emotionet.training import dataset  # noqa: E402

OUT = ROOT / "bench" / "results" / "musicnn_precision.json"


def _bf16_parts(path: Path) -> dict[str, np.ndarray]:
    backbones = pretrained.load_backbones("bfloat16")
    parts, starts = pretrained.embed_parts(backbones, audio.load_clip(path, seconds=None).samples)
    return {**parts, "patch_starts_s": starts}


def load(manifest: Path, cache: Path):
    """tracks, float32 and bfloat16 clip embeddings, cues, targets, quadrants."""
    tracks = dataset.read_manifest(manifest)
    tracks, feats, _ = dataset.load_features(tracks, cache / "features", 2)
    kept, x32, _ = dataset.extract_embeddings(tracks, cache / "embeddings", 2)
    version = pretrained.EMBEDDING_VERSION + "/bfloat16/together-centred"  # forward_together's bfloat16 path
    kept16, parts16, _ = dataset.map_tracks(
        tracks, _bf16_parts, cache / "embeddings-bfloat16", version, 2, "bfloat16 embeddings", dataset._embedding_worker
    )
    assert len(kept) == len(kept16) == len(tracks)
    x16 = np.stack([pretrained.select(p).mean(0) for p in parts16])
    y = np.array([[t.valence, t.arousal] for t in tracks])
    return tracks, x32, x16, np.stack([clip_cues(f) for f in feats]), y, np.array([t.quadrant for t in tracks])


def speed(repeats: int) -> dict:
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    batch = torch.from_numpy(np.abs(rng.standard_normal((4, mn.PATCH_FRAMES, mn.N_MELS))).astype(np.float32))
    original = mn.FreqPooledConv._gemm_max

    class Conv2dMax(mn.FreqPooledConv):  # the first version: oneDNN's conv2d, then the max
        def _gemm_max(self, x):
            return F.conv2d(F.pad(x, (0, 0, *self.time_pad)), self.weight).amax(-1)

    nets = {p: list(pretrained.load_backbones(p).values()) for p in ("float32", "bfloat16")}
    conv2d = [copy.deepcopy(net) for net in nets["float32"]]
    for net in conv2d:
        for block in net.timbral:
            block.__class__ = Conv2dMax
    assert original is mn.FreqPooledConv._gemm_max
    with torch.inference_mode():  # interleaved: one call of each variant per repeat
        figures = median_times(
            {
                "conv2d_float32": lambda: [net(batch) for net in conv2d],
                "gemm_float32": lambda: [net(batch) for net in nets["float32"]],
                "gemm_bfloat16": lambda: [net(batch) for net in nets["bfloat16"]],
                "together_float32": lambda: mn.forward_together(nets["float32"], batch),
                "together_bfloat16": lambda: mn.forward_together(nets["bfloat16"], batch),
            },
            repeats,
        )
    base = figures["conv2d_float32"]
    return {
        "batch_of_4_patches_both_backbones_s": {k: round(v, 4) for k, v in figures.items()},
        "speedup_vs_conv2d": {k: round(base / v, 2) for k, v in figures.items()},
        "bfloat16_in_hardware": mn.bfloat16_in_hardware(),
        "amx": bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()),
        "torch_threads": torch.get_num_threads(),
    }


def judge(seeds, cache: Path) -> dict:
    a_tracks, xa, xa16, ca, ya, qa = load(DATA / "4q" / "labels.csv", cache)
    l_tracks, xl, xl16, cl, yl, _ = load(DATA / "musifeast" / "labels.csv", cache)
    rel = lambda a, b: np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)  # noqa: E731
    out = {
        "embedding_relative_change": {
            "median": float(np.median(np.r_[rel(xa16, xa), rel(xl16, xl)])),
            "max": float(np.max(np.r_[rel(xa16, xa), rel(xl16, xl)])),
        }
    }
    per_seed = []
    for seed in seeds:
        pred = {p: np.zeros_like(yl) for p in ("float32", "bfloat16")}
        quad = {p: np.zeros(len(ya), int) for p in pred}
        raw4 = {p: np.zeros_like(ya) for p in pred}
        for (tra, tea), (trl, tel) in zip(folds(a_tracks, seed), folds(l_tracks, seed)):
            four = pretrained.PretrainedMood().fit(xa[tra], ya[tra], qa[tra])  # trained on float32, as shipped
            head = ListenerHead().fit(xa[tra], ca[tra], ya[tra], xl[trl], cl[trl], yl[trl])
            for p, (test_a, test_l) in {"float32": (xa, xl), "bfloat16": (xa16, xl16)}.items():
                raw4[p][tea] = four.predict_raw(test_a[tea])
                quad[p][tea] = mood_index(raw4[p][tea, 0], raw4[p][tea, 1])
                pred[p][tel] = head.predict_raw(test_l[tel], cl[tel])
        row = {}
        for p in pred:
            scores = agreement_metrics(pred[p], yl)
            row[p] = {
                "listener_valence_r": scores["r_valence"],
                "listener_arousal_r": scores["r_arousal"],
                "accuracy_4q": float((quad[p] == qa).mean()),
            }
        moods = {p: mood_index(pred[p][:, 0], pred[p][:, 1]) for p in pred}  # on the listener scale, at 0.5
        row["listener_max_abs_change"] = np.abs(pred["bfloat16"] - pred["float32"]).max(0).round(5).tolist()
        row["listener_median_abs_change"] = np.median(np.abs(pred["bfloat16"] - pred["float32"]), 0).round(5).tolist()
        row["listener_mood_flips"] = int((moods["bfloat16"] != moods["float32"]).sum())
        row["quadrant_4q_flips"] = int((quad["bfloat16"] != quad["float32"]).sum())
        per_seed.append(row)
    mean = lambda p, k: float(np.mean([r[p][k] for r in per_seed]))  # noqa: E731
    out["cv_mean"] = {p: {k: round(mean(p, k), 4) for k in per_seed[0][p]} for p in ("float32", "bfloat16")}
    out["per_seed"] = per_seed
    out["n_4q"], out["n_listener"] = len(ya), len(yl)
    return out


def shipped(clips: int) -> dict:
    """The shipped models on this CPU, musicnn's products in float32 and in bfloat16: `clips` clips of
    each source, spread evenly over its manifest; how far every model's valence and arousal move, and
    how many moods change."""
    from emotionet.predict import Predictor

    paths = []
    for source in ("4q", "musifeast"):
        tracks = dataset.read_manifest(DATA / source / "labels.csv")
        paths += [t.path for t in tracks[:: max(1, len(tracks) // clips)][:clips]]
    predictors, chosen = {}, os.environ.get(mn.PRECISION_ENV)
    try:
        for precision in ("float32", "bfloat16"):
            os.environ[mn.PRECISION_ENV] = precision  # read as the predictor loads its backbones
            predictors[precision] = Predictor.load()
    finally:
        os.environ.pop(mn.PRECISION_ENV)
        if chosen is not None:
            os.environ[mn.PRECISION_ENV] = chosen
    rows = []
    for path in paths:
        out = {p: predictor.analyze(path).predictions for p, predictor in predictors.items()}
        for model, exact in out["float32"].items():
            fast = out["bfloat16"][model]
            rows.append(
                (model, abs(fast.valence - exact.valence), abs(fast.arousal - exact.arousal), fast.mood != exact.mood)
            )
    models = sorted({r[0] for r in rows})
    return {
        "clips": len(paths),
        "per_model": {
            m: {
                "max_abs_change_valence_arousal": [round(max(r[i] for r in rows if r[0] == m), 5) for i in (1, 2)],
                "mood_flips": sum(r[3] for r in rows if r[0] == m),
            }
            for m in models
        },
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache")
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON goes (default bench/results/)")
    parser.add_argument("--speed-only", action="store_true", help="skip the accuracy part (needs ../shared)")
    parser.add_argument(
        "--shipped",
        type=int,
        default=0,
        metavar="N",
        help="only the speed and the shipped models' answers on N clips of each source, float32 vs bfloat16, on this CPU",
    )
    args = parser.parse_args()
    started = time.time()
    result = {"speed": speed(args.repeats)}
    print(result["speed"])
    if args.shipped:
        result["shipped_on_this_cpu"] = shipped(args.shipped)
        print(result["shipped_on_this_cpu"])
    elif not args.speed_only:
        result["accuracy"] = judge(args.seeds, args.cache)
        print({k: v for k, v in result["accuracy"].items() if k != "per_seed"})
    result["seconds"] = round(time.time() - started, 1)
    return write_result(args.out, result)


if __name__ == "__main__":
    main()
