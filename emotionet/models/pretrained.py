"""A mood model on pretrained musicnn embeddings (issue 6).

Pipeline: clip at 22.05 kHz -> 16 kHz -> one log-mel -> both musicnn backbones (MSD and MTT),
per 3 s patch -> the chosen embedding parts concatenated -> mean over patches (a clip, or a
window of the timeline) -> standardise -> classifier/regressor (see ``PretrainedMood``).

Training caches embeddings per file (`training.dataset.extract_parts`) under a key that includes
``EMBEDDING_VERSION``; the cache holds every part in ``CACHED_PARTS`` so that the recipe
(``PARTS``) can change without re-embedding.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..io import audio, files
from . import musicnn as mn

BACKBONES = ("MSD_musicnn", "MTT_musicnn")
CACHED_PARTS = ("penultimate", "tags", "pool")  # what the cache keeps per backbone and patch
# What the model uses, per backbone: the 200-d penultimate layer and the 50 tag probabilities
# (artist-grouped CV: +1 point of accuracy over the penultimate alone; the 1506-d pooled
# features were worse and 10x slower to fit). See bench/pretrained_cv.py.
PARTS = ("penultimate", "tags")
PART_DIMS = {"penultimate": 200, "tags": 50, "pool": 1506}
EMBEDDING_VERSION = json.dumps(
    [
        audio.SAMPLE_RATE,
        mn.SAMPLE_RATE,
        mn.N_FFT,
        mn.HOP,
        mn.N_MELS,
        mn.PATCH_FRAMES,
        mn.PATCH_HOP,
        list(BACKBONES),
        list(CACHED_PARTS),
        "emb-v1",
    ]
)


# --------------------------------------------------------------------------- embedding


def load_backbones(precision: str | None = None) -> dict[str, mn.Musicnn]:
    """Both pretrained musicnn networks, loaded once per process and precision (raises
    MusicnnNotInstalled). `precision`: see ``musicnn.default_precision`` (used when None)."""
    return _backbones(precision or mn.default_precision())


@lru_cache(maxsize=2)
def _backbones(precision: str) -> dict[str, mn.Musicnn]:
    return {name: mn.load_musicnn(name, precision=precision) for name in BACKBONES}


TRAINING_PRECISION = "float32"  # cached training embeddings are exact, whatever the CPU


EMBED_BATCH = 4  # patches per forward pass: memory stays flat however long the audio


def embed_parts(backbones: dict, y_22k: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """All ``CACHED_PARTS`` of every backbone, per patch: {"MSD_musicnn/penultimate": (P, 200), ...},
    and the patch start times (P,) in seconds. The log-mel is computed once for both backbones."""
    y = np.asarray(y_22k, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected mono audio (1-D), got shape {y.shape}")
    embedder = PatchEmbedder(backbones)
    for i in range(0, len(y), 30 * audio.SAMPLE_RATE):
        embedder.push(y[i : i + 30 * audio.SAMPLE_RATE])
    return embedder.finish()


class PatchEmbedder:
    """``embed_parts`` of audio that arrives in blocks (mono, 22.05 kHz): resampled to 16 kHz and
    turned into log-mel frames as it comes, each full batch of EMBED_BATCH 3 s patches run through
    both backbones at once; only the per-patch embeddings are kept.

    `step` > 1 embeds every `step`-th patch only (the first, then one every `step` x 3 s): musicnn,
    most of an analysis's work, runs `step` times less (the `overnight` scan preset; its effect
    on the moods is measured by bench/library_speed.py). The patch starts say which were embedded."""

    def __init__(self, backbones: dict, parts=CACHED_PARTS, batch: int = EMBED_BATCH, step: int = 1):
        import soxr

        from ..features import StftStream

        if step < 1:
            raise ValueError(f"patch step {step}: give 1 (every patch) or more")
        self.backbones, self.parts, self.batch, self.step = backbones, tuple(parts), batch, int(step)
        self.n_cut = 0  # whole patches cut from the log-mel so far; every `step`-th one is embedded
        self.kept: list[np.ndarray] = []  # patches waiting for a full batch
        self.kept_index: list[int] = []  # the index of every embedded patch, in order
        self.resampler = soxr.ResampleStream(audio.SAMPLE_RATE, mn.SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        self.stft = StftStream(mn.N_FFT, mn.HOP)
        self.pending = np.zeros((0, mn.N_MELS), np.float32)  # log-mel frames not yet in a patch
        self.n_samples = self.n_frames = self.n_patches = 0
        self.out: dict[str, list[np.ndarray]] = {f"{b}/{p}": [] for b in BACKBONES for p in self.parts}

    def push(self, block_22k: np.ndarray) -> None:
        block = np.ascontiguousarray(block_22k, np.float32)
        self.n_samples += len(block)
        self._frames(self.stft.push(self.resampler.resample_chunk(block, last=False)))

    def finish(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        if self.n_samples < mn.MIN_SECONDS * audio.SAMPLE_RATE:
            raise audio.AudioError(
                f"The audio is too short: {self.n_samples / audio.SAMPLE_RATE:.2f} s < {mn.MIN_SECONDS} s."
            )
        self._frames(self.stft.push(self.resampler.resample_chunk(np.zeros(0, np.float32), last=True)))
        self._frames(self.stft.finish())
        if self.n_cut == 0:  # under 3 s: one repeat-padded patch, as musicnn does
            self.kept_index.append(0)
            self._run(mn.to_patches(self.pending))
        else:
            self._flush(final=True)
        parts = {key: np.concatenate(chunks) for key, chunks in self.out.items()}
        starts = np.asarray(self.kept_index, dtype=np.float32) * (mn.PATCH_HOP * mn.HOP / mn.SAMPLE_RATE)
        return parts, starts

    def _frames(self, spectrum: np.ndarray) -> None:
        if spectrum.shape[1]:
            mel = mn._mel_basis() @ (np.abs(spectrum) ** 2)
            frames = np.log10(1.0 + 10000.0 * mel).T.astype(np.float32)
            self.pending = np.concatenate([self.pending, frames])
            self.n_frames += len(frames)
        self._flush(final=False)

    def _flush(self, final: bool) -> None:
        """Cut the complete patches waiting, keep every `step`-th, and embed the kept ones in full
        batches (with `final`, whatever is left)."""
        whole = len(self.pending) // mn.PATCH_FRAMES
        if whole:
            patches = self.pending[: whole * mn.PATCH_FRAMES].reshape(whole, mn.PATCH_FRAMES, mn.N_MELS)
            for i in range(whole):
                if (self.n_cut + i) % self.step == 0:
                    self.kept.append(patches[i])
                    self.kept_index.append(self.n_cut + i)
            self.n_cut += whole
            self.pending = self.pending[whole * mn.PATCH_FRAMES :].copy()
        while len(self.kept) >= self.batch or (final and self.kept):
            take = min(len(self.kept), self.batch)
            self._run(np.stack(self.kept[:take]))
            del self.kept[:take]

    def _run(self, patches: np.ndarray) -> None:
        import torch

        with torch.inference_mode():
            device = next(self.backbones[BACKBONES[0]].parameters()).device  # where the nets are
            batch = torch.from_numpy(np.ascontiguousarray(patches)).to(device)
            outputs = mn.forward_together([self.backbones[name] for name in BACKBONES], batch)
            for name, out in zip(BACKBONES, outputs):
                for part in self.parts:
                    self.out[f"{name}/{part}"].append(out[part].float().cpu().numpy().astype(np.float32))
        self.n_patches += len(patches)


def select(parts: dict[str, np.ndarray], part_names=PARTS) -> np.ndarray:
    """(P, D) per-patch embedding: the named parts of every backbone, concatenated."""
    return np.concatenate([parts[f"{b}/{p}"] for b in BACKBONES for p in part_names], axis=1)


def embed_clip(backbones: dict, y_22k: np.ndarray, part_names=PARTS) -> tuple[np.ndarray, np.ndarray]:
    """(per_patch (P, D), patch_starts_s (P,)) of mono 22.05 kHz audio; D = 500 for the
    default recipe (MSD and MTT: penultimate + tags). A clip's embedding is ``per_patch.mean(0)``."""
    parts, starts = embed_parts(backbones, y_22k)
    return select(parts, part_names), starts


