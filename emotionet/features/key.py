"""The song's key as the field's key extractors find it: a harmonic pitch-class profile (HPCP-like
chroma) from spectral peaks, matched against key profiles.

    chroma   per ~186 ms frame (4096-point FFT at 22.05 kHz, hop 4096), the spectral peaks between
             40 Hz and 3.5 kHz (parabolic interpolation, magnitudes within 60 dB of the frame's
             loudest), each adding its squared magnitude to the pitch classes of itself and of the
             fundamentals it may be a harmonic of (f/2, f/3, f/4, weighted 0.8 per step down), spread
             over a one-semitone cosine window around A = 440 Hz; frames scaled to a maximum of 1,
             then averaged (Gomez 2006's HPCP, as essentia's KeyExtractor computes it by default)
    profile  the 24 rotations of a major and a minor key profile; the key is the rotation with the
             highest Pearson correlation with the averaged chroma, its strength that correlation

`PROFILES` are published ones: Temperley (1999; "What's key for key?", Music Perception 17(1)),
Krumhansl and Kessler (1982), and Faraldo's profiles learnt from electronic dance music (`edma`:
Faraldo, Gomez, Jorda and Herrera 2016, "Key estimation in electronic dance music", ECIR; `bgate`:
Faraldo 2017, "Tonality estimation in electronic dance music", PhD thesis, UPF), the values
essentia's KeyExtractor uses. Which is used (`DEFAULT_PROFILE`) was chosen on 100 4Q clips by
agreement with essentia's KeyExtractor (bench/tempo_key.py, docs/benchmarks.md); essentia itself
(AGPL) is never imported here. `Chroma` takes the audio block by block (frames do not overlap), so
an hour-long song costs no more memory than a minute.
"""

from __future__ import annotations

import numpy as np

NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

PROFILES = {
    "temperley": (
        (5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0),
        (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0),
    ),
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    "edma": (
        (1.00, 0.29, 0.50, 0.40, 0.60, 0.56, 0.32, 0.80, 0.31, 0.45, 0.42, 0.39),
        (1.00, 0.31, 0.44, 0.58, 0.33, 0.49, 0.29, 0.78, 0.43, 0.29, 0.53, 0.32),
    ),
    "bgate": (
        (1.00, 0.00, 0.42, 0.00, 0.53, 0.37, 0.00, 0.77, 0.00, 0.38, 0.21, 0.30),
        (1.00, 0.00, 0.36, 0.39, 0.00, 0.38, 0.00, 0.74, 0.27, 0.00, 0.42, 0.23),
    ),
}  # fmt: skip
DEFAULT_PROFILE = "bgate"

SR = 22050
N_FFT = 4096
HOP = 4096
MIN_HZ, MAX_HZ = 40.0, 3500.0
PEAK_RANGE_DB = 60.0
HARMONICS = 4
HARMONIC_DECAY = 0.8
TUNING_HZ = 440.0


class Chroma:
    """The averaged harmonic pitch-class profile, fed mono blocks at SR one after another."""

    def __init__(self, sr: int = SR):
        self.sr = sr
        self.window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
        freqs = np.arange(N_FFT // 2 + 1) * sr / N_FFT
        self.lo, self.hi = int(np.searchsorted(freqs, MIN_HZ)), int(np.searchsorted(freqs, MAX_HZ))
        self.carry = np.zeros(0, np.float32)
        self.total, self.frames = np.zeros(12), 0

    def push(self, block: np.ndarray) -> None:
        data = np.concatenate([self.carry, np.asarray(block, np.float32)])
        n = len(data) // HOP
        if n:
            frames = data[: n * HOP].reshape(n, HOP)[:, :N_FFT] * self.window
            for spectrum in np.abs(np.fft.rfft(frames, axis=1)):
                profile = _frame_profile(spectrum, self.lo, self.hi, self.sr)
                peak = profile.max()
                if peak > 0:
                    self.total += profile / peak
                    self.frames += 1
        self.carry = data[n * HOP :]

    def result(self) -> np.ndarray:
        """12 values, C first, scaled to a maximum of 1; zeros for silence."""
        if len(self.carry) >= N_FFT // 4:  # a last, short frame: padded
            self.push(np.zeros(N_FFT - len(self.carry), np.float32))
        if self.frames == 0 or self.total.max() <= 0:
            return np.zeros(12)
        return self.total / self.total.max()


def chroma(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """The averaged harmonic pitch-class profile of mono audio `y` (12 values, C first, max 1);
    zeros for silence."""
    accumulator = Chroma(sr)
    for i in range(0, len(y), 1 << 20):
        accumulator.push(y[i : i + (1 << 20)])
    return accumulator.result()


def _frame_profile(spectrum: np.ndarray, lo: int, hi: int, sr: int) -> np.ndarray:
    """One frame's pitch-class profile from its spectral peaks."""
    band = spectrum[lo - 1 : hi + 1]
    loudest = band.max()
    if loudest <= 0:
        return np.zeros(12)
    middle = band[1:-1]
    is_peak = (middle > band[:-2]) & (middle >= band[2:]) & (middle > loudest * 10 ** (-PEAK_RANGE_DB / 20))
    where = np.nonzero(is_peak)[0] + 1
    if not len(where):
        return np.zeros(12)
    a, b, c = np.log(band[where - 1] + 1e-12), np.log(band[where] + 1e-12), np.log(band[where + 1] + 1e-12)
    offset = 0.5 * (a - c) / np.where(a - 2 * b + c == 0, -1e-12, a - 2 * b + c)  # parabolic interpolation
    freq = (where + lo - 1 + offset) * sr / N_FFT
    power = (band[where] ** 2).astype(np.float64)
    profile = np.zeros(12)
    for h in range(1, HARMONICS + 1):
        f0 = freq / h
        keep = f0 >= MIN_HZ
        if not keep.any():
            break
        semitones = 12 * np.log2(f0[keep] / TUNING_HZ) + 9  # 0 = C
        nearest = np.round(semitones)
        distance = semitones - nearest  # -0.5..0.5
        weight = power[keep] * HARMONIC_DECAY ** (h - 1)
        # a one-semitone cosine window: the nearest bin gets cos^2(pi d / 2), its neighbour the rest
        near = np.cos(np.pi * distance / 2) ** 2
        np.add.at(profile, nearest.astype(int) % 12, weight * near)
        np.add.at(profile, (nearest + np.sign(distance)).astype(int) % 12, weight * (1 - near))
    return profile


def key_of(profile: np.ndarray, profiles: str = DEFAULT_PROFILE) -> tuple[int, int, float]:
    """(pitch class 0-11, mode 1 major / 0 minor, strength: the best correlation) of an averaged
    chroma; (-1, 1, 0.0) for a flat one (no key)."""
    profile = np.asarray(profile, float)
    if profile.max() <= 0 or profile.std() < 1e-9:
        return -1, 1, 0.0
    major, minor = (np.asarray(p, float) for p in PROFILES[profiles])
    best = (-2.0, -1, 1)
    for mode, template in ((1, major), (0, minor)):
        for tonic in range(12):
            r = float(np.corrcoef(profile, np.roll(template, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2], best[0]


def key_name(pitch: int, mode: int) -> str:
    """ "A minor", "F# major"; "no key" for pitch -1."""
    return "no key" if pitch < 0 else f"{NOTES[pitch]} {'major' if mode else 'minor'}"


def detect(y: np.ndarray, sr: int = SR, profiles: str = DEFAULT_PROFILE) -> tuple[int, int, float]:
    """(pitch class, mode, strength) of mono audio; see `chroma` and `key_of`."""
    return key_of(chroma(y, sr), profiles)
