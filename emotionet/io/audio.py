"""Audio in: any supported file or upload -> one mono excerpt at the analysis rate.

Decoding goes through libsndfile (WAV, FLAC, MP3, OGG Vorbis/Opus, from paths or bytes) and
falls back to PyAV (ffmpeg's decoders, in its wheel: no system ffmpeg) for M4A/AAC and the rest.
Only the excerpt that is analysed is decoded, block by block (`open_excerpt`), so the analysis of
an hour-long file can stream it and never hold it whole.

Silence is judged on ~93 ms frames with their DC offset removed: a clip needs at least 0.5 s
and 5% of its frames louder than -60 dBFS (a click in silence, a DC offset or faint hiss is not
music). Blocks are held back until 0.5 s has been heard, so a silent file is refused having only
been decoded (no feature work); a long silent intro is decoded again once the sound starts.

Before any decoding, the header or container says how long the audio is and at what rate
(`check_length`, which the app calls on an upload too): audio below MIN_SAMPLE_RATE (a 1 Hz WAV
holds no music) and audio longer than the limit (EMOTIONET_MAX_MINUTES, default 120 minutes; 0 lifts
it; the CLI's --max-minutes sets it) are refused in one line, so a small file that decodes to hours
never starts the work; a header that understates the length is caught as the blocks arrive.

A float file with samples far outside [-1, 1] is scaled into it, with a warning. A few samples far
louder than the rest (infinite, or 3e38 in a song at 0.3: damage, not a gain) are set to 0 with a
warning instead of scaling the whole file into silence.

The same frames measure how steady the sound is (`Excerpt.steadiness`): per frequency band, how
much its power varies from frame to frame relative to how much it varies in steady random noise
(about 1 for steady noise of any colour, 5-100 for music, where notes and beats come and go). A
sound as steady as noise in every band (`Excerpt.steady`) holds nothing a mood could be read from:
`predict` says so and caps the confidence at chance.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, Iterator, Union

import numpy as np

from .clip import (  # noqa: F401 (re-exported)
    AUDIO_SUFFIXES,
    BLOCK_SECONDS,
    SAMPLE_RATE,
    AudioError,
    Clip,
    Source,
    describe_source,
)

EXCERPT_SECONDS = 45.0  # the report analysed 45 s snippets
MIN_SECONDS = 1.0
SILENCE_DBFS = -60.0  # a frame quieter than this (RMS, DC removed) counts as silent
LOUDNESS_FRAME = 2048  # samples per loudness frame (~93 ms)
MIN_AUDIBLE_SECONDS = 0.5  # a clip needs this much audible sound ...
MIN_AUDIBLE_SHARE = 0.05  # ... and this share of its frames audible
FAR_OUTSIDE_PEAK = 2.0  # float samples beyond ±2 mean a file written unscaled: normalise, and say so
FLOAT_SUBTYPES = {"FLOAT", "DOUBLE"}
LOUDEST_SHARE = 0.001  # the level all but the loudest 0.1% of samples stay under ...
DAMAGE_RATIO = 16.0  # ... and samples this far above it (24 dB; and beyond ±2) are damage, not signal
HELD_SECONDS = 20.0  # decoded audio held back until it is heard; a longer silent start is decoded again
BAND_BINS = (16, 744)  # the FFT bins (of LOUDNESS_FRAME at SAMPLE_RATE) judged for steadiness: 172 Hz-8 kHz
STEADY_RATIO = 2.0  # steadiness below this in every band: steady noise (1.1-1.2), not music (over 5)
MIN_STEADY_FRAMES = 40  # frames (~3.7 s) needed to judge steadiness
SUPPORTED = "WAV, AIFF, FLAC, MP3, OGG (Vorbis/Opus), M4A/AAC and most other formats ffmpeg reads"
MIN_SAMPLE_RATE = 8000  # Hz: the lowest rate in common use (telephony); below it no music is left to hear
MAX_MINUTES_ENV = "EMOTIONET_MAX_MINUTES"
DEFAULT_MAX_MINUTES = 120.0  # a 2-hour DJ mix is analysed; a file that decodes to 6 hours is refused


def max_seconds() -> float | None:
    """The longest audio analysed, in seconds: EMOTIONET_MAX_MINUTES (default 120), None when it is 0
    (no limit). A value that is not a number is the default."""
    text = os.environ.get(MAX_MINUTES_ENV, "").strip()
    try:
        minutes = float(text) if text else DEFAULT_MAX_MINUTES
    except ValueError:
        minutes = DEFAULT_MAX_MINUTES
    if not np.isfinite(minutes) or minutes < 0:
        minutes = DEFAULT_MAX_MINUTES
    return None if minutes == 0 else minutes * 60.0


def _refuse_header(duration_s: float, sample_rate: float | None, name: str, limit_s: float | None) -> None:
    """AudioError when the header's rate is below MIN_SAMPLE_RATE or its length beyond `limit_s`."""
    if sample_rate is not None and sample_rate < MIN_SAMPLE_RATE:
        raise AudioError(
            f"{name} is sampled at {sample_rate:g} Hz: below {MIN_SAMPLE_RATE} Hz no music is left to analyse."
        )
    if limit_s is not None and duration_s > limit_s:
        raise AudioError(
            f"{name} holds {duration_s / 60:.0f} minutes of audio, more than the limit of {limit_s / 60:g}: "
            f"give --max-minutes (or {MAX_MINUTES_ENV}) a larger number, or 0 for no limit."
        )


