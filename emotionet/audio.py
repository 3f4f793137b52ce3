"""Audio in: any supported file or upload -> one mono excerpt at the analysis rate.

Decoding goes through libsndfile (WAV, FLAC, MP3, OGG Vorbis/Opus, from paths or bytes) and
falls back to audioread for M4A/AAC, which needs ffmpeg. Only the excerpt that is analysed is
decoded, block by block, so an hour-long file costs no more memory than its 45 s excerpt.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 22050  # analysis rate: the training audio carries nothing above ~11 kHz
EXCERPT_SECONDS = 45.0  # the report analysed 45 s snippets
MIN_SECONDS = 1.0
SILENCE_PEAK = 1e-4  # about -80 dBFS
BLOCK_SECONDS = 10.0  # decode granularity
FFMPEG_FORMATS = {".m4a", ".aac", ".mp4", ".alac", ".wma"}
SUPPORTED = "WAV, FLAC, MP3, OGG (Vorbis/Opus), and M4A/AAC when ffmpeg is installed"

Source = Union[str, os.PathLike, bytes, BinaryIO]


class AudioError(ValueError):
    """Audio that cannot be analysed, with a message a person understands."""


@dataclass(frozen=True)
class Clip:
    """The analysed excerpt of a file: mono float32 samples at SAMPLE_RATE."""

    samples: np.ndarray
    duration_s: float  # of the whole file
    start_s: float  # where the excerpt starts in the file

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def end_s(self) -> float:
        return self.start_s + self.seconds


def load_clip(source: Source, *, seconds: float | None = EXCERPT_SECONDS, name: str | None = None) -> Clip:
    """Decode the middle `seconds` of `source` (all of it when None) as a mono clip.

    Raises AudioError for anything that is not usable audio: unreadable or damaged files,
    clips under a second, silence, NaN or infinite samples.
    """
    name = name or describe_source(source)
    try:
        clip = _decode_soundfile(source, seconds)
    except AudioError:
        raise
    except Exception as sf_error:  # libsndfile says no: maybe a format only ffmpeg reads
        clip = _decode_with_ffmpeg(source, seconds, name, sf_error)
    _check_usable(clip, name)
    return clip


def describe_source(source: Source) -> str:
    """How messages name a source: the file name, or "the uploaded audio" for bytes."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return "the uploaded audio"


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


def _decode_soundfile(source: Source, seconds: float | None) -> Clip:
    with sf.SoundFile(_as_file(source)) as f:
        sr, total = f.samplerate, f.frames
        if total <= 0:
            raise AudioError("The file contains no audio.")
        start, length = _excerpt(total, sr, seconds)
        if start:
            f.seek(start)
        resampler = soxr.ResampleStream(sr, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        block, remaining, pieces = int(BLOCK_SECONDS * sr), length, []
        while remaining > 0:
            data = f.read(min(block, remaining), dtype="float32", always_2d=True)
            if len(data) == 0:
                break
            remaining -= len(data)
            pieces.append(resampler.resample_chunk(data.mean(axis=1), last=False))
        pieces.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    return Clip(np.concatenate(pieces).astype(np.float32), total / sr, start / sr)


def _decode_with_ffmpeg(source: Source, seconds: float | None, name: str, sf_error: Exception) -> Clip:
    suffix = Path(name).suffix.lower()
    if suffix not in FFMPEG_FORMATS:
        raise AudioError(
            f"Could not read {name}: it is not audio in a supported format, or it is damaged. "
            f"Supported: {SUPPORTED}."
        ) from sf_error
    if shutil.which("ffmpeg") is None:
        raise AudioError(
            f"{name} is {suffix[1:].upper()} audio, which needs ffmpeg: install ffmpeg, "
            "or convert the file to WAV, FLAC, MP3 or OGG."
        ) from sf_error
    import audioread  # pulled in by librosa; only used for ffmpeg-only formats

    with tempfile.TemporaryDirectory() as tmp:
        path = source
        if not isinstance(source, (str, os.PathLike)):
            data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else source.read()
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(data)
        try:
            with audioread.audio_open(str(path)) as f:
                sr, channels, duration = f.samplerate, f.channels, f.duration
                raw = b"".join(f)
        except Exception as error:
            raise AudioError(f"Could not read {name}: ffmpeg could not decode it ({error}).") from error
    samples = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    mono = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(axis=1)
    start, length = _excerpt(len(mono), sr, seconds)
    excerpt = soxr.resample(mono[start : start + length], sr, SAMPLE_RATE, quality="HQ")
    return Clip(excerpt.astype(np.float32), duration or len(mono) / sr, start / sr)


def _check_usable(clip: Clip, name: str) -> None:
    if not np.all(np.isfinite(clip.samples)):
        raise AudioError(f"{name} contains invalid samples (NaN or infinity).")
    if clip.seconds < MIN_SECONDS:
        raise AudioError(
            f"{name} is too short to analyse: {clip.seconds:.2f} s of audio decoded, "
            f"at least {MIN_SECONDS:.0f} s needed (a damaged file can also decode this short)."
        )
    if np.max(np.abs(clip.samples)) < SILENCE_PEAK:
        raise AudioError(f"{name} is silent: there is nothing to analyse.")
