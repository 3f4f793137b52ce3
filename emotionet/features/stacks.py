"""What the models read from the features: `Normalizer` holds per-row statistics from the training
set and stacks the normalised features as the CNN's 3 x 13 x frames input (contrast and chroma
zero-padded to 13 rows); `summary_statistics` gives the per-row mean and standard deviation the SVR
baselines use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .extract import CHANNEL_ROWS, FEATURES


def n_frames(features: dict[str, np.ndarray]) -> int:
    return features["mfcc"].shape[1]


def slice_frames(features: dict[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    return {name: matrix[:, start:stop] for name, matrix in features.items()}


def summary_statistics(features: dict[str, np.ndarray], names=FEATURES, rows: int | None = None) -> np.ndarray:
    """Mean and standard deviation over time of each row: the SVR's input vector.

    `rows` keeps only the first rows of each feature (the report: the first 3 MFCCs).
    """
    parts = []
    for name in names:
        matrix = features[name][:rows]
        parts += [matrix.mean(axis=1), matrix.std(axis=1)]
    return np.concatenate(parts).astype(np.float32)


@dataclass
class Normalizer:
    """Per-row mean and standard deviation of each feature over the training frames."""

    mean: dict[str, np.ndarray]
    std: dict[str, np.ndarray]

    @classmethod
    def fit(cls, feature_sets: list[dict[str, np.ndarray]]) -> "Normalizer":
        mean, std = {}, {}
        for name in FEATURES:
            frames = np.concatenate([f[name] for f in feature_sets], axis=1)
            mean[name] = frames.mean(axis=1)
            std[name] = np.maximum(frames.std(axis=1), 1e-6)
        return cls(mean, std)

    def stack(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """Normalised features as one (3, 13, frames) float32 array."""
        out = np.zeros((len(FEATURES), CHANNEL_ROWS, n_frames(features)), np.float32)
        for channel, name in enumerate(FEATURES):
            matrix = features[name]
            out[channel, : len(matrix)] = (matrix - self.mean[name][:, None]) / self.std[name][:, None]
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {f"{kind}_{name}": getattr(self, kind)[name] for kind in ("mean", "std") for name in FEATURES}

    @classmethod
    def from_arrays(cls, arrays) -> "Normalizer":
        return cls(*({name: np.asarray(arrays[f"{kind}_{name}"]) for name in FEATURES} for kind in ("mean", "std")))
