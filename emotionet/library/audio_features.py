"""The library as a table with Spotify's audio-features names and ranges (CSV, JSON or Parquet).

Spotify closed its `audio-features` endpoint to new apps in November 2024; these are the same
columns for a person's own files, from the analyses the library already stores (nothing is decoded
again). One row per song:

    valence      0-1, the headline model's valence on the listener scale
    energy       0-1, its arousal on the listener scale (what listeners rate as the energy expressed)
    tempo        beats per minute (`analysis.explain`: librosa's tempo estimate, refined between frames)
    key          pitch class 0-11 (C = 0, C# = 1, ...), -1 when the chroma is flat (no key)
                 (key, mode, loudness and duration_ms are `track.measure`'s, from the file itself,
                 once `track.ensure` has stored them; before that, the analysis's own measurements)
    mode         1 major, 0 minor: from the file's own key measure (`track`: an HPCP-like chroma
                 against key profiles, chosen by agreement with essentia's KeyExtractor)
    loudness     dB: the integrated loudness of the file's channels (ITU-R BS.1770-4 / EBU R128, LUFS)
    duration_ms  the container's length, encoder delay and padding removed
    mood         the mood the song spends most time in; mood_share: the part of it that mood holds
                 (empty for a clip answered as one); mixed: no mood holds half of the song (issue 30)
    confidence, title, artist, path

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
from . import track
from .paths import shown_path
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
    "mood_share",
    "mixed",
    "confidence",
    "path",
)
FORMATS = (".csv", ".json", ".parquet")


class MissingDependency(RuntimeError):
    """An optional package an output format needs is not installed (one line, shown as is)."""


def row(song: Song) -> dict:
    """One song's row (COLUMNS): the fields measured from the file (`track`: container length,
    BS.1770 loudness, key) where stored, else the analysis's own measurements."""
    measured = (song.extra.get("analysis", {}).get("explanation") or {}).get("measurements") or {}
    key, mode = pitch_class_and_mode(measured.get("key", ""))
    if mode is None and "mode" in measured:  # no key: the sign of the major-minus-minor fit
        mode = int(float(measured["mode"]) >= 0)
    tempo = measured.get("tempo_bpm")
    loudness = measured.get("loudness_dbfs")
    duration_ms = int(round(float(song.duration_s) * 1000))
    fields = track.stored(song)
    if fields:
        key, mode, loudness, duration_ms = fields["key"], fields["mode"], fields["loudness"], fields["duration_ms"]
    return {
        "title": song.title,
        "artist": song.artist,
        "valence": round(float(song.valence), 4),
        "energy": round(float(song.arousal), 4),
        "tempo": round(float(tempo), 2) if tempo else None,
        "key": key,
        "mode": mode,
        "loudness": round(float(loudness), 2) if loudness is not None else None,
        "duration_ms": int(duration_ms),
        "mood": song.mood,
        "mood_share": round(float(song.share), 3) if song.share is not None else None,
        "mixed": bool(song.mixed),
        "confidence": round(float(song.confidence), 3),
        "path": shown_path(song.path),  # one line of valid text: bytes that are not UTF-8 as \\xNN
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


def write_parquet(table: Sequence[dict], path) -> None:
    """Parquet into `path` (a file name or an open binary file)."""
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
            ("mood_share", pa.float64()),
            ("mixed", pa.bool_()),
            ("confidence", pa.float64()),
            ("path", pa.string()),
        ]
    )
    pq.write_table(pa.Table.from_pylist(list(table), schema=schema), path if hasattr(path, "write") else str(path))


def write(table: Sequence[dict], path: str | Path) -> None:
    """Write the table as the suffix of `path` says: .csv, .json or .parquet, through `io.files`'
    one writer (a full disk leaves the old file whole and no partial one; a link is written
    through, and stays a link; a device or pipe is written as it is)."""
    from ..io.files import replacing

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path.name}: give a .csv, .json or .parquet file name")
    with replacing(path, "wb") as handle:
        if suffix == ".parquet":
            write_parquet(table, handle)
        else:
            handle.write((to_csv(table) if suffix == ".csv" else to_json(table)).encode("utf-8"))
