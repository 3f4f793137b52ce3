"""musicnn's VGG networks as a second kind of embedding for the headline's 4Q head (issue 9).

    .venv/bin/python bench/vgg_4q.py [--seeds 0 1 2] [--workers 2]

The musicnn package ships, beside the two musicnn networks the app uses, two VGG-style taggers
trained on the same data (MSD_vgg, MTT_vgg: five 3x3 conv layers of 128 filters, batch norm and
max pooling, a 256-d pool5 and a dense layer to 50 tags; musicnn/models.py `vgg`). A different
architecture on the same input may err differently, which is what a combined embedding needs.
This bench ports them to torch (weights read with emotionet.models.tf_checkpoint), embeds every
4Q clip's 3 s patches (the log-mel patches musicnn sees, through pretrained.PatchEmbedder) and
caches per clip (.cache/vgg/) the pool5 and tag outputs of both.

Sanity check of the port (printed and written): per MSD tag, the Pearson r over the 4Q clips of
MSD_vgg's and MSD_musicnn's clip-mean tag probabilities (two taggers of the same 50 tags; a wrong
port gives r near 0).

Artist-grouped 5-fold CV (bench/listener_cv.py's folds per seed), the shipped head (PretrainedMood,
C = DEFAULT_C) on standardised mean-over-patch embeddings, scored as bench/levers_4q.py scores:
  shipped          the 500-d shipped embedding
  vgg              both VGGs' pool5 + tags (612-d)
  shipped+vgg      both together (1112-d)
  shipped+msd_vgg  the shipped embedding and MSD_vgg's pool5 + tags (806-d)
Writes bench/results/vgg_4q.json. Embedding every clip: one VGG costs about 1.8 GFLOP per patch,
about twice a musicnn network.
"""

from __future__ import annotations

import argparse
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
from emotionet.models import musicnn as mn  # noqa: E402
from emotionet.models import pretrained  # noqa: E402
from emotionet.training import dataset  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "results" / "vgg_4q.json"
VGGS = ("MSD_vgg", "MTT_vgg")
VERSION = pretrained.EMBEDDING_VERSION + "|vgg-v1"


def vgg_network(name: str):
    """musicnn's `vgg` (eval mode) as a torch module: (batch, 187, 96) log-mel -> {"pool5", "tags"}."""
    import torch
    from torch import nn

    from emotionet.models.tf_checkpoint import read_checkpoint

    folder = Path(mn.checkpoint_dir()).parent / name  # beside the musicnn networks in the musicnn package
    ck = read_checkpoint(str(folder) + "/", names=lambda n: "Adam" not in n and not n.endswith("_power"))
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in ck.items()}

    def bn(i):  # TF batch norm in inference: gamma (x - mean) / sqrt(var + 0.001) + beta
        key = "batch_normalization" + (f"_{i}" if i else "")
        scale = t[f"{key}/gamma"] / torch.sqrt(t[f"{key}/moving_variance"] + 1e-3)
        return scale, t[f"{key}/beta"] - t[f"{key}/moving_mean"] * scale

    class Vgg(nn.Module):
        def __init__(self):
            super().__init__()
            self.norms = [bn(i) for i in range(6)]
            self.convs = nn.ModuleList()
            for i in range(1, 6):
                conv = nn.Conv2d(1 if i == 1 else 128, 128, 3, padding=1)  # TF 'same' for 3x3
                conv.weight.data = t[f"{i}CNN/kernel"].permute(3, 2, 0, 1).contiguous()  # (kh, kw, in, out)
                conv.bias.data = t[f"{i}CNN/bias"]
                self.convs.append(conv)
            self.pools = [nn.MaxPool2d((4, 1), (2, 2)), *[nn.MaxPool2d(2, 2)] * 3, nn.MaxPool2d(4, 4)]
            self.dense = nn.Linear(256, 50)
            self.dense.weight.data, self.dense.bias.data = t["dense/kernel"].T.contiguous(), t["dense/bias"]

        def forward(self, x):
            scale, shift = self.norms[0]
            h = (x * scale + shift)[:, None]  # (batch, 1, time, mel): NHWC's H = time, W = mel
            for i, (conv, pool) in enumerate(zip(self.convs, self.pools), 1):
                scale, shift = self.norms[i]
                h = pool(torch.relu(conv(h)) * scale[:, None, None] + shift[:, None, None])
            pool5 = h.permute(0, 2, 3, 1).reshape(len(h), -1)  # TF flattens NHWC: (time, mel, channel)
            return {"pool5": pool5, "tags": torch.sigmoid(self.dense(pool5))}

    return Vgg().eval()


