"""The library commands' arguments (`scan`, `playlist`) and the `--seconds` rule shared with
`analyze`, without the library itself: building the command line must not import the database
layer (SQLAlchemy), so `python -m emotionet analyze` starts quicker. `emotionet.library.songs` holds
the commands and re-exports these."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..mood import MOODS, parse_thresholds


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="folder of audio files (scanned recursively)")
    parser.add_argument("--checkpoints", type=Path, help="model folder (default: the shipped checkpoints/)")
    parser.add_argument("--thresholds", type=parse_thresholds, default=None,
                        help="mood boundaries V,A (default: the models' mood centre, config.json's mood_centre)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: up to 2)")
    parser.add_argument("--force", action="store_true", help="analyse every file again")
    parser.add_argument("--seconds", type=excerpt_seconds, default=0.0,
                        help="analyse only this many seconds from the middle of each song (e.g. 45: about 5x "
                             "quicker on 4-minute songs); default 0 = the whole song")  # fmt: skip


def excerpt_seconds(text: str) -> float:
    """--seconds (analyze, scan, playlist): 0 (the whole song) or a finite length of at least
    audio.MIN_SECONDS."""
    import math

    from ..io.audio import MIN_SECONDS

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
    from ..scale import add_scan_arguments

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
    parser.add_argument("--radius", type=float, help="with --near: only songs within this distance")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--count", type=int, help="number of songs (default 20)")
    length.add_argument("--minutes", type=float, help="total length in minutes")
    parser.add_argument("--model", help="whose predictions to use (default: the headline model, the best on validation)")
    parser.add_argument("-o", "--output", type=Path, help="write .m3u8/.m3u or .csv (default: M3U8 to stdout)")
    parser.add_argument("--names", action="store_true", help="M3U8 with file names instead of paths")
    return parser
