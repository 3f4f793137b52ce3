"""Writing files so that a failure leaves nothing behind: a temporary file beside the target,
renamed over it only once it is complete (`replacing`, `write_bytes`, `write_text`), removed when
anything fails (a full disk, a read-only folder, an interrupted write). The old file, if any, stays
as it was. A failed write raises `WriteError`, an OSError whose message is one line naming the file
and saying why in words (`why`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

TEMP_SUFFIX = ".tmp"  # temporary files are hidden (.name.XXXX.tmp) and never taken for the file itself
REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file is larger than this system allows",
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "permission denied (the folder is not writable)",
    errno.EPERM: "permission denied (the folder is not writable)",
    errno.ENOENT: "the folder does not exist",
    errno.EIO: "the disk reported an input/output error",
}


class WriteError(OSError):
    """A file that could not be written, with a one-line message naming it (errno kept)."""

    def __str__(self) -> str:
        return str(self.strerror)


def why(error: OSError) -> str:
    """An OSError's cause in words ("the disk is full"), else its own message."""
    return REASONS.get(error.errno) or error.strerror or str(error) or type(error).__name__


def write_error(path, error: OSError, what: str = "write") -> WriteError:
    """`error` as a WriteError: "Could not write <path>: the disk is full." (already one: as it is)."""
    if isinstance(error, WriteError):
        return error
    return WriteError(error.errno, f"Could not {what} {path}: {why(error)}.")


@contextlib.contextmanager
def replacing(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """An open temporary file beside `path`; when the block ends without error it replaces `path`
    (readable as an ordinary new file would be); on any error it is removed and an OSError is raised
    again as a WriteError naming `path`."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    except OSError as error:
        raise write_error(path, error) from error
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the file is as readable as one written directly
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise write_error(path, error) from error
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with replacing(path) as handle:
        handle.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    with replacing(path, "w", encoding="utf-8") as handle:
        handle.write(text)
