"""The song library stays consistent: changed files, --force, crashes, odd names, hostile tags.

Every test runs on SQLite and, when EMOTIONET_TEST_PG_URL is set, PostgreSQL.
"""

from __future__ import annotations

import json
import os

from helpers_library import bundle, engine  # noqa: F401 (fixtures)
from helpers_playlists import write_song
from sqlalchemy import select
from sqlalchemy.orm import Session

from emotionet.library import songs as library
from emotionet.models import checkpoints
from emotionet.predict import Predictor


def rows(engine):
    with Session(engine) as session:
        return [
            (r.path, r.hash) for r in session.scalars(select(library.LibrarySong).order_by(library.LibrarySong.path))
        ]


def failures(engine):
    with Session(engine) as session:
        return list(session.scalars(select(library.LibraryFailure.hash)))


def test_a_song_saved_over_another_replaces_its_analysis(tmp_path, engine, bundle):
    path = write_song(tmp_path / "music" / "song.wav", "bright", 4)
    library.scan_folder(tmp_path / "music", engine, checkpoints=bundle, workers=1)
    write_song(path, "dark", 5, seed=3)  # another song under the same name
    result = library.scan_folder(tmp_path / "music", engine, checkpoints=bundle, workers=1)
    assert rows(engine) == [(str(path.resolve()), library.file_hash(path))]
    assert [s.hash for s in result.songs] == [library.file_hash(path)]


def test_force_reads_the_file_again_even_when_size_and_time_are_unchanged(tmp_path, engine, bundle):
    path = write_song(tmp_path / "song.wav", "bright", 4)
    library.scan_files([path], engine, checkpoints=bundle, workers=1)
    stat = path.stat()
    write_song(path, "dark", 4, seed=5)  # same length, so the same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    result = library.scan_files([path], engine, checkpoints=bundle, workers=1, force=True)
    assert result.added == 1 and [s.hash for s in result.songs] == [library.file_hash(path)]
    assert rows(engine) == [(str(path.resolve()), library.file_hash(path))]


def test_only_unusable_audio_is_remembered_as_failed(tmp_path, engine, bundle, monkeypatch):
    good = write_song(tmp_path / "good.wav", "bright", 3)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio" * 50)

    def crash(self, source, **kwargs):
        raise RuntimeError("something unrelated to the audio broke")

    with monkeypatch.context() as mp:
        mp.setattr(Predictor, "analyze", crash)
        first = library.scan_files([good], engine, checkpoints=bundle, workers=1)
    assert "RuntimeError" in first.failed[str(good.resolve())] and failures(engine) == []
    again = library.scan_files([good, bad], engine, checkpoints=bundle, workers=1)
    assert again.added == 1  # tried again, and it works now
    assert failures(engine) == [library.file_hash(bad)]  # the damaged file is remembered
    third = library.scan_files([bad], engine, checkpoints=bundle, workers=1)
    assert "failed before" in third.failed[str(bad.resolve())]


def test_a_killed_worker_costs_its_files_and_the_scan_goes_on(tmp_path, engine, bundle, monkeypatch, capsys):
    music = tmp_path / "music"
    for i in range(5):
        write_song(music / f"song_{i}.wav", "bright" if i % 2 else "dark", 3, seed=i)
    write_song(music / "crash.wav", "dark", 3, seed=9)
    real = Predictor.analyze

    def dies_on_crash(self, source, **kwargs):
        if "crash" in str(source):
            os._exit(1)  # as if the kernel killed the worker
        return real(self, source, **kwargs)

    monkeypatch.setattr(Predictor, "analyze", dies_on_crash)  # the pool forks after this: workers see it
    result = library.scan_folder(music, engine, checkpoints=bundle, workers=2)
    crashed = str((music / "crash.wav").resolve())
    assert crashed in result.failed and "worker process" in result.failed[crashed]
    assert result.added + len(result.failed) == 6 and result.added >= 2  # at most the in-flight files are lost
    assert failures(engine) == []  # a lost worker is not the audio's fault: a rescan tries again
    monkeypatch.setattr(Predictor, "analyze", real)
    again = library.scan_folder(music, engine, checkpoints=bundle, workers=2)
    assert len(again.songs) == 6 and not again.failed


