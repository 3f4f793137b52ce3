"""Which engine runs a library scan: the scan command's engine options and the dispatch to the local
scan or the Ray pipeline (`ray_engine`), then the optional Parquet copy (`parquet`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from ..io.text import positive_int

DEVICES = ("auto", "cpu", "cuda")


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    """The scan command's engine options (library_cli.add_scan_parser calls this)."""
    group = parser.add_argument_group("scaling out (requirements-scale.txt)")
    group.add_argument(
        "--engine",
        choices=("local", "ray"),
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


def scan(args, local_scan: Callable):
    """Run the scan the arguments ask for; `local_scan(args)` is the library's own (library_cli passes it). Returns a ScanResult."""
    if getattr(args, "engine", "local") == "ray":
        try:
            from .ray_engine import scan_folder_ray

            result = scan_folder_ray(
                args.folder,
                checkpoints=args.checkpoints,
                thresholds=args.thresholds,
                address=args.address,
                device=args.device,
                actors=args.workers,
                batch_size=args.batch_size,
                force=args.force,
                progress_bar=not args.json,
                seconds=getattr(args, "seconds", 0) or None,
            )
        except ModuleNotFoundError as error:
            if error.name != "ray":
                raise
            raise SystemExit("error: --engine ray needs Ray: pip install -r requirements-scale.txt") from error
        except RuntimeError as error:  # e.g. --device cuda on a cluster without GPUs
            raise SystemExit(f"error: {error}") from error
        for path, error in result.failed.items():
            print(f"{path}: skipped: {error}", file=sys.stderr)
    else:
        if getattr(args, "address", None) or getattr(args, "device", "auto") != "auto":
            raise SystemExit("error: --address and --device are options of --engine ray")
        result = local_scan(args)
    if getattr(args, "parquet", None):
        from .parquet import write_parquet

        n = write_parquet(args.parquet, [s.hash for s in result.songs], checkpoints=args.checkpoints)
        print(f"{n} songs -> {args.parquet}", file=sys.stderr)
    return result