def check_length(source: Source, *, max_minutes: float | None = None, name: str | None = None) -> float:
    """The audio's length in seconds from its header or container alone (nothing is decoded; a
    format without one is counted by PyAV's demuxer). AudioError, one line, when it is not audio,
    is sampled below MIN_SAMPLE_RATE, or lasts longer than `max_minutes` (default: `max_seconds()`,
    EMOTIONET_MAX_MINUTES; 0 = no limit). What every analysis does before decoding; the app calls
    it on an upload before adding it."""
    name = name or describe_source(source)
    limit_s = max_seconds() if max_minutes is None else (max_minutes * 60.0 if max_minutes > 0 else None)
    try:
        import soundfile as sf

        file = _as_file(source)
        with sf.SoundFile(file) as f:
            duration_s, rate = f.frames / f.samplerate, f.samplerate
    except AudioError:
        raise
    except Exception:
        from .av_decode import header

        duration_s, rate = header(source, name)
    _refuse_header(duration_s, rate, name, limit_s)
    return duration_s


def decoded_digest(path: str | os.PathLike) -> str:
    """A SHA-256 of a file's decoded samples (every channel, at its own rate, with the rate and
    channel count): two files with the same digest play the same audio. libsndfile's formats, else
    PyAV's. Raises AudioError when it cannot be decoded."""
    import hashlib

    import soundfile as sf

    digest = hashlib.sha256()
    try:
        with sf.SoundFile(str(path)) as f:
            digest.update(f"{f.samplerate} {f.channels}".encode())
            for block in f.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
                digest.update(np.ascontiguousarray(block).tobytes())
        return digest.hexdigest()
    except sf.LibsndfileError:
        pass
    except RuntimeError as error:
        raise AudioError(f"Could not decode {Path(path).name}: {error}") from error
    from .av_decode import decoded_frames

    for rate, channels, data in decoded_frames(path):
        digest.update(f"{rate} {channels}".encode())
        digest.update(np.ascontiguousarray(data).tobytes())
    return digest.hexdigest()