class VggEmbedder(pretrained.PatchEmbedder):
    """PatchEmbedder's log-mel patches through both VGGs instead of the musicnn networks."""

    def __init__(self, vggs):
        super().__init__({}, parts=())
        self.vggs = vggs
        self.out = {f"{v}/{p}": [] for v in VGGS for p in ("pool5", "tags")}

    def _run(self, patches: np.ndarray) -> None:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(patches))
            for name, net in self.vggs.items():
                for part, value in net(x).items():
                    self.out[f"{name}/{part}"].append(value.numpy().astype(np.float32))
        self.n_patches += len(patches)


_VGGS: dict = {}


def _vgg_parts(path: Path) -> dict[str, np.ndarray]:
    if not _VGGS:
        _VGGS.update({name: vgg_network(name) for name in VGGS})
    embedder = VggEmbedder(_VGGS)
    y = audio.load_clip(path, seconds=None).samples
    for i in range(0, len(y), 30 * audio.SAMPLE_RATE):
        embedder.push(y[i : i + 30 * audio.SAMPLE_RATE])
    parts, starts = embedder.finish()
    return {**parts, "patch_starts_s": starts}


def cv(x, y, q, tracks, seed):
    oof = np.zeros((len(q), 2))
    for tr, te in folds(tracks, seed):
        oof[te] = pretrained.PretrainedMood().fit(x[tr], y[tr], q[tr]).predict_raw(x[te]) - 0.5
    return oof


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.time()
    tracks, parts, y, q = load(DATA / "4q" / "labels.csv", args.workers)
    kept, vgg_parts, problems = dataset.map_tracks(
        tracks, _vgg_parts, ROOT / ".cache" / "vgg", VERSION, args.workers, "vgg", dataset._embedding_worker
    )
    assert not problems and len(kept) == len(tracks)
    embedded = time.time() - started
    mean = lambda ps, keys: np.stack([np.hstack([p[k].mean(0) for k in keys]) for p in ps])  # noqa: E731
    port_r = [
        float(np.corrcoef(a, b)[0, 1])
        for a, b in zip(mean(vgg_parts, ["MSD_vgg/tags"]).T, mean(parts, ["MSD_musicnn/tags"]).T)
    ]
    print(
        f"port check: per-tag r of MSD_vgg vs MSD_musicnn over the clips: median {np.median(port_r):.2f}, "
        f"min {min(port_r):.2f}",
        flush=True,
    )
    shipped = np.stack([pretrained.select(p).mean(0) for p in parts])
    vgg = mean(vgg_parts, [f"{v}/{p}" for v in VGGS for p in ("pool5", "tags")])
    msd_vgg = mean(vgg_parts, ["MSD_vgg/pool5", "MSD_vgg/tags"])
    plans = {
        "shipped": shipped,
        "vgg": vgg,
        "shipped+vgg": np.hstack([shipped, vgg]),
        "shipped+msd_vgg": np.hstack([shipped, msd_vgg]),
    }
    results = {}
    for name, x in plans.items():
        results[name] = reported(name, [score(cv(x, y, q, tracks, seed), q) for seed in args.seeds], dims=x.shape[1])
    return write_result(
        args.out,
        {
            "n_4q": len(q),
            "folds": 5,
            "fold_maker": "bench.listener_cv.folds",
            "seeds": args.seeds,
            "port_check_tag_r": {"median": float(np.median(port_r)), "min": float(min(port_r))},
            "results": results,
            "embedding_minutes": round(embedded / 60, 1),
        },
    )


if __name__ == "__main__":
    main()
