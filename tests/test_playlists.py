"""Mood playlists: the three ways to build one, their length, their exports, and the song library.

The library tests run the real pipeline (decode, features, models) with a tiny model bundle made
from synthesised songs, so they need neither ../shared nor the shipped checkpoints.
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from helpers_library import bundle, engine  # noqa: F401 (fixtures)
from helpers_playlists import make_library, make_tiny_bundle, write_song

from emotionet import cli
from emotionet.io import audio
from emotionet.library import playlists
from emotionet.library import scan
from emotionet.library import songs as library
from emotionet.library.playlists import Song
from emotionet.team import storage


def song(
    i: int, valence: float, arousal: float, duration_s: float = 180.0, mood: str | None = None, confidence: float = 0.5
) -> Song:
    from emotionet.mood import mood_of

    return Song(
        f"{i:064x}",
        f"Song {i}",
        f"Artist {i}",
        f"/music/song{i}.flac",
        f"song{i}.flac",
        duration_s,
        valence,
        arousal,
        mood or mood_of(valence, arousal),
        confidence,
    )


@pytest.fixture(scope="module")
def grid() -> list[Song]:
    """A 7 x 7 grid of songs over the plane, lengths 2-5 minutes."""
    rng = np.random.default_rng(0)
    values = np.linspace(0.05, 0.95, 7)
    return [
        song(i, v, a, float(rng.uniform(120, 300)), confidence=float(abs(v - 0.5) + abs(a - 0.5)))
        for i, (v, a) in enumerate((v, a) for v in values for a in values)
    ]


# --- the three modes ----------------------------------------------------------------------------


def test_by_mood_keeps_only_that_mood_clearest_first(grid):
    calm = playlists.by_mood(grid, "calm")
    assert calm and all(s.mood == "calm" for s in calm)
    assert len(calm) == sum(s.mood == "calm" for s in grid)
    assert [s.confidence for s in calm] == sorted((s.confidence for s in calm), reverse=True)
    with pytest.raises(ValueError):
        playlists.by_mood(grid, "melancholic")


def test_nearest_is_sorted_by_distance_and_respects_the_radius(grid):
    target = (0.7, 0.3)
    ranked = playlists.nearest(grid, target)
    distances = [playlists.distance(s, target) for s in ranked]
    assert len(ranked) == len(grid) and distances == sorted(distances)
    inside = playlists.nearest(grid, target, radius=0.2)
    assert inside and all(playlists.distance(s, target) <= 0.2 for s in inside)
    assert len(inside) == sum(playlists.distance(s, target) <= 0.2 for s in grid)


@pytest.mark.parametrize("start, end", [("sad", "happy"), ("calm", "aggressive"), ("0.9,0.9", "0.1,0.2")])
def test_journey_moves_monotonically_along_the_path(grid, start, end):
    a, b = playlists.parse_point(start), playlists.parse_point(end)
    trip = playlists.journey(grid, a, b, count=8)
    assert len(trip) == 8 and len({s.hash for s in trip}) == 8
    progress = [playlists.progress_along(s, a, b) for s in trip]
    assert progress == sorted(progress)  # each song at least as far along as the one before
    # it starts near the start, ends near the end, and follows the path closely
    assert playlists.distance(trip[0], a) == min(playlists.distance(s, a) for s in trip)
    assert playlists.distance(trip[-1], b) == min(playlists.distance(s, b) for s in trip)
    assert progress[0] < 0.25 and progress[-1] > 0.75


def test_journey_from_sad_to_happy_starts_sad_and_ends_happy(grid):
    trip = playlists.journey(grid, playlists.mood_point("sad"), playlists.mood_point("happy"), count=6)
    assert trip[0].mood == "sad" and trip[-1].mood == "happy"
    # gradual: no step jumps further than a third of the whole way
    steps = [math.dist(x.point, y.point) for x, y in zip(trip, trip[1:])]
    assert max(steps) <= math.dist((0.25, 0.25), (0.75, 0.75)) / 3 + 0.1


def test_journey_by_minutes_fills_but_does_not_exceed_the_time(grid):
    trip = playlists.journey(grid, (0.1, 0.1), (0.9, 0.9), minutes=20)
    assert playlists.total_seconds(trip) <= 20 * 60
    progress = [playlists.progress_along(s, (0.1, 0.1), (0.9, 0.9)) for s in trip]
    assert progress == sorted(progress)
    longer = playlists.journey(grid, (0.1, 0.1), (0.9, 0.9), count=len(trip) + 1)
    assert playlists.total_seconds(longer) > 20 * 60 - 1e-9 or len(trip) == len(grid)


def test_length_by_count_and_by_minutes(grid):
    assert len(playlists.nearest(grid, (0.5, 0.5), count=5)) == 5
    assert len(playlists.by_mood(grid, "happy", count=100)) == sum(s.mood == "happy" for s in grid)
    ranked = playlists.nearest(grid, (0.5, 0.5))
    timed = playlists.nearest(grid, (0.5, 0.5), minutes=15)
    assert playlists.total_seconds(timed) <= 15 * 60
    assert timed == ranked[: len(timed)]  # the longest prefix that fits
    assert playlists.total_seconds(ranked[: len(timed) + 1]) > 15 * 60
    assert len(playlists.limit([song(1, 0.5, 0.5, 3600)], minutes=10)) == 1  # never empty for a long song


def test_parse_point_takes_moods_and_coordinates():
    assert playlists.parse_point("sad") == (0.25, 0.25)
    assert playlists.parse_point("Happy") == (0.75, 0.75)
    assert playlists.parse_point("0.2, 0.9") == (0.2, 0.9)
    for bad in ("joyful", "2,3", "0.5"):
        with pytest.raises(ValueError):
            playlists.parse_point(bad)


# --- exports ------------------------------------------------------------------------------------


def test_m3u8_is_extended_m3u_with_duration_artist_title_then_path():
    songs = [song(1, 0.8, 0.8, 183.6), song(2, 0.2, 0.2, 59.4)]
    songs[1].artist = ""
    text = playlists.to_m3u8(songs)
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U" and text.endswith("\n")
    assert lines[1:] == [
        "#EXTINF:184,Artist 1 - Song 1",
        "/music/song1.flac",  # a plain path, as players open it (a percent-encoded one would not be)
        "#EXTINF:59,Song 2",
        "/music/song2.flac",
    ]
    names = playlists.to_m3u8(songs, use_paths=False).splitlines()
    assert names[2] == "song1.flac" and names[4] == "song2.flac"
    relative = playlists.to_m3u8(songs, relative_to="/music").splitlines()
    assert relative[2] == "song1.flac"


def test_csv_has_one_row_per_song_in_order():
    songs = [song(1, 0.8, 0.8), song(2, 0.2, 0.2)]
    rows = list(csv.DictReader(io.StringIO(playlists.to_csv(songs))))
    assert [r["position"] for r in rows] == ["1", "2"]
    assert rows[0]["title"] == "Song 1" and rows[1]["mood"] == "sad" and rows[0]["path"] == "/music/song1.flac"


# --- the library --------------------------------------------------------------------------------


@pytest.fixture
def decodes(monkeypatch):
    """Counts decodes in this process (use workers=1 so analysis runs here)."""
    calls = []
    real = audio.open_excerpt

    def counting(source, **kwargs):
        calls.append(source)
        return real(source, **kwargs)

    monkeypatch.setattr(audio, "open_excerpt", counting)
    return calls


def test_scan_analyses_each_song_once_and_skips_the_bad_file(tmp_path, engine, bundle, decodes):
    made = make_library(tmp_path / "music", n_each=2, seconds=5)
    write_song(tmp_path / "music" / "tagged.flac", "bright", 5, seed=7, title="Sunny Side", artist="The Sines")
    seen = []
    first = library.scan_folder(
        tmp_path / "music", engine, checkpoints=bundle, workers=1, progress=lambda *args: seen.append(args)
    )
    assert first.added == 5 and first.known == 0 and len(first.songs) == 5
    bad = str((tmp_path / "music" / "broken.mp3").resolve())
    assert list(first.failed) == [bad] and "broken.mp3" in first.failed[bad]
    assert len(decodes) == 6  # five songs and the bad file
    assert [s[:2] for s in seen] == [(i, 6) for i in range(7)] and seen[-1][2] == 0.0  # done/total, time left

    by_title = {s.title: s for s in first.songs}
    assert by_title["Sunny Side"].artist == "The Sines"  # from the tags
    assert {"bright_0", "bright_1", "dark_0", "dark_1"} <= set(by_title)  # else from the file name
    with engine.connect() as connection:
        stored = json.loads(connection.exec_driver_sql("SELECT analysis FROM library_songs LIMIT 1").scalar())
    assert {"cnn", "svr", "svr_all", "timeline", "duration_s"} <= set(stored)  # every model, timeline
    # the songs' character shows: the SVRs learnt bright = happy, dark = sad
    assert all(by_title[f"bright_{i}"].extra["analysis"]["svr"]["mood"] == "happy" for i in range(2))
    assert all(by_title[f"dark_{i}"].extra["analysis"]["svr"]["mood"] == "sad" for i in range(2))
    assert by_title["dark_1"].duration_s == pytest.approx(6.0, abs=0.01)
    assert by_title["dark_1"].path == str(made["dark"][1].resolve())

    calls_before = len(decodes)
    analysed, hashed = [], []
    real, real_hash = scan.analyze_files, scan.file_hash
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scan, "analyze_files", lambda paths, *a, **k: (analysed.extend(paths), real(paths, *a, **k))[1])
        mp.setattr(scan, "file_hash", lambda path: (hashed.append(path), real_hash(path))[1])
        second = library.scan_folder(tmp_path / "music", engine, checkpoints=bundle, workers=1)
        assert len(decodes) == calls_before and analysed == []  # no decoding at all, not even the bad file
        assert hashed == []  # unchanged files are not even read
        write_song(made["bright"][0], "dark", 6, seed=9)  # new content at a known path: read, analysed
        third = library.scan_folder(tmp_path / "music", engine, checkpoints=bundle, workers=1)
        assert hashed == [str(made["bright"][0].resolve())] and third.added == 1
    assert second.added == 0 and second.known == 5 and list(second.failed) == [bad]
    assert [s.hash for s in second.songs] == [s.hash for s in first.songs]


def test_a_moved_file_keeps_its_analysis_and_new_models_reanalyse(tmp_path, engine, bundle, decodes):
    original = write_song(tmp_path / "a" / "song.wav", "dark", 4)
    library.scan_files([original], engine, checkpoints=bundle, workers=1)
    moved = original.rename(tmp_path / "song_moved.wav")
    result = library.scan_files([moved], engine, checkpoints=bundle, workers=1)
    assert result.known == 1 and len(decodes) == 1 and result.songs[0].path == str(moved.resolve())

    retrained = tmp_path / "retrained"
    make_tiny_bundle(retrained)
    (retrained / "config.json").write_text((retrained / "config.json").read_text() + " ")
    result = library.scan_files([moved], engine, checkpoints=retrained, workers=1)
    assert result.added == 1 and len(decodes) == 2


def test_scan_with_two_workers_gives_the_same_results(tmp_path, engine, bundle):
    make_library(tmp_path / "music", n_each=2, seconds=4)
    one = library.scan_folder(tmp_path / "music", engine, checkpoints=bundle, workers=1)
    other = storage.make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    two = library.scan_folder(tmp_path / "music", other, checkpoints=bundle, workers=2)
    assert two.added == one.added == 4 and list(two.failed) == list(one.failed)
    for a, b in zip(one.songs, two.songs):
        assert a.hash == b.hash and a.valence == pytest.approx(b.valence, abs=1e-3)


def test_uploads_are_stored_and_named_by_their_original_file_name(tmp_path, engine, bundle):
    data = write_song(tmp_path / "x.wav", "bright", 4).read_bytes()
    result = library.add_uploads(
        [("My Song.wav", data), ("again.wav", data), ("bad.ogg", b"nope" * 100)], engine, checkpoints=bundle, workers=1
    )
    assert result.added == 1 and len(result.songs) == 1
    assert result.songs[0].title == "My Song" and result.songs[0].filename == "My Song.wav"
    assert storage.AudioStore().find(result.songs[0].hash) is not None
    [error] = result.failed.values()
    assert "bad.ogg" in error and str(storage.data_dir()) not in error


def test_no_models_is_a_clear_error(tmp_path, engine):
    with pytest.raises(FileNotFoundError, match="No trained models"):
        library.scan_files([write_song(tmp_path / "a.wav", "dark", 2)], engine, checkpoints=tmp_path / "none")


# --- command line -------------------------------------------------------------------------------


def run_cli(argv):
    return cli.main(argv)


def test_cli_scan_and_playlists(tmp_path, monkeypatch, bundle, capsys):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    music = tmp_path / "music"
    make_library(music, n_each=2, seconds=4)
    common = ["--checkpoints", str(bundle), "--workers", "1"]
    assert run_cli(["scan", str(music), *common, "--json"]) == 1  # the bad file was skipped
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert summary["songs"] == 4 and summary["added"] == 4 and "broken.mp3" in out.err

    out_file = tmp_path / "lift.m3u8"
    assert (
        run_cli(
            [
                "playlist",
                str(music),
                *common,
                "--model",
                "svr",
                "--from",
                "sad",
                "--to",
                "happy",
                "--count",
                "4",
                "-o",
                str(out_file),
            ]
        )
        == 0
    )
    lines = out_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and len(lines) == 9 and lines[1].startswith("#EXTINF:")
    assert "dark" in lines[2] and "bright" in lines[-1]  # sad first, happy last
    assert (tmp_path / "data" / "emotionet.db").is_file()  # the same database as the labelling data

    assert (
        run_cli(["playlist", str(music), *common, "--model", "svr", "--mood", "happy", "-o", str(tmp_path / "h.csv")])
        == 0
    )
    rows = list(csv.DictReader(open(tmp_path / "h.csv", encoding="utf-8")))
    assert len(rows) == 2 and all(r["mood"] == "happy" for r in rows)

    assert run_cli(["playlist", str(music), *common, "--near", "0.5,0.5", "--count", "2", "--names"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "#EXTM3U" and len(printed) == 5 and not printed[2].startswith("/")
    assert run_cli(["playlist", str(music), *common, "--from", "sad"]) == 2  # a journey needs --to


def test_a_line_break_in_a_file_name_cannot_add_a_playlist_entry():
    evil = song(1, 0.8, 0.8)
    evil.path = "/music/a.mp3\n/etc/passwd\r\n#EXTINF:1,x"
    evil.filename = "a.mp3\nhttp://evil/x.mp3"
    for text in (playlists.to_m3u8([evil]), playlists.to_m3u8([evil], use_paths=False)):
        lines = text.splitlines()
        assert len(lines) == 3 and lines[0] == "#EXTM3U" and lines[1].startswith("#EXTINF:")


def test_playlist_csv_cells_are_never_formulas():
    evil = song(1, 0.8, 0.8)
    evil.title, evil.artist = '=HYPERLINK("http://x")', "@cmd"
    row = next(csv.DictReader(io.StringIO(playlists.to_csv([evil]))))
    assert row["title"] == '\'=HYPERLINK("http://x")' and row["artist"] == "'@cmd"


def test_a_mixed_song_is_listed_by_its_main_mood_after_the_songs_that_are_that_mood_throughout():
    """Issue 30: a song of several moods is one of its main mood's songs, but the less clear-cut: its
    confidence is weighed by the part of the song the mood holds."""
    from emotionet.library.playlists import Song, by_mood

    whole = Song("a", "Calm throughout", "", "/m/a.wav", "a.wav", 200, 0.7, 0.3, "calm", 0.7)
    mixed = Song("b", "Mostly calm", "", "/m/b.wav", "b.wav", 200, 0.75, 0.2, "calm", 0.9, share=0.38, mixed=True)
    clip = Song("c", "A calm clip", "", "/m/c.wav", "c.wav", 30, 0.7, 0.3, "calm", 0.5)
    assert [s.title for s in by_mood([mixed, clip, whole], "calm")] == ["Calm throughout", "A calm clip", "Mostly calm"]
    assert [s.said for s in (whole, mixed, clip)] == ["calm", "mixed (calm 38%)", "calm"]
