"""The models' answers on the labelling set's tracks, stored once per track and model version.

What to rate next (``suggest``) weighs how sure the models are about each track and whether
they agree, and the Label page reveals their answers after a rater saves; both read the same
rows instead of running the models every time a page is drawn. A row is keyed by the track and
by the models' key (the SHA-256 of the checkpoint folder's config.json, which names every
model file's hash and the mood centre): accepting an adapted model, or re-training, gives a new
key, so old answers are never shown as the current models'. Saving is idempotent and safe when
several sessions analyse the same track at once (INSERT ... ON CONFLICT DO NOTHING).

A track added to the set is queued for the models (`ListenQueue`, in the same transaction as the
track) and leaves the queue once they have heard it (or its audio proved unreadable): listening cut
short (the browser closed while the models listened) leaves the rest queued, and the next visit to
the Label page hears them (`queued`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import DateTime, Engine, ForeignKey, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..io import audio
from .storage import AudioStore, Base, insert_ignoring_duplicates


class TrackPrediction(Base):
    __tablename__ = "label_predictions"

    track_hash: Mapped[str] = mapped_column(ForeignKey("label_tracks.hash"), primary_key=True)
    models_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    headline: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # JSON: model -> predict.Prediction's fields
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ListenQueue(Base):
    """Tracks added to the set that the models have not heard yet."""

    __tablename__ = "label_listen_queue"

    track_hash: Mapped[str] = mapped_column(ForeignKey("label_tracks.hash"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def enqueue(session: Session, track_hash: str) -> None:
    """Queue a track for the models, inside the caller's transaction (the one adding the track)."""
    values = {"track_hash": track_hash, "queued_at": datetime.now(timezone.utc)}
    insert_ignoring_duplicates(session, ListenQueue.__table__, values, "track_hash")


def queued(engine: Engine) -> list[str]:
    """Hashes of the tracks waiting for the models, oldest first."""
    with engine.connect() as connection:
        query = select(ListenQueue.track_hash).order_by(ListenQueue.queued_at, ListenQueue.track_hash)
        return list(connection.execute(query).scalars())


def _dequeue(engine: Engine, track_hash: str) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(ListenQueue).where(ListenQueue.track_hash == track_hash))


# What a stored answer holds: 2 since it keeps a prediction's every field (the close call, a song's shares),
# so that Label says a track's mood as Analyze does; answers stored before are heard again.
ANSWERS_VERSION = b"answers 2\n"


def models_key(directory: str | os.PathLike) -> str:
    """16 hex digits naming one version of the models (their folder's config.json bytes) and of
    what is stored of their answers."""
    return hashlib.sha256(ANSWERS_VERSION + (Path(directory) / "config.json").read_bytes()).hexdigest()[:16]


def stored(engine: Engine, key: str) -> dict[str, dict]:
    """track hash -> {"headline": model, "models": {model: predict.Prediction's fields}}."""
    query = select(TrackPrediction.track_hash, TrackPrediction.headline, TrackPrediction.payload).where(
        TrackPrediction.models_key == key
    )
    with engine.connect() as connection:
        return {h: {"headline": head, "models": json.loads(p)} for h, head, p in connection.execute(query)}


def _save(engine: Engine, track_hash: str, key: str, headline: str, models: dict) -> None:
    values = {
        "track_hash": track_hash,
        "models_key": key,
        "headline": headline,
        "payload": json.dumps(models, default=float),  # numpy's float32 too
        "created_at": datetime.now(timezone.utc),
    }
    with Session(engine) as session, session.begin():
        insert_ignoring_duplicates(session, TrackPrediction.__table__, values, ("track_hash", "models_key"))


def predict_track(engine: Engine, store: AudioStore, predictor, key: str, track_hash: str) -> dict:
    """The models' answers on one track (as `analyze` shows them: the whole track): stored ones,
    else run now and stored. Raises audio.AudioError when its audio is missing or unreadable."""
    known = stored_one(engine, key, track_hash)
    if known is not None:
        return known
    path = store.find(track_hash)
    if path is None:
        raise audio.AudioError("its audio file is missing from the store")
    analysis = predictor.analyze(path)
    models = {name: dataclasses.asdict(p) for name, p in analysis.predictions.items()}  # close call, song shares too
    _save(engine, track_hash, key, analysis.headline, models)
    return {"headline": analysis.headline, "models": models}


def stored_one(engine: Engine, key: str, track_hash: str) -> dict | None:
    with Session(engine) as session:
        row = session.get(TrackPrediction, (track_hash, key))
        return None if row is None else {"headline": row.headline, "models": json.loads(row.payload)}


def predict_missing(engine: Engine, store: AudioStore, predictor, key: str, hashes, on_progress=None) -> dict[str, str]:
    """Run the models on each of `hashes` that has no stored answers yet; returns {hash: error}
    for tracks whose audio could not be analysed. Each track leaves the listening queue once heard
    (or found unreadable), so an interrupted run leaves only the unheard ones queued.
    `on_progress(done, total)` after each."""
    known = stored(engine, key)
    waiting = set(queued(engine))
    todo = [h for h in hashes if h not in known]
    for track_hash in set(hashes) & waiting - set(todo):  # heard before (by these models)
        _dequeue(engine, track_hash)
    errors = {}
    for i, track_hash in enumerate(todo, start=1):
        try:
            predict_track(engine, store, predictor, key, track_hash)
        except (audio.AudioError, OSError) as error:
            errors[track_hash] = str(error)
        if track_hash in waiting:
            _dequeue(engine, track_hash)
        if on_progress:
            on_progress(i, len(todo))
    return errors
