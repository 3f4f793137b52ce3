"""Collaborative labelling: storage, ratings, the aggregated test set, agreement, exports.

Every test runs against SQLite and, when EMOTIONET_TEST_PG_URL is set, PostgreSQL.
"""

from __future__ import annotations

import io
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from helpers_labelling import engine, tone  # noqa: F401 (engine: a fixture on every backend)

from emotionet.io.audio import AudioError
from emotionet.models.checkpoints import checkpoint_dir
from emotionet.team import labelling as lab
from emotionet.team.storage import AudioStore
from emotionet.training.dataset import read_manifest


@pytest.fixture
def store(tmp_path):
    return AudioStore(tmp_path / "audio")


def add(engine, store, frequency=440.0, title="", artist="", by="ann"):
    track, _ = lab.add_track(
        engine, store, tone(frequency), f"{title or frequency}.wav", title, artist, "synthetic", "CC0", by
    )
    return track


# --- Tracks ---


def test_a_track_is_stored_under_its_content_hash_with_its_details(engine, store):
    track, created = lab.add_track(engine, store, tone(), "song.wav", "Song", "Band", "field recording", "CC-BY", "ann")
    assert created
    assert (track.title, track.artist, track.source, track.licence, track.added_by) == (
        "Song",
        "Band",
        "field recording",
        "CC-BY",
        "ann",
    )
    assert track.duration_s == pytest.approx(3.0, abs=0.01)
    assert store.find(track.hash).read_bytes() == tone()
    assert [t.hash for t in lab.list_tracks(engine)] == [track.hash]


def test_a_duplicate_upload_is_recognised_and_not_stored_twice(engine, store):
    first, _ = lab.add_track(engine, store, tone(), "a.wav", "Original", added_by="ann")
    again, created = lab.add_track(engine, store, tone(), "copy.wav", "Copy", added_by="bob")
    assert not created
    assert again.hash == first.hash and again.title == "Original"
    assert len(lab.list_tracks(engine)) == 1
    assert len(list(store.root.rglob("*.wav"))) == 1


def test_the_uploaded_file_name_never_becomes_a_path(engine, store, tmp_path):
    track, _ = lab.add_track(engine, store, tone(), "../../outside.wav", added_by="ann")
    stored = store.find(track.hash)
    assert stored.parent.parent == store.root and stored.name == f"{track.hash}.wav"
    assert not (tmp_path.parent / "outside.wav").exists()
    assert track.title == "outside"  # the stem is only text


def test_audio_that_cannot_be_decoded_is_refused_and_not_stored(engine, store):
    with pytest.raises(AudioError):
        lab.add_track(engine, store, b"this is not audio" * 100, "broken.wav", added_by="ann")
    assert lab.list_tracks(engine) == []
    assert not store.root.exists() or not any(store.root.rglob("*.wav"))


def test_adding_a_track_needs_a_name(engine, store):
    with pytest.raises(lab.LabellingError, match="name"):
        lab.add_track(engine, store, tone(), "a.wav", added_by="  ")


# --- Ratings ---


def test_the_newest_rating_stands_and_the_history_is_kept(engine, store):
    track = add(engine, store)
    lab.save_rating(engine, track.hash, "ann", 0.2, 0.3)
    lab.save_rating(engine, track.hash, "ann", 0.7, 0.8, note="second listen")
    current = lab.current_ratings(engine)
    assert current[["rater", "valence", "arousal", "note"]].values.tolist() == [["ann", 0.7, 0.8, "second listen"]]
    history = lab.rating_history(engine, track.hash, "ann")
    assert history[["valence", "arousal"]].values.tolist() == [[0.2, 0.3], [0.7, 0.8]]


@pytest.mark.parametrize("valence, arousal", [(-0.01, 0.5), (0.5, 1.01), (float("nan"), 0.5), ("high", 0.5)])
def test_a_rating_outside_0_to_1_is_refused(engine, store, valence, arousal):
    track = add(engine, store)
    with pytest.raises(lab.LabellingError, match="between 0 and 1|number"):
        lab.save_rating(engine, track.hash, "ann", valence, arousal)
    assert lab.rating_history(engine).empty


