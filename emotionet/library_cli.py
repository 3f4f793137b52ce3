"""The library's command line: the `scan` and `playlist` commands and their arguments (wired in
cli.py), and the `--seconds` rule shared with `analyze`.

    python -m emotionet scan FOLDER [--force]
    python -m emotionet playlist FOLDER --mood calm --count 20 -o calm.m3u8
    python -m emotionet playlist FOLDER --from sad --to happy --minutes 30 -o lift.m3u8
    python -m emotionet playlist FOLDER --near 0.7,0.3 --radius 0.2 -o near.csv

Building the parsers imports neither the library (SQLAlchemy) nor the models, so
`python -m emotionet analyze` starts quicker: the commands import them when they run.

Numbers are checked as the arguments are parsed (a count, length, radius or number of workers
must be positive); `--model` must name one of the checkpoints' models. A full disk, a read-only
data folder or a database that cannot be reached ends a command with one `error:` line (exit 2),
not a traceback; file names are printed on one line (undecodable bytes as \\xNN).
"""

from __future__ import annotations

import argparse
import errno
import functools
import json
import math
import os
import sys
from pathlib import Path

from .io import files
from .io.text import positive_float, positive_int
from .mood import MOODS, parse_thresholds


PRESETS = ("whole", "overnight")  # predict.PRESETS' names (not imported here: parsing stays light)
PLAYLIST_SUFFIXES = (".m3u8", ".m3u", ".csv", ".nsp")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="folder of audio files (scanned recursively)")
    scan_options(parser)


def scan_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that scans into the library (scan, playlist, tag, export): the
    models, their mood centre, the workers, what to analyse of each song (`scan_settings` reads them into one `ScanOptions`)."""
    parser.add_argument("--checkpoints", type=Path, help="model folder (default: the shipped checkpoints/)")
    parser.add_argument(
        "--thresholds",
        type=parse_thresholds,
        default=None,
        help="mood boundaries V,A (default: the models' mood centre, config.json's mood_centre)",
    )
    parser.add_argument(
        "--workers", type=positive_int, default=None, help="processes (default: up to 2; at most the machine's cores)"
    )
    parser.add_argument(
        "--max-minutes",
        type=max_minutes,
        default=None,
        help="refuse audio longer than this, read from its header before any work (default 120, or "
        "EMOTIONET_MAX_MINUTES; 0: no limit)",
    )
    parser.add_argument("--force", action="store_true", help="analyse every file again")
    parser.add_argument(
        "--seconds",
        type=excerpt_seconds,
        default=0.0,
        help="analyse only this many seconds from the middle of each song (e.g. 45: about 5x "
        "quicker on 4-minute songs); default 0 = the whole song",
    )
    parser.add_argument(
        "--preset",
        choices=PRESETS,
        default="whole",
        help="overnight: musicnn on every second 3 s patch of the whole song: 1.6x less work, the whole "
        "song's mood for 59 of 60 test songs (bench/library_speed.py); a later whole scan redoes those songs. "
        "tag and export: give the preset the library was scanned with, so its songs are not analysed again",
    )


def max_minutes(text: str) -> float:
    """--max-minutes: a finite number of minutes, 0 for no limit."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a length: give minutes, or 0 for no limit")
    return value


