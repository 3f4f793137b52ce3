"""Shared fixtures: synthesised audio (tests never need ../shared) and the shipped models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "checkpoints"


def synth(seconds: float, sr: int = 22050, kind: str = "chord", seed: int = 0) -> np.ndarray:
    """Deterministic test music: 'chord' (bright major, plucked), 'dark' (slow low minor), 'noise'."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    if kind == "noise":
        return (0.3 * rng.standard_normal(len(t))).astype(np.float32)
    if kind == "dark":
        freqs, beat = (110.0, 130.81, 164.81), 1.5
    else:
        freqs, beat = (523.25, 659.25, 783.99), 0.25
    envelope = np.exp(-3 * (t % beat))
    y = sum(np.sin(2 * np.pi * f * t) for f in freqs) * envelope / len(freqs)
    return (0.5 * y + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def write_audio(path: Path, y: np.ndarray, sr: int = 22050, channels: int = 1, **kwargs) -> Path:
    data = np.repeat(y[:, None], channels, axis=1) if channels > 1 else y
    sf.write(str(path), data, sr, **kwargs)
    return path


@pytest.fixture
def wav_file(tmp_path) -> Path:
    return write_audio(tmp_path / "song.wav", synth(12.0))


@pytest.fixture(scope="session")
def shipped_checkpoints() -> Path:
    if not (SHIPPED / "config.json").is_file():
        pytest.fail("checkpoints/ has no trained models: run `python train.py` and commit them")
    return SHIPPED
