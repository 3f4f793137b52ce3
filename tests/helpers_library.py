"""Fixtures shared by the library tests (test_library, test_playlists): a tiny real model bundle,
and a fresh library database on SQLite and, when EMOTIONET_TEST_PG_URL is set, PostgreSQL."""

from __future__ import annotations

import pytest
from helpers_labelling import BACKENDS, database_url
from helpers_playlists import make_tiny_bundle

from emotionet.team import storage


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return make_tiny_bundle(tmp_path_factory.mktemp("checkpoints"))


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    url, cleanup = database_url(request.param, tmp_path)
    engine = storage.make_engine(url)
    yield engine
    engine.dispose()
    cleanup()
