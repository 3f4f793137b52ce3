"""The few librosa operations the analysis path uses, in numpy alone.

Importing librosa's core pulls in scipy.signal, scipy.stats, scipy.ndimage and numba: about a
second of every fresh `python -m emotionet analyze` (issue 12), for operations that are a window, an
FFT and a matrix product. These are those operations, with librosa's own filter banks frozen in
`filterbanks.npz` (written by `python -m emotionet.features.dsp`); the tests hold every function
here to librosa's result on the same input, so the features stay the report's librosa features.
Training and the app compute them the same way.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

FILTERBANKS = Path(__file__).with_name("filterbanks.npz")
# the banks frozen there: name -> (librosa function, its arguments)
BANKS = {
    "mel_22050_2048": ("mel", {"sr": 22050, "n_fft": 2048}),  # the report's features: 128 bands
    "chroma_22050_2048": ("chroma", {"sr": 22050, "n_fft": 2048, "n_chroma": 12, "tuning": 0.0}),
    "mel_16000_512_96": ("mel", {"sr": 16000, "n_fft": 512, "n_mels": 96}),  # musicnn's input
}
AMIN = 1e-10  # librosa.power_to_db's floor on power


@lru_cache(maxsize=None)
def filterbank(name: str) -> np.ndarray:
    """One of BANKS, (bands, 1 + n_fft // 2) float32, read-only."""
    with np.load(FILTERBANKS) as banks:
        bank = banks[name]
    bank.setflags(write=False)
    return bank


def librosa_filterbank(name: str) -> np.ndarray:
    """The bank as librosa computes it today (to write or check the frozen one)."""
    import librosa

    kind, kwargs = BANKS[name]
    return getattr(librosa.filters, kind)(**kwargs)


@lru_cache(maxsize=None)
def hann(n: int) -> np.ndarray:
    """scipy.signal.get_window("hann", n, fftbins=True): the periodic Hann window librosa uses."""
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    window.setflags(write=False)  # shared by every caller (lru_cache)
    return window


def stft(y: np.ndarray, n_fft: int, hop: int, *, center: bool = True) -> np.ndarray:
    """librosa.stft(y, n_fft=n_fft, hop_length=hop, center=center): (1 + n_fft // 2, frames)
    complex64; centred frames pad n_fft // 2 zeros at both ends (librosa's default pad mode)."""
    y = np.asarray(y, np.float32)
    if center:
        y = np.pad(y, n_fft // 2)
    if len(y) < n_fft:
        raise ValueError(f"stft needs at least n_fft={n_fft} samples, got {len(y)}")
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop]
    return np.fft.rfft(frames * hann(n_fft), axis=1).astype(np.complex64).T


def power_to_db(power: np.ndarray, top_db: float | None = 80.0) -> np.ndarray:
    """librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=top_db)."""
    db = 10.0 * np.log10(np.maximum(AMIN, power))
    return np.maximum(db, db.max() - top_db) if top_db is not None else db


def mel_power(power: np.ndarray, bank: str = "mel_22050_2048") -> np.ndarray:
    """librosa.feature.melspectrogram(S=power): the mel bank applied to a power spectrogram."""
    return filterbank(bank) @ power


@lru_cache(maxsize=None)
def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """The first n_out rows of the orthonormal DCT-II of length n_in (scipy.fft.dct(norm="ortho"))."""
    k, n = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    matrix = np.sqrt(2.0 / n_in) * np.cos(np.pi * k * (2 * n + 1) / (2 * n_in))
    matrix[0] /= np.sqrt(2.0)
    matrix = matrix.astype(np.float32)
    matrix.setflags(write=False)  # shared by every caller (lru_cache)
    return matrix


def mfcc(mel_db: np.ndarray, n_mfcc: int) -> np.ndarray:
    """librosa.feature.mfcc(S=mel_db, n_mfcc=n_mfcc): DCT-II (orthonormal) over the mel bands."""
    return dct_matrix(n_mfcc, mel_db.shape[0]) @ mel_db


def chroma(power: np.ndarray, bank: str = "chroma_22050_2048") -> np.ndarray:
    """librosa.feature.chroma_stft(S=power, tuning=0.0): the chroma bank applied, then each frame
    scaled to a maximum of 1 (frames with no energy stay as they are)."""
    raw = filterbank(bank) @ power
    return normalize_columns(raw)


def normalize_columns(x: np.ndarray) -> np.ndarray:
    """librosa.util.normalize(x, norm=np.inf, axis=0): each column over its largest magnitude."""
    length = np.abs(x).astype(np.float64).max(axis=0, keepdims=True)
    length[length < np.finfo(x.dtype).tiny] = 1.0
    return (x / length).astype(x.dtype)


def fft_frequencies(sr: float, n_fft: int) -> np.ndarray:
    """librosa.fft_frequencies: the centre frequency of each STFT bin."""
    return np.fft.rfftfreq(n_fft, 1.0 / sr)


def tempo(
    onset_envelope: np.ndarray,
    sr: float,
    hop: int,
    *,
    start_bpm: float = 120.0,
    std_bpm: float = 1.0,
    ac_seconds: float = 8.0,
    max_tempo: float = 320.0,
    precise: bool = False,
) -> float:
    """librosa.feature.tempo(onset_envelope=..., sr=sr, hop_length=hop) with its defaults: the
    autocorrelation tempogram over 8 s windows, averaged over the song, weighed by a log-normal
    prior around 120 BPM; the strongest period below max_tempo, in BPM.

    librosa's answer is a whole number of onset frames per beat (at hop 512 and 22.05 kHz, 120 BPM
    reads as 117.5 or 123.0); `precise` refines that period between frames (`refine_period`)."""
    win = int(int(ac_seconds * sr) // hop)
    tempogram = mean_tempogram(onset_envelope, win)
    bpms = np.full(win, np.inf)
    bpms[1:] = 60.0 * sr / (hop * np.arange(1, win))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_prior = -0.5 * ((np.log2(bpms) - np.log2(start_bpm)) / std_bpm) ** 2
    log_prior[: int(np.argmax(bpms < max_tempo))] = -np.inf
    lag = int(np.argmax(np.log1p(1e6 * tempogram) + log_prior))
    if precise and lag > 0:
        return float(60.0 * sr / (hop * refine_period(tempogram, lag)))
    return float(bpms[lag])


REFINE_SECONDS = 4.0  # refine_period reads the autocorrelation's beat peaks up to this lag


def refine_period(tempogram: np.ndarray, lag: int, longest: float | None = None) -> float:
    """The beat period (in frames, not whole) near the whole-frame `lag` a tempogram peaks at.

    The autocorrelation of a steady beat peaks near every multiple of its period. Each peak's
    position between frames comes from a parabola through the frame of the peak and its two
    neighbours; the period is the least-squares slope of those positions over their multiples
    (1, 2, ... up to `longest` frames, half the tempogram by default), so a peak k beats away
    pins the period k times more finely. A peak that is not there (a flat stretch) ends the walk.
    """
    tempogram = np.asarray(tempogram, float)
    longest = min(longest or len(tempogram) / 2, len(tempogram) - 2)
    period, moments, squares = float(lag), 0.0, 0
    for k in range(1, int(longest // max(lag, 1)) + 1):
        centre = int(round(k * period))
        if centre + 1 >= len(tempogram) or centre - 1 < 1:
            break
        i = centre - 1 + int(np.argmax(tempogram[centre - 1 : centre + 2]))
        if i + 1 >= len(tempogram):
            break
        left, mid, right = tempogram[i - 1], tempogram[i], tempogram[i + 1]
        curvature = left - 2 * mid + right
        if not (mid >= left and mid >= right and curvature < 0):
            break  # no peak here: the beat is not steady this far out
        position = i + 0.5 * (left - right) / curvature
        moments, squares = moments + k * position, squares + k * k
        period = moments / squares
    return float(np.clip(period, lag - 1, lag + 1))  # a refinement of librosa's peak, never another one


def mean_tempogram(onset_envelope: np.ndarray, win: int) -> np.ndarray:
    """librosa.feature.tempogram(onset_envelope=..., win_length=win).mean(axis=1): (win,) the
    autocorrelation of each centred, Hann-windowed stretch of the onset envelope, each scaled to a
    maximum of 1, averaged over the song.

    The maximum of an autocorrelation is its value at lag 0, the stretch's energy, so by linearity
    the average is one inverse FFT of the energy-scaled mean power spectrum instead of one per
    frame (0.6 -> 0.07 s for 3 minutes). Silent stretches stay 0, as librosa leaves them."""
    onsets = np.asarray(onset_envelope)
    n = len(onsets)
    padded = np.pad(onsets, win // 2, mode="linear_ramp", end_values=(0, 0))
    windows = np.lib.stride_tricks.sliding_window_view(padded, win)  # (n + 1, win) views, no copy
    n_fft = 1 << (2 * win - 2).bit_length()  # >= 2 win - 1: no wrap-around
    mean_power = np.zeros(n_fft // 2 + 1)
    for start in range(0, n, TEMPOGRAM_CHUNK):  # cache-sized pieces: 3 minutes whole would take ~120 MB
        frames = windows[start : min(start + TEMPOGRAM_CHUNK, n)] * hann(win)
        spectrum = np.fft.rfft(frames, n=n_fft, axis=1)
        energy = np.einsum("ij,ij->i", frames, frames)
        scale = np.divide(1.0, energy, out=np.zeros_like(energy), where=energy > 0)
        mean_power += scale @ (spectrum.real**2 + spectrum.imag**2)
    return np.fft.irfft(mean_power / n, n=n_fft)[:win]


TEMPOGRAM_CHUNK = 512  # onset frames per piece of mean_tempogram


def write_filterbanks(path: Path = FILTERBANKS) -> None:
    np.savez_compressed(path, **{name: librosa_filterbank(name).astype(np.float32) for name in BANKS})


if __name__ == "__main__":
    write_filterbanks()
    print(f"wrote {FILTERBANKS} ({FILTERBANKS.stat().st_size} bytes)")
