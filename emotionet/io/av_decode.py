"""Decode what libsndfile refuses (M4A/AAC, ALAC, WMA, MP4 audio, ...) through PyAV.

PyAV's wheels carry ffmpeg's libraries, so no system ffmpeg is needed. The excerpt semantics are
those of `emotionet.io.audio.load_clip`: the middle `seconds` of the file (all of it when None),
mono (the mean of the channels), float32 at `rate`, decoded block by block so only the excerpt is
held in memory. Anything unusable raises `emotionet.io.audio.AudioError` with a message a person
understands.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import soxr

from .clip import BLOCK_SECONDS, SAMPLE_RATE, AudioError, Clip, Source, describe_source


def decode(source: Source, *, seconds: float | None = None, rate: int = SAMPLE_RATE, name: str | None = None) -> Clip:
    """The middle `seconds` (all when None) of `source` (path, bytes or binary file) as a mono Clip.

    Raises AudioError when PyAV is missing, the data is not audio ffmpeg can read, or it holds no
    audio stream. The clip is not checked for silence or length: `emotionet.io.audio.load_clip` does that.
    """
    total_s, start_s, read = open_stream(source, seconds=seconds, rate=rate, name=name)
    return Clip(np.concatenate(list(read())).astype(np.float32), total_s, start_s)


def open_stream(source: Source, *, seconds: float | None = None, rate: int = SAMPLE_RATE, name: str | None = None):
    """(duration_s, start_s, read) of the middle `seconds` (all when None) of `source`: read() yields
    it as mono float32 blocks at `rate` (about BLOCK_SECONDS each) while it decodes, so an hour of
    M4A never sits in memory. Errors the header shows are raised here, damage further in while
    reading; both as AudioError."""
    name = name or describe_source(source)
    try:
        import av
    except ImportError as error:  # pragma: no cover - av is in requirements.txt
        raise AudioError(f"Could not read {name}: decoding it needs PyAV (pip install av).") from error
    damaged = f"Could not read {name}: it is damaged (decoding failed part way through)."
    errors = (av.FFmpegError, OSError, ValueError, IndexError)
    try:
        total = _duration_s(_open(source, name))
        if total is None:  # no duration in the header (raw ADTS AAC, some streams): count once
            total = _count_seconds(_open(source, name), name)
    except AudioError:  # (a ValueError too: it must not become "damaged")
        raise
    except errors as error:
        raise AudioError(damaged) from error
    if seconds is None or total <= seconds:
        start_s, length_s = 0.0, total
    else:
        start_s, length_s = (total - seconds) / 2, float(seconds)

    def read():
        try:
            yield from _blocks(_open(source, name), start_s, length_s, rate, name)
        except AudioError:
            raise
        except errors as error:
            raise AudioError(damaged) from error

    return total, start_s, read


def _open(source: Source, name: str):
    """An open PyAV container of `source` with at least one audio stream."""
    import av

    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise AudioError("The file is empty (0 bytes).")
        file = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise AudioError(f"{path.name}: no such file.")
        file = str(path)
    else:
        source.seek(0)
        file = source
    try:
        container = av.open(file, mode="r")
    except av.FFmpegError as error:
        raise AudioError(f"Could not read {name}: it is not audio in a supported format, or it is damaged.") from error
    if not container.streams.audio:
        container.close()
        raise AudioError(f"{name} holds no audio stream.")
    return container


def _duration_s(container) -> float | None:
    stream = container.streams.audio[0]
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        seconds = container.duration / 1_000_000  # av.time_base
    else:
        seconds = None
    container.close()
    return seconds if seconds and seconds > 0 else None


def _count_seconds(container, name: str) -> float:
    with container:
        stream = container.streams.audio[0]
        samples, rate = 0, stream.rate or stream.codec_context.sample_rate
        for frame in container.decode(stream):
            samples, rate = samples + frame.samples, frame.sample_rate
    if samples == 0:
        raise AudioError(f"{name} contains no audio.")
    return samples / rate


def _mono(frame, converter) -> np.ndarray:
    """One decoded frame as mono float32 (mean of its channels)."""
    out = []
    for converted in converter.resample(frame):
        out.append(converted.to_ndarray().reshape(len(converted.layout.channels), -1).mean(axis=0))
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def _blocks(container, start_s: float, length_s: float, rate: int, name: str):
    """Mono float32 blocks at `rate` of `length_s` seconds from `start_s`, decoded as they are read."""
    import av

    with container:
        stream = container.streams.audio[0]
        src_rate = stream.rate or stream.codec_context.sample_rate
        origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        if start_s > 0:  # lands on the packet at or before start_s; samples before it are dropped below
            container.seek(int((origin + start_s) / stream.time_base), stream=stream, backward=True)
        converter = av.AudioResampler(format="fltp")  # sample format only: keep channels and rate
        resampler = soxr.ResampleStream(src_rate, rate, 1, dtype="float32", quality="HQ")
        wanted = int(round(length_s * src_rate))
        kept, pending, position = 0, [], None
        for frame in container.decode(stream):
            if frame.pts is not None:
                position = float(frame.pts * frame.time_base) - origin
            elif position is None:
                position = 0.0
            mono = _mono(frame, converter)
            skip = max(0, int(round((start_s - position) * src_rate)))
            position += frame.samples / frame.sample_rate
            mono = mono[skip : skip + wanted - kept]
            if mono.size:
                pending.append(mono)
                kept += mono.size
            if sum(p.size for p in pending) >= BLOCK_SECONDS * src_rate or kept >= wanted:
                yield resampler.resample_chunk(np.concatenate(pending), last=False)
                pending = []
            if kept >= wanted:
                break
        if kept == 0:
            raise AudioError(f"{name} contains no audio.")
        if pending:
            yield resampler.resample_chunk(np.concatenate(pending), last=False)
        yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)


def header(source: Source, name: str | None = None) -> tuple[float, int]:
    """(duration in seconds, sample rate) from the container alone (counted by decoding only when
    the container has no duration); AudioError when it is not audio PyAV reads."""
    name = name or describe_source(source)
    try:
        import av
    except ImportError as error:  # pragma: no cover - av is in requirements.txt
        raise AudioError(f"Could not read {name}: decoding it needs PyAV (pip install av).") from error
    try:
        container = _open(source, name)
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate or 0)
        total = _duration_s(container)
        if total is None:
            total = _count_seconds(_open(source, name), name)
    except AudioError:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as error:
        raise AudioError(f"Could not read {name}: it is damaged.") from error
    return total, rate


def decoded_frames(path: str | os.PathLike):
    """(rate, channels, samples as float32 planes) of every decoded frame of the file's first audio
    stream, as they come (for comparing two files' audio); AudioError when it cannot be decoded."""
    import av

    name = Path(path).name
    try:
        with _open(str(path), name) as container:
            stream = container.streams.audio[0]
            converter = av.AudioResampler(format="fltp")
            for frame in container.decode(stream):
                for converted in converter.resample(frame):
                    yield converted.sample_rate, len(converted.layout.channels), converted.to_ndarray()
    except AudioError:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as error:
        raise AudioError(f"Could not decode {name}: it is damaged.") from error
