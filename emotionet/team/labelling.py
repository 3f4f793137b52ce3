"""Collaborative labelling: a team rates each track's valence and arousal; the mean is the truth.

Tracks are audio files stored by content hash (uploading the same file twice adds it once).
Raters are people known by name. Ratings are an append-only history: a rater who changes their
mind adds a new row, and the newest row per (track, rater) — the highest id — is their rating.

Every write is its own short transaction and starts by writing, so concurrent saves queue on
the database's lock instead of failing or losing rows (SQLite in WAL mode waits up to 30 s;
PostgreSQL locks rows). Names are created with INSERT ... ON CONFLICT DO NOTHING, then read back,
so two people saving their first rating at the same moment under one name share one rater row.

From the current ratings come the aggregated test set (n raters, mean and std per axis, mood of
the mean), agreement (Krippendorff's alpha, interval, per axis; each rater against the others is
in `raters`), model evaluation, and exports: raw ratings CSV, and a manifest CSV with its audio
that `train.py` and `python -m emotionet evaluate` read.

Text from people is stored without control characters (PostgreSQL refuses NUL) and notes are at
most MAX_NOTE characters; exported CSV cells that start like a spreadsheet formula (= + - @) get a
leading ' so a spreadsheet shows them as text. A track whose database write fails leaves no
audio file behind.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import DateTime, Engine, Float, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..io import audio
from ..io.text import clean_text, spreadsheet_cell
from ..metrics import evaluate_predictions
from ..mood import MOODS, QUADRANTS, mood_index, mood_of
from .people import MAX_NAME, LabellingError, clean_name  # noqa: F401 (re-exported: the pages use them)
from .predictions import enqueue, predict_track
from .storage import AudioStore, Base, content_hash, insert_ignoring_duplicates, safe_suffix

if TYPE_CHECKING:
    import pandas as pd


def _frame(*args, **kwargs) -> pd.DataFrame:
    """A pandas DataFrame; pandas is imported on first use, so that opening the database (whose tables
    this module defines) costs a cold server's first page no pandas import."""
    import pandas as pd

    return pd.DataFrame(*args, **kwargs)


MAX_TEXT = 500
MAX_NOTE = 2000  # a rating's note: a few sentences


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- Tables ---------------------------------------------------------------------------------


class Track(Base):
    __tablename__ = "label_tracks"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the file
    suffix: Mapped[str] = mapped_column(String(8))  # of the stored file: .wav, .mp3, ...
    filename: Mapped[str] = mapped_column(String(MAX_TEXT), default="")  # as uploaded; display only
    title: Mapped[str] = mapped_column(String(MAX_TEXT), default="")
    artist: Mapped[str] = mapped_column(String(MAX_TEXT), default="")
    source: Mapped[str] = mapped_column(String(MAX_TEXT), default="")
    licence: Mapped[str] = mapped_column(String(MAX_TEXT), default="")
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    added_by: Mapped[str] = mapped_column(String(MAX_NAME), default="")
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    @property
    def label(self) -> str:
        return f"{self.title} — {self.artist}" if self.artist else self.title


