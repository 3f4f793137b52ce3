"""Levers tried on the headline model's 4Q quadrant accuracy, and not kept (issue 9).

    .venv/bin/python bench/levers_4q.py [--levers shipped max_tags label_weighted] [--seeds 0 1 2]
    .venv/bin/python bench/levers_4q.py --levers finetune_dense [--seeds 0]     # slow: trains torch heads

Artist-grouped 5-fold CV on ../shared/data/4q (748 clips), the folds of bench/listener_cv.py
(`folds(tracks, seed)`: StratifiedGroupKFold by quadrant and artist) for each of `--seeds`.
Every lever predicts the two axes (valence +/-, arousal +/-, labels from the quadrant); the mood is
the quadrant of the out-of-fold prediction, uncalibrated (as listener_cv.py's accuracy_4q).
  shipped           PretrainedMood as shipped (mean over patches of penultimate+tags of both
                    musicnn backbones, standardised, two logistic regressions, C = DEFAULT_C)
  mean_std_pooling  the same on [mean, std] over patches (1000-d), C over a small grid
  rbf_svm           two RBF SVMs (gamma = 1/D) on the standardised mean embeddings, C over a grid
  patch_level       two logistic regressions trained on single 3 s patches (each with its clip's
                    labels); a clip's score is the mean patch logit; C over a grid
  with_cues         the shipped head on [mean embedding, the listener head's 12 valence cues]
                    (emotionet.listener.cues: key fit, mode, loudness, brightness), C over a grid
  scheme_ensemble   the "axes" and "quadrant" schemes' Q1..Q4 probabilities summed; the argmax
  max_tags          the shipped head on [mean embedding, the 100 tag probabilities' maxima over patches]
  label_weighted    the shipped head's two logistic regressions with each clip weighted by how far its
                    tag-derived valence (arousal) lies from the training median, to the power given
                    (+ 0.05): clips near an axis count less
  two_source_head   the listener head's own 4Q head (emotionet.listener.head: a shared ridge map
                    fitted on both sources, listener_cv folds for the listener clips), with and
                    without the cues
  finetune_dense    (only when named) musicnn's dense layer (pool 1506 -> 200, both backbones)
                    fine-tuned per patch from the pretrained weights (L2 pull towards them), with a
                    4Q head (axis logits) and a listener head (valence/arousal) trained together on
                    ../shared/data/musifeast as well, each source with its own listener_cv folds;
                    also reports the listener set's valence/arousal Pearson r.
Per lever and setting: 4Q accuracy and macro-F1 (emotionet.metrics) of each seed's out-of-fold
predictions, mean ± sd over seeds. Where a lever has a grid, every setting is reported, and
"best" is the setting with the best mean accuracy *on these same folds* (optimistic, as last
session's exploratory figures were). Results of levers not re-run are kept from the previous
bench/results/levers_4q.json (each lever records its seeds), so finetune_dense can run apart.
Embeddings are read from .cache/embeddings (train.py fills it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_result  # noqa: E402
from bench.listener_cv import folds  # noqa: E402
from emotionet.metrics import agreement_metrics, classification_metrics  # noqa: E402
from emotionet.models import pretrained  # noqa: E402
from emotionet.mood import mood_index  # noqa: E402
from emotionet.training import dataset  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "results" / "levers_4q.json"
TRACKS_4Q: list = []  # the 4Q tracks, set by main (two_source_head pairs its folds with listener_cv's)
CHEAP = (
    "shipped",
    "mean_std_pooling",
    "rbf_svm",
    "patch_level",
    "with_cues",
    "scheme_ensemble",
    "two_source_head",
    "max_tags",
    "label_weighted",
)
GRIDS = {  # lever -> the settings tried (last session's grids in /work/exp/q4.py)
    "shipped": [pretrained.DEFAULT_C],
    "mean_std_pooling": [0.01, 0.03, 0.1],
    "rbf_svm": [0.3, 1.0, 3.0],
    "patch_level": [0.003, 0.01, 0.03],
    "with_cues": [0.01, 0.03, 0.1],
    "scheme_ensemble": [pretrained.DEFAULT_C],
    "two_source_head": [0.0, 3.0],  # the listener head's cue weight (0: no cues; 3: as shipped)
    "max_tags": [0.01, 0.03],
    "label_weighted": [0.5, 1.0],  # the power of the distance from the median label
    "finetune_dense": [
        {"epochs": 20, "lr": 1e-3, "listener_weight": 1.0, "pull": 1e-2, "weight_decay": 1e-3, "dropout": 0.3}
    ],  # ft.py's defaults
}


def load(manifest: Path, workers: int):
    tracks = dataset.read_manifest(manifest)
    kept, parts, problems = dataset.extract_parts(tracks, ROOT / ".cache" / "embeddings", workers)
    assert not problems, f"unreadable: {list(problems)[:3]}"
    y = np.array([[t.valence, t.arousal] for t in kept])
    return kept, parts, y, np.array([t.quadrant for t in kept])


# --------------------------------------------------------------------------- the cheap levers
# Each returns fit_predict(train_idx, test_idx) -> (n_test, 2) axis scores whose sign is the side.


def logistic_on(x, y, q, C):
    """PretrainedMood (axes scheme) on clip vectors x; its raw point minus 0.5 keeps the quadrant."""

    def fit_predict(tr, te):
        return pretrained.PretrainedMood(C=C).fit(x[tr], y[tr], q[tr]).predict_raw(x[te]) - 0.5

    return fit_predict


def rbf_svm(x, q, C):
    from sklearn.svm import SVC

    labels = pretrained.axis_labels(q)

    def fit_predict(tr, te):
        mean, std = x[tr].mean(0), np.maximum(x[tr].std(0), 1e-6)
        z_tr, z_te = (x[tr] - mean) / std, (x[te] - mean) / std
        svms = [SVC(C=C, gamma=1.0 / x.shape[1]).fit(z_tr, labels[tr, i]) for i in range(2)]
        return np.stack([s.decision_function(z_te) for s in svms], 1)

    return fit_predict


def patch_level(per_patch, y, q, C):
    """Logistic regressions on single patches; a clip scores the mean of its patches' logits."""

    def fit_predict(tr, te):
        counts = [len(per_patch[i]) for i in tr]
        model = pretrained.PretrainedMood(C=C).fit(
            np.vstack([per_patch[i] for i in tr]), np.repeat(y[tr], counts, 0), np.repeat(q[tr], counts)
        )
        mean_logit = [(((per_patch[i] - model.mean) / model.std) @ model.coef.T + model.intercept).mean(0) for i in te]
        return np.stack(mean_logit)

    return fit_predict


