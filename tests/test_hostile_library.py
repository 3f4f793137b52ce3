"""Hostile cases for the song library, its playlists and its command line (issue 26).

Odd bytes in file names, names that try to become playlist locations, a scan that holds the
database while it reads, rows left by a model that was missing, a full disk, a read-only data
folder, a database that is down, and nonsense numbers on the command line. Library tests run on
SQLite and, when EMOTIONET_TEST_PG_URL is set, PostgreSQL.

Cases that held before issue 26 and are covered elsewhere: a killed scan worker
(test_library.py::test_a_killed_worker_costs_its_files_and_the_scan_goes_on), CSV formula
escaping (test_playlists.py::test_playlist_csv_cells_are_never_formulas), NUL bytes in tags and
upload names (test_library.py::test_nul_and_control_characters_in_tags_are_stored_clean,
::test_an_upload_name_with_nul_is_stored_clean_even_when_it_fails).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from helpers_library import bundle, engine  # noqa: F401 (fixtures)
from helpers_playlists import write_song
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from emotionet.cli import main
from emotionet.library import playlists
from emotionet.library import scan, store
from emotionet.library import songs as library
from emotionet.team import storage

REPO = Path(__file__).resolve().parent.parent


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def resolve(location: str, folder: Path) -> Path:
    """Where an M3U8 location points, as mpv reads it: a percent-encoded file:// URI, else a plain
    path (relative to the playlist's folder unless absolute; never percent-decoded)."""
    if location.startswith("file://"):
        return Path(os.fsdecode(unquote_to_bytes(location.removeprefix("file://"))))
    return folder / location


def entries(text: str) -> list[tuple[str, str]]:
    """(#EXTINF line, location) pairs; fails unless the playlist is #EXTM3U then exactly two lines per entry."""
    lines = text.split("\n")
    assert lines[0] == "#EXTM3U" and lines[-1] == "" and len(lines) % 2 == 0, lines
    pairs = list(zip(lines[1:-1:2], lines[2:-1:2]))
    for extinf, location in pairs:
        assert extinf.startswith("#EXTINF:") and not location.startswith("#"), (extinf, location)
    return pairs


# --- 1. a file name that is not UTF-8 ----------------------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_stored_with_the_other_sixteen(tmp_path, engine, bundle):
    music = tmp_path / "music"
    for i in range(16):
        write_song(music / f"song_{i:02d}.wav", "bright" if i % 2 else "dark", 2, seed=i)
    odd = os.path.join(os.fsencode(music), b"caf\xe9 \xff.wav")  # Latin-1 bytes: not UTF-8
    os.rename(write_song(music / "odd.wav", "dark", 2, seed=99), odd)

    result = library.scan_folder(music, engine, checkpoints=bundle, workers=1)
    assert result.failed == {} and result.added == 17 and len(result.songs) == 17
    [stored] = [s for s in library.load_songs(engine) if s.filename.startswith("caf")]
    assert os.fsencode(stored.path) == odd  # the very bytes: the path still opens the file
    assert stored.filename == "caf\ufffd \ufffd.wav" and stored.title == "caf\ufffd \ufffd"  # shown, never raw bytes
    again = library.scan_folder(music, engine, checkpoints=bundle, workers=1)
    assert (again.added, again.known, again.failed) == (0, 17, {})  # recognised by its path, not read again


def test_the_cli_prints_and_exports_a_name_that_is_not_utf8(tmp_path, bundle, monkeypatch, capsys):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EMOTIONET_DB_URL", raising=False)
    music = tmp_path / "music"
    write_song(music / "plain.wav", "bright", 2)
    odd = os.path.join(os.fsencode(music), b"\xff\xfe.wav")
    os.rename(write_song(music / "x.wav", "dark", 2, seed=3), odd)
    with open(os.path.join(os.fsencode(music), b"broken\xff.mp3"), "wb") as broken:
        broken.write(b"not audio" * 40)
    common = ["--checkpoints", str(bundle), "--workers", "1"]
    assert main(["scan", str(music), *common, "--json"]) == 1  # only the broken file is skipped
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert summary["songs"] == 2 and list(summary["failed"]) == [str(music.resolve() / "broken\\xff.mp3")]
    assert "broken\\xff.mp3: skipped:" in out.err
    playlist = tmp_path / "all.m3u8"
    assert main(["playlist", str(music), *common, "--near", "0.5,0.5", "-o", str(playlist)]) == 0
    text = playlist.read_text(encoding="utf-8")
    assert {os.fsencode(resolve(location, tmp_path)) for _, location in entries(text)} == {
        os.fsencode(music / "plain.wav"),
        odd,
    }


# --- 3. playlists point at the library's own files ---------------------------------------------------

HOSTILE_UPLOADS = [
    "http://127.0.0.1:8799/evil-stream.mp3",
    "/etc/cron.d/evil.mp3",
    "../..",
    "#EXTINF:0,injected.mp3",
    "two\nlines.wav",
    "tab\there.wav",
    "bidi\u202egnp.wav",
]
HOSTILE_FILES = ["#EXTINF:0,injected.wav", "new\nline.wav", "tab\tname.wav", "bidi\u202e3pm.wav", "50%25 off.wav"]


def test_playlist_locations_are_the_librarys_own_files_never_the_names_given(tmp_path, engine, bundle):
    from emotionet.library.paths import shown_name

    uploads = [
        (name, write_song(tmp_path / f"u{i}.wav", "bright", 2, seed=i).read_bytes())
        for i, name in enumerate(HOSTILE_UPLOADS)
    ]
    uploaded = library.add_uploads(uploads, engine, checkpoints=bundle, workers=1).songs
    files = [write_song(tmp_path / "music" / name, "dark", 2, seed=20 + i) for i, name in enumerate(HOSTILE_FILES)]
    library.scan_files(files, engine, checkpoints=bundle, workers=1)
    songs = library.load_songs(engine)
    assert len(songs) == len(HOSTILE_UPLOADS) + len(HOSTILE_FILES)

    out = tmp_path / "lists"
    out.mkdir()
    for text, folder_of in (
        (playlists.to_m3u8(songs, use_paths=False), lambda s: Path(s.path).parent),  # the page's default
        (playlists.to_m3u8(songs), lambda s: None),
        (playlists.to_m3u8(songs, relative_to=out), lambda s: out),
    ):
        pairs = entries(text)
        assert len(pairs) == len(songs)  # nothing became a comment, nothing added an entry
        for song, (extinf, location) in zip(songs, pairs):
            assert "http" not in location and "/etc/cron.d" not in location and "\t" not in location
            target = resolve(location, folder_of(song) or Path("/"))
            assert target.is_file() and target.samefile(song.path), (location, song.path)
            assert extinf.endswith(shown_name(song.label)) and "\u202e" not in extinf
            assert location.isprintable()  # a name that could break or hide the line is a percent-encoded URI
    store = storage.AudioStore().root.resolve()
    assert len(uploaded) == len(HOSTILE_UPLOADS)
    assert all(Path(s.path).resolve().parent.parent == store for s in uploaded)  # the store's own copies


# --- 4 (held): upload names never become paths ------------------------------------------------------


def test_upload_names_never_become_paths_in_the_store(tmp_path, engine, bundle):
    data = write_song(tmp_path / "x.wav", "bright", 2).read_bytes()
    names = ["../../../escaped.wav", "/tmp/absolute.wav", "..\\..\\windows.wav"]
    result = library.add_uploads([(n, data) for n in names], engine, checkpoints=bundle, workers=1)
    [song] = result.songs
    root = storage.AudioStore().root.resolve()
    assert Path(song.path).resolve() == root / song.hash[:2] / f"{song.hash}.wav"
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == [f"{song.hash}.wav"]
    assert not (tmp_path / "escaped.wav").exists() and not Path("/tmp/absolute.wav").exists()


# --- 5. hashing holds no write lock -------------------------------------------------------------------


def test_a_scan_reading_files_leaves_the_database_free_for_others_to_write(tmp_path, bundle, monkeypatch):
    db = tmp_path / "emotionet.db"
    engine = storage.make_engine(f"sqlite:///{db}")
    files = [write_song(tmp_path / f"song_{i}.wav", "bright", 2, seed=i) for i in range(4)]
    real, writes = scan.file_hash, []

    def hash_while_another_rater_saves(path, *args):
        other = sqlite3.connect(db, timeout=0.2)  # a rating save waits 0.2 s at most here
        try:
            with other:
                other.execute(
                    "INSERT INTO library_failures (hash, filename, error, models, at) VALUES (?, 'x', 'x', 'x', '')",
                    (f"{len(writes):064d}",),
                )
            writes.append("saved")
        except sqlite3.OperationalError as error:
            writes.append(str(error))
        finally:
            other.close()
        return real(path, *args)

    monkeypatch.setattr(scan, "file_hash", hash_while_another_rater_saves)
    result = library.scan_files(files, engine, checkpoints=bundle, workers=1)
    assert result.added == 4 and writes == ["saved"] * 4


# --- 7. a row records the models that answered --------------------------------------------------------


def test_a_song_analysed_while_musicnn_was_missing_is_analysed_again_when_it_is_back(
    tmp_path, engine, shipped_checkpoints, monkeypatch
):
    from emotionet.models import pretrained

    song = write_song(tmp_path / "song.wav", "bright", 4)
    with monkeypatch.context() as patch:

        def missing(*args, **kwargs):
            raise ModuleNotFoundError("No module named 'musicnn'")

        patch.setattr(pretrained, "load_backbones", missing)
        first = library.scan_files([song], engine, checkpoints=shipped_checkpoints, workers=1)
    assert first.added == 1 and "pretrained" not in first.songs[0].extra["analysis"]
    assert first.songs[0].extra["analysis"]["headline"] == "cnn"

    back = library.scan_files([song], engine, checkpoints=shipped_checkpoints, workers=1)
    assert (back.added, back.known) == (1, 0)  # analysed again, now with every model
    stored = back.songs[0].extra["analysis"]
    assert "pretrained" in stored and stored["headline"] == "pretrained"
    assert library.scan_files([song], engine, checkpoints=shipped_checkpoints, workers=1).known == 1


def test_an_analysis_that_missed_a_model_is_stored_as_such(tmp_path, engine, bundle, monkeypatch):
    """The scanning process expects a model that the analysing one lacked: the row says what answered."""
    song = write_song(tmp_path / "song.wav", "dark", 3)
    expected = (*library.available_models(bundle), "pretrained")
    monkeypatch.setattr(store, "available_models", lambda checkpoints=None: expected)
    assert library.scan_files([song], engine, checkpoints=bundle, workers=1).added == 1
    assert library.scan_files([song], engine, checkpoints=bundle, workers=1).added == 1  # not "known"


# --- 10. full disk, read-only folder, database down ---------------------------------------------------


@pytest.fixture
def music(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EMOTIONET_DB_URL", raising=False)
    folder = tmp_path / "music"
    for i in range(2):
        write_song(folder / f"song_{i}.wav", "bright", 2, seed=i)
    return folder


def test_a_full_disk_ends_a_scan_with_one_error_line(music, bundle, capsys):
    storage.make_engine().dispose()  # the tables exist; then the disk fills up

    def disk_full(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise sqlite3.OperationalError("database or disk is full")

    event.listen(Engine, "before_cursor_execute", disk_full)
    try:
        code = main(["scan", str(music), "--checkpoints", str(bundle), "--workers", "1"])
    finally:
        event.remove(Engine, "before_cursor_execute", disk_full)
    [line] = error_lines(capsys.readouterr().err)
    assert code == 1 and line.startswith("error: ") and "disk is full" in line and "free some space" in line


def test_a_playlist_written_to_a_full_disk_is_one_error_line(music, bundle, capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    main(["scan", str(music), "--checkpoints", str(bundle), "--workers", "1"])
    capsys.readouterr()
    code = main(["playlist", str(music), "--checkpoints", str(bundle), "--mood", "sad", "-o", "/dev/full"])
    [line] = error_lines(capsys.readouterr().err)
    assert (
        code == 1
        and line.startswith("error: Could not write /dev/full: the disk is full")
        and "free some space" in line
    )


def _can_unshare() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def run_cli(args: list[str], env: dict, setup: str = "") -> subprocess.CompletedProcess:
    """`python -m emotionet ARGS`, after the shell commands `setup` in a private mount namespace when given."""
    command = [sys.executable, "-m", "emotionet", *args]
    if setup:
        command = ["unshare", "-rm", "sh", "-c", f'{setup} && exec "$@"', "sh", *command]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(not _can_unshare(), reason="needs `unshare -rm` (a user and mount namespace) to mount a tiny disk")
def test_a_scan_onto_a_really_full_disk_is_one_error_line(tmp_path, music, bundle):
    data = tmp_path / "data"
    data.mkdir()
    env = {**os.environ, "EMOTIONET_DATA_DIR": str(data)}
    done = run_cli(
        ["scan", str(music), "--checkpoints", str(bundle), "--workers", "1"],
        env,
        setup=f"mount -t tmpfs -o size=24k tmpfs {data}",
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    [line] = error_lines(done.stderr)
    assert line.startswith("error: ") and "full" in line


@pytest.mark.skipif(
    not _can_unshare() and os.geteuid() == 0,
    reason="a read-only folder needs `unshare -rm` (a read-only bind mount) or a user that chmod binds",
)
def test_a_library_in_a_read_only_data_folder_can_be_read_and_a_scan_says_why_not_in_one_line(tmp_path, music, bundle):
    data = tmp_path / "data"
    env = {**os.environ, "EMOTIONET_DATA_DIR": str(data)}
    env.pop("EMOTIONET_DB_URL", None)
    common = ["--checkpoints", str(bundle), "--workers", "1"]
    assert run_cli(["scan", str(music), *common], env).returncode == 0
    for leftover in data.glob("emotionet.db*"):  # as after a clean shutdown: no -wal or -shm to write to
        if leftover.name != "emotionet.db":
            leftover.unlink()
    if _can_unshare():
        setup = f"mount --bind {data} {data} && mount -o remount,bind,ro {data}"
    else:
        data.chmod(0o555)
        setup = ""
    try:
        listed = run_cli(["playlist", str(music), *common, "--near", "0.5,0.5"], env, setup)
        assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
        assert len(entries(listed.stdout)) == 2
        write_song(music / "new.wav", "dark", 2, seed=7)
        refused = run_cli(["scan", str(music), *common], env, setup)
    finally:
        data.chmod(0o755)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    [line] = error_lines(refused.stderr)
    assert line.startswith("error: ") and "read" in line and "EMOTIONET_DATA_DIR" in line


def test_a_postgresql_server_that_is_down_is_one_error_line(music, bundle, monkeypatch, capsys):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("EMOTIONET_DB_URL", f"postgresql+psycopg://team:secret@127.0.0.1:{port}/emotionet")
    for argv in (["scan", str(music)], ["playlist", str(music), "--mood", "calm"]):
        code = main([*argv, "--checkpoints", str(bundle), "--workers", "1"])
        [line] = error_lines(capsys.readouterr().err)
        assert code == 1 and line.startswith("error: ") and "server running" in line and "secret" not in line


# --- 12. command-line numbers and names ---------------------------------------------------------------


def test_an_unknown_model_is_refused_with_the_models_there_are(music, bundle, capsys):
    code = main(["playlist", str(music), "--checkpoints", str(bundle), "--mood", "calm", "--model", "doesnotexist"])
    [line] = error_lines(capsys.readouterr().err)
    assert code == 2 and "doesnotexist" in line and "cnn, svr, svr_all" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["playlist", "M", "--mood", "calm", "--count", "-5"],
        ["playlist", "M", "--mood", "calm", "--count", "0"],
        ["playlist", "M", "--mood", "calm", "--minutes", "-1"],
        ["playlist", "M", "--mood", "calm", "--minutes", "nan"],
        ["playlist", "M", "--near", "calm", "--radius", "-0.2"],
        ["playlist", "M", "--mood", "calm", "--workers", "0"],
        ["scan", "M", "--workers", "-2"],
        ["scan", "M", "--batch-size", "0"],
        ["analyze", "song.wav", "--workers", "0"],
    ],
)
def test_numbers_that_are_not_positive_are_refused_as_the_arguments_are_read(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "positive" in err.splitlines()[-1]


# --- a scan killed and resumed (held) -----------------------------------------------------------------


SCAN_AND_DIE = """
import os, signal, sys
from emotionet.library import songs
from emotionet.team import storage

def progress(done, total, left, path):
    if done == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # as if the machine lost power mid-scan

songs.scan_folder(sys.argv[1], storage.make_engine(sys.argv[2]), checkpoints=sys.argv[3], workers=1, progress=progress)
"""


def test_a_scan_killed_midway_resumes_where_it_stopped(tmp_path, engine, bundle):
    music = tmp_path / "music"
    for i in range(5):
        write_song(music / f"song_{i}.wav", "dark", 2, seed=i)
    url = engine.url.render_as_string(hide_password=False)
    killed = subprocess.run(
        [sys.executable, "-c", SCAN_AND_DIE, str(music), url, str(bundle)], cwd=REPO, capture_output=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Session(engine) as session:
        assert len(session.scalars(select(library.LibrarySong.hash)).all()) == 2  # what finished is kept
    resumed = library.scan_folder(music, engine, checkpoints=bundle, workers=1)
    assert (resumed.known, resumed.added, resumed.failed) == (2, 3, {}) and len(resumed.songs) == 5


# --- issue 33: outputs, odd names, damaged and newer databases, two scans, limits --------------------


def test_an_export_or_playlist_never_overwrites_audio_or_a_folder(music, bundle, tmp_path, capsys):
    song = music / "song_0.wav"
    before = song.read_bytes()
    (tmp_path / "report.csv").symlink_to(song)  # a link to a song, named like a report
    (tmp_path / "folder.csv").mkdir()
    common = ["--checkpoints", str(bundle), "--workers", "1"]
    for argv in (
        ["export", str(music), "-o", str(tmp_path / "report.csv"), *common],
        ["export", str(music), "-o", str(tmp_path / "folder.csv"), *common],
        ["playlist", str(music), "--mood", "sad", "-o", str(tmp_path / "report.csv"), *common],
        ["playlist", str(music), "--mood", "sad", "-o", str(tmp_path / "folder.csv"), *common],
        ["playlist", str(music), "--mood", "sad", "-o", str(tmp_path / "folder.csv" / ".."), *common],
        ["playlist", str(music), "--mood", "sad", "-o", str(song), *common],
        ["playlist", str(tmp_path), "--mood", "sad", "-o", str(tmp_path / "rule.nsp")],  # a folder named like a rule
    ):
        (tmp_path / "rule.nsp").mkdir(exist_ok=True)
        code = main(argv)
        [line] = error_lines(capsys.readouterr().err)
        assert code == 1 and line.startswith("error: ") and "Traceback" not in line, (argv, line)
    assert song.read_bytes() == before and (tmp_path / "report.csv").is_symlink()


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_a_latin1_file_name_is_exported_in_every_format(tmp_path, bundle, monkeypatch, capsys, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    music = tmp_path / "music"
    write_song(music / "plain.wav", "bright", 2)
    os.rename(write_song(music / "x.wav", "dark", 2, seed=3), os.path.join(os.fsencode(music), b"caf\xe9.wav"))
    out = tmp_path / f"library{suffix}"
    assert main(["export", str(music), "-o", str(out), "--checkpoints", str(bundle), "--workers", "1"]) == 0
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        paths = pq.read_table(out).column("path").to_pylist()
    elif suffix == ".json":
        paths = [row["path"] for row in json.loads(out.read_text(encoding="utf-8"))]
    else:
        paths = [line.rsplit(",", 1)[-1] for line in out.read_text(encoding="utf-8").splitlines()[1:]]
    assert sorted(os.path.basename(p) for p in paths) == ["caf\\xe9.wav", "plain.wav"]


def deep_path(root: Path, total: int = 4200) -> bytes:
    """A file path longer than PATH_MAX (4096 bytes), made with relative steps."""
    here = os.open(root, os.O_RDONLY)
    path = os.fsencode(root)
    try:
        while len(path) < total:
            os.mkdir(b"d" * 200, dir_fd=here)
            nxt = os.open(b"d" * 200, os.O_RDONLY, dir_fd=here)
            os.close(here)
            here, path = nxt, path + b"/" + b"d" * 200
        fd = os.open(b"deep.wav", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=here)
        os.write(fd, write_song(root / "donor.wav", "dark", 2, seed=7).read_bytes())
        os.close(fd)
        os.unlink(root / "donor.wav")
    finally:
        os.close(here)
    return path + b"/deep.wav"


def test_a_path_longer_than_path_max_is_skipped_named_and_counted(tmp_path, bundle, monkeypatch, capsys):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    music = tmp_path / "music"
    write_song(music / "plain.wav", "bright", 2)
    long_name = "x" * 250 + ".wav"  # as long as a name may be
    write_song(music / long_name, "dark", 2, seed=2)
    deep_path(music)
    common = ["--checkpoints", str(bundle), "--workers", "1"]
    assert main(["scan", str(music), *common, "--json"]) == 1
    out = capsys.readouterr()
    summary = json.loads(out.out)
    [(where, why)] = summary["failed"].items()  # the folder too deep to list: named, counted, the rest scanned
    assert summary["songs"] == 2 and where.endswith("d" * 200) and "too long" in why
    assert main(["export", str(music), "-o", str(tmp_path / "all.csv"), *common]) == 1
    assert "1 files skipped" in capsys.readouterr().err
    assert main(["playlist", str(music), "--near", "0.5,0.5", "-o", str(tmp_path / "all.m3u8"), *common]) == 0
    assert main(["tag", str(music), *common]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "File name too long" in err and "changed 2, skipped 1" in err
    assert tags_of(music / long_name)["mood"]


def tags_of(path: Path) -> dict:
    from emotionet.library import tags

    return tags.read_fields(path)


@pytest.mark.parametrize("damage", ["random bytes", "cut in half", "newer schema", "newer columns"])
def test_a_damaged_or_newer_library_database_is_one_line_and_never_modified(
    tmp_path, bundle, monkeypatch, capsys, damage
):
    data = tmp_path / "data"
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(data))
    monkeypatch.delenv("EMOTIONET_DB_URL", raising=False)
    music = tmp_path / "music"
    write_song(music / "song.wav", "bright", 2)
    common = ["--checkpoints", str(bundle), "--workers", "1"]
    assert main(["scan", str(music), *common]) == 0
    db = data / "emotionet.db"
    storage.make_engine().dispose()
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "random bytes":
        db.write_bytes(os.urandom(64 * 1024))
    elif damage == "cut in half":
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    else:
        connection = sqlite3.connect(db)
        if damage == "newer schema":
            connection.execute("PRAGMA user_version = 99")
        else:  # no version number, but columns this version does not know
            connection.execute("ALTER TABLE library_songs ADD COLUMN danceability REAL")
        connection.execute("DROP TABLE library_failures")  # a newer version's tables differ
        connection.commit()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
    for name in ("emotionet.db-wal", "emotionet.db-shm"):
        (data / name).unlink(missing_ok=True)
    before = db.read_bytes()
    capsys.readouterr()
    for argv in (
        ["scan", str(music), *common],
        ["tag", str(music), *common],
        ["export", str(music), "-o", str(tmp_path / "x.csv"), *common],
        ["playlist", str(music), "--mood", "sad", *common],
    ):
        code = main(argv)
        [line] = error_lines(capsys.readouterr().err)
        assert code == 1 and line.startswith("error: ") and str(db) in line, (argv, line)
        assert ("made by a newer" in line) == damage.startswith("newer") and "Traceback" not in line
    assert db.read_bytes() == before  # not a byte changed: no table added, no journal mode set


SCAN_ONE = """
import sys
from emotionet.library import songs
from emotionet.team import storage
songs.scan_folder(sys.argv[1], storage.make_engine(sys.argv[2]), checkpoints=sys.argv[3], workers=1, force=True)
"""


def test_two_scans_of_one_library_at_once_both_finish(tmp_path, engine, bundle):
    music = tmp_path / "music"
    for i in range(4):
        write_song(music / f"song_{i}.wav", "dark", 2, seed=i)
    url = engine.url.render_as_string(hide_password=False)
    for _ in range(3):
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", SCAN_ONE, str(music), url, str(bundle)],
                cwd=REPO,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for run in runs:
            _, err = run.communicate(timeout=600)
            assert run.returncode == 0 and "UNIQUE" not in err, err[-2000:]
    assert len(library.load_songs(engine)) == 4


def test_workers_are_capped_by_the_machine(music, bundle, capsys):
    assert main(["scan", str(music), "--checkpoints", str(bundle), "--workers", "10000"]) == 0
    assert f"capped at this machine's {len(os.sched_getaffinity(0))} cores" in capsys.readouterr().err


def test_audio_below_a_usable_rate_or_over_the_limit_is_refused_before_any_work(tmp_path, monkeypatch):
    import numpy as np
    import soundfile as sf

    from emotionet.io import audio

    slow = tmp_path / "one_hertz.wav"
    sf.write(slow, np.sin(np.arange(86_400)).astype(np.float32) * 0.5, 1)  # 24 hours at 1 Hz, 170 kB
    with pytest.raises(audio.AudioError, match="1 Hz"):
        audio.check_length(slow)
    with pytest.raises(audio.AudioError, match="1 Hz"):
        audio.open_excerpt(slow)
    long = tmp_path / "six_hours.flac"
    with sf.SoundFile(long, "w", 8000, 1, format="FLAC") as f:  # 6 hours of near-silence: a small file
        block = np.zeros(8000 * 600, np.float32)
        for _ in range(36):
            f.write(block)
    assert long.stat().st_size < 2_000_000
    with pytest.raises(audio.AudioError, match="360 minutes.*--max-minutes"):
        audio.open_excerpt(long)  # refused from the header: nothing decoded
    assert audio.check_length(long, max_minutes=0) == pytest.approx(6 * 3600)
    monkeypatch.setenv(audio.MAX_MINUTES_ENV, "400")
    assert audio.check_length(long) == pytest.approx(6 * 3600)  # the knob the app and workers read