class Rater(Base):
    __tablename__ = "label_raters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Rating(Base):
    """One saved rating; never updated or deleted. The newest per (track, rater) stands."""

    __tablename__ = "label_ratings"
    __table_args__ = (Index("ix_label_ratings_track_rater", "track_hash", "rater_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    track_hash: Mapped[str] = mapped_column(ForeignKey("label_tracks.hash"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("label_raters.id"))
    valence: Mapped[float] = mapped_column(Float)
    arousal: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


# --- Validation -----------------------------------------------------------------------------


def _check_value(axis: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise LabellingError(f"{axis.capitalize()} must be a number from 0 to 1, not {value!r}.") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise LabellingError(f"{axis.capitalize()} must lie between 0 and 1 (got {value}).")
    return value


def _text(value: str | None, what: str) -> str:
    value = " ".join(clean_text(value).split())
    if len(value) > MAX_TEXT:
        raise LabellingError(f"The {what} is at most {MAX_TEXT} characters.")
    return value


def clean_note(note: str | None) -> str | None:
    """A rating's note: control characters removed, line breaks kept, at most MAX_NOTE characters."""
    note = clean_text(note, keep_newlines=True).strip()
    if len(note) > MAX_NOTE:
        raise LabellingError(f"A note is at most {MAX_NOTE} characters (this one has {len(note)}).")
    return note or None


def _rater_id(session: Session, name: str) -> int:
    """The id of rater `name`, created if new; safe when several sessions create it at once."""
    insert_ignoring_duplicates(session, Rater.__table__, {"name": name, "created_at": _now()}, "name")
    return session.execute(select(Rater.id).where(Rater.name == name)).scalar_one()


# --- Tracks and ratings ---------------------------------------------------------------------


def add_track(
    engine: Engine,
    store: AudioStore,
    data: bytes,
    filename: str | None,
    title: str = "",
    artist: str = "",
    source: str = "",
    licence: str = "",
    added_by: str = "",
) -> tuple[Track, bool]:
    """Store an audio file and register it; returns (track, created).

    The audio is decoded first, so a damaged or silent file raises `audio.AudioError` and is not
    stored. A file already in the set (same bytes) returns the existing track with created=False;
    its details are left as they were. The title defaults to the file name's stem.
    """
    added_by = clean_name(added_by)
    title = _text(title, "title") or _text(Path(filename or "").stem, "title") or "untitled"
    values = {
        "title": title,
        "artist": _text(artist, "artist"),
        "source": _text(source, "source"),
        "licence": _text(licence, "licence"),
        "filename": _text(Path(filename or "").name, "file name"),
    }
    clip = audio.load_clip(data, name=filename or "the upload")
    stored_before = store.find(content_hash(data)) is not None
    digest, path = store.put(data, filename)
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            row = {
                "hash": digest,
                "suffix": path.suffix or safe_suffix(filename),
                "duration_s": clip.duration_s,
                "added_by": added_by,
                "added_at": _now(),
                **values,
            }
            created = insert_ignoring_duplicates(session, Track.__table__, row, "hash")
            if created:  # the models hear it next (the Label page), even if the browser closes first
                enqueue(session, digest)
            track = session.get(Track, digest)
    except Exception:
        if not stored_before:  # a failed add leaves no orphan audio behind
            path.unlink(missing_ok=True)
        raise
    return track, created


def get_track(engine: Engine, track_hash: str) -> Track:
    with Session(engine, expire_on_commit=False) as session:
        track = session.get(Track, track_hash)
    if track is None:
        raise LabellingError(f"Unknown track {track_hash[:12]!r}: it is not in the labelling set.")
    return track


def list_tracks(engine: Engine) -> list[Track]:
    """All tracks, oldest first."""
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(Track).order_by(Track.added_at, Track.hash)))


def list_raters(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(Rater.name).order_by(Rater.name)))


def save_rating(
    engine: Engine, track_hash: str, rater: str, valence: float, arousal: float, note: str | None = None
) -> Rating:
    """Append `rater`'s rating of a track (it replaces their earlier one; the history stays)."""
    rater = clean_name(rater)
    valence, arousal = _check_value("valence", valence), _check_value("arousal", arousal)
    note = clean_note(note)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        rater_id = _rater_id(session, rater)  # a write first: the transaction holds the write lock
        if session.get(Track, track_hash) is None:
            raise LabellingError(f"Unknown track {str(track_hash)[:12]!r}: it is not in the labelling set.")
        rating = Rating(
            track_hash=track_hash, rater_id=rater_id, valence=valence, arousal=arousal, note=note, created_at=_now()
        )
        session.add(rating)
    return rating


_RATING_COLUMNS = ["rating_id", "track_hash", "title", "artist", "rater", "valence", "arousal", "note", "created_at"]


def _ratings_frame(engine: Engine, newest_only: bool) -> pd.DataFrame:
    query = (
        select(
            Rating.id,
            Rating.track_hash,
            Track.title,
            Track.artist,
            Rater.name,
            Rating.valence,
            Rating.arousal,
            Rating.note,
            Rating.created_at,
        )
        .join(Track, Track.hash == Rating.track_hash)
        .join(Rater, Rater.id == Rating.rater_id)
        .order_by(Rating.id)
    )
    if newest_only:
        newest = select(func.max(Rating.id)).group_by(Rating.track_hash, Rating.rater_id)
        query = query.where(Rating.id.in_(newest))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return _frame([tuple(r) for r in rows], columns=_RATING_COLUMNS)


def current_ratings(engine: Engine) -> pd.DataFrame:
    """The rating that stands per (track, rater): columns rating_id, track_hash, title, artist,
    rater, valence, arousal, note, created_at."""
    return _ratings_frame(engine, newest_only=True)


def rating_history(engine: Engine, track_hash: str | None = None, rater: str | None = None) -> pd.DataFrame:
    """Every rating ever saved, oldest first, optionally for one track and/or rater."""
    history = _ratings_frame(engine, newest_only=False)
    if track_hash is not None:
        history = history[history.track_hash == track_hash]
    if rater is not None:
        history = history[history.rater == clean_name(rater)]
    return history.reset_index(drop=True)


