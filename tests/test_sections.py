"""Sections: a boundary where the song changes, each section's mood, the song summary and its arc."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf

from emotionet import features
from emotionet.analysis import sections as sec
from emotionet.mood import Calibration, mood_of
from tests import demo_song


def blocks(changes_s: list[float], duration_s: float, dims: int = 8, rate: float = 2.0, seed: int = 0) -> sec.Series:
    """A series of noisy frames whose mean jumps to a new random level at each change."""
    rng = np.random.default_rng(seed)
    times = np.arange(0, duration_s, 1 / rate)
    level = np.searchsorted(changes_s, times, side="right")
    means = rng.standard_normal((len(changes_s) + 1, dims)) * 3
    return sec.Series(means[level] + rng.standard_normal((len(times), dims)), times)


def test_a_change_in_the_series_is_a_boundary():
    spans, curve = sec.segment([blocks([60.0], 120.0)], 120.0)
    assert len(spans) == 2
    assert spans[0][1] == pytest.approx(60.0, abs=2.0)
    assert spans[0][0] == 0.0 and spans[-1][1] == 120.0
    assert curve.max() > 0.5


def test_a_uniform_series_stays_one_section():
    rng = np.random.default_rng(1)
    times = np.arange(0, 180, 0.5)
    spans, curve = sec.segment([sec.Series(rng.standard_normal((len(times), 8)), times)], 180.0)
    assert spans == [(0.0, 180.0)]
    assert curve.max() < sec.THRESHOLD


def test_min_length_and_cap_on_the_count():
    changes = [float(c) for c in range(6, 240, 6)]  # a change every 6 s
    spans, _ = sec.segment([blocks(changes, 240.0)], 240.0, min_section_s=10.0, max_sections=5)
    assert len(spans) <= 5
    assert all(end - start >= 10.0 for start, end in spans)
    big = [30.0, 90.0, 150.0]
    spans, _ = sec.segment([blocks(big, 200.0)], 200.0, max_sections=8)
    found = [end for _, end in spans[:-1]]
    assert len(found) == 3 and np.allclose(found, big, atol=2.0)


def test_a_short_clip_is_one_section_and_series_can_be_combined():
    assert sec.segment([blocks([5.0], 15.0)], 15.0)[0] == [(0.0, 15.0)]
    # a change that only one of two series shows is still found (each series gets one vote)
    quiet = sec.Series(np.random.default_rng(3).standard_normal((240, 4)), np.arange(240) / 2)
    spans, _ = sec.segment([blocks([50.0], 120.0), quiet], 120.0)
    assert [round(e) for _, e in spans[:-1]] == pytest.approx([50], abs=2)


def test_overlap_means_weigh_windows_by_seconds_inside():
    starts, ends = [0.0, 5.0, 10.0], [10.0, 15.0, 20.0]
    values = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    out = sec.overlap_means([(0.0, 5.0), (5.0, 20.0)], starts, ends, values)
    np.testing.assert_allclose(out[0], [0.0, 1.0])  # only window 0 overlaps 0-5
    # 5-20: window 0 has 5 s inside, window 1 10 s, window 2 10 s
    np.testing.assert_allclose(out[1], [(0 * 5 + 1 * 10 + 1 * 10) / 25, (5 + 10 + 0) / 25])
    far = sec.overlap_means([(30.0, 40.0)], starts, ends, values)  # no overlap: the nearest window
    np.testing.assert_allclose(far[0], [1.0, 0.0])


def test_summary_is_duration_weighted_with_moods_and_confidence():
    spans = [(0.0, 30.0), (30.0, 120.0)]
    song = sec.summarise(spans, [[0.7, 0.3], [0.3, 0.7]], calibration=Calibration(sigma_valence=0.1, sigma_arousal=0.1))
    assert [s.mood for s in song.sections] == ["calm", "aggressive"]
    assert song.valence == pytest.approx((0.7 * 30 + 0.3 * 90) / 120)
    assert song.arousal == pytest.approx((0.3 * 30 + 0.7 * 90) / 120)
    assert song.mood == "aggressive"
    assert 0.25 <= song.confidence <= 1 and song.sections[0].confidence > 0.9
    assert song.arc == "Calm intro, aggressive from 0:30."
    d = song.to_dict()
    assert d["sections"][1] == {
        "start_s": 30.0,
        "end_s": 120.0,
        "start": "0:30",
        "valence": 0.3,
        "arousal": 0.7,
        "mood": "aggressive",
        "close_to": None,  # 0.2 from both boundaries, 2 sigma: a sure mood
        "confidence": pytest.approx(0.9545, abs=1e-3),
    }


def section(mood: str, start: float, end: float) -> sec.Section:
    return sec.Section(start, end, 0.5, 0.5, mood)


def test_mood_arc_words():
    assert sec.mood_arc([section("calm", 0, 100), section("calm", 100, 200)]) == "Calm throughout."
    assert sec.mood_arc([section("happy", 0, 120), section("sad", 120, 180), section("happy", 180, 300)]) == (
        "Happy at first, sad from 2:00, back to happy from 3:00."
    )
    assert sec.mood_arc([section("sad", 0, 200), section("calm", 200, 220)]) == "Sad at first, calm ending from 3:20."
    assert sec.clock(72) == "1:12" and sec.clock(3723) == "1:02:03"
    assert sec.mood_arc([]) == ""


def test_the_song_grid_stays_small_for_an_hour():
    assert sec.grid_step(240) == 1.0
    hour = 3600.0
    series = blocks([1800.0], hour, dims=4, rate=1.0)
    spans, curve = sec.segment([series], hour, min_section_s=60.0)
    assert len(curve) <= sec.MAX_GRID + 1
    assert spans[0][1] == pytest.approx(1800.0, abs=10.0)


def test_synthetic_song_features_put_a_boundary_at_the_change():
    """60 s of a slow quiet pad then 60 s of loud fast riffs: librosa features alone find the change."""
    y = demo_song.song([("pad", 60), ("riff", 60)])
    spans, _ = sec.segment([sec.feature_series(features.compute_features(y))], len(y) / 22050)
    assert len(spans) == 2 and spans[0][1] == pytest.approx(60.0, abs=3.0)


@pytest.fixture(scope="module")
def pad_then_riff_analysis(shipped_checkpoints):
    """The real models end to end on a 2-minute synthetic song (decoded from WAV bytes): the
    predictor's own whole-song default, no `seconds`."""
    from emotionet.predict import Predictor

    predictor = Predictor.load(shipped_checkpoints)
    buffer = io.BytesIO()
    sf.write(buffer, demo_song.song([("pad", 60), ("riff", 60)]), 22050, format="WAV")
    events = []
    result = predictor.analyze(
        buffer.getvalue(),
        name="pad_then_riff.wav",
        progress=lambda fraction, message: events.append((fraction, message)),
    )
    result.progress_events = events
    return predictor, result