# --------------------------------------------------------------------------- model

SCHEMES = ("axes", "quadrant", "ridge")
SCHEME = "axes"  # the shipped scheme, chosen by bench/pretrained_cv.py
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3)  # inverse L2 strength of the logistic models (standardised inputs)
ALPHA_GRID = (10.0, 30.0, 100.0, 300.0, 1000.0)  # ridge strength
DEFAULT_C = 0.03  # best on average over 3 repeats of 5-fold artist-grouped CV (0.01-0.1 within 1 point)
DEFAULT_ALPHA = 300.0
POSITIVE_VALENCE = (0, 3)  # Q1 happy, Q4 calm
POSITIVE_AROUSAL = (0, 1)  # Q1 happy, Q2 aggressive


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def axis_labels(classes) -> np.ndarray:
    """(n, 2) 0/1: positive valence (Q1, Q4), positive arousal (Q1, Q2)."""
    classes = np.asarray(classes, int)
    return np.stack([np.isin(classes, POSITIVE_VALENCE), np.isin(classes, POSITIVE_AROUSAL)], 1).astype(int)


def quadrant_proba_from_axes(p: np.ndarray) -> np.ndarray:
    """(n, 2) P(valence +), P(arousal +) -> (n, 4) Q1..Q4 probabilities, axes taken as independent."""
    pv, pa = p[:, 0], p[:, 1]
    return np.stack([pv * pa, (1 - pv) * pa, (1 - pv) * (1 - pa), pv * (1 - pa)], 1)