def label_weighted(x, y, q, power, C=pretrained.DEFAULT_C):
    from sklearn.linear_model import LogisticRegression

    labels = pretrained.axis_labels(q)

    def fit_predict(tr, te):
        mean, std = x[tr].mean(0), np.maximum(x[tr].std(0), 1e-6)
        z_tr, z_te = (x[tr] - mean) / std, (x[te] - mean) / std
        scores = []
        for axis in range(2):
            w = np.abs(y[tr, axis] - np.median(y[tr, axis])) ** power + 0.05
            fit = LogisticRegression(C=C, max_iter=2000).fit(z_tr, labels[tr, axis], sample_weight=w / w.mean())
            scores.append(fit.decision_function(z_te))
        return np.stack(scores, 1)

    return fit_predict


def scheme_ensemble(x, y, q, C):
    """The axes and quadrant schemes' quadrant probabilities summed; the argmax as axis signs."""
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])  # Q1..Q4: happy, aggressive, sad, calm

    def fit_predict(tr, te):
        proba = sum(
            pretrained.PretrainedMood(scheme, C=C).fit(x[tr], y[tr], q[tr]).predict_proba(x[te])
            for scheme in ("axes", "quadrant")
        )
        return signs[proba.argmax(1)].astype(float)

    return fit_predict


def two_source_head(x, cues, y, q, listener, cue_weight, seed):
    """The listener head's 4Q head, fitted on both sources; `listener` = (tracks, x, cues, y)."""
    from bench.listener_cv import folds
    from emotionet.listener import ListenerHead

    l_tracks, xl, cl, yl = listener
    l_train = {te_a.tobytes(): tr_l for (_, te_a), (tr_l, _) in zip(folds(TRACKS_4Q, seed), folds(l_tracks, seed))}

    def fit_predict(tr, te):
        trl = l_train[np.asarray(te).tobytes()]  # the listener clips of the same fold's training side
        head = ListenerHead(cue_weight=cue_weight).fit(x[tr], cues[tr], y[tr], xl[trl], cl[trl], yl[trl])
        return head.predict_4q(x[te], cues[te]) - 0.5

    return fit_predict


def clip_cues_of(tracks, workers):
    """(n, 12) valence cues of each track, from the feature cache."""
    from emotionet.listener.cues import clip_cues

    kept, feats, problems = dataset.load_features(tracks, ROOT / ".cache" / "features", workers)
    assert not problems and len(kept) == len(tracks)
    return np.stack([clip_cues(f) for f in feats])


