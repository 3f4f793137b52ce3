"""Writing files so that a failure leaves nothing behind: the one writer every layer uses.

A temporary file beside the target, renamed over it only once it is complete (`replacing`,
`write_bytes`, `write_text`; a folder: `replacing_folder`), removed when anything fails (a full
disk, a read-only folder, an interrupted write). The old file, if any, stays as it was, and keeps
its mode; a link to a file is written through (the link stays a link); a device or a pipe
(/dev/stdout) is written as it is. A failed write raises `WriteError`, an OSError whose message is
one line naming the file and saying why in words (`why`).

(Tags are the one exception: `library.tagfile` writes a song's new bytes into the same inode, so
its hard links, owner and extended attributes stay.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
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


def _target(path: Path) -> Path:
    """Where writing `path` lands: a link to a file is written through (the link stays)."""
    if path.is_symlink() and path.resolve().is_file():
        return path.resolve()
    return path


@contextlib.contextmanager
def replacing(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """An open temporary file beside `path`; when the block ends without error it replaces `path`
    (with the old file's mode, or readable as an ordinary new file would be); on any error it is
    removed and an OSError is raised again as a WriteError naming `path`. A link to a file is
    written through; a device or pipe is opened and written as it is (it cannot be replaced)."""
    shown, path = path, _target(Path(path))
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        try:
            with open(path, mode, encoding=encoding) as handle:
                yield handle
        except OSError as error:
            raise write_error(shown, error) from error
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    except OSError as error:
        raise write_error(shown, error) from error
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
        # mkstemp makes it private: keep the old file's mode, else as readable as one written directly
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o644)
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise write_error(shown, error) from error
        raise


@contextlib.contextmanager
def replacing_folder(path: str | os.PathLike, what: str = "write") -> Iterator[Path]:
    """A new hidden folder beside `path` to fill; when the block ends without error it is renamed
    to `path` (which must be missing or empty), else removed with everything in it. An OSError is
    raised again as a WriteError: "Could not <what> <path>: <why>."."""
    path = Path(path)
    work = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX))
        yield work
        os.chmod(work, 0o755)  # mkdtemp makes it private; the folder is as readable as one made directly
        os.replace(work, path)  # onto a missing or empty folder
    except BaseException as error:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        if isinstance(error, OSError):
            raise write_error(path, error, what) from error
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with replacing(path) as handle:
        handle.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    with replacing(path, "w", encoding="utf-8") as handle:
        handle.write(text)
