"""Synthesised songs with known structure (for tests, benchmarks and a live demo of sections).

`pad` is slow, quiet, soft and major; `riff` is loud, fast and noise-rich (distorted low power
chords over noisy drum hits at 170 bpm). `song` joins parts end to end, e.g.
``song([("pad", 60), ("riff", 60)])``: its one change is at 60 s.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 22050


def pad(seconds: float, sr: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """A soft F-major pad, a chord every 4 s with slow attack, and a quiet melody note every 2 s."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    local = t % 4.0
    env = np.minimum(local / 0.8, 1.0) * np.exp(-0.4 * local)
    chord = sum(np.sin(2 * np.pi * f * t) for f in (174.6, 220.0, 261.6)) / 3
    melody_f = np.array([698.5, 880.0, 784.0, 1047.0])[(t // 2.0).astype(int) % 4]
    melody = np.sin(2 * np.pi * melody_f * t) * np.exp(-1.5 * (t % 2.0))
    y = 0.08 * chord * env + 0.025 * melody + 0.0005 * rng.standard_normal(len(t))
    return y.astype(np.float32)


def riff(seconds: float, sr: int = SAMPLE_RATE, seed: int = 1) -> np.ndarray:
    """Distorted E/F power chords over noisy drum hits at 170 bpm, loud."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    root = np.where((t % 1.4) < 0.7, 82.4, 87.3)
    phase = 2 * np.pi * np.cumsum(root) / sr
    guitar = np.tanh(6 * (np.sin(phase) + 0.7 * np.sin(1.5 * phase)))
    hits = rng.standard_normal(len(t)) * np.exp(-25 * (t % (60 / 170)))
    y = 0.45 * guitar + 0.5 * hits
    return (0.9 * y / np.max(np.abs(y))).astype(np.float32)


PARTS = {"pad": pad, "riff": riff}


def song(parts: list[tuple[str, float]], sr: int = SAMPLE_RATE) -> np.ndarray:
    """Parts [(kind, seconds), ...] end to end, each part with its own seed."""
    return np.concatenate([PARTS[kind](seconds, sr, seed=i) for i, (kind, seconds) in enumerate(parts)])
