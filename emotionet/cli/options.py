"""Every option more than one command takes, each defined once, and the one way a command registers.

A command names the parents it takes (`add_command(..., parents=[MODEL, SCAN])`):

    CHECKPOINTS  --checkpoints                       every command that loads or changes models
    MODEL        CHECKPOINTS + --thresholds, --workers   every command that analyses
    SECONDS      --seconds                           analyze and every command that scans
    SCAN         --max-minutes, --force, --preset    every command that scans into the library
    JSON         --json                              machine-readable output

Numbers are checked as the arguments are parsed (a count, length, radius or number of workers must
be positive; `--seconds` 0 or a length the models can hear). Building these parsers imports neither
the models nor the database, so `python -m emotionet analyze` starts quickly.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Callable, Iterable

from ..io.text import argument_number, positive_float, positive_int  # noqa: F401 (the commands' number types)
from ..mood import parse_thresholds

PRESETS = ("whole", "overnight")  # predict.PRESETS' names (not imported here: parsing stays light)


def add_command(
    subparsers, name: str, run: Callable[[argparse.Namespace], int], help: str, parents: Iterable = ()
) -> argparse.ArgumentParser:
    """Register a command: `run(args)` returns its exit code (or raises: errors.py's policy)."""
    parser = subparsers.add_parser(name, help=help, description=help, parents=list(parents))
    parser.set_defaults(run=run)
    return parser


def excerpt_seconds(text: str) -> float:
    """--seconds: 0 (the whole song) or a finite length of at least audio.MIN_SECONDS."""
    from ..io.audio import MIN_SECONDS

    return argument_number(
        text,
        float,
        "number of seconds",
        lambda v: math.isfinite(v) and (v == 0 or v >= MIN_SECONDS),
        f"is not a length to analyse: give 0 for the whole song or at least {MIN_SECONDS:g} s",
    )


def max_minutes(text: str) -> float:
    """--max-minutes: a finite number of minutes, 0 for no limit."""
    return argument_number(
        text,
        float,
        "number of minutes",
        lambda v: math.isfinite(v) and v >= 0,
        "is not a length: give minutes, or 0 for no limit",
    )


def machine_workers(asked: int | None, say: bool = True) -> int | None:
    """--workers, capped by the machine's cores (10,000 processes would fork until the system's
    limit); a cap is said on stderr (unless `say` is False). None stays None (the default: up to 2)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if asked is None or asked <= cores:
        return asked
    if say:
        print(f"note: --workers {asked} capped at this machine's {cores} cores", file=sys.stderr)
    return cores


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


CHECKPOINTS = _parent()
CHECKPOINTS.add_argument(
    "--checkpoints", type=Path, help="model folder (default: the models in use; adapt: the shipped ones)"
)

MODEL = argparse.ArgumentParser(add_help=False, parents=[CHECKPOINTS])
MODEL.add_argument(
    "--thresholds",
    type=parse_thresholds,
    default=None,
    help="mood boundaries V,A (default: the models' mood centre, config.json's mood_centre)",
)
MODEL.add_argument(
    "--workers", type=positive_int, default=None, help="processes (default: up to 2; at most the machine's cores)"
)

SECONDS = _parent()
SECONDS.add_argument(
    "--seconds",
    type=excerpt_seconds,
    default=0.0,
    help="analyse only this many seconds from the middle of each song (45 = the report's snippet, about 5x "
    "quicker on 4-minute songs); default 0 = the whole song",
)

SCAN = _parent()
SCAN.add_argument(
    "--max-minutes",
    type=max_minutes,
    default=None,
    help="refuse audio longer than this, read from its header before any work (default 120, or "
    "EMOTIONET_MAX_MINUTES; 0: no limit)",
)
SCAN.add_argument("--force", action="store_true", help="analyse every file again")
SCAN.add_argument(
    "--preset",
    choices=PRESETS,
    default="whole",
    help="overnight: musicnn on every second 3 s patch of the whole song: 1.6x less work, the whole "
    "song's mood for 59 of 60 test songs (bench/library_speed.py); a later whole scan redoes those songs. "
    "tag and export: give the preset the library was scanned with, so its songs are not analysed again",
)

JSON = _parent()
JSON.add_argument("--json", action="store_true", help="machine-readable output (JSON)")
