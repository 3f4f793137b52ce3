"""Features: MFCC, spectral contrast and chroma from one shared STFT, as in the report; this package
only names them (every name below is public: pyproject.toml lets package `__init__`s import unused).

extract   the settings (N_FFT, HOP, FEATURES, ROWS ...), compute_features and FeatureStream
stacks    Normalizer (the CNN's 3 x 13 x frames input), summary_statistics (the SVRs' input), frame slicing
dsp       the librosa operations behind them (STFT, mel and chroma banks, dB, DCT), without librosa
"""

from __future__ import annotations

from . import dsp
from .extract import (
    BLOCK,
    CHANNEL_ROWS,
    CONTRAST_BANDS,
    CONTRAST_FMIN,
    FEATURES,
    FRAMES_PER_SECOND,
    HOP,
    N_CHROMA,
    N_FFT,
    N_MFCC,
    ROW_LABELS,
    ROWS,
    TOP_DB,
    FeatureStream,
    StftStream,
    compute_features,
    contrast_peak_valley,
    onset_envelope,
)
from .stacks import Normalizer, n_frames, slice_frames, summary_statistics
