"""Synthesised songs and a tiny real model bundle for the playlist tests and the scan benchmark.

Nothing here needs ../shared or the shipped checkpoints: the songs are numpy sine mixtures and the
bundle is a small randomly initialised CNN plus SVRs fitted on a few synthesised clips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050
MAJOR, MINOR = (0, 4, 7, 12), (0, 3, 7, 12)
KINDS = {  # character -> (root Hz, scale, notes per second, brightness: harmonics, noise)
    "bright": (523.25, MAJOR, 8.0, 6, 0.02),  # fast, high, major, many harmonics, a little hiss
    "dark": (110.0, MINOR, 1.0, 1, 0.0),  # slow, low, minor, pure tones
}


def song_samples(kind: str, seconds: float, seed: int = 0, sr: int = SR) -> np.ndarray:
    """A mono arpeggio of `kind` ('bright' or 'dark'), peak 0.5."""
    root, scale, rate, harmonics, noise = KINDS[kind]
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    note = (t * rate).astype(int)
    steps = np.array(scale)[(note + seed) % len(scale)]
    freq = root * 2 ** (steps / 12) * (1 + 0.01 * seed)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    y = sum(np.sin(h * phase) / h for h in range(1, harmonics + 1))
    envelope = np.exp(-((t * rate) % 1.0) * (3.0 if kind == "bright" else 0.7))
    y = y * envelope + noise * rng.standard_normal(n)
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32)


def write_song(
    path: str | Path,
    kind: str,
    seconds: float = 8.0,
    seed: int = 0,
    title: str | None = None,
    artist: str | None = None,
) -> Path:
    """Write a synthesised song (WAV or FLAC by suffix); FLAC files get title/artist tags if given."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, song_samples(kind, seconds, seed), SR)
    if title or artist:
        from mutagen.flac import FLAC

        if path.suffix.lower() != ".flac":
            raise ValueError("tags are written to FLAC files only")
        tagged = FLAC(path)
        if title:
            tagged["title"] = title
        if artist:
            tagged["artist"] = artist
        tagged.save()
    return path


def make_library(folder: str | Path, n_each: int = 3, seconds: float = 8.0) -> dict[str, list[Path]]:
    """`n_each` bright and `n_each` dark songs under `folder` (some in a subfolder), and one bad file."""
    folder = Path(folder)
    out = {"bright": [], "dark": []}
    for i in range(n_each):
        out["bright"].append(write_song(folder / f"bright_{i}.wav", "bright", seconds + i, seed=i))
        out["dark"].append(write_song(folder / "slow" / f"dark_{i}.wav", "dark", seconds + i, seed=i))
    (folder / "broken.mp3").write_bytes(b"this is not audio at all" * 10)
    return out


def make_tiny_bundle(directory: str | Path) -> Path:
    """A small but real ModelBundle: random CNN ('cnn'), SVRs that learnt bright = happy, dark = sad."""
    import torch

    from emotionet import features
    from emotionet.features import Normalizer
    from emotionet.models import CNNConfig, EmotionCNN, SVRBaseline
    from emotionet.models.checkpoints import ModelBundle
    from emotionet.mood import Calibration

    torch.manual_seed(0)
    feats, targets = [], []
    for seed in range(3):
        for kind, target in (("bright", (0.85, 0.85)), ("dark", (0.15, 0.15))):
            feats.append(features.compute_features(song_samples(kind, 4.0, seed)))
            targets.append(target)
    targets = np.array(targets)
    svrs = {}
    for name, rows in (("svr", 3), ("svr_all", None)):
        model = SVRBaseline(features.FEATURES if rows is None else ("mfcc",), rows)
        svrs[name] = model.fit(np.stack([model.inputs(f) for f in feats]), targets)
    cnn = EmotionCNN(CNNConfig(channels=(4, 8), hidden=(8, 8))).eval()
    bundle = ModelBundle(Normalizer.fit(feats), {"cnn": cnn}, svrs, {name: Calibration() for name in ("cnn", *svrs)})
    return bundle.save(directory)
