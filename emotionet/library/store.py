"""The song library's store: its tables, the queries over them and the models' fingerprints.

Every analysed song is one row of `library_songs` in the shared database (`io.database`), under its
content hash, with the full `Analysis.to_dict()` as JSON, so re-adding a file or reopening the app
is instant. `library_files` remembers a path's content hash as of its size and modification time
(a rescan need not read it); `library_failures` remembers audio that cannot be analysed with these
models (a rescan does not decode it again). Title and artist come from the file's tags (mutagen)
when present, else from the file name.

The models' fingerprint (a hash of checkpoints/config.json, the mood thresholds, the analysed
length, the preset and the models that answered) is stored with each row: after retraining, or
when a model that was unavailable (musicnn not installed) loads again, a scan analyses the songs
again.

These functions are what every scan engine writes through: the local one (`library.scan`) and the
Ray pipeline (`emotionet.scale.ray_engine`). Writes are single upserts (`INSERT … ON CONFLICT`),
so two scans of one library at once both finish.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from sqlalchemy import BigInteger, DateTime, Float, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from ..io import database
from ..models.checkpoints import checkpoint_dir
from ..team import storage
from .paths import path_to_text, shown_name, text_to_path
from .playlists import Song


FAILED_BEFORE = " (skipped: it failed before)"


def _now() -> datetime:
    return datetime.now(timezone.utc)


class FsPath(TypeDecorator):
    """A file system path in a text column: any bytes on the way in, the same path on the way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else path_to_text(value)

    def process_result_value(self, value, dialect):
        return None if value is None else text_to_path(value)


