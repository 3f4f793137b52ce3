"""The one SQL database every layer above shares (the team's tracks and ratings, the song library,
accounts): where it is, how it is opened, and what it refuses.

It is a SQLite file in the data folder (WAL mode, created on first use) unless EMOTIONET_DB_URL
names another, e.g. postgresql+psycopg://user:pass@host/emotionet. Table definitions live with
their features (`team.labelling`, `team.predictions`, `team.accounts`, `library.store`) and share
`Base`; `make_engine` imports them by name (`TABLE_MODULES`) so every table exists before use.
Creating the tables is safe when several processes open a new database at once (the app and the
CLI, or scan workers). A damaged SQLite file, or one a newer EmotioNet made (its user_version, or
columns this version does not know), is refused in one line (`DatabaseFileError`) before anything
writes to it.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase

from .paths import data_dir

TABLE_MODULES = (  # where tables are defined: imported by name (they sit in later layers)
    "emotionet.team.labelling",
    "emotionet.team.predictions",
    "emotionet.team.accounts",
    "emotionet.library.store",
)


class Base(DeclarativeBase):
    pass


def database_url() -> str:
    return os.environ.get("EMOTIONET_DB_URL") or f"sqlite:///{data_dir() / 'emotionet.db'}"


def make_engine(url: str | None = None) -> Engine:
    """An engine with every table created; SQLite gets WAL and waits for locks instead of failing.

    A SQLite database in a folder this process cannot write (read-only) is opened read-only: the
    library can be read; a write fails with SQLite's "attempt to write a readonly database"."""
    url = url or database_url()
    if url.startswith("sqlite:///"):
        db_file = Path(url.removeprefix("sqlite:///"))
        check_sqlite_file(db_file)  # damaged or from a newer version: refused before anything writes to it
        db_file.parent.mkdir(parents=True, exist_ok=True)
        if db_file.is_file() and not os.access(db_file.parent, os.W_OK):
            return _read_only_sqlite(db_file)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            cursor = connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")  # first: the pragmas below may wait for a lock
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        _import_tables()
        with _file_lock(db_file.with_name(db_file.name + ".lock")):
            _create_tables(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
        _import_tables()
        _create_tables(engine)
    return engine


SCHEMA_VERSION = 1  # SQLite's user_version in a database this version made or opened; a newer one is refused
SQLITE_MAGIC = b"SQLite format 3\x00"


class DatabaseFileError(RuntimeError):
    """A database file that must not be opened (damaged, or made by a newer EmotioNet): one line
    naming the file and what to do. Nothing has been written to it."""


def check_sqlite_file(db_file: Path) -> None:
    """Refuse, before SQLite opens (and could write to) it, a database file that is not a whole
    SQLite database (random bytes, cut short: its header's page count is more than the file holds)
    or that a newer EmotioNet made (its user_version is above SCHEMA_VERSION). Reads 100 bytes."""
    try:
        size = db_file.stat().st_size
        if size == 0:
            return
        with open(db_file, "rb") as f:
            header = f.read(100)
    except FileNotFoundError:
        return
    except OSError as error:
        raise DatabaseFileError(
            f"the library's database {db_file} cannot be read ({error.strerror or error})"
        ) from None
    hint = "move it aside (the next run starts an empty library) or restore a backup"
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise DatabaseFileError(f"the library's database {db_file} is not a SQLite database (damaged?): {hint}")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]  # the header's page count is current (SQLite 3.7.0 and later)
    if valid and pages and page_size * pages > size:
        raise DatabaseFileError(
            f"the library's database {db_file} is cut short ({size} of {page_size * pages} bytes): {hint}"
        )
    version = int.from_bytes(header[60:64], "big")
    if version > SCHEMA_VERSION:
        raise DatabaseFileError(
            f"the library's database {db_file} was made by a newer EmotioNet (schema {version}, this one reads "
            f"{SCHEMA_VERSION}): update EmotioNet, or point EMOTIONET_DATA_DIR elsewhere; it was left as it was"
        )


def _refuse_unknown_columns(connection) -> None:
    """A table of ours with columns this version does not know was made by a newer EmotioNet:
    DatabaseFileError before anything (a missing table) is created in it."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    for name, table in Base.metadata.tables.items():
        if name in existing:
            unknown = {c["name"] for c in inspector.get_columns(name)} - set(table.columns.keys())
            if unknown:
                raise DatabaseFileError(
                    f"the library's database ({connection.engine.url.render_as_string(hide_password=True)}) has "
                    f"columns this EmotioNet does not know ({name}: {', '.join(sorted(unknown))}): it was made by a "
                    "newer version; update EmotioNet, or point EMOTIONET_DATA_DIR elsewhere; it was left as it was"
                )


def _read_only_sqlite(db_file: Path) -> Engine:
    """SQLite opened read-only, with no schema lock file. Reading a WAL database needs its -shm
    file: without one (no writer has it open, and none can be made here) the file is read as
    immutable."""
    import sqlite3
    from urllib.parse import quote

    from sqlalchemy.pool import QueuePool

    uri = f"file:{quote(str(db_file.resolve()))}?mode=ro"

    def connect():
        connection = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return connection
        except sqlite3.OperationalError:  # "unable to open database file": no -shm to read the WAL by
            connection.close()
            return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=30, check_same_thread=False)

    engine = create_engine("sqlite://", creator=connect, poolclass=QueuePool)
    engine.read_only = True
    _import_tables()
    _create_tables(engine, attempts=1)  # the tables are there: this only reads; missing ones fail here
    return engine


SCHEMA_LOCK = 0x656D6F74  # the advisory lock that serialises schema creation on PostgreSQL ("emot")


def _create_tables(engine: Engine, attempts: int = 5) -> None:
    """Create missing tables; safe when several processes start on a new database at once.

    PostgreSQL: one transaction holding an advisory lock, so creators queue (CREATE TABLE of the
    same name at once otherwise fails on a duplicate key in pg_type). SQLite: the caller holds a
    file lock. Elsewhere (or without a lock), a creator that loses a race retries: the next
    attempt sees the winner's tables and skips them.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    for attempt in range(attempts):
        try:
            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
                _refuse_unknown_columns(connection)
                Base.metadata.create_all(connection)
                if connection.dialect.name == "sqlite" and not getattr(engine, "read_only", False):
                    if connection.exec_driver_sql("PRAGMA user_version").scalar() != SCHEMA_VERSION:
                        connection.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive lock on `path` across processes (flock; a no-op where there is none)."""
    try:
        import fcntl
    except ImportError:  # Windows: _create_tables' retries cover the race
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _import_tables() -> None:
    """Table modules register themselves on Base when imported."""
    import importlib

    for module in TABLE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise


def insert_ignoring_duplicates(session, table, values: dict, key: str | tuple[str, ...]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on the unique `key` column(s); True when the row was
    inserted. Safe when several sessions insert the same row at once."""
    keys = (key,) if isinstance(key, str) else tuple(key)
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
        return session.execute(statement.returning(table.c[keys[0]])).first() is not None
    from sqlalchemy.exc import IntegrityError

    try:  # other databases: a savepoint that may fail on the unique key
        with session.begin_nested():
            session.execute(table.insert().values(**values))
        return True
    except IntegrityError:
        return False
