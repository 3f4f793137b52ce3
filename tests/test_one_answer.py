"""One clip, one answer (issue 25): the headline verdict, the whole-song mood, every section and
the mood arc come from one decision rule, so a clip is never called two things; a close call is said
as one answer ("calm, close to sad"); a clip shorter than the models' window says so."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emotionet.mood import MOODS, Calibration, close_to, mood_of, say
from emotionet.predict import Predictor
from tests import demo_song
from tests.conftest import synth, write_audio


@pytest.fixture(scope="module")
def predictor(shipped_checkpoints):
    return Predictor.load()


CLIPS = {  # name -> (seconds, samples): varied music, lengths and one two-part song
    "chord 30 s": synth(30.0, kind="chord", seed=1),
    "dark 30 s": synth(30.0, kind="dark", seed=2),
    "chord 12 s": synth(12.0, kind="chord", seed=3),
    "dark 20 s": synth(20.0, kind="dark", seed=4),
    "pad 30 s": demo_song.pad(30.0),
    "riff 25 s": demo_song.riff(25.0),
    "pad then riff": demo_song.song([("pad", 30), ("riff", 30)]),
}


@pytest.mark.parametrize("name", list(CLIPS))
def test_the_song_its_sections_and_the_verdict_never_name_two_moods(predictor, tmp_path, name):
    path = write_audio(tmp_path / "clip.wav", CLIPS[name])
    analysis = predictor.analyze(path)
    head = analysis.predictions[analysis.headline]
    song = analysis.song
    assert song.mood == head.mood
    assert (song.valence, song.arousal) == pytest.approx((head.valence, head.arousal), abs=1e-9)
    if len(song.sections) == 1:
        (section,) = song.sections
        assert section.mood == head.mood
        assert (section.valence, section.arousal) == pytest.approx((head.valence, head.arousal), abs=1e-9)
        assert section.close_to == head.close_to
        assert song.arc == f"{head.mood.capitalize()} throughout."
        for model, p in analysis.predictions.items():  # the other models' section rows too
            if model != analysis.headline:
                assert section.extra["models"][model]["mood"] == p.mood
    else:
        assert name == "pad then riff"
    for point in [head, song, *song.sections]:  # each word is its point's quadrant around the one centre
        assert point.mood == mood_of(point.valence, point.arousal, predictor.thresholds)


def test_a_song_of_several_sections_is_shown_as_the_mood_it_spends_most_time_in(predictor, tmp_path):
    path = write_audio(tmp_path / "two parts.wav", CLIPS["pad then riff"])
    result = predictor.analyze(path).to_dict()
    assert len(result["sections"]) == 2
    head = result[result["headline"]]
    assert result["song"]["mood"] == head["mood"] and result["song"]["said"].split(":")[0] in ("mixed", head["mood"])
    moods = [w[result["headline"]]["mood"] for w in result["timeline"]]
    assert head["share"] == pytest.approx(moods.count(head["mood"]) / len(moods), abs=1e-3)
    assert moods.count(head["mood"]) == max(moods.count(m) for m in moods)


def test_analyze_json_gives_one_mood_per_file_from_the_command_line(tmp_path, cli_run):
    files = [write_audio(tmp_path / f"{i}.wav", y) for i, y in enumerate(list(CLIPS.values())[:4])]
    out = cli_run("analyze", *files, "--json")
    assert out.returncode == 0, out.stderr
    for line in out.stdout.splitlines():
        result = json.loads(line)
        head = result[result["headline"]]
        assert result["song"]["mood"] == head["mood"]
        assert result["song"]["close_to"] == head["close_to"]
        if len(result["sections"]) == 1:
            assert result["sections"][0]["mood"] == head["mood"]


def test_a_clip_shorter_than_the_models_window_carries_a_warning(predictor, tmp_path):
    short = predictor.analyze(write_audio(tmp_path / "short.wav", synth(1.5)))
    assert any("only 1.5 s long" in w and "10 s at a time" in w for w in short.warnings)
    assert "only 1.5 s long" in " ".join(short.to_dict()["warnings"])
    long_enough = predictor.analyze(write_audio(tmp_path / "long.wav", synth(12.0)))
    assert not any("s long:" in w for w in long_enough.warnings)


def test_a_point_near_one_boundary_is_close_to_the_mood_across_it():
    cal = Calibration(sigma_valence=0.1, sigma_arousal=0.1)
    assert close_to(cal, 0.62, 0.30, (0.6, 0.6)) == "sad"  # calm, just right of the valence boundary
    assert close_to(cal, 0.58, 0.30, (0.6, 0.6)) == "calm"  # sad, just left of it
    assert close_to(cal, 0.90, 0.61, (0.6, 0.6)) == "calm"  # happy, just above the arousal boundary
    assert close_to(cal, 0.40, 0.62, (0.6, 0.6)) == "sad"  # aggressive, just above it
    assert close_to(cal, 0.90, 0.90, (0.6, 0.6)) is None  # far from both: one sure mood


def test_a_close_call_is_the_neighbour_at_least_half_as_likely_as_the_mood_shown():
    from emotionet.mood import _phi

    cal = Calibration(sigma_valence=0.1, sigma_arousal=0.1)
    for distance in np.linspace(0.0, 0.2, 41):
        side = _phi(distance / 0.1)  # probability the valence side shown is right
        said = close_to(cal, 0.6 + distance, 0.1, (0.6, 0.6))  # arousal far below: sure of it
        assert (said == "sad") == ((1 - side) / side > 0.5 + 1e-12), distance
        assert said in (None, "sad")


def test_every_close_call_names_a_neighbouring_mood_never_the_opposite_one():
    cal = Calibration(sigma_valence=0.12, sigma_arousal=0.08)
    opposite = {"happy": "sad", "sad": "happy", "calm": "aggressive", "aggressive": "calm"}
    for v in np.linspace(0.3, 0.9, 25):
        for a in np.linspace(0.3, 0.9, 25):
            mood, close = mood_of(v, a, (0.6, 0.6)), close_to(cal, v, a, (0.6, 0.6))
            assert close is None or (close in MOODS and close not in (mood, opposite[mood]))


def test_the_answer_in_words_is_one_answer():
    assert say("calm") == "calm"
    assert say("calm", "sad") == "calm, close to sad"


@pytest.mark.parametrize("name", ["dark 20 s", "pad then riff"])
def test_label_shows_a_tracks_models_as_analyze_does(predictor, tmp_path, name):
    """Label's table of a team track is Analyze's table of the same file, close calls and a song's
    shares included (it used to store only each mood and show "😠 aggressive" for a mixed song)."""
    from emotionet.app.naming import model_rows
    from emotionet.predict import Prediction
    from emotionet.team import labelling, storage
    from emotionet.team import predictions as answers

    path = write_audio(tmp_path / "track.wav", CLIPS[name])
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'team.db'}")
    store = storage.AudioStore(tmp_path / "audio")
    track, _ = labelling.add_track(engine, store, path.read_bytes(), "track.wav", added_by="Ana")
    analysis = predictor.analyze(path)
    for _ in range(2):  # run and stored, then read back from the database
        known = answers.predict_track(engine, store, predictor, "k", track.hash)
        shown = model_rows({n: Prediction.from_dict(a) for n, a in known["models"].items()}, known["headline"])
        assert shown == model_rows(analysis.predictions, analysis.headline)
    if name == "pad then riff":  # a song of two moods: the table says its share, as Analyze does
        assert "%" in shown[0]["mood"], shown[0]
    engine.dispose()
    old = Prediction.from_dict({"valence": 0.7, "arousal": 0.2, "mood": "calm", "confidence": 0.5})  # a row from before
    assert (old.close_to, old.shares, old.mixed) == (None, None, False)


def test_the_mood_centre_in_the_json_is_no_model(predictor, tmp_path):
    """Readers find the models as the entries with a valence (the library's model list, the sections CSV):
    the mood centre the JSON states must not look like one."""
    result = predictor.analyze(write_audio(tmp_path / "c.wav", synth(12.0))).to_dict()
    assert result["mood_centre"] == pytest.approx(list(predictor.thresholds), abs=1e-4)
    models = {k for k, v in result.items() if isinstance(v, dict) and "valence" in v and k != "song"}
    assert models == set(predictor.model_names)
