"""Scanning files into the library: find the audio (`audio_files`), hash it (reading bytes, no
decoding; a file whose size and modification time are unchanged since the last scan is not even
read), skip the hashes already analysed with the same models, and analyse only the new ones with
`batch.analyze_files` (a process per core); the rows go to `library.store`.

How to scan is one `ScanOptions` (the models, their mood centre, the workers, what to analyse of
each song, a progress callback): the command line builds it once from its arguments and every
layer passes it on as it is (`scan_files`, `scan_folder`, `add_uploads`, `library.tags.tag_paths`).
A call may also name its fields (`scan_folder(music, engine, workers=1)`).

A file that cannot be analysed is reported and skipped; the batch goes on. When the audio itself is
unusable it is remembered (so a rescan does not decode it again); other failures (a crashed worker,
a bug) are not, so a rescan tries again. A path whose content changed (another song saved over it)
loses its old analysis; `force` reads and analyses every file again. Paths are bytes-safe
(`library.paths`); files are hashed outside any write transaction, so a scan never holds the
database's write lock while it reads a big file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat as stat_module
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..batch import analyze_files
from ..io import database
from ..io.clip import AUDIO_SUFFIXES
from ..team import storage
from . import store
from .paths import shown_name
from .store import ScanResult

Progress = Callable[[int, int, "float | None", str], None]  # done, total, seconds left (None at 0), path


@dataclass(frozen=True)
class ScanOptions:
    """How to scan: one object from the command line (or a page) down to `scan_files`."""

    checkpoints: str | os.PathLike | None = None  # the model folder (None: the one in use)
    thresholds: tuple[float, float] | None = None  # the mood centre (None: config.json's)
    workers: int | None = None  # analysis processes (None: up to 2)
    force: bool = False  # analyse every file again
    seconds: float | None = None  # only this many seconds from the middle (None: the whole song)
    preset: str | None = None  # predict.PRESETS ("overnight"); None or "whole": the full analysis
    progress: Progress | None = None  # progress(done, total, seconds_left, path): 0 first, then per file

    def with_(self, **fields) -> "ScanOptions":
        """These options with some fields changed (an unknown field is a TypeError)."""
        return replace(self, **fields) if fields else self


def options_of(options: ScanOptions | None, fields: dict) -> ScanOptions:
    """The options a call gives: its ScanOptions, with any fields it names on top."""
    return (options or ScanOptions()).with_(**fields)


# --- files ------------------------------------------------------------------------------------


def audio_files(folder: str | Path, skipped: dict[str, str] | None = None) -> list[Path]:
    """Audio files under `folder` (the package's one suffix list, `io.clip.AUDIO_SUFFIXES`, AIFF
    included), recursively, sorted; hidden files and folders are skipped.

    Names with an audio suffix that are not readable files (a folder named x.mp3, a broken or
    self-looping link, a path too long for the system) and folders that cannot be listed are
    reported in `skipped` (path -> why) instead of vanishing without a word or stopping the walk.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No such folder: {folder}")

    def unreadable(error: OSError) -> None:
        if skipped is not None and error.filename:
            skipped[str(error.filename)] = f"cannot be read: {error.strerror or error}"

    found = []
    for root, dirs, names in os.walk(folder, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in [*names, *dirs]:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in AUDIO_SUFFIXES:
                continue
            p = Path(root, name)
            try:
                if p.is_file():
                    found.append(p)
                    continue
            except OSError as error:  # a path longer than the system takes
                if skipped is not None:
                    skipped[str(p)] = f"cannot be read: {error.strerror or error}"
                continue
            if skipped is not None:
                skipped[str(p)] = not_a_file_reason(p)
    return sorted(found)


def not_a_file_reason(path: Path) -> str:
    """Why a path with an audio suffix is not a file that can be read."""
    name = shown_name(path.name)
    try:
        return _not_a_file_reason(path, name)
    except OSError as error:  # a path longer than the system takes
        return f"{name} cannot be read: {error.strerror or error}"


def _not_a_file_reason(path: Path, name: str) -> str:
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as error:
            if error.errno == errno.ELOOP:
                return f"{name} is a link that points back to itself (a link loop)"
            return f"{name} is a link to something that does not exist"
    if path.is_dir():
        return f"{name} is a folder, not an audio file"
    return f"{name} is not a regular file"


def file_hash(path: str | Path, block: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in blocks (the same as storage.content_hash of its bytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def stat_is_file(stat) -> bool:
    return stat_module.S_ISREG(stat.st_mode)


# --- scanning ---------------------------------------------------------------------------------


def scan_files(
    paths: Iterable[str | Path],
    engine=None,
    options: ScanOptions | None = None,
    *,
    names: dict[str, str] | None = None,
    **fields,
) -> ScanResult:
    """Add files to the library: analyse the ones not analysed yet with these models (`options`,
    or its `fields` named in the call), each over the whole song (the middle `seconds` when given:
    a quicker first pass over a big collection; its rows are analysed again by a whole-song scan).
    `preset` "overnight" listens to every second musicnn patch (predict.PRESETS: 1.6x less work,
    the whole song's mood for 59 of 60 test songs, bench/library_speed.py); a whole-song scan
    analyses its rows again.

    `names` maps a path to the name to show for it (an upload's original file name); `force`
    analyses every file again. `progress(done, total, seconds_left, path)` is called with 0 before
    the first analysis and after each analysed file.
    """
    started = time.perf_counter()
    o = options_of(options, fields)
    engine = engine or database.make_engine()
    names = {str(k): shown_name(v) for k, v in (names or {}).items()}  # shown and stored: no NUL, no controls
    fingerprint = store.models_fingerprint(o.checkpoints, o.thresholds, o.seconds, preset=o.preset)
    result = ScanResult()

    order: list[str] = []  # hashes in file order
    path_of: dict[str, str] = {}
    hash_at: dict[str, str] = {}  # every readable path -> its content hash now
    for p, path, digest in _hashes(engine, paths, result.failed, rehash=o.force):
        hash_at[path] = digest
        if digest not in path_of:
            order.append(digest)
            path_of[digest] = path
            names.setdefault(path, names.get(str(p), shown_name(Path(p).name)))

    todo = store.settle(engine, path_of, hash_at, fingerprint, o.force, result)

    total = len(todo)
    if o.progress:
        o.progress(0, total, None, "")
    t0 = time.perf_counter()
    results = analyze_files(
        [path_of[d] for d in todo], o.checkpoints, o.thresholds, o.workers, seconds=o.seconds, preset=o.preset
    )
    for done, (digest, (path, analysis)) in enumerate(zip(todo, results), 1):
        name = names.get(path) or shown_name(Path(path).name)
        if isinstance(analysis, str):
            error = shown_name(analysis.replace(path, name))  # an upload's stored path means nothing to its owner
            result.failed[path] = error
            if getattr(analysis, "bad_audio", False):  # a crash or a lost worker may pass next time
                store.remember_failure(engine, digest, name, error, fingerprint)
        else:
            store.store_analysis(engine, digest, path, name, analysis, fingerprint)
            result.added += 1
        if o.progress:
            elapsed = time.perf_counter() - t0
            o.progress(done, total, elapsed / done * (total - done), path)

    result.songs = store.load_songs(engine, order)
    result.failed = {path: shown_name(why) for path, why in result.failed.items()}  # names in them: printable
    result.seconds = time.perf_counter() - started
    return result


def _hashes(engine, paths, failed: dict, rehash: bool = False) -> list[tuple[str, str, str]]:
    """(given path, resolved path, content hash) per readable file; a file unchanged since the
    last scan (same size and modification time) is not read again unless `rehash`. Unreadable
    ones go to `failed`.

    Files are read with no transaction open (reading a big file takes seconds: others must be able
    to write meanwhile); the new hashes are written in short transactions of HASH_BATCH files.
    """
    resolved = [(p, os.path.realpath(p)) for p in paths]  # never raises, even on a link loop
    known = store.recorded_files(engine, [r for _, r in resolved])  # path -> (size, mtime_ns, hash)
    out, fresh = [], []
    for p, path in resolved:
        try:
            stat = os.stat(path)
            if not stat_is_file(stat):
                failed[str(p)] = not_a_file_reason(Path(p))
                continue
            row = known.get(path)
            if rehash or row is None or row[:2] != (stat.st_size, stat.st_mtime_ns):
                row = known[path] = (stat.st_size, stat.st_mtime_ns, file_hash(path))
                fresh.append((path, *row))
        except OSError as error:
            try:
                link = Path(p).is_symlink()
            except OSError:  # a path longer than the system takes
                link = False
            failed[str(p)] = (
                not_a_file_reason(Path(p))
                if link
                else f"Could not read {shown_name(Path(p).name)}: {error.strerror or error}"
            )
            continue
        out.append((p, path, row[2]))
        if len(fresh) >= HASH_BATCH:
            store.remember_files(engine, fresh)
            fresh = []
    store.remember_files(engine, fresh)
    return out


HASH_BATCH = 100  # new file hashes per write transaction


def scan_folder(folder: str | Path, engine=None, options: ScanOptions | None = None, **fields) -> ScanResult:
    """`scan_files` over the audio files under `folder` (recursively); names that are not files
    (a folder named x.mp3, broken or looping links) are listed in `failed`."""
    skipped: dict[str, str] = {}
    result = scan_files(audio_files(folder, skipped), engine, options_of(options, fields))
    result.failed.update(skipped)
    return result


def add_uploads(
    files: Sequence[tuple[str, bytes]],
    engine=None,
    audio_store: storage.AudioStore | None = None,
    options: ScanOptions | None = None,
    **fields,
) -> ScanResult:
    """Store uploaded (file name, bytes) in the audio store and add them to the library."""
    audio_store = audio_store or storage.AudioStore()
    paths, names = [], {}
    for filename, data in files:
        _, path = audio_store.put(data, filename)
        paths.append(path)
        names.setdefault(str(Path(path).resolve()), filename)  # the first name of identical uploads
    return scan_files(paths, engine, options_of(options, fields), names=names)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
