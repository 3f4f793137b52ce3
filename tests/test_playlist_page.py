"""The Mood playlists page, driven by Streamlit's AppTest on a fresh data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_playlists import make_tiny_bundle, write_song

from emotionet.library import songs as library
from emotionet.team import storage

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "playlists.py")

# .streamlit/config.toml hides error details from visitors; a failing test should show them.
from streamlit import config as _streamlit_config  # noqa: E402

_streamlit_config.set_option("client.showErrorDetails", "full")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return make_tiny_bundle(tmp_path_factory.mktemp("checkpoints"))


@pytest.fixture
def data_dir(tmp_path, monkeypatch, bundle):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EMOTIONET_DB_URL", raising=False)
    monkeypatch.setenv("EMOTIONET_CHECKPOINTS", str(bundle))
    from emotionet.app import uploads

    uploads.upload_guard.clear()  # every AppTest is "test session id": start its upload allowance afresh
    return tmp_path / "data"


def shown(selectbox) -> str:
    """The label a selectbox shows for its current value."""
    return selectbox.options[selectbox.index]


def app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(PAGE, default_timeout=120).run()


@pytest.fixture
def library_of_four(tmp_path, data_dir, bundle):
    files = [
        write_song(tmp_path / "music" / f"{kind}_{i}.wav", kind, 4 + i, seed=i)
        for kind in ("bright", "dark")
        for i in range(2)
    ]
    result = library.scan_files(files, storage.make_engine(), checkpoints=bundle, workers=1)
    assert result.added == 4
    return files


def test_an_empty_library_asks_for_songs(data_dir):
    at = app()
    assert not at.exception
    assert at.file_uploader and "empty" in at.info[0].value


def test_uploading_songs_analyses_them_and_reports_a_bad_file(tmp_path, data_dir):
    at = app()
    good = write_song(tmp_path / "song.wav", "bright", 4).read_bytes()
    at.file_uploader[0].set_value(
        [("Good Song.wav", good, "audio/wav"), ("broken.mp3", b"not audio" * 50, "audio/mpeg")]
    ).run()
    at.button[0].click().run()
    assert not at.exception
    assert "1 song(s) analysed" in at.success[0].value
    assert any("broken.mp3" in w.value for w in at.warning)
    assert sum(int(m.value) for m in at.metric) == 1  # the page goes on with the library
    at.radio[0].set_value("Near a point").run()
    assert at.dataframe[0].value["title"].tolist() == ["Good Song"]  # named by the uploaded file


def test_library_counts_filter_and_the_three_modes(library_of_four):
    at = app()
    assert not at.exception
    model = next(s for s in at.selectbox if s.label == "Predictions of")
    model.set_value("svr").run()  # the tiny SVR learnt bright = happy, dark = sad
    counts = {m.label.split()[-1]: int(m.value) for m in at.metric}
    assert counts == {"happy": 2, "aggressive": 0, "sad": 2, "calm": 0}
    assert at.get("plotly_chart")

    mood = next(s for s in at.selectbox if s.label == "Mood")
    mood.set_value("sad").run()
    assert sorted(at.dataframe[0].value["title"]) == ["dark_0", "dark_1"]

    at.radio[0].set_value("Mood journey").run()  # default: sad -> happy
    titles = at.dataframe[0].value["title"].tolist()
    assert len(titles) == 4 and titles[0].startswith("dark") and titles[-1].startswith("bright")

    at.radio[0].set_value("Near a point").run()
    at.slider[0].set_value(0.9).run()
    at.slider[1].set_value(0.9).run()
    assert at.dataframe[0].value["title"].tolist()[:2] in (["bright_0", "bright_1"], ["bright_1", "bright_0"])

    at.multiselect[0].set_value(["sad"]).run()  # filter: only sad songs are shown and used
    assert sorted(at.dataframe[0].value["title"]) == ["dark_0", "dark_1"]
    assert "2 of 4 songs shown" in " ".join(c.value for c in at.caption)


def test_length_playback_and_exports(library_of_four):
    at = app()
    at.number_input[0].set_value(2).run()
    assert len(at.dataframe[0].value) == 2
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["⬇️ Table as CSV", "⬇️ Table as JSON", "⬇️ M3U8 playlist", "⬇️ CSV"]
    assert at.get("audio")  # the first song is ready to play
    titles = at.dataframe[0].value["title"].tolist()
    now_playing = lambda: next(s for s in at.selectbox if s.label == "Now playing")  # noqa: E731
    assert shown(now_playing()).endswith(titles[0])
    at.button(key="next_song").click().run()
    assert not at.exception and shown(now_playing()) == f"2. {titles[1]}"
    at.button(key="previous_song").click().run()
    assert shown(now_playing()) == f"1. {titles[0]}"

    at.radio[1].set_value("minutes").run()
    assert not at.exception and at.number_input[0].label == "Minutes"


def test_a_missing_file_is_a_warning_not_a_crash(library_of_four):
    for path in library_of_four:
        path.unlink()
    at = app()
    assert not at.exception
    assert any("no longer at" in w.value for w in at.warning)


def test_changing_the_mood_then_next_plays_the_new_playlists_second_song(library_of_four):
    """The crash of issue 10: By mood, change the Mood, click next (once an index box went stale)."""
    at = app()
    next(s for s in at.selectbox if s.label == "Predictions of").set_value("svr").run()
    mood = next(s for s in at.selectbox if s.label == "Mood")
    mood.set_value("happy").run()
    at.button(key="next_song").click().run()
    mood = next(s for s in at.selectbox if s.label == "Mood")
    mood.set_value("sad").run()
    assert not at.exception
    titles = at.dataframe[0].value["title"].tolist()
    now_playing = next(s for s in at.selectbox if s.label == "Now playing")
    assert shown(now_playing) == f"1. {titles[0]}"  # a new playlist starts at its first song
    at.button(key="next_song").click().run()
    assert not at.exception
    assert shown(next(s for s in at.selectbox if s.label == "Now playing")) == f"2. {titles[1]}"
    at.radio(key="playlist_length_unit").set_value("minutes").run()  # any other click still works
    assert not at.exception and at.get("download_button")


def test_the_m3u8_lists_file_names_by_default(library_of_four):
    at = app()
    assert not at.checkbox(key="m3u8_paths").value  # a player beside the music expects names, not server paths


def test_uploads_past_the_allowance_are_refused_with_the_limit(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("EMOTIONET_PERSON_UPLOAD_MB", "0.5")  # a visitor without a sign-in: the visitors' allowance
    at = app()
    songs = [write_song(tmp_path / f"{i}.wav", "bright", 4, seed=i).read_bytes() for i in range(4)]  # ~0.18 MB each
    at.file_uploader[0].set_value([("a.wav", songs[0], "audio/wav"), ("b.wav", songs[1], "audio/wav")]).run()
    at.button[0].click().run()
    assert not at.exception and "2 song(s) analysed" in at.success[0].value
    at.file_uploader[0].set_value([("c.wav", songs[2], "audio/wav"), ("d.wav", songs[3], "audio/wav")]).run()
    assert not at.exception  # refused as they are chosen: they leave the uploader at once
    assert "0.4 MB more would pass the allowance of 0.5 MB a day" in at.error[0].value
    assert "Visitors who are not signed in" in at.error[0].value and "emotionet scan" in at.error[0].value
    assert not at.file_uploader[0].value and at.button[0].disabled
    assert sum(int(m.value) for m in at.metric) == 2  # nothing stored, the library still works
    assert len(list((data_dir / "audio").rglob("*.wav"))) == 2


def test_uploads_past_the_stores_cap_are_refused(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("EMOTIONET_STORE_LIMIT_MB", "0.1")
    at = app()
    song = write_song(tmp_path / "song.wav", "bright", 4).read_bytes()
    at.file_uploader[0].set_value([("a.wav", song, "audio/wav")]).run()
    assert not at.exception and "EMOTIONET_STORE_LIMIT_MB" in at.error[0].value  # as soon as it is chosen
    assert not (data_dir / "audio").exists() or not list((data_dir / "audio").rglob("*.wav"))