def test_the_scan_command_prints_its_summary_after_a_lost_worker(tmp_path, bundle, monkeypatch, capsys):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    music = tmp_path / "music"
    for i in range(3):
        write_song(music / f"song_{i}.wav", "bright", 3, seed=i)
    write_song(music / "crash.wav", "dark", 3)
    real = Predictor.analyze
    monkeypatch.setattr(
        Predictor,
        "analyze",
        lambda self, source, **kw: os._exit(1) if "crash" in str(source) else real(self, source, **kw),
    )
    from emotionet.cli import main

    assert main(["scan", str(music), "--checkpoints", str(bundle), "--workers", "2", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["songs"] + len(summary["failed"]) == 4 and any("crash.wav" in p for p in summary["failed"])


def test_names_that_are_not_audio_files_are_reported_not_skipped_silently(tmp_path, engine, bundle):
    music = tmp_path / "music"
    write_song(music / "real.wav", "bright", 3)
    (music / "album.mp3").mkdir()
    (music / "loop.mp3").symlink_to(music / "loop.mp3")
    (music / "gone.flac").symlink_to(tmp_path / "deleted.flac")
    result = library.scan_folder(music, engine, checkpoints=bundle, workers=1)
    assert len(result.songs) == 1
    why = {os.path.basename(p): message for p, message in result.failed.items()}
    assert "folder" in why["album.mp3"] and "loop" in why["loop.mp3"] and "does not exist" in why["gone.flac"]
    given = library.scan_files([music / "loop.mp3", music / "album.mp3"], engine, checkpoints=bundle, workers=1)
    assert len(given.failed) == 2 and "loop" in given.failed[str(music / "loop.mp3")]


def test_nul_and_control_characters_in_tags_are_stored_clean(tmp_path, engine, bundle):
    path = write_song(tmp_path / "tagged.flac", "bright", 3, title="Sun\x00ny\x1b", artist="The\x00 Sines")
    [song] = library.scan_files([path], engine, checkpoints=bundle, workers=1).songs
    assert (song.title, song.artist) == ("Sunny", "The Sines")


def test_a_model_giving_nan_fails_the_files_instead_of_crashing_the_scan(tmp_path, engine, bundle):
    import shutil

    damaged = shutil.copytree(bundle, tmp_path / "damaged")
    config = json.loads((damaged / "config.json").read_text())
    config["calibration"]["cnn"]["pivot_valence"] = float("nan")  # outputs NaN (the files themselves are intact)
    config[checkpoints.SETTINGS_HASH] = checkpoints.settings_sha256(config)  # and someone re-hashed it
    (damaged / "config.json").write_text(json.dumps(config))
    song = write_song(tmp_path / "song.wav", "bright", 3)
    result = library.scan_files([song], engine, checkpoints=damaged, workers=1)
    assert "The cnn model" in result.failed[str(song.resolve())] and rows(engine) == [] and failures(engine) == []


def test_an_upload_name_with_nul_is_stored_clean_even_when_it_fails(tmp_path, engine, bundle):
    data = write_song(tmp_path / "x.wav", "bright", 3).read_bytes()
    result = library.add_uploads(
        [("My\x00 Song.wav", data), ("ba\x00d.ogg", b"nope" * 100)], engine, checkpoints=bundle, workers=1
    )
    assert [s.filename for s in result.songs] == ["My Song.wav"]
    [error] = result.failed.values()
    assert "\x00" not in error and "bad.ogg" in error


def test_the_song_summary_of_a_whole_song_analysis_is_not_offered_as_a_model():
    """Analysis.to_dict() carries "song" (the sections' duration-weighted point, with a valence):
    a playlist's model choice lists only the models."""
    from emotionet.library.playlists import Song

    point = {"valence": 0.6, "arousal": 0.4, "mood": "calm", "confidence": 0.5}
    analysis = {
        "cnn": point,
        "pretrained": point,
        "song": {**point, "model": "pretrained", "arc": "Calm throughout."},
        "sections": [{"start_s": 0.0, **point}],
    }
    songs = [Song("h", "t", "", "/x.wav", "x.wav", 60.0, 0.6, 0.4, "calm", 0.5, {"analysis": analysis})]
    assert library.model_names(songs) == ["cnn", "pretrained"]


def test_the_library_leads_with_the_bundles_headline_model(tmp_path, engine, bundle):
    """Rows, playlists and the model list follow the checkpoint's headline model, not a fixed one."""
    import shutil

    from emotionet.models.checkpoints import read_config

    headlined = tmp_path / "checkpoints"
    shutil.copytree(bundle, headlined)
    config = read_config(headlined)
    config["headline"] = "svr_all"  # a setting, re-hashed on purpose: the model files load unchanged
    config[checkpoints.SETTINGS_HASH] = checkpoints.settings_sha256(config)
    (headlined / "config.json").write_text(json.dumps(config))
    write_song(tmp_path / "music" / "a.wav", "bright", 4)
    write_song(tmp_path / "music" / "b.wav", "dark", 4, seed=2)
    result = library.scan_folder(tmp_path / "music", engine, checkpoints=headlined, workers=1)
    for song in library.load_songs(engine):
        stored = song.extra["analysis"]
        assert stored["headline"] == "svr_all"
        assert song.mood == stored["svr_all"]["mood"] and abs(song.valence - stored["svr_all"]["valence"]) < 1e-4
        cnn = library.with_model(song, "cnn")
        assert (cnn.valence, cnn.mood) == (stored["cnn"]["valence"], stored["cnn"]["mood"])
    assert library.model_names(result.songs)[0] == "svr_all"
