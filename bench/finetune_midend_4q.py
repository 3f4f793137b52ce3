"""Fine-tuning musicnn's mid-end on 4Q's labels, measured on the CPU (issue 9).

    .venv/bin/python bench/finetune_midend_4q.py [--seeds 0 1 2] [--epochs 8] [--lr 1e-4] [--no-probe]
    .venv/bin/python bench/finetune_midend_4q.py --epochs 0     # the check: must give the shipped figure

The headline's 4Q head sits on frozen musicnn embeddings, and no head, pooling, augmentation or
added network moved it past the seeds' spread (bench/levers_4q.py, augment_4q.py, vgg_4q.py).
Fine-tuning the backbone is the lever left. musicnn's front-end (the timbral and temporal
convolutions on the log-mel) is most of its cost; its mid-end (three 1-D convolutions of 64
filters, kernel 7, on the front-end's 561 channels) and back-end (mean and max over time, a dense
layer to the 200-d penultimate, the 50 tags) are about 115 MFLOP per 3 s patch. So this bench
runs the front-end once per clip and caches its output (.cache/front/, float16: 2 backbones x
561 x 187 per patch, about 4 MB per 30 s clip), then per fold trains copies of both backbones'
mid-end convolutions and dense layers from the pretrained weights (their batch norms stay as
trained; an L2 pull towards the pretrained weights, L2-SP), with a 4Q head on both penultimates
(two axis logits, dropout), on `--patches` random patches of every training clip per epoch.
By default the head is first fitted on the frozen networks' per-patch penultimates (linear
probing, then fine-tuning: LP-FT), so the first steps do not push the pretrained layers around
with a random head's gradients.

Artist-grouped 5-fold CV, bench/listener_cv.py's folds per seed (as levers_4q.py). Per fold, with
the fine-tuned networks, every clip is embedded again (penultimate + tags of both, the shipped
500-d recipe, mean over patches) and scored two ways:
  head     the fine-tuned 4Q head's mean patch logits
  shipped  the shipped head (PretrainedMood, C = DEFAULT_C) refitted on the re-embedded training clips
`--epochs 0` re-embeds with the pretrained weights: its "shipped" figure must equal the shipped
head's (0.754 ± 0.003 over seeds 0-2), which checks the cache and the re-embedding.
Writes bench/results/finetune_midend_4q.json.
"""

from __future__ import annotations

import argparse
import copy
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
OUT = ROOT / "bench" / "results" / "finetune_midend_4q.json"
VERSION = pretrained.EMBEDDING_VERSION + "|front-v1"
B = pretrained.BACKBONES


# --------------------------------------------------------------------------- the front-end cache


class FrontEmbedder(pretrained.PatchEmbedder):
    """PatchEmbedder's patches through both backbones' front-ends only: {"<backbone>/front": (P, 561, 187)}."""

    def __init__(self, backbones):
        super().__init__(backbones, parts=())
        self.out = {f"{b}/front": [] for b in B}
        for name, net in backbones.items():  # the mid-end and back-end replaced by a recorder
            net.head = lambda front, name=name: self.out[f"{name}/front"].append(front.numpy().astype(np.float16)) or {}


_NETS: dict = {}


def _front_parts(path: Path) -> dict[str, np.ndarray]:
    if not _NETS:
        _NETS.update(copy.deepcopy(pretrained.load_backbones(pretrained.TRAINING_PRECISION)))
    embedder = FrontEmbedder(_NETS)
    y = audio.load_clip(path, seconds=None).samples
    for i in range(0, len(y), 30 * audio.SAMPLE_RATE):
        embedder.push(y[i : i + 30 * audio.SAMPLE_RATE])
    parts, _ = embedder.finish()
    return parts


# --------------------------------------------------------------------------- the fine-tuned networks


def tuned_model(dropout: float):
    import torch
    from torch import nn
    from torch.nn import functional as F

    nets = pretrained.load_backbones(pretrained.TRAINING_PRECISION)

    class Tuned(nn.Module):
        """Both backbones' mid-end and back-end on their cached front-ends; the mid-end convolutions
        and the dense layers trainable (copies), the batch norms and the tag layer frozen."""

        def __init__(self):
            super().__init__()
            self.nets = nn.ModuleList(copy.deepcopy(nets[b]) for b in B)
            for net in self.nets:
                for module in (*net.mid_convs, net.dense):
                    module.requires_grad_(True)
            self.start = [p.detach().clone() for p in self.backbone_parameters()]
            self.drop = nn.Dropout(dropout)
            self.head_4q = nn.Linear(2 * 200, 2)

        def backbone_parameters(self):
            return [p for net in self.nets for p in net.parameters() if p.requires_grad]

        def forward(self, fronts):  # fronts: one (batch, 561, 187) tensor per backbone
            outs = [net.head(front) for net, front in zip(self.nets, fronts)]
            logits = self.head_4q(self.drop(torch.cat([o["penultimate"] for o in outs], 1)))
            return logits, torch.cat([torch.cat([o[p] for p in pretrained.PARTS], 1) for o in outs], 1)

        def pull(self):  # L2-SP: squared distance from the pretrained weights
            return sum(((p - p0) ** 2).sum() for p, p0 in zip(self.backbone_parameters(), self.start))

    return Tuned(), F


