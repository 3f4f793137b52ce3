"""Training: both CNN variants and both SVR baselines on one artist-disjoint split.

The loop is plain PyTorch: class-balanced sampling of random 10 s crops (augmentation), Adam,
mean-squared error on valence/arousal plus a jointly trained quadrant head, early stopping on the
validation loss. Validation uses the same windowed inference as the app. When musicnn is
installed, the pretrained mood model is fitted on the same split. Every model is calibrated on
the validation predictions (see mood.Calibration) and scored on them; the best becomes the
app's headline.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .. import features
from ..io import files
from ..metrics import evaluate_predictions
from ..models import CNNConfig, EmotionCNN, SVRBaseline
from ..models.checkpoints import ModelBundle
from ..mood import QUADRANTS, Calibration
from ..predict import cnn_window_outputs, window_bounds
from . import dataset, model_card

SVR_VARIANTS = {  # name -> (features, rows per feature)
    "svr": (("mfcc",), 3),  # the report's: statistics of the first three MFCCs
    "svr_all": (features.FEATURES, None),  # statistics of every row of all three features
}


@dataclass
class TrainConfig:
    epochs: int = 60
    patience: int = 12
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-3
    crop_seconds: float = 10.0
    hop_seconds: float = 5.0
    quadrant_weight: float = 0.2
    validation_share: float = 0.2
    seed: int = 0
    workers: int = 2  # feature extraction processes
    threads: int = 0  # torch threads for training; 0 = torch's default


def _crops(stacks: list[np.ndarray], indices: np.ndarray, length: int, rng: np.random.Generator):
    """A batch of random `length`-frame crops of the clips `indices`, and each crop's start frame."""
    batch = np.zeros((len(indices), *stacks[0].shape[:2], length), np.float32)
    starts = np.zeros(len(indices), int)
    for row, i in enumerate(indices):
        frames = stacks[i].shape[-1]
        starts[row] = start = rng.integers(0, frames - length + 1) if frames > length else 0
        piece = stacks[i][..., start : start + length]
        batch[row, ..., : piece.shape[-1]] = piece
    return torch.from_numpy(batch), starts


class Recipe:
    """The report's recipe, step by step inside `train_cnn`: each batch of crops as drawn, the
    quadrant head's cross-entropy, the weights as trained. The measured variants that are not
    shipped (masking, transposition, mixup, weight averaging, distillation) subclass it beside the
    benches (bench/train_recipes.py)."""

    def start(self, model: nn.Module) -> None:
        """Before the first epoch."""

    def batch(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        labels: torch.Tensor,
        idx: np.ndarray,
        starts: np.ndarray,
        rng: np.random.Generator,
    ):
        """A batch of crops `x` of the clips `idx` (from frames `starts`), their targets `y` and
        quadrants `labels` -> (crops, targets, classification(logits) -> loss) to train on."""
        return x, y, lambda logits: nn.functional.cross_entropy(logits, labels)

    def step(self, model: nn.Module) -> None:
        """After each optimiser step."""

    def judged(self, model: nn.Module) -> nn.Module:
        """The weights that are validated and, when best, kept."""
        return model


def window_predictions(model, stacks, cfg: TrainConfig) -> np.ndarray:
    """Raw (clips, 2) CNN outputs, each the mean over the clip's windows, as the app predicts."""
    model.eval()
    return np.stack(
        [
            cnn_window_outputs(model, s, window_bounds(s.shape[-1], cfg.crop_seconds, cfg.hop_seconds)).mean(0)
            for s in stacks
        ]
    )


