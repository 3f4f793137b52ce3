"""The command line's one error policy. Package code raises; `program.main` prints one `error:` line
and exits:

    0  done
    1  a runtime failure: a file or database problem, a failed analysis, some files skipped
    2  the command line itself: arguments that do not fit together (argparse's own convention)

`UsageError` and `Failure` are what a command raises for the two; `message` turns an expected
failure of the package (a full disk, a database that cannot be reached or is damaged, checkpoints
that fail their checks, an adaptation that cannot run) into its line. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import errno
import sys

FAILED, USAGE = 1, 2


class UsageError(Exception):
    """Arguments that do not fit together (a journey without --to, an unknown --model): exit 2."""


class Failure(Exception):
    """A command that could not do its work, said in one line (an output that holds audio): exit 1."""


ENVIRONMENT_ERRNOS = {  # the machine's state, not a bug: one line says what to do
    errno.ENOSPC: "free some space",
    errno.EDQUOT: "free some space",
    errno.EROFS: "use a writable folder (EMOTIONET_DATA_DIR for the library)",
    errno.EACCES: "check the folder's permissions (EMOTIONET_DATA_DIR for the library)",
    errno.EPERM: "check the folder's permissions (EMOTIONET_DATA_DIR for the library)",
    errno.EIO: "check the disk",
}

# the package's own one-line errors, checked only where their module is loaded (a one-file
# `analyze` loads neither SQLAlchemy nor the team layer)
ONE_LINE = (
    ("emotionet.models.checkpoints", "CheckpointError"),
    ("emotionet.team.adapt", "AdaptError"),
    ("emotionet.team.labelling", "LabellingError"),
    ("emotionet.scale.engine", "EngineError"),
    ("emotionet.library.audio_features", "MissingDependency"),
)


def message(error: BaseException) -> str | None:
    """The one line for an expected failure (without "error: "), else None."""
    from ..library.paths import shown_path

    database = sys.modules.get("emotionet.io.database")
    if database and isinstance(error, database.DatabaseFileError):
        return shown_path(str(error))
    exc = sys.modules.get("sqlalchemy.exc")
    if exc and isinstance(error, exc.DBAPIError):
        return _database_failed(error)
    if isinstance(error, OSError):
        hint = ENVIRONMENT_ERRNOS.get(error.errno)
        if error.errno and error.strerror and error.filename and not str(error).startswith("Could not"):
            text = f"{error.strerror}: {shown_path(error.filename)}"
        else:
            text = shown_path(str(error.strerror if error.errno and error.strerror else error))
        return f"{text} ({hint})" if hint else text
    for module, name in ONE_LINE:
        kind = getattr(sys.modules.get(module), name, None)
        if kind is not None and isinstance(error, kind):
            return str(error)
    return None


def _database_failed(error) -> str:
    from sqlalchemy.engine import make_url

    from ..io.database import database_url

    reason = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
    where = make_url(database_url()).render_as_string(hide_password=True)
    hint = (
        "it is damaged: move it aside (the next run starts an empty library) or restore a backup"
        if "malformed" in reason or "not a database" in reason
        else "free some space"
        if "full" in reason
        else "the data folder is read-only: use a writable one (EMOTIONET_DATA_DIR)"
        if "readonly" in reason or "read-only" in reason
        else "is the database server running and EMOTIONET_DB_URL right?"
        if "connect" in reason.lower()
        else "check the database"
    )
    return f"the library's database ({where}) failed: {reason} ({hint})"


def say(text: str) -> None:
    print(f"error: {text}", file=sys.stderr, flush=True)