def load_clip(source: Source, *, seconds: float | None = EXCERPT_SECONDS, name: str | None = None) -> Clip:
    """Decode the middle `seconds` of `source` (all of it when None) as a mono clip.

    Raises AudioError for anything that is not usable audio: unreadable or damaged files,
    clips under a second, silence, NaN or infinite samples. For long files prefer
    `open_excerpt`, which hands the excerpt over block by block.
    """
    excerpt = open_excerpt(source, seconds=seconds, name=name)
    samples = np.concatenate([np.zeros(0, np.float32), *excerpt.blocks()])
    excerpt.finish()
    return Clip(samples, excerpt.duration_s, excerpt.start_s, tuple(excerpt.warnings))


def open_excerpt(source: Source, *, seconds: float | None = EXCERPT_SECONDS, name: str | None = None) -> "Excerpt":
    """The middle `seconds` of `source` (all of it when None), ready to decode block by block.

    Errors that the header shows (not audio, empty, a folder) are raised here; the rest (damage
    further in, NaN samples) while iterating `blocks()`; too short or silent by `finish()`.
    """
    name = name or describe_source(source)
    try:
        return _open_soundfile(source, seconds, name)
    except AudioError:
        raise
    except Exception as sf_error:  # libsndfile says no: maybe a format only ffmpeg reads
        return _open_with_ffmpeg(source, seconds, name, sf_error)


class Excerpt:
    """An opened excerpt: `blocks()` yields mono float32 at SAMPLE_RATE (about BLOCK_SECONDS
    each), checked finite and scaled into [-1, 1] when the file was far outside it; `finish()`
    then refuses a clip that is too short or silent. `warnings` says what was done to the audio;
    after `finish()`, `steadiness` and `steady` say whether it sounds like steady noise."""

    def __init__(
        self, name: str, duration_s: float, start_s: float, read, gain: float = 1.0, warnings: list[str] | None = None
    ):
        self.name, self.duration_s, self.start_s = name, duration_s, start_s
        self.warnings = list(warnings or [])
        self._read, self._gain = read, gain  # read(): an iterator of (mono blocks at the file's rate)
        self._meter = _Meter()
        self.n_samples = 0
        self.steadiness: float | None = None  # set by finish(): None for a clip too short to judge

    @property
    def seconds(self) -> float:
        return self.n_samples / SAMPLE_RATE

    @property
    def end_s(self) -> float:
        return self.start_s + self.seconds

    @property
    def steady(self) -> bool:
        """Steady noise throughout (after `finish()`): nothing a mood could be read from."""
        return self.steadiness is not None and self.steadiness < STEADY_RATIO

    def blocks(self) -> Iterator[np.ndarray]:
        """The excerpt's blocks, each measured as it is decoded. Nothing is yielded until
        MIN_AUDIBLE_SECONDS have been heard: up to HELD_SECONDS are held back meanwhile (a longer
        silent start is decoded again from the beginning once the sound starts), and a file that is
        never heard yields nothing at all, for `finish()` to refuse."""
        held, dropped, decoded = [], False, self._decoded()
        for block in decoded:
            if held is None:
                yield block
                continue
            if not dropped:
                held.append(block)
                if sum(len(b) for b in held) > HELD_SECONDS * SAMPLE_RATE:
                    held, dropped = [], True
            if self._meter.audible_frames * LOUDNESS_FRAME / SAMPLE_RATE >= MIN_AUDIBLE_SECONDS:
                if dropped:
                    decoded.close()
                    yield from self._again()
                    return
                yield from held
                held = None
        if held is not None and self._audible_enough():  # heard only in the last, short frame
            yield from self._again() if dropped else held

    def _decoded(self) -> Iterator[np.ndarray]:
        limit_s = max_seconds()
        for block in self._read():
            if not np.all(np.isfinite(block)):
                raise AudioError(f"{self.name} contains invalid samples (NaN or infinity).")
            if self._gain != 1.0:
                block = block * np.float32(self._gain)
            block = block.astype(np.float32, copy=False)
            self.n_samples += len(block)
            if limit_s is not None and self.n_samples > (limit_s + BLOCK_SECONDS) * SAMPLE_RATE:
                _refuse_header(self.n_samples / SAMPLE_RATE, None, self.name, limit_s)  # a header that lied
            self._meter.push(block)
            if len(block):
                yield block

    def _again(self) -> Iterator[np.ndarray]:
        """Decode from the beginning again, measuring afresh."""
        self.n_samples, self._meter = 0, _Meter()
        yield from self._decoded()

    def _audible_enough(self) -> bool:
        audible_s, share = self._meter.audible()
        return audible_s >= MIN_AUDIBLE_SECONDS and share >= MIN_AUDIBLE_SHARE

    def finish(self) -> None:
        """Raise AudioError when what was decoded cannot be analysed (call after `blocks()`)."""
        if self.seconds < MIN_SECONDS:
            raise AudioError(
                f"{self.name} is too short to analyse: {self.seconds:.2f} s of audio decoded, "
                f"at least {MIN_SECONDS:.0f} s needed (a damaged file can also decode this short)."
            )
        if not self._audible_enough():
            audible_s, _ = self._meter.audible()
            raise AudioError(
                f"{self.name} is silent or nearly so: only {audible_s:.1f} s of the {self.seconds:.1f} s analysed "
                f"is louder than {SILENCE_DBFS:.0f} dBFS (after removing any DC offset); there is nothing to analyse."
            )
        self.steadiness = self._meter.steadiness()


