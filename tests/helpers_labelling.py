"""Shared by the labelling tests: synthetic audio and a fresh database on either backend.

The PostgreSQL variant needs EMOTIONET_TEST_PG_URL (e.g. from `ci/postgres.sh start`); each test
gets its own schema there, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import io
import os
import uuid

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import create_engine, text

PG_ENV = "EMOTIONET_TEST_PG_URL"
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set (start a server with ci/postgres.sh start)"
        ),
    ),
]


def tone(frequency: float = 440.0, seconds: float = 3.0, sr: int = 22050) -> bytes:
    """A WAV file of a sine tone with a little noise (distinct frequencies give distinct files)."""
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(int(frequency))
    y = 0.3 * np.sin(2 * np.pi * frequency * t) + 0.01 * rng.standard_normal(t.size)
    buffer = io.BytesIO()
    sf.write(buffer, y.astype(np.float32), sr, format="WAV")
    return buffer.getvalue()


def database_url(backend: str, tmp_path) -> tuple[str, callable]:
    """(URL of an empty database for `backend`, cleanup)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'emotionet.db'}", lambda: None
    base = os.environ[PG_ENV]
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", drop


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    """An engine on an empty database, once per backend (import it into a test module to use it)."""
    from emotionet.team.storage import make_engine

    url, cleanup = database_url(request.param, tmp_path)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    cleanup()