class PretrainedMood:
    """Standardise -> a linear model on mean musicnn embeddings; outputs raw valence/arousal in 0-1.

    Schemes (``scheme``):
      "axes"      two binary logistic regressions, P(valence > 0.5) and P(arousal > 0.5) (labels
                  from the quadrant). The raw point is (0.5 + scale_v (P_v - 0.5),
                  0.5 + scale_a (P_a - 0.5)): its quadrant at 0.5 is exactly the most probable
                  mood under independent axes, and the scales (least squares against the
                  continuous labels) put it on the valence/arousal scale.
      "quadrant"  one 4-class logistic regression; raw point from P(Q1)+P(Q4), P(Q1)+P(Q2),
                  scaled the same way (its quadrant can differ from the argmax).
      "ridge"     ridge regression straight to valence/arousal.
    ``predict_proba`` gives Q1..Q4 probabilities for the logistic schemes.
    """

    def __init__(self, scheme: str = SCHEME, C: float = DEFAULT_C, alpha: float = DEFAULT_ALPHA, part_names=PARTS):
        if scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {scheme!r}; choose one of {SCHEMES}")
        self.scheme, self.C, self.alpha, self.part_names = scheme, float(C), float(alpha), tuple(part_names)
        self.mean = self.std = self.coef = self.intercept = None
        self.scale = np.ones(2)

    # -- fitting
    def fit(self, x: np.ndarray, targets: np.ndarray, classes) -> "PretrainedMood":
        """x (n, D) clip embeddings, targets (n, 2) valence/arousal 0-1, classes (n,) 0..3."""
        from sklearn.linear_model import LogisticRegression, Ridge

        x, targets, classes = np.asarray(x, np.float64), np.asarray(targets, float), np.asarray(classes, int)
        self.mean, self.std = x.mean(0), np.maximum(x.std(0), 1e-6)
        z = (x - self.mean) / self.std
        if self.scheme == "ridge":
            reg = Ridge(alpha=self.alpha).fit(z, targets)
            self.coef, self.intercept = reg.coef_, reg.intercept_
            return self
        if self.scheme == "axes":
            labels = axis_labels(classes)
            fits = [LogisticRegression(C=self.C, max_iter=2000).fit(z, labels[:, i]) for i in range(2)]
            self.coef = np.stack([f.coef_[0] for f in fits])
            self.intercept = np.array([f.intercept_[0] for f in fits])
        else:
            clf = LogisticRegression(C=self.C, max_iter=2000).fit(z, classes)
            if list(clf.classes_) != [0, 1, 2, 3]:
                raise ValueError("the quadrant scheme needs examples of all four quadrants")
            self.coef, self.intercept = clf.coef_, clf.intercept_
        # scale the probability point onto the label scale (least squares through (0.5, 0.5))
        d = self._axis_scores(z) - 0.5
        t = targets - 0.5
        self.scale = np.clip((d * t).sum(0) / np.maximum((d * d).sum(0), 1e-12), 0.05, 1.0)
        return self

    # -- prediction
    def _z(self, x) -> np.ndarray:
        return (np.atleast_2d(np.asarray(x, np.float64)) - self.mean) / self.std

    def _axis_scores(self, z: np.ndarray) -> np.ndarray:
        """(n, 2) P(valence +), P(arousal +) of standardised inputs (logistic schemes)."""
        logits = z @ self.coef.T + self.intercept
        if self.scheme == "axes":
            return _sigmoid(logits)
        p = _softmax(logits)
        return np.stack([p[:, 0] + p[:, 3], p[:, 0] + p[:, 1]], 1)

    def predict_raw(self, x: np.ndarray) -> np.ndarray:
        """(n, D) or (D,) embeddings -> (n, 2) raw valence/arousal in 0-1."""
        z = self._z(x)
        if self.scheme == "ridge":
            return np.clip(z @ self.coef.T + self.intercept, 0.0, 1.0)
        return np.clip(0.5 + self.scale * (self._axis_scores(z) - 0.5), 0.0, 1.0)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, 4) Q1..Q4 probabilities (logistic schemes only)."""
        z = self._z(x)
        if self.scheme == "axes":
            return quadrant_proba_from_axes(self._axis_scores(z))
        if self.scheme == "quadrant":
            return _softmax(z @ self.coef.T + self.intercept)
        raise ValueError("the ridge scheme gives no probabilities")

    # -- storage (plain arrays, no pickle)
    def to_arrays(self) -> dict[str, np.ndarray]:
        params = {
            "scheme": self.scheme,
            "C": self.C,
            "alpha": self.alpha,
            "parts": list(self.part_names),
            "backbones": list(BACKBONES),
            "embedding_version": EMBEDDING_VERSION,
        }
        return {
            "params": np.array(json.dumps(params)),
            "mean": self.mean,
            "std": self.std,
            "coef": self.coef,
            "intercept": np.asarray(self.intercept),
            "scale": self.scale,
        }

    @classmethod
    def from_arrays(cls, arrays) -> "PretrainedMood":
        params = json.loads(str(arrays["params"]))
        if params["backbones"] != list(BACKBONES):
            raise ValueError(f"model was trained on backbones {params['backbones']}, this code embeds with {BACKBONES}")
        model = cls(params["scheme"], params["C"], params["alpha"], params["parts"])
        for name in ("mean", "std", "coef", "intercept", "scale"):
            setattr(model, name, np.asarray(arrays[name], np.float64))
        return model

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with files.replacing(path) as handle:
            np.savez(handle, **self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PretrainedMood":
        with np.load(path, allow_pickle=False) as data:
            return cls.from_arrays({k: data[k] for k in data.files})


def choose_C(x, targets, classes, groups, n_splits: int = 4, seed: int = 0, scheme: str = SCHEME) -> float:
    """The C of ``C_GRID`` with the best artist-grouped CV quadrant accuracy (raw 0.5 thresholds)."""
    from sklearn.model_selection import StratifiedGroupKFold

    from ..mood import mood_index

    x, targets, classes = np.asarray(x), np.asarray(targets), np.asarray(classes, int)
    folds = list(StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed).split(x, classes, groups))
    scores = []
    for c in C_GRID:
        hits = 0
        for tr, te in folds:
            raw = PretrainedMood(scheme, C=c).fit(x[tr], targets[tr], classes[tr]).predict_raw(x[te])
            hits += int((mood_index(raw[:, 0], raw[:, 1]) == classes[te]).sum())
        scores.append(hits)
    return float(C_GRID[int(np.argmax(scores))])


# --------------------------------------------------------------------------- analysis


def window_embeddings(per_patch: np.ndarray, patch_starts_s: np.ndarray, bounds) -> np.ndarray:
    """(W, D) mean embedding of the patches whose centre lies in each window (nearest patch if none)."""
    patch_s = mn.PATCH_FRAMES * mn.HOP / mn.SAMPLE_RATE
    centres = np.asarray(patch_starts_s, float) + patch_s / 2
    rows = []
    for start, end in bounds:
        inside = (centres >= start) & (centres < end)
        if not inside.any():
            inside = np.abs(centres - (start + end) / 2) == np.abs(centres - (start + end) / 2).min()
        rows.append(per_patch[inside].mean(0))
    return np.stack(rows)


def analyze(model: PretrainedMood, backbones: dict, y_22k: np.ndarray, bounds_s):
    """Embed once; return (clip_raw (2,), window_raw (W, 2)) for the timeline windows `bounds_s`.

    `bounds_s` are (start, end) seconds: the predictor passes its CNN windows, so every model
    shares one timeline. Raw values are ``model.predict_raw`` outputs: apply the checkpoint's
    Calibration to show them. Windows average the patch embeddings inside them, so the timeline
    costs no extra embedding.
    """
    per_patch, starts = embed_clip(backbones, y_22k, model.part_names)
    clip_raw = model.predict_raw(per_patch.mean(0))[0]
    return clip_raw, model.predict_raw(window_embeddings(per_patch, starts, bounds_s))