def test_real_models_split_the_song_at_the_change_with_arousal_on_both_sides(pad_then_riff_analysis):
    predictor, result = pad_then_riff_analysis
    song = result.song
    assert len(song.sections) == 2
    assert song.sections[0].end_s == pytest.approx(60.0, abs=3.0)
    calm, loud = song.sections
    assert calm.arousal < 0.5 < loud.arousal, (calm, loud)  # the headline model (pretrained)
    cnn_calm, cnn_loud = (s.extra["models"].get("cnn") for s in song.sections)
    assert cnn_calm["arousal"] < cnn_loud["arousal"]
    assert "from 1:00" in song.arc
    assert result.start_s == 0.0 and result.end_s == pytest.approx(120.0, abs=0.1)  # whole song by default
    # half and half: no mood holds half of the song's windows, so it is said as mixed, naming both
    assert song.mixed and set(list(song.shares)[:2]) == {calm.mood, loud.mood}
    assert result.predictions[predictor.headline].said.startswith("mixed: ")


def test_a_song_of_several_sections_is_answered_by_what_its_windows_carry(pad_then_riff_analysis):
    """The verdict, the models' table and the song agree (issue 30): every model's answer is the mood
    most of its windows carry, at the mean of those windows, with each mood's share; each section's
    mood is the mood most of its windows carry."""
    predictor, result = pad_then_riff_analysis
    song, d = result.song, result.to_dict()
    lead = result.predictions[predictor.headline]
    assert (lead.valence, lead.arousal, lead.mood) == (song.valence, song.arousal, song.mood)
    assert lead.confidence == pytest.approx(song.confidence)
    for name, p in result.predictions.items():
        moods = [w[name]["mood"] for w in d["timeline"]]
        assert p.shares == pytest.approx({m: moods.count(m) / len(moods) for m in set(moods)})
        assert moods.count(p.mood) == max(moods.count(m) for m in moods)
        assert p.mood == mood_of(p.valence, p.arousal, predictor.thresholds)
    centre = np.array([(w["start_s"] + w["end_s"]) / 2 for w in d["timeline"]])
    for section in d["sections"]:
        inside = [
            w["pretrained"]["mood"]
            for w, c in zip(d["timeline"], centre)
            if section["start_s"] <= c <= section["end_s"]
        ]
        assert inside.count(section["mood"]) == max(inside.count(m) for m in inside)
    assert d[predictor.headline]["mood"] == d["song"]["mood"] and d["song"]["shares"] == d[predictor.headline]["shares"]


