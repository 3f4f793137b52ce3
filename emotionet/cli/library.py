"""The library's commands: `scan`, `playlist`, `tag` and `export`.

    python -m emotionet scan FOLDER [--force] [--engine ray] [--parquet songs.parquet]
    python -m emotionet playlist FOLDER --mood calm --count 20 -o calm.m3u8
    python -m emotionet playlist FOLDER --from sad --to happy --minutes 30 -o lift.m3u8
    python -m emotionet playlist FOLDER --near 0.7,0.3 --radius 0.2 -o near.csv
    python -m emotionet tag FOLDER [--dry-run] [--overwrite] [--remove] [--follow-links]
    python -m emotionet export FOLDER -o library.csv       # .csv, .json or .parquet

Each scans through the library's cache (a known song is not analysed again) with one
`library.scan.ScanOptions` built from the arguments (`scan_settings`). A playlist's format is chosen
by its suffix in one table (`PLAYLIST_FORMATS`): a new format is one entry there. An output is
checked before anything is scanned (`check_output`); file names are printed on one line
(undecodable bytes as \\xNN). The work is in `emotionet.library` and `emotionet.scale`.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..io import files
from ..io.text import positive_float, positive_int
from ..mood import MOODS
from ..scale.engine import DEVICES, ENGINES
from .errors import Failure, UsageError
from .options import JSON, MODEL, SCAN, SECONDS, add_command, machine_workers


# --- playlist formats: one entry each ---------------------------------------------------------


@dataclass(frozen=True)
class PlaylistFormat:
    """How `playlist -o NAME.<suffix>` is written: `text(args, songs)`; a rule (`scans=False`) is
    written from the arguments alone (`songs` is None), nothing is scanned."""

    text: Callable
    scans: bool = True


def _m3u8(args, songs) -> str:
    from ..library import playlists

    folder = args.output.resolve().parent if args.output and not args.names else None
    return playlists.to_m3u8(songs, use_paths=not args.names, relative_to=folder)


def _csv(args, songs) -> str:
    from ..library import playlists

    return playlists.to_csv(songs)


def _nsp(args, _songs) -> str:
    """A Navidrome smart playlist rule for --mood, or for --near V,A with --radius R (valence and
    energy each within R of the point)."""
    from ..library import playlists
    from ..models.checkpoints import mood_centre

    if args.start is not None or args.end is not None:
        raise UsageError("a journey cannot be a smart playlist rule: write .m3u8 or .csv")
    if args.minutes is not None:
        raise UsageError("a smart playlist is limited by --count, not --minutes")
    if args.mood:
        return playlists.to_nsp(args.output.stem, mood=args.mood, limit=args.count)
    if args.radius is None:
        raise UsageError("a smart playlist from --near needs --radius (the valence/energy range)")
    v, a = point(args.near, args.thresholds or mood_centre(args.checkpoints))
    r = args.radius
    return playlists.to_nsp(args.output.stem, valence=(v - r, v + r), energy=(a - r, a + r), limit=args.count)


PLAYLIST_FORMATS = {  # suffix -> format; the first is what stdout gets
    ".m3u8": PlaylistFormat(_m3u8),
    ".m3u": PlaylistFormat(_m3u8),
    ".csv": PlaylistFormat(_csv),
    ".nsp": PlaylistFormat(_nsp, scans=False),
}


# --- registration ---------------------------------------------------------------------------


def register(subparsers) -> None:
    scan = add_command(
        subparsers,
        "scan",
        cmd_scan,
        "analyse a folder of songs into the library (cached)",
        [MODEL, SECONDS, SCAN, JSON],
    )
    scan.add_argument("folder", type=Path, help="folder of audio files (scanned recursively)")
    group = scan.add_argument_group("scaling out (requirements-scale.txt)")
    group.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: worker processes on this machine (default); ray: a Ray Data pipeline",
    )
    group.add_argument("--address", help="with --engine ray: the Ray cluster (default: start a local instance)")
    group.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="with --engine ray: where the networks run (auto: a GPU when torch sees one)",
    )
    group.add_argument("--batch-size", type=positive_int, default=8, help="with --engine ray: songs per batch (8)")
    group.add_argument("--parquet", type=Path, help="also write the scanned songs to this Parquet file")

    playlist = add_command(
        subparsers, "playlist", cmd_playlist, "a mood playlist from a folder of songs", [MODEL, SECONDS, SCAN]
    )
    playlist.add_argument("folder", type=Path, help="folder of audio files (scanned recursively)")
    mode = playlist.add_mutually_exclusive_group(required=True)
    mode.add_argument("--mood", choices=MOODS, help="songs of one mood, clearest first")
    mode.add_argument("--near", metavar="V,A|MOOD", help="songs nearest a point (or a mood's centre)")
    mode.add_argument("--from", dest="start", metavar="V,A|MOOD", help="journey start (with --to)")
    playlist.add_argument("--to", dest="end", metavar="V,A|MOOD", help="journey end")
    playlist.add_argument("--radius", type=positive_float, help="with --near: only songs within this distance")
    length = playlist.add_mutually_exclusive_group()
    length.add_argument("--count", type=positive_int, help="number of songs (default 20)")
    length.add_argument("--minutes", type=positive_float, help="total length in minutes")
    playlist.add_argument(
        "--model", help="whose predictions to use (default: the headline model, the best on validation)"
    )
    playlist.add_argument(
        "-o",
        "--output",
        type=Path,
        help=f"write {', '.join(PLAYLIST_FORMATS)}: M3U8 (locations relative to it), CSV, or a Navidrome smart "
        "playlist rule (.nsp: --mood, or --near with --radius) (default: M3U8 with absolute paths to stdout)",
    )
    playlist.add_argument("--names", action="store_true", help="M3U8 with file names only (kept beside the music)")

    tag = add_command(
        subparsers,
        "tag",
        cmd_tag,
        "write mood, BPM, key, valence and energy into the files' own tags (for players)",
        [MODEL, SECONDS, SCAN, JSON],
    )
    tag.add_argument("paths", nargs="+", type=Path, help="audio files or folders (scanned recursively)")
    tag.add_argument("--dry-run", action="store_true", help="list what would change; write nothing")
    tag.add_argument(
        "--overwrite", action="store_true", help="also replace values EmotioNet did not write (e.g. a mood set by hand)"
    )
    tag.add_argument("--remove", action="store_true", help="remove only the tags EmotioNet wrote (no analysis)")
    tag.add_argument(
        "--follow-links",
        action="store_true",
        help="in a folder, also tag files that links lead to outside it (without it they are skipped and named)",
    )

    export = add_command(
        subparsers,
        "export",
        cmd_export,
        "a table of the songs with Spotify's audio-feature names (CSV, JSON, Parquet)",
        [MODEL, SECONDS, SCAN],
    )
    export.add_argument("folder", type=Path, help="folder of audio files (scanned recursively)")
    export.add_argument("-o", "--output", type=Path, required=True, help="library.csv, .json or .parquet")


# --- shared steps -----------------------------------------------------------------------------


def scan_settings(args, progress=None):
    """The one `library.scan.ScanOptions` of the arguments. --max-minutes is set in the environment
    (EMOTIONET_MAX_MINUTES), where every worker's decoder reads it."""
    from ..io.audio import MAX_MINUTES_ENV
    from ..library.scan import ScanOptions

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


