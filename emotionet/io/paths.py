"""Where the project's own files live: the data folder (EMOTIONET_DATA_DIR, else data/ in the
project folder) holds the team's database, its audio, and adapted model folders."""

from __future__ import annotations

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """EMOTIONET_DATA_DIR, else data/ in the project folder."""
    return Path(os.environ.get("EMOTIONET_DATA_DIR") or REPO_DIR / "data")
