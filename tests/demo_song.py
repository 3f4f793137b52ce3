"""Synthesised songs with known structure (a fixture of the tests; the benches import it too).

`pad` is slow, quiet, soft and major; `riff` is loud, fast and noise-rich (distorted, palm-muted
low power chords, kick, snare and cymbal wash at 180 bpm). `song` joins parts end to end, e.g.
``song([("pad", 60), ("riff", 60)])``: its one change is at 60 s. The shipped models hear the
pad as calm (low arousal) and the riff as aggressive (high arousal); tests/test_sections.py
checks that end to end.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 22050


def pad(seconds: float, sr: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """A soft F-major pad, a chord every 4 s with a slow attack, and a quiet melody note every 2 s."""
    t = np.arange(int(seconds * sr)) / sr
    local = t % 4.0
    env = np.minimum(local / 0.8, 1.0) * np.exp(-0.4 * local)
    chord = sum(np.sin(2 * np.pi * f * t) for f in (174.6, 220.0, 261.6)) / 3
    melody_f = np.array([698.5, 880.0, 784.0, 1047.0])[(t // 2.0).astype(int) % 4]
    melody = np.sin(2 * np.pi * melody_f * t) * np.exp(-1.5 * (t % 2.0))
    return (0.08 * chord * env + 0.025 * melody).astype(np.float32)


def riff(seconds: float, sr: int = SAMPLE_RATE, seed: int = 1, bpm: float = 180.0) -> np.ndarray:
    """Distorted power chords in eighth notes over kick, snare on the off-beats and a cymbal wash."""
    from scipy.signal import butter, lfilter

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    beat = 60.0 / bpm
    half = beat / 2
    kick = np.sin(2 * np.pi * (45 + 90 * np.exp(-40 * (t % half))) * (t % half)) * np.exp(-15 * (t % half))
    snare_on = (t // beat) % 2 == 1
    snare = (0.8 * rng.standard_normal(len(t)) + np.sin(2 * np.pi * 190 * t)) * np.exp(-14 * (t % beat)) * snare_on
    b, a = butter(2, 5000 / (sr / 2), "high")
    cymbal = lfilter(b, a, rng.standard_normal(len(t))) * (0.5 + 0.5 * np.exp(-3 * (t % (4 * beat))))
    roots = np.array([82.4, 82.4, 98.0, 82.4, 110.0, 82.4, 116.5, 103.8])[(t / half).astype(int) % 8]
    phase = 2 * np.pi * np.cumsum(roots) / sr
    guitar = (
        sum(
            np.tanh(10 * (np.sin(phase * d) + 0.8 * np.sin(1.5 * phase * d) + 0.5 * np.sin(2 * phase * d)))
            for d in (1.0, 1.003, 0.997)
        )
        / 3
    )
    guitar *= 0.4 + 0.6 * np.exp(-8 * (t % half))  # palm muting
    b, a = butter(2, [80 / (sr / 2), 6000 / (sr / 2)], "band")
    y = 0.6 * lfilter(b, a, guitar) + 0.7 * kick + 0.5 * snare + 0.6 * cymbal
    return (0.95 * y / np.max(np.abs(y))).astype(np.float32)


PARTS = {"pad": pad, "riff": riff}


def song(parts: list[tuple[str, float]], sr: int = SAMPLE_RATE) -> np.ndarray:
    """Parts [(kind, seconds), ...] end to end, each part with its own seed."""
    return np.concatenate([PARTS[kind](seconds, sr, seed=i) for i, (kind, seconds) in enumerate(parts)])
