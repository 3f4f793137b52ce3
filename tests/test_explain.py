"""What the model hears: tags in plain words, four measurements, and their fitted pull on the mood."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emotionet.analysis import explain as ex
from emotionet.models.musicnn import MSD_LABELS, MTT_LABELS

SR = 22050


def chord_song(chords, seconds=8.0, beat_s=0.5, gain=0.3, transpose=1.0) -> np.ndarray:
    """A progression of plucked chords (MIDI notes), one per beat, with a click on each beat."""
    t = np.arange(int(seconds * SR)) / SR
    index = (t // beat_s).astype(int) % len(chords)
    y = np.zeros_like(t)
    for i, chord in enumerate(chords):
        for note in chord:
            f = 440.0 * 2 ** ((note - 69) / 12) * transpose
            y += (index == i) * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) / len(chord)
    click = (t % beat_s) < 0.004
    return (gain * (y * np.exp(-6 * (t % beat_s)) + 0.5 * click)).astype(np.float32)


C_MAJOR = [(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]  # I IV V I
A_MINOR = [(57, 60, 64), (62, 65, 69), (64, 68, 71), (57, 60, 64)]  # i iv V i


def test_key_profiles_tell_major_from_minor():
    chroma = np.zeros(12)
    chroma[[0, 4, 7]] = 1.0  # C E G
    major, minor = ex.key_profile_scores(chroma)
    assert major.argmax() == 0 and major.max() > minor.max()
    chroma = np.zeros(12)
    chroma[[9, 0, 4]] = 1.0  # A C E
    major, minor = ex.key_profile_scores(chroma)
    assert minor.argmax() == 9 and minor.max() > major.max()


def test_measurements_follow_the_sound():
    m = ex.measure(chord_song(C_MAJOR, beat_s=0.5))
    assert m.tempo_bpm == pytest.approx(120, rel=0.05)
    assert m.key == "C major" and m.mode > 0
    minor = ex.measure(chord_song(A_MINOR))
    assert minor.key == "A minor" and minor.mode < 0
    louder = ex.measure(chord_song(C_MAJOR, gain=0.6))
    assert louder.loudness_dbfs - m.loudness_dbfs == pytest.approx(20 * np.log10(2), abs=0.05)
    high = ex.measure(chord_song(C_MAJOR, transpose=4.0))
    assert high.brightness_hz > 2 * m.brightness_hz
    assert ex.measure(chord_song(C_MAJOR, beat_s=0.4)).tempo_bpm == pytest.approx(150, rel=0.05)


def test_measure_reuses_a_given_spectrogram_and_chroma():
    from emotionet.features import dsp

    y = chord_song(C_MAJOR)
    mag = np.abs(dsp.stft(y, 2048, 512))
    chroma = dsp.chroma(mag**2)
    assert ex.measure(y, magnitude=mag, chroma=chroma) == ex.measure(y)
    # what is given is what is used: chroma moved up two semitones reads as D major, and a
    # spectrogram with its high bins removed as a darker song
    assert ex.measure(y, chroma=np.roll(chroma, 2, axis=0)).key == "D major"
    lows = mag.copy()
    lows[200:] = 0
    assert ex.measure(y, magnitude=lows).brightness_hz < ex.measure(y).brightness_hz


def test_fit_recovers_known_coefficients_and_round_trips_as_json():
    rng = np.random.default_rng(0)
    x = np.column_stack(
        [rng.normal(120, 20, 400), rng.normal(0, 0.15, 400), rng.normal(-18, 5, 400), rng.normal(2000, 700, 400)]
    )
    z = (x - x.mean(0)) / x.std(0)
    true = np.array([[0.0, 0.05, -0.02, 0.0], [0.02, 0.0, 0.04, 0.06]])
    targets = 0.5 + z @ true.T + rng.normal(0, 0.01, (400, 2))
    model = ex.fit(x, targets, alpha=0.1, groups=np.arange(400) % 40)
    np.testing.assert_allclose(model.coef, true, atol=0.004)
    assert model.cv_r2["arousal"] > 0.9
    again = ex.ContributionModel.from_dict(json.loads(json.dumps(model.to_dict(), allow_nan=False)))
    np.testing.assert_allclose(again.predict(x[:5]), model.predict(x[:5]))
    bad = model.to_dict() | {"measures": ["tempo_bpm"]}
    with pytest.raises(ValueError, match="coefficients are for"):
        ex.ContributionModel.from_dict(bad)


def test_shipped_coefficients_point_the_way_music_psychology_expects():
    model = ex.default_model()
    coef = dict(zip(ex.MEASURES, model.coef.T))
    assert coef["mode"][0] > 0  # major -> more positive valence
    assert coef["loudness_dbfs"][1] > 0 and coef["brightness_hz"][1] > 0  # loud, bright -> more arousal
    assert model.n >= 300 and model.cv_r2["arousal"] > 0.1
    priors = ex.default_tag_priors()
    assert len(priors) == 100 and all(0 < p < 1 for p in priors.values())


def parts_with(msd: dict[str, float], mtt: dict[str, float], patches: int = 4) -> dict[str, np.ndarray]:
    def probs(labels, chosen):
        row = np.full(len(labels), 0.01)
        for tag, p in chosen.items():
            row[labels.index(tag)] = p
        return np.tile(row, (patches, 1))

    return {"MSD_musicnn/tags": probs(MSD_LABELS, msd), "MTT_musicnn/tags": probs(MTT_LABELS, mtt)}


def test_top_tags_merge_synonyms_drop_judgements_and_resolve_opposites():
    parts = parts_with(
        {"rock": 0.6, "male vocalists": 0.4, "80s": 0.9, "happy": 0.8},
        {"guitar": 0.5, "male vocal": 0.3, "man": 0.2, "fast": 0.4, "slow": 0.2, "no vocals": 0.1},
    )
    tags = ex.top_tags(parts, k=10, priors={})
    words = [t["tag"] for t in tags]
    assert words.count("male vocal") == 1  # MSD "male vocalists" + MTT "male vocal", "man"
    assert next(t for t in tags if t["tag"] == "male vocal")["probability"] == 0.4  # the best member
    assert "80s" not in words and "happy" not in words  # eras and moods are not heard
    assert "fast" in words and "slow" not in words and "instrumental" not in words
    assert words[:2] == ["rock", "guitar"]


def test_priors_lift_a_distinctive_tag_over_a_common_one():
    parts = parts_with({"rock": 0.4}, {"sitar": 0.3})
    assert [t["tag"] for t in ex.top_tags(parts, 2, priors={})][0] == "rock"
    priors = {"MSD_musicnn/rock": 0.35, "MTT_musicnn/sitar": 0.01}
    tags = ex.top_tags(parts, 2, priors=priors)
    assert tags[0]["tag"] == "sitar" and tags[0]["lift"] == pytest.approx(30.0)


def test_tags_of_a_span_use_only_its_patches():
    parts = parts_with({}, {"piano": 0.8}, patches=4)
    parts["MTT_musicnn/tags"][2:, MTT_LABELS.index("piano")] = 0.01
    parts["MTT_musicnn/tags"][2:, MTT_LABELS.index("drums")] = 0.8
    starts = np.array([0.0, 3.0, 6.0, 9.0])
    assert ex.top_tags(parts, 1, {}, starts, (0.0, 6.0))[0]["tag"] == "piano"
    assert ex.top_tags(parts, 1, {}, starts, (6.0, 12.0))[0]["tag"] == "drums"


def test_contributions_say_which_way_each_measurement_pushes():
    model = ex.ContributionModel(
        mean=np.array([120.0, 0.0, -18.0, 2000.0]),
        std=np.array([20.0, 0.1, 5.0, 500.0]),
        coef=np.array([[0.0, 0.04, -0.02, 0.0], [0.02, 0.0, 0.05, 0.03]]),
        intercept=np.array([0.5, 0.5]),
    )
    loud_minor = ex.Measurements(tempo_bpm=160, mode=-0.2, loudness_dbfs=-8, brightness_hz=2000, key="E minor")
    factors, valence, arousal = ex.explain_measurements(loud_minor, model)
    by = {f.name: f for f in factors}
    assert by["mode"].words == "minor mode" and by["mode"].valence == pytest.approx(-0.08)
    assert by["loudness_dbfs"].words == "loud" and by["loudness_dbfs"].arousal == pytest.approx(0.1)
    assert valence == "Minor mode (-0.08) and loud (-0.04) pull valence down."
    assert arousal == "Loud (+0.10) and fast tempo (+0.04) push arousal up."
    extreme = ex.Measurements(tempo_bpm=120, mode=0.0, loudness_dbfs=100, brightness_hz=2000, key="C major")
    assert model.contributions(extreme)[1, 2] == pytest.approx(0.05 * ex.Z_CLIP)  # no wild extrapolation
    flat = ex.Measurements(tempo_bpm=120, mode=0.0, loudness_dbfs=-18, brightness_hz=2000, key="C major")
    assert ex.explain_measurements(flat, model)[1].startswith("None of tempo")


def test_explain_without_musicnn_parts_still_measures():
    e = ex.explain(chord_song(C_MAJOR))
    d = json.loads(json.dumps(e.to_dict(), allow_nan=False))
    assert d["tags"] == [] and d["hears"] == ""
    assert [f["name"] for f in d["factors"]] == list(ex.MEASURES)
    assert d["measurements"]["key"] == "C major"


def test_streamed_measures_equal_the_whole_signal_measures():
    """Predictor.analyze keeps no audio: the FeatureStream gathers what `measure` needs on the way
    (onset envelope, mean spectrum, mean square) and gives the same four numbers."""
    from emotionet import features
    from tests import demo_song

    y = demo_song.song([("pad", 12), ("riff", 12)])
    stream = features.FeatureStream()
    for i in range(0, len(y), 100_000):  # blocks that do not line up with the STFT hop
        stream.push(y[i : i + 100_000])
    feats = stream.finish()
    whole = ex.measure(y, chroma=feats["chroma"])
    streamed = ex.measure_sound(stream.sound, feats["chroma"])
    assert streamed.tempo_bpm == pytest.approx(whole.tempo_bpm) and streamed.key == whole.key
    assert streamed.mode == pytest.approx(whole.mode)
    assert streamed.loudness_dbfs == pytest.approx(whole.loudness_dbfs, abs=1e-6)
    assert streamed.brightness_hz == pytest.approx(whole.brightness_hz, rel=1e-5)


def test_tempo_of_a_long_song_reads_its_middle_three_minutes_only():
    """The tempo comes from the middle TEMPO_SECONDS of the onset envelope, so an hour costs
    what 3 minutes do (a tempogram's work grows with its frames)."""
    frames = int(20 * 60 * ex.SAMPLE_RATE / ex.HOP)
    beat = np.zeros(frames, np.float32)
    beat[:: int(round(60 / 120 * ex.SAMPLE_RATE / ex.HOP))] = 1.0  # a click every 0.5 s: 120 BPM
    sound = {"onset_envelope": beat, "mean_spectrum": np.ones(1025), "mean_square": 0.01}
    from emotionet.features import dsp

    seen, real = [], dsp.tempo

    def spy(onset_envelope, *args, **kwargs):
        seen.append(len(onset_envelope))
        return real(onset_envelope, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dsp, "tempo", spy)
        m = ex.measure_sound(sound, np.ones((12, 10)))
    assert seen == [int(ex.TEMPO_SECONDS * ex.SAMPLE_RATE / ex.HOP)]
    assert m.tempo_bpm == pytest.approx(120, rel=0.05)
