"""Labelled music for training and evaluation: manifests, artist-disjoint splits, the feature and
embedding caches.

A manifest is a CSV with `path` (relative to the CSV), `valence` and `arousal` on 0-1, and
optionally `quadrant` (Q1..Q4), `artist`, `song_id`, `title`. The DEAM layout (static annotations
CSV on the 1-9 scale plus an audio folder) is converted with (x - 1) / 8.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import features
from ..io import audio, files
from ..mood import QUADRANTS, mood_index, quadrant_index

AUDIO_SUFFIXES = audio.AUDIO_SUFFIXES  # the package's one list (io.clip)


@dataclass(frozen=True)
class Track:
    path: Path
    valence: float
    arousal: float
    quadrant: int  # 0..3 (Q1..Q4): the given class, else the quadrant of the labels
    artist: str
    song_id: str


def read_manifest(csv_path: str | os.PathLike) -> list[Track]:
    """Tracks of a manifest CSV; raises ValueError naming the first bad row."""
    csv_path = Path(csv_path)
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    missing = {"path", "valence", "arousal"} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f"{csv_path.name} needs columns path, valence, arousal; missing {sorted(missing)}.")
    tracks = []
    for line, row in enumerate(rows, start=2):
        try:
            v, a = float(row["valence"]), float(row["arousal"])
            if not (0 <= v <= 1 and 0 <= a <= 1):
                raise ValueError("valence and arousal must lie in 0-1")
            q = quadrant_index(row["quadrant"]) if row.get("quadrant") else int(mood_index(v, a))
        except ValueError as error:
            raise ValueError(f"{csv_path.name}, line {line}: {error}") from error
        path = csv_path.parent / row["path"]
        song_id = row.get("song_id") or Path(row["path"]).stem
        tracks.append(Track(path, v, a, q, row.get("artist") or f"unknown:{song_id}", song_id))
    return tracks


def read_deam(annotations_csv: str | os.PathLike, audio_dir: str | os.PathLike) -> list[Track]:
    """DEAM static annotations (song_id, valence_mean, arousal_mean on 1-9) + audio folder."""
    audio_dir = Path(audio_dir)
    by_stem = {p.stem: p for p in audio_dir.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES}
    tracks = []
    with open(annotations_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            row = {k.strip(): v for k, v in row.items()}
            song_id = row["song_id"].strip()
            if song_id not in by_stem:
                continue
            v, a = ((float(row[k]) - 1) / 8 for k in ("valence_mean", "arousal_mean"))
            # DEAM has no artist column: each song is its own group
            tracks.append(Track(by_stem[song_id], v, a, int(mood_index(v, a)), f"deam:{song_id}", song_id))
    if not tracks:
        raise ValueError(f"No audio in {audio_dir} matches the song ids of {annotations_csv}.")
    return tracks


def artist_split(tracks: list[Track], validation_share: float = 0.2, seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices (train, validation): no artist on both sides, quadrants stratified."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_splits = max(2, round(1 / validation_share))
    labels = [t.quadrant for t in tracks]
    groups = [t.artist for t in tracks]
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    train, val = next(splitter.split(np.zeros(len(tracks)), labels, groups))
    return train.tolist(), val.tolist()


# --- feature cache ------------------------------------------------------------------------------

FEATURE_VERSION = json.dumps(
    [
        audio.SAMPLE_RATE,
        features.N_FFT,
        features.HOP,
        features.N_MFCC,
        features.CONTRAST_FMIN,
        features.CONTRAST_BANDS,
        features.N_CHROMA,
        "v1",
    ]
)


def _cache_file(cache_dir: Path, path: Path, version: str) -> Path | None:
    """The cache file of `path`'s bytes under `version`: keyed by content, not by name or time, so
    a data set copied, moved or unpacked again keeps its cache (hashing a clip costs ~1 ms; decoding
    and embedding it ~1 s), and an edited file misses it."""
    if not path.is_file():
        return None  # reported by the decoder
    digest = hashlib.sha1(version.encode())
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return cache_dir / f"{digest.hexdigest()}.npz"


def _cached(job) -> dict[str, np.ndarray] | str:
    """compute(path) -> arrays, read from or written to the job's cache file; an AudioError's message."""
    compute, path, cache = job
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    try:
        arrays = compute(path)
    except audio.AudioError as error:
        return str(error)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with files.replacing(cache) as handle:  # whole or not at all, whichever worker writes it first
            np.savez(handle, **arrays)
    return arrays


def map_tracks(
    tracks: list[Track], compute, cache_dir, version: str, workers: int = 2, desc: str = "", initializer=None
):
    """compute(path) for every track, once per file version (cached), over `workers` processes.

    Returns (kept_tracks, results, problems) where problems maps path -> message for the
    tracks that could not be decoded.
    """
    cache = Path(cache_dir) if cache_dir else None
    jobs = [(compute, Path(t.path), _cache_file(cache, Path(t.path), version) if cache else None) for t in tracks]
    if workers > 1:
        with ProcessPoolExecutor(workers, initializer=initializer) as pool:
            results = list(tqdm(pool.map(_cached, jobs, chunksize=2), total=len(jobs), desc=desc))
    else:
        results = [_cached(job) for job in tqdm(jobs, desc=desc)]
    kept, values, problems = [], [], {}
    for track, result in zip(tracks, results):
        if isinstance(result, str):
            problems[str(track.path)] = result
        else:
            kept.append(track)
            values.append(result)
    return kept, values, problems


def _features_of(path: Path) -> dict[str, np.ndarray]:
    return features.compute_features(audio.load_clip(path, seconds=None).samples)


def _embedding_worker() -> None:
    import torch

    torch.set_num_threads(1)  # one process per core


def _parts_of(path: Path) -> dict[str, np.ndarray]:
    from ..models import pretrained

    backbones = pretrained.load_backbones(pretrained.TRAINING_PRECISION)
    parts, starts = pretrained.embed_parts(backbones, audio.load_clip(path, seconds=None).samples)
    return {**parts, "patch_starts_s": starts}


def extract_parts(tracks: list[Track], cache_dir: str | os.PathLike | None, workers: int = 2):
    """(kept_tracks, per-track dicts of musicnn's per-patch embedding parts, problems): each file
    decoded and embedded once (in float32), then read from the cache under EMBEDDING_VERSION."""
    from ..models import pretrained

    return map_tracks(
        tracks, _parts_of, cache_dir, pretrained.EMBEDDING_VERSION, workers, "embeddings", _embedding_worker
    )


def extract_embeddings(
    tracks: list[Track],
    cache_dir: str | os.PathLike | None,
    workers: int = 2,
    part_names: tuple[str, ...] | None = None,
):
    """(kept_tracks, X (n, D) mean-over-patch embeddings of `part_names` (the shipped recipe's
    by default), problems {path: message} for unreadable tracks)."""
    from ..models import pretrained

    kept, parts, problems = extract_parts(tracks, cache_dir, workers)
    names = part_names or pretrained.PARTS
    x = np.stack([pretrained.select(p, names).mean(0) for p in parts]) if parts else np.zeros((0, 0), np.float32)
    return kept, x, problems


def load_features(tracks: list[Track], cache_dir: str | os.PathLike | None, workers: int = 2):
    """Features of every track (decoded once, then read from the cache), skipping unreadable ones.

    Returns (kept_tracks, feature_dicts, problems) where problems maps path -> message.
    """
    return map_tracks(tracks, _features_of, cache_dir, FEATURE_VERSION, workers, "features")


def quadrant_names(indices) -> list[str]:
    return [QUADRANTS[i] for i in indices]
