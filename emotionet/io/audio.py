"""Audio in: any supported file or upload -> one mono excerpt at the analysis rate.

Decoding goes through libsndfile (WAV, FLAC, MP3, OGG Vorbis/Opus, from paths or bytes) and
falls back to PyAV (ffmpeg's decoders, in its wheel: no system ffmpeg) for M4A/AAC and the rest.
Only the excerpt that is analysed is decoded, block by block (`open_excerpt`), so the analysis of
an hour-long file can stream it and never hold it whole.

Silence is judged on ~93 ms frames with their DC offset removed: a clip needs at least 0.5 s
and 5% of its frames louder than -60 dBFS (a click in silence, a DC offset or faint hiss is not
music). A float file with samples far outside [-1, 1] is scaled into it, with a warning.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, Iterator, Union

import numpy as np

from .clip import BLOCK_SECONDS, SAMPLE_RATE, AudioError, Clip, Source, describe_source  # noqa: F401 (re-exported)

EXCERPT_SECONDS = 45.0  # the report analysed 45 s snippets
MIN_SECONDS = 1.0
SILENCE_DBFS = -60.0  # a frame quieter than this (RMS, DC removed) counts as silent
LOUDNESS_FRAME = 2048  # samples per loudness frame (~93 ms)
MIN_AUDIBLE_SECONDS = 0.5  # a clip needs this much audible sound ...
MIN_AUDIBLE_SHARE = 0.05  # ... and this share of its frames audible
FAR_OUTSIDE_PEAK = 2.0  # float samples beyond ±2 mean a file written unscaled: normalise, and say so
FLOAT_SUBTYPES = {"FLOAT", "DOUBLE"}
SUPPORTED = "WAV, FLAC, MP3, OGG (Vorbis/Opus), M4A/AAC and most other formats ffmpeg reads"


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
    then refuses a clip that is too short or silent. `warnings` says what was done to the audio."""

    def __init__(
        self, name: str, duration_s: float, start_s: float, read, gain: float = 1.0, warnings: list[str] | None = None
    ):
        self.name, self.duration_s, self.start_s = name, duration_s, start_s
        self.warnings = list(warnings or [])
        self._read, self._gain = read, gain  # read(): an iterator of (mono blocks at the file's rate)
        self._loudness = _Loudness()
        self.n_samples = 0

    @property
    def seconds(self) -> float:
        return self.n_samples / SAMPLE_RATE

    @property
    def end_s(self) -> float:
        return self.start_s + self.seconds

    def blocks(self) -> Iterator[np.ndarray]:
        for block in self._read():
            if not np.all(np.isfinite(block)):
                raise AudioError(f"{self.name} contains invalid samples (NaN or infinity).")
            if self._gain != 1.0:
                block = block * np.float32(self._gain)
            block = block.astype(np.float32, copy=False)
            self.n_samples += len(block)
            self._loudness.push(block)
            if len(block):
                yield block

    def finish(self) -> None:
        """Raise AudioError when what was decoded cannot be analysed (call after `blocks()`)."""
        if self.seconds < MIN_SECONDS:
            raise AudioError(
                f"{self.name} is too short to analyse: {self.seconds:.2f} s of audio decoded, "
                f"at least {MIN_SECONDS:.0f} s needed (a damaged file can also decode this short)."
            )
        audible_s, share = self._loudness.audible()
        if audible_s < MIN_AUDIBLE_SECONDS or share < MIN_AUDIBLE_SHARE:
            raise AudioError(
                f"{self.name} is silent or nearly so: only {audible_s:.1f} s of the {self.seconds:.1f} s analysed "
                f"is louder than {SILENCE_DBFS:.0f} dBFS (after removing any DC offset); there is nothing to analyse."
            )


class _Loudness:
    """Counts LOUDNESS_FRAME-sample frames whose RMS, after removing their own mean (DC offset),
    reaches SILENCE_DBFS: a click in silence, a DC offset or faint hiss is not music."""

    def __init__(self):
        self.carry = np.zeros(0, np.float32)
        self.frames = self.audible_frames = 0

    def push(self, block: np.ndarray) -> None:
        data = np.concatenate([self.carry, block]) if len(self.carry) else block
        n = len(data) // LOUDNESS_FRAME
        if n:
            self._count(data[: n * LOUDNESS_FRAME].reshape(n, LOUDNESS_FRAME))
        self.carry = data[n * LOUDNESS_FRAME :].copy()

    def _count(self, frames: np.ndarray) -> None:
        frames = frames.astype(np.float64)
        rms = np.sqrt(((frames - frames.mean(axis=1, keepdims=True)) ** 2).mean(axis=1))
        self.frames += len(frames)
        self.audible_frames += int((rms >= 10 ** (SILENCE_DBFS / 20)).sum())

    def audible(self) -> tuple[float, float]:
        """(seconds of audible frames, their share of all frames)."""
        if len(self.carry) >= LOUDNESS_FRAME // 4:  # a tail long enough to judge
            self._count(self.carry[None, :])
            self.carry = np.zeros(0, np.float32)
        return self.audible_frames * LOUDNESS_FRAME / SAMPLE_RATE, self.audible_frames / max(self.frames, 1)


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
    start, length = _excerpt(total, sr, seconds)
    if isinstance(file, io.IOBase):
        file.seek(0)

    def frames():
        """Mono blocks of the excerpt at the file's rate."""
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
                yield data.mean(axis=1)

    gain, warnings = 1.0, []
    if subtype in FLOAT_SUBTYPES:  # only float files can hold samples far outside [-1, 1]
        peak = max((float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0)) for b in frames()), default=0.0)
        if peak > FAR_OUTSIDE_PEAK:
            gain = 1.0 / peak
            warnings.append(
                f"{name} holds samples up to ±{peak:.3g}, far outside the usual ±1 (a float file "
                "written unscaled?): it was scaled to ±1 before analysis."
            )
    return Excerpt(name, total / sr, start / sr, lambda: _resampled(frames(), sr), gain, warnings)


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
    return Excerpt(name, duration_s, start_s, read)
