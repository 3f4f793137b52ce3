"""The song's key as the field's reference extractor finds it: the harmonic pitch-class profile
(HPCP, Gomez 2006) of whitened spectral peaks, averaged over the song and matched against key
profiles, the method and settings of essentia's KeyExtractor by default (its documentation and
source read for the method; nothing of essentia is used or imported: it is AGPL).

    frames   93 ms at 44.1 kHz (4096 samples, hop 4096, the first centred on the song's start),
             a Hann window scaled so that a full-scale sine reads 1
    peaks    the 60 loudest local maxima of the magnitude spectrum between 25 Hz and 3.5 kHz above
             1e-4 (-80 dB), frequency and magnitude refined by a parabola through three bins
    whiten   each peak's level against the frame's spectral envelope (an energy-weighted average
             of the power spectrum in a window from 0.66 f to 1.58 f, at least 50 Hz either side,
             sampled every 100 Hz): a peak above the envelope counts as 0 dB, one within 30 dB
             below as its distance to it, a lower one as nothing; less 5 dB per kHz
    HPCP     12 pitch classes around A = 440 Hz; a peak at f adds its whitened power, times the
             cosine of its distance in semitones times pi, to the pitch class nearest f, f / 3
             and f / 5, the fundamentals it may be a harmonic of (harmonics 1-5 folded into an
             octave, each weighing 1 / max(1, its octaves above the fundamental / 2), the sum
             squared: 9 for f as the 1st, 2nd and 4th, 1 for the 3rd, 0.74 for the 5th); frames
             are summed unscaled
    key      the song's profile scaled to a maximum of 1, classes below 0.2 set to 0, then the
             Pearson correlation with the 24 rotations of a major and a minor key profile; the
             best is the key (a tie goes to minor), its correlation the strength

`PROFILES` are published ones: Temperley (1999; "What's key for key?", Music Perception 17(1)),
Krumhansl and Kessler (1982), and Faraldo's profiles learnt from electronic dance music (`edma`:
Faraldo, Gomez, Jorda and Herrera 2016, "Key estimation in electronic dance music", ECIR; `bgate`:
Faraldo, Jorda and Herrera 2017, "A multi-profile method for key estimation in EDM", AES Semantic
Audio), the values KeyExtractor uses; `bgate`, its default, is `DEFAULT_PROFILE`. How far this
agrees with KeyExtractor is measured on two disjoint samples of 100 4Q clips in
bench/tempo_key.py (docs/benchmarks.md). `Chroma` takes the audio block by block (frames do not
overlap), so an hour-long song costs no more memory than a minute.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

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

SR = 44100
N_FFT = 4096
HOP = 4096
MIN_HZ, MAX_HZ = 25.0, 3500.0
PEAK_FLOOR = 1e-4  # a peak's magnitude must exceed this (a full-scale sine reads 1)
MAX_PEAKS = 60
ENVELOPE_STEP_HZ = 100.0
ENVELOPE_TOP_HZ = 1.2 * MAX_HZ
GATE = 0.2  # classes of the song's profile below this share of its largest count as 0
TUNING_HZ = 440.0


def _harmonic_weights(harmonics: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(semitones down from a peak, weight) of the fundamentals a peak may belong to: harmonic h
    sits 12 log2(h) semitones above its fundamental (folded into one octave); each harmonic adds
    1 / max(1, octaves / 2) to its folded interval, and the weight is applied squared."""
    folded: dict[float, float] = {}
    for h in range(1, harmonics + 1):
        semitones = 12 * np.log2(h)
        weight = 1 / max(1.0, semitones / 24)
        key = round(semitones % 12, 6) % 12
        folded[key] = folded.get(key, 0.0) + weight
    steps = np.array(sorted(folded))
    return steps, np.array([folded[s] for s in steps]) ** 2


SHIFTS, SHIFT_WEIGHTS = _harmonic_weights()


