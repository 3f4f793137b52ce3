"""Features: MFCC, spectral contrast and chroma from one shared STFT, as in the report.

`compute_features` returns the three raw feature matrices (rows x frames). `Normalizer` holds
per-row statistics from the training set and stacks the normalised features as the CNN's
3 x 13 x frames input (contrast and chroma zero-padded to 13 rows). `summary_statistics` gives
the per-row mean and standard deviation the SVR baselines use.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from .audio import SAMPLE_RATE

N_FFT = 2048
HOP = 512
N_MFCC = 13
CONTRAST_FMIN = 200.0
CONTRAST_BANDS = 6  # -> 7 rows
N_CHROMA = 12
FRAMES_PER_SECOND = SAMPLE_RATE / HOP  # ~43.07

FEATURES = ("mfcc", "contrast", "chroma")
ROWS = {"mfcc": N_MFCC, "contrast": CONTRAST_BANDS + 1, "chroma": N_CHROMA}
CHANNEL_ROWS = max(ROWS.values())  # 13
_EDGES = [0] + [int(CONTRAST_FMIN * 2**b) for b in range(CONTRAST_BANDS)]  # band k spans edges k..k+1
ROW_LABELS = {
    "mfcc": [f"MFCC {i}" for i in range(N_MFCC)],
    "contrast": [f"{lo}-{hi} Hz" for lo, hi in zip(_EDGES, _EDGES[1:])] + [f"{_EDGES[-1]}+ Hz"],
    "chroma": ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"],
}


def compute_features(y: np.ndarray) -> dict[str, np.ndarray]:
    """The three features of mono audio at SAMPLE_RATE, each (rows, frames), float32."""
    magnitude = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    power = magnitude**2
    mel = librosa.feature.melspectrogram(S=power, sr=SAMPLE_RATE)
    return {
        "mfcc": librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=N_MFCC),
        "contrast": librosa.feature.spectral_contrast(
            S=magnitude, sr=SAMPLE_RATE, n_fft=N_FFT, fmin=CONTRAST_FMIN, n_bands=CONTRAST_BANDS
        ),
        # tuning=0: the report's 12 equal-tempered bins; estimating tuning costs ~70 ms a clip
        "chroma": librosa.feature.chroma_stft(S=power, sr=SAMPLE_RATE, n_chroma=N_CHROMA, tuning=0.0),
    }


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
