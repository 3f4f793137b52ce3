"""Valence cues: a few interpretable clip measurements that the musicnn embeddings under-weight.

Listeners hear valence partly in harmony: major vs minor mode and how clearly a key is heard
(Krumhansl-Kessler key profiles correlated with the mean chroma), and partly in loudness and
brightness. These come from the features every analysis computes anyway (chroma, MFCC 0,
spectral contrast), so they cost nothing extra and work on any length. The listener head of the
headline model (``emotionet.listener.head``) reads them beside the embeddings: in artist-grouped
cross-validation on the listener-rated set they raise valence r from 0.63 to 0.65
(``bench/listener_cv.py``).
"""

from __future__ import annotations

import numpy as np

# Krumhansl & Kessler (1982) probe-tone profiles, C major and C minor
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
NAMES = (
    "major fit",
    "minor fit",
    "major minus minor",
    "key clarity",
    "mode over time",
    "pitch-class spread",
    "loudness",
    "loudness variation",
    "MFCC 1",
    "spectral contrast",
    "top-band contrast",
    "loudness flux",
)
SEGMENT_FRAMES = 430  # ~10 s at hop 512 / 22.05 kHz: mode is also judged per segment, then averaged


def _zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


_PROFILES = np.stack([np.roll(_zscore(p), k) for p in (MAJOR, MINOR) for k in range(12)])  # (24, 12)


def key_fits(mean_chroma: np.ndarray) -> tuple[float, float]:
    """Best correlation of a 12-bin pitch-class profile with any major key and any minor key."""
    corr = _PROFILES @ _zscore(np.asarray(mean_chroma, float)) / 12
    return float(corr[:12].max()), float(corr[12:].max())


def clip_cues(feats: dict[str, np.ndarray]) -> np.ndarray:
    """(12,) cues of one clip (or window) from its features: see ``NAMES``."""
    chroma, mfcc, contrast = feats["chroma"], feats["mfcc"], feats["contrast"]
    mean_chroma = chroma.mean(1)
    major, minor = key_fits(mean_chroma)
    n = chroma.shape[1]
    modes = [
        np.subtract(*key_fits(chroma[:, s : s + SEGMENT_FRAMES].mean(1)))
        for s in range(0, max(1, n - SEGMENT_FRAMES + 1), SEGMENT_FRAMES // 2)
    ]
    spread = np.std(mean_chroma / (mean_chroma.sum() + 1e-9))
    return np.array(
        [
            major,
            minor,
            major - minor,
            max(major, minor),
            float(np.mean(modes)),
            spread,
            mfcc[0].mean(),
            mfcc[0].std(),
            mfcc[1].mean(),
            contrast.mean(),
            contrast[-1].mean(),
            np.abs(np.diff(mfcc[0])).mean() if n > 1 else 0.0,
        ],
        dtype=np.float64,
    )
