"""The team's audio store: uploaded files kept under their content hash (`AudioStore`), so the same
file uploaded twice is stored once and file names from users never become paths.

The database itself is `emotionet.io.database`, shared by the library, the team, the app and the
CLI; its names are re-exported here for code written before it moved.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..io import files
from ..io.clip import AUDIO_SUFFIXES  # noqa: F401 (the package's one list; re-exported for the pages)
from ..io.database import (  # noqa: F401 (re-exported: the database moved to io.database)
    SCHEMA_VERSION,
    Base,
    DatabaseFileError,
    _import_tables,
    check_sqlite_file,
    database_url,
    insert_ignoring_duplicates,
    make_engine,
)
from ..io.paths import data_dir


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_suffix(filename: str | None) -> str:
    """The audio suffix of a user's file name, or '.bin'; nothing else of the name is used."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if suffix in AUDIO_SUFFIXES else ".bin"


class AudioStore:
    """Audio files named by their content hash: <root>/<hash[:2]>/<hash><suffix>."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root else data_dir() / "audio"

    def put(self, data: bytes, filename: str | None = None) -> tuple[str, Path]:
        """Store `data` (once); returns (hash, path). A failed write leaves nothing in the store and
        raises a one-line `io.files.WriteError` (an OSError: the disk is full, the folder is read-only)."""
        digest = content_hash(data)
        existing = self.find(digest)
        if existing is not None:
            return digest, existing
        path = self.root / digest[:2] / f"{digest}{safe_suffix(filename)}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # a unique temporary file, removed when the write fails (a full disk): threads of one process
            # (Streamlit sessions) may store the same file at once
            files.write_bytes(path, data)
        except OSError as error:
            raise files.WriteError(
                error.errno, f"Could not store the audio in {self.root}: {files.why(error)}."
            ) from error
        return digest, path

    def find(self, digest: str) -> Path | None:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"Not a content hash: {digest!r}")
        folder = self.root / digest[:2]
        matches = sorted(folder.glob(f"{digest}.*")) if folder.is_dir() else []
        return next((m for m in matches if not m.name.endswith(".tmp")), None)
