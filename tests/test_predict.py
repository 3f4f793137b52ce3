"""Predictions: windows along the clip, one STFT per analysis, and moods that follow the music."""

from __future__ import annotations

import numpy as np
import pytest

from emotionet import features
from emotionet.predict import Predictor, window_bounds
from tests.conftest import synth, write_audio


def test_windows_cover_the_clip_with_half_overlap():
    fps = features.FRAMES_PER_SECOND
    bounds = window_bounds(round(30 * fps), 10, 5)
    assert len(bounds) == 5
    assert bounds[0][0] == 0 and bounds[-1][1] == round(30 * fps)
    assert all(b[1] - b[0] == round(10 * fps) for b in bounds)
    assert window_bounds(100, 10, 5) == [(0, 100)]  # a clip shorter than a window is one window


@pytest.fixture(scope="module")
def predictor(request):
    request.getfixturevalue("shipped_checkpoints")
    return Predictor.load()


def test_analysis_computes_each_feature_stft_frame_once_for_the_clip_and_its_windows(predictor, tmp_path, monkeypatch):
    frames = []
    original = features.dsp.stft

    def counting(y, n_fft, hop, **kwargs):
        out = original(y, n_fft, hop, **kwargs)
        if n_fft == features.N_FFT:  # musicnn's own 16 kHz front-end has n_fft 512
            frames.append(out.shape[-1])
        return out

    monkeypatch.setattr(features.dsp, "stft", counting)
    analysis = predictor.analyze(write_audio(tmp_path / "a.wav", synth(30.0)))
    assert sum(frames) == features.n_frames(analysis.features)  # block by block, never per window
    assert len(analysis.timeline) == 5


def test_numpys_blas_runs_single_threaded_while_musicnn_runs(predictor, tmp_path, monkeypatch):
    """OpenBLAS threads that spin after numpy's calls took the cores from torch's: the analysis
    holds BLAS at one thread (issue 12), and gives the caller's setting back afterwards."""
    from threadpoolctl import threadpool_info

    from emotionet.models import pretrained

    if not predictor.backbones:
        pytest.skip("musicnn is not installed")
    blas = lambda: {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}  # noqa: E731
    before, seen, original = blas(), [], pretrained.PatchEmbedder._run

    def spy(self, patches):
        seen.append(blas())
        return original(self, patches)

    monkeypatch.setattr(pretrained.PatchEmbedder, "_run", spy)
    predictor.analyze(write_audio(tmp_path / "a.wav", synth(12.0)))
    assert seen and all(threads == {1} for threads in seen)
    assert blas() == before


def test_a_gentle_tune_that_turns_into_loud_noise_rises_in_arousal(predictor, tmp_path):
    y = np.concatenate([0.2 * synth(20.0, kind="chord"), synth(20.0, kind="noise", seed=1) * 2.5])
    analysis = predictor.analyze(write_audio(tmp_path / "turn.wav", np.clip(y, -1, 1)))
    arousal = [w["cnn"]["arousal"] for w in analysis.timeline]
    assert np.mean(arousal[-2:]) > np.mean(arousal[:2]) + 0.05, arousal


def test_every_mood_shown_is_the_points_quadrant_around_the_checkpoints_mood_centre(predictor, tmp_path):
    """Issue 20: the word and the point agree everywhere (verdict, every model, timeline, sections)."""
    from emotionet.models.checkpoints import mood_centre
    from emotionet.mood import mood_of

    assert predictor.thresholds == mood_centre() != (0.5, 0.5)  # the shipped centre: typical music, not neutral
    y = np.concatenate([0.2 * synth(15.0, kind="dark"), synth(15.0, kind="noise", seed=2)])
    analysis = predictor.analyze(write_audio(tmp_path / "two.wav", np.clip(y, -1, 1)))
    for p in analysis.predictions.values():
        assert p.mood == mood_of(p.valence, p.arousal, predictor.thresholds)
    for window in analysis.timeline:
        for name in analysis.predictions:
            assert window[name]["mood"] == mood_of(
                window[name]["valence"], window[name]["arousal"], predictor.thresholds
            )
    for section in analysis.song.sections:
        assert section.mood == mood_of(section.valence, section.arousal, predictor.thresholds)


def test_thresholds_change_the_mood_not_the_point(tmp_path, shipped_checkpoints):
    path = write_audio(tmp_path / "a.wav", synth(8.0))
    low = Predictor.load(thresholds=(0.05, 0.05)).analyze(path).predictions["cnn"]
    high = Predictor.load(thresholds=(0.95, 0.95)).analyze(path).predictions["cnn"]
    assert (low.valence, low.arousal) == (high.valence, high.arousal)
    assert (low.mood, high.mood) == ("happy", "sad")


def test_warm_up_runs_an_uploads_whole_path(predictor, monkeypatch):
    """The app warms the models at load with a synthetic MP3 through `analyze` itself (decoder,
    resampling, both feature streams, every model, sections), so the first upload pays for none
    of the first calls."""
    seen = []
    real = Predictor.analyze

    def spy(self, source, **kwargs):
        result = real(self, source, **kwargs)
        seen.append((source, kwargs.get("name"), result))
        return result

    monkeypatch.setattr(Predictor, "analyze", spy)
    predictor.warm_up()
    ((source, name, analysis),) = seen
    assert isinstance(source, bytes) and name.startswith("warm-up.")
    assert set(analysis.predictions) == set(predictor.model_names) and analysis.song is not None
    assert analysis.song.sections and analysis.explanation is not None