def test_a_rating_of_an_unknown_track_is_refused(engine, store):
    with pytest.raises(lab.LabellingError, match="Unknown track"):
        lab.save_rating(engine, "0" * 64, "ann", 0.5, 0.5)
    assert lab.rating_history(engine).empty


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_rating_without_a_rater_name_is_refused(engine, store, name):
    track = add(engine, store)
    with pytest.raises(lab.LabellingError, match="name"):
        lab.save_rating(engine, track.hash, name, 0.5, 0.5)
    assert lab.list_raters(engine) == []


def test_rater_names_are_trimmed_so_one_person_is_one_rater(engine, store):
    track = add(engine, store)
    lab.save_rating(engine, track.hash, "Ann  Lee", 0.5, 0.5)
    lab.save_rating(engine, track.hash, " Ann Lee ", 0.6, 0.5)
    assert lab.list_raters(engine) == ["Ann Lee"]
    assert len(lab.current_ratings(engine)) == 1


def test_progress_counts_the_tracks_a_rater_has_rated(engine, store):
    tracks = [add(engine, store, f) for f in (300, 400, 500)]
    assert lab.progress(engine, "ann") == (0, 3)
    lab.save_rating(engine, tracks[1].hash, "ann", 0.5, 0.5)
    lab.save_rating(engine, tracks[1].hash, "ann", 0.6, 0.5)  # a change is not a second track
    lab.save_rating(engine, tracks[0].hash, "bob", 0.5, 0.5)
    assert lab.progress(engine, "ann") == (1, 3)
    assert lab.progress(engine, "bob") == (1, 3)


def test_next_unrated_follows_the_order_tracks_were_added(engine, store):
    a, b, c = (add(engine, store, f) for f in (300, 400, 500))
    lab.save_rating(engine, a.hash, "ann", 0.5, 0.5)
    assert lab.next_unrated(engine, "ann").hash == b.hash
    assert lab.next_unrated(engine, "ann", after=b.hash).hash == c.hash  # skipping the one on screen
    assert lab.next_unrated(engine, "ann", after=c.hash).hash == b.hash  # wraps around
    for track in (b, c):
        lab.save_rating(engine, track.hash, "ann", 0.5, 0.5)
    assert lab.next_unrated(engine, "ann") is None


# --- Concurrency ---


def test_simultaneous_saves_by_many_raters_lose_nothing(engine, store):
    tracks = [add(engine, store, f) for f in (300, 400, 500)]
    raters = [f"rater {i}" for i in range(8)]
    jobs = [(t.hash, r, round(0.1 * i % 1, 2)) for t in tracks for i, r in enumerate(raters)] * 2
    barrier = threading.Barrier(16)

    def save(job):
        track_hash, rater, value = job
        try:
            barrier.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass
        lab.save_rating(engine, track_hash, rater, value, 1 - value)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(save, jobs))
    assert len(lab.rating_history(engine)) == len(jobs)
    assert sorted(lab.list_raters(engine)) == sorted(raters)
    assert len(lab.current_ratings(engine)) == len(tracks) * len(raters)


def test_one_new_rater_saving_from_several_browsers_at_once_is_one_rater(engine, store):
    track = add(engine, store)
    barrier = threading.Barrier(8)

    def save(i):
        barrier.wait(timeout=5)
        lab.save_rating(engine, track.hash, "newcomer", i / 10, 0.5)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(save, range(8)))
    assert lab.list_raters(engine) == ["newcomer"]
    assert len(lab.rating_history(engine)) == 8


def test_the_same_file_uploaded_at_once_by_several_people_is_one_track(engine, store):
    barrier = threading.Barrier(6)

    def upload(i):
        barrier.wait(timeout=5)
        return lab.add_track(engine, store, tone(), f"copy{i}.wav", added_by=f"rater {i}")[1]

    with ThreadPoolExecutor(6) as pool:
        created = list(pool.map(upload, range(6)))
    assert created.count(True) == 1
    assert len(lab.list_tracks(engine)) == 1
    assert len([p for p in store.root.rglob("*") if p.is_file()]) == 1


