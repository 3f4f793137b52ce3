"""`scan --engine ray` (issue 13): the Ray Data pipeline gives the local scan's results, song for song.

One local Ray instance (2 CPUs, a small object store) serves the whole module: its start-up
dominates the time. The songs are synthesised; the models are the shipped ones, pretrained
model included, so the comparison covers every network the app runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers_labelling import database_url
from helpers_playlists import write_song

from emotionet import cli
from emotionet.library import songs as library
from emotionet.library.songs import LibraryFailure, LibrarySong
from emotionet.predict import Predictor
from emotionet.team import storage

ray = pytest.importorskip("ray", reason="ray is not installed (pip install -r requirements-scale.txt)")
import pyarrow.parquet as pq  # noqa: E402  (ray[data] brings pyarrow)

from emotionet.scale import ray_engine  # noqa: E402
from emotionet.scale.parquet import write_parquet  # noqa: E402

SONGS = 5


@pytest.fixture(scope="module")
def ray_instance():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    started_here = not ray.is_initialized()
    ray_engine.init_ray(num_cpus=2, object_store_mb=200)
    yield ray
    if started_here:
        ray.shutdown()


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    """Five short songs (WAV and FLAC, one tagged, one in a subfolder) and two bad files."""
    folder = tmp_path_factory.mktemp("music")
    write_song(folder / "bright_0.wav", "bright", 6, seed=0)
    write_song(folder / "dark_0.wav", "dark", 7, seed=0)
    write_song(folder / "sunny.flac", "bright", 5, seed=3, title="Sunny Side", artist="The Sines")
    write_song(folder / "slow" / "dark_1.flac", "dark", 8, seed=1)
    write_song(folder / "slow" / "bright_1.wav", "bright", 5.5, seed=1)
    (folder / "broken.mp3").write_bytes(np.random.default_rng(0).bytes(6000))
    (folder / "empty.wav").write_bytes(b"")
    return folder


@pytest.fixture(params=["sqlite"])
def backend(request, tmp_path, monkeypatch):
    """A factory of fresh library databases. SQLite only: Ray's rows go through the library's own
    writes, which tests/test_library.py and test_hostile_library.py run on PostgreSQL too (issue 32:
    PostgreSQL for the storage tests)."""
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    made = []

    def make(name: str):
        folder = tmp_path / name
        folder.mkdir()
        url, cleanup = database_url(request.param, folder)
        engine = storage.make_engine(url)
        made.append((engine, cleanup))
        return engine

    yield make
    for engine, cleanup in made:
        engine.dispose()
        cleanup()


def assert_same_songs(ray_songs, local_songs):
    assert [s.hash for s in ray_songs] == [s.hash for s in local_songs]
    for r, loc in zip(ray_songs, local_songs):
        assert (r.title, r.artist, r.path, r.filename) == (loc.title, loc.artist, loc.path, loc.filename)
        assert r.duration_s == pytest.approx(loc.duration_s)
        ra, la = r.extra["analysis"], loc.extra["analysis"]
        models = [k for k, v in la.items() if isinstance(v, dict) and "valence" in v and k != "song"]
        assert set(models) == {"cnn", "svr", "svr_all", "pretrained"}  # every model, the pretrained one too
        for model in models:
            assert ra[model]["mood"] == la[model]["mood"], (r.filename, model)
            for key in ("valence", "arousal", "confidence"):
                assert ra[model][key] == pytest.approx(la[model][key], abs=2e-3), (r.filename, model, key)
        assert [w["start_s"] for w in ra["timeline"]] == [w["start_s"] for w in la["timeline"]]
        assert [w["cnn"]["mood"] for w in ra["timeline"]] == [w["cnn"]["mood"] for w in la["timeline"]]
        assert [(s["start_s"], s["mood"]) for s in ra["sections"]] == [
            (s["start_s"], s["mood"]) for s in la["sections"]
        ]


def test_ray_scan_equals_the_local_scan_and_a_second_run_skips_everything(
    ray_instance, music, backend, shipped_checkpoints, monkeypatch, tmp_path
):
    local = library.scan_folder(music, backend("local"), checkpoints=shipped_checkpoints, workers=1)
    engine = backend("ray")
    first = ray_engine.scan_folder_ray(music, engine, checkpoints=shipped_checkpoints, device="cpu", batch_size=2)

    assert (first.added, first.known) == (local.added, local.known) == (SONGS, 0)
    assert_same_songs(first.songs, local.songs)
    assert {s.title for s in first.songs} >= {"Sunny Side", "bright_0", "dark_1"}
    broken, empty = str((music / "broken.mp3").resolve()), str((music / "empty.wav").resolve())
    assert set(first.failed) == set(local.failed) == {broken, empty}
    assert "broken.mp3" in first.failed[broken] and "not audio" in first.failed[broken]
    assert "empty" in first.failed[empty]
    with storage_session(engine) as session:  # bad files are remembered with their error
        errors = {f.filename: f.error for f in session.query(LibraryFailure)}
        assert errors == {"broken.mp3": first.failed[broken], "empty.wav": first.failed[empty]}
        assert session.query(LibrarySong).count() == SONGS

    out = tmp_path / "songs.parquet"
    assert write_parquet(out, [s.hash for s in first.songs], engine, shipped_checkpoints) == SONGS
    table = pq.read_table(out).to_pylist()
    assert [row["hash"] for row in table] == [s.hash for s in local.songs]
    for row, song in zip(table, local.songs):
        assert row["path"] == song.path and row["title"] == song.title and row["models_fingerprint"]
        for model in ("cnn", "svr", "svr_all", "pretrained"):
            assert row[f"{model}_mood"] == song.extra["analysis"][model]["mood"]
            assert row[f"{model}_valence"] == pytest.approx(song.extra["analysis"][model]["valence"], abs=2e-3)

    # a second run: nothing is analysed, and with every file unchanged Ray is not even started
    real_run = ray_engine._run
    monkeypatch.setattr(ray_engine, "_run", lambda *a, **k: pytest.fail("the pipeline ran on a known folder"))
    second = ray_engine.scan_folder_ray(music, engine, checkpoints=shipped_checkpoints, device="cpu")
    assert (second.added, second.known) == (0, SONGS)
    assert set(second.failed) == {broken, empty} and all("failed before" in e for e in second.failed.values())
    assert_same_songs(second.songs, local.songs)

    # touched and copied files must be read and hashed again (on Ray), but are not analysed again
    monkeypatch.setattr(ray_engine, "_run", real_run)
    with storage_session(engine) as session:
        added_at = {s.hash: s.added_at for s in session.query(LibrarySong)}
    touched = music / "dark_0.wav"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    copy = music / "slow" / "copy of bright_0.wav"
    copy.write_bytes((music / "bright_0.wav").read_bytes())
    try:
        third = ray_engine.scan_folder_ray(music, engine, checkpoints=shipped_checkpoints, device="auto", actors=1)
    finally:
        copy.unlink()
    assert (third.added, third.known) == (0, SONGS) and set(third.failed) == {broken, empty}
    assert [s.hash for s in third.songs] == [s.hash for s in local.songs]
    with storage_session(engine) as session:
        assert {s.hash: s.added_at for s in session.query(LibrarySong)} == added_at  # nothing rewritten


def test_a_killed_run_keeps_what_it_wrote_and_the_next_run_does_the_rest(
    ray_instance, music, tmp_path, shipped_checkpoints, monkeypatch
):
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'library.db'}")
    real_write, written = ray_engine._write, []

    def write_then_die(engine, row, *args):
        real_write(engine, row, *args)
        written.append(row["path"])
        if len(written) == 2:
            raise KeyboardInterrupt  # Ctrl-C (or a kill) in the middle of the run

    monkeypatch.setattr(ray_engine, "_write", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        ray_engine.scan_folder_ray(music, engine, checkpoints=shipped_checkpoints, device="cpu", batch_size=1, actors=1)
    monkeypatch.setattr(ray_engine, "_write", real_write)
    with storage_session(engine) as session:
        songs_kept = session.query(LibrarySong).count()
        assert songs_kept + session.query(LibraryFailure).count() == 2  # what was written before the kill stays

    resumed = ray_engine.scan_folder_ray(music, engine, checkpoints=shipped_checkpoints, device="cpu", actors=1)
    assert (resumed.added, resumed.known) == (SONGS - songs_kept, songs_kept)  # only the rest is analysed
    assert len(resumed.songs) == SONGS and len(resumed.failed) == 2


def test_cli_scan_with_the_ray_engine_writes_the_library_and_parquet(
    ray_instance, music, tmp_path, monkeypatch, shipped_checkpoints, capsys
):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "out" / "songs.parquet"
    argv = [
        "scan",
        str(music),
        "--engine",
        "ray",
        "--device",
        "cpu",
        "--checkpoints",
        str(shipped_checkpoints),
        "--parquet",
        str(out),
        "--json",
    ]
    assert cli.main(argv) == 1  # the bad files were skipped
    summary = json.loads(capsys.readouterr().out)
    assert (summary["songs"], summary["added"], summary["known"], len(summary["failed"])) == (SONGS, SONGS, 0, 2)
    assert pq.read_table(out).num_rows == SONGS and not list(out.parent.glob(".*.tmp"))
    assert cli.main(argv) == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["added"], summary["known"]) == (0, SONGS)
    # the local engine writes the same Parquet from the same library
    local_out = tmp_path / "local.parquet"
    local_argv = ["scan", str(music), "--checkpoints", str(shipped_checkpoints), "--parquet", str(local_out), "--json"]
    assert cli.main(local_argv) == 1
    assert json.loads(capsys.readouterr().out)["known"] == SONGS
    assert pq.read_table(local_out).equals(pq.read_table(out))


def test_devices(ray_instance, shipped_checkpoints):
    """auto is the CPU on a cluster without GPUs; cuda there is a clear error, not a hang."""
    device, count, resources = ray_engine.actor_options(ray_instance, "auto")
    assert (device, count, resources) == ("cpu", 2, {"num_cpus": 1})
    assert ray_engine.actor_options(ray_instance, "cpu", actors=1)[1] == 1
    assert ray_engine.actor_options(ray_instance, "cpu", actors=8)[1] == 2  # no more than the cores
    with pytest.raises(RuntimeError, match="no GPU"):
        ray_engine.actor_options(ray_instance, "cuda")
    predictor = Predictor.load(shipped_checkpoints, pretrained=False, device="cpu")
    assert predictor.device.type == "cpu"


def test_local_only_options_are_refused_without_the_ray_engine(music, capsys):
    assert cli.main(["scan", str(music), "--device", "cuda"]) == 2  # a command line that does not fit
    assert capsys.readouterr().err.strip() == "error: --address and --device are options of --engine ray"


def storage_session(engine):
    from sqlalchemy.orm import Session

    return Session(engine)
