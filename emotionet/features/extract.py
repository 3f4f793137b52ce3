"""MFCC, spectral contrast and chroma from one shared STFT, as in the report.

`compute_features` returns the three raw feature matrices (rows x frames) of a whole signal;
`FeatureStream` computes the same from audio that arrives in blocks. The librosa operations behind
them (STFT, mel and chroma banks, dB, DCT) run through `dsp`, which equals librosa without importing it.
"""

from __future__ import annotations

import numpy as np

from ..io.audio import SAMPLE_RATE
from . import dsp

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
    stream = FeatureStream()
    for i in range(0, len(y), BLOCK):
        stream.push(y[i : i + BLOCK])
    return stream.finish()


BLOCK = 30 * SAMPLE_RATE  # samples per block when a whole array is given


class StftStream:
    """librosa.stft(y, n_fft, hop) (centred frames, zero padding at both ends) of audio that arrives
    in blocks: `push` and `finish` return the complex frames (bins, k) completed so far, in order.
    Frame t covers samples t*hop - n_fft/2 .. t*hop + n_fft/2, so each block only needs the
    n_fft - hop samples before it; the frames equal those of one call on the whole signal."""

    def __init__(self, n_fft: int, hop: int):
        self.n_fft, self.hop = n_fft, hop
        self.buffer = np.zeros(n_fft // 2, np.float32)  # the leading zero padding

    def push(self, block: np.ndarray) -> np.ndarray:
        self.buffer = np.concatenate([self.buffer, np.asarray(block, np.float32)])
        return self._frames()

    def finish(self) -> np.ndarray:
        self.buffer = np.concatenate([self.buffer, np.zeros(self.n_fft // 2, np.float32)])  # trailing padding
        return self._frames()

    def _frames(self) -> np.ndarray:
        k = (len(self.buffer) - self.n_fft) // self.hop + 1 if len(self.buffer) >= self.n_fft else 0
        if k <= 0:
            return np.zeros((1 + self.n_fft // 2, 0), np.complex64)
        used = self.buffer[: (k - 1) * self.hop + self.n_fft]
        frames = dsp.stft(used, self.n_fft, self.hop, center=False)
        self.buffer = self.buffer[k * self.hop :].copy()
        return frames


class FeatureStream:
    """`compute_features` of audio that arrives in blocks, in memory that grows only with the
    (small) feature matrices: one STFT per block, per-frame features computed as it goes. The two
    steps that look at the whole clip (librosa's 80 dB floor below the loudest mel band, and below
    the loudest spectral-contrast peak and valley) are applied in `finish`, so the result equals
    one call on the whole signal."""

    def __init__(self):
        self.stft = StftStream(N_FFT, HOP)
        self.mel_db: list[np.ndarray] = []  # 128 mel bands in dB, before the 80 dB floor
        self.peak: list[np.ndarray] = []
        self.valley: list[np.ndarray] = []
        self.chroma: list[np.ndarray] = []
        # what `analysis.explain.measure_sound` needs, gathered on the way (no second STFT)
        self.sum_squares, self.n_samples = 0.0, 0
        self.spectrum_sum = np.zeros(1 + N_FFT // 2)
        self.sound: dict[str, np.ndarray | float] = {}  # filled by finish()

    def push(self, block: np.ndarray) -> None:
        block = np.asarray(block, np.float32)
        self.sum_squares += float(np.dot(block.astype(np.float64), block.astype(np.float64)))
        self.n_samples += len(block)
        self._add(self.stft.push(block))

    def _add(self, frames: np.ndarray) -> None:
        if frames.shape[1] == 0:
            return
        magnitude = np.abs(frames)
        self.spectrum_sum += magnitude.sum(axis=1)
        power = magnitude**2
        self.mel_db.append(dsp.power_to_db(dsp.mel_power(power), top_db=None).astype(np.float32))
        peak, valley = contrast_peak_valley(magnitude)
        self.peak.append(peak)
        self.valley.append(valley)
        # tuning=0: the report's 12 equal-tempered bins; estimating tuning costs ~70 ms a clip
        self.chroma.append(dsp.chroma(power))

    def finish(self) -> dict[str, np.ndarray]:
        self._add(self.stft.finish())
        floor = max(float(block.max()) for block in self.mel_db) - TOP_DB  # librosa.power_to_db's top_db, clip-wide
        mfcc, rises, previous, frames = [], [], None, 0
        while self.mel_db:  # block by block, freeing each: never a second copy of the mel spectrogram
            block = np.maximum(self.mel_db.pop(0), floor)
            mfcc.append(dsp.mfcc(block, N_MFCC))
            joined = block if previous is None else np.concatenate([previous, block], axis=1)
            rises.append(np.maximum(0.0, np.diff(joined, axis=1)).mean(axis=0))  # librosa's onset strength
            previous, frames = block[:, -1:], frames + block.shape[1]
        self.sound = {
            "onset_envelope": onset_envelope(np.concatenate(rises), frames),
            "mean_spectrum": self.spectrum_sum / max(frames, 1),
            "mean_square": self.sum_squares / max(self.n_samples, 1),
        }
        contrast = dsp.power_to_db(np.concatenate(self.peak, axis=1)) - dsp.power_to_db(
            np.concatenate(self.valley, axis=1)
        )
        self.peak = self.valley = []
        return {
            "mfcc": np.concatenate(mfcc, axis=1).astype(np.float32),
            "contrast": contrast.astype(np.float32),
            "chroma": np.concatenate(self.chroma, axis=1).astype(np.float32),
        }


TOP_DB = 80.0  # librosa.power_to_db's default floor


def onset_envelope(rises: np.ndarray, frames: int) -> np.ndarray:
    """librosa.onset.onset_strength(S=mel_db, hop_length=HOP) from its per-frame mean positive
    rises (frames - 1,): lagged by one frame and centred (n_fft // (2 hop) more), cut to `frames`."""
    return np.pad(rises, (1 + N_FFT // (2 * HOP), 0))[:frames].astype(np.float32)


def contrast_peak_valley(magnitude: np.ndarray, quantile: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Per octave band and frame, the mean of the highest and of the lowest `quantile` of bins:
    what librosa.feature.spectral_contrast (fmin CONTRAST_FMIN, CONTRAST_BANDS bands) compares,
    before it converts both to dB over the whole clip (done in FeatureStream.finish)."""
    freq = dsp.fft_frequencies(SAMPLE_RATE, N_FFT)
    edges = np.zeros(CONTRAST_BANDS + 2)
    edges[1:] = CONTRAST_FMIN * 2.0 ** np.arange(CONTRAST_BANDS + 1)
    peak = np.zeros((CONTRAST_BANDS + 1, magnitude.shape[1]))
    valley = np.zeros_like(peak)
    for k, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
        band = (freq >= low) & (freq <= high)
        first, last = np.flatnonzero(band)[[0, -1]]
        if k > 0:  # each band also takes the bin just below it ...
            band[first - 1] = True
        if k == CONTRAST_BANDS:  # ... the top band runs to the Nyquist bin ...
            band[last + 1 :] = True
        rows = magnitude[band]
        if k < CONTRAST_BANDS:  # ... and the others drop their top bin
            rows = rows[:-1]
        n = int(max(np.rint(quantile * band.sum()), 1))
        ordered = np.sort(rows, axis=0)
        valley[k], peak[k] = ordered[:n].mean(axis=0), ordered[-n:].mean(axis=0)
    return peak, valley