# --- The test set ---


def rate(engine, track, ratings: dict[str, tuple[float, float]]):
    for rater, (v, a) in ratings.items():
        lab.save_rating(engine, track.hash, rater, v, a)


def test_the_aggregate_is_the_mean_of_current_ratings_with_its_mood(engine, store):
    happy, lonely = add(engine, store, 300, "Happy"), add(engine, store, 400, "Lonely")
    rate(engine, happy, {"ann": (0.1, 0.1), "bob": (0.8, 0.7), "cy": (0.7, 0.9)})
    lab.save_rating(engine, happy.hash, "ann", 0.9, 0.8)  # ann changes her mind: only this one counts
    rate(engine, lonely, {"ann": (0.2, 0.2)})
    table = lab.aggregate(engine).set_index("title")
    assert table.loc["Happy", "n_raters"] == 3
    assert table.loc["Happy", "valence_mean"] == pytest.approx(0.8)
    assert table.loc["Happy", "arousal_mean"] == pytest.approx(0.8)
    assert table.loc["Happy", "valence_std"] == pytest.approx(np.std([0.9, 0.8, 0.7], ddof=1))
    assert (table.loc["Happy", "mood"], table.loc["Happy", "quadrant"]) == ("happy", "Q1")
    assert table.loc["Lonely", "mood"] == "sad" and np.isnan(table.loc["Lonely", "valence_std"])
    assert list(lab.aggregate(engine, min_raters=2).title) == ["Happy"]


def test_agreement_is_krippendorffs_alpha_and_each_rater_is_held_against_the_others(engine, store):
    from emotionet.team.raters import team_raters

    tracks = [add(engine, store, f) for f in (300, 400, 500, 600)]
    base = [0.1, 0.4, 0.6, 0.9]
    for track, value in zip(tracks, base):  # bob rates 0.1 higher than ann; cy agrees with ann on valence
        rate(engine, track, {"ann": (value, value), "bob": (value + 0.1, 1 - value), "cy": (value, value)})
    result = lab.agreement(engine)
    assert result.n_tracks == 4 and result.n_raters == 3
    assert 0.8 < result.alpha_valence < 1  # consistent, with bob's small bias
    assert result.alpha_arousal < 0.2  # bob's arousal is reversed
    view = team_raters(engine).set_index("rater")  # against the mean of the other two
    assert view.loc["bob", "valence_offset"] == pytest.approx(0.1)
    assert view.loc["ann", "valence_offset"] == pytest.approx(-0.05)
    assert view.loc["bob", "valence_r"] == pytest.approx(1.0) and view.loc["bob", "arousal_r"] == pytest.approx(-1.0)


def test_agreement_of_raters_in_perfect_accord_is_one(engine, store):
    tracks = [add(engine, store, f) for f in (300, 400, 500)]
    for track, value in zip(tracks, (0.2, 0.5, 0.8)):
        rate(engine, track, {"ann": (value, value), "bob": (value, value)})
    result = lab.agreement(engine)
    assert result.alpha_valence == pytest.approx(1.0) and result.alpha_arousal == pytest.approx(1.0)


def test_agreement_without_shared_tracks_is_not_a_number(engine, store):
    a, b = add(engine, store, 300), add(engine, store, 400)
    rate(engine, a, {"ann": (0.2, 0.2)})
    rate(engine, b, {"bob": (0.8, 0.8)})
    result = lab.agreement(engine)
    assert np.isnan(result.alpha_valence) and result.n_tracks == 0
    from emotionet.team.raters import team_raters

    view = team_raters(engine)
    assert list(view.n_shared) == [0, 0] and view.valence_offset.isna().all()


# --- Export ---


def test_the_ratings_csv_holds_every_current_rating(engine, store):
    track = add(engine, store, title="Song")
    rate(engine, track, {"ann": (0.2, 0.3), "bob": (0.4, 0.5)})
    lab.save_rating(engine, track.hash, "ann", 0.25, 0.3, note="changed, with a comma")
    current = pd.read_csv(io.StringIO(lab.export_ratings_csv(engine)))
    assert sorted(current.rater) == ["ann", "bob"]
    assert current.set_index("rater").loc["ann", "note"] == "changed, with a comma"
    assert len(pd.read_csv(io.StringIO(lab.export_ratings_csv(engine, history=True)))) == 3


