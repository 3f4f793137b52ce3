"""Which engine runs a library scan: the local scan (`library.scan`) or the Ray pipeline
(`ray_engine`), with the same options and into the same library. The command line's options for
it are in `emotionet.cli.library`; this module raises, the command line prints.
"""

from __future__ import annotations

from pathlib import Path

DEVICES = ("auto", "cpu", "cuda")
ENGINES = ("local", "ray")


class EngineError(RuntimeError):
    """The Ray engine cannot run here (Ray not installed, --device cuda on a cluster without GPUs):
    one line."""


def scan(
    folder: str | Path,
    options=None,
    *,
    engine: str = "local",
    address: str | None = None,
    device: str = "auto",
    actors: int | None = None,
    batch_size: int = 8,
    progress_bar: bool = True,
):
    """Scan `folder` into the library with `options` (a `library.scan.ScanOptions`) on `engine`:
    "local" (worker processes here) or "ray" (a Ray Data pipeline on `address`, `actors` at a time,
    the networks on `device`, `batch_size` songs per batch; it analyses whole songs, so
    `options.preset` is not used). Returns the library's ScanResult."""
    from ..library.scan import ScanOptions, scan_folder

    options = options or ScanOptions()
    if engine == "local":
        return scan_folder(folder, options=options)
    if engine != "ray":
        raise ValueError(f"no scan engine {engine!r}: {', '.join(ENGINES)}")
    try:
        from .ray_engine import scan_folder_ray

        return scan_folder_ray(
            folder,
            checkpoints=options.checkpoints,
            thresholds=options.thresholds,
            address=address,
            device=device,
            actors=actors,
            batch_size=batch_size,
            force=options.force,
            progress_bar=progress_bar,
            seconds=options.seconds,
        )
    except ModuleNotFoundError as error:
        if error.name != "ray":
            raise
        raise EngineError("--engine ray needs Ray: pip install -r requirements-scale.txt") from error
    except RuntimeError as error:  # e.g. --device cuda on a cluster without GPUs
        raise EngineError(str(error)) from error