def rated_by(engine: Engine, rater: str) -> set[str]:
    """Hashes of the tracks `rater` has rated."""
    query = select(Rating.track_hash).join(Rater, Rater.id == Rating.rater_id).where(Rater.name == clean_name(rater))
    with engine.connect() as connection:
        return set(connection.execute(query.distinct()).scalars())


def progress(engine: Engine, rater: str) -> tuple[int, int]:
    """(tracks `rater` has rated, tracks in the set)."""
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(Track)).scalar_one()
    return len(rated_by(engine, rater)), total


def next_unrated(engine: Engine, rater: str, after: str | None = None) -> Track | None:
    """The first track `rater` has not rated, in the order tracks were added; with `after`, the
    first one following that track (wrapping around), never `after` itself. None when all are rated."""
    tracks, done = list_tracks(engine), rated_by(engine, rater)
    hashes = [t.hash for t in tracks]
    start = hashes.index(after) + 1 if after in hashes else 0
    for track in tracks[start:] + tracks[:start]:
        if track.hash not in done and track.hash != after:
            return track
    return None


# --- The test set ---------------------------------------------------------------------------

AGGREGATE_COLUMNS = [
    "track_hash",
    "title",
    "artist",
    "source",
    "licence",
    "n_raters",
    "valence_mean",
    "valence_std",
    "arousal_mean",
    "arousal_std",
    "mood",
    "quadrant",
]


def aggregate(engine: Engine, min_raters: int = 1, centre=(0.5, 0.5)) -> pd.DataFrame:
    """One row per track with at least `min_raters` raters: the mean of the current ratings is the
    truth; std is the sample standard deviation (NaN with one rater); mood/quadrant of the mean,
    named around `centre` (the pages pass the models' mood centre, so a mood means one thing everywhere)."""
    ratings = current_ratings(engine)
    tracks = {t.hash: t for t in list_tracks(engine)}
    rows = []
    for track_hash, group in ratings.groupby("track_hash", sort=False):
        if len(group) < max(min_raters, 1):
            continue
        v, a = group.valence.mean(), group.arousal.mean()
        t = tracks[track_hash]
        mood = mood_of(v, a, centre)
        rows.append(
            [
                track_hash,
                t.title,
                t.artist,
                t.source,
                t.licence,
                len(group),
                v,
                group.valence.std(ddof=1),
                a,
                group.arousal.std(ddof=1),
                mood,
                QUADRANTS[MOODS.index(mood)],
            ]
        )
    order = {h: i for i, h in enumerate(tracks)}
    frame = _frame(rows, columns=AGGREGATE_COLUMNS)
    return frame.sort_values("track_hash", key=lambda s: s.map(order)).reset_index(drop=True)


@dataclass
class Agreement:
    alpha_valence: float  # Krippendorff's alpha, interval; NaN when it cannot be computed
    alpha_arousal: float
    n_tracks: int  # tracks with at least two raters (the only ones that carry agreement)
    n_raters: int  # each rater's offset and agreement with the others: team.raters


def _alpha(matrix: np.ndarray) -> float:
    try:
        import krippendorff

        return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval"))
    except ValueError:  # fewer than two ratings of any track, or every rating equal
        return float("nan")


def agreement(engine: Engine) -> Agreement:
    """Inter-rater agreement on the current ratings: alpha of a raters × tracks matrix with NaN
    where a rater has not rated a track (how each rater compares with the rest: `team.raters`)."""
    ratings = current_ratings(engine)
    if ratings.empty:
        return Agreement(float("nan"), float("nan"), 0, 0)
    shared = ratings[ratings.groupby("track_hash").rater.transform("size") >= 2]
    alphas = {
        axis: _alpha(
            ratings.pivot_table(index="rater", columns="track_hash", values=axis, aggfunc="first").to_numpy(float)
        )
        for axis in ("valence", "arousal")
    }
    return Agreement(alphas["valence"], alphas["arousal"], shared.track_hash.nunique(), ratings.rater.nunique())


# --- Evaluation -----------------------------------------------------------------------------


@dataclass
class Evaluation:
    n: int  # tracks evaluated
    min_raters: int
    metrics: dict[str, dict] = field(default_factory=dict)  # model -> metrics.evaluate_predictions
    predictions: pd.DataFrame = field(default_factory=_frame)  # per track: truth and each model
    errors: dict[str, str] = field(default_factory=dict)  # track hash -> why it was skipped