def test_the_exported_manifest_reads_back_as_a_training_manifest(engine, store, tmp_path):
    happy, sad, lone = add(engine, store, 300, "Happy", "Band"), add(engine, store, 400, "Sad"), add(engine, store, 500)
    rate(engine, happy, {"ann": (0.8, 0.9), "bob": (0.6, 0.7)})
    rate(engine, sad, {"ann": (0.2, 0.1), "bob": (0.3, 0.2)})
    rate(engine, lone, {"ann": (0.5, 0.5)})
    manifest = lab.export_manifest(engine, store, tmp_path / "export", min_raters=2)
    tracks = read_manifest(manifest)
    assert [(t.song_id, t.quadrant) for t in tracks] == [(happy.hash, 0), (sad.hash, 2)]
    assert tracks[0].valence == pytest.approx(0.7) and tracks[0].artist == "Band"
    for track in tracks:
        assert track.path.read_bytes() == store.find(track.song_id).read_bytes()
    rows = pd.read_csv(manifest)
    assert list(rows.path) == [f"audio/{happy.hash}.wav", f"audio/{sad.hash}.wav"]  # relative to the CSV
    assert list(rows.title) == ["Happy", "Sad"]


def test_exporting_with_no_track_rated_enough_is_refused(engine, store, tmp_path):
    rate(engine, add(engine, store), {"ann": (0.5, 0.5)})
    with pytest.raises(lab.LabellingError, match="nothing to export"):
        lab.export_manifest(engine, store, tmp_path / "export", min_raters=2)


def test_the_zip_holds_the_manifest_its_audio_and_the_ratings(engine, store, tmp_path):
    track = add(engine, store, title="Song")
    rate(engine, track, {"ann": (0.8, 0.9)})
    with zipfile.ZipFile(io.BytesIO(lab.export_zip(engine, store))) as archive:
        assert sorted(archive.namelist()) == ["audio/" + f"{track.hash}.wav", "manifest.csv", "ratings.csv"]
        archive.extractall(tmp_path / "unzipped")
    [read] = read_manifest(tmp_path / "unzipped" / "manifest.csv")
    assert read.path.read_bytes() == tone(440.0)


# --- Evaluation ---


class FixedModels:
    """A stand-in predictor: 'right' predicts the truth it is given, 'flipped' mirrors valence."""

    thresholds = (0.5, 0.5)

    def __init__(self, truth_by_hash):
        self.truth, self.calls = truth_by_hash, 0

    def analyze(self, path):
        self.calls += 1
        v, a = self.truth[path.stem]  # stored audio is named by its hash
        from emotionet.predict import Prediction

        p = lambda v, a: Prediction(valence=v, arousal=a, mood=lab.mood_of(v, a), confidence=0.5)  # noqa: E731
        return SimpleNamespace(headline="right", predictions={"right": p(v, a), "flipped": p(1 - v, a)})


def test_evaluation_scores_each_model_on_tracks_with_enough_raters(engine, store):
    happy, sad, lone = add(engine, store, 300, "Happy"), add(engine, store, 400, "Sad"), add(engine, store, 500, "Lone")
    rate(engine, happy, {"ann": (0.8, 0.9), "bob": (0.6, 0.7)})
    rate(engine, sad, {"ann": (0.2, 0.1), "bob": (0.3, 0.2)})
    rate(engine, lone, {"ann": (0.5, 0.5)})
    models = FixedModels({happy.hash: (0.7, 0.8), sad.hash: (0.25, 0.15), lone.hash: (0.5, 0.5)})
    seen = []
    result = lab.evaluate(engine, store, models, "k1", min_raters=2, on_progress=lambda i, n: seen.append((i, n)))
    assert result.n == 2 and seen == [(1, 2), (2, 2)]
    assert result.metrics["right"]["mse"] == pytest.approx(0) and result.metrics["right"]["accuracy"] == 1
    assert result.metrics["flipped"]["accuracy"] == 0
    assert result.metrics["flipped"]["confusion"][0][1] == 1  # happy taken for aggressive
    assert list(result.predictions.title) == ["Happy", "Sad"]
    assert lab.evaluate(engine, store, models, "k1").n == 2 and models.calls == 2  # the stored answers, not a rerun