def machine_workers(asked: int | None) -> int | None:
    """--workers, capped by the machine's cores (10,000 processes would fork until the system's
    limit); a cap is said on stderr. None stays None (the default: up to 2)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if asked is None or asked <= cores:
        return asked
    print(f"note: --workers {asked} capped at this machine's {cores} cores", file=sys.stderr)
    return cores


def excerpt_seconds(text: str) -> float:
    """--seconds (analyze, scan, playlist): 0 (the whole song) or a finite length of at least
    audio.MIN_SECONDS."""
    from .io.audio import MIN_SECONDS

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0 or 0 < value < MIN_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text} is not a length to analyse: give 0 for the whole song or at least {MIN_SECONDS:g} s"
        )
    return value


def add_scan_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("scan", help="analyse a folder of songs into the library (cached)")
    _common(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable summary")
    from .scale import add_scan_arguments

    add_scan_arguments(parser)  # --engine ray, --address, --device, --parquet
    return parser


def add_playlist_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("playlist", help="a mood playlist from a folder of songs")
    _common(parser)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--mood", choices=MOODS, help="songs of one mood, clearest first")
    mode.add_argument("--near", metavar="V,A|MOOD", help="songs nearest a point (or a mood's centre)")
    mode.add_argument("--from", dest="start", metavar="V,A|MOOD", help="journey start (with --to)")
    parser.add_argument("--to", dest="end", metavar="V,A|MOOD", help="journey end")
    parser.add_argument("--radius", type=positive_float, help="with --near: only songs within this distance")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--count", type=positive_int, help="number of songs (default 20)")
    length.add_argument("--minutes", type=positive_float, help="total length in minutes")
    parser.add_argument(
        "--model", help="whose predictions to use (default: the headline model, the best on validation)"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write .m3u8/.m3u (locations relative to it), .csv, or .nsp (a Navidrome smart playlist rule for "
        "--mood, or --near with --radius) (default: M3U8 with file:// URIs to stdout)",
    )
    parser.add_argument("--names", action="store_true", help="M3U8 with file names only (kept beside the music)")
    return parser


ENVIRONMENT_ERRNOS = {  # the machine's state, not a bug: one line says what to do
    errno.ENOSPC: "free some space",
    errno.EDQUOT: "free some space",
    errno.EROFS: "use a writable folder (EMOTIONET_DATA_DIR for the library)",
    errno.EACCES: "check the folder's permissions (EMOTIONET_DATA_DIR for the library)",
    errno.EPERM: "check the folder's permissions (EMOTIONET_DATA_DIR for the library)",
    errno.EIO: "check the disk",
}


def environment_error(error: BaseException) -> str | None:
    """One line for a failure of the machine rather than of the program (a full disk, a read-only
    or forbidden folder, a database that cannot be reached or written), else None."""
    from sqlalchemy.exc import DBAPIError

    from .library.paths import shown_path
    from .io.database import DatabaseFileError, database_url

    if isinstance(error, DatabaseFileError):
        return shown_path(str(error))
    if isinstance(error, DBAPIError):
        from sqlalchemy.engine import make_url

        reason = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
        where = make_url(database_url()).render_as_string(hide_password=True)
        hint = (
            "it is damaged: move it aside (the next run starts an empty library) or restore a backup"
            if "malformed" in reason or "not a database" in reason
            else "free some space"
            if "full" in reason
            else "the data folder is read-only: use a writable one (EMOTIONET_DATA_DIR)"
            if "readonly" in reason or "read-only" in reason
            else "is the database server running and EMOTIONET_DB_URL right?"
            if "connect" in reason.lower()
            else "check the database"
        )
        return f"the library's database ({where}) failed: {reason} ({hint})"
    if isinstance(error, OSError) and error.errno in ENVIRONMENT_ERRNOS:
        where = f": {shown_path(error.filename)}" if error.filename else ""
        return f"{error.strerror or os.strerror(error.errno)}{where} ({ENVIRONMENT_ERRNOS[error.errno]})"
    return None


def one_line_errors(command):
    """Run a command; a full disk, read-only folder or unreachable database is one `error:` line, exit 2."""

    @functools.wraps(command)
    def run(args) -> int:
        try:
            return command(args)
        except Exception as error:
            message = environment_error(error)
            if message is None:
                raise
            print(f"error: {message}", file=sys.stderr)
            return 2

    return run


def progress_bar():
    """(progress, close): a `scan_files` progress callback that draws a bar on stderr, and what ends it."""
    from tqdm import tqdm

    from .library.paths import shown_name

    bar = None

    def progress(done, total, _left, path):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="song", desc="Analysing", file=sys.stderr, disable=total == 0)
        else:
            bar.set_postfix_str(shown_name(Path(path).name)[-30:], refresh=False)
            bar.update(1)

    def close():
        if bar is not None:
            bar.close()

    return progress, close


def scan_settings(args, progress=None):
    """The one `library.scan.ScanOptions` of the command line's `scan_options`. --max-minutes is
    set in the environment (EMOTIONET_MAX_MINUTES), where every worker's decoder reads it."""
    from .io.audio import MAX_MINUTES_ENV
    from .library.scan import ScanOptions

    if getattr(args, "max_minutes", None) is not None:
        os.environ[MAX_MINUTES_ENV] = f"{args.max_minutes:g}"
    return ScanOptions(
        checkpoints=args.checkpoints,
        thresholds=args.thresholds,
        workers=machine_workers(args.workers),
        force=args.force,
        seconds=args.seconds or None,
        preset=args.preset,
        progress=progress,
    )


def scan_with_bar(args):
    """The library's own (local) scan of args.folder, with a progress bar on stderr; the files it
    skipped are listed there, one line each."""
    from .library.paths import shown_path
    from .library.scan import scan_folder

    progress, close = progress_bar()
    try:
        result = scan_folder(args.folder, options=scan_settings(args, progress))
    finally:
        close()
    for path, error in result.failed.items():
        print(f"{shown_path(path)}: skipped: {shown_path(error)}", file=sys.stderr)
    return result


