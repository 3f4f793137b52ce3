"""What both decoders share (`audio`: libsndfile, `av_decode`: PyAV): the analysis rate, the
decoded `Clip`, `AudioError` and how a source is named in messages. Both import this module and
`audio` re-exports it, so `av_decode` never imports `audio`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np

SAMPLE_RATE = 22050  # analysis rate: the training audio carries nothing above ~11 kHz
BLOCK_SECONDS = 10.0  # decode granularity

Source = Union[str, os.PathLike, bytes, BinaryIO]

# The one list of audio file suffixes the whole package reads (scan, tag, export, uploads, training):
# what libsndfile (WAV, AIFF, FLAC, MP3, Ogg Vorbis/Opus) and PyAV (M4A/AAC) decode.
AUDIO_SUFFIXES = frozenset({".wav", ".aif", ".aiff", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac"})


class AudioError(ValueError):
    """Audio that cannot be analysed, with a message a person understands."""


@dataclass(frozen=True)
class Clip:
    """The analysed excerpt of a file: mono float32 samples at SAMPLE_RATE."""

    samples: np.ndarray
    duration_s: float  # of the whole file
    start_s: float  # where the excerpt starts in the file
    warnings: tuple[str, ...] = ()  # what was done to the audio (e.g. scaled into [-1, 1])

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def end_s(self) -> float:
        return self.start_s + self.seconds


def describe_source(source: Source) -> str:
    """How messages name a source: the file name, or "the uploaded audio" for bytes."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return "the uploaded audio"