@pytest.mark.skipif(not (checkpoint_dir() / "config.json").exists(), reason="no trained checkpoints")
def test_evaluation_on_the_page_matches_the_command_line_on_the_export(engine, store, tmp_path):
    from emotionet.cli import evaluate_manifest
    from emotionet.predict import Predictor

    for frequency, values in ((220, (0.3, 0.2)), (440, (0.7, 0.8)), (880, (0.8, 0.3))):
        rate(engine, add(engine, store, frequency), {"ann": values, "bob": (values[0] + 0.1, values[1])})
    result = lab.evaluate(engine, store, Predictor.load(), "shipped", min_raters=2)
    command_line = evaluate_manifest(lab.export_manifest(engine, store, tmp_path / "export", 2), workers=1)
    assert command_line["n"] == result.n == 3
    for model, metrics in result.metrics.items():
        assert metrics["mse"] == pytest.approx(command_line[model]["mse"], abs=1e-6)
        assert metrics["confusion"] == command_line[model]["confusion"]


# --- Hostile text ---


def test_nul_and_control_characters_are_stripped_from_what_is_stored(engine, store):
    track, _ = lab.add_track(
        engine, store, tone(610), "a\x00b.wav", "Ti\x00tle\x1b[31m", "Art\x00ist", "so\u202eurce", "CC\x07", "ann\x00"
    )
    assert (track.title, track.artist, track.source, track.licence) == ("Title[31m", "Artist", "source", "CC")
    assert track.added_by == "ann" and track.filename == "ab.wav"
    lab.save_rating(engine, track.hash, "ann", 0.5, 0.5, note="line one\r\nline\x00 two\x1b")
    assert lab.current_ratings(engine).note.tolist() == ["line one\nline two"]


def test_a_huge_note_is_refused_and_nothing_is_saved(engine, store):
    track = add(engine, store)
    with pytest.raises(lab.LabellingError, match="at most"):
        lab.save_rating(engine, track.hash, "ann", 0.5, 0.5, note="x" * 1_000_000)
    assert lab.current_ratings(engine).empty
    lab.save_rating(engine, track.hash, "ann", 0.5, 0.5, note="x" * lab.MAX_NOTE)  # the cap itself is fine


def test_a_failed_add_leaves_no_orphan_audio_file(engine, store, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(lab, "insert_ignoring_duplicates", broken)
    with pytest.raises(RuntimeError):
        lab.add_track(engine, store, tone(620), "x.wav", added_by="ann")
    assert not store.root.exists() or not list(store.root.rglob("*.wav"))
    monkeypatch.undo()
    kept = add(engine, store, 630)  # a file that was stored before a failed re-add stays
    monkeypatch.setattr(lab, "insert_ignoring_duplicates", broken)
    with pytest.raises(RuntimeError):
        lab.add_track(engine, store, tone(630), "x.wav", added_by="ann")
    assert store.find(kept.hash) is not None


@pytest.mark.parametrize("evil", ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)"])
def test_exported_csv_cells_are_never_formulas(engine, store, tmp_path, evil):
    track, _ = lab.add_track(engine, store, tone(640), "e.wav", evil, evil, evil, evil, "ann")
    lab.save_rating(engine, track.hash, evil, 0.5, 0.5, note=evil)
    ratings = pd.read_csv(io.StringIO(lab.export_ratings_csv(engine)))
    manifest = pd.read_csv(lab.export_manifest(engine, store, tmp_path / "export"))
    cells = [
        *ratings[["title", "artist", "rater", "note"]].iloc[0],
        *manifest[["title", "artist", "source", "licence"]].iloc[0],
    ]
    assert cells == ["'" + evil] * 8
