"""Scanned songs as Parquet, for analysing results in Spark, pandas or DuckDB.

One row per song: path, content hash, model fingerprint, title and artist (from the file's tags,
else the file name), file name, duration, headline model, and for every model its valence,
arousal, mood and confidence as `<model>_valence`, ... (null where a song lacks that model).
The rows come from the library database, so a file always describes what the library holds; it
is written to a temporary name and renamed, so a killed run never leaves half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Sequence

from ..io import database, files
from ..library import songs as library
from ..library.paths import path_to_text
from ..library.songs import LibrarySong
from ..models.checkpoints import checkpoint_dir

FIELDS = ("valence", "arousal", "mood", "confidence")
ROW_GROUP = 10_000


def model_columns(checkpoints=None) -> list[str]:
    """The models of a checkpoint folder: cnn, the SVRs, pretrained if trained (the row's `headline` says which leads)."""
    config = json.loads((Path(checkpoints or checkpoint_dir()) / "config.json").read_text())
    return ["cnn", *config.get("svrs", [])] + (["pretrained"] if config.get("pretrained") else [])


def schema(models: Sequence[str]):
    import pyarrow as pa

    fields = [
        ("path", pa.string()),
        ("hash", pa.string()),
        ("models_fingerprint", pa.string()),
        ("title", pa.string()),
        ("artist", pa.string()),
        ("filename", pa.string()),
        ("duration_s", pa.float64()),
        ("headline", pa.string()),
    ]
    for model in models:
        fields += [
            (f"{model}_valence", pa.float64()),
            (f"{model}_arousal", pa.float64()),
            (f"{model}_mood", pa.string()),
            (f"{model}_confidence", pa.float64()),
        ]
    return pa.schema(fields)


def song_record(row: LibrarySong, models: Sequence[str]) -> dict:
    analysis = json.loads(row.analysis)
    record = {
        "path": path_to_text(row.path),  # bytes that are not UTF-8: a file:// URI of them
        "hash": row.hash,
        "models_fingerprint": row.models,
        "title": row.title,
        "artist": row.artist,
        "filename": row.filename,
        "duration_s": row.duration_s,
        "headline": analysis.get("headline"),
    }
    for model in models:
        pred = analysis.get(model) if isinstance(analysis.get(model), dict) else {}
        record.update({f"{model}_{k}": pred.get(k) for k in FIELDS})
    return record


def write_parquet(out: str | os.PathLike, hashes: Iterable[str], engine=None, checkpoints=None) -> int:
    """Write the library's songs `hashes` (in that order) to `out`; returns how many were written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    engine = engine or database.make_engine()
    models = model_columns(checkpoints)
    table_schema = schema(models)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    hashes, written = list(hashes), 0
    with files.replacing(out) as handle, pq.ParquetWriter(handle, table_schema) as writer:
        for i in range(0, max(len(hashes), 1), ROW_GROUP):
            chunk = hashes[i : i + ROW_GROUP]
            found = library.stored_rows(engine, chunk)
            records = [song_record(found[h], models) for h in chunk if h in found]
            writer.write_table(pa.Table.from_pylist(records, schema=table_schema))
            written += len(records)
    return written
