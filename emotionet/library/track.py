"""A song's Spotify-defined fields, measured from the file itself: its length from the container,
its integrated loudness, its key.

    duration_ms  the container's length with the encoder's delay and padding removed: the samples
                 libsndfile decodes (mpg123 honours MP3's LAME/Xing gapless fields; WAV, AIFF, FLAC
                 and Ogg state their sample counts), else the container's length as mutagen reads it
                 (MP4's), else the samples PyAV decodes
    loudness     the integrated loudness of the file's own channels at its own rate (ITU-R BS.1770-4
                 / EBU R128, `features.loudness`), LUFS; None for silence
    key, mode    the key of the song's harmonic pitch-class profile matched against key profiles,
                 as essentia's KeyExtractor finds it by default (`features.key`); -1 (mode 1) for
                 no key, and `key_strength`, the profile's correlation

One pass decodes the file block by block (libsndfile, else PyAV): the channels go to the loudness
meter, their mean, at 44.1 kHz (resampled from another rate), to the key's pitch-class profile.
The analysis (`predict`) hears a mono 22.05 kHz excerpt and keeps its own measurements for its
explanations; these are what `export` and `tag` write. `ensure` measures the library songs that
lack them (in worker processes) and stores them in the song's analysis JSON under "track" (a
rescan that analyses a song again measures it again when asked).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Iterator, Sequence

import numpy as np

VERSION = 2  # bump when a measure changes: stored fields of another version are measured again


def duration_ms(path: str) -> int | None:
    """The container's length in ms, encoder delay and padding removed (None: it does not say)."""
    try:
        import mutagen

        info = mutagen.File(path)
        length = getattr(getattr(info, "info", None), "length", None)
    except Exception:  # an unreadable header: the decoded length is used instead
        return None
    return int(round(length * 1000)) if length and np.isfinite(length) and length > 0 else None


def _blocks(path: str) -> Iterator[tuple[str, int, np.ndarray]]:
    """(decoder, rate, (samples, channels) float32) blocks of the whole file at its own rate."""
    import soundfile as sf

    try:
        with sf.SoundFile(path) as f:
            rate = f.samplerate
            for block in f.blocks(blocksize=1 << 18, dtype="float32", always_2d=True):
                yield "libsndfile", rate, block
        return
    except sf.LibsndfileError:
        pass
    from ..io.av_decode import decoded_frames

    for rate, _, planes in decoded_frames(path):
        yield "pyav", rate, np.ascontiguousarray(planes.T)


def measure(path: str) -> dict:
    """The fields of one file (see the module docstring); raises AudioError for a file that cannot
    be decoded or is longer than the duration limit (io.audio.check_length)."""
    import soxr

    from ..features.key import SR, Chroma, key_of
    from ..features.loudness import LoudnessMeter
    from ..io.audio import check_length

    check_length(path)
    meter = chroma = resampler = None
    samples, rate, decoder = 0, None, None
    for decoder, rate, block in _blocks(path):
        if meter is None:
            meter = LoudnessMeter(rate, block.shape[1])
            chroma = Chroma()
            if rate != SR:
                resampler = soxr.ResampleStream(rate, SR, 1, dtype="float32", quality="HQ")
        meter.push(block)
        mono = np.ascontiguousarray(block.mean(axis=1))
        chroma.push(resampler.resample_chunk(mono, last=False) if resampler else mono)
        samples += len(block)
    if meter is None:
        from ..io.audio import AudioError

        raise AudioError(f"{os.path.basename(path)} contains no audio.")
    if resampler:
        chroma.push(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    pitch, mode, strength = key_of(chroma.result())
    loudness = meter.integrated()
    return {
        "version": VERSION,
        "duration_ms": int(round(samples / rate * 1000))
        if decoder == "libsndfile"  # it honours MP3's gapless fields: the samples the container declares
        else duration_ms(path) or int(round(samples / rate * 1000)),
        "loudness": round(loudness, 2) if np.isfinite(loudness) else None,
        "key": int(pitch),
        "mode": int(mode),
        "key_strength": round(float(strength), 3),
    }


def _measure_or_error(path: str) -> dict | str:
    try:
        return measure(path)
    except Exception as error:  # one file never stops the others: its fields stay the analysis's
        return " ".join(str(error).split())[:200] or type(error).__name__


def stored(song) -> dict | None:
    """The song's measured fields when stored with the current VERSION, else None."""
    fields = song.extra.get("analysis", {}).get("track")
    return fields if isinstance(fields, dict) and fields.get("version") == VERSION else None


def ensure(engine, songs: Sequence, workers: int | None = None) -> dict[str, str]:
    """Measure the songs whose fields are not stored yet (in `workers` processes), store them in
    each song's analysis JSON and in `song.extra`; returns path -> why for those that could not be
    measured (they keep the analysis's own values)."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from .songs import LibrarySong

    todo = [s for s in songs if stored(s) is None and os.path.isfile(s.path)]
    if not todo:
        return {}
    workers = max(1, min(workers or 2, len(todo), os.cpu_count() or 1))
    if workers == 1:
        results = [_measure_or_error(s.path) for s in todo]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_measure_or_error, [s.path for s in todo]))
    failed = {}
    with Session(engine) as session, session.begin():
        for song, fields in zip(todo, results):
            if isinstance(fields, str):
                failed[song.path] = fields
                continue
            analysis = dict(song.extra.get("analysis", {}), track=fields)
            song.extra["analysis"] = analysis
            session.execute(
                update(LibrarySong)
                .where(LibrarySong.hash == song.hash)
                .values(analysis=json.dumps(analysis, allow_nan=False))
            )
    return failed