def test_progress_is_reported_for_every_decoded_block(pad_then_riff_analysis):
    _, result = pad_then_riff_analysis
    fractions = [f for f, _ in result.progress_events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    blocks = [m for _, m in result.progress_events if m.startswith("listening")]
    assert len(blocks) == 12 and blocks[-1] == "listening: 2:00 of 2:00"  # 10 s blocks, features and musicnn each


def test_whole_song_json_keeps_the_old_keys_and_adds_sections_and_tags(pad_then_riff_analysis):
    predictor, result = pad_then_riff_analysis
    d = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    old = {"file", "duration_s", "analysed", "headline", "cnn", "svr", "timeline", "warnings", "pretrained"}
    assert old <= set(d) and {"architecture", "valence", "arousal", "mood", "confidence"} <= set(d["cnn"])
    assert {"song", "sections", "hears", "explanation"} <= set(d)
    assert d["song"]["model"] == predictor.headline
    assert {"start_s", "end_s", "valence", "arousal", "mood", "confidence", "hears", "models"} <= set(d["sections"][0])
    assert d["hears"] and all(word.strip() for word in d["hears"].split(","))
    assert len(d["timeline"]) >= 20  # 10 s windows over the whole 120 s, not a 45 s excerpt


def test_section_moods_come_from_the_same_timeline_windows(pad_then_riff_analysis):
    """A section's other-model values are the overlap-weighted means of that model's windows."""
    _, result = pad_then_riff_analysis
    early = [w["cnn"]["arousal"] for w in result.timeline if w["end_s"] <= 60]
    assert result.song.sections[0].extra["models"]["cnn"]["arousal"] == pytest.approx(np.mean(early), abs=0.05)


def test_the_file_is_decoded_once_and_musicnn_runs_once_over_it(shipped_checkpoints, monkeypatch):
    """Sections and the explanation cost no second decode and no second musicnn pass; with
    `seconds` the excerpt's sections are in file time."""
    from emotionet.io import audio
    from emotionet.models import pretrained
    from emotionet.predict import Predictor

    predictor = Predictor.load(shipped_checkpoints)
    opened, patches = [], []
    real_open, real_run = audio.open_excerpt, pretrained.PatchEmbedder._run
    monkeypatch.setattr(audio, "open_excerpt", lambda *a, **k: opened.append(k.get("seconds")) or real_open(*a, **k))
    monkeypatch.setattr(pretrained.PatchEmbedder, "_run", lambda self, p: patches.append(len(p)) or real_run(self, p))
    buffer = io.BytesIO()
    sf.write(buffer, demo_song.song([("pad", 30), ("riff", 30)]), 22050, format="WAV")
    whole = predictor.analyze(buffer.getvalue(), name="a.wav")
    assert opened == [None] and sum(patches) == 20  # 60 s: 20 patches of 3 s, each embedded once
    assert whole.song is not None and whole.explanation is not None
    opened.clear()
    part = predictor.analyze(buffer.getvalue(), name="a.wav", seconds=40)
    assert opened == [40] and part.start_s == pytest.approx(10.0, abs=0.01)
    assert part.song.sections[0].start_s == pytest.approx(10.0, abs=0.01)
    assert part.song.sections[-1].end_s == pytest.approx(50.0, abs=0.1)


# --------------------------------------------------------------------------- named by what they hold (issue 30)


def windows_of(moods: list[str], hop: float = 5.0, width: float = 10.0):
    """Windows (start, end) every `hop` s and a point in each named mood's quadrant around (0.5, 0.5)."""
    points = {"happy": (0.7, 0.7), "aggressive": (0.3, 0.7), "sad": (0.3, 0.3), "calm": (0.7, 0.3)}
    win = [(i * hop, i * hop + width) for i in range(len(moods))]
    return win, np.array([points[m] for m in moods]), (len(moods) - 1) * hop + width


def test_a_section_is_named_by_the_mood_most_of_its_windows_carry():
    """A section of 4 calm and 2 sad windows is calm, at the mean of its calm windows (never a mean point
    that falls between two moods)."""
    win, values, duration = windows_of(["calm", "sad", "calm", "calm", "sad", "calm"])
    song = sec.summarise([(0.0, duration)], [[0.45, 0.45]], win_s=win, window_values=values, duration_s=120)
    (section,) = song.sections
    assert section.mood == "calm" and section.share == pytest.approx(4 / 6)
    assert (section.valence, section.arousal) == pytest.approx((0.7, 0.3))


def test_a_mood_change_that_lasts_is_a_boundary_and_a_short_one_is_not():
    win, values, duration = windows_of(["sad"] * 12 + ["happy"] + ["sad"] * 11 + ["happy"] * 24)
    moods = [mood_of(v, a) for v, a in values]
    assert sec.mood_changes(win, moods, duration) == [pytest.approx(122.5)]  # one 10 s happy window is no change
    spans = sec.mood_spans([(0.0, duration)], np.zeros(1), 1.0, win, moods, duration)
    song = sec.summarise(spans, np.zeros((len(spans), 2)), win_s=win, window_values=values, duration_s=duration)
    assert [s.mood for s in song.sections] == ["sad", "happy"]
    assert song.mood == "happy" and not song.mixed and song.shares["happy"] == pytest.approx(25 / 48)


def test_a_song_no_mood_holds_half_of_is_mixed_and_says_its_shares():
    moods = ["aggressive"] * 18 + ["calm"] * 14 + ["happy"] * 9 + ["sad"] * 7
    win, values, duration = windows_of(moods)
    spans = sec.mood_spans([(0.0, duration)], np.zeros(1), 1.0, win, moods, duration)
    song = sec.summarise(spans, np.zeros((len(spans), 2)), win_s=win, window_values=values, duration_s=duration)
    assert song.mixed and song.mood == "aggressive"
    assert song.shares == pytest.approx({"aggressive": 18 / 48, "calm": 14 / 48, "happy": 9 / 48, "sad": 7 / 48})
    said = song.to_dict()["said"]
    assert said == "mixed: aggressive 38%, calm 29%, happy 19%, sad 15%"
    # a song one mood holds most of says that mood and how much of the song it holds
    win, values, duration = windows_of(["sad"] * 30 + ["happy"] * 18)
    moods = [mood_of(v, a) for v, a in values]
    spans = sec.mood_spans([(0.0, duration)], np.zeros(1), 1.0, win, moods, duration)
    song = sec.summarise(spans, np.zeros((len(spans), 2)), win_s=win, window_values=values, duration_s=duration)
    assert not song.mixed and song.to_dict()["said"] == "sad (62% of the song)"


def test_a_short_clip_of_one_section_keeps_the_models_answer_for_the_clip():
    win, values, duration = windows_of(["sad", "sad", "calm", "calm", "calm"])
    song = sec.summarise([(0.0, 30.0)], [[0.55, 0.45]], win_s=win, window_values=values, duration_s=30.0)
    assert song.shares is None and not song.mixed
    assert (song.valence, song.arousal, song.mood) == (0.55, 0.45, "calm")
    assert song.sections[0].mood == "calm"


def test_a_tie_in_shares_names_the_songs_mood_first():
    """Half sad, half aggressive: the mood said first is the song's mood, whose point is shown beside it."""
    moods = ["aggressive"] * 11 + ["happy"] * 2 + ["sad"] * 11
    win, values, duration = windows_of(moods)
    values[13:] = [0.1, 0.1]  # the sad windows sit farther from the centre: the surer mood wins the tie
    song = sec.summarise([(0.0, duration)], [[0.5, 0.5]], win_s=win, window_values=values, duration_s=duration)
    assert song.mixed and song.mood == "sad" and list(song.shares) == ["sad", "aggressive", "happy"]
    assert song.to_dict()["said"] == "mixed: sad 46%, aggressive 46%, happy 8%"
