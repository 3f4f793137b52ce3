"""Past one machine: the library scan on Ray, results as Parquet (issue 13).

    python -m emotionet scan FOLDER --engine ray [--address ray://head:10001] [--device auto|cpu|cuda]
    python -m emotionet scan FOLDER --parquet songs.parquet           # either engine

`ray_engine` runs the scan as a Ray Data pipeline into the same library database as the local
scan (`emotionet.library.scan`); `parquet` writes the scanned songs as one Parquet row each. Ray is an
optional extra (requirements-scale.txt): nothing here imports it until `--engine ray` is asked for.

engine      which engine runs a scan (scan: the local one or Ray), EngineError when Ray cannot
ray_engine  the Ray Data pipeline
parquet     the scanned songs as Parquet rows
"""

from __future__ import annotations

from .engine import DEVICES, ENGINES, EngineError, scan
