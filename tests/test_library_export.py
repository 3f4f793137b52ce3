"""`export` gives Spotify's audio-feature columns, in range, for every song of a folder; `playlist`
writes Navidrome smart playlist rules on the tags `tag` writes."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest
from helpers_library import bundle  # noqa: F401 (fixture)
from helpers_playlists import write_song

from emotionet.cli import main
from emotionet.library import audio_features

SPOTIFY = ("valence", "energy", "tempo", "key", "mode", "loudness", "duration_ms")


@pytest.fixture
def music(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "music"
    write_song(folder / "bright.flac", "bright", 4, title='=HYPERLINK("http://x")', artist="Someone")
    write_song(folder / "dark.wav", "dark", 5, seed=1)
    return folder


def check_in_range(row):
    assert 0 <= row["valence"] <= 1 and 0 <= row["energy"] <= 1
    assert 30 <= row["tempo"] <= 320
    assert row["key"] in range(-1, 12) and row["mode"] in (0, 1)
    assert -60 <= row["loudness"] <= 0
    assert row["mood"] in ("happy", "aggressive", "sad", "calm") and 0 <= row["confidence"] <= 1


@pytest.mark.parametrize("suffix", [".json", ".csv", ".parquet"])
def test_export_writes_one_row_per_song_with_spotifys_names_in_range(music, bundle, tmp_path, suffix):
    out = tmp_path / f"library{suffix}"
    assert main(["export", str(music), "-o", str(out), "--checkpoints", str(bundle), "--workers", "1"]) == 0
    if suffix == ".json":
        table = json.loads(out.read_text())
    elif suffix == ".csv":
        table = [
            {k: (float(v) if k in SPOTIFY + ("confidence",) else v) for k, v in r.items()}
            for r in csv.DictReader(io.StringIO(out.read_text()))
        ]
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        table = pq.read_table(out).to_pylist()
    assert len(table) == 2 and set(SPOTIFY) <= set(table[0])
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in table}
    assert by_name["dark.wav"]["duration_ms"] == 5000 and by_name["bright.flac"]["duration_ms"] == 4000
    for row in table:
        check_in_range(row)
    if suffix == ".csv":  # a title that starts like a formula stays text in a spreadsheet
        assert by_name["bright.flac"]["title"].startswith("'=HYPERLINK")


def test_the_row_is_the_stored_analysis(music, bundle, tmp_path):
    """Tempo, key and mode come from the analysis the library stored: nothing is decoded again."""
    from emotionet.library.songs import scan_folder
    from emotionet.team import storage

    engine = storage.make_engine()
    song = scan_folder(music, engine, checkpoints=bundle, workers=1).songs[0]
    measured = song.extra["analysis"]["explanation"]["measurements"]
    row = audio_features.row(song)
    assert row["tempo"] == pytest.approx(measured["tempo_bpm"])
    assert row["valence"] == pytest.approx(song.valence, abs=1e-4) and row["energy"] == pytest.approx(
        song.arousal, abs=1e-4
    )
    song.extra["analysis"]["explanation"]["measurements"] |= {"key": "D# minor"}
    assert (audio_features.row(song)["key"], audio_features.row(song)["mode"]) == (3, 0)
    song.extra["analysis"]["explanation"]["measurements"] |= {"key": "no key", "mode": 0.02}
    assert (audio_features.row(song)["key"], audio_features.row(song)["mode"]) == (-1, 1)


def test_parquet_without_pyarrow_is_one_clear_line(music, bundle, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    out = tmp_path / "library.parquet"
    assert main(["export", str(music), "-o", str(out), "--checkpoints", str(bundle)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: Parquet needs pyarrow") and "\n" not in err and not out.exists()
    assert main(["export", str(music), "-o", str(tmp_path / "library.xlsx")]) == 2


def test_playlist_writes_a_navidrome_smart_playlist_for_a_mood(tmp_path, capsys):
    out = tmp_path / "calm.nsp"
    assert main(["playlist", str(tmp_path), "--mood", "calm", "--count", "30", "-o", str(out)]) == 0
    rule = json.loads(out.read_text())
    assert rule["all"] == [{"is": {"mood": "calm"}}] and rule["limit"] == 30 and rule["name"] == "calm"


def test_playlist_writes_a_valence_energy_range_and_refuses_what_a_rule_cannot_say(tmp_path, capsys):
    out = tmp_path / "bright.nsp"
    assert main(["playlist", str(tmp_path), "--near", "0.8,0.7", "--radius", "0.1", "-o", str(out)]) == 0
    rule = json.loads(out.read_text())
    assert rule["all"] == [  # gt/lt pairs: Navidrome refuses a range on a tag (tests/test_players.py)
        {"gt": {"valence": 0.7}},
        {"lt": {"valence": 0.9}},
        {"gt": {"energy": 0.6}},
        {"lt": {"energy": 0.8}},
    ]
    assert main(["playlist", str(tmp_path), "--from", "sad", "--to", "happy", "-o", str(out)]) == 2
    assert main(["playlist", str(tmp_path), "--near", "0.8,0.7", "-o", str(out)]) == 2
    assert "needs --radius" in capsys.readouterr().err


def test_a_songs_mood_share_and_mixed_are_exported_beside_its_mood(tmp_path):
    """Issue 30: the export says what the page says: the main mood, the part of the song it holds, mixed."""
    from emotionet.library.playlists import Song

    mixed = Song("b", "Mix", "", str(tmp_path / "b.wav"), "b.wav", 200, 0.75, 0.2, "calm", 0.9, share=0.38, mixed=True)
    clip = Song("c", "Clip", "", str(tmp_path / "c.wav"), "c.wav", 30, 0.7, 0.3, "calm", 0.5)
    rows = audio_features.rows([mixed, clip])
    assert (rows[0]["mood"], rows[0]["mood_share"], rows[0]["mixed"]) == ("calm", 0.38, True)
    assert (rows[1]["mood_share"], rows[1]["mixed"]) == (None, False)
    header = audio_features.to_csv(rows).splitlines()[0].split(",")
    assert header[header.index("mood") : header.index("mood") + 3] == ["mood", "mood_share", "mixed"]
