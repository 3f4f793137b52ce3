"""The CNN training loop, plain PyTorch: class-balanced sampling of random 10 s crops
(augmentation), Adam, mean-squared error on valence/arousal plus a jointly trained quadrant head,
early stopping on the validation loss. Validation uses the same windowed inference as the app.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .. import features
from ..metrics import evaluate_predictions
from ..models.cnn import CNNConfig, EmotionCNN
from ..mood import Calibration
from ..predict import cnn_window_outputs, window_bounds


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
    quadrant head's cross-entropy, the weights as trained. The measured variants that were not
    shipped (masking, transposition, mixup, weight averaging, distillation: docs/research.md)
    subclassed it in bench/train_recipes.py, retired with its results recorded."""

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