def _band_edges(lo: int = BAND_BINS[0], hi: int = BAND_BINS[1], growth: float = 0.33, least: int = 8) -> np.ndarray:
    """FFT bin edges of bands each `growth` times as wide as their lower edge (about 0.4 of an
    octave), and at least `least` bins."""
    edges = [lo]
    while edges[-1] < hi:
        edges.append(min(hi, edges[-1] + max(least, round(edges[-1] * growth))))
    return np.array(edges)


BAND_EDGES = _band_edges()


def _noise_variation(width: int) -> float:
    """The coefficient of variation over frames of the power in `width` adjacent bins of
    Hann-windowed steady Gaussian noise: neighbouring bins correlate (2/3, then 1/6), so the
    power of a band varies like that of fewer independent bins."""
    squared_correlation = {0: 1.0, 1: (2 / 3) ** 2, 2: (1 / 6) ** 2}
    total = sum(squared_correlation.get(abs(j - k), 0.0) for j in range(width) for k in range(width))
    return float(np.sqrt(total) / width)


NOISE_VARIATION = np.array([_noise_variation(b - a) for a, b in zip(BAND_EDGES, BAND_EDGES[1:])])


class _Meter:
    """Measures LOUDNESS_FRAME-sample frames as blocks pass. Loudness: frames whose RMS, after
    removing their own mean (DC offset), reaches SILENCE_DBFS (a click in silence, a DC offset or
    faint hiss is not music). Steadiness: per band, the running sum and sum of squares of its power."""

    def __init__(self):
        self.carry = np.zeros(0, np.float32)
        self.frames = self.audible_frames = 0
        self.band_sum = np.zeros(len(NOISE_VARIATION))
        self.band_squares = np.zeros(len(NOISE_VARIATION))
        self.spectra = 0

    def push(self, block: np.ndarray) -> None:
        data = np.concatenate([self.carry, block]) if len(self.carry) else block
        n = len(data) // LOUDNESS_FRAME
        if n:
            frames = data[: n * LOUDNESS_FRAME].reshape(n, LOUDNESS_FRAME).astype(np.float64)
            self._count(frames)
            self._bands(frames)
        self.carry = data[n * LOUDNESS_FRAME :].copy()

    def _count(self, frames: np.ndarray) -> None:
        frames = frames.astype(np.float64, copy=False)
        rms = np.sqrt(((frames - frames.mean(axis=1, keepdims=True)) ** 2).mean(axis=1))
        self.frames += len(frames)
        self.audible_frames += int((rms >= 10 ** (SILENCE_DBFS / 20)).sum())

    def _bands(self, frames: np.ndarray) -> None:
        power = np.abs(np.fft.rfft(frames * np.hanning(LOUDNESS_FRAME + 1)[:-1], axis=1)) ** 2
        bands = np.add.reduceat(power[:, BAND_EDGES[0] : BAND_EDGES[-1]], BAND_EDGES[:-1] - BAND_EDGES[0], axis=1)
        self.band_sum += bands.sum(axis=0)
        self.band_squares += (bands**2).sum(axis=0)
        self.spectra += len(frames)

    def audible(self) -> tuple[float, float]:
        """(seconds of audible frames, their share of all frames)."""
        if len(self.carry) >= LOUDNESS_FRAME // 4:  # a tail long enough to judge
            self._count(self.carry[None, :])
            self.carry = np.zeros(0, np.float32)
        return self.audible_frames * LOUDNESS_FRAME / SAMPLE_RATE, self.audible_frames / max(self.frames, 1)

    def steadiness(self) -> float | None:
        """The largest, over bands, of how much the band's power varies over frames relative to
        steady noise: about 1 for steady noise, far above 1 for music.
        None when too few frames were heard to tell."""
        if self.spectra < MIN_STEADY_FRAMES:
            return None
        heard = self.band_sum > 0
        if not heard.any():
            return None
        mean = self.band_sum[heard] / self.spectra
        variance = np.maximum(self.band_squares[heard] / self.spectra - mean**2, 0.0)
        return float(np.max(np.sqrt(variance) / mean / NOISE_VARIATION[heard]))