def cheap_lever(name, setting, parts, y, q, seed=0, workers=2):
    per_patch = [pretrained.select(p) for p in parts]  # (P, 500): penultimate + tags, both backbones
    if name == "patch_level":
        return patch_level(per_patch, y, q, setting)
    x = np.stack([p.mean(0) for p in per_patch])
    if name == "rbf_svm":
        return rbf_svm(x, q, setting)
    if name == "scheme_ensemble":
        return scheme_ensemble(x, y, q, setting)
    if name in ("with_cues", "two_source_head"):
        cues = clip_cues_of(TRACKS_4Q, workers)
        if name == "with_cues":
            return logistic_on(np.hstack([x, cues]), y, q, setting)
        l_tracks, l_parts, yl, _ = load(DATA / "musifeast" / "labels.csv", workers)
        xl = np.stack([pretrained.select(p).mean(0) for p in l_parts])
        return two_source_head(x, cues, y, q, (l_tracks, xl, clip_cues_of(l_tracks, workers), yl), setting, seed)
    if name == "label_weighted":
        return label_weighted(x, y, q, setting)
    if name == "max_tags":
        x = np.hstack([x, np.stack([pretrained.select(p, ("tags",)).max(0) for p in parts])])
    if name == "mean_std_pooling":
        x = np.hstack([x, np.stack([p.std(0) for p in per_patch])])
    return logistic_on(x, y, q, setting)


def score(scores, q):
    predicted = mood_index(scores[:, 0], scores[:, 1], (0.0, 0.0))
    m = classification_metrics(predicted, q)
    return {"accuracy_4q": m["accuracy"], "macro_f1_4q": m["macro_f1"]}


# --------------------------------------------------------------------------- finetune_dense (port of ft.py)


