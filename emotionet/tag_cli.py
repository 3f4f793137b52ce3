"""The `tag` and `export` commands (wired in cli.py), and `playlist -o NAME.nsp`:

    python -m emotionet tag ~/Music                      # mood, BPM, key, valence, energy into each file's tags
    python -m emotionet tag ~/Music --dry-run            # what would change; nothing is written
    python -m emotionet tag song.mp3 --overwrite         # also replace values EmotioNet did not write
    python -m emotionet tag ~/Music --remove             # take away only what EmotioNet wrote
    python -m emotionet export ~/Music -o library.csv    # Spotify-named columns: .csv, .json or .parquet

Both go through the library's cached scan (a known song is not analysed again). The work is in
`emotionet.library.tags` and `emotionet.library.audio_features`; this is only the command line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .library_cli import one_line_errors, scan_options


def add_parsers(subparsers) -> None:
    tag = subparsers.add_parser(
        "tag", help="write mood, BPM, key, valence and energy into the files' own tags (for players)"
    )
    tag.add_argument("paths", nargs="+", type=Path, help="audio files or folders (scanned recursively)")
    scan_options(tag)
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
    tag.add_argument("--json", action="store_true", help="one JSON object per file")

    export = subparsers.add_parser(
        "export", help="a table of the songs with Spotify's audio-feature names (CSV, JSON, Parquet)"
    )
    export.add_argument("folder", type=Path, help="folder of audio files (scanned recursively)")
    scan_options(export)
    export.add_argument("-o", "--output", type=Path, required=True, help="library.csv, .json or .parquet")


@one_line_errors
def cmd_tag(args) -> int:
    """One line per file (what changed, was kept, or why it was skipped); exit 1 when any was skipped."""
    from .library.paths import shown_path
    from .library.tags import tag_paths
    from .library_cli import progress_bar, scan_settings

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


@one_line_errors
def cmd_export(args) -> int:
    """Write the table; exit 1 when some files were skipped (listed on stderr, counted), 2 when the
    output cannot be written (a folder, a name that holds audio, a full disk: nothing overwritten)."""
    from .library import audio_features
    from .library_cli import output_problem, scan_with_bar

    problem = output_problem(args.output, audio_features.FORMATS)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.output.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            print(
                "error: Parquet needs pyarrow: .venv/bin/python -m pip install -r requirements-scale.txt "
                "(or write .csv/.json)",
                file=sys.stderr,
            )
            return 2
    result = scan_with_bar(args)
    from .library import track
    from .library.paths import shown_path
    from .io import database
    from .library_cli import machine_workers

    unmeasured = track.ensure(database.make_engine(), result.songs, machine_workers(args.workers))
    for path, why in unmeasured.items():  # their row keeps the analysis's own key and loudness
        print(f"{shown_path(path)}: measured from the analysis only: {shown_path(why)}", file=sys.stderr)
    table = audio_features.rows(result.songs)
    audio_features.write(table, args.output)
    skipped = f", {len(result.failed)} files skipped" if result.failed else ""
    print(f"{len(table)} songs -> {args.output}{skipped}", file=sys.stderr)
    return 1 if result.failed else 0


@one_line_errors
def write_nsp(args) -> int:
    """`playlist ... -o NAME.nsp`: a Navidrome smart playlist rule for --mood, or for --near V,A with
    --radius R (valence and energy each within R of the point); nothing is scanned."""
    from .library import playlists
    from .io import files
    from .library_cli import output_problem
    from .models.checkpoints import mood_centre

    problem = output_problem(args.output, (".nsp",))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.start is not None or args.end is not None:
        print("error: a journey cannot be a smart playlist rule: write .m3u8 or .csv", file=sys.stderr)
        return 2
    if args.minutes is not None:
        print("error: a smart playlist is limited by --count, not --minutes", file=sys.stderr)
        return 2
    try:
        if args.mood:
            text = playlists.to_nsp(args.output.stem, mood=args.mood, limit=args.count)
        else:
            if args.radius is None:
                print("error: a smart playlist from --near needs --radius (the valence/energy range)", file=sys.stderr)
                return 2
            v, a = playlists.parse_point(args.near, args.thresholds or mood_centre(args.checkpoints))
            r = args.radius
            text = playlists.to_nsp(args.output.stem, valence=(v - r, v + r), energy=(a - r, a + r), limit=args.count)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    files.write_text(args.output, text)
    print(f"smart playlist rule -> {args.output} (Navidrome reads it from its playlists folder)", file=sys.stderr)
    return 0