def probe(model, F, penultimate, axes, tr, s):
    """Linear probing first (LP-FT): the 4Q head fitted on the frozen networks' per-patch penultimates
    (from the embedding cache), so that fine-tuning starts from a fitted head, not a random one."""
    import torch

    x = torch.from_numpy(np.vstack([penultimate[i] for i in tr]).astype(np.float32))
    z = torch.from_numpy(
        np.concatenate([np.repeat(axes[i : i + 1], len(penultimate[i]), 0) for i in tr]).astype(np.float32)
    )
    opt = torch.optim.AdamW(model.head_4q.parameters(), lr=1e-2, weight_decay=s["head_decay"])
    for _ in range(300):  # full batch
        loss = F.binary_cross_entropy_with_logits(model.head_4q(x), z)
        opt.zero_grad()
        loss.backward()
        opt.step()


def fit_fold(fronts, penultimate, axes, tr, seed, s):
    """Train on the clips `tr`; returns (per clip: mean head logits (n, 2), mean 500-d embedding (n, 500))."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model, F = tuned_model(s["dropout"])
    if s["probe"]:
        probe(model, F, penultimate, axes, tr, s)
    opt = torch.optim.AdamW(
        [
            {"params": model.backbone_parameters(), "lr": s["lr"], "weight_decay": 0.0},
            {"params": model.head_4q.parameters(), "lr": s["head_lr"], "weight_decay": s["head_decay"]},
        ]
    )
    target = torch.from_numpy(axes.astype(np.float32))
    for _ in range(s["epochs"]):
        model.train()
        picks = [
            (i, j)
            for i in tr
            for j in rng.choice(len(fronts[0][i]), min(s["patches"], len(fronts[0][i])), replace=False)
        ]
        order = rng.permutation(len(picks))
        for k in range(0, len(order) - s["batch"] + 1, s["batch"]):
            batch = [picks[n] for n in order[k : k + s["batch"]]]
            x = [torch.from_numpy(np.stack([f[i][j] for i, j in batch]).astype(np.float32)) for f in fronts]
            logits, _ = model(x)
            loss = F.binary_cross_entropy_with_logits(logits, target[[i for i, _ in batch]]) + s["pull"] * model.pull()
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    heads, embeddings = [], []
    with torch.no_grad():
        for i in range(len(fronts[0])):
            logits, emb = model([torch.from_numpy(f[i].astype(np.float32)) for f in fronts])
            heads.append(logits.mean(0).numpy())
            embeddings.append(emb.mean(0).numpy())
    return np.stack(heads), np.stack(embeddings)


def main() -> dict:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4, help="the backbone layers' learning rate")
    parser.add_argument("--pull", type=float, default=1e-2, help="L2-SP strength")
    parser.add_argument("--patches", type=int, default=3, help="random patches per training clip and epoch")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--head-lr", type=float, default=1e-4)
    parser.add_argument("--head-decay", type=float, default=1e-3)
    parser.add_argument(
        "--probe",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fit the head on the frozen networks first (LP-FT)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    setting = {
        k: getattr(args, k)
        for k in ("epochs", "lr", "pull", "patches", "batch", "dropout", "head_lr", "head_decay", "probe")
    }
    started = time.time()
    tracks, parts, y, q = load(DATA / "4q" / "labels.csv", args.workers)
    kept, front_parts, problems = dataset.map_tracks(
        tracks, _front_parts, ROOT / ".cache" / "front", VERSION, args.workers, "front", dataset._embedding_worker
    )
    assert not problems and len(kept) == len(tracks)
    fronts = [[p[f"{b}/front"] for p in front_parts] for b in B]
    del front_parts
    cached = time.time() - started
    print(f"front-ends of {len(tracks)} clips ready in {cached / 60:.1f} min", flush=True)
    torch.set_num_threads(args.threads)
    axes = pretrained.axis_labels(q)
    shipped_x = np.stack([pretrained.select(p).mean(0) for p in parts])
    penultimate = [pretrained.select(p, ("penultimate",)) for p in parts]
    runs, deviation = {"head": [], "shipped": []}, []
    for seed in args.seeds:
        oof = {name: np.zeros((len(q), 2)) for name in runs}
        for fold, (tr, te) in enumerate(folds(tracks, seed)):
            t0 = time.time()
            heads, x = fit_fold(fronts, penultimate, axes, tr, seed * 100 + fold, setting)
            deviation.append(float(np.abs(x - shipped_x).max()))
            oof["head"][te] = heads[te]
            oof["shipped"][te] = pretrained.PretrainedMood().fit(x[tr], y[tr], q[tr]).predict_raw(x[te]) - 0.5
            fold_acc = score(oof["shipped"][te], q[te])["accuracy_4q"]
            print(
                f"seed {seed} fold {fold}: shipped head on re-embedded clips {fold_acc:.3f} ({time.time() - t0:.0f} s)",
                flush=True,
            )
        for name in runs:
            runs[name].append(score(oof[name], q))
    results = {name: reported(name, r) for name, r in runs.items()}
    return write_result(
        args.out,
        {
            "n_4q": len(q),
            "folds": 5,
            "fold_maker": "bench.listener_cv.folds",
            "seeds": args.seeds,
            "setting": setting,
            "results": results,
            "max_embedding_change": max(deviation),
            "front_cache_minutes": round(cached / 60, 1),
            "minutes": round((time.time() - started) / 60, 1),
        },
    )


if __name__ == "__main__":
    main()