def finetune_dense(a_parts, ya, qa, l_parts, yl, seed, s):
    """fit_predict over both sources' folds: returns (4Q axis logits, listener valence/arousal)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    backbones = pretrained.load_backbones(pretrained.TRAINING_PRECISION)
    pa, pl = (
        [np.hstack([p[f"{b}/pool"] for b in pretrained.BACKBONES]).astype(np.float32) for p in parts]
        for parts in (a_parts, l_parts)
    )  # per patch: both backbones' 1506-d pooled features
    axes = pretrained.axis_labels(qa).astype(np.float32)
    width = pretrained.PART_DIMS["pool"]

    class Head(nn.Module):
        """Per backbone: its frozen pool batch norm -> dense (trainable copy) -> relu -> its dense batch
        norm; both concatenated (400) -> dropout -> a 4Q head (2 axis logits) and a listener head."""

        def __init__(self):
            super().__init__()
            nets = [backbones[b] for b in pretrained.BACKBONES]
            self.pool_bn = nn.ModuleList(n.pool_bn for n in nets)
            self.dense_bn = nn.ModuleList(n.dense_bn for n in nets)
            self.dense = nn.ModuleList(nn.Linear(width, 200) for _ in nets)
            for d, n in zip(self.dense, nets):
                d.load_state_dict(n.dense.state_dict())
            self.start = [p.detach().clone() for p in self.dense.parameters()]
            self.drop = nn.Dropout(s["dropout"])
            self.head_4q, self.head_listener = nn.Linear(400, 2), nn.Linear(400, 2)

        def forward(self, x):
            h = torch.cat(
                [
                    bn2(F.relu(d(bn1(x[:, i * width : (i + 1) * width]))))
                    for i, (bn1, d, bn2) in enumerate(zip(self.pool_bn, self.dense, self.dense_bn))
                ],
                1,
            )
            h = self.drop(h)
            return self.head_4q(h), self.head_listener(h)

        def pull(self):  # L2 towards the pretrained dense weights (L2-SP)
            return sum(((p - p0) ** 2).sum() for p, p0 in zip(self.dense.parameters(), self.start))

    def fit_predict(tra, tea, trl, tel):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        xa = torch.from_numpy(np.vstack([pa[i] for i in tra]))
        za = torch.from_numpy(np.concatenate([np.repeat(axes[i : i + 1], len(pa[i]), 0) for i in tra]))
        xl = torch.from_numpy(np.vstack([pl[i] for i in trl]))
        vl = np.concatenate([np.repeat(yl[i : i + 1], len(pl[i]), 0) for i in trl]).astype(np.float32)
        centre = vl.mean(0)
        vl = torch.from_numpy(vl - centre)
        model = Head()
        opt = torch.optim.AdamW(
            [
                {"params": list(model.dense.parameters()), "weight_decay": 0.0},
                {
                    "params": [*model.head_4q.parameters(), *model.head_listener.parameters()],
                    "weight_decay": s["weight_decay"],
                },
            ],
            lr=s["lr"],
        )
        batch = 256
        for _ in range(s["epochs"]):
            model.train()
            order, order_l = rng.permutation(len(xa)), rng.permutation(len(xl))
            for k in range(len(order) // batch):
                a = order[k * batch : (k + 1) * batch]
                li = order_l[rng.integers(0, len(xl), batch // 4)]  # a quarter batch of listener patches
                loss = (
                    F.binary_cross_entropy_with_logits(model(xa[a])[0], za[a])
                    + s["listener_weight"] * 20 * F.mse_loss(model(xl[li])[1], vl[li])
                    + s["pull"] * model.pull()
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            out_4q = np.stack([model(torch.from_numpy(pa[i]))[0].mean(0).numpy() for i in tea])
            out_l = np.stack([model(torch.from_numpy(pl[i]))[1].mean(0).numpy() + centre for i in tel])
        return out_4q, out_l

    return fit_predict


# --------------------------------------------------------------------------- main


def summarise(runs):
    return {
        k: {"mean": float(np.mean([r[k] for r in runs])), "sd": float(np.std([r[k] for r in runs]))} for k in runs[0]
    }


def reported(name: str, runs: list[dict], **extra) -> dict:
    """The seeds' runs of one plan, summarised (mean ± sd per metric) and printed as one line."""
    summary = summarise(runs)
    print(f"{name:16s} " + "  ".join(f"{k} {v['mean']:.4f}±{v['sd']:.4f}" for k, v in summary.items()), flush=True)
    return {**summary, "runs": runs, **extra}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levers", nargs="+", default=list(CHEAP), choices=[*CHEAP, "finetune_dense"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2, help="processes reading the embedding cache")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (finetune_dense)")
    parser.add_argument("--epochs", type=int, help="finetune_dense epochs instead of 20 (a smoke run)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    a_tracks, a_parts, ya, qa = load(DATA / "4q" / "labels.csv", args.workers)
    TRACKS_4Q[:] = a_tracks
    if "finetune_dense" in args.levers:
        import torch

        torch.set_num_threads(args.threads)
        l_tracks, l_parts, yl, _ = load(DATA / "musifeast" / "labels.csv", args.workers)
    levers = {}
    for name in args.levers:
        settings = []
        for setting in GRIDS[name]:
            if name == "finetune_dense" and args.epochs:
                setting = {**setting, "epochs": args.epochs}
            started, runs = time.time(), []
            for seed in args.seeds:
                oof = np.zeros((len(qa), 2))
                if name == "finetune_dense":
                    oof_l = np.zeros_like(yl)
                    fit_predict = finetune_dense(a_parts, ya, qa, l_parts, yl, seed, setting)
                    for (tra, tea), (trl, tel) in zip(folds(a_tracks, seed), folds(l_tracks, seed)):
                        oof[tea], oof_l[tel] = fit_predict(tra, tea, trl, tel)
                    agree = agreement_metrics(oof_l, yl)
                    runs.append(
                        {
                            **score(oof, qa),
                            "listener_r_valence": agree["r_valence"],
                            "listener_r_arousal": agree["r_arousal"],
                        }
                    )
                else:
                    fit_predict = cheap_lever(name, setting, a_parts, ya, qa, seed, args.workers)
                    for tr, te in folds(a_tracks, seed):
                        oof[te] = fit_predict(tr, te)
                    runs.append(score(oof, qa))
            s = summarise(runs)
            settings.append({"setting": setting, **s, "runs": runs, "seconds": round(time.time() - started, 1)})
            print(
                f"{name:17s} {json.dumps(setting):>8s}  "
                + "  ".join(f"{k} {v['mean']:.3f}±{v['sd']:.3f}" for k, v in s.items())
                + f"  ({time.time() - started:.0f}s)",
                flush=True,
            )
        best = max(settings, key=lambda r: r["accuracy_4q"]["mean"])
        levers[name] = {"seeds": args.seeds, "best": {k: best[k] for k in best if k != "runs"}, "settings": settings}
    previous = json.loads(args.out.read_text()).get("levers", {}) if args.out.exists() else {}
    return write_result(
        args.out,
        {"n_4q": len(qa), "folds": 5, "fold_maker": "bench.listener_cv.folds", "levers": {**previous, **levers}},
    )


if __name__ == "__main__":
    main()