@one_line_errors
def cmd_scan(args) -> int:
    """Exit 0 when every file is in the library, 1 when some were skipped (listed on stderr)."""
    from . import scale
    from .library import playlists
    from .library.paths import shown_path

    if args.preset != "whole" and getattr(args, "engine", "local") == "ray":
        print("error: --preset works with the local engine only (Ray analyses whole songs)", file=sys.stderr)
        return 2
    result = scale.scan(args, scan_with_bar)
    counts = playlists.counts_by_mood(result.songs)
    if args.json:
        print(
            json.dumps(
                {
                    "songs": len(result.songs),
                    "added": result.added,
                    "known": result.known,
                    "failed": {shown_path(path): error for path, error in result.failed.items()},
                    "moods": counts,
                    "seconds": round(result.seconds, 2),
                }
            )
        )
    else:
        moods = ", ".join(f"{n} {m}" for m, n in counts.items())
        print(
            f"{len(result.songs)} songs in the library ({result.added} analysed now, {result.known} already known, "
            f"{len(result.failed)} skipped) in {result.seconds:.1f} s: {moods}"
        )
    return 1 if result.failed else 0


@one_line_errors
def cmd_playlist(args) -> int:
    """Scan the folder (instant when known), build the playlist, write it. Exit 1 when it is empty."""
    from .library import playlists
    from .library.store import bundle_models, with_model
    from .models.checkpoints import mood_centre

    if (args.start is None) != (args.end is None):
        print("error: a journey needs both --from and --to", file=sys.stderr)
        return 2
    if args.model is not None and args.model not in (known := bundle_models(args.checkpoints)):
        print(f"error: no model {args.model!r}: the models are {', '.join(known)}", file=sys.stderr)
        return 2
    try:
        centre = args.thresholds or mood_centre(args.checkpoints)  # where a mood's point lies
        near = args.near and playlists.parse_point(args.near, centre)
        start = args.start and playlists.parse_point(args.start, centre)
        end = args.end and playlists.parse_point(args.end, centre)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.output:
        problem = output_problem(args.output, PLAYLIST_SUFFIXES)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    songs = scan_with_bar(args).songs
    if args.model:
        without = sum(args.model not in s.extra.get("analysis", {}) for s in songs)
        if without:
            print(
                f"warning: {without} song(s) have no {args.model} prediction (the model was unavailable when "
                "they were analysed): they use the headline model's",
                file=sys.stderr,
            )
        songs = [with_model(s, args.model) for s in songs]
    count = args.count if args.count is not None or args.minutes is not None else 20
    if args.mood:
        chosen = playlists.by_mood(songs, args.mood, count, args.minutes)
    elif near:
        chosen = playlists.nearest(songs, near, args.radius, count, args.minutes)
    else:
        chosen = playlists.journey(songs, start, end, count, args.minutes)
    if args.output and args.output.suffix.lower() == ".csv":
        text = playlists.to_csv(chosen)
    else:
        folder = args.output.resolve().parent if args.output and not args.names else None
        text = playlists.to_m3u8(chosen, use_paths=not args.names, relative_to=folder)
    if args.output:
        files.write_text(args.output, text)
        minutes = playlists.total_seconds(chosen) / 60
        print(f"{len(chosen)} songs ({minutes:.1f} min) -> {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if not chosen:
        print("The playlist is empty: no song in the library matches.", file=sys.stderr)
        return 1
    return 0


def output_problem(path: Path, suffixes: tuple[str, ...]) -> str | None:
    """Why `path` must not be written (one line), else None: a folder, a file name with a suffix
    other than `suffixes`, or a name (or a link) that holds audio -- an output never overwrites a
    song. A device or pipe (/dev/stdout) is written as it is; a link to another file is written
    through."""
    from .io.clip import AUDIO_SUFFIXES
    from .library.paths import shown_path

    shown = shown_path(path)
    try:
        if path.is_dir():
            return f"{shown} is a folder: give a file name (e.g. {shown_path(path / ('out' + suffixes[0]))})"
        target = path.resolve() if path.is_symlink() else path
        if target.exists() and not target.is_file():
            return None  # a device or a pipe
        if path.suffix.lower() not in suffixes:
            return f"{shown}: give a {', '.join(suffixes[:-1])} or {suffixes[-1]} file name"
        if target.suffix.lower() in AUDIO_SUFFIXES or (target.is_file() and _holds_audio(target)):
            where = f" (a link to {shown_path(target)})" if target != path else ""
            return f"{shown}{where} holds audio: give the name of a new file; nothing was written"
    except OSError as error:
        return f"{shown}: {error.strerror or error}"
    return None


AUDIO_MAGIC = (b"RIFF", b"FORM", b"fLaC", b"OggS", b"ID3")


def _holds_audio(path: Path) -> bool:
    """Whether a file's first bytes are those of an audio file (WAV, AIFF, FLAC, Ogg, MP3, MP4)."""
    with open(path, "rb") as f:
        head = f.read(12)
    return (
        head.startswith(AUDIO_MAGIC) or head[4:8] == b"ftyp" or (len(head) > 1 and head[0] == 0xFF and head[1] >= 0xE0)
    )