class LibrarySong(database.Base):
    __tablename__ = "library_songs"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    artist: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(FsPath)
    duration_s: Mapped[float] = mapped_column(Float)
    valence: Mapped[float] = mapped_column(Float)  # the headline model's ("cnn")
    arousal: Mapped[float] = mapped_column(Float)
    mood: Mapped[str] = mapped_column(String(16), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    analysis: Mapped[str] = mapped_column(Text)  # Analysis.to_dict() as JSON: every model, timeline
    models: Mapped[str] = mapped_column(String(64))  # fingerprint of the models that analysed it
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class LibraryFile(database.Base):
    """A path's content hash as of its size and modification time: a rescan need not read the file."""

    __tablename__ = "library_files"

    path: Mapped[str] = mapped_column(FsPath, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class LibraryFailure(database.Base):
    __tablename__ = "library_failures"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    models: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


def read_tags(path: str | Path, fallback_name: str | None = None) -> tuple[str, str]:
    """(title, artist) from the file's tags, else (file name without suffix, '')."""
    title = artist = ""
    try:
        import mutagen

        tags = mutagen.File(str(path), easy=True)
        if tags is not None and tags.tags is not None:
            title = (tags.get("title") or [""])[0].strip()
            artist = (tags.get("artist") or [""])[0].strip()
    except Exception:  # unreadable or odd tags never stop a scan
        pass
    # tags may carry NUL separators or control characters: PostgreSQL refuses NUL in text
    title, artist = (" ".join(shown_name(x).split()) for x in (title, artist))
    return title or " ".join(shown_name(Path(fallback_name or path).stem).split()) or "untitled", artist


class Fingerprint(str):
    """A models fingerprint (16 hex digits) that knows the models it expects to answer: an analysis
    that some of them missed (or others joined) is stored under `answered_by(its models)`, so the
    next scan that has the expected models analyses it again."""

    base: str
    models: tuple[str, ...]

    def __new__(cls, base: str, models: Iterable[str]):
        models = tuple(sorted(models))
        digest = hashlib.sha256(f"{base} answered by {','.join(models)}".encode()).hexdigest()[:16]
        fingerprint = super().__new__(cls, digest)
        fingerprint.base, fingerprint.models = base, models
        return fingerprint

    def __reduce__(self):
        return Fingerprint, (self.base, self.models)

    def answered_by(self, models: Iterable[str]) -> "Fingerprint":
        return self if tuple(sorted(models)) == self.models else Fingerprint(self.base, models)


def models_fingerprint(
    checkpoints=None,
    thresholds=None,
    seconds: float | None = None,
    models: Iterable[str] | None = None,
    preset: str | None = None,
) -> Fingerprint:
    """Identifies the models, thresholds, analysed length (`seconds` from the middle; None: the
    whole song), the models that answer (`models`; None: those that load now, `available_models`)
    and the scan preset (predict.PRESETS; None or "whole": the full analysis) an analysis came
    from: change any and a scan analyses again."""
    directory = Path(checkpoints or checkpoint_dir())
    config = directory / "config.json"
    if not config.is_file():
        raise FileNotFoundError(f"No trained models in {config.parent}: run `python train.py` first.")
    digest = hashlib.sha256(config.read_bytes())
    digest.update(repr(thresholds and tuple(float(t) for t in thresholds)).encode())  # None: config.json's centre
    digest.update(f"whole song, sections v1 {seconds or 0:g}".encode())
    if preset not in (None, "whole"):  # a whole-song scan analyses a preset's rows again
        digest.update(f" preset {preset}".encode())
    return Fingerprint(digest.hexdigest()[:16], available_models(directory) if models is None else models)


def bundle_models(checkpoints=None) -> tuple[str, ...]:
    """The models of a checkpoint folder that answer in an analysis (read from its config.json):
    the CNN, the SVRs, and the pretrained model when it has one."""
    from ..models.checkpoints import read_config

    config = read_config(Path(checkpoints or checkpoint_dir()))
    return ("cnn", *config.get("svrs", []), *(["pretrained"] if config.get("pretrained") else []))


def available_models(checkpoints=None) -> tuple[str, ...]:
    """The models whose answers an analysis holds now (Predictor.model_names, without loading the
    bundle): `bundle_models`, less the pretrained model when its musicnn networks do not load."""
    names = bundle_models(checkpoints)
    if "pretrained" in names:
        from ..models import pretrained

        try:
            pretrained.load_backbones()  # cached per process: the analyses in this process reuse them
        except Exception:  # not installed, or its checkpoint missing or damaged: Predictor says why
            names = tuple(n for n in names if n != "pretrained")
    return names


# --- songs ------------------------------------------------------------------------------------


def song_from_row(row: LibrarySong, model: str | None = None) -> Song:
    """The row as a playlist Song with the headline model's prediction (the row's own columns), or
    `model`'s when given and stored."""
    song = Song(
        row.hash,
        row.title,
        row.artist,
        row.path,
        row.filename,
        row.duration_s,
        row.valence,
        row.arousal,
        row.mood,
        row.confidence,
        {"analysis": json.loads(row.analysis)},
    )
    head = song.extra["analysis"].get(song.extra["analysis"].get("headline", ""), {})
    song = with_shares(song, head) if isinstance(head, dict) else song
    return with_model(song, model) if model else song


def with_shares(song: Song, pred: dict) -> Song:
    """The song with a stored prediction's share of its mood and whether it is mixed (issue 30)."""
    share = pred.get("share")
    return replace(song, share=float(share) if share is not None else None, mixed=bool(pred.get("mixed", False)))


def with_model(song: Song, model: str) -> Song:
    """The same song with another model's stored prediction (unchanged if it has none)."""
    pred = song.extra.get("analysis", {}).get(model)
    if not (isinstance(pred, dict) and "valence" in pred):
        return song
    return with_shares(
        replace(
            song,
            valence=float(pred["valence"]),
            arousal=float(pred["arousal"]),
            mood=pred["mood"],
            confidence=float(pred["confidence"]),
        ),
        pred,
    )


def load_songs(engine, hashes: Iterable[str] | None = None, model: str | None = None) -> list[Song]:
    """Songs of the library (only `hashes`, in their order, when given), sorted by title otherwise."""
    with Session(engine) as session:
        if hashes is None:
            rows = session.scalars(select(LibrarySong).order_by(LibrarySong.title, LibrarySong.hash)).all()
            return [song_from_row(r, model) for r in rows]
        hashes = list(hashes)
        found = _rows(session, hashes)
        return [song_from_row(found[h], model) for h in hashes if h in found]


def _rows(session: Session, hashes: Sequence[str]) -> dict[str, LibrarySong]:
    found = {}
    for i in range(0, len(hashes), 500):
        chunk = hashes[i : i + 500]
        found.update({r.hash: r for r in session.scalars(select(LibrarySong).where(LibrarySong.hash.in_(chunk)))})
    return found


def stored_rows(engine, hashes: Iterable[str]) -> dict[str, LibrarySong]:
    """The library rows of `hashes` that are stored (hash -> row, loaded and detached from the session)."""
    with Session(engine) as session:
        return _rows(session, list(hashes))


NOT_MODELS = {"song"}  # Analysis.to_dict() keys with a valence that are no model ("song": the sections' summary)


def model_names(songs: Sequence[Song]) -> list[str]:
    """Models with predictions in the songs' stored analyses, the analyses' headline model first."""
    names: list[str] = []
    headlines = {s.extra.get("analysis", {}).get("headline") for s in songs}
    for s in songs:
        for key, value in s.extra.get("analysis", {}).items():
            if isinstance(value, dict) and "valence" in value and key not in names and key not in NOT_MODELS:
                names.append(key)
    return sorted(names, key=lambda n: (n not in headlines, n))


def remove_song(engine, digest: str) -> None:
    with Session(engine) as session, session.begin():
        row = session.get(LibrarySong, digest)
        if row is not None:
            session.delete(row)


# --- what a scan settles -----------------------------------------------------------------------


@dataclass
class ScanResult:
    songs: list[Song] = field(default_factory=list)  # every song of the scan, in file order, once per hash
    added: int = 0  # analysed now
    known: int = 0  # already in the library with the same models: not decoded
    failed: dict[str, str] = field(default_factory=dict)  # path -> why it was skipped
    seconds: float = 0.0


def settle_known(engine, path_of: dict[str, str], fingerprint: str, force: bool, result: ScanResult) -> list[str]:
    """The hashes of `path_of` (content hash -> its path, in file order) that need analysing with
    the models `fingerprint`; the others are settled in `result`: songs already analysed are
    counted as known (and get their new path when the file moved), songs that failed before are
    reported as failed. `force`: every hash needs analysing."""
    with Session(engine) as session, session.begin():
        return _settle_known(session, path_of, fingerprint, force, result)


def _settle_known(
    session: Session, path_of: dict[str, str], fingerprint: str, force: bool, result: ScanResult
) -> list[str]:
    todo: list[str] = []
    order = list(path_of)
    for i in range(0, len(order), 500):
        chunk = order[i : i + 500]
        rows = {r.hash: r for r in session.scalars(select(LibrarySong).where(LibrarySong.hash.in_(chunk)))}
        bad = {r.hash: r for r in session.scalars(select(LibraryFailure).where(LibraryFailure.hash.in_(chunk)))}
        for digest in chunk:
            row = rows.get(digest)
            if not force and row is not None and row.models == fingerprint:
                result.known += 1
                if row.path != path_of[digest] and not is_stored_copy(row.path, path_of[digest]):
                    row.path = path_of[digest]  # the file moved; the analysis still holds
            elif not force and digest in bad and bad[digest].models == fingerprint:
                result.failed[path_of[digest]] = bad[digest].error + FAILED_BEFORE
            else:
                todo.append(digest)
    return todo


def settle_skipped(engine, digest: str, path: str, fingerprint: str, result: ScanResult, count: bool = True) -> None:
    """A file another engine skipped because its hash was already settled with these models:
    count it as known (when `count`; moved: its new path) if it was analysed, else report the
    failure stored for it."""
    with Session(engine) as session, session.begin():
        song = session.get(LibrarySong, digest)
        if song is not None and song.models == fingerprint:
            result.known += count
            if count and song.path != path and not is_stored_copy(song.path, path):
                song.path = path  # the file moved; the analysis still holds
        else:
            failure = session.get(LibraryFailure, digest)
            result.failed[path] = (failure.error if failure else "analysed by another scan") + FAILED_BEFORE


def unchanged_file_hashes(engine, stats: dict[str, tuple[int, int]]) -> dict[str, str]:
    """The stored content hash of each path of `stats` (path -> (size, modification time in ns))
    whose size and modification time are those of its `library_files` row: no need to read it."""
    found = {}
    listed = list(stats)
    with Session(engine) as session:
        for i in range(0, len(listed), 500):
            for row in session.scalars(select(LibraryFile).where(LibraryFile.path.in_(listed[i : i + 500]))):
                if stats[row.path] == (row.size, row.mtime_ns):
                    found[row.path] = row.hash
    return found


def analysed_hashes(engine, fingerprint: str) -> list[str]:
    """The hash of every song analysed, or failed, with the models `fingerprint`."""
    with Session(engine) as session:
        hashes = session.scalars(select(LibrarySong.hash).where(LibrarySong.models == fingerprint)).all()
        failed = session.scalars(select(LibraryFailure.hash).where(LibraryFailure.models == fingerprint)).all()
    return [*hashes, *failed]


def remember_file(engine, path: str, size: int, mtime_ns: int, digest: str) -> None:
    """Record a path's content hash as of its size and modification time (`library_files`)."""
    with Session(engine) as session, session.begin():
        upsert(session, LibraryFile, {"path": path, "size": size, "mtime_ns": mtime_ns, "hash": digest}, "path")


def upsert(session: Session, model, values: dict, key: str) -> None:
    """INSERT, or UPDATE the row with the same `key`, in one statement where the database has one
    (SQLite, PostgreSQL): two scans of one library storing the same song at once both succeed (a
    SELECT-then-INSERT merge fails one with a UNIQUE constraint); elsewhere `session.merge`."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        session.merge(model(**values))
        return
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    table = model.__table__
    row = dict(values)  # the columns' types (FsPath) convert the values
    statement = insert(table).values(**row)
    statement = statement.on_conflict_do_update(
        index_elements=[key], set_={name: statement.excluded[name] for name in row if name != key}
    )
    session.execute(statement)


def _drop_stale_rows(session: Session, hash_at: dict[str, str]) -> None:
    """Forget analyses stored for a path whose content has changed since (another song there now)."""
    paths = list(hash_at)
    for i in range(0, len(paths), 500):
        rows = session.scalars(select(LibrarySong).where(LibrarySong.path.in_(paths[i : i + 500])))
        for row in rows:
            if row.hash != hash_at[row.path]:
                session.delete(row)


def settle(
    engine, path_of: dict[str, str], hash_at: dict[str, str], fingerprint: str, force: bool, result
) -> list[str]:
    """`settle_known` and, in the same transaction, forget the analyses stored for a path of
    `hash_at` (every path scanned -> its content hash now) whose content changed since."""
    with Session(engine) as session, session.begin():
        todo = _settle_known(session, path_of, fingerprint, force, result)
        session.flush()
        _drop_stale_rows(session, hash_at)
    return todo


def recorded_files(engine, paths: Sequence[str]) -> dict[str, tuple[int, int, str]]:
    """path -> (size, modification time in ns, content hash) as `library_files` last recorded them."""
    known = {}
    with Session(engine) as session:  # reads only
        for i in range(0, len(paths), 500):
            rows = session.scalars(select(LibraryFile).where(LibraryFile.path.in_(paths[i : i + 500])))
            known.update({f.path: (f.size, f.mtime_ns, f.hash) for f in rows})
    return known


def remember_files(engine, rows: Iterable[tuple[str, int, int, str]]) -> None:
    """Record many (path, size, mtime_ns, hash) in one short transaction (`remember_file`'s batch)."""
    rows = list(rows)
    if rows:
        with Session(engine) as session, session.begin():
            for path, size, mtime_ns, digest in rows:
                values = {"path": path, "size": size, "mtime_ns": mtime_ns, "hash": digest}
                upsert(session, LibraryFile, values, "path")


def is_stored_copy(old: str, new: str) -> bool:
    """Keep pointing at a folder path rather than at the app's stored copy of the same audio."""
    try:
        return Path(new).resolve().is_relative_to(storage.AudioStore().root.resolve()) and Path(old).is_file()
    except OSError:
        return False


def store_analysis(engine, digest: str, path: str, name: str, analysis, fingerprint: str) -> None:
    """Store a song's `Analysis` under its content hash (replacing an older one; forgetting a failure).

    A `Fingerprint` is stored as the models that answered made it: an analysis that a model missed
    (one that did not load in the process that analysed) is analysed again by a scan that has it."""
    title, artist = read_tags(path, name)
    name = shown_name(name)
    if isinstance(fingerprint, Fingerprint):
        fingerprint = fingerprint.answered_by(analysis.predictions)
    data = analysis.to_dict()
    data["file"] = name
    head = analysis.predictions.get(analysis.headline) or next(iter(analysis.predictions.values()))
    with Session(engine) as session, session.begin():
        values = dict(
            hash=digest,
            title=title,
            artist=artist,
            filename=name,
            path=path,
            duration_s=float(analysis.duration_s),
            valence=float(head.valence),
            arousal=float(head.arousal),
            mood=head.mood,
            confidence=float(head.confidence),
            analysis=json.dumps(data, allow_nan=False),
            models=str(fingerprint),
            added_at=_now(),
        )
        upsert(session, LibrarySong, values, "hash")  # another scan may store the same song at once
        session.execute(delete(LibraryFailure).where(LibraryFailure.hash == digest))  # no row: nothing


def remember_failure(engine, digest: str, name: str, error: str, fingerprint: str) -> None:
    """Remember that the audio of `digest` cannot be analysed with these models, and why."""
    with Session(engine) as session, session.begin():
        values = dict(
            hash=digest, filename=shown_name(name), error=shown_name(error), models=str(fingerprint), at=_now()
        )
        upsert(session, LibraryFailure, values, "hash")