def train_cnn(cnn_config: CNNConfig, train, val, cfg: TrainConfig, label: str = "cnn", recipe: Recipe | None = None):
    """train/val: (stacks, targets (n, 2), classes (n,)). Returns (model, history).

    `recipe`: the steps of the loop (default: the report's, `Recipe`)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = EmotionCNN(cnn_config)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    stacks, targets, classes = train
    counts = np.bincount(classes, minlength=4)
    weights = 1.0 / counts[classes]
    weights /= weights.sum()
    crop = round(cfg.crop_seconds * features.FRAMES_PER_SECOND)
    mse = nn.MSELoss()
    recipe = recipe or Recipe()
    val_targets = torch.tensor(val[1], dtype=torch.float32)
    history, best, best_loss, stale = [], None, float("inf"), 0
    recipe.start(model)
    progress = tqdm(range(cfg.epochs), desc=label)
    for epoch in progress:
        model.train()
        order = rng.choice(len(stacks), size=len(stacks), p=weights)  # class-balanced draw
        losses, maes = [], []
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            x, starts = _crops(stacks, idx, crop, rng)
            y = torch.tensor(targets[idx], dtype=torch.float32)
            x, y, classification_loss = recipe.batch(x, y, torch.tensor(classes[idx]), idx, starts, rng)
            values, logits = model(x)
            regression = mse(values, y)
            classification = classification_loss(logits)
            loss = regression + cfg.quadrant_weight * classification
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            recipe.step(model)
            losses.append(regression.item() * len(idx))  # the curves compare MSE with MSE
            maes.append((values - y).abs().mean().item() * len(idx))
        judged = recipe.judged(model)  # the weights that would be kept
        raw = window_predictions(judged, val[0], cfg)
        val_mse = float(((torch.tensor(raw, dtype=torch.float32) - val_targets) ** 2).mean())
        cal = Calibration.fit(raw, val[1])
        scores = evaluate_predictions(cal.apply(raw), val[1], val[2])
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": sum(losses) / len(order),
                "train_mae": sum(maes) / len(order),
                "val_loss": val_mse,
                "val_mae": float(np.abs(raw - val[1]).mean()),
                "val_accuracy": scores["accuracy"],
            }
        )
        progress.set_postfix(val_mse=f"{val_mse:.4f}", val_acc=f"{scores['accuracy']:.3f}")
        if val_mse < best_loss - 1e-5:
            best, best_loss, stale = copy.deepcopy(judged.state_dict()), val_mse, 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    model.load_state_dict(best)
    return model.eval(), history


def train_pretrained(tracks, train_idx, cache_dir, cfg: TrainConfig):
    """The mood model on musicnn embeddings, or None (with a message) when musicnn is missing."""
    from ..models import musicnn, pretrained

    try:
        pretrained.load_backbones()
    except musicnn.MusicnnNotInstalled as error:
        print(f"pretrained model skipped: {error}")
        return None, None
    kept, parts, problems = dataset.extract_parts(tracks, cache_dir and Path(cache_dir) / "embeddings", cfg.workers)
    if problems:  # the same files decoded for the features: should not happen
        raise RuntimeError(f"embedding failed for {len(problems)} tracks: {next(iter(problems.values()))}")
    per_patch = [pretrained.select(p) for p in parts]
    x = np.stack([p.mean(0) for p in per_patch])
    targets = np.array([[t.valence, t.arousal] for t in tracks])
    classes = np.array([t.quadrant for t in tracks])
    model = pretrained.PretrainedMood().fit(x[train_idx], targets[train_idx], classes[train_idx])
    return model, x


def run_training(
    tracks: list[dataset.Track],
    out_dir,
    cache_dir=None,
    cfg: TrainConfig = TrainConfig(),
    source: str = "",
    listener_tracks: list[dataset.Track] | None = None,
) -> dict:
    """Train everything on `tracks`, write the checkpoints to `out_dir`; returns metrics.

    `cache_dir` keeps features (and embeddings) between runs, in its features/ and embeddings/.
    With `listener_tracks` (listener-rated clips) the headline model gets its listener head, every
    model is calibrated onto the listener scale (what the app then reports) and scored on it.
    """
    started = time.time()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    tracks, feats, problems = dataset.load_features(tracks, cache_dir and Path(cache_dir) / "features", cfg.workers)
    for path, message in problems.items():
        print(f"skipped {path}: {message}")
    if len(tracks) < 8:
        raise ValueError(f"Only {len(tracks)} readable tracks: too few to train on.")
    train_idx, val_idx = dataset.artist_split(tracks, cfg.validation_share, cfg.seed)
    targets = np.array([[t.valence, t.arousal] for t in tracks])
    classes = np.array([t.quadrant for t in tracks])
    normalizer = features.Normalizer.fit([feats[i] for i in train_idx])
    stacks = [normalizer.stack(f) for f in feats]

    def part(idx):
        return [stacks[i] for i in idx], targets[idx], classes[idx]

    pretrained_model, embeddings = train_pretrained(tracks, train_idx, cache_dir, cfg)
    raw, histories, cnns = {}, {}, {}
    for name, config in {"cnn": CNNConfig(), "crnn": CNNConfig(recurrent=True)}.items():
        cnns[name], histories[name] = train_cnn(config, part(train_idx), part(val_idx), cfg, name)
        raw[name] = window_predictions(cnns[name], part(val_idx)[0], cfg)

    svrs = {}
    for name, (names, rows) in SVR_VARIANTS.items():
        svr = SVRBaseline(names, rows)
        x = np.stack([svr.inputs(f) for f in feats])
        svrs[name] = svr.fit(x[train_idx], targets[train_idx])
        raw[name] = svr.predict(x[val_idx])

    if pretrained_model is not None:
        raw["pretrained"] = pretrained_model.predict_raw(embeddings[val_idx])

    calibration = {name: Calibration.fit(values, targets[val_idx]) for name, values in raw.items()}
    calibration_4q = dict(calibration)
    scores = {
        name: evaluate_predictions(calibration[name].apply(values), targets[val_idx], classes[val_idx])
        for name, values in raw.items()
    }
    # The app's CNN is always the report's: the CNN->RNN (its proposal) is trained and reported beside it
    # (a validation split of 150 clips cannot tell the two apart: bench/cnn_cv.py, 0.644 vs 0.622)
    default = "cnn"
    app_models = {"cnn": default, **{name: name for name in raw if name not in cnns}}  # as the app names them
    headline = max(app_models, key=lambda n: (scores[app_models[n]]["accuracy"], scores[app_models[n]]["macro_f1"]))

    facts = {
        "trained_on": {
            "source": source,
            "n_tracks": len(tracks),
            "n_train": len(train_idx),
            "n_validation": len(val_idx),
            "n_artists": len({t.artist for t in tracks}),
            "skipped": len(problems),
            "quadrant_counts": np.bincount(classes, minlength=4).tolist(),
        },
        "train_config": asdict(cfg),
    }
    joint, centre, shown_4q = None, (0.5, 0.5), None
    points = {name: calibration_4q[name].apply(values) for name, values in raw.items()}  # per validation clip
    if listener_tracks and pretrained_model is not None:
        joint, centre, listener_metrics, shown_4q, calibration, points = train_on_listeners(
            tracks, feats, embeddings, listener_tracks, cache_dir, cfg, normalizer, cnns, svrs, raw, val_idx
        )
        pretrained_model = joint.four_q  # the shipped 4Q head is the joint head's, fitted on every 4Q clip
        facts["scale"] = "listener"
    else:
        facts["scale"] = "4q"
    per_clip = []
    for row, i in enumerate(val_idx):
        t = tracks[i]
        entry = {
            "song_id": t.song_id,
            "artist": t.artist,
            "valence": t.valence,
            "arousal": t.arousal,
            "quadrant": QUADRANTS[t.quadrant],
        }
        for name, values in points.items():
            entry[name] = {"valence": round(float(values[row, 0]), 4), "arousal": round(float(values[row, 1]), 4)}
        per_clip.append(entry)
    bundle = ModelBundle(
        normalizer,
        cnns,
        svrs,
        calibration,
        default,
        headline,
        pretrained_model,
        cfg.crop_seconds,
        cfg.hop_seconds,
        facts,
        joint and joint.listener,
        joint,
        centre,
    )
    bundle.save(out_dir)
    metrics = {
        **facts,
        "default_cnn": default,
        "headline": headline,
        "validation": scores,
        "history": histories,
        "calibration": {name: cal.to_dict() for name, cal in calibration.items()},
        "calibration_4q": {name: cal.to_dict() for name, cal in calibration_4q.items()},
        "predictions": per_clip,
        "parameters": {name: sum(p.numel() for p in m.parameters()) for name, m in cnns.items()},
        "train_seconds": round(time.time() - started, 1),
    }
    metrics["mood_centre"] = list(centre)
    if joint is not None:
        metrics["shown_rule"] = listener_metrics.pop("shown_rule")  # the headline as shown, over fold seeds
        metrics["listener"] = listener_metrics
        metrics["shown_4q"] = shown_4q  # what the app shows on 4Q: the mood named around the mood centre
        metrics["joint"] = joint.to_config()
    files.write_text(Path(out_dir) / "metrics.json", json.dumps(metrics, indent=1))  # whole, or not at all
    files.write_text(Path(out_dir) / "MODEL_CARD.md", model_card.render(metrics))
    return metrics


def clip_cues(feats) -> np.ndarray:
    from ..listener.cues import clip_cues as one

    return np.stack([one(f) for f in feats])


def train_on_listeners(
    tracks,
    feats,
    embeddings,
    listener_tracks,
    cache_dir,
    cfg: TrainConfig,
    normalizer,
    cnns,
    svrs,
    raw_4q: dict,
    val_idx,
) -> tuple:
    """What the app shows, fitted on both sources and judged on both (issue 20).

    The headline is the joint head (``emotionet.models.joint``: the listener and 4Q heads blended)
    fitted on all clips of both sources, judged by artist-grouped CV on both at once. Its mood
    centre (the shown point of the median 4Q clip) is where every model's moods meet. The report's
    models learned from 4Q only: each is mapped onto the listener scale with its median on the 4Q
    validation clips (`raw_4q`, a balanced set they never trained on) on that centre, and judged on
    those clips and on the listener clips, which they never saw.

    Returns (joint head, mood centre, metrics["listener"], metrics["shown_4q"], the app's calibrations,
    every model's shown points on the 4Q validation clips (the headline's held out by the CV)).
    """
    from ..listener import judge
    from ..models.joint import SHIPPED_BLEND, SHIPPED_DECIDE, JointHead, cross_validate

    cache = cache_dir and Path(cache_dir)
    l_tracks, l_feats, problems = dataset.load_features(listener_tracks, cache and cache / "features", cfg.workers)
    kept, x_l, more = dataset.extract_embeddings(l_tracks, cache and cache / "embeddings", cfg.workers)
    if problems or more or len(kept) != len(l_tracks):
        raise RuntimeError(f"unreadable listener clips: { ({**problems, **more}) }")
    y_l = np.array([[t.valence, t.arousal] for t in l_tracks])
    y_4q = np.array([[t.valence, t.arousal] for t in tracks])
    q_4q = np.array([t.quadrant for t in tracks])
    c_4q, c_l = clip_cues(feats), clip_cues(l_feats)
    folds_l, folds_4q = judge.listener_folds(l_tracks, seed=cfg.seed), judge.listener_folds(tracks, seed=cfg.seed)

    head = JointHead.fit(embeddings, c_4q, y_4q, q_4q, x_l, c_l, y_l, SHIPPED_BLEND, SHIPPED_DECIDE)
    headline_cal, centre = head.calibrate(embeddings, c_4q, x_l, c_l, y_l)
    cv = cross_validate(embeddings, c_4q, y_4q, q_4q, x_l, c_l, y_l, folds_4q, folds_l, [head.blend], head.decide)[
        tuple(head.blend)
    ]
    (shown_4q, centres_4q), (shown_l, centres_l, confidence) = cv["4q"], cv["listener"]
    headline_cal.error_from(shown_l, y_l)  # confidence from the held-out error, not the fit's own
    calibration = {"pretrained": headline_cal}
    scores = {"pretrained": judge.score_listeners(shown_l, y_l, centres_l, confidence)}
    scores_4q = {
        "pretrained": {
            **judge.score_4q(shown_4q, q_4q, centres_4q),
            "judged_on": f"artist-grouped {len(folds_4q)}-fold CV, all {len(tracks)} clips",
        }
    }
    shown = {"pretrained": shown_l}
    points = {"pretrained": shown_4q[val_idx]}

    stacks = [normalizer.stack(f) for f in l_feats]
    raw_l = {name: window_predictions(model, stacks, cfg) for name, model in cnns.items()}
    for name, svr in svrs.items():
        raw_l[name] = svr.predict(np.stack([svr.inputs(f) for f in l_feats]))
    for name, values in raw_l.items():
        pivot = np.median(raw_4q[name], axis=0)
        calibration[name], scores[name], shown[name] = judge.judge_on_listeners(values, y_l, folds_l, pivot, centre)
        scores_4q[name] = {
            **judge.score_4q(calibration[name].apply(raw_4q[name]), q_4q[val_idx], centre),
            "judged_on": f"the {len(val_idx)} validation clips (artist-disjoint split)",
        }
        points[name] = calibration[name].apply(raw_4q[name])
    per_clip = []
    for row, t in enumerate(l_tracks):
        entry = {
            "song_id": t.song_id,
            "artist": t.artist,
            "valence": t.valence,
            "arousal": t.arousal,
            "quadrant": QUADRANTS[t.quadrant],
        }
        for name in shown:
            entry[name] = {
                "valence": round(float(shown[name][row, 0]), 4),
                "arousal": round(float(shown[name][row, 1]), 4),
            }
        per_clip.append(entry)
    metrics = {**judge.source_facts(l_tracks), "folds": len(folds_l), "models": scores, "predictions": per_clip}
    metrics["shown_rule"] = shown_rule_over_seeds(embeddings, c_4q, y_4q, q_4q, x_l, c_l, y_l, tracks, l_tracks, head)
    return head, centre, metrics, scores_4q, calibration, points


def shown_rule_over_seeds(x4q, c4q, y4q, q4q, x_l, c_l, y_l, tracks, l_tracks, head, seeds=None) -> dict:
    """What the app shows, judged by artist-grouped CV for each of several fold seeds on both truths
    (`models.joint.seed_scores`): every figure as its mean, its spread over the seeds and the 95%
    range it may read on a held-out set of 150 clips (issue 25: a user's own check)."""
    from ..listener import judge
    from ..models.joint import FOLD_SEEDS, HELD_OUT_SET, seed_scores, summarise_seeds

    seeds = list(FOLD_SEEDS if seeds is None else seeds)
    runs = [
        seed_scores(
            x4q,
            c4q,
            y4q,
            q4q,
            x_l,
            c_l,
            y_l,
            judge.listener_folds(tracks, seed=seed),
            judge.listener_folds(l_tracks, seed=seed),
            tuple(head.blend),
            head.decide,
        )
        for seed in seeds
    ]
    return {
        "fold_seeds": seeds,
        "blend": head.blend.tolist(),
        "decide": head.decide,
        "interval_for": HELD_OUT_SET,
        "chosen_by": "bench/shown_rule.py",
        **summarise_seeds(runs),
    }
