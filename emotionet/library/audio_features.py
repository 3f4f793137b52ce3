"""The library as a table with Spotify's audio-features names and ranges (CSV, JSON or Parquet).

Spotify closed its `audio-features` endpoint to new apps in November 2024; these are the same
columns for a person's own files, from the analyses the library already stores (nothing is decoded
again). One row per song:

    valence      0-1, the headline model's valence on the listener scale
    energy       0-1, its arousal on the listener scale (what listeners rate as the energy expressed)
    tempo        beats per minute (`analysis.explain`: librosa's tempo estimate, refined between frames)
    key          pitch class 0-11 (C = 0, C# = 1, ...), -1 when the chroma is flat (no key)
    mode         1 major, 0 minor: the better-fitting Krumhansl-Kessler profile (with key -1, the sign
                 of the major-minus-minor fit, as weak as the key itself)
    loudness     dB: the RMS level of the analysed audio in dBFS (Spotify's is its own loudness model,
                 typically -60..0)
    duration_ms  the whole file's length
    mood, confidence, title, artist, path

docs/reference.md ("Spotify-compatible fields") says how each differs from Spotify's. `rows`
builds the table from library songs; `write` picks the format from the file's suffix.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Sequence

from ..analysis.explain import pitch_class_and_mode
from ..io.text import clean_text, spreadsheet_cell
from .playlists import Song

COLUMNS = (
    "title",
    "artist",
    "valence",
    "energy",
    "tempo",
    "key",
    "mode",
    "loudness",
    "duration_ms",
    "mood",
    "confidence",
    "path",
)
FORMATS = (".csv", ".json", ".parquet")


class MissingDependency(RuntimeError):
    """An optional package an output format needs is not installed (one line, shown as is)."""


def row(song: Song) -> dict:
    """One song's row (COLUMNS), from its stored analysis."""
    measured = (song.extra.get("analysis", {}).get("explanation") or {}).get("measurements") or {}
    key, mode = pitch_class_and_mode(measured.get("key", ""))
    if mode is None and "mode" in measured:  # no key: the sign of the major-minus-minor fit
        mode = int(float(measured["mode"]) >= 0)
    tempo = measured.get("tempo_bpm")
    loudness = measured.get("loudness_dbfs")
    return {
        "title": song.title,
        "artist": song.artist,
        "valence": round(float(song.valence), 4),
        "energy": round(float(song.arousal), 4),
        "tempo": round(float(tempo), 2) if tempo else None,
        "key": key,
        "mode": mode,
        "loudness": round(float(loudness), 2) if loudness is not None else None,
        "duration_ms": int(round(float(song.duration_s) * 1000)),
        "mood": song.mood,
        "confidence": round(float(song.confidence), 3),
        "path": song.path,
    }


def rows(songs: Sequence[Song]) -> list[dict]:
    return [row(s) for s in songs]


def to_csv(table: Sequence[dict]) -> str:
    """CSV with a header; text cells that start like a spreadsheet formula get a leading '."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in table:
        writer.writerow({k: spreadsheet_cell(clean_text(v)) if isinstance(v, str) else v for k, v in r.items()})
    return out.getvalue()


def to_json(table: Sequence[dict]) -> str:
    """A JSON array of row objects (a missing value is null)."""
    return json.dumps(list(table), ensure_ascii=False, allow_nan=False, indent=1) + "\n"


def write_parquet(table: Sequence[dict], path: str | Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependency(
            "Parquet needs pyarrow: .venv/bin/python -m pip install -r requirements-scale.txt (or write .csv/.json)"
        ) from None
    schema = pa.schema(
        [
            ("title", pa.string()),
            ("artist", pa.string()),
            ("valence", pa.float64()),
            ("energy", pa.float64()),
            ("tempo", pa.float64()),
            ("key", pa.int8()),
            ("mode", pa.int8()),
            ("loudness", pa.float64()),
            ("duration_ms", pa.int64()),
            ("mood", pa.string()),
            ("confidence", pa.float64()),
            ("path", pa.string()),
        ]
    )
    pq.write_table(pa.Table.from_pylist(list(table), schema=schema), str(path))


def write(table: Sequence[dict], path: str | Path) -> None:
    """Write the table as the suffix of `path` says: .csv, .json or .parquet."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_text(to_csv(table), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(to_json(table), encoding="utf-8")
    elif suffix == ".parquet":
        write_parquet(table, path)
    else:
        raise ValueError(f"{path.name}: give a .csv, .json or .parquet file name")