def progress_bar():
    """(progress, close): a scan's progress callback that draws a bar on stderr, and what ends it."""
    from tqdm import tqdm

    from ..library.paths import shown_name

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


def scan_with_bar(args, **engine_options):
    """Scan args.folder (the local engine, or scale's Ray engine with `engine_options`) with a
    progress bar on stderr; the files it skipped are listed there, one line each."""
    from .. import scale
    from ..library.paths import shown_path

    progress, close = progress_bar()
    try:
        result = scale.scan(args.folder, scan_settings(args, progress), **engine_options)
    finally:
        close()
    for path, error in result.failed.items():
        print(f"{shown_path(path)}: skipped: {shown_path(error)}", file=sys.stderr)
    return result


def point(text: str, centre) -> tuple[float, float]:
    """--near/--from/--to: "V,A" or a mood's name (its centre); a bad one is a usage error."""
    from ..library import playlists

    try:
        return playlists.parse_point(text, centre)
    except ValueError as error:
        raise UsageError(str(error)) from None


AUDIO_MAGIC = (b"RIFF", b"FORM", b"fLaC", b"OggS", b"ID3")


def _holds_audio(path: Path) -> bool:
    """Whether a file's first bytes are those of an audio file (WAV, AIFF, FLAC, Ogg, MP3, MP4)."""
    with open(path, "rb") as f:
        head = f.read(12)
    return (
        head.startswith(AUDIO_MAGIC) or head[4:8] == b"ftyp" or (len(head) > 1 and head[0] == 0xFF and head[1] >= 0xE0)
    )


def check_output(path: Path, suffixes) -> None:
    """Refuse, before anything is scanned, an output that must not be written: a folder, or a name
    (or a link) that holds audio -- an output never overwrites a song -- (`Failure`, exit 1), or a
    suffix other than `suffixes` (`UsageError`). A device or pipe (/dev/stdout) is written as it is;
    a link to another file is written through."""
    from ..io.clip import AUDIO_SUFFIXES
    from ..library.paths import shown_path

    suffixes = tuple(suffixes)
    shown = shown_path(path)
    try:
        if path.is_dir():
            raise Failure(f"{shown} is a folder: give a file name (e.g. {shown_path(path / ('out' + suffixes[0]))})")
        target = path.resolve() if path.is_symlink() else path
        if target.exists() and not target.is_file():
            return  # a device or a pipe
        if target.suffix.lower() in AUDIO_SUFFIXES or (target.is_file() and _holds_audio(target)):
            where = f" (a link to {shown_path(target)})" if target != path else ""
            raise Failure(f"{shown}{where} holds audio: give the name of a new file; nothing was written")
    except OSError as error:
        raise Failure(f"{shown}: {error.strerror or error}") from None
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{shown}: give a {', '.join(suffixes[:-1])} or {suffixes[-1]} file name")