def _as_file(source: Source) -> Union[str, BinaryIO]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise AudioError("The file is empty (0 bytes).")
        return io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            raise AudioError(f"{path.name} is a folder, not an audio file.")
        if path.is_symlink() and not path.exists():
            raise AudioError(f"{path.name} is a link to a file that does not exist (or a link loop).")
        if not path.is_file():
            raise AudioError(f"{path.name}: no such file.")
        if path.stat().st_size == 0:
            raise AudioError(f"{path.name} is empty (0 bytes).")
        return str(path)
    return source


def _excerpt(total_frames: int, sr: int, seconds: float | None) -> tuple[int, int]:
    """(start, length) in frames of the middle `seconds` of a file."""
    if seconds is None or total_frames <= seconds * sr:
        return 0, total_frames
    length = int(seconds * sr)
    return (total_frames - length) // 2, length


def _open_soundfile(source: Source, seconds: float | None, name: str) -> Excerpt:
    import soundfile as sf  # here, not at the top: the models import this module's constants only

    file = _as_file(source)
    with sf.SoundFile(file) as f:  # read the header now: errors belong to opening
        sr, total, subtype = f.samplerate, f.frames, f.subtype
    if total <= 0:
        raise AudioError("The file contains no audio.")
    _refuse_header(total / sr, sr, name, max_seconds())
    start, length = _excerpt(total, sr, seconds)
    if isinstance(file, io.IOBase):
        file.seek(0)

    def frames(limit: float | None = None):
        """(samples, channels) blocks of the excerpt at the file's rate; samples at or beyond
        ±`limit` (damage) set to 0."""
        if isinstance(file, io.IOBase):
            file.seek(0)
        with sf.SoundFile(file) as f:
            if start:
                f.seek(start)
            block, remaining = int(BLOCK_SECONDS * sr), length
            while remaining > 0:
                try:
                    data = f.read(min(block, remaining), dtype="float32", always_2d=True)
                except Exception as error:
                    raise AudioError(f"Could not read {name}: it is damaged ({error}).") from error
                if len(data) == 0:
                    break
                remaining -= len(data)
                if limit is not None:
                    data[np.abs(data) >= limit] = 0.0
                yield data

    gain, limit, warnings = 1.0, None, []
    if subtype in FLOAT_SUBTYPES:  # only float files can hold samples far outside [-1, 1]
        gain, limit, warnings = _float_range(frames, name)
    mono = lambda: (b.mean(axis=1) for b in frames(limit))  # noqa: E731
    return Excerpt(name, total / sr, start / sr, lambda: _resampled(mono(), sr), gain, warnings)


