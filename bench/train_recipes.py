"""The CNN training variants that were measured but not shipped (bench/cnn_distill.py): a
`training.Recipe` with SpecAugment-style masking, chroma transposition, mixup, an exponential
moving average of the weights and distillation (bench/distill.py's teacher). With every option
off it trains exactly as the report's recipe (`emotionet.training.Recipe`): the random draws are
the same, in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from emotionet import features
from emotionet.training import Recipe

MASK_SHARE = 0.15  # the longest time span masked, as a share of the crop
CHROMA = features.FEATURES.index("chroma")


def _mask(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Each crop (batch, 3, 13, frames) with one random time span (up to MASK_SHARE) and one random
    row of every feature set to 0, the training mean of the normalised features."""
    x = x.clone()
    frames = x.shape[-1]
    for row in range(len(x)):
        width = int(rng.integers(0, int(MASK_SHARE * frames) + 1))
        start = int(rng.integers(0, frames - width + 1))
        x[row, :, :, start : start + width] = 0.0
        x[row, :, int(rng.integers(0, x.shape[2]))] = 0.0
    return x


def _transpose(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Each crop's 12 chroma rows rolled by its own random shift, 0-11 semitones: the same music
    in another key, which leaves valence and arousal as they were (mode and harmony are kept)."""
    x = x.clone()
    chroma = x[:, CHROMA, : features.N_CHROMA]
    for row, shift in enumerate(rng.integers(0, features.N_CHROMA, len(x))):
        x[row, CHROMA, : features.N_CHROMA] = torch.roll(chroma[row], int(shift), dims=0)
    return x


def _mixup(x, y, alpha: float, rng: np.random.Generator):
    """Mixup: each crop blended with another of the batch, its targets blended alike. Returns the
    mixed crops and targets, the partner order and each crop's own share (for the class loss)."""
    share = torch.tensor(rng.beta(alpha, alpha, len(x)), dtype=torch.float32)
    partner = torch.from_numpy(rng.permutation(len(x)))
    mixed = share[:, None, None, None] * x + (1 - share[:, None, None, None]) * x[partner]
    return mixed, share[:, None] * y + (1 - share[:, None]) * y[partner], partner, share


@dataclass
class Experimental(Recipe):
    """`masking`: SpecAugment-style, per crop one time span and one feature row set to the mean;
    `transpose`: per crop, the chroma rows rolled by a random number of semitones (a key change);
    `mixup` > 0: crops and their targets mixed in pairs, weights ~ Beta(mixup, mixup);
    `weight_average` > 0: validate and keep an exponential moving average of the weights (decay
    per step); `teacher(clip indices, crop start frames) -> (n, 2)` with `teacher_weight` > 0: a
    crop's regression target is (1 - teacher_weight) x its clip's label + teacher_weight x the
    teacher's value (bench/distill.py)."""

    masking: bool = False
    transpose: bool = False
    mixup: float = 0.0
    weight_average: float = 0.0
    teacher: Callable | None = None
    teacher_weight: float = 0.0

    def start(self, model: nn.Module) -> None:
        self._averaged = (
            torch.optim.swa_utils.AveragedModel(  # batch-norm statistics averaged too (use_buffers)
                model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(self.weight_average), use_buffers=True
            )
            if self.weight_average > 0
            else None
        )

    def batch(self, x, y, labels, idx, starts, rng):
        if self.masking:
            x = _mask(x, rng)
        if self.transpose:
            x = _transpose(x, rng)
        if self.teacher is not None and self.teacher_weight > 0:
            soft = torch.tensor(self.teacher(idx, starts), dtype=torch.float32)
            y = (1 - self.teacher_weight) * y + self.teacher_weight * soft
        if self.mixup <= 0:
            return x, y, lambda logits: nn.functional.cross_entropy(logits, labels)
        x, y, partner, share = _mixup(x, y, self.mixup, rng)

        def classification(logits):
            per_crop = nn.functional.cross_entropy(logits, labels, reduction="none")
            partners = nn.functional.cross_entropy(logits, labels[partner], reduction="none")
            return (share * per_crop + (1 - share) * partners).mean()

        return x, y, classification

    def step(self, model: nn.Module) -> None:
        if self._averaged is not None:
            self._averaged.update_parameters(model)

    def judged(self, model: nn.Module) -> nn.Module:
        return self._averaged.module if self._averaged is not None else model