# --- the commands -----------------------------------------------------------------------------


def cmd_scan(args) -> int:
    """Exit 0 when every file is in the library, 1 when some were skipped (listed on stderr)."""
    from ..library import playlists
    from ..library.paths import shown_path

    if args.engine == "ray":
        if args.preset != "whole":
            raise UsageError("--preset works with the local engine only (Ray analyses whole songs)")
        engine = {
            "engine": "ray",
            "address": args.address,
            "device": args.device,
            "actors": args.workers,  # on a cluster: not capped by this machine's cores
            "batch_size": args.batch_size,
            "progress_bar": not args.json,
        }
    elif args.address or args.device != "auto":
        raise UsageError("--address and --device are options of --engine ray")
    else:
        engine = {}
    result = scan_with_bar(args, **engine)
    if args.parquet:
        from ..scale.parquet import write_parquet

        n = write_parquet(args.parquet, [s.hash for s in result.songs], checkpoints=args.checkpoints)
        print(f"{n} songs -> {args.parquet}", file=sys.stderr)
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


def cmd_playlist(args) -> int:
    """Scan the folder (instant when known), build the playlist, write it. Exit 1 when it is empty."""
    from ..library import playlists
    from ..library.store import bundle_models, with_model
    from ..models.checkpoints import mood_centre

    suffix = args.output.suffix.lower() if args.output else ".m3u8"
    form = PLAYLIST_FORMATS.get(suffix, PLAYLIST_FORMATS[".m3u8"])
    if args.output:
        check_output(args.output, PLAYLIST_FORMATS)
    if not form.scans:  # a rule the player evaluates: nothing to scan
        text = form.text(args, None)
        files.write_text(args.output, text)
        print(f"smart playlist rule -> {args.output} (Navidrome reads it from its playlists folder)", file=sys.stderr)
        return 0
    if (args.start is None) != (args.end is None):
        raise UsageError("a journey needs both --from and --to")
    if args.model is not None and args.model not in (known := bundle_models(args.checkpoints)):
        raise UsageError(f"no model {args.model!r}: the models are {', '.join(known)}")
    centre = args.thresholds or mood_centre(args.checkpoints)  # where a mood's point lies
    near = args.near and point(args.near, centre)
    start = args.start and point(args.start, centre)
    end = args.end and point(args.end, centre)
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
    text = form.text(args, chosen)
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


def cmd_tag(args) -> int:
    """One line per file (what changed, was kept, or why it was skipped); exit 1 when any was skipped."""
    from ..library.paths import shown_path
    from ..library.tags import tag_paths

    def show(report) -> None:
        if args.json:
            print(
                json.dumps(
                    {
                        "file": shown_path(report.path),
                        "written": report.written,
                        "error": report.error,
                        "notes": report.notes,
                        "changes": [vars(c) for c in report.changes],
                    }
                ),
                flush=True,
            )
        else:
            print(report.line(), file=sys.stderr if report.error else sys.stdout, flush=True)

    progress, close = progress_bar()
    try:
        run = tag_paths(
            args.paths,
            options=None if args.remove else scan_settings(args, progress),
            overwrite=args.overwrite,
            dry_run=args.dry_run,
            remove=args.remove,
            follow_links=args.follow_links,
            report=show,
        )
    finally:
        close()
    if not args.json:
        written = sum(r.written for r in run.reports)
        verb = "would change" if args.dry_run else "changed"
        print(
            f"{len(run.reports)} files: {verb} {sum(bool(r.changed) for r in run.reports) if args.dry_run else written}, "
            f"skipped {len(run.skipped)}"
            + ("" if args.remove else f" ({run.analysed} songs analysed now, {run.known} already known)"),
            file=sys.stderr,
        )
    return 1 if run.skipped else 0


def cmd_export(args) -> int:
    """Write the table; exit 1 when some files were skipped (listed on stderr, counted) or the output
    cannot be written (a folder, a name that holds audio, a full disk: nothing overwritten)."""
    from ..io import database
    from ..library import audio_features, track
    from ..library.paths import shown_path

    check_output(args.output, audio_features.FORMATS)
    if args.output.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise Failure(
                "Parquet needs pyarrow: .venv/bin/python -m pip install -r requirements-scale.txt (or write .csv/.json)"
            ) from None
    result = scan_with_bar(args)
    unmeasured = track.ensure(database.make_engine(), result.songs, machine_workers(args.workers, say=False))
    for path, why in unmeasured.items():  # their row keeps the analysis's own key and loudness
        print(f"{shown_path(path)}: measured from the analysis only: {shown_path(why)}", file=sys.stderr)
    table = audio_features.rows(result.songs)
    audio_features.write(table, args.output)
    skipped = f", {len(result.failed)} files skipped" if result.failed else ""
    print(f"{len(table)} songs -> {args.output}{skipped}", file=sys.stderr)
    return 1 if result.failed else 0
