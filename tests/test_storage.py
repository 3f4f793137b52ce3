"""The shared database: many processes opening a new one at the same moment all succeed."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from helpers_labelling import BACKENDS, database_url
from sqlalchemy import create_engine, inspect

PROCESSES = 8
ROUNDS = 3  # the race lost in 3 of 4 runs on SQLite and 1 of 3 on PostgreSQL before the fix


def _open(url, barrier, errors):
    from emotionet.team import storage

    try:
        barrier.wait(timeout=60)
        storage.make_engine(url).dispose()
    except Exception as error:  # reported to the parent, which fails the test with it
        errors.put(f"{type(error).__name__}: {error}"[:500])


@pytest.mark.parametrize("backend", BACKENDS)
def test_eight_processes_creating_a_new_database_at_once_all_succeed(backend, tmp_path):
    from emotionet.team import storage

    storage._import_tables()  # imported once here, so the forked processes race on the database only
    ctx = mp.get_context("fork")
    for round_ in range(ROUNDS):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        url, cleanup = database_url(backend, folder)  # a new, empty database (a new schema on PostgreSQL)
        try:
            barrier, errors = ctx.Barrier(PROCESSES), ctx.Queue()
            workers = [ctx.Process(target=_open, args=(url, barrier, errors)) for _ in range(PROCESSES)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(120)
            problems = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
            assert problems == [] and all(w.exitcode == 0 for w in workers), problems
            engine = create_engine(url)
            assert {"label_tracks", "label_ratings", "library_songs"} <= set(inspect(engine).get_table_names())
            engine.dispose()
        finally:
            cleanup()
