"""The model folder's commands: `accept` (which folder the app and the CLI use) and
`rehash-checkpoints` (record the hashes after changing a model file or setting on purpose).

    python -m emotionet accept data/checkpoints/adapted-...     # use an adapted model folder
    python -m emotionet accept --shipped                        # back to the shipped models
    python -m emotionet rehash-checkpoints [--checkpoints DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from .options import CHECKPOINTS, add_command


def register(subparsers) -> None:
    accept = add_command(subparsers, "accept", cmd_accept, "choose the model folder the app and the CLI use")
    which = accept.add_mutually_exclusive_group(required=True)
    which.add_argument("folder", nargs="?", type=Path, help="an adapted model folder")
    which.add_argument("--shipped", action="store_true", help="go back to the shipped models")
    add_command(
        subparsers,
        "rehash-checkpoints",
        cmd_rehash,
        "record the SHA-256 of every model file and of the settings in config.json (after changing one on purpose)",
        [CHECKPOINTS],
    )


def cmd_accept(args) -> int:
    """A folder that is not a checkpoint folder is one line (CheckpointError, FileNotFoundError: errors.py)."""
    from ..models.checkpoints import accept

    accept(None if args.shipped else args.folder, "python -m emotionet accept")
    print("using the shipped models" if args.shipped else f"using {args.folder}")
    return 0


def cmd_rehash(args) -> int:
    from ..models.checkpoints import checkpoint_dir, record_hashes

    directory = args.checkpoints or checkpoint_dir()
    for name, digest in record_hashes(directory).items():
        print(f"{digest}  {name}")
    print(f"recorded in {Path(directory) / 'config.json'}", file=sys.stderr)
    return 0
