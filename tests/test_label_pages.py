"""The Label and Test set pages, driven like a browser with Streamlit's AppTest: two raters add and
rate tracks, the test set aggregates them and exports them, and a team passcode keeps strangers out."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from helpers_labelling import BACKENDS, database_url, tone
from streamlit.testing.v1 import AppTest

from emotionet.models.checkpoints import checkpoint_dir
from emotionet.team import labelling as lab
from emotionet.team.storage import AudioStore, make_engine
from emotionet.training.dataset import read_manifest

PAGES = Path(__file__).resolve().parent.parent / "app_pages"
LABEL, TEST_SET = str(PAGES / "label.py"), str(PAGES / "test_set.py")

# .streamlit/config.toml hides error details from visitors; a failing test should show them.
from streamlit import config as _streamlit_config  # noqa: E402

_streamlit_config.set_option("client.showErrorDetails", "full")


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path, monkeypatch):
    """A fresh data folder and database for the pages; yields an engine on the same database."""
    url, cleanup = database_url(request.param, tmp_path)
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMOTIONET_DB_URL", url)
    monkeypatch.delenv(lab.PASSCODE_ENV, raising=False)
    from emotionet.app import webapp

    webapp.passcode_guard.clear()  # the server's count of wrong passcodes starts at nothing
    webapp.upload_guard.clear()  # every AppTest is "test session id": start its upload allowance afresh
    engine = make_engine(url)
    yield engine
    engine.dispose()
    cleanup()


def open_page(path: str) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def sign_in(name: str) -> AppTest:
    at = open_page(LABEL)
    at.text_input(key="rater_new").input(name)
    at.button[0].click().run()
    assert at.session_state["rater"] == name
    return at


def upload(at: AppTest, files: list[tuple[str, bytes]], **fields) -> AppTest:
    at.file_uploader[0].set_value([(name, data, "audio/wav") for name, data in files])
    for label, value in fields.items():
        next(t for t in at.text_input if t.label == label).input(value)
    next(b for b in at.button if b.label == "Add tracks").click().run()
    assert not at.exception, at.exception
    return at


def rate(at: AppTest, valence: float, arousal: float) -> AppTest:
    at.slider[0].set_value(valence)
    at.slider[1].set_value(arousal)
    next(b for b in at.button if "Save" in b.label).click().run()
    assert not at.exception, at.exception
    return at


def progress_text(at: AppTest) -> str:
    return at.progress[0].text


def team_view_shown(at: AppTest) -> bool:
    return any("Other raters" in e.label for e in at.expander)


def test_two_raters_add_rate_and_the_test_set_aggregates_and_exports(database, tmp_path):
    ann = sign_in("Ann")
    upload(ann, [("one.wav", tone(300)), ("two.wav", tone(500))], Artist="Band", Source="synthetic", Licence="CC0")
    assert len(ann.success) == 2
    assert progress_text(ann) == "0 of 2 rated"
    assert not team_view_shown(ann)  # blind before saving

    rate(ann, 0.8, 0.7)
    assert progress_text(ann) == "1 of 2 rated"
    assert "Saved" in ann.success[0].value
    assert team_view_shown(ann)
    first = ann.session_state["label_track"]
    next(b for b in ann.button if "Suggested next" in b.label).click().run()
    assert ann.session_state["label_track"] != first

    bob = sign_in("Bob")
    from emotionet.models.checkpoints import mood_centre
    from emotionet.team.predictions import models_key
    from emotionet.team.suggest import suggest

    best = suggest(database, "Bob", models_key(checkpoint_dir()), centre=mood_centre())[0]
    assert bob.session_state["label_track"] == best.track_hash  # opens on what the team needs rated most
    assert any(c.value.startswith("💡 Why this track: ") for c in bob.caption)  # and says why
    bob.selectbox(key="label_track").set_value(first).run()  # the track Ann rated
    assert not team_view_shown(bob)  # Ann's rating stays hidden until Bob saves his
    assert not any("0.8" in str(d.value) for d in bob.dataframe)
    rate(bob, 0.6, 0.9)
    others = next(d.value for d in bob.dataframe if "rater" in d.value.columns)
    assert others[["rater", "valence", "arousal"]].values.tolist() == [["Ann", 0.8, 0.7]]

    test_set = open_page(TEST_SET)
    table = test_set.dataframe[0].value.set_index("title")
    both = lab.get_track(database, first).title  # the track both rated (the one Ann was suggested first)
    assert table.loc[both, "n_raters"] == 2 and float(table.loc[both, "valence_mean"]) == pytest.approx(0.7)
    assert table.loc[both, "mood"] == "happy"
    assert [m.label for m in test_set.metric][:2] == ["Krippendorff's α, valence", "Krippendorff's α, arousal"]

    next(b for b in test_set.button if "Prepare the test set" in b.label).click().run()
    assert not test_set.exception
    min_raters, archive = test_set.session_state["export_zip"]
    assert min_raters == 2
    zipfile.ZipFile(io.BytesIO(archive)).extractall(tmp_path / "export")
    [track] = read_manifest(tmp_path / "export" / "manifest.csv")
    assert (track.song_id, track.valence, track.arousal, track.artist) == (
        first,
        pytest.approx(0.7),
        pytest.approx(0.8),
        "Band",
    )
    assert track.path.read_bytes() == {"one": tone(300), "two": tone(500)}[both]


def test_a_duplicate_and_a_corrupt_upload_are_reported_and_the_page_keeps_working(database):
    at = sign_in("Ann")
    upload(at, [("song.wav", tone(300))])
    upload(at, [("copy of song.wav", tone(300)), ("broken.wav", b"not audio at all" * 64)])
    assert "already in the set" in at.info[0].value
    assert "broken.wav" in at.error[0].value
    assert len(lab.list_tracks(database)) == 1
    rate(at, 0.2, 0.2)
    assert progress_text(at) == "1 of 1 rated"


def test_a_rater_must_give_a_name_before_rating(database):
    at = open_page(LABEL)
    at.button[0].click().run()
    assert "Enter your name" in at.error[0].value
    assert not at.file_uploader and not at.slider


def test_a_changed_rating_replaces_the_old_one_and_both_stay_in_the_history(database):
    at = sign_in("Ann")
    upload(at, [("song.wav", tone(300))])
    rate(at, 0.2, 0.3)
    rate(at, 0.6, 0.7)
    assert progress_text(at) == "1 of 1 rated"
    history = next(e for e in at.expander if "history" in e.label).dataframe[0].value
    assert history[["valence", "arousal"]].values.tolist() == [[0.2, 0.3], [0.6, 0.7]]
    assert lab.current_ratings(database)[["valence", "arousal"]].values.tolist() == [[0.6, 0.7]]


@pytest.mark.parametrize("page", [LABEL, TEST_SET])
def test_with_a_team_passcode_a_wrong_code_shows_nothing(database, monkeypatch, page):
    monkeypatch.setenv(lab.PASSCODE_ENV, "blue whale")
    at = open_page(page)
    assert [t.label for t in at.text_input] == ["Team passcode"]
    at.text_input[0].input("red whale").run()
    assert "not right" in at.error[0].value
    assert [t.label for t in at.text_input] == ["Team passcode"]
    assert not (at.button or at.file_uploader or at.dataframe or at.slider or at.info)


def test_with_the_right_team_passcode_the_label_page_opens(database, monkeypatch):
    monkeypatch.setenv(lab.PASSCODE_ENV, "blue whale")
    at = open_page(LABEL)
    at.text_input[0].input("blue whale").run()
    assert not at.error
    at.text_input(key="rater_new").input("Ann")
    at.button[0].click().run()
    assert at.session_state["rater"] == "Ann"
    upload(at, [("song.wav", tone(300))])
    assert len(lab.list_tracks(database)) == 1


def three_tones_rated_by_two(database):
    """Tones of 220, 440 and 880 Hz, each rated by Ann and by Bob (0.1 more arousal); the last track."""
    store = AudioStore()
    for frequency, value in ((220, 0.2), (440, 0.5), (880, 0.8)):
        track, _ = lab.add_track(database, store, tone(frequency), "x.wav", f"tone {frequency}", added_by="Ann")
        for rater, shift in (("Ann", 0), ("Bob", 0.1)):
            lab.save_rating(database, track.hash, rater, value, min(value + shift, 1))
    return track


@pytest.mark.skipif(not (checkpoint_dir() / "config.json").exists(), reason="no trained checkpoints")
def test_the_test_set_page_evaluates_the_models_on_tracks_with_enough_raters(database):
    track = three_tones_rated_by_two(database)
    lab.save_rating(database, track.hash, "Cy", 0.9, 0.9)
    at = open_page(TEST_SET)
    at.number_input(key="min_raters").set_value(3).run()
    next(b for b in at.button if "Run the models" in b.label).click().run()
    assert not at.exception and not at.error
    evaluation = at.session_state["evaluation"]
    assert evaluation.n == 1 and set(evaluation.metrics) >= {"cnn", "svr"}
    assert {"MSE", "mood accuracy"} <= set(at.dataframe[-1].value.columns)


def test_after_saving_the_models_checkbox_reveals_on_the_same_track(database):
    """Issue 10: Save, then tick "Show the models' predictions": the page used to jump to the next track."""
    at = sign_in("Ann")
    upload(at, [("one.wav", tone(300)), ("two.wav", tone(500))])
    first = at.session_state["label_track"]
    track_box = next(s for s in at.selectbox if s.label == "Track")
    labels_before = list(track_box.options)
    rate(at, 0.7, 0.6)
    assert at.session_state["label_track"] == first
    assert list(next(s for s in at.selectbox if s.label == "Track").options) == labels_before  # labels are stable
    assert "You have rated this track" in " ".join(c.value for c in at.caption)
    at.checkbox(key=f"models_{first}").check().run()
    assert not at.exception
    assert at.session_state["label_track"] == first  # still the track just rated


def test_user_text_is_shown_as_plain_text_never_as_markdown(database):
    """A teammate's Markdown image in a source, licence or title must not make raters' browsers fetch it."""
    pixel = "![p](http://host/pixel.png)"
    at = sign_in("Ann")
    upload(at, [("song.wav", tone(300))], Title=f"Song {pixel}", Source=pixel, Licence=f"[CC0]({pixel})")
    assert not at.exception
    rendered = [
        e.value
        for e in (*at.markdown, *at.caption, *at.success, *at.info, *at.error, *at.warning, *at.subheader, *at.header)
    ]
    assert rendered and not any("![p](" in str(value) for value in rendered)
    assert any(pixel in t.value for t in at.text)  # shown, as the characters typed


def test_a_passcode_is_locked_out_after_repeated_wrong_tries(database, monkeypatch):
    from emotionet.app import webapp

    monkeypatch.setenv(lab.PASSCODE_ENV, "blue whale")
    at = open_page(LABEL)
    for attempt in range(1, webapp.PASSCODE_ATTEMPTS):
        at.text_input(key="team_passcode_input").input(f"guess {attempt}").run()
        assert f"{webapp.PASSCODE_ATTEMPTS - attempt} tries left" in at.error[0].value
    at.text_input(key="team_passcode_input").input("guess last").run()
    assert "Too many wrong passcodes" in at.error[0].value
    assert not at.text_input  # no box to try again in
    at.run()  # reloading the page does not help within the session
    assert "Too many wrong passcodes" in at.error[0].value and not at.text_input
    assert "Too many wrong passcodes" in open_page(LABEL).error[0].value  # nor does a new session
    webapp.passcode_guard.clear()  # the lockout has passed
    at.run()
    at.text_input(key="team_passcode_input").input("blue whale").run()
    assert not at.error and at.session_state["team_passcode"] == "blue whale"


def test_the_test_set_hides_the_teams_values_of_tracks_the_rater_has_not_rated(database):
    store = AudioStore()
    one, _ = lab.add_track(database, store, tone(300), "one.wav", "one", added_by="Bob")
    two, _ = lab.add_track(database, store, tone(500), "two.wav", "two", added_by="Bob")
    for track in (one, two):
        lab.save_rating(database, track.hash, "Bob", 0.9, 0.1)
    lab.save_rating(database, one.hash, "Ann", 0.7, 0.3)
    at = AppTest.from_file(TEST_SET, default_timeout=60)
    at.session_state["rater"] = "Ann"  # signed in on the Label page
    at.run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("title")
    assert float(table.loc["one", "valence_mean"]) == pytest.approx(0.8)
    assert (
        "0.9" not in " ".join(str(v) for v in table.loc["two"]) and "rate it first" in table.loc["two", "valence_mean"]
    )
    assert not any("Prepare the test set" in b.label for b in at.button)  # exports hold everyone's values
    assert not at.get("download_button")


def test_alpha_over_few_tracks_carries_a_caution_and_a_stale_zip_is_not_offered(database):
    three_tones_rated_by_two(database)
    at = open_page(TEST_SET)
    assert any("rough guess" in w.value and "3 track(s)" in w.value for w in at.warning)
    next(b for b in at.button if "Prepare the test set" in b.label).click().run()
    zips = lambda: [b for b in at.get("download_button") if "zip" in b.proto.label]  # noqa: E731
    assert [b.proto.label for b in zips()] == ["⬇️ Test set, 2+ raters (zip)"]
    at.number_input(key="min_raters").set_value(5).run()
    assert not zips()  # the 2+ zip no longer matches the page
    assert "prepare it again for 5+" in " ".join(c.value for c in at.caption)
