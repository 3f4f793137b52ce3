"""The Label and Test set pages, driven like a browser with Streamlit's AppTest: two raters add and
rate tracks, the test set aggregates them and exports them, and a sign-in keeps strangers out and
says who is rating (issue 34)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from helpers_labelling import database_url, tone
from streamlit.testing.v1 import AppTest

from emotionet.models.checkpoints import checkpoint_dir
from emotionet.team import accounts as acc
from emotionet.team import labelling as lab
from emotionet.team.storage import AudioStore, make_engine
from emotionet.training.dataset import read_manifest

PAGES = Path(__file__).resolve().parent.parent / "app_pages"
LABEL, TEST_SET = str(PAGES / "label.py"), str(PAGES / "test_set.py")

# .streamlit/config.toml hides error details from visitors; a failing test should show them.
from streamlit import config as _streamlit_config  # noqa: E402

_streamlit_config.set_option("client.showErrorDetails", "full")


@pytest.fixture(params=["sqlite"])
def database(request, tmp_path, monkeypatch):
    """A fresh data folder and database for the pages; yields an engine on the same database. SQLite
    only: what the pages store and read goes through team.labelling and team.accounts, whose tests
    run on PostgreSQL too (issue 32: PostgreSQL for the storage tests)."""
    url, cleanup = database_url(request.param, tmp_path)
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMOTIONET_DB_URL", url)
    from emotionet.app import signin, uploads

    signin.throttle.clear()  # the server's count of wrong secrets starts at nothing
    uploads.upload_guard.clear()  # every AppTest is "test session id": start its upload allowance afresh
    engine = make_engine(url)
    yield engine
    engine.dispose()
    cleanup()


def open_page(path: str) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


SECRET = "a long blue whale"


def join(engine, name: str, role: str = acc.COORDINATOR) -> acc.Member:
    """`name` on the team, with SECRET as their secret (as after opening their personal link)."""
    _, token = acc.invite(engine, name, role)
    return acc.accept_invite(engine, token, SECRET, SECRET)


def sign_in(name: str, page: str = LABEL, role: str = acc.COORDINATOR, secret: str = SECRET) -> AppTest:
    """Open `page` and sign in as `name` (put on the team first, as `role`, if they are not)."""
    from emotionet.team.storage import make_engine

    engine = make_engine()
    if acc.account_id(engine, name) is None:
        join(engine, name, role)
    engine.dispose()
    at = open_page(page)
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_secret").input(secret)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def signed_in_as(at: AppTest) -> str | None:
    from emotionet.app import signin

    cookie = at.session_state["sign_in_cookie"] if "sign_in_cookie" in at.session_state else None
    from emotionet.team.storage import make_engine

    engine = make_engine()
    found = acc.signed_in(engine, acc.server_key(), cookie)
    engine.dispose()
    assert signin.SESSION_COOKIE  # the cookie the browser keeps
    return found.name if found else None


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

    bob = sign_in("Bob", role=acc.RATER)
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

    test_set = sign_in("Ann", TEST_SET)  # a coordinator: every mean
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


def test_a_rater_rates_under_their_own_name_only_whatever_the_url_says(database):
    join(database, "Ann")
    join(database, "Ben", acc.RATER)
    at = AppTest.from_file(LABEL, default_timeout=60)
    at.query_params["rater"] = "Ann"  # the old way to pick a name: a link with ?rater=
    at.run()
    assert [t.label for t in at.text_input] == ["Your name", "Your secret"] and not at.slider
    at.text_input(key="sign_in_name").input("Ben")
    at.text_input(key="sign_in_secret").input(SECRET)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert signed_in_as(at) == "Ben"
    lab.add_track(database, AudioStore(), tone(300), "song.wav", added_by="Ann")
    at.run()
    assert not at.file_uploader  # a rater adds no tracks: coordinators do
    assert not any(s.label in ("Your name", "Who is looking?") for s in (*at.selectbox, *at.text_input))
    rate(at, 0.3, 0.4)
    assert lab.current_ratings(database).rater.tolist() == ["Ben"]


def test_a_wrong_secret_opens_nothing_and_no_team_says_how_to_start(database):
    for page in (LABEL, TEST_SET):
        at = open_page(page)
        assert "team add-coordinator NAME" in at.info[0].value and not at.text_input
    join(database, "Ann")
    at = sign_in("Ann", secret="not the secret")
    assert "do not match" in at.error[0].value and "4 more tries" in at.error[0].value
    assert [t.label for t in at.text_input] == ["Your name", "Your secret"]
    assert not (at.file_uploader or at.dataframe or at.slider or at.selectbox)
    assert signed_in_as(at) is None


def test_a_changed_rating_replaces_the_old_one_and_both_stay_in_the_history(database):
    at = sign_in("Ann")
    upload(at, [("song.wav", tone(300))])
    rate(at, 0.2, 0.3)
    rate(at, 0.6, 0.7)
    assert progress_text(at) == "1 of 1 rated"
    history = next(e for e in at.expander if "history" in e.label).dataframe[0].value
    assert history[["valence", "arousal"]].values.tolist() == [[0.2, 0.3], [0.6, 0.7]]
    assert lab.current_ratings(database)[["valence", "arousal"]].values.tolist() == [[0.6, 0.7]]


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
    at = sign_in("Cy", TEST_SET)
    at.number_input(key="min_raters").set_value(3).run()
    next(b for b in at.button if "Run the models" in b.label).click().run()
    assert not at.exception and not at.error
    evaluation = at.session_state["evaluation"]
    assert evaluation.n == 1 and set(evaluation.metrics) >= {"cnn", "svr"}
    assert any({"MSE", "mood accuracy"} <= set(d.value.columns) for d in at.dataframe)


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


def test_wrong_secrets_make_that_name_and_session_wait(database):
    """(Every AppTest is one session id: a teammate in another browser is tests/test_team_server.py's.)"""
    join(database, "Ann")
    join(database, "Ben", acc.RATER)
    at = open_page(LABEL)
    for attempt in range(1, acc.FREE_TRIES + 1):
        at.text_input(key="sign_in_name").input("Ann")
        at.text_input(key="sign_in_secret").input(f"guess number {attempt}")
        next(b for b in at.button if b.label == "Sign in").click().run()
    assert "Try again in 30 seconds" in at.error[0].value
    at.text_input(key="sign_in_name").input("Ann")
    at.text_input(key="sign_in_secret").input(SECRET)  # even the right one waits, in this session
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert "Too many wrong tries" in at.error[0].value and signed_in_as(at) is None
    from emotionet.app import signin

    signin.throttle.clear()  # the wait has passed
    assert signed_in_as(sign_in("Ann")) == "Ann"


def test_the_test_set_hides_the_teams_values_of_tracks_the_rater_has_not_rated(database):
    store = AudioStore()
    one, _ = lab.add_track(database, store, tone(300), "one.wav", "one", added_by="Bob")
    two, _ = lab.add_track(database, store, tone(500), "two.wav", "two", added_by="Bob")
    for track in (one, two):
        lab.save_rating(database, track.hash, "Bob", 0.9, 0.1)
    lab.save_rating(database, one.hash, "Ann", 0.7, 0.3)
    at = sign_in("Ann", TEST_SET, role=acc.RATER)
    table = at.dataframe[0].value.set_index("title")
    assert float(table.loc["one", "valence_mean"]) == pytest.approx(0.8)
    assert (
        "0.9" not in " ".join(str(v) for v in table.loc["two"]) and "rate it first" in table.loc["two", "valence_mean"]
    )
    assert not any("Prepare the test set" in b.label for b in at.button)  # exports hold everyone's values
    assert not at.get("download_button")


def test_alpha_over_few_tracks_carries_a_caution_and_a_stale_zip_is_not_offered(database):
    three_tones_rated_by_two(database)
    at = sign_in("Cy", TEST_SET)
    assert any("rough guess" in w.value and "3 track(s)" in w.value for w in at.warning)
    next(b for b in at.button if "Prepare the test set" in b.label).click().run()
    zips = lambda: [b for b in at.get("download_button") if "zip" in b.proto.label]  # noqa: E731
    assert [b.proto.label for b in zips()] == ["⬇️ Test set, 2+ raters (zip)"]
    at.number_input(key="min_raters").set_value(5).run()
    assert not zips()  # the 2+ zip no longer matches the page
    assert "prepare it again for 5+" in " ".join(c.value for c in at.caption)