def evaluate(
    engine: Engine, store: AudioStore, predictor, key: str, min_raters: int = 2, on_progress=None
) -> Evaluation:
    """Score every model of `predictor` on each track with at least `min_raters` raters against the
    mean rating, from their answers stored under the models' `key` (`team.predictions`: a track the
    Label page already had the models hear is not analysed again). True and predicted moods are
    both named around the predictor's mood centre, as the app names them (and as the exported
    manifest's quadrant is, when the page exports with the same centre). `on_progress(done,
    total)` is called after each track."""

    thresholds = tuple(getattr(predictor, "thresholds", (0.5, 0.5)))
    truth_rows = aggregate(engine, min_raters, thresholds)
    result = Evaluation(0, min_raters)
    rows = []
    for i, row in enumerate(truth_rows.itertuples(index=False), start=1):
        try:
            models = predict_track(engine, store, predictor, key, row.track_hash)["models"]
        except (audio.AudioError, OSError) as error:
            result.errors[row.track_hash] = str(error)
        else:
            entry = {
                "track_hash": row.track_hash,
                "title": row.title,
                "artist": row.artist,
                "n_raters": row.n_raters,
                "valence": row.valence_mean,
                "arousal": row.arousal_mean,
                "mood": row.mood,
            }
            for name, p in models.items():
                entry.update({f"{name}_{k}": p[k] for k in ("valence", "arousal", "mood")})
            rows.append(entry)
        if on_progress:
            on_progress(i, len(truth_rows))
    result.predictions = _frame(rows)
    result.n = len(rows)
    if not rows:
        return result
    frame = result.predictions
    truth = frame[["valence", "arousal"]].to_numpy(float)
    true_class = mood_index(truth[:, 0], truth[:, 1], thresholds)
    models = [c.removesuffix("_mood") for c in frame.columns if c.endswith("_mood") and c != "mood"]
    for name in models:
        predicted = frame[[f"{name}_valence", f"{name}_arousal"]].to_numpy(float)
        result.metrics[name] = evaluate_predictions(predicted, truth, true_class, thresholds)
    return result


# --- Export ---------------------------------------------------------------------------------


def export_ratings_csv(engine: Engine, history: bool = False) -> str:
    """The current ratings (or, with history, every rating ever saved) as CSV text."""
    frame = rating_history(engine) if history else current_ratings(engine)
    for column in ("title", "artist", "rater", "note"):  # typed by people: never a spreadsheet formula
        frame[column] = frame[column].map(spreadsheet_cell)
    return frame.to_csv(index=False)


MANIFEST_COLUMNS = [
    "path",
    "valence",
    "arousal",
    "quadrant",
    "artist",
    "title",
    "song_id",
    "n_raters",
    "valence_std",
    "arousal_std",
    "source",
    "licence",
]


def export_manifest(engine: Engine, store: AudioStore, folder, min_raters: int = 1, centre=(0.5, 0.5)) -> Path:
    """Write folder/manifest.csv and folder/audio/<hash><suffix> for every track with at least
    `min_raters` raters; paths in the manifest are relative to it, quadrants named around `centre`.
    Returns the manifest's path."""
    rows = aggregate(engine, min_raters, centre)
    if rows.empty:
        raise LabellingError(f"No track has {min_raters} or more raters yet: there is nothing to export.")
    folder = Path(folder)
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(MANIFEST_COLUMNS)
        for row in rows.itertuples(index=False):
            source = store.find(row.track_hash)
            if source is None:
                raise LabellingError(f"The audio of {row.title!r} ({row.track_hash[:12]}) is missing from the store.")
            relative = Path("audio") / f"{row.track_hash}{source.suffix}"
            shutil.copyfile(source, folder / relative)
            safe = spreadsheet_cell  # typed by people: never a spreadsheet formula
            writer.writerow(
                [
                    relative.as_posix(),
                    _number(row.valence_mean),
                    _number(row.arousal_mean),
                    row.quadrant,
                    safe(row.artist),
                    safe(row.title),
                    row.track_hash,
                    row.n_raters,
                    _number(row.valence_std),
                    _number(row.arousal_std),
                    safe(row.source),
                    safe(row.licence),
                ]
            )
    return manifest


def _number(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.6g}"


def export_zip(engine: Engine, store: AudioStore, min_raters: int = 1, centre=(0.5, 0.5)) -> bytes:
    """A zip of manifest.csv, audio/<hash><suffix> and ratings.csv (the current raw ratings)."""
    with tempfile.TemporaryDirectory(prefix="emotionet-export-") as tmp:
        manifest = export_manifest(engine, store, tmp, min_raters, centre)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(manifest, "manifest.csv")
            for path in sorted((Path(tmp) / "audio").iterdir()):
                archive.write(path, f"audio/{path.name}", compress_type=zipfile.ZIP_STORED)
            archive.writestr("ratings.csv", export_ratings_csv(engine))
    return buffer.getvalue()