def _float_range(frames, name: str) -> tuple[float, float | None, list[str]]:
    """(gain, damage limit, warnings) of a float file read by `frames(limit)`. Within ±2 and
    finite: nothing to do. Else samples at or beyond a limit (±2 and DAMAGE_RATIO times the level
    all but the loudest LOUDEST_SHARE stay under; infinities too) are damage: set to 0, with a
    warning (more than LOUDEST_SHARE of them: the file is refused as damaged). What is left beyond
    ±FAR_OUTSIDE_PEAK was written unscaled: it is scaled into ±1, with a warning."""
    peak, infinite = 0.0, 0
    for block in frames():
        finite = np.isfinite(block)
        peak = max(peak, float(np.max(np.abs(block[finite]), initial=0.0)))
        infinite += int(np.isinf(block).sum())
    if peak <= FAR_OUTSIDE_PEAK and not infinite:
        return 1.0, None, []
    # magnitudes by power of two (frexp's exponent: |x| in [2**(e-1), 2**e)), infinities on top
    offset, counts, total = 160, np.zeros(320, np.int64), 0
    for block in frames():
        magnitude = np.abs(block[np.isfinite(block)])
        counts += np.bincount(np.frexp(magnitude[magnitude > 0])[1] + offset, minlength=len(counts))
        total += len(magnitude)
    counts[-1] += infinite
    total = max(total + infinite, 1)
    louder = np.cumsum(counts[::-1])[::-1]  # louder[i]: samples in bin i or above
    loud_bin = int(np.argmax(louder <= LOUDEST_SHARE * total))  # the lowest bin from which up is rare
    limit = max(FAR_OUTSIDE_PEAK, 2.0 ** (loud_bin - offset - 1) * DAMAGE_RATIO)  # a power of two
    damaged = int(louder[offset + int(np.log2(limit)) + 1])
    warnings = []
    if damaged:
        if damaged > LOUDEST_SHARE * total:
            raise AudioError(f"{name} is damaged: {damaged} of its samples are infinite or absurdly large.")
        worst = "infinite" if infinite else f"up to ±{peak:.3g}"
        warnings.append(
            f"{name} has {damaged} damaged sample{'s' if damaged != 1 else ''} ({worst}, far beyond the rest "
            "of the audio): set to 0 before analysis."
        )
        peak = max((float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0)) for b in frames(limit)), default=0.0)
    else:
        limit = None
    gain = 1.0
    if peak > FAR_OUTSIDE_PEAK:
        gain = 1.0 / peak
        warnings.append(
            f"{name} holds samples up to ±{peak:.3g}, far outside the usual ±1 (a float file "
            "written unscaled?): it was scaled to ±1 before analysis."
        )
    return gain, limit, warnings


def _resampled(blocks: Iterator[np.ndarray], sr: int) -> Iterator[np.ndarray]:
    """Mono blocks at `sr` -> the same audio at SAMPLE_RATE, streamed through one resampler."""
    import soxr

    resampler = soxr.ResampleStream(sr, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
    for block in blocks:
        yield resampler.resample_chunk(np.ascontiguousarray(block, np.float32), last=False)
    yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)


def _open_with_ffmpeg(source: Source, seconds: float | None, name: str, sf_error: Exception) -> Excerpt:
    """What libsndfile refuses (M4A/AAC, ...) through PyAV: ffmpeg's decoders, shipped in its wheel.
    PyAV decodes the excerpt block by block as it is read, like libsndfile's files."""
    from .av_decode import open_stream

    try:
        duration_s, start_s, read = open_stream(source, seconds=seconds, name=name)
    except AudioError as error:
        raise AudioError(f"{error} Supported: {SUPPORTED}.") from sf_error
    _refuse_header(duration_s, None, name, max_seconds())
    return Excerpt(name, duration_s, start_s, read)