class Chroma:
    """The song's summed harmonic pitch-class profile, fed mono blocks at `SR` one after another."""

    def __init__(self):
        n = np.arange(N_FFT)
        window = 0.5 - 0.5 * np.cos(2 * np.pi * n / (N_FFT - 1))
        self.window = (window * 2 / window.sum()).astype(np.float32)
        self.bin_hz = SR / N_FFT
        self.lo = int(np.ceil(MIN_HZ / self.bin_hz))
        self.hi = int(MAX_HZ / self.bin_hz) + 2
        self.envelope = _envelope_weights(N_FFT // 2 + 1, SR)  # (bins it reaches, points)
        self.carry = np.zeros(N_FFT // 2, np.float32)  # the first frame is centred on sample 0
        self.total, self.fed = np.zeros(12), 0

    def push(self, block: np.ndarray) -> None:
        block = np.asarray(block, np.float32)
        self.fed += len(block)
        data = np.concatenate([self.carry, block])
        n = len(data) // HOP
        if n:
            self.total += self._profile(data[: n * HOP].reshape(n, HOP)[:, :N_FFT])
        self.carry = data[n * HOP :]

    def result(self) -> np.ndarray:
        """12 values, C first, scaled to a maximum of 1; zeros for silence."""
        if self.fed and len(self.carry):  # a last frame starting before the end: zero-padded
            self._flush()
        if self.total.max() <= 0:
            return np.zeros(12)
        return self.total / self.total.max()

    def _flush(self) -> None:
        last = np.zeros(N_FFT, np.float32)
        last[: len(self.carry)] = self.carry
        self.total += self._profile(last[None])
        self.carry = np.zeros(0, np.float32)

    def _profile(self, frames: np.ndarray) -> np.ndarray:
        """The summed pitch-class profile of (n, N_FFT) frames."""
        spectrum = np.abs(scipy.fft.rfft(frames * self.window, axis=1))
        frame, freq, magnitude = _peaks(spectrum, self.lo, self.hi, self.bin_hz)
        power = _whitened_power(spectrum, frame, freq, magnitude, self.envelope)
        profile = np.zeros(12)
        for shift, weight in zip(SHIFTS, SHIFT_WEIGHTS):
            semitones = 12 * np.log2(np.maximum(freq, 1e-6) / TUNING_HZ) - shift + 9  # 0 = C
            nearest = np.round(semitones)
            contribution = np.cos(np.pi * np.abs(semitones - nearest)) * power * weight
            np.add.at(profile, nearest.astype(int) % 12, contribution)
        return profile


def _peaks(spectrum: np.ndarray, lo: int, hi: int, bin_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame, frequency, magnitude) of the spectral peaks each frame keeps, flattened over frames: local
    maxima above `PEAK_FLOOR` between MIN_HZ and MAX_HZ, the `MAX_PEAKS` largest per frame,
    refined by a parabola through the bin and its neighbours."""
    band = spectrum[:, lo - 1 : hi + 1]
    middle = band[:, 1:-1]
    is_peak = (middle > band[:, :-2]) & (middle > band[:, 2:]) & (middle > PEAK_FLOOR)
    first = (middle[:, 0] > middle[:, 1]) & (middle[:, 0] > PEAK_FLOOR)  # the band's first bin falling
    is_peak[:, 0] = first
    frame, where = np.nonzero(is_peak)
    a, b, c = band[frame, where], band[frame, where + 1], band[frame, where + 2]
    curvature = a - 2 * b + c
    offset = 0.5 * (a - c) / np.where(curvature == 0, -1e-12, curvature)
    offset[where == 0] = 0.0  # no left neighbour inside the band: the bin itself
    freq = (where + lo + offset) * bin_hz
    magnitude = b - 0.25 * (a - c) * offset
    keep = freq <= MAX_HZ
    frame, freq, magnitude = frame[keep], freq[keep], magnitude[keep]
    if len(frame) and np.bincount(frame).max() > MAX_PEAKS:  # the loudest per frame
        order = np.lexsort((-magnitude, frame))
        frame, freq, magnitude = frame[order], freq[order], magnitude[order]
        starts = np.searchsorted(frame, frame)
        keep = np.arange(len(frame)) - starts < MAX_PEAKS
        frame, freq, magnitude = frame[keep], freq[keep], magnitude[keep]
    return frame, freq, magnitude


def _envelope_weights(bins: int, sr: int) -> np.ndarray:
    """(bins, points) weights of the spectral envelope's points, every ENVELOPE_STEP_HZ up to
    ENVELOPE_TOP_HZ: a window from f - max(50, 0.34 f) to f + max(50, 0.58 f), each bin weighted
    by (1 - its distance from the window's centre / half its length) to the 4th."""
    points = np.arange(0.0, ENVELOPE_TOP_HZ + 1e-9, ENVELOPE_STEP_HZ)
    weights = np.zeros((len(points), bins))
    to_bin = (bins - 1) / (sr / 2)
    for k, f in enumerate(points):
        begin = min(max(int((f - max(50.0, 0.34 * f)) * to_bin + 0.5), 0), bins - 1)
        end = min(max(int((f + max(50.0, 0.58 * f)) * to_bin + 0.5), begin + 1), bins)
        centre = (begin + end) / 2
        i = np.arange(begin, end)
        weights[k, begin:end] = (1 - np.abs(i - centre) / (end - centre)) ** 4
    return np.ascontiguousarray(weights[:, : np.nonzero(weights.any(axis=0))[0][-1] + 1].T)


def _whitened_power(
    spectrum: np.ndarray, frame: np.ndarray, freq: np.ndarray, magnitude: np.ndarray, weights
) -> np.ndarray:
    """Each peak's power relative to its frame's spectral envelope (see the module docstring)."""
    if not len(freq):
        return np.zeros(0)
    energy = spectrum[:, : len(weights)].astype(np.float64) ** 2
    # einsum's own loop, not BLAS: BLAS threads on a busy machine made this 20 times slower
    num, den = np.einsum("fb,bp->fp", energy**2, weights), np.einsum("fb,bp->fp", energy, weights)
    envelope = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    envelope[:, -1] = envelope[:, -2]
    envelope_db = np.where(envelope >= 1e-20, 10 * np.log10(np.maximum(envelope, 1e-30)), -200.0)
    position = freq / ENVELOPE_STEP_HZ
    k = np.minimum(position.astype(int), envelope.shape[1] - 2)
    t = position - k
    at = envelope_db[frame, k] * (1 - t) + envelope_db[frame, k + 1] * t
    level = 20 * np.log10(magnitude)
    white = np.where(level > at, 0.0, np.where(level > at - 30, level - at, -200.0)) - 20 * freq / 4000
    return 10 ** (white / 10)


def chroma(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """The averaged harmonic pitch-class profile of mono audio `y` (12 values, C first, max 1);
    zeros for silence. Audio at another rate is resampled to `SR` first."""
    y = np.asarray(y, np.float32)
    if sr != SR:
        import soxr

        y = soxr.resample(y, sr, SR, quality="HQ").astype(np.float32)
    accumulator = Chroma()
    for i in range(0, len(y), 1 << 20):
        accumulator.push(y[i : i + (1 << 20)])
    return accumulator.result()


def key_of(profile: np.ndarray, profiles: str = DEFAULT_PROFILE) -> tuple[int, int, float]:
    """(pitch class 0-11, mode 1 major / 0 minor, strength: the best correlation) of a song's
    pitch-class profile (scaled to a maximum of 1 and gated at `GATE` first); (-1, 1, 0.0) for a
    flat one (no key)."""
    profile = np.asarray(profile, float)
    if profile.max() <= 0 or profile.std() < 1e-9:
        return -1, 1, 0.0
    profile = profile / profile.max()
    profile = np.where(profile < GATE, 0.0, profile)
    best = {}
    for mode, template in zip((1, 0), PROFILES[profiles]):
        r = [float(np.corrcoef(profile, np.roll(template, tonic))[0, 1]) for tonic in range(12)]
        best[mode] = (max(r), int(np.argmax(r)))
    mode = 1 if best[1][0] > best[0][0] else 0  # a tie: minor
    return best[mode][1], mode, best[mode][0]


def key_name(pitch: int, mode: int) -> str:
    """ "A minor", "F# major"; "no key" for pitch -1."""
    return "no key" if pitch < 0 else f"{NOTES[pitch]} {'major' if mode else 'minor'}"


def detect(y: np.ndarray, sr: int = SR, profiles: str = DEFAULT_PROFILE) -> tuple[int, int, float]:
    """(pitch class, mode, strength) of mono audio; see `chroma` and `key_of`."""
    return key_of(chroma(y, sr), profiles)
